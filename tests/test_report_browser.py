"""The HTML report in a real headless browser: it renders, logs no console error,
and a screenshot of it is kept in test-artifacts/ for a person to look at."""

from __future__ import annotations

import html
import re
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


_LAYOUT_CHECK = """<script>
window.addEventListener('load', () => {
  const doc = document.documentElement;
  const clipped = [];
  document.querySelectorAll('figure svg').forEach(svg => {
    const box = svg.getBoundingClientRect();
    svg.querySelectorAll('text').forEach(t => {
      const r = t.getBoundingClientRect();
      if (r.width && (r.left < box.left - 1 || r.right > box.right + 1 ||
                      r.top < box.top - 1 || r.bottom > box.bottom + 1)) {
        clipped.push(t.textContent);
      }
    });
  });
  const outside = [...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().right > window.innerWidth + 1).length;
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = 'LAYOUT' + JSON.stringify({scrollWidth: doc.scrollWidth,
    innerWidth: window.innerWidth, clipped: clipped, outside: outside,
    svgs: document.querySelectorAll('figure svg').length}) + 'END';
  document.body.appendChild(out);
});
</script>"""

_LONG = ("hop_s=3,sample_rate=16000,n_mels=64,network={net},pretrain_epochs=30,"
         "batch_size=16,lr=0.001,warmup_epochs=2")


def _wide_tracker() -> InMemoryTracker:
    """Runs like a real bench's: long variants, static_va's many metrics, a 4Q subset."""
    tracker = InMemoryTracker()
    rng = np.random.default_rng(1)
    specs = [("static_va", "synth", m, v, 320, 320) for m, v in (
        ("sssl", _LONG.format(net="small")), ("sssl", _LONG.format(net="large")),
        ("linear", ""), ("chance", ""))]
    specs += [("quadrant", "4q", m, v, 240, 900) for m, v in (
        ("ae-bilstm", _LONG.format(net="small")), ("ae-bilstm", _LONG.format(net="large")),
        ("chance", ""))]
    for task, dataset, method, variant, used, total in specs:
        tags = {"task": task, "dataset": dataset, "method": method, "features": "mfcc",
                "protocol": "kfold:5", "variant": variant, "seed": "0", "weights": "none",
                "tracks_used": str(used), "tracks_total": str(total), "git_sha": "abc123",
                "config_hash": method + variant[-9:], "dataset_version": "1"}
        parent = tracker.start_run("p", {**tags, "kind": "run"})
        for fold in range(5):
            child = tracker.start_run("f", {**tags, "kind": "fold", "fold": f"fold{fold}",
                                            "fold_split_hash": f"h{fold}"}, parent_id=parent)
            values = rng.uniform(0.1, 0.6, size=8)
            names = ("r2", "r2_valence", "r2_arousal", "ccc", "rmse", "macro_f1", "accuracy",
                     "rmse_song")
            tracker.log_metrics(child, dict(zip(names, values, strict=True)))
            tracker.end_run(child)
        tracker.end_run(parent)
    return tracker


@pytest.mark.slow  # the default tier's layout check is tests/test_leaderboard_layout.py
@pytest.mark.parametrize("width", [1400, 1920])
def test_report_fits_the_screen(tmp_path, width):
    """No sideways page scroll, wide tables scroll in their own box, no plot label clipped."""
    import json

    browser = _browser()
    paths = write_leaderboard(_wide_tracker(), tmp_path)
    page = paths["html"].read_text().replace("</body>", _LAYOUT_CHECK + "</body>")
    checked = tmp_path / "checked.html"
    checked.write_text(page)
    profile = ["--user-data-dir=" + str(tmp_path / "profile"), f"--window-size={width},1000"]
    dom = subprocess.run(
        [browser, *FLAGS, *profile, "--virtual-time-budget=5000", "--dump-dom",
         checked.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r"LAYOUT(.*?)END", dom.stdout)
    assert found, dom.stdout[-2000:]
    layout = json.loads(html.unescape(found.group(1)))
    assert layout["innerWidth"] == width
    assert layout["scrollWidth"] <= width, layout  # the page itself never scrolls sideways
    assert layout["outside"] == 0, layout  # every table stays inside the window
    assert layout["svgs"] >= 2 and layout["clipped"] == [], layout
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"leaderboard-{width}.png"
    shot.unlink(missing_ok=True)
    result = subprocess.run(
        [browser, *FLAGS, *profile[:1], f"--window-size={width},2400", f"--screenshot={shot}",
         paths["html"].resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    assert shot.stat().st_size > 20_000
