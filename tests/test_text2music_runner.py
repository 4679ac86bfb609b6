"""text2music_retrieval through the runner: text datasets paired with music collections."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mer_bench.config import BenchPlan, RunSpec
from mer_bench.errors import ConfigError
from mer_bench.runs import Runner, RunnerSettings, expand, fold_data, resolve
from mer_bench.tracking import InMemoryTracker
from mer_bench.tracking.base import FOLD

T2M = "text2music_retrieval"


def _plan(**extra) -> BenchPlan:
    raw = {
        "name": "t2m",
        "datasets": ["synth-text"],
        "tasks": [T2M],
        "features": ["mfcc"],
        "methods": ["chance"],
        "music": ["synth-small"],
        "protocol": "kfold:3",
    }
    return BenchPlan.from_dict({**raw, **extra})


def test_a_text2music_run_needs_its_music_side():
    spec = RunSpec(method="chance", dataset="synth-text", task=T2M, features="mfcc")
    with pytest.raises(ConfigError, match="music"):
        resolve(spec)


def test_music_without_mood_tags_is_left_out_with_a_note():
    runs, notes = expand(_plan(music=["synth-small", "deam"]))
    assert [r.config["music_dataset"] for r in runs] == ["synth-small"]
    assert any("deam" in n and "mood" in n for n in notes)


def test_the_music_side_enters_the_config_hash():
    (official,) = expand(_plan(music_protocol="kfold:3"))[0]
    (same,) = expand(_plan())[0]
    (other,) = expand(_plan(music_protocol="repeated:3:0.8"))[0]
    assert official.config_hash == same.config_hash != other.config_hash
    assert official.dataset_label == "synth-text+synth-small"


def test_chance_run_scores_every_mapping_and_logs_text_rows(tmp_path):
    (run,), _ = expand(_plan())
    tracker = InMemoryTracker()
    runner = Runner(tracker, RunnerSettings(plots=False, progress=False, work_dir=tmp_path))
    prep = runner.prepare(run)
    parts = fold_data(run, prep, prep.splits[0])
    test = parts["test"]
    # texts and clips are told apart, and no id is in two parts of a fold
    assert test.texts and test.tracks
    assert all(t.text for t in test.texts) and all(t.text is None for t in test.tracks)
    ids = [set(p.ids) | {t.id for t in p.texts} for p in parts.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert all(i.startswith("synth-small:") for i in test.ids)
    outcome = runner.run(run)
    assert outcome.status == "finished"
    metrics = outcome.metrics
    for mapping in prep.bridge.mappings:
        assert 0 < metrics[f"{mapping}_mrr"] <= 1
    assert metrics["mrr"] == metrics[f"{prep.bridge.primary}_mrr"]
    parent = tracker.runs[outcome.run_id]
    assert parent.tags["dataset"] == "synth-text+synth-small"
    assert parent.tags["music_dataset"] == "synth-small"
    folds = [r for r in tracker.runs.values() if r.tags.get("kind") == FOLD]
    assert len(folds) == 3
    rows = pd.read_parquet(_artifact(tracker, outcome.run_id, "predictions.parquet"))
    n_texts = sum(len(s.test) for s in prep.splits) - sum(
        len([i for i in s.test if i.startswith("synth-small:")]) for s in prep.splits
    )
    assert len(rows) == n_texts
    top = json.loads(rows["prediction"].iloc[0])
    assert len(top) == 10 and all(i.startswith("synth-small:") for i in top)


def _artifact(tracker: InMemoryTracker, run_id: str, name: str):
    for key, path in tracker.runs[run_id].artifacts.items():
        if key.endswith(name):
            return path
    raise AssertionError(f"{name} not logged")


def test_the_text_encoder_used_names_the_leaderboard_row(tmp_path):
    plan = _plan(
        datasets=[{"name": "synth-text", "params": {"per_emotion": 12}}],
        methods=[{"name": "text2music", "params": {"batch_size": 64}}],
        protocol="kfold:2",
    )
    (run,), _ = expand(plan, smoke=True)
    tracker = InMemoryTracker()
    runner = Runner(tracker, RunnerSettings(plots=False, progress=False, work_dir=tmp_path))
    outcome = runner.run(run)
    tags = [r.tags for r in tracker.runs.values() if not r.deleted]
    assert all(t["text_encoder"] == "tiny-random" for t in tags)
    # the default strategy (metric-3branch) depends on the mood-word vectors, so they are named
    named = "text_encoder=tiny-random,music_encoder=cnn-random-init,word_vectors=tiny-random-words"
    assert all(t["variant"].endswith(named) for t in tags)
    assert tracker.runs[outcome.run_id].tags["variant"].startswith("smoke")


def test_unanswerable_queries_score_zero_and_are_flagged_in_the_run(tmp_path):
    # no synth-text emotion is a synth mood: classification can answer no text
    plan = _plan(
        datasets=[{"name": "synth-text", "params": {"per_emotion": 12}}],
        methods=[{"name": "text2music", "params": {"strategy": "classification"}}],
        protocol="kfold:2",
    )
    (run,), _ = expand(plan, smoke=True)
    tracker = InMemoryTracker()
    runner = Runner(tracker, RunnerSettings(plots=False, progress=False, work_dir=tmp_path))
    outcome = runner.run(run)
    assert outcome.status == "finished"
    parent = tracker.runs[outcome.run_id]
    assert parent.tags["text2music_unanswerable"] == "joy,anger,fear,sadness,serenity"
    folds = [r for r in tracker.runs.values() if r.tags.get("kind") == FOLD]
    assert len(folds) == 2
    for fold in folds:  # every test text of the fold is unanswered, and each scores 0
        m = fold.latest()
        assert m["unanswered_queries"] == m["manual_queries"] > 0
        assert m["mrr"] == m["precision@5"] == 0.0
    rows = pd.read_parquet(_artifact(tracker, outcome.run_id, "predictions.parquet"))
    assert (rows["prediction"] == "[]").all()
