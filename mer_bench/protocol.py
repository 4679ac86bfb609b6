"""A parsed evaluation protocol: parsed once, where a plan or spec is resolved, and
passed around as this object (the split code, the runner and the plan expansion
read its fields instead of matching strings).

The protocol language itself is documented in ``mer_bench.data.splits``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mer_bench.errors import ConfigError


@dataclass(frozen=True)
class Protocol:
    kind: str  # official | kfold | repeated | artist-disjoint | transfer
    folds: int = 1
    train_fraction: float = 0.8
    val_fraction: float | None = None
    text: str = ""
    target: str = ""  # the test dataset of ``transfer:TARGET``

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
            if kind == "official" and not args:
                return cls("official", 1, text=text)
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
                return cls("artist-disjoint", k, text=text)
        except ValueError:
            pass
        raise ConfigError(
            f"bad protocol {text!r}; use official, kfold:K (K>=2), repeated:R:TRAIN[:VAL] "
            "(e.g. repeated:10:0.8 or repeated:20:0.8:0.1), artist-disjoint[:K] or transfer:DATASET"
        )
