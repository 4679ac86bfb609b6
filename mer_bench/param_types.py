"""Plan values against the types of a plug-in's ``Params`` fields.

A plan's values are YAML scalars and lists; a value of the wrong type (``C: abc``)
is refused with one line naming the field before anything runs.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mer_bench.errors import ConfigError


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
