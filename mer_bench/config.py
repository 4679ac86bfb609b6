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
They compose the same in any order: a whole value (``methods=[linear]``) is
set before the settings inside it (``methods.linear.C=0.5``); two different
values for one key, or a setting whose entry a whole value removes, are refused.

Plan files and override values are read by a bounded YAML loader: sizes,
number lengths and alias expansion are checked before any value is built.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from mer_bench.errors import ConfigError
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
    "music",
    "music_protocol",
}
LABEL_RULES = ("fixed", "kmeans")

MAX_PLAN_BYTES = 1 << 20
"""A plan file is a few hundred bytes; one over 1 MiB is not a plan and is not read."""
MAX_VALUE_CHARS = 10_000
"""Characters of one plan value (name, path, description): longer is a mistake or an attack."""
MAX_NUMBER_CHARS = 100
"""Characters of one number: Python refuses integers over 4300 digits with a raw ValueError,
and no parameter or seed needs more than a few dozen."""
MAX_PLAN_VALUES = 100_000
"""Values a plan may expand to, each alias counted at every use: nine nested anchors of nine
aliases (a "billion laughs") expand to 9**9 strings and gigabytes once printed or copied."""
MAX_SEEDS = 10_000
"""Seeds of one plan: every seed is a full run of every combination; a typo such as
``seeds=100000000`` would otherwise build the list until memory runs out."""
MAX_SEED = 2**32 - 1
"""Largest seed value: NumPy's and PyTorch's generators take seeds in ``[0, 2**32)``."""
ENTRY_LISTS = ("datasets", "features", "methods", "music")
TEXT2MUSIC = "text2music_retrieval"


@dataclass(frozen=True)
class Entry:
    """A named plug-in with parameters (and, for datasets, a root folder)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    root: str | None = None


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
        return cls(
            name=str(raw.get("name", Path(source).stem)),
            datasets=_entries(raw["datasets"], "datasets", source),
            tasks=tuple(str(t) for t in _as_list(raw["tasks"])),
            features=_entries(raw["features"], "features", source),
            methods=_entries(raw["methods"], "methods", source),
            protocol=str(raw.get("protocol", "kfold:5")),
            seeds=tuple(seeds),
            allow_missing_audio=bool(raw.get("allow_missing_audio", False)),
            skip_invalid=bool(raw.get("skip_invalid", False)),
            label_rule=label_rule,
            split_seed=split_seed,
            trainer=_trainer_settings(raw.get("trainer") or {}, source),
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
            )
            for d, target in pairs
            for t in self.tasks
            for f in self.features
            for m in self.methods
            for s in self.seeds
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


def load_plan(path: Path | str, overrides: Sequence[str] = ()) -> BenchPlan:
    """Read a plan YAML file and apply ``key=value`` overrides."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"bench plan {path} not found")
    raw = _read_plan_file(path)
    raw = _plan_relative_roots(raw, path.resolve().parent)
    plan = BenchPlan.from_dict(raw, str(path))  # the file's own faults name the file
    ordered = _ordered(_parse_override(item) for item in overrides)
    for i, override in enumerate(ordered):  # an override's faults name the override
        applied = _apply(raw, ordered[: i + 1])
        plan = BenchPlan.from_dict(applied, f"--set {_brief(override.item)}")
    return plan


