"""A parsed evaluation protocol: parsed once, where a plan or spec is resolved, and
passed around as this object (the split code, the runner and the plan expansion
read its fields instead of matching strings).

The protocol language itself is documented in ``mer_bench.data.splits``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mer_bench.errors import ConfigError

_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Protocol:
    kind: str  # official | kfold | repeated | artist-disjoint | disjoint | transfer
    folds: int = 1  # disjoint: 0 = one fold per group value (leave one group out)
    train_fraction: float = 0.8
    val_fraction: float | None = None
    text: str = ""
    target: str = ""  # the test dataset of ``transfer:TARGET``
    group: str = ""  # the track field a disjoint protocol keeps apart (artist, genre...)
    split_name: str = ""  # ``official:NAME``: one of a dataset's named official splits

    @property
    def canonical(self) -> str:
        """The text as configs hash it and tags show it (lower case, no padding)."""
        return self.text.strip().lower()

    @property
    def is_transfer(self) -> bool:
        return self.kind == "transfer"

    @classmethod
    def parse(cls, text: str) -> Protocol:
        parts = text.strip().lower().split(":")
        kind, args = parts[0], parts[1:]
        try:
            if kind == "official" and len(args) <= 1:
                return cls("official", 1, text=text, split_name=args[0] if args else "")
            if kind == "kfold" and len(args) == 1:
                k = int(args[0])
                if k < 2:
                    raise ValueError
                return cls("kfold", k, text=text)
            if kind == "repeated" and len(args) in (2, 3):
                r, train = int(args[0]), float(args[1])
                val = float(args[2]) if len(args) == 3 else None
                test = 1.0 - train - (val or 0.0)
                if r < 1 or not 0 < train < 1 or test <= 0 or (val is not None and val <= 0):
                    raise ValueError
                return cls("repeated", r, train, val, text=text)
            if kind == "transfer" and len(args) <= 1:
                return cls("transfer", 1, text=text, target=args[0] if args else "")
            if kind == "artist-disjoint" and len(args) <= 1:
                k = int(args[0]) if args else 5
                if k < 2:
                    raise ValueError
                return cls("artist-disjoint", k, text=text, group="artist")
            if kind == "disjoint" and len(args) in (1, 2) and _FIELD.match(args[0]):
                k = int(args[1]) if len(args) == 2 else 0
                if len(args) == 2 and k < 2:
                    raise ValueError
                return cls("disjoint", k, text=text, group=args[0])
        except ValueError:
            pass
        raise ConfigError(
            f"bad protocol {text!r}; use official[:NAME], kfold:K (K>=2), repeated:R:TRAIN[:VAL] "
            "(e.g. repeated:10:0.8 or repeated:20:0.8:0.1), artist-disjoint[:K], "
            "disjoint:FIELD[:K] (e.g. disjoint:genre, one genre left out per fold) or "
            "transfer:DATASET"
        )
