"""Cost estimates (``runs.costs``): the probe's arithmetic, its output, and its accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.papers import TOY_RUNNABLE

from mer_bench.config import RunSpec
from mer_bench.methods import METHODS
from mer_bench.papers import load_paper, select
from mer_bench.reproduce import reproduce, total_line
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.runs.costs import CostEstimate, _Stage, duration, estimate
from mer_bench.tracking import InMemoryTracker

PAPER = TOY_RUNNABLE + """\
      - label: the same run, another metric
        run: {dataset: synth-small, task: quadrant, features: mfcc}
        metric: accuracy
        published: 0.5
"""


def test_the_probe_keeps_a_methods_parameters_unless_its_first_epochs_are_cheaper():
    linear = METHODS.get("linear")
    params = linear.make_params()
    assert linear.cost_probe(params) == params
    sssl = METHODS.get("sssl")
    probe = sssl.cost_probe(sssl.make_params())
    # the warm-up epochs are plain cross-entropy: the probe times the semi-supervised ones
    assert probe.warmup_epochs == 0 and probe.epochs == sssl.make_params().epochs


def test_a_stage_adds_its_missing_epochs_at_the_later_epochs_rate():
    # three probe epochs: the first took 1.5 s (warm-up), the next two 1 s each
    stage = _Stage(epochs=100, early_stopping=False, epoch_starts=[0.0, 1.5, 2.5], end=3.5)
    assert stage.probe_seconds() == pytest.approx(3.5)
    assert stage.epoch_rate() == pytest.approx(1.0)
    assert stage.full_seconds() == pytest.approx(3.5 + 97 * 1.0)
    # a cut epoch: 10 steps per epoch at the median step time after the first
    cut = _Stage(epochs=100, early_stopping=False, epoch_starts=[0.0], end=12.0, cut=True,
                 first_step=0.5,
                 steps_per_epoch=10, step_seconds=[5.0, 2.0, 2.0, 3.0])
    assert cut.step_rate() == pytest.approx(2.0)
    assert cut.full_seconds() == pytest.approx(100 * (0.5 + 10 * 2.0))  # + each pre-step pass


def test_an_estimate_says_what_was_measured_and_what_the_row_needs():
    est = CostEstimate(seconds=41 * 3600, extract_seconds=0.0, uncached_clips=0,
                       fold_seconds=41 * 360, folds=10, measured="s/step", rate=27.0,
                       epochs=(100,), device="2 CPU cores", lower_bound=True,
                       note="the fit after the cut epoch not timed")
    text = est.describe()
    assert text.startswith("≈ at least 41 h here (2 CPU cores, measured 27 s/step)")
    assert "needs 100 epochs × 10 folds" in text
    assert ". " not in text  # a table cell would cut the reason at its first sentence
    assert [duration(s) for s in (40, 600, 7200, 400000)] == ["40 s", "10 min", "2.0 h",
                                                             "4.6 days"]
    # with clips to extract (the form a first dry run on real audio prints)
    extracting = CostEstimate(seconds=3600, extract_seconds=12.0, uncached_clips=240,
                              fold_seconds=360, folds=10, measured="s/epoch", rate=1.8,
                              epochs=(200,), device="2 CPU cores")
    assert "extracting 240 clips" in extracting.describe()
    assert ". " not in extracting.describe()


def test_a_dry_run_prints_each_rows_estimate_and_the_papers_total(tmp_path: Path):
    path = tmp_path / "toy.yaml"
    path.write_text(PAPER)
    tracker = InMemoryTracker()
    costs: dict[str, CostEstimate] = {}
    first, second = reproduce(select([load_paper(path)], "toy"), tracker, dry_run=True,
                              costs=costs)
    assert first.status == second.status == "to run"
    assert "≈" in first.reason and "here (" in first.reason and "needs 3 folds" in first.reason
    assert len(costs) == 1  # both rows read one run: it counts once in the total
    assert not tracker.runs  # the probe logs nothing
    line = total_line(costs)
    assert line.startswith("estimated total: ≈ ") and "for 1 run(s) here" in line


def test_probes_stop_when_the_estimate_budget_is_spent(tmp_path: Path):
    """After the budget, rows are listed as to run without a probe, and the total says so."""
    path = tmp_path / "toy.yaml"
    path.write_text(PAPER.replace(
        "      - label: the same run, another metric\n"
        "        run: {dataset: synth-small, task: quadrant, features: mfcc}",
        "      - label: another configuration\n"
        "        run: {dataset: synth-small, task: quadrant, features: logmel}"))
    costs: dict[str, CostEstimate | None] = {}
    first, second = reproduce(select([load_paper(path)], "toy"), InMemoryTracker(),
                              dry_run=True, costs=costs, estimate_budget_s=1e-9)
    assert "≈" in first.reason  # the first probe runs: the budget is checked before each
    assert second.status == "to run" and "not timed" in second.reason and "≈" not in second.reason
    assert sorted(c is None for c in costs.values()) == [False, True]
    line = total_line(costs)
    assert "for 1 run(s) here" in line and "1 more run(s) not timed" in line


@pytest.mark.slow  # fits a run twice (estimate and real) to compare; make test-all
def test_the_estimate_is_within_a_factor_of_two_of_the_real_run():
    """A neural run of 3 folds x 100 epochs: estimated, then run, under the same conditions.

    The features are cached first and the process's one-time costs (imports)
    are paid by the probe, so the run is compared with the estimate minus
    them. One torch thread for both: a loaded 2-core machine makes thread
    contention, not the work, decide small steps' times.
    """
    torch = pytest.importorskip("torch")
    spec = RunSpec("embedding-classifiers", "synth-small", "quadrant", "mfcc", protocol="kfold:3",
                   method_params={"classifier": "mlp", "max_epochs": 100, "batch_size": 16})
    run = resolve(spec)
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False))
    runner.prepare(run)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        est = estimate(run, runner)
        real = runner.run(run).seconds
    finally:
        torch.set_num_threads(threads)
    assert est.measured == "s/epoch" and est.epochs == (100,) and est.folds == 3
    expected = est.seconds - est.once_seconds - est.extract_seconds
    assert 0.5 <= real / expected <= 2.0, (real, est)


def test_a_long_epoch_is_cut_after_a_few_steps_and_extrapolated_per_step():
    spec = RunSpec("embedding-classifiers", "synth-small", "quadrant", "mfcc", protocol="kfold:3",
                   method_params={"classifier": "mlp", "max_epochs": 100, "batch_size": 4})
    run = resolve(spec)
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False))
    est = estimate(run, runner, step_budget_s=0.0)  # every epoch counts as long
    assert est.lower_bound and not est.upper_bound
    assert est.measured == "s/step" and est.rate > 0 and est.epochs == (100,)
    text = est.describe()
    assert text.startswith("≈ at least ") and "s/step" in text and "not timed" in text
