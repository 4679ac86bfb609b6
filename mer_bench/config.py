"""Bench plans and run specs: dataclasses, YAML loading and ``key=value`` overrides.

A plan file (``experiments/bench/*.yaml``) looks like::

    name: quick
    datasets: [synth]                 # or [{name: deam, root: /data/DEAM}]
    tasks: [quadrant, static_va]
    features: [mfcc, logmel]          # or [{name: mfcc, params: {n_mfcc: 40}}]
    methods: [chance, linear]         # or [{name: linear, params: {C: 0.1}}]
    protocol: kfold:5
    seeds: [0, 1]                     # or a count: 3 means [0, 1, 2]

For ``text2music_retrieval`` the datasets are text datasets and ``music``
lists the music collections each is matched with (``music_protocol`` splits
them; default: ``protocol``)::

    datasets: [synth-text]
    tasks: [text2music_retrieval]
    music: [synth]

Overrides address the raw YAML by dotted path before it is parsed; list
entries are addressed by name, and values are parsed as YAML (never
evaluated): ``seeds=3``, ``features=vggish``, ``methods.linear.C=0.5``
(short for ``methods.linear.params.C``), ``datasets.deam.root=/data/DEAM``.
They compose the same in any order (see ``overrides``). Plan files and override
values are read by a bounded YAML loader (see ``plan_yaml``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_bench.errors import ConfigError
from mer_bench.overrides import ENTRY_LISTS as ENTRY_LISTS  # re-exported
from mer_bench.overrides import apply_ordered, brief, ordered_overrides, parse_override
from mer_bench.overrides import (  # re-exported: plans and ``run`` both compose through it
    apply_overrides as apply_overrides,
)
from mer_bench.param_types import check_param_types as check_param_types  # re-exported
from mer_bench.plan_yaml import read_plan_file
from mer_bench.protocol import Protocol
from mer_bench.types import stable_hash

PLAN_KEYS = {
    "name",
    "description",
    "datasets",
    "tasks",
    "features",
    "methods",
    "protocol",
    "seeds",
    "allow_missing_audio",
    "skip_invalid",
    "label_rule",
    "split_seed",
    "trainer",
    "executor",
    "music",
    "music_protocol",
}
LABEL_RULES = ("fixed", "kmeans")

MAX_SEEDS = 10_000
"""Seeds of one plan: every seed is a full run of every combination; a typo such as
``seeds=100000000`` would otherwise build the list until memory runs out."""
MAX_SEED = 2**32 - 1
"""Largest seed value: NumPy's and PyTorch's generators take seeds in ``[0, 2**32)``."""
TEXT2MUSIC = "text2music_retrieval"



@dataclass(frozen=True)
class Entry:
    """A named plug-in with parameters (for datasets, a root folder; for methods, the
    plan's tasks it runs on, when not all of those it supports)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    root: str | None = None
    tasks: tuple[str, ...] | None = None

    def runs_task(self, task: str) -> bool:
        return self.tasks is None or task in self.tasks


@dataclass(frozen=True)
class RunSpec:
    """One run: everything that determines its numbers (and so its config hash)."""

    method: str
    dataset: str
    task: str
    features: str
    protocol: str = "kfold:5"
    seed: int = 0
    # the seed that draws the protocol's splits; None: the run's seed. Fixing it while
    # ``seed`` varies repeats training on the same splits (He & Ferguson's rounds per fold)
    split_seed: int | None = None
    method_params: Mapping[str, Any] = field(default_factory=dict)
    feature_params: Mapping[str, Any] = field(default_factory=dict)
    dataset_root: str | None = None
    dataset_params: Mapping[str, Any] = field(default_factory=dict)
    allow_missing_audio: bool = False
    skip_invalid: bool = False
    # binary labels: "fixed" thresholds V/A at 0 (the scale midpoint); "kmeans" at the
    # midpoint of 2-means centres of the training fold's static V/A (He & Ferguson)
    label_rule: str = "fixed"
    target_root: str | None = None  # root of the test dataset of ``transfer:TARGET``
    # text2music_retrieval: ``dataset`` is the text dataset, these name the music side
    music_dataset: str | None = None
    music_root: str | None = None
    music_params: Mapping[str, Any] = field(default_factory=dict)
    music_protocol: str | None = None  # None: the same protocol as the text side
    # the Trainers' precision when not full (a plan's ``trainer.precision``, e.g.
    # bf16-mixed): it changes the numbers, so it is part of the config hash
    precision: str | None = None

    def key(self, smoke: bool = False) -> str:
        """What the spec asks for, as written, minus its seed and where the data lives.

        Runs carry it in their ``spec_keys`` tag, so a paper row finds its runs in
        the tracker without resolving the row again. Fields left at their default
        are omitted, so adding a field later keeps every existing key.
        """
        values: dict[str, Any] = {"smoke": True} if smoke else {}
        for f in dataclasses.fields(self):
            if f.name in _NOT_IN_KEY:
                continue
            value = getattr(self, f.name)
            if f.name in ("protocol", "music_protocol") and isinstance(value, str):
                value = value.strip().lower()
            factory = f.default_factory
            default = factory() if factory is not dataclasses.MISSING else f.default
            if value != default:
                values[f.name] = dict(value) if isinstance(value, Mapping) else value
        return stable_hash(values)


# the seed varies within a paper row; roots say where data lives, not what ran
_NOT_IN_KEY = frozenset({"seed", "dataset_root", "target_root", "music_root"})


@dataclass(frozen=True)
class BenchPlan:
    name: str
    datasets: tuple[Entry, ...]
    tasks: tuple[str, ...]
    features: tuple[Entry, ...]
    methods: tuple[Entry, ...]
    protocol: str = "kfold:5"
    seeds: tuple[int, ...] = (0,)
    allow_missing_audio: bool = False
    skip_invalid: bool = False
    label_rule: str = "fixed"
    split_seed: int | None = None  # None: each run's splits are drawn with its own seed
    description: str = ""
    # Lightning settings for every neural method (not hashed: they do not change what
    # is computed, only where): accelerator, devices, strategy, num_nodes, precision
    trainer: Mapping[str, Any] = field(default_factory=dict)
    # where folds run (``runs.executors.ExecutorSettings``): {name: ray, address: ...}
    executor: Mapping[str, Any] = field(default_factory=dict)
    # text2music_retrieval: the music collections each text dataset is matched with
    music: tuple[Entry, ...] = ()
    music_protocol: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "plan") -> BenchPlan:
        unknown = sorted(set(raw) - PLAN_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; allowed: {sorted(PLAN_KEYS)}")
        for key in ("datasets", "tasks", "features", "methods"):
            if not raw.get(key):
                raise ConfigError(f"{source}: '{key}' is missing or empty")
        seeds = _seeds(raw.get("seeds", [0]), source)
        label_rule = str(raw.get("label_rule", "fixed"))
        if label_rule not in LABEL_RULES:
            raise ConfigError(f"{source}: label_rule must be one of {LABEL_RULES}")
        split_seed = raw.get("split_seed")
        if split_seed is not None and (
            not isinstance(split_seed, int) or isinstance(split_seed, bool)
        ):
            raise ConfigError(f"{source}: split_seed must be an integer, got {split_seed!r}")
        if split_seed is not None and not 0 <= split_seed <= MAX_SEED:
            raise ConfigError(f"{source}: split_seed must be in 0..{MAX_SEED}, got {split_seed}")
        tasks = tuple(str(t) for t in _as_list(raw["tasks"]))
        methods = _entries(raw["methods"], "methods", source)
        for m in methods:
            stray = sorted(set(m.tasks or ()) - set(tasks))
            if stray:
                raise ConfigError(
                    f"{source}: method {m.name!r} lists tasks {stray} that the plan's tasks "
                    f"{list(tasks)} do not include"
                )
        return cls(
            name=str(raw.get("name", Path(source).stem)),
            datasets=_entries(raw["datasets"], "datasets", source),
            tasks=tasks,
            features=_entries(raw["features"], "features", source),
            methods=methods,
            protocol=str(raw.get("protocol", "kfold:5")),
            seeds=tuple(seeds),
            allow_missing_audio=bool(raw.get("allow_missing_audio", False)),
            skip_invalid=bool(raw.get("skip_invalid", False)),
            label_rule=label_rule,
            split_seed=split_seed,
            trainer=_trainer_settings(raw.get("trainer") or {}, source),
            executor=_executor_settings(raw.get("executor") or {}, source),
            description=str(raw.get("description", "")),
            music=_entries(raw["music"], "music", source) if raw.get("music") else (),
            music_protocol=_optional_str(raw.get("music_protocol")),
        )

    def specs(self) -> list[RunSpec]:
        """Every combination, before compatibility filtering (see runner.expand).

        ``protocol: transfer`` pairs every dataset with every other one as target;
        ``text2music_retrieval`` pairs every (text) dataset with every ``music`` entry.
        """
        pairs = [(d, None) for d in self.datasets]
        protocol = Protocol.parse(self.protocol)
        if protocol.is_transfer and not protocol.target:
            pairs = [(d, t) for d in self.datasets for t in self.datasets if t.name != d.name]
        specs = [
            RunSpec(
                method=m.name,
                dataset=d.name,
                task=t,
                features=f.name,
                protocol=self.protocol if target is None else f"transfer:{target.name}",
                seed=s,
                split_seed=self.split_seed,
                method_params=dict(m.params),
                feature_params=dict(f.params),
                dataset_root=d.root,
                dataset_params=dict(d.params),
                allow_missing_audio=self.allow_missing_audio,
                skip_invalid=self.skip_invalid,
                label_rule=self.label_rule,
                target_root=None if target is None else target.root,
                precision=reduced_precision(self.trainer.get("precision")),
            )
            for d, target in pairs
            for t in self.tasks
            for f in self.features
            for m in self.methods
            for s in self.seeds
            if m.runs_task(t)
        ]
        out = []
        for spec in specs:
            if spec.task != TEXT2MUSIC or not self.music:
                out.append(spec)  # a text2music spec without music fails in resolve()
                continue
            out.extend(
                dataclasses.replace(
                    spec,
                    music_dataset=music.name,
                    music_root=music.root,
                    music_params=dict(music.params),
                    music_protocol=self.music_protocol,
                )
                for music in self.music
            )
        return out


def _seeds(seeds: Any, source: str) -> list[int]:
    """A count (3 means 0, 1, 2) or a list, bounded before a list is built from a count."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 0 <= seeds <= MAX_SEEDS:
            raise ConfigError(
                f"{source}: seeds is a count of at most {MAX_SEEDS} seeds, got {seeds}"
            )
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"{source}: seeds must be a count or a list of integers")
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"{source}: seeds lists at most {MAX_SEEDS} seeds, got {len(seeds)}")
    bad = [s for s in seeds if not 0 <= s <= MAX_SEED]
    if bad:
        raise ConfigError(f"{source}: seed values must be in 0..{MAX_SEED}, got {bad[0]}")
    return seeds


def _trainer_settings(raw: Any, source: str) -> dict[str, Any]:
    from mer_bench.training import TrainerSettings

    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: trainer must be a mapping, e.g. {{devices: 2, strategy: ddp}}"
        )
    known = {f.name for f in dataclasses.fields(TrainerSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown trainer setting(s) {unknown}; known: {sorted(known)}")
    return dict(raw)


DEFAULT_PRECISION = ("32", "32-true")  # Lightning's default: float32


def reduced_precision(value: Any) -> str | None:
    """A Trainer precision other than the default float32 (None: the default), which
    changes a run's numbers and so enters its config hash."""
    text = None if value is None else str(value).strip().lower()
    return None if text in (None, "", *DEFAULT_PRECISION) else text


def _executor_settings(raw: Any, source: str) -> dict[str, Any]:
    """The plan's ``executor:`` block, checked now (``ExecutorSettings.from_dict``)."""
    from mer_bench.runs.executors import ExecutorSettings

    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: executor must be a mapping, e.g. {{name: ray}}")
    ExecutorSettings.from_dict(raw, source)
    return dict(raw)


def load_plan(path: Path | str, overrides: Sequence[str] = ()) -> BenchPlan:
    """Read a plan YAML file and apply ``key=value`` overrides."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"bench plan {path} not found")
    raw = _plan_relative_roots(read_plan_file(path), path.resolve().parent)
    plan = BenchPlan.from_dict(raw, str(path))  # the file's own faults name the file
    ordered = ordered_overrides(parse_override(item) for item in overrides)
    for i, override in enumerate(ordered):  # an override's faults name the override
        applied = apply_ordered(raw, ordered[: i + 1])
        plan = BenchPlan.from_dict(applied, f"--set {brief(override.item)}")
    return plan


def _plan_relative_roots(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative ``root:`` values of a plan file, made absolute against the file's folder.

    A plan then means the same folders whichever directory it is run from.
    """
    for key in ("datasets", "music"):
        entries = raw.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("root"), str):
                root = Path(entry["root"]).expanduser()
                if not root.is_absolute():
                    entry["root"] = str((folder / root).resolve())
    return raw


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _entries(value: Any, key: str, source: str) -> tuple[Entry, ...]:
    entries = []
    for item in _as_list(value):
        if isinstance(item, str):
            entries.append(Entry(item))
        elif isinstance(item, dict) and "name" in item:
            allowed = {"name", "params", "root"} | ({"tasks"} if key == "methods" else set())
            extra = sorted(set(item) - allowed)
            if extra:
                raise ConfigError(
                    f"{source}: {key} entry {item['name']!r} has unknown keys {extra}"
                )
            params = item.get("params") or {}
            if not isinstance(params, dict):
                raise ConfigError(
                    f"{source}: params of {key} entry {item['name']!r} must be a mapping"
                )
            root = item.get("root")
            tasks = item.get("tasks")
            if tasks is not None and not (
                isinstance(tasks, list) and all(isinstance(t, str) for t in tasks)
            ):
                raise ConfigError(f"{source}: tasks of {key} entry {item['name']!r} must be a list")
            entries.append(
                Entry(str(item["name"]), dict(params), None if root is None else str(root),
                      None if tasks is None else tuple(tasks))
            )
        else:
            raise ConfigError(f"{source}: each {key} entry is a name or a mapping with 'name'")
    return tuple(entries)
