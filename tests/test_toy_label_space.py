"""A dataset with a label space of its own, added without editing any core file.

The test writes a dataset module into a temporary package, as a user's plug-in
would be: it declares two tasks of its own (three mood classes, and four tags
with rater shares), registers an adapter that reads a CSV beside WAV clips, and
builds its fake tree. A bench then runs ``chance`` and ``linear`` on both tasks and
the leaderboard ranks each by its family's primary metric.
"""

from __future__ import annotations

import csv
import importlib
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from mer_bench.cli import app
from mer_bench.data import DATASETS
from mer_bench.types import TASK_KINDS, Family, Task, TaskKind

TOY_MODULE = textwrap.dedent(
    '''
    """A toy dataset: ``labels.csv`` (id, mood, tags as tag:share;...) beside ``clips/ID.wav``."""
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    from mer_bench.data import DATASETS, AnnotatedDataset
    from mer_bench.types import Family, TaskKind, Track

    MOODS = ("calm", "tense", "sad")
    TAGS = ("strings", "drums", "voice", "noise")
    TOY_MOOD = TaskKind.declare("toy_mood", Family.CLASSIFICATION, MOODS)
    TOY_TAGS = TaskKind.declare("toy_tags", Family.TAGGING, TAGS, positive_share=0.4)


    @DATASETS.register("toy")
    class ToyDataset(AnnotatedDataset):
        name = "toy"
        version = "1"
        citation = "toy"
        license = "public domain"
        homepage = "none"
        download_info = "written by fake_tree"
        task_kinds = frozenset({TOY_MOOD, TOY_TAGS})

        def _load_tracks(self):
            tracks = []
            for line in (self.root / "labels.csv").read_text().splitlines()[1:]:
                track_id, mood, tags = line.split(",")
                shares = {t: float(s) for t, s in (p.split(":") for p in tags.split(";"))}
                tracks.append(Track(id=track_id, audio_path=self.root / "clips" / f"{track_id}.wav",
                                    labels={"toy_mood": mood, "toy_tags": shares}))
            return tracks

        @classmethod
        def fake_tree(cls, root, **options):
            root = Path(root)
            (root / "clips").mkdir(parents=True, exist_ok=True)
            rows = ["id,mood,tags"]
            rng = np.random.default_rng(0)
            for i in range(36):
                mood = MOODS[i % 3]
                t = np.arange(8000) / 8000
                wave = 0.2 * np.sin(2 * np.pi * (200 + 300 * (i % 3)) * t)
                wave += 0.05 * rng.standard_normal(len(t))
                sf.write(str(root / "clips" / f"t{i}.wav"), wave.astype(np.float32), 8000)
                shares = [(i % 3) / 2, ((i + 1) % 3) / 2, 0.5 if i % 2 else 0.1, 0.0]
                rows.append(f"t{i},{mood}," + ";".join(f"{t}:{s}" for t, s in zip(TAGS, shares)))
            (root / "labels.csv").write_text("\\n".join(rows) + "\\n")
            return root
    '''
)


@pytest.fixture
def toy_module(tmp_path, monkeypatch):
    """The toy plug-in imported from a temporary package; registries restored afterwards."""
    package = tmp_path / "toy_plugin"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "toy_dataset.py").write_text(TOY_MODULE)
    monkeypatch.setattr(DATASETS, "_items", dict(DATASETS._items))
    monkeypatch.setattr(TASK_KINDS, "_items", dict(TASK_KINDS._items))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("toy_plugin.toy_dataset")
    yield module
    for name in ("toy_plugin.toy_dataset", "toy_plugin"):
        sys.modules.pop(name, None)


def test_a_plugin_dataset_declares_its_own_label_space(toy_module, tmp_path):
    root = DATASETS.get("toy").fake_tree(tmp_path / "toy")
    mood, tags = TaskKind.parse("toy_mood"), TaskKind.parse("toy_tags")
    assert (mood.family, mood.labels) == (Family.CLASSIFICATION, ("calm", "tense", "sad"))
    assert tags.family is Family.TAGGING and tags.primary_metric == "pr_auc_macro"
    track = DATASETS.get("toy")(root).track("t1")
    assert Task("toy", mood).target(track) == 1  # "tense"
    assert list(Task("toy", tags).target(track)) == [0.5, 1.0, 0.5, 0.0]  # rater shares


def test_a_bench_and_the_leaderboard_run_on_a_plugin_label_space(toy_module, tmp_path):
    root = DATASETS.get("toy").fake_tree(tmp_path / "toy")
    plan = tmp_path / "toy.yaml"
    plan.write_text(
        f"name: toy\ndatasets: [{{name: toy, root: {root}}}]\ntasks: [toy_mood, toy_tags]\n"
        "features: [mfcc]\nmethods: [chance, linear]\nprotocol: kfold:3\nseeds: [0]\n"
    )
    out = tmp_path / "board"
    result = CliRunner().invoke(
        app, ["bench", str(plan), "--tracking-uri", "memory", "--out", str(out), "--no-plots"]
    )
    assert result.exit_code == 0, result.output
    with (out / "leaderboard.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    ranked = {(r["task"], r["method"], r["metric"]): float(r["mean"]) for r in rows}
    # each task is ranked by its family's primary metric; linear learns the audio
    assert ranked[("toy_mood", "linear", "macro_f1")] > ranked[("toy_mood", "chance", "macro_f1")]
    assert ("toy_tags", "linear", "pr_auc_macro") in ranked
    assert ranked[("toy_tags", "chance", "roc_auc_macro")] == pytest.approx(0.5)
