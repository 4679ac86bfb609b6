"""Paper tables: the published numbers in ``experiments/papers/*.yaml`` beside ours.

Each paper file (schema in ``experiments/papers/README.md``) lists tables whose
rows name the run that reproduces them and the published value. This module
loads them, runs what can run here (finished runs are found in MLflow and not
recomputed), and renders each table side by side: published, ours (mean and
95 % CI over folds and seeds), the difference, and whether the published value
lies inside our interval. Rows that cannot run are kept, with the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mer_bench.config import RunSpec
from mer_bench.errors import ConfigError
from mer_bench.leaderboard.current import on_newest_data, other_data_note
from mer_bench.leaderboard.rows import PublishedValue
from mer_bench.metrics.stats import bootstrap_ci
from mer_bench.tracking.base import UNCHECKED_TAG, FoldRecord, Tracker
from mer_bench.types import dataset_label

REPO = Path(__file__).resolve().parents[1]
RUN_KEYS = {f.name for f in dataclasses.fields(RunSpec)}


@dataclass(frozen=True)
class Conversion:
    """How a number printed in a paper becomes comparable with mer-bench's metric."""

    convert: Callable[[float], float]
    says: str  # shown beside the printed value


# a row's ``published_as``: the printed number stays as printed, comparisons use the
# converted one (named conversions only; nothing in a paper file is evaluated)
CONVERSIONS: dict[str, Conversion] = {
    "unit_scale_rmse": Conversion(
        lambda v: 2.0 * v, "printed RMSE is on [0, 1]; mer-bench's [-1, 1] scale doubles it"
    ),
}


@dataclass(frozen=True)
class PaperRow:
    paper: str
    table: str
    label: str
    metric: str
    published: float | None
    published_std: float | None = None
    run: Mapping[str, Any] | None = None
    unavailable: str = ""
    note: str = ""
    published_as: str = ""  # a CONVERSIONS name: the printed value is not our metric's
    # why the published number does not compare with this row as it runs here (substituted
    # parts, other data): the number is kept and shown, but never beside our result
    published_note: str = ""
    # how many times the row runs, seeds 0..rounds-1 (the paper file's ``rounds``)
    rounds: int = 1

    @property
    def comparable(self) -> float | None:
        """The published value in our metric's terms (the printed one unless converted);
        None when there is none or it does not compare with the row (``published_note``)."""
        if self.published is None or self.published_note:
            return None
        if not self.published_as:
            return self.published
        return CONVERSIONS[self.published_as].convert(self.published)

    def spec(self, seed: int = 0, roots: Mapping[str, str] | None = None) -> RunSpec:
        if self.run is None:
            raise ConfigError(f"{self.paper}:{self.table} row {self.label!r} has no run")
        values = dict(self.run)
        root = (roots or {}).get(values.get("dataset", ""))
        if root is not None:
            values["dataset_root"] = root
        music_root = (roots or {}).get(values.get("music_dataset") or "")
        if music_root is not None:
            values["music_root"] = music_root
        return RunSpec(**{**values, "seed": seed})

    def spec_key(self, smoke: bool = False) -> str:
        """The key its runs carry in their ``spec_keys`` tag (``RunSpec.key``)."""
        return self.spec().key(smoke)

    def needs(self) -> str:
        if self.run is None:
            return self.unavailable or "not reproducible here"
        run = self.run
        data = dataset_label(str(run["dataset"]), run.get("music_dataset"))
        features = str(run.get("features", "none"))
        if features == "none":  # audio methods compute their own front end from the audio
            return f"dataset {data} with its audio"
        return f"dataset {data}, features {features}"

    def settings(self) -> str:
        """Everything the row runs that changes its numbers (``reproduce --list`` and
        ``--dry-run`` show it): method, data and its options, task, features, protocol
        and rounds, then every other field of its run spec not at its default, taken
        from ``RunSpec`` itself so that a new field is never left out, and the method's
        parameters last. Seeds and where data lives are not settings."""
        if self.run is None:
            return ""
        values = {f.name: getattr(self.spec(), f.name) for f in dataclasses.fields(RunSpec)
                  if f.name not in NOT_SETTINGS}
        protocol = str(values.pop("protocol"))
        if self.rounds > 1:
            protocol += f" x {self.rounds} rounds (seeds 0-{self.rounds - 1})"
        parts = [str(values.pop("method")),
                 _with_params(values.pop("dataset"), values.pop("dataset_params")),
                 str(values.pop("task"))]
        features = _with_params(values.pop("features"), values.pop("feature_params"))
        parts += [] if features == "none" else [features]
        parts.append(protocol)
        music, music_params = values.pop("music_dataset"), values.pop("music_params")
        if music is not None:
            parts.append("music " + _with_params(music, music_params))
        method_params = _pairs(values.pop("method_params"))
        parts += [f"{name}={value}" for name, value in values.items()
                  if value != _default(name)]
        return "; ".join(parts + ([method_params] if method_params else []))


