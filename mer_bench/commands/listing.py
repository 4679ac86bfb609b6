"""``mer-bench list``: what is registered and what each plug-in supports."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mer_bench.commands.common import console
from mer_bench.errors import MerBenchError


def list_plugins(
    what: Annotated[str, typer.Argument(help="datasets, features, methods or tasks")] = "all",
) -> None:
    """List registered datasets, features, methods and tasks with what each supports."""
    from mer_bench.data import DATASETS
    from mer_bench.features import FEATURES
    from mer_bench.methods import METHODS
    from mer_bench.types import TaskKind

    choices = {"datasets", "features", "methods", "tasks", "all"}
    if what not in choices:
        raise MerBenchError(f"cannot list {what!r}; choose from {sorted(choices)}")
    if what in ("datasets", "all"):
        table = Table("dataset", "version", "tasks", "license", title="datasets")
        for name, cls in DATASETS.items():
            table.add_row(
                name, cls.version, ", ".join(sorted(k.value for k in cls.task_kinds)), cls.license
            )
        console.print(table)
    if what in ("features", "all"):
        table = Table("feature", "version", "sample rate", "dim", "hop (s)", title="features")
        for name, cls in FEATURES.items():
            ex = cls()
            table.add_row(
                name,
                cls.version,
                str(cls.sample_rate),
                str(ex.dim),
                "clip" if ex.hop_s is None else f"{ex.hop_s:.3f}",
            )
        console.print(table)
    if what in ("methods", "all"):
        table = Table("method", "consumes", "tasks", title="methods")
        for name, cls in METHODS.items():
            table.add_row(name, cls.consumes, ", ".join(sorted(k.value for k in cls.supports)))
        console.print(table)
    if what in ("tasks", "all"):
        table = Table("task", "kind", "primary metric", title="tasks")
        for kind in TaskKind:
            label = (
                f"{kind.n_classes} classes"
                if kind.is_classification
                else ("retrieval" if "retrieval" in kind.value else "regression")
            )
            table.add_row(kind.value, label, kind.primary_metric)
        console.print(table)


# --- run / bench ----------------------------------------------------------------
