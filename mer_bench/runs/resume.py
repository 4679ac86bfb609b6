"""Finished folds survive an interrupted run: a resumed run fits only the folds it lacks.

When a fold finishes, its result (metrics, prediction, sizes, the tags its method
chose) is pickled under ``$MER_BENCH_CACHE/folds/<config hash>/<data fingerprint>/``
and its fold run records the file's SHA-256 (tag ``fold_result``). When the run is
claimed again after an interruption (a killed bench, a failed fold, a lost node),
the earlier attempt's FINISHED fold runs of the same config and data name the
results to keep; each is read back only if its checksum matches the one its fold
run recorded (the tracker is the ledger, as a sweep's study is for fitted models),
logged again as a fold run of the new attempt (tag ``resumed_from``), and not
fitted again. The earlier attempt is then deleted as before, so no fold is counted
twice. Anything missing or damaged is simply fitted again.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_bench.atomic import atomic_file
from mer_bench.paths import cache_dir
from mer_bench.runs.folds import FoldResult
from mer_bench.runs.preparing import fold_data, truth
from mer_bench.tracking.base import FINGERPRINT_TAG, FINISHED, FOLD, Tracker

if TYPE_CHECKING:  # pragma: no cover
    from mer_bench.runs.executors import FoldJob

RESULT_TAG = "fold_result"  # the SHA-256 of a fold's stored result
RESUMED_TAG = "resumed_from"  # the fold run of the earlier attempt a result comes from


@dataclass(frozen=True)
class StoredFold:
    """What a fold run needs to be logged again without fitting."""

    metrics: dict[str, float]
    prediction: Any
    sizes: str
    tags: dict[str, str]


@dataclass(frozen=True)
class Resumable:
    """A finished fold of an earlier attempt: its fold run and its result's checksum."""

    run_id: str
    digest: str


class FoldResults:
    """Fold results on disk, keyed by config hash, data fingerprint and split hash."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or cache_dir()) / "folds"

    def _path(self, config_hash: str, fingerprint: str, split_hash: str, digest: str) -> Path:
        return self.root / config_hash / fingerprint[:32] / f"{split_hash}.{digest[:16]}.pkl"

    def put(self, config_hash: str, fingerprint: str, split_hash: str, fold: StoredFold
            ) -> str | None:
        """Store one fold's result; its SHA-256 (None when it cannot be pickled)."""
        try:
            data = pickle.dumps(fold, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a prediction that does not pickle: the fold is refitted on resume
            return None
        digest = hashlib.sha256(data).hexdigest()
        try:
            with atomic_file(self._path(config_hash, fingerprint, split_hash, digest)) as fh:
                fh.write(data)
        except OSError as exc:  # a full or read-only cache: resuming refits, nothing worse
            warnings.warn(f"cannot keep the fold's result for resuming ({exc})", stacklevel=2)
            return None
        return digest

    def discard(self, config_hash: str, fingerprint: str) -> None:
        """Forget a run's fold results once the run is FINISHED (nothing to resume)."""
        import shutil

        shutil.rmtree(self.root / config_hash / fingerprint[:32], ignore_errors=True)

    def get(self, config_hash: str, fingerprint: str, split_hash: str, digest: str
            ) -> StoredFold | None:
        """The stored result if its bytes still have ``digest``; None otherwise."""
        path = self._path(config_hash, fingerprint, split_hash, digest)
        try:
            data = path.read_bytes()
        except OSError:
            return None  # kept on another machine's cache, or cleaned: fit it again
        if hashlib.sha256(data).hexdigest() != digest:
            warnings.warn(f"not resuming from {path}: its SHA-256 differs from the one its "
                          "fold run recorded; fitting the fold again", stacklevel=2)
            return None
        try:
            fold = pickle.loads(data)
        except Exception:  # written by another version of the code: fit it again
            return None
        return fold if isinstance(fold, StoredFold) else None


def finished_folds(tracker: Tracker, config_hash: str, fingerprint: str
                   ) -> dict[str, Resumable]:
    """``{split hash: Resumable}``: the FINISHED fold runs, with a stored result, of this
    config on this data. Called when no finished run of both exists and no live worker
    holds one, so they belong to unfinished earlier attempts about to be deleted."""
    found: dict[str, Resumable] = {}
    folds = tracker.find_tagged({"kind": FOLD, "config_hash": config_hash,
                                 FINGERPRINT_TAG: fingerprint})
    for fold in folds:
        tags = fold.tags
        if fold.status == FINISHED and tags.get(RESULT_TAG) and tags.get("fold_split_hash"):
            found[tags["fold_split_hash"]] = Resumable(fold.run_id, tags[RESULT_TAG])
    return found


TagSetter = Callable[[str, Mapping[str, str]], None]


def kept_folds(results: FoldResults, resumable: Mapping[str, Resumable], job: FoldJob,
               record_tags: TagSetter, tag: TagSetter) -> list[tuple[str, FoldResult]]:
    """The folds an earlier attempt finished, read back and logged as fold runs of this
    attempt (``job.open_fold``), in split order; ``job.splits`` keeps the others, which
    are fitted (as is a fold whose stored result is gone)."""
    run, prep = job.run, job.prep
    kept = []
    for index, split in enumerate(prep.splits):
        found = resumable.get(split.hash)
        stored = found and results.get(run.config_hash, prep.fingerprint, split.hash,
                                       found.digest)
        if not stored:
            continue
        run_id = job.open_fold(split)
        record_tags(run_id, stored.tags)
        tag(run_id, {RESUMED_TAG: found.run_id, RESULT_TAG: found.digest})
        parts = fold_data(run, prep, split)
        kept.append((run_id, FoldResult(index, split, parts, truth(parts["test"]),
                                        stored.prediction, stored.metrics, stored.sizes)))
    done = {fold.split.name for _, fold in kept}
    job.splits = [split for split in prep.splits if split.name not in done]
    return kept


def keep_fold(results: FoldResults, job: FoldJob, fold_run: str, fold: FoldResult,
              fit_tags: Mapping[str, str], tag: TagSetter) -> None:
    """Store a fitted fold's result so that a resumed run need not fit it again."""
    stored = StoredFold(dict(fold.metrics), fold.prediction, fold.sizes, dict(fit_tags))
    digest = results.put(job.run.config_hash, job.prep.fingerprint, fold.split.hash, stored)
    if digest is not None:
        tag(fold_run, {RESULT_TAG: digest})