# fields of a run spec that are not settings: the seed varies over a row's rounds,
# roots say where the data lives, not what ran (as in ``RunSpec.key``)
NOT_SETTINGS = frozenset({"seed", "dataset_root", "target_root", "music_root"})


def _default(name: str) -> Any:
    """A ``RunSpec`` field's default value."""
    f = next(f for f in dataclasses.fields(RunSpec) if f.name == name)
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _pairs(values: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (values or {}).items())


def _with_params(name: Any, params: Mapping[str, Any] | None) -> str:
    return f"{name} ({_pairs(params)})" if params else str(name)


@dataclass(frozen=True)
class PaperTable:
    paper: str
    id: str
    caption: str
    rows: tuple[PaperRow, ...]


@dataclass(frozen=True)
class Paper:
    name: str
    title: str
    citation: str
    tables: tuple[PaperTable, ...]
    path: Path
    rounds: int = 1  # every row's runs: seeds 0..rounds-1 unless ``--seeds`` says otherwise


def papers_dir() -> Path:
    for candidate in (Path.cwd() / "experiments" / "papers", REPO / "experiments" / "papers"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("experiments/papers/ not found (run from the mer-bench checkout)")


class PaperNumber(float):
    """A number as the paper file writes it: ``text`` keeps its digits, so a value prints
    with the paper's precision ("0.0003", "0.7258", "83.20"), not a fixed one."""

    text: str

    def __new__(cls, value: float, text: str) -> PaperNumber:
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __reduce__(self) -> tuple[Any, ...]:
        return (PaperNumber, (float(self), self.text))


class _PaperLoader(yaml.SafeLoader):
    """YAML's safe loader, with floats that remember how they were written."""


def _paper_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> PaperNumber:
    return PaperNumber(yaml.SafeLoader.construct_yaml_float(loader, node), node.value)


_PaperLoader.add_constructor("tag:yaml.org,2002:float", _paper_float)


def decimals(value: float | None, default: int = 3) -> int:
    """How many decimals the paper printed ``value`` with (``default`` when unknown)."""
    text = getattr(value, "text", "")
    if not text or "e" in text.lower() or "." not in text:
        return default if not text or "e" in text.lower() else 0
    return len(text.split(".", 1)[1])


def paper_text(value: float, like: float | None = None) -> str:
    """``value`` with the paper's precision (that of ``like`` when given, e.g. a published
    value converted to our scale keeps its decimals)."""
    return f"{value:.{decimals(value if like is None else like)}f}"


def load_paper(path: Path) -> Paper:
    """Parse one paper file, checking every row against the schema."""
    try:
        raw = yaml.load(path.read_text(), Loader=_PaperLoader) or {}  # noqa: S506 (safe)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    name = str(raw.get("paper") or path.stem)
    defaults = dict(raw.get("defaults") or {})
    rounds = _rounds(raw.get("rounds", 1), f"{path}: rounds")
    tables = []
    for t in raw.get("tables") or []:
        rows = []
        for r in t.get("rows") or []:
            run = r.get("run")
            if run is not None:
                run = {**defaults, **run}
                unknown = set(run) - RUN_KEYS
                if unknown:
                    raise ConfigError(
                        f"{path}: row {r.get('label')!r} has unknown run keys "
                        f"{sorted(unknown)}; allowed: {sorted(RUN_KEYS)}"
                    )
            elif not r.get("unavailable"):
                raise ConfigError(
                    f"{path}: row {r.get('label')!r} has no run and no 'unavailable' reason"
                )
            published = r.get("published")
            published_as = str(r.get("published_as") or "")
            if published_as and published_as not in CONVERSIONS:
                raise ConfigError(
                    f"{path}: row {r.get('label')!r} has published_as={published_as!r}; "
                    f"known: {sorted(CONVERSIONS)}"
                )
            if published is None and not r.get("note"):
                raise ConfigError(
                    f"{path}: row {r.get('label')!r} has no published value and no note "
                    "saying why"
                )
            rows.append(
                PaperRow(
                    paper=name,
                    table=str(t.get("id")),
                    label=str(r.get("label", "")),
                    metric=str(r.get("metric", "")),
                    published=_number(published),
                    published_std=_number(r.get("published_std")),
                    run=run,
                    unavailable=str(r.get("unavailable") or ""),
                    note=str(r.get("note") or ""),
                    published_as=published_as,
                    published_note=str(r.get("published_note") or ""),
                    rounds=rounds,
                )
            )
        tables.append(PaperTable(name, str(t.get("id")), str(t.get("caption", "")), tuple(rows)))
    return Paper(name, str(raw.get("title", "")), str(raw.get("citation", "")), tuple(tables), path,
                 rounds)


def _number(value: Any) -> float | None:
    """A published number, keeping how the file wrote it (``PaperNumber``)."""
    if value is None:
        return None
    if isinstance(value, PaperNumber):
        return value
    return PaperNumber(float(value), str(value))


def _rounds(value: Any, where: str) -> int:
    """A paper file's ``rounds``: how often the paper repeats each row (seeds 0..N-1);
    at most ``MAX_SEEDS``, as far as ``summarise`` looks."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEEDS:
        raise ConfigError(f"{where} must be a whole number from 1 to {MAX_SEEDS}, "
                          f"got {value!r}")
    return value


def with_rounds(tables: Iterable[PaperTable], rounds: int | None) -> list[PaperTable]:
    """The tables with every row run ``rounds`` times (``reproduce --seeds``); None keeps
    each paper's own rounds."""
    if rounds is None:
        return list(tables)
    _rounds(rounds, "--seeds")
    return [dataclasses.replace(t, rows=tuple(dataclasses.replace(r, rounds=rounds)
                                              for r in t.rows)) for t in tables]


def load_papers(folder: Path | None = None) -> list[Paper]:
    folder = folder or papers_dir()
    return [load_paper(p) for p in sorted(folder.glob("*.yaml"))]


def select(papers: Iterable[Paper], target: str) -> list[PaperTable]:
    """``PAPER`` or ``PAPER:TABLE`` -> the matching tables."""
    name, _, table = target.partition(":")
    chosen = [p for p in papers if p.name == name]
    if not chosen:
        known = ", ".join(p.name for p in papers)
        raise ConfigError(f"no paper {name!r} in experiments/papers/; known: {known}")
    tables = [t for t in chosen[0].tables if not table or t.id == table]
    if not tables:
        ids = ", ".join(t.id for t in chosen[0].tables)
        raise ConfigError(f"paper {name} has no table {table!r}; tables: {ids}")
    return tables


def published_values(papers: Iterable[Paper]) -> list[PublishedValue]:
    """Every runnable row's published number, for the leaderboard's 'published' column.

    Each is shown only beside runs of exactly the row's spec (their ``spec_keys``
    tag holds the row's key), so a reduced-budget run never stands beside the
    paper's number; a row with a ``published_note`` (its run differs from the
    paper's in parts or data) contributes none.
    """
    values = []
    for paper in papers:
        for table in paper.tables:
            for row in table.rows:
                if row.run is None or row.comparable is None:
                    continue
                values.append(
                    PublishedValue(
                        task=str(row.run["task"]),
                        dataset=dataset_label(
                            str(row.run["dataset"]), row.run.get("music_dataset")
                        ),
                        method=str(row.run["method"]),
                        features=str(row.run.get("features", "none")),
                        metric=row.metric,
                        value=row.comparable,
                        source=f"{paper.name}:{table.id} {row.label}",
                        spec_key=row.spec_key(),
                    )
                )
    return values


@dataclass
class RowResult:
    row: PaperRow
    status: str  # ok | unavailable | not run | to run (dry run) | failed
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    n: int = 0
    reason: str = ""
    config_hashes: list[str] = field(default_factory=list)

    @property
    def difference(self) -> float | None:
        if self.mean is None or self.row.comparable is None:
            return None
        return self.mean - self.row.comparable

    @property
    def inside(self) -> bool | None:
        comparable = self.row.comparable
        if self.low is None or comparable is None:
            return None
        return self.low <= comparable <= self.high


MAX_SEEDS = 100  # how far ``summarise`` looks for seeds of a row that ran


def summarise(
    tables: Iterable[PaperTable], tracker: Tracker, seeds: int | None = None, smoke: bool = False,
    rounds: bool = False,
) -> list[RowResult]:
    """Every row against what the tracker already holds; nothing is run or resolved.

    A row's runs are the finished runs whose ``spec_keys`` tag holds the row's
    key (``PaperRow.spec_key``). ``seeds=None`` takes every seed 0, 1, ... that
    has finished runs (what the leaderboard shows); a number takes exactly
    seeds 0..seeds-1; ``rounds`` (without ``seeds``) takes exactly each row's
    rounds, as ``reproduce`` runs them. The mean and CI are over every fold of
    every seed taken.
    """
    by_key: dict[tuple[str, str], list[FoldRecord]] = {}
    # runs on data that has changed since are left out, as on the leaderboard; canonical
    # (seed, fold) order: the bootstrap CI must not depend on the store's order
    records = tracker.fold_records()
    current = on_newest_data(records)
    kept = {id(r) for r in current.records}
    hidden: dict[str, set[str]] = {}  # spec key -> parent runs on data changed since
    for record in records:
        if id(record) not in kept:
            for key in filter(None, record.tag("spec_keys").split(",")):
                hidden.setdefault(key, set()).add(record.parent_run_id)
    for record in sorted(current.records, key=lambda r: r.order_key):
        for key in record.tag("spec_keys").split(","):
            if key:
                by_key.setdefault((key, record.tag("seed")), []).append(record)
    results = []
    for table in tables:
        for row in table.rows:
            if row.run is None:
                results.append(RowResult(row, "unavailable", reason=row.unavailable))
                continue
            key = row.spec_key(smoke)
            records: list[FoldRecord] = []
            exact = seeds if seeds is not None else row.rounds if rounds else None
            for seed in range(MAX_SEEDS if exact is None else exact):
                found = by_key.get((key, str(seed)), [])
                if exact is None and not found:
                    break
                records += found
            results.append(_summarise(row, records, len(hidden.get(key, ()))))
    return results


def _summarise(row: PaperRow, records: list[FoldRecord], other_data: int = 0) -> RowResult:
    values = [float(r.metrics[row.metric]) for r in records if row.metric in r.metrics]
    hashes = sorted({r.tag("config_hash") for r in records})
    notes = [other_data_note(other_data).replace("of this table ", "of this row ")]
    notes += sorted({f"labels unchecked: {u}" for r in records if (u := r.tag(UNCHECKED_TAG))})
    if not values:
        reason = (
            f"no finished fold reports {row.metric}"
            if records
            else f"not run yet (needs {row.needs()}): mer-bench reproduce {row.paper}:{row.table}"
        )
        status = "failed" if records else "not run"
        reason = " ".join(filter(None, [reason + ".", *notes])).rstrip(".")
        return RowResult(row, status, reason=reason, config_hashes=hashes)
    mean, low, high = bootstrap_ci(values)
    return RowResult(row, "ok", mean, low, high, len(values), reason=" ".join(filter(None, notes)),
                     config_hashes=hashes)


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(":") if text else type(exc).__name__
