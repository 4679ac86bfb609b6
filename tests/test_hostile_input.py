"""Crafted and broken dataset files: nothing outside the root is read, nothing crashes.

Each test corrupts a tiny fake tree (tests/fakes/datasets.py) the way a careless
or hostile copy could, and checks that ``validate()`` names the file, the row
and the fix, and that the track never reaches training.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.datasets import make_4q, make_eim, write_clip
from typer.testing import CliRunner

from mer_bench.data import DATASETS
from mer_bench.data.base import TRACK_LEVEL_CODES, UNSAFE_PATH
from mer_bench.errors import AudioError, DatasetError, MerBenchError

ANNOTATIONS = "panda_dataset_taffc_annotations.csv"


@pytest.fixture(autouse=True)
def _no_env_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MER_BENCH_EMOMUSIC_ROOT", raising=False)
    monkeypatch.delenv("MER_BENCH_DATA", raising=False)


def append_rows(path: Path, *rows: bytes) -> None:
    data = path.read_bytes()
    path.write_bytes(data + b"".join(r + b"\r\n" for r in rows))


def check(*args: str) -> tuple[int, str]:
    """``mer-bench ARGS`` in-process: exit code and everything printed."""
    from mer_bench.cli import app

    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, MerBenchError):
        return 2, result.output + str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


# --- path traversal -----------------------------------------------------------------
def test_4q_id_climbing_out_of_the_root_is_an_error_and_never_read(tmp_path: Path) -> None:
    base = make_4q(tmp_path / "root")
    secret = write_clip(tmp_path / "outside" / "secret.mp3")
    bad = "../../../outside/secret"
    assert (base / "Q1" / f"{bad}.mp3").resolve() == secret.resolve()  # the crafted row works
    append_rows(base / ANNOTATIONS, bad.encode() + b",Q1")

    adapter = DATASETS.get("4q")(tmp_path / "root")
    track = adapter.track(bad)
    assert track.audio_path is None
    with pytest.raises(AudioError):
        adapter.load_audio(track)
    report = adapter.validate()
    errors = [p for p in report.errors() if p.code == UNSAFE_PATH]
    assert [p.track_id for p in errors] == [bad]
    assert "outside the dataset root" in errors[0].message and bad in errors[0].message
    assert not any(p.code == "missing_audio" and p.track_id == bad for p in report.problems)
    # a run refuses the dataset unless the user waives track-level problems, then drops it
    assert not report.ok()
    assert bad in report.track_ids_with(TRACK_LEVEL_CODES)
    code, out = check("data", "check", "4q", "--root", str(tmp_path / "root"))
    assert code == 1 and UNSAFE_PATH in out and bad in out


def test_emomusic_file_name_climbing_out_of_the_root_is_an_error(tmp_path: Path) -> None:
    root = make_eim(tmp_path / "eim", audio_ids=(3,))
    write_clip(tmp_path / "outside" / "secret.mp3")
    info = root / "annotations" / "songs_info.csv"
    text = info.read_text().replace('"\t4.mp3"', '"../../outside/secret.mp3"')
    info.write_text(text)
    adapter = DATASETS.get("emomusic")(root)
    assert adapter.track("4").audio_path is None
    assert adapter.track("3").audio_path is not None  # a clip in the folder is untouched
    report = adapter.validate()
    assert {p.track_id for p in report.errors() if p.code == UNSAFE_PATH} == {"4"}


def test_a_clip_linking_outside_the_root_is_refused(tmp_path: Path) -> None:
    base = make_4q(tmp_path / "root")
    secret = write_clip(tmp_path / "outside" / "secret.mp3")
    clip = next((base / "Q2").glob("*.mp3"))
    clip.unlink()
    clip.symlink_to(secret)
    adapter = DATASETS.get("4q")(tmp_path / "root")
    assert adapter.track(clip.stem).audio_path is None
    assert {p.track_id for p in adapter.validate().errors() if p.code == UNSAFE_PATH} == {
        clip.stem
    }