def _read_plan_file(path: Path) -> dict[str, Any]:
    """The plan file's mapping; its size, encoding and YAML checked before values are built."""
    size = path.stat().st_size
    if size > MAX_PLAN_BYTES:
        raise ConfigError(f"{path}: {size / 2**20:.1f} MiB is too large for a plan file (at most "
                          f"{MAX_PLAN_BYTES / 2**20:.0f} MiB); is it the right file?")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 "
                          "text; save the plan as UTF-8") from None
    try:
        raw = load_yaml(text, str(path)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a plan is a mapping of keys to values")
    return raw


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that checks the composed document before building any value.

    Composing is linear in the text (an alias is one shared node); building and later
    printing or copying are not, so sizes are counted on the node graph first.
    """

    source = "YAML"
    lines = True

    def construct_document(self, node: yaml.Node) -> Any:
        _expanded_size(node, self.source, self.lines, {}, set())
        return super().construct_document(node)


def load_yaml(text: str, source: str, lines: bool = True) -> Any:
    """Parse YAML (never evaluated) within the plan bounds; faults name ``source`` (and
    the line, with ``lines``)."""
    loader = _BoundedLoader(text)
    loader.source, loader.lines = source, lines
    try:
        return loader.get_single_data()
    except RecursionError:
        raise ConfigError(f"{source}: values are nested too deeply") from None
    finally:
        loader.dispose()


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _expanded_size(
    node: yaml.Node, source: str, lines: bool, sizes: dict[int, int], open_: set[int]
) -> int:
    """Values ``node`` expands to, aliases counted at each use; refuses cycles and overlong
    scalars. ``sizes`` memoises shared nodes, so the walk is linear in the text."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    where = f"{source}, line {node.start_mark.line + 1}" if lines else source
    if key in open_:
        raise ConfigError(f"{where}: an alias refers to the value that contains it; "
                          "write the value out")
    if isinstance(node, yaml.ScalarNode):
        limit = MAX_NUMBER_CHARS if node.tag in _NUMBER_TAGS else MAX_VALUE_CHARS
        if len(node.value) > limit:
            what = "a number" if node.tag in _NUMBER_TAGS else "a value"
            raise ConfigError(f"{where}: {what} of {len(node.value)} characters "
                              f"(at most {limit})")
        size = 1
    else:
        open_.add(key)
        children = (node.value if isinstance(node, yaml.SequenceNode)
                    else [part for pair in node.value for part in pair])
        size = 1
        for child in children:
            size += _expanded_size(child, source, lines, sizes, open_)
            if size > MAX_PLAN_VALUES:
                raise ConfigError(f"{where}: expands to over {MAX_PLAN_VALUES} values (each "
                                  "alias counted where it is used); write the values out")
        open_.discard(key)
    sizes[key] = size
    return size


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


@dataclass(frozen=True)
class _Override:
    """One ``dotted.key=value``: its text, canonical path and parsed value."""

    item: str
    path: tuple[str, ...]
    value: Any

    def order(self) -> tuple[int, int]:
        """Whole values before the settings inside them; renaming an entry comes last."""
        rename = len(self.path) == 3 and self.path[0] in ENTRY_LISTS and self.path[2] == "name"
        return int(rename), len(self.path)


def apply_overrides(raw: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``dotted.key=value`` applied, in any order alike."""
    return _apply(raw, _ordered(_parse_override(item) for item in overrides))


def _parse_override(item: str) -> _Override:
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {_brief(item)!r} is not key=value")
    parts = [p.strip() for p in key.strip().split(".")]
    if parts[0] in ENTRY_LISTS and len(parts) > 2 and parts[2] not in ("params", "root", "name"):
        parts.insert(2, "params")  # methods.linear.C is methods.linear.params.C
    source = f"override {key.strip()}=..."
    if len(text) > MAX_PLAN_BYTES:
        raise ConfigError(f"{source}: a value of {len(text)} characters is too long")
    try:
        value = load_yaml(text, source, lines=False) if text.strip() else ""
    except yaml.YAMLError:  # not YAML: the text itself
        value = text
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise ConfigError(f"{source}: a value of {len(value)} characters "
                          f"(at most {MAX_VALUE_CHARS})")
    return _Override(item, tuple(parts), value)


def _ordered(overrides: Iterable[_Override]) -> list[_Override]:
    """Overrides in the order they compose the same whatever the command line's order;
    two different values for one key are refused, equal ones kept once."""
    unique: dict[tuple[str, ...], _Override] = {}
    for o in overrides:
        first = unique.setdefault(o.path, o)
        if first.value != o.value and repr(first.value) != repr(o.value):
            raise ConfigError(f"overrides {_brief(first.item)!r} and {_brief(o.item)!r} "
                              f"conflict: both set {'.'.join(o.path)}; keep one")
    return sorted(unique.values(), key=_Override.order)


def _apply(raw: Mapping[str, Any], ordered: Sequence[_Override]) -> dict[str, Any]:
    out = copy.deepcopy(dict(raw))
    for o in ordered:
        try:
            _set_path(out, list(o.path), o.value, _brief(o.item))
        except ConfigError as exc:
            outer = [p for p in ordered if len(p.path) < len(o.path)
                     and o.path[: len(p.path)] == p.path]
            if not outer:
                raise
            raise ConfigError(f"{exc}, once override {_brief(outer[-1].item)!r} has replaced "
                              f"{'.'.join(outer[-1].path)}; drop one of the two") from None
    return out


def _brief(item: str, limit: int = 80) -> str:
    """An override's text for a message: a 100,000-digit value must not fill the screen."""
    return item if len(item) <= limit else item[: limit - 3] + "..."


def _set_path(node: dict[str, Any], parts: list[str], value: Any, item: str) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        node[head] = value
        return
    if head in ENTRY_LISTS:
        entries = [e if isinstance(e, dict) else {"name": e} for e in _as_list(node.get(head, []))]
        node[head] = entries
        match = [e for e in entries if str(e.get("name")) == rest[0]]
        if not match:
            from mer_bench.suggest import did_you_mean

            names = [str(e.get("name")) for e in entries]
            raise ConfigError(f"override {item!r}: no {head} entry named {rest[0]!r}"
                              f"{did_you_mean(rest[0], names)} (the plan's: {', '.join(names)})")
        entry, rest = match[0], rest[1:]
        if not rest:
            raise ConfigError(f"override {item!r}: say which setting of {head} {parts[1]!r}")
        if rest[0] not in ("params", "root", "name"):
            rest = ["params", *rest]
        _set_path(entry, rest, value, item)
        return
    child = node.setdefault(head, {})
    if not isinstance(child, dict):
        raise ConfigError(f"override {item!r}: {head!r} is not a mapping")
    _set_path(child, rest, value, item)


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
            extra = sorted(set(item) - {"name", "params", "root"})
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
            entries.append(
                Entry(str(item["name"]), dict(params), None if root is None else str(root))
            )
        else:
            raise ConfigError(f"{source}: each {key} entry is a name or a mapping with 'name'")
    return tuple(entries)


# --------------------------------------------------------------------------
# parameter types
# --------------------------------------------------------------------------
def check_param_types(owner: str, params_cls: type, values: Mapping[str, Any]) -> None:
    """Raise a one-line ConfigError for the first value that does not fit its field's type.

    ``--set C=abc`` would otherwise reach scikit-learn or torch deep inside a fit and
    fail there with a traceback; here the message names the parameter and its type.
    """
    if not dataclasses.is_dataclass(params_cls):
        return
    try:
        hints = typing.get_type_hints(params_cls)
    except Exception:  # unresolvable annotations: nothing to check against
        return
    defaults = {f.name: f.default for f in dataclasses.fields(params_cls)}
    for name, value in values.items():
        hint = hints.get(name)
        if hint is None or _fits(value, hint):
            continue
        default = defaults.get(name, dataclasses.MISSING)
        example = "" if default is dataclasses.MISSING else f" (default {default!r})"
        raise ConfigError(
            f"{owner}: parameter {name} must be {_describe(hint)}{example}, "
            f"got {value!r} ({type(value).__name__})"
        )


def _fits(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list, Sequence) or hint in (tuple, list):
        if not isinstance(value, list | tuple):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(map(_fits, value, args))
        return not args or all(_fits(v, args[0]) for v in value)
    if origin in (dict, Mapping) or hint is dict:
        return isinstance(value, dict)
    return True  # a class we do not know how to check


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (tuple, list, Sequence):
        inner = f" of {_describe(args[0])}s" if args and args[0] is not Ellipsis else ""
        return f"a list{inner}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             type(None): "null"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))
