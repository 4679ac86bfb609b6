"""``--root NAME=PATH``: the one way every command takes dataset folders.

Each command accepts the option repeatedly; a bare ``PATH`` is accepted where
the command names exactly one dataset, so ``run -d deam --root /data/DEAM``
keeps working while ``bench`` and ``reproduce`` say which folder is whose.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from mer_bench.config import BenchPlan, Entry
from mer_bench.errors import ConfigError
from mer_bench.suggest import did_you_mean


def parse_roots(items: Iterable[str] | None, single: str | None = None) -> dict[str, str]:
    """``{canonical dataset name: path}`` from ``--root`` values.

    ``single`` is the one dataset a bare PATH belongs to (None: NAME=PATH is required).
    """
    from mer_bench.data import DATASETS

    roots: dict[str, str] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        named = sep and "/" not in name and name.strip() != ""
        if named:
            key = DATASETS.canonical(name)  # unknown names raise with a suggestion
            if not path.strip():
                raise ConfigError(f"--root {item!r}: give a folder after '='")
        elif single is not None:
            key, path = DATASETS.canonical(single), item
        else:
            raise ConfigError(
                f"--root {item!r}: say whose folder it is, as NAME=PATH (e.g. deam=/data/DEAM); "
                "a bare PATH is accepted only where one dataset is named"
            )
        if key in roots and roots[key] != path.strip():
            raise ConfigError(f"--root gives dataset {key!r} two folders")
        roots[key] = path.strip()
    return roots


def single_root(items: Iterable[str] | None, dataset: str) -> str | None:
    """The folder of the one dataset a command reads; a root for another is refused."""
    from mer_bench.data import DATASETS

    name = DATASETS.canonical(dataset)
    roots = parse_roots(items, name)
    others = sorted(set(roots) - {name})
    if others:
        raise ConfigError(f"--root {others[0]}=...: this command reads only dataset {name!r}")
    return roots.get(name)


def plan_dataset_names(plan: BenchPlan) -> list[str]:
    """Canonical names of every dataset a plan reads (datasets and music)."""
    from mer_bench.data import DATASETS

    names = [DATASETS.canonical(e.name) for e in (*plan.datasets, *plan.music)]
    return list(dict.fromkeys(names))


def apply_roots(plan: BenchPlan, items: Iterable[str] | None) -> BenchPlan:
    """The plan with ``--root`` folders set on its dataset and music entries."""
    from mer_bench.data import DATASETS

    names = plan_dataset_names(plan)
    roots = parse_roots(items, names[0] if len(names) == 1 else None)
    for name in roots:
        if name not in names:
            raise ConfigError(
                f"--root {name}=...: the plan reads no dataset {name!r}"
                f"{did_you_mean(name, names)} (its datasets: {', '.join(names)})"
            )

    def with_root(entry: Entry) -> Entry:
        root = roots.get(DATASETS.canonical(entry.name))
        return entry if root is None else dataclasses.replace(entry, root=root)

    return dataclasses.replace(
        plan,
        datasets=tuple(map(with_root, plan.datasets)),
        music=tuple(map(with_root, plan.music)),
    )

