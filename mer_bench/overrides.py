"""``--set key=value`` overrides of a plan's raw YAML, composed the same in any order.

Overrides address the raw mapping by dotted path before it is parsed; entries
of the lists in ``ENTRY_LISTS`` are addressed by name (``methods.linear.C`` is
``methods.linear.params.C``), and values are parsed as YAML, never evaluated,
by the bounded loader of ``plan_yaml``. A whole value (``methods=[linear]``) is
set before the settings inside it (``methods.linear.C=0.5``), so the command
line's order does not matter; two different values for one key, or a setting
whose entry a whole value removes, are refused rather than silently dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mer_bench.errors import ConfigError
from mer_bench.plan_yaml import MAX_PLAN_BYTES, MAX_VALUE_CHARS, load_yaml

ENTRY_LISTS = ("datasets", "features", "methods", "music")


@dataclass(frozen=True)
class Override:
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
    return apply_ordered(raw, ordered_overrides(parse_override(item) for item in overrides))


def parse_override(item: str) -> Override:
    """``dotted.key=value`` parsed: canonical path, value read by the bounded loader."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {brief(item)!r} is not key=value")
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
    return Override(item, tuple(parts), value)


def ordered_overrides(overrides: Iterable[Override]) -> list[Override]:
    """Overrides in the order they compose the same whatever the command line's order;
    two different values for one key are refused, equal ones kept once."""
    unique: dict[tuple[str, ...], Override] = {}
    for o in overrides:
        first = unique.setdefault(o.path, o)
        if first.value != o.value and repr(first.value) != repr(o.value):
            raise ConfigError(f"overrides {brief(first.item)!r} and {brief(o.item)!r} "
                              f"conflict: both set {'.'.join(o.path)}; keep one")
    return sorted(unique.values(), key=Override.order)


def apply_ordered(raw: Mapping[str, Any], ordered: Sequence[Override]) -> dict[str, Any]:
    """A copy of ``raw`` with ``ordered`` (from ``ordered_overrides``) applied; a setting
    that finds nothing to change after a whole value replaced its parent says so."""
    out = copy.deepcopy(dict(raw))
    for o in ordered:
        try:
            _set_path(out, list(o.path), o.value, brief(o.item))
        except ConfigError as exc:
            outer = [p for p in ordered if len(p.path) < len(o.path)
                     and o.path[: len(p.path)] == p.path]
            if not outer:
                raise
            raise ConfigError(f"{exc}, once override {brief(outer[-1].item)!r} has replaced "
                              f"{'.'.join(outer[-1].path)}; drop one of the two") from None
    return out


def brief(item: str, limit: int = 80) -> str:
    """An override's text for a message: a 100,000-digit value must not fill the screen."""
    return item if len(item) <= limit else item[: limit - 3] + "..."


def _set_path(node: dict[str, Any], parts: list[str], value: Any, item: str) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        node[head] = value
        return
    if head in ENTRY_LISTS:
        listed = node.get(head, [])
        listed = list(listed) if isinstance(listed, list | tuple) else [listed]
        entries = [e if isinstance(e, dict) else {"name": e} for e in listed]
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
