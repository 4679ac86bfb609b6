"""Fitted fold models of a sweep: in memory for the process, pickled on disk for the next.

A pickle runs code when it is loaded, so the disk part loads only files this
sweep wrote: each file's SHA-256 goes into a ledger (the study's storage, see
``StudyLedger``) when it is written, and a file whose bytes do not match the
ledger, or that the ledger does not know, is never unpickled: the fold is
refitted and a warning says why. Files are named by their key and digest, so
two workers that write one key at once never leave a name whose bytes
disagree with the ledger.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mer_bench.atomic import atomic_file
from mer_bench.paths import cache_dir
from mer_bench.types import Split, stable_hash

LEDGER_PREFIX = "fit_sha256:"


class Ledger(Protocol):
    """Where each written pickle's SHA-256 is recorded (a dict will do in memory)."""

    def get(self, key: str) -> str | None: ...

    def __setitem__(self, key: str, digest: str) -> None: ...


class StudyLedger:
    """Digests kept as user attributes of the Optuna study (``fit_sha256:<key>``): they live
    in the study's storage, beside its trials, and every worker of the study sees them."""

    def __init__(self, study: Any) -> None:
        self.study = study

    def get(self, key: str) -> str | None:
        value = self.study.user_attrs.get(LEDGER_PREFIX + key)
        return value if isinstance(value, str) else None

    def __setitem__(self, key: str, digest: str) -> None:
        self.study.set_user_attr(LEDGER_PREFIX + key, digest)


def cache_folder(storage: str, study_name: str) -> Path:
    """``$MER_BENCH_CACHE/sweeps/<hash>``: one folder per study and storage (a sqlite path
    made absolute), named by a hash so that no study name can point it elsewhere."""
    if storage.startswith("sqlite:///") and storage != "sqlite:///:memory:":
        storage = "sqlite:///" + str(Path(storage.removeprefix("sqlite:///")).expanduser()
                                     .resolve())
    return cache_dir() / "sweeps" / stable_hash({"storage": storage, "study": study_name}, 16)


def fit_key(train_key: str, fingerprint: str, split: Split) -> str:
    """What a fitted fold model depends on: the training config, the data it was fitted on
    (the prepared data's fingerprint) and the fold (its ids: train, val for early stopping,
    and the train order)."""
    return stable_hash(
        {
            "config": train_key,
            "data": fingerprint,
            "fold": split.name,
            "split": split.hash,
            "train_order": list(split.train),
        },
        32,
    )


@dataclass
class FitCache:
    """Fitted methods by ``fit_key``: memory first, then verified pickles in ``folder``."""

    folder: Path
    ledger: Ledger = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any | None:
        if key in self.memory:
            return self.memory[key]
        digest = self.ledger.get(key)
        if digest is None:
            self._refuse(self._unrecorded(key), "no SHA-256 is recorded for it in the study")
            return None
        path = self._path(key, digest)
        try:
            data = path.read_bytes()
        except OSError:
            return None  # recorded by a worker whose cache folder is elsewhere: refit
        if hashlib.sha256(data).hexdigest() != digest:
            self._refuse([path], "its SHA-256 differs from the one recorded when it was written")
            return None
        try:
            self.memory[key] = pickle.loads(data)
        except Exception as exc:  # written by another version of a method: refit
            warnings.warn(f"sweep cache: cannot load {path} ({type(exc).__name__}: {exc}); "
                          "refitting the fold", stacklevel=2)
            return None
        return self.memory[key]

    def put(self, key: str, method: Any) -> None:
        self.memory[key] = method
        try:
            data = pickle.dumps(method, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # not picklable: in-memory re-use only, and say so
            warnings.warn(
                f"method {getattr(method, 'name', type(method).__name__)!r} cannot be pickled "
                f"({type(exc).__name__}: {exc}); a resumed sweep will refit it. Every method "
                "must pickle (see Method's docstring and tests/test_contracts.py)",
                stacklevel=2,
            )
            return
        digest = hashlib.sha256(data).hexdigest()
        with atomic_file(self._path(key, digest)) as fh:
            fh.write(data)
        self.ledger[key] = digest  # after the file: a crash in between leaves it unrecorded

    def _path(self, key: str, digest: str) -> Path:
        return self.folder / f"{key}.{digest[:16]}.pkl"

    def _unrecorded(self, key: str) -> list[Path]:
        return sorted(self.folder.glob(f"{key}.*.pkl")) if self.folder.is_dir() else []

    @staticmethod
    def _refuse(paths: Sequence[Path], why: str) -> None:
        for path in paths:
            warnings.warn(f"sweep cache: not loading {path}: {why}; refitting the fold "
                          "(delete the file if you did not put it there)", stacklevel=3)
