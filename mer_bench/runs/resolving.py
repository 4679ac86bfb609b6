"""Resolving: a spec or plan becomes runs with defaults filled in and a config hash.

A run is identified by the hash of its resolved config (method and its
parameters, dataset and version, task, features and their parameters,
protocol, seeds). Everything later (preparing, running, tuning) reads the
``ResolvedRun`` made here; nothing parses the spec's strings again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mer_bench.config import BenchPlan, RunSpec
from mer_bench.data import DATASETS, DatasetAdapter
from mer_bench.data.splits import KFOLD_SPLIT_VERSION, REPEATED_SPLIT_VERSION
from mer_bench.errors import ConfigError
from mer_bench.features import FEATURES, FeatureExtractor
from mer_bench.methods import METHODS, Method
from mer_bench.protocol import Protocol
from mer_bench.types import Family, TaskKind, dataset_label, stable_hash

NO_FEATURES = "none"
FOLD_SEED_VERSION = "1"  # in every config hash: runs made with one seed for all splits differ
SPLIT_VERSIONS = {"kfold": KFOLD_SPLIT_VERSION, "repeated": REPEATED_SPLIT_VERSION}
NAME_DIGITS = 3  # significant digits of a float in a run name (C=0.114): short, yet distinct


@dataclass(frozen=True)
class ResolvedRun:
    """One run, resolved: its classes, parsed protocol, parameters and config hash."""

    spec: RunSpec
    config: dict[str, Any]
    config_hash: str
    method_cls: type[Method]
    params: Any
    adapter_cls: type[DatasetAdapter]
    task: TaskKind
    extractor: FeatureExtractor | None  # the features, or an audio method's front end
    variant: str
    protocol: Protocol
    music_cls: type[DatasetAdapter] | None = None  # the music side of text2music_retrieval
    music_protocol: Protocol | None = None
    smoke: bool = False
    short_variant: str = ""  # the variant with floats to 3 significant digits, for the name

    @property
    def dataset_label(self) -> str:
        return dataset_label(self.config["dataset"], self.config.get("music_dataset"))

    @property
    def name(self) -> str:
        """``method[variant]/dataset/task/features/protocol/seedN``: the variant tells apart
        the runs of one method with other parameters. Not hashed: only shown."""
        method = self.config["method"]
        parts = [
            f"{method}[{self.short_variant}]" if self.short_variant else method,
            self.dataset_label,
            self.task.value,
            self.config["features"],
            self.spec.protocol,
            f"seed{self.spec.seed}",
        ]
        return "/".join(parts)

    @property
    def transfer_target(self) -> str | None:
        """The test dataset of a cross-dataset run, None for within-dataset protocols."""
        return self.protocol.target if self.protocol.is_transfer else None

    @property
    def split_seed(self) -> int:
        """The seed that draws the run's splits: ``split_seed`` when given, else the seed."""
        return self.spec.seed if self.spec.split_seed is None else int(self.spec.split_seed)

    @property
    def spec_key(self) -> str:
        """The spec as written (``RunSpec.key``): how paper rows find this run's records."""
        return self.spec.key(self.smoke)


def _checked_params(
    method_cls: type[Method], spec: RunSpec, task: TaskKind, smoke: bool
) -> Any:
    """The method's parameters, checked with the libraries' own constraints before any run
    (unsupported method/task pairs are for ``expand`` to leave out)."""
    params = method_cls.make_params(spec.method_params, smoke=smoke)
    if method_cls.supports_task(task):
        method_cls.validate_params(params, task)
    return params


def _conditional_config(spec: RunSpec, protocol: Protocol, method: Method) -> dict[str, Any]:
    """The config keys present only when they apply (so older hashes stay as they were)."""
    config: dict[str, Any] = {}
    if protocol.kind in SPLIT_VERSIONS:
        config["split_version"] = SPLIT_VERSIONS[protocol.kind]
    # each split trains from its own initialisation, derived from (seed, split name)
    config["fold_seeds"] = FOLD_SEED_VERSION
    if spec.split_seed is not None:
        config["split_seed"] = int(spec.split_seed)
    if not method.selects_on_validation():
        config["validation"] = "merged-into-train"
    if spec.label_rule != "fixed":  # only non-default rules enter the hash
        config["label_rule"] = spec.label_rule
    if spec.precision is not None:  # e.g. bf16-mixed: other numbers, another run
        config["precision"] = spec.precision
    return config


