"""The HTML report in a real headless browser: it renders, logs no console error,
and a screenshot of it is kept in test-artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mer_bench.leaderboard import PublishedValue, write_leaderboard
from mer_bench.paper_report import render_html_section, render_markdown_section
from mer_bench.papers import PaperRow, RowResult
from mer_bench.tracking import InMemoryTracker

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip(
        "no headless Chromium on this machine (Debian package 'chromium'; .ci/run installs it)"
    )


def _tracker() -> InMemoryTracker:
    tracker = InMemoryTracker()
    rng = np.random.default_rng(0)
    for task, metric in (("quadrant", "macro_f1"), ("static_va", "r2")):
        for method, level, weights in (
            ("linear", 0.6, "none"),
            ("chance", 0.1, "none"),
            ("embedding-classifiers", 0.5, "random"),
        ):
            tags = {
                "task": task,
                "dataset": "synth",
                "method": method,
                "features": "mfcc",
                "protocol": "kfold:5",
                "variant": "",
                "seed": "0",
                "weights": weights,
                "git_sha": "abc123",
                "config_hash": f"{method}{task}",
                "dataset_version": "1",
                "mer_bench_version": "0.1.0",
            }
            parent = tracker.start_run("p", {**tags, "kind": "run"})
            for fold in range(5):
                child = tracker.start_run(
                    "f",
                    {**tags, "kind": "fold", "fold": f"fold{fold}", "fold_split_hash": f"h{fold}"},
                    parent_id=parent,
                )
                tracker.log_metrics(
                    child, {metric: level + 0.05 * rng.standard_normal(), "accuracy": level}
                )
                tracker.end_run(child)
            tracker.end_run(parent)
    return tracker


def test_report_renders_in_headless_chromium(tmp_path):
    browser = _browser()
    published = [PublishedValue("quadrant", "synth", "linear", "mfcc", "macro_f1", 0.7, "toy")]
    row = PaperRow("toy", "t1", "synth quadrant", "macro_f1", 0.7, run={"dataset": "synth"})
    missing = PaperRow("toy", "t1", "a dataset we lack", "macro_f1", 0.8, unavailable="no data")
    results = [RowResult(row, "ok", 0.62, 0.55, 0.69, 5),
               RowResult(missing, "unavailable", reason="no data")]
    section = (render_markdown_section(results), render_html_section(results))
    paths = write_leaderboard(_tracker(), tmp_path, published, sections=[section])
    url = paths["html"].resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [browser, *FLAGS, *profile, "--enable-logging=stderr", "--v=0", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<table") >= 3 and "quadrant" in dom.stdout
    assert "Paper tables" in dom.stdout and "cannot run here: no data" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "error" in line.lower()], console
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "leaderboard.png"
    shot.unlink(missing_ok=True)
    result = subprocess.run(
        [browser, *FLAGS, *profile, "--window-size=1280,1600", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # a real page, not a blank frame
