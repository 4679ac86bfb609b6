"""``make mlflow-ui`` in a real browser: the URL it prints opens MLflow's runs table of
the mer-bench experiment, with the runs and the primary metric's column; a screenshot
is kept in test-artifacts/ for a person to look at."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mer_bench.tracking import make_tracker

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
RUNS = {"linear/synth-small/quadrant": 0.6170, "chance/synth-small/quadrant": 0.1065}


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip(
        "no headless Chromium on this machine (Debian package 'chromium'; .ci/run installs it)"
    )


def _store(folder: Path) -> str:
    """Two finished bench runs with two folds each, logged as the runner logs them."""
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    tracker = make_tracker(uri)
    for name, value in RUNS.items():
        method, dataset, task = name.split("/")
        tags = {"kind": "run", "method": method, "dataset": dataset, "task": task,
                "features": "mfcc", "protocol": "kfold:2", "variant": ""}
        parent = tracker.start_run(name, tags)
        for fold in (1, 2):
            child = tracker.start_run(f"{name}/fold{fold}", {**tags, "kind": "fold"},
                                      parent_id=parent)
            tracker.log_metrics(child, {"macro_f1": value, "accuracy": value})
            tracker.end_run(child)
        tracker.log_metrics(parent, {"macro_f1": value, "accuracy": value})
        tracker.end_run(parent)
    return uri


def _makefile_command(uri: str, port: int) -> list[str]:
    """The ``mlflow-ui`` target's recipe with this test's store, port and interpreter."""
    text = (REPO / "Makefile").read_text()
    recipe = re.search(r"^mlflow-ui:.*\n\t(.+)$", text, re.M)
    assert recipe, "Makefile has no mlflow-ui recipe"
    line = (recipe.group(1).replace("$(PY)", sys.executable)
            .replace("$(TRACKING_URI)", uri).replace("$(MLFLOW_PORT)", str(port)))
    assert "$(" not in line, line
    return line.split()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the MLflow UI exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the MLflow UI did not answer on port {port} within {timeout_s} s")


@pytest.mark.slow
@pytest.mark.browser  # .ci/run runs it (make test-browser)
def test_the_printed_url_opens_the_runs_table_with_the_primary_metric(tmp_path):
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    uri, port = _store(tmp_path), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(_makefile_command(uri, port), cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        printed = proc.stdout.readline()
        # the server's access log follows on the same pipe: keep reading so it never fills
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        found = re.search(r"http://\S+", printed)
        assert found, f"no URL printed: {printed!r}"
        url = found.group(0)
        assert url.startswith(f"http://127.0.0.1:{port}/#/experiments/")
        _wait_for(port, proc)
        ARTIFACTS.mkdir(exist_ok=True)
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(url)
            for name in RUNS:
                page.get_by_text(name, exact=True).first.wait_for(timeout=90_000)
            header = page.get_by_role("columnheader", name="macro_f1")
            header.first.wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "mlflow-ui-runs.png"))
            empty = page.get_by_role("columnheader", name="r2", exact=True).count()
            body = page.inner_text("body")
            browser.close()
        assert "Runs" in body and "Traces 0" not in body
        assert empty == 0  # no column for a task the store never ran
        assert "0.617" in body and "0.106" in body  # the metric's values in its column
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop the launcher, mlflow, its web and job workers: the session this test started."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        proc.poll()  # reap the launcher so its group can empty
        time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
