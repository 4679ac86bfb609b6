"""``mer-bench list``: what is registered and what each plug-in supports."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.table import Table

from mer_bench.commands.common import console
from mer_bench.commands.plans import available_plans
from mer_bench.errors import MerBenchError


def list_plugins(
    what: Annotated[str, typer.Argument(
        help="datasets, features, methods, tasks, plans or papers")] = "all",
) -> None:
    """List registered datasets, features, methods and tasks with what each supports."""
    from mer_bench.data import DATASETS
    from mer_bench.features import FEATURES
    from mer_bench.methods import METHODS
    from mer_bench.types import TaskKind

    choices = {"datasets", "features", "methods", "tasks", "plans", "papers", "all"}
    if what not in choices:
        raise MerBenchError(f"cannot list {what!r}; choose from {sorted(choices)}")
    if what == "plans":
        return list_plans()
    if what == "papers":
        return list_papers()
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
        table = Table("method", "consumes", "task families (or tasks)", title="methods")
        for name, cls in METHODS.items():
            table.add_row(name, cls.consumes, _supported(cls))
        console.print(table)
    if what in ("tasks", "all"):
        table = Table("task", "family", "label space", "primary metric", title="tasks")
        for kind in TaskKind.all():
            space = f"{len(kind.labels)}: {', '.join(kind.labels)}" if kind.labels else ""
            table.add_row(kind.value, kind.family.value, _clip(space), kind.primary_metric)
        console.print(table)


def list_plans() -> None:
    """The bench plans a bare name runs (``mer-bench bench NAME``), with what each holds."""
    from mer_bench.commands.plans import plan_path
    from mer_bench.config import load_plan

    table = Table("plan", "datasets", "tasks", "methods", "seeds", "description",
                  title="bench plans (mer-bench bench NAME)")
    for name in available_plans():
        try:
            plan = load_plan(plan_path(name))
        except MerBenchError as exc:
            table.add_row(name, "", "", "", "", f"cannot be read: {exc}")
            continue
        methods = Counter(m.name for m in plan.methods)  # variants of one method: counted
        table.add_row(name, ", ".join(d.name for d in plan.datasets), ", ".join(plan.tasks),
                      ", ".join(f"{m} x{n}" if n > 1 else m for m, n in methods.items()),
                      str(len(plan.seeds)),
                      plan.description.strip().split("\n")[0])
    console.print(table)


def list_papers() -> None:
    """The paper files with their rows, and how many rows can run here (their data found)."""
    from mer_bench.papers import load_papers

    table = Table("paper", "title", "tables", "rows", "runnable", "data folders found",
                  title="papers (mer-bench reproduce NAME)")
    for paper in load_papers():
        rows = [r for t in paper.tables for r in t.rows]
        runnable = [r for r in rows if r.run is not None]
        here = sum(_data_here(r.spec()) for r in runnable)
        table.add_row(paper.name, paper.title, str(len(paper.tables)), str(len(rows)),
                      str(len(runnable)), str(here))
    console.print(table)


def _data_here(spec: object) -> bool:
    """Whether a row's dataset folder(s) can be found on this machine (not validated)."""
    from mer_bench.data import DATASETS

    pairs = [(spec.dataset, spec.dataset_root)]  # type: ignore[attr-defined]
    if getattr(spec, "music_dataset", None):
        pairs.append((spec.music_dataset, spec.music_root))  # type: ignore[attr-defined]
    try:
        for name, root in pairs:
            DATASETS.get(name)(root)
    except MerBenchError:
        return False
    return True


# --- run / bench ----------------------------------------------------------------


def _clip(text: str, width: int = 60) -> str:
    """A long label space (56 tags) shortened for the terminal table."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _supported(cls) -> str:
    """The families a method fits, or its tasks where it narrows them (emer-cl-svr)."""
    from mer_bench.types import TaskKind

    tasks = cls.supported_tasks()
    if len(tasks) < sum(k.family in cls.supports for k in TaskKind.all()):
        return ", ".join(k.value for k in tasks)
    return ", ".join(sorted(f.value for f in cls.supports))
