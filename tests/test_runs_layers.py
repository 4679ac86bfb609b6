"""The run layers: protocol parsed once, one fold loop for bench runs and sweeps, paper
tables that read the tracker alone, and metric names that come back as scored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fakes.papers import TOY_PAPER

from mer_bench.config import RunSpec
from mer_bench.errors import ConfigError
from mer_bench.papers import load_paper, published_values, select, summarise
from mer_bench.protocol import Protocol
from mer_bench.reproduce import reproduce
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker


def test_a_resolved_run_carries_its_parsed_protocol_and_preparing_never_parses_again(
    monkeypatch,
):
    run = resolve(RunSpec("linear", "synth-small", "quadrant", "mfcc", protocol=" KFold:3 "))
    assert run.protocol == Protocol.parse(" KFold:3 ") and run.protocol.folds == 3
    assert run.config["protocol"] == "kfold:3"
    calls = []
    original = Protocol.parse.__func__

    def counting(cls, text):
        calls.append(text)
        return original(cls, text)

    monkeypatch.setattr(Protocol, "parse", classmethod(counting))
    prep = Runner(InMemoryTracker(), RunnerSettings(progress=False)).prepare(run)
    assert len(prep.splits) == 3 and calls == []


def test_a_transfer_run_names_its_target_by_its_registered_name():
    run = resolve(RunSpec("linear", "synth", "quadrant", "mfcc", protocol="transfer:SYNTH-SMALL"))
    assert run.transfer_target == "synth-small" and run.protocol.is_transfer
    assert run.config["protocol"] == "transfer:synth-small"
    with pytest.raises(ConfigError, match="to itself"):
        resolve(RunSpec("linear", "synth", "quadrant", "mfcc", protocol="transfer:synth"))


def test_sweep_trials_and_bench_runs_share_the_fold_loop(monkeypatch, tmp_path):
    """A trial scores through ``runs.folds.score_folds`` on the validation parts."""
    from mer_bench import tuning
    from mer_bench.runs import folds

    parts_scored = []
    real = folds.score_folds

    def spy(run, prep, fit, part):
        parts_scored.append(part)
        yield from real(run, prep, fit, part)

    monkeypatch.setattr(tuning, "score_folds", spy)
    spec = RunSpec("linear", "synth-small", "quadrant", "mfcc", protocol="kfold:3")
    tuning.sweep(spec, InMemoryTracker(), 1, storage=f"sqlite:///{tmp_path}/s.db",
                     report=lambda m: None)
    assert parts_scored == ["val"]


def test_paper_rows_find_their_runs_by_spec_key_without_resolving(tmp_path, monkeypatch):
    path = tmp_path / "toy.yaml"
    path.write_text(TOY_PAPER)
    tables = select([load_paper(path)], "toy:t1")
    tracker = InMemoryTracker()
    # the same config written differently (a default made explicit): another spec key
    spec = RunSpec("linear", "synth-small", "quadrant", "mfcc", protocol="kfold:3",
                   method_params={"C": 1.0})
    runner = Runner(tracker, RunnerSettings(progress=False))
    run = resolve(spec)
    assert run.config_hash == resolve(tables[0].rows[0].spec()).config_hash
    assert run.spec_key != tables[0].rows[0].spec_key()
    runner.run(run)
    import mer_bench.runs.resolving as resolving

    def no_resolving(*args, **kwargs):
        raise AssertionError("summarise resolved a row")

    monkeypatch.setattr(resolving, "resolve", no_resolving)
    assert summarise(tables, tracker)[0].status == "not run"  # not linked yet
    monkeypatch.undo()
    # reproduce (here a dry run) meets the finished config and links the row's key to it
    assert reproduce(tables, tracker, dry_run=True)[0].status == "ok"
    row = summarise(tables, tracker)[0]
    assert row.status == "ok" and row.n == 3 and row.config_hashes == [run.config_hash]
    pub = published_values([load_paper(path)])[0]
    assert pub.spec_key == tables[0].rows[0].spec_key()


def test_spec_keys_ignore_seeds_and_roots_but_not_what_runs():
    a = RunSpec("linear", "synth", "quadrant", "mfcc")
    assert a.key() == RunSpec("linear", "synth", "quadrant", "mfcc", seed=4,
                              dataset_root="/elsewhere").key()
    assert a.key() != a.key(smoke=True)
    assert a.key() != RunSpec("linear", "synth", "quadrant", "mfcc", protocol="kfold:3").key()
    assert a.key() == RunSpec("linear", "synth", "quadrant", "mfcc", protocol=" KFOLD:5").key()


def test_papers_and_leaderboard_import_no_plug_in_registry():
    code = (
        "import sys; import mer_bench.papers, mer_bench.leaderboard, mer_bench.paper_report; "
        "bad = [m for m in ('mer_bench.runs', 'mer_bench.methods', 'mer_bench.features', "
        "'mer_bench.data') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stdout + done.stderr


def test_mlflow_gives_metric_names_back_as_scored(tmp_path):
    from mer_bench.tracking.base import FOLD, RUN
    from mer_bench.tracking.mlflow_tracker import MLflowTracker

    tracker = MLflowTracker(f"sqlite:///{tmp_path}/m.db", artifact_root=tmp_path / "a")
    parent = tracker.start_run("p", {"kind": RUN, "config_hash": "h"})
    fold = tracker.start_run("f", {"kind": FOLD}, parent_id=parent)
    tracker.log_metrics(fold, {"w2v_precision@5": 0.5, "cca_dims_at_P": 3.0})
    tracker.end_run(fold)
    tracker.end_run(parent)
    (record,) = tracker.fold_records()
    assert record.metrics == {"w2v_precision@5": 0.5, "cca_dims_at_P": 3.0}
