"""What every ``mer-bench`` command shares: the consoles, status lines and option types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)

REPO = Path(__file__).resolve().parents[2]

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default $MLFLOW_TRACKING_URI or "
        "sqlite:///mlruns.db); 'memory' keeps runs in memory only.",
    ),
]
Smoke = Annotated[bool, typer.Option("--smoke", help="Tiny method parameters (pipeline checks).")]
Roots = Annotated[list[str] | None, typer.Option(
    "--root", help="Dataset folder as NAME=PATH (repeatable); a bare PATH where one dataset "
    "is named.")]
AllowMissing = Annotated[
    bool,
    typer.Option(
        "--allow-missing-audio", help="Run on the tracks that have audio; log the missing ids."
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Leave out every track with a track-level error listed by `data check` (missing, "
        "unreadable, truncated or short audio, bad label, unusable id or path); errors about "
        "a whole file still stop the run, warnings never drop a track.",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a plan value, e.g. seeds=3, methods.linear.C=0.5 (repeatable)."
    ),
]
LeaderboardDir = Annotated[Path, typer.Option("--out", help="Leaderboard output folder.")]
WeightsPaths = Annotated[list[Path] | None, typer.Option(
    "--weights", help="Pretrained weights: a file, or a folder of files under their official "
    "names (repeatable); default $TORCH_HOME/hub/checkpoints.")]
Executor = Annotated[str | None, typer.Option(
    "--executor", help="Where folds run: local (this process, the default) or ray (each fold "
    "a Ray task, on this machine or the cluster at --address); overrides the plan's "
    "executor block.")]
Address = Annotated[str | None, typer.Option(
    "--address", help="With --executor ray: the Ray cluster to join (host:port, or auto for "
    "the one `ray start` set up here); without it Ray starts on this machine.")]
NoPlots = Annotated[bool, typer.Option(
    "--no-plots", help="Skip each run's confusion-matrix / scatter PNG artifacts (faster).")]
FailFast = Annotated[bool, typer.Option(
    "--fail-fast", help="Stop at the first run that fails (default: record it FAILED and go "
    "on with the rest).")]
Wait = Annotated[bool, typer.Option(
    "--wait", help="When other workers hold runs of the plan, wait for them (taking over any "
    "whose worker is gone) instead of exiting with status 3.")]
RandomInit = Annotated[bool, typer.Option(
    "--random-init", help="Untrained seeded weights for extractors that have weights "
    "(smoke tests only; runs are tagged weights=random).")]


def say(message: str, markup: bool = False) -> None:
    """Print a status line; markup only where the caller wrote it (data may hold "[...]")."""
    console.print(message, highlight=False, markup=markup)


