"""Interrupting feature extraction: Ctrl-C stops it promptly, a killed parent takes its workers.

A driver runs ``mer-bench features extract`` with a deliberately slow
extractor in two spawned worker processes; the test interrupts it the way a
user or a scheduler would and watches what is left running and what was kept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
N_CLIPS = 48  # the cache's threshold for worker processes

DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    from fakes.datasets import fourq_songs, make_4q
    from fakes.slow_extractor import SlowExtractor
    from mer_bench import cli
    from mer_bench.features import FEATURES

    if __name__ == "__main__":
        work = Path(sys.argv[1])
        FEATURES.register("slow-test")(SlowExtractor)  # in this process only
        root = make_4q(work / "4q", per_quadrant={per_quadrant}, clip_s=0.2, audio=False)
        t = np.arange(1600) / 8000
        for k, (song, q) in enumerate(fourq_songs({per_quadrant}).items()):  # distinct content
            wave = (0.1 * np.sin(2 * np.pi * (200 + 10 * k) * t)).astype("float32")
            (root / f"Q{{q}}").mkdir(exist_ok=True)
            sf.write(root / f"Q{{q}}" / f"{{song}}.wav", wave, 8000)
        sys.argv = ["mer-bench", "features", "extract", "slow-test", "-d", "4q",
                    "--root", str(root), "--jobs", "2"]
        cli.main()
        print("all done", flush=True)
    """
).format(per_quadrant=N_CLIPS // 4)


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (workers and the resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def entries(work: Path) -> int:
    return sum(1 for _ in (work / "cache").rglob("*.npy"))


def start_extraction(work: Path) -> subprocess.Popen[str]:
    """Run the driver in its own session and wait until the workers have written 2 entries."""
    (work / "driver.py").write_text(DRIVER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
        "MER_BENCH_CACHE": str(work / "cache"),
    }
    proc = subprocess.Popen(
        [sys.executable, str(work / "driver.py"), str(work)],
        env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while entries(work) < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"extraction did not start: {proc.communicate()}")
        time.sleep(0.05)
    return proc


def wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.slow
def test_ctrl_c_stops_extraction_within_seconds_and_keeps_written_entries(tmp_path: Path) -> None:
    proc = start_extraction(tmp_path)
    helpers = children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    start = time.monotonic()
    try:
        proc.wait(timeout=20)
    finally:
        proc.kill()
    took = time.monotonic() - start
    out, err = proc.communicate()
    assert took < 5.0, f"took {took:.1f} s to stop"  # the old pool ran on for ~12 s
    assert "interrupted" in err and "all done" not in out
    kept = entries(tmp_path)
    assert 2 <= kept < N_CLIPS
    assert not wait_gone(helpers, 3.0), "worker processes outlived the interrupted parent"
    assert not list((tmp_path / "cache").rglob("*.tmp"))


@pytest.mark.slow
def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    proc = start_extraction(tmp_path)
    helpers = children(proc.pid)
    assert len(helpers) >= 2  # the two workers (and the resource tracker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    left = wait_gone(helpers, 5.0)
    for pid in left:  # do not leave them behind for the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} process(es) outlived their SIGKILLed parent"
