"""Content-addressed feature cache.

An entry is one track's array, keyed by (extractor, version, params hash,
audio content hash) and stored as ``.npy`` under ``$MER_BENCH_CACHE/features``.
Writes go to a temporary file that is renamed into place while holding a
per-entry file lock, so an interrupted (even SIGKILLed) or parallel run never
leaves a half-written entry: a reader sees a complete file or none. Every read
verifies the entry (checksum, dtype, shape, finiteness: ``features.entries``); a
bad one is recomputed with a warning naming its file.

Decoding (and resampling) a clip often costs more than an extractor, so every
fill decodes each clip once for all the extractors at one sample rate that
miss it (``prefill``, ``features(also=...)``), in this process or a worker.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout
from threadpoolctl import threadpool_limits

from mer_bench.data.audio import load_audio
from mer_bench.errors import AudioError, FeatureError, MerBenchError
from mer_bench.features._pool import shutdown_pool, worker_pool
from mer_bench.features.audio_hashes import audio_hash_of, audio_hashes
from mer_bench.features.base import FeatureExtractor
from mer_bench.features.entries import (
    NO_CHECKSUM,
    checksum_path,
    is_stored,
    lock_for,
    read_entry,
    save_entry,
)
from mer_bench.paths import cache_dir
from mer_bench.types import Track

ProgressFn = Callable[[int, int], None]  # (done, total)
# one clip and the extractors (all at one sample rate) that need an entry for it
Job = tuple[Track, tuple[FeatureExtractor, ...]]
MIN_PARALLEL = 48  # fewer missing entries than this are computed in-process


@dataclass(frozen=True)
class CacheStats:
    """How a ``FeatureCache.features`` call was served (logged with the run)."""

    hits: int
    computed: int
    seconds: float


class CacheEntryWarning(UserWarning):
    """A feature cache entry failed verification and is recomputed."""


class FeatureCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or cache_dir()) / "features"
        self._told_unverified = False

    def path_for(self, extractor: FeatureExtractor, audio_hash: str) -> Path:
        return self.root / extractor.cache_namespace / audio_hash[:2] / f"{audio_hash}.npy"

    def get(self, extractor: FeatureExtractor, audio_hash: str) -> np.ndarray | None:
        """The entry's array, or None when there is none or it fails verification (then
        it is removed, with a ``CacheEntryWarning``, for the caller to recompute)."""
        path = self.path_for(extractor, audio_hash)
        array, problem = read_entry(path, extractor)
        if problem is None:
            return array
        with lock_for(path):  # a writer may be half-way through: judge once it is done
            array, problem = read_entry(path, extractor)
            if problem is None:
                return array
            path.unlink(missing_ok=True)
            checksum_path(path).unlink(missing_ok=True)
        self._warn(path, problem)
        return None

    def put(self, extractor: FeatureExtractor, audio_hash: str, array: np.ndarray) -> Path:
        path = self.path_for(extractor, audio_hash)
        save_entry(path, array)
        return path

    def _warn(self, path: Path, problem: str) -> None:
        if problem != NO_CHECKSUM:
            warnings.warn(f"feature cache entry {path}: {problem}; recomputing it",
                          CacheEntryWarning, stacklevel=3)
        elif not self._told_unverified:  # every entry of an older cache: say it once
            self._told_unverified = True
            warnings.warn(
                f"feature cache entries under {self.root} without a checksum (written by an "
                f"earlier mer-bench, or cut off mid-write; first: {path}) are recomputed",
                CacheEntryWarning, stacklevel=3)

    def _read_written(self, extractor: FeatureExtractor, audio_hash: str, track: Track
                      ) -> np.ndarray:
        """An entry this call has just computed: missing or failing verification now is
        the extractor's fault, not the disk's."""
        path = self.path_for(extractor, audio_hash)
        array, problem = read_entry(path, extractor)
        if array is None:
            raise FeatureError(
                f"{extractor.name}: the cache entry just computed for {track.id} "
                f"({path}) {'fails verification: ' + problem if problem else 'vanished'}; "
                "check the extractor's declared dim and hop_s")
        return array

    def features(
        self,
        extractor: FeatureExtractor,
        tracks: Sequence[Track],
        *,
        n_jobs: int | None = None,
        progress: ProgressFn | None = None,
        also: Sequence[FeatureExtractor] = (),
    ) -> tuple[dict[str, np.ndarray], CacheStats]:
        """Arrays for ``tracks`` (by id), computing and storing the missing ones.

        Missing entries are computed in ``n_jobs`` worker processes (default:
        all cores) for ``parallel = "process"`` extractors, in batches in this
        process otherwise. Audio that cannot be decoded raises ``AudioError``
        naming every bad file. ``also``: other extractors a later run will ask
        for on these tracks; those at the same sample rate and ``parallel`` mode
        get their missing entries for the clips computed here from the same
        decode (``prefill``).
        The stats count ``extractor``'s entries only.
        """
        start = time.perf_counter()
        hashes = self._hashes([extractor], tracks)
        result: dict[str, np.ndarray] = {}
        todo: list[Track] = []
        for t in tracks:
            array = self.get(extractor, hashes[t.id])
            if array is None:
                todo.append(t)
            else:
                result[t.id] = array
        hits = len(result)
        if progress:
            progress(hits, len(tracks))
        if todo:
            companions = _companions(extractor, also)
            jobs = [(t, (extractor, *self._missing(companions, hashes[t.id]))) for t in todo]
            self._fill(jobs, hashes, n_jobs, progress, hits, len(tracks))
            for t in todo:
                result[t.id] = self._read_written(extractor, hashes[t.id], t)
        stats = CacheStats(hits, len(todo), time.perf_counter() - start)
        return {t.id: result[t.id] for t in tracks}, stats

    def prefill(
        self,
        extractors: Sequence[FeatureExtractor],
        tracks: Sequence[Track],
        *,
        n_jobs: int | None = None,
        progress: ProgressFn | None = None,
    ) -> dict[str, int]:
        """Compute every missing entry of ``extractors`` for ``tracks``, decoding each clip
        once for all the extractors that share a sample rate and a ``parallel`` mode (not
        once per extractor): CPU extractors keep their worker processes, networks their
        in-process batches.

        Returns how many entries each extractor (by ``cache_namespace``) computed.
        """
        unique = list({e.cache_namespace: e for e in extractors}.values())
        hashes = self._hashes(unique, tracks)
        computed = dict.fromkeys((e.cache_namespace for e in unique), 0)
        for rate, mode in sorted({(e.sample_rate, e.parallel) for e in unique}):
            group = [e for e in unique if (e.sample_rate, e.parallel) == (rate, mode)]
            jobs = [(t, tuple(self._missing(group, hashes[t.id]))) for t in tracks]
            jobs = [(t, needed) for t, needed in jobs if needed]
            for _, needed in jobs:
                for e in needed:
                    computed[e.cache_namespace] += 1
            if jobs:
                self._fill(jobs, hashes, n_jobs, progress, 0, len(jobs))
        return computed

    def _hashes(
        self, extractors: Sequence[FeatureExtractor], tracks: Sequence[Track]
    ) -> dict[str, str]:
        """Audio content hash of every track; fails first on missing weights or audio."""
        for extractor in extractors:
            _ = extractor.cache_namespace  # resolves pretrained weights: fail before hashing
        for t in tracks:
            if t.audio_path is None:
                raise AudioError(f"track {t.id} has no audio file")
        paths = {t.id: Path(str(t.audio_path)) for t in tracks}
        by_path = audio_hashes(paths.values())
        return {tid: by_path[path] for tid, path in paths.items()}

    def _missing(
        self, extractors: Sequence[FeatureExtractor], audio_hash: str
    ) -> list[FeatureExtractor]:
        return [e for e in extractors if not is_stored(self.path_for(e, audio_hash))]

    def _fill(
        self,
        jobs: list[Job],
        hashes: dict[str, str],
        n_jobs: int | None,
        progress: ProgressFn | None,
        done: int,
        total: int,
    ) -> None:
        """Compute each job's entries: its clip decoded once (at the extractors' shared
        rate) and fed to all its extractors."""
        workers = n_jobs or os.cpu_count() or 1
        in_processes = all(e.parallel == "process" for _, needed in jobs for e in needed)
        # a worker pays ~3 s of imports once: not worth it for a handful of clips
        if in_processes and workers > 1 and len(jobs) >= MIN_PARALLEL:
            self._fill_in_processes(jobs, hashes, workers, progress, done, total)
        else:
            self._fill_in_batches(jobs, hashes, progress, done, total)

    def _fill_in_batches(
        self,
        jobs: list[Job],
        hashes: dict[str, str],
        progress: ProgressFn | None,
        done: int,
        total: int,
    ) -> None:
        size = max(max(1, e.batch_size) for _, needed in jobs for e in needed)
        for i in range(0, len(jobs), size):
            chunk = jobs[i : i + size]
            rate = chunk[0][1][0].sample_rate
            with threadpool_limits(1):  # decode as the workers do, whatever reads the audio
                waves = {t.id: load_audio(t.audio_path, rate)[0] for t, _ in chunk}
            by_key = {e.cache_namespace: e for _, needed in chunk for e in needed}
            for key, extractor in by_key.items():
                mine = [t for t, needed in chunk if key in {e.cache_namespace for e in needed}]
                self._extract_batches(extractor, mine, [waves[t.id] for t in mine], hashes)
            done += len(chunk)
            if progress:
                progress(done, total)

    def _extract_batches(
        self,
        extractor: FeatureExtractor,
        tracks: list[Track],
        waves: list[np.ndarray],
        hashes: dict[str, str],
    ) -> None:
        # CPU extractors run single-threaded here as in the workers, so a cache entry
        # is bit-identical whichever way it was computed
        limit = 1 if extractor.parallel == "process" else None
        size = max(1, extractor.batch_size)
        with threadpool_limits(limit):
            for i in range(0, len(tracks), size):
                batch = tracks[i : i + size]
                for t, array in zip(batch, _checked(extractor, waves[i : i + size], batch)):
                    self.put(extractor, hashes[t.id], array)

    def _remove_partial_writes(self, jobs: list[Job], hashes: dict[str, str]) -> None:
        """Delete temp files that stopped workers left, for entries no one is writing now."""
        for t, needed in jobs:
            for extractor in needed:
                path = self.path_for(extractor, hashes[t.id])
                leftovers = list(path.parent.glob(f".{path.stem}.*.tmp"))
                if not leftovers:
                    continue
                try:
                    with FileLock(str(path) + ".lock", timeout=0):
                        for tmp in leftovers:
                            tmp.unlink(missing_ok=True)
                except Timeout:  # another process is writing this entry: its file, not ours
                    continue

    def _fill_in_processes(
        self,
        jobs: list[Job],
        hashes: dict[str, str],
        workers: int,
        progress: ProgressFn | None,
        done: int,
        total: int,
    ) -> None:
        errors: list[str] = []
        pool = worker_pool(workers)
        pending: set[Future[str | None]] = {
            pool.submit(
                _extract_many,
                [(type(e), e.params, str(self.path_for(e, hashes[t.id]))) for e in needed],
                str(t.audio_path),
            )
            for t, needed in jobs
        }
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    if (err := fut.result()) is not None:
                        errors.append(err)
                done += len(finished)
                if progress:
                    progress(done, total)
        except BaseException:
            # Ctrl-C (or any failure): stop now, not after the queue. Entries already
            # written stay; a clip cut off mid-write leaves no entry (atomic rename)
            shutdown_pool(cancel=True)
            self._remove_partial_writes(jobs, hashes)
            raise
        if errors:
            listing = "\n  ".join(errors)
            raise AudioError(
                f"{len(errors)} audio file(s) could not be processed:\n  {listing}\n"
                "Run `mer-bench data check` on the dataset; fix or exclude these files."
            )


def _companions(
    extractor: FeatureExtractor, others: Sequence[FeatureExtractor]
) -> list[FeatureExtractor]:
    """The ``others`` that can share ``extractor``'s decode: same sample rate and
    ``parallel`` mode (each keeps its way of running), another entry, and weights at
    hand (a missing file is for their own run to report)."""
    chosen: dict[str, FeatureExtractor] = {}
    for other in others:
        if (other.sample_rate, other.parallel) != (extractor.sample_rate, extractor.parallel):
            continue
        try:
            key = other.cache_namespace
        except MerBenchError:
            continue
        if key != extractor.cache_namespace:
            chosen.setdefault(key, other)
    return list(chosen.values())


def _checked(extractor: FeatureExtractor, waves: list[np.ndarray], tracks: list[Track]) -> list:
    arrays = extractor.extract(waves)
    for t, array in zip(tracks, arrays):
        if not np.all(np.isfinite(array)):
            raise FeatureError(f"{extractor.name} produced NaN/inf for {t.audio_path}")
    return arrays


def _extract_many(
    extractors: list[tuple[type[FeatureExtractor], object, str]], audio_path: str
) -> str | None:
    """Worker: decode a clip once, run each (class, params, output path) on it and write
    each array atomically. The extractors share one sample rate. Returns an error text
    or None."""
    built = [(cls(params), out) for cls, params, out in extractors]
    try:
        wave, _ = load_audio(audio_path, built[0][0].sample_rate)
    except AudioError as exc:
        return str(exc)
    for extractor, out in built:
        array = extractor.extract([wave])[0]
        if not np.all(np.isfinite(array)):
            return f"{extractor.name} produced NaN/inf for {audio_path}"
        save_entry(Path(out), array)
    return None


__all__ = ["CacheEntryWarning", "CacheStats", "FeatureCache", "audio_hash_of", "audio_hashes"]
