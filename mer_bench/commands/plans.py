"""Bench plans by name: ``./experiments/bench`` first, then the installed package's."""

from __future__ import annotations

from pathlib import Path

from mer_bench.commands.common import REPO
from mer_bench.errors import MerBenchError


def plan_folders() -> list[Path]:
    """Where plan names are looked up: ./experiments/bench, then the installed package's."""
    folders = [Path.cwd() / "experiments" / "bench", REPO / "experiments" / "bench"]
    return list(dict.fromkeys(p.resolve() for p in folders))


def available_plans() -> list[str]:
    """Names of the bench plans a bare name can refer to."""
    return sorted({p.stem for folder in plan_folders() for p in folder.glob("*.yaml")})


def plan_path(plan: str) -> Path:
    """A plan name or YAML path; an unknown name lists the plans there are."""
    from mer_bench.suggest import unknown

    if Path(plan).is_file():
        return Path(plan)
    if not plan.endswith((".yaml", ".yml")):
        for folder in plan_folders():
            if (folder / f"{plan}.yaml").is_file():
                return folder / f"{plan}.yaml"
        raise MerBenchError(
            unknown("bench plan", plan, available_plans())
            + "; or give a plan file's path (a .yaml)"
        )
    raise MerBenchError(f"bench plan file {plan} not found")