def resolve(spec: RunSpec, smoke: bool = False) -> ResolvedRun:
    """Validate names, fill in defaults and compute the config hash."""
    method_cls = METHODS.get(spec.method)
    adapter_cls = DATASETS.get(spec.dataset)
    task = TaskKind.parse(spec.task)
    params = _checked_params(method_cls, spec, task, smoke)
    protocol = Protocol.parse(spec.protocol)
    extractor = None
    # text+audio methods may read clip features too (text2music's music_input=features)
    wants_features = method_cls.consumes in ("features", "sequences") or (
        method_cls.consumes == "text+audio" and spec.features != NO_FEATURES
    )
    if wants_features:
        extractor = FEATURES.get(spec.features)(**dict(spec.feature_params))
    config = {
        "method": method_cls.name,
        "method_version": method_cls.version,
        "method_params": dataclasses.asdict(params),
        "dataset": adapter_cls.name,
        "dataset_version": adapter_cls.version,
        "dataset_params": dict(spec.dataset_params),
        "task": task.value,
        "features": extractor.name if extractor else NO_FEATURES,
        "feature_version": extractor.version if extractor else "",
        "feature_params": extractor.params_dict() if extractor else {},
        "feature_weights": extractor.weights if extractor else "none",
        "protocol": protocol.canonical,
        "seed": spec.seed,
        "allow_missing_audio": spec.allow_missing_audio,
        "skip_invalid": spec.skip_invalid,
    }
    config.update(_conditional_config(spec, protocol, method_cls(params, spec.seed)))
    if protocol.is_transfer:
        protocol = _transfer_protocol(protocol, adapter_cls)
        config["protocol"] = protocol.canonical
        config["test_dataset_version"] = DATASETS.get(protocol.target).version
    music_cls, music_protocol = None, None
    if task.family is Family.TEXT_MUSIC_RETRIEVAL:
        if not spec.music_dataset:
            raise ConfigError(
                f"{task.value} matches a text dataset with music: add `music: [NAME]` to the "
                "plan (e.g. music: [synth])"
            )
        music_cls = DATASETS.get(spec.music_dataset)
        music_protocol = Protocol.parse(spec.music_protocol or spec.protocol)
        config.update(
            music_dataset=music_cls.name,
            music_dataset_version=music_cls.version,
            music_dataset_params=dict(spec.music_params),
            music_protocol=music_protocol.canonical,
        )
    # a method that reads audio gets its front end's arrays through the feature cache; the
    # front end follows from the method params, already hashed, so the config is unchanged
    frontend = method_cls.frontend(params)
    return ResolvedRun(
        spec,
        config,
        stable_hash(config),
        method_cls,
        params,
        adapter_cls,
        task,
        frontend or extractor,
        variant_label(method_cls, params, extractor, smoke),
        protocol,
        music_cls,
        music_protocol,
        smoke,
        variant_label(method_cls, params, extractor, smoke, digits=NAME_DIGITS),
    )


def _transfer_protocol(protocol: Protocol, adapter_cls: type[DatasetAdapter]) -> Protocol:
    """``transfer:TARGET`` with the target's registered name (aliases resolved)."""
    if not protocol.target:
        raise ConfigError(
            "transfer needs a target: transfer:DATASET (or a plan with "
            "`protocol: transfer` and two or more datasets)"
        )
    target_cls = DATASETS.get(protocol.target)
    if target_cls.name == adapter_cls.name:
        raise ConfigError(f"transfer from {adapter_cls.name} to itself: use kfold:K")
    name = target_cls.name
    return dataclasses.replace(protocol, text=f"transfer:{name}", target=name)


def variant_label(
    method_cls: type[Method],
    params: Any,
    extractor: FeatureExtractor | None,
    smoke: bool,
    digits: int | None = None,
) -> str:
    """Short text naming every non-default parameter: distinguishes leaderboard rows.

    ``digits`` rounds floats to that many significant digits (run names stay readable;
    the leaderboard's label keeps every digit).
    """
    show = str if digits is None else (lambda v: _rounded(v, digits))
    parts = ["smoke"] if smoke else []
    defaults = dataclasses.asdict(method_cls.Params())
    parts += [
        f"{k}={show(v)}"
        for k, v in dataclasses.asdict(params).items()
        if defaults.get(k) != v or k in method_cls.label_params
    ]
    if extractor is not None:
        fdefaults = dataclasses.asdict(type(extractor).Params())
        parts += [
            f"{extractor.name}.{k}={show(v)}"
            for k, v in extractor.params_dict().items()
            if fdefaults.get(k) != v
        ]
    return ",".join(parts)


def _rounded(value: Any, digits: int) -> str:
    """``value`` as text, every float in it to ``digits`` significant digits."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        inner = ", ".join(_rounded(v, digits) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return str(value)


def expand(plan: BenchPlan, smoke: bool = False) -> tuple[list[ResolvedRun], list[str]]:
    """All compatible runs of a plan, plus a note for each combination left out."""
    runs: dict[str, ResolvedRun] = {}
    notes: list[str] = []
    for spec in plan.specs():
        run = resolve(spec, smoke)
        label = f"{run.config['method']} on {run.dataset_label}/{run.task.value}"
        target = run.transfer_target
        music = run.music_cls
        if run.task not in run.adapter_cls.task_kinds:
            notes.append(f"{label}: dataset {run.config['dataset']} has no {run.task.value} labels")
        elif music is not None and (music.modality != "audio" or not music.emotion_vocabulary):
            notes.append(f"{label}: {music.name} is not a music dataset with mood tags")
        elif target is not None and run.task not in DATASETS.get(target).task_kinds:
            notes.append(f"{label}: transfer target {target} has no {run.task.value} labels")
        elif not run.method_cls.supports_task(run.task):
            notes.append(f"{label}: method does not support {run.task.value}")
        elif run.config_hash not in runs:
            runs[run.config_hash] = run
    return list(runs.values()), sorted(set(notes))
