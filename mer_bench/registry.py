"""A tiny name -> class registry used by every plug-in family.

Plug-ins register themselves with a decorator in their own module, so adding
a dataset, feature extractor or method never touches a central list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from mer_bench.errors import UnknownNameError
from mer_bench.suggest import unknown

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names (and aliases) to registered objects of one family."""

    def __init__(self, family: str, *, named: bool = False) -> None:
        """``named``: every plug-in of the family declares a ``name`` attribute (datasets,
        extractors, methods), which must then equal the name it is registered under."""
        self.family = family
        self.named = named
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *, aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name`` (and optional aliases)."""

        def decorator(obj: T) -> T:
            self._check_name(name, obj)
            for key in (name, *aliases):
                if key in self._items or key in self._aliases:
                    raise ValueError(f"{self.family} {key!r} is registered twice")
            self._items[name] = obj
            for alias in aliases:
                self._aliases[alias] = name
            return obj

        return decorator

    def _check_name(self, name: str, obj: T) -> None:
        """The plug-in's own ``name`` must be the registered one.

        The name is written twice (decorator and class constant) and both are
        used: the registry looks plug-ins up by the first, run tags, cache keys
        and error messages print the second. A copy-pasted module that changed
        only one of them would file results under another plug-in's name.
        """
        declared = getattr(obj, "name", None)
        if declared is None and not self.named:
            return
        label = getattr(obj, "__qualname__", repr(obj))
        if declared is None:
            raise ValueError(
                f"{self.family} {label} registered as {name!r} declares no `name`; "
                f"add `name = {name!r}` to the class"
            )
        if declared != name:
            raise ValueError(
                f"{self.family} {label} is registered as {name!r} but its `name` is "
                f"{declared!r}; the two must be equal (change one of them)"
            )

    def canonical(self, name: str) -> str:
        """Resolve an alias to the registered name; raise a helpful error if unknown."""
        key = name.strip()
        if key not in self and key.lower() in self:
            key = key.lower()
        if key in self._items:
            return key
        if key in self._aliases:
            return self._aliases[key]
        raise UnknownNameError(unknown(self.family, name, self._items, self._aliases))

    def get(self, name: str) -> T:
        return self._items[self.canonical(name)]

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._aliases

    def __len__(self) -> int:
        return len(self._items)
