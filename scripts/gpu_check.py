"""``make test-gpu``: the checks only a CUDA machine can run, in one command (< 5 min).

1. the ``gpu`` test tier (``pytest -m gpu``): VGGish and OpenL3 on CUDA against the CPU;
2. one fold of one he2022 4Q row and one sun-sssl 4Q row on CUDA, each timed beside the
   dry-run estimate for this GPU (``runs.costs.estimate``, the probe ``reproduce
   --dry-run`` prints), with CUDA's peak memory proving the fold ran on the GPU;
3. a small bench plan with ``--executor ray`` and one GPU per fold: every fold run
   carries its ``worker_node`` tag, and a fold fitted by the same Ray task options
   reports that CUDA was used in the worker.

Any failure (a CUDA-only bug: device placement, mixed precision, pinned memory,
non-blocking copies) exits non-zero with the step and the error. Where torch sees
no CUDA device the whole check is skipped with a message and exits 0, unless
``--require-gpu`` (for a GPU CI runner, where a missing GPU is itself the failure).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# (paper, text in the row's label): one 4Q row of each, a short segment run each
ROWS = (("he2022", "AllMusic (4Q), 3 s segments, valence, accuracy"),
        ("sun-sssl", "4Q valence, 1 s segments, accuracy"))
# the Ray step's plan: a network method on the synthetic set, two folds
RAY_METHOD = {"name": "segment-vote",
              "params": {"network": "small", "width": 4, "n_mels": 32, "segment_s": 1,
                         "sample_rate": 16000, "epochs": 2, "batch_size": 16}}
RAY_PLAN = {"name": "gpu-check-ray", "datasets": ["synth"], "tasks": ["quadrant"],
            "features": ["mfcc"],  # read by no method here: segment-vote reads the audio
            "methods": [RAY_METHOD], "protocol": "kfold:2", "seeds": [0]}


class CheckFailed(Exception):
    """A step found a CUDA bug; its message says what."""


@dataclass
class Outcome:
    step: str
    ok: bool
    detail: str


def no_gpu_reason() -> str | None:
    """Why this machine cannot run the check (None: a CUDA device is visible)."""
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        built = torch.version.cuda or "none (a CPU build of torch)"
        return (f"torch {torch.__version__} sees no CUDA device (CUDA build: {built}; "
                f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})")
    return None


def gpu_tier(repo: Path = REPO) -> str:
    """``pytest -m gpu``: every gpu test must run and pass (a skip on a GPU is a failure)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-n", "0", "-rs",
           "-p", "no:cacheprovider", str(repo / "tests")]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
    if proc.returncode != 0:
        raise CheckFailed(f"pytest -m gpu exited {proc.returncode}:\n{tail}\n{proc.stderr[-2000:]}")
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if "skipped" in summary or "passed" not in summary:
        raise CheckFailed(f"pytest -m gpu did not run every gpu test on this GPU:\n{tail}")
    return summary


def find_row(paper: str, text: str) -> Any:
    """The first runnable row of ``paper`` whose label contains ``text``."""
    from mer_bench.papers import load_papers, select

    for table in select(load_papers(), paper):
        for row in table.rows:
            if row.run is not None and text in row.label:
                return row
    raise CheckFailed(f"{paper}: no runnable row label contains {text!r} (experiments/papers/)")


def gpu_trainer(epochs_cap: int | None) -> Any:
    from mer_bench.training import TrainerSettings

    return TrainerSettings(accelerator="gpu", devices=1, max_epochs_cap=epochs_cap)


def time_row(paper: str, text: str, data: Path, work: Path, epochs_cap: int | None) -> str:
    """Fit and score fold 1 of the row on CUDA; its time beside the dry-run estimate."""
    import torch

    from mer_bench.runs import Runner, RunnerSettings, resolve
    from mer_bench.runs.costs import duration, estimate
    from mer_bench.runs.fitting import fit_fold
    from mer_bench.runs.folds import score_fold
    from mer_bench.runs.preparing import split_sizes, truth
    from mer_bench.tracking import InMemoryTracker

    if not (data / "4q").is_dir():
        raise CheckFailed(f"the 4Q data is not at {data / '4q'} (see --data)")
    row = find_row(paper, text)
    run = resolve(row.spec(0, {"4q": str(data / "4q")}))
    trainer = gpu_trainer(epochs_cap)
    runner = Runner(InMemoryTracker(), RunnerSettings(trainer=trainer, work_dir=work,
                                                      progress=False, plots=False))
    try:
        cost = estimate(run, runner)  # what `reproduce --dry-run` prints, probed on this GPU
        prep = runner.prepare(run)
        split = prep.splits[0]
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        fitted = fit_fold(run, prep, split, trainer=trainer, work_dir=work)
        test = fitted.parts["test"]
        metrics = score_fold(run.task, truth(test), fitted.method.predict(test), split.name,
                             split_sizes(fitted.parts))
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    finally:
        runner.close()
    peak = torch.cuda.max_memory_allocated()
    if peak == 0:
        raise CheckFailed(f"{paper} {row.label!r}: the fold allocated no CUDA memory, "
                          "so it trained on the CPU")
    estimated = cost.fold_seconds
    ratio = f", {seconds / estimated:.2f}x the estimate" if estimated else ""
    primary = run.task.primary_metric
    return (f"{paper} {row.label!r} ({run.name}): fold 1 of {cost.folds} measured "
            f"{duration(seconds)}; dry-run estimate {duration(estimated or 0.0)} per fold"
            f"{ratio} [{cost.describe()}]; {primary}={metrics.get(primary, float('nan')):.3f}; "
            f"peak CUDA memory {peak / 2**20:.0f} MiB")


def _fold_on_worker(run: Any, prep: Any, split: Any, trainer: Any, work_dir: str) -> dict:
    """A Ray task: fit one fold as the executor does and say what CUDA saw."""
    import torch

    from mer_bench.runs.ray_executor import fit_and_score

    visible = torch.cuda.is_available()
    if visible:
        torch.cuda.reset_peak_memory_stats()
    remote = fit_and_score(run, prep, split, trainer, work_dir, torch.get_num_threads())
    return {"cuda": visible, "peak": torch.cuda.max_memory_allocated() if visible else 0,
            "node": remote.node, "devices": os.environ.get("CUDA_VISIBLE_DEVICES", "")}


def ray_plan(work: Path, gpus_per_fold: float = 1.0) -> str:
    """The plan through ``Runner`` with ``--executor ray``, then one fold's CUDA use."""
    import ray

    from mer_bench.config import BenchPlan
    from mer_bench.runs import Runner, RunnerSettings, expand
    from mer_bench.runs.executors import ExecutorSettings
    from mer_bench.runs.ray_executor import RayExecutor
    from mer_bench.tracking import InMemoryTracker
    from mer_bench.tracking.base import FINISHED, FOLD

    runs, _ = expand(BenchPlan.from_dict(RAY_PLAN))
    settings = ExecutorSettings(name="ray", gpus_per_fold=gpus_per_fold)
    tracker = InMemoryTracker()
    runner = Runner(tracker, RunnerSettings(progress=False, plots=False, work_dir=work,
                                            executor=settings))
    try:
        outcomes = runner.run_all(runs, keep_going=False)
        bad = [f"{o.name}: {o.status} {o.error}" for o in outcomes if o.status != "finished"]
        if bad:
            raise CheckFailed("--executor ray: " + "; ".join(bad))
        folds = [r for r in tracker.runs.values() if r.tags.get("kind") == FOLD]
        if not folds or any(f.status != FINISHED or not f.tags.get("worker_node")
                            for f in folds):
            raise CheckFailed(f"--executor ray: {len(folds)} fold run(s), not all finished "
                              "with a worker_node tag")
        run = runs[0]
        options = RayExecutor(settings).options(run)
        if options.get("num_gpus") != gpus_per_fold:
            raise CheckFailed(f"{run.name}: a fold task asks {options} (trains_networks?)")
        prep = runner.prepare(run)
        task = ray.remote(_fold_on_worker).options(**options)
        seen = ray.get(task.remote(run, prep, prep.splits[0], runner.settings.trainer,
                                   str(work)))
    finally:
        runner.close()
    if gpus_per_fold and not (seen["cuda"] and seen["peak"] > 0):
        raise CheckFailed(f"a Ray fold with num_gpus={gpus_per_fold} did not use CUDA: {seen}")
    nodes = sorted({f.tags["worker_node"] for f in folds})
    return (f"{len(folds)} fold run(s) finished on {nodes}; one fold task with {options} "
            f"saw CUDA_VISIBLE_DEVICES={seen['devices']!r}, peak {seen['peak'] / 2**20:.0f} MiB")


def run_step(name: str, step: Callable[[], str]) -> Outcome:
    print(f"gpu-check: {name} ...", flush=True)
    start = time.perf_counter()
    try:
        detail = step()
        ok = True
    except CheckFailed as exc:
        detail, ok = str(exc), False
    except Exception:  # any other error on CUDA is what the check is for
        detail, ok = traceback.format_exc(), False
    took = time.perf_counter() - start
    print(f"gpu-check: {name}: {'ok' if ok else 'FAILED'} ({took:.0f} s)\n  {detail}", flush=True)
    return Outcome(name, ok, detail)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA,
                    help="the folder holding 4q/ (default: ../shared/data beside the repo)")
    ap.add_argument("--epochs-cap", type=int, default=2,
                    help="at most this many epochs per Trainer in step 2 (0: the paper's)")
    ap.add_argument("--skip", action="append", default=[], choices=["tier", "rows", "ray"],
                    help="leave a step out (repeatable)")
    ap.add_argument("--require-gpu", action="store_true",
                    help="exit 1 instead of skipping where torch sees no CUDA device")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    reason = no_gpu_reason()
    if reason is not None:
        verdict = "FAILED (--require-gpu)" if args.require_gpu else "SKIPPED"
        print(f"gpu-check: {verdict}: {reason}. Nothing was checked; run `make test-gpu` "
              "on a machine with an NVIDIA GPU and a CUDA build of torch.")
        return 1 if args.require_gpu else 0
    import torch

    print(f"gpu-check: on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, "
          f"CUDA {torch.version.cuda})", flush=True)
    cap = args.epochs_cap or None
    steps: list[tuple[str, str, Callable[[], str]]] = [("tier", "pytest -m gpu", gpu_tier)]
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        for paper, text in ROWS:
            steps.append(("rows", f"{paper} 4Q fold on CUDA",
                          lambda p=paper, t=text: time_row(p, t, args.data, work / p, cap)))
        steps.append(("ray", "--executor ray, one GPU per fold", lambda: ray_plan(work / "ray")))
        outcomes = [run_step(name, step) for key, name, step in steps if key not in args.skip]
    failed = [o.step for o in outcomes if not o.ok]
    print(f"gpu-check: {len(outcomes) - len(failed)}/{len(outcomes)} step(s) passed"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
