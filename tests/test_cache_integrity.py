"""Feature cache entries are verified on every read."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest

from mer_bench.data.audio import write_wav
from mer_bench.errors import FeatureError
from mer_bench.features import FEATURES
from mer_bench.features.cache import CacheEntryWarning, FeatureCache
from mer_bench.features.mfcc import Mfcc
from mer_bench.types import Track

SR = 22050


def _clips(folder: Path, n: int = 3, seconds: float = 0.5) -> list[Track]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(SR * seconds)) / SR
    tracks = []
    for i in range(n):
        wave = 0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t) + 0.01 * rng.standard_normal(len(t))
        write_wav(folder / f"{i}.wav", wave, SR)
        tracks.append(Track(str(i), folder / f"{i}.wav"))
    return tracks


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plant(entry: Path, array: np.ndarray, *, checksum: bool) -> None:
    """Overwrite an entry with ``array`` (a valid .npy), with a matching sidecar or not."""
    np.save(entry, array, allow_pickle=False)
    if checksum:
        Path(str(entry) + ".sha256").write_text(f"{_sha(entry.read_bytes())}  {entry.name}\n")


def _truncate(entry: Path, *, checksum: bool) -> None:
    entry.write_bytes(entry.read_bytes()[:100])
    if checksum:
        Path(str(entry) + ".sha256").write_text(f"{_sha(entry.read_bytes())}  {entry.name}\n")


BAD = {  # kind: (what to plant for a [dim] extractor, the reason the warning gives)
    "huge-values-old-checksum": (lambda e, d: _plant(e, np.full(d, 1e30, np.float32),
                                                     checksum=False), "checksum"),
    "nan": (lambda e, d: _plant(e, np.full(d, np.nan, np.float32), checksum=True), "NaN"),
    "inf": (lambda e, d: _plant(e, np.full(d, np.inf, np.float32), checksum=True), "NaN or inf"),
    "short-vector": (lambda e, d: _plant(e, np.zeros(d - 1, np.float32), checksum=True),
                     "shape"),
    "sequence-not-vector": (lambda e, d: _plant(e, np.zeros((3, d), np.float32), checksum=True),
                            "shape"),
    "int-dtype": (lambda e, d: _plant(e, np.zeros(d, np.int32), checksum=True), "dtype"),
    "float16": (lambda e, d: _plant(e, np.zeros(d, np.float16), checksum=True), "dtype"),
    "truncated": (lambda e, d: _truncate(e, checksum=False), "checksum"),
    "truncated-checksummed": (lambda e, d: _truncate(e, checksum=True), "readable"),
}


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Track], dict[str, np.ndarray]]:
    """Synth clips and their mfcc arrays from a cache of their own (the reference)."""
    folder = tmp_path_factory.mktemp("integrity")
    tracks = _clips(folder / "audio")
    fresh, _ = FeatureCache(folder / "reference").features(Mfcc(), tracks, n_jobs=1)
    return tracks, fresh


def _entries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.npy"))


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_entry_is_recomputed_with_a_warning_naming_it(tmp_path, filled, kind):
    tracks, fresh = filled
    mfcc = Mfcc()
    cache = FeatureCache(tmp_path / "cache")
    cache.features(mfcc, tracks, n_jobs=1)
    entry = _entries(tmp_path / "cache")[1]
    plant, reason = BAD[kind]
    plant(entry, mfcc.dim)
    with pytest.warns(CacheEntryWarning) as caught:
        arrays, stats = cache.features(mfcc, tracks, n_jobs=1)
    assert (stats.hits, stats.computed) == (2, 1)
    for tid, array in fresh.items():
        np.testing.assert_array_equal(arrays[tid], array)
        assert arrays[tid].dtype == np.float32
    (message,) = [str(w.message) for w in caught]
    assert str(entry) in message and reason in message
    again, stats = cache.features(mfcc, tracks, n_jobs=1)  # repaired on disk
    assert (stats.hits, stats.computed) == (3, 0)


def test_a_sequence_extractor_rejects_a_vector_entry(tmp_path):
    tracks = _clips(tmp_path / "audio", n=2)
    logmel = FEATURES.get("logmel")()
    cache = FeatureCache(tmp_path / "cache")
    first, _ = cache.features(logmel, tracks, n_jobs=1)
    entry = _entries(tmp_path / "cache")[0]
    _plant(entry, np.zeros(logmel.dim, np.float32), checksum=True)
    with pytest.warns(CacheEntryWarning, match="expected \\[frames, 128\\]"):
        again, stats = cache.features(logmel, tracks, n_jobs=1)
    assert stats.computed == 1
    for tid in first:
        np.testing.assert_array_equal(first[tid], again[tid])


def test_entries_without_a_checksum_are_recomputed_with_one_warning(tmp_path, filled):
    tracks, fresh = filled
    cache = FeatureCache(tmp_path / "cache")
    cache.features(Mfcc(), tracks, n_jobs=1)
    sidecars = sorted((tmp_path / "cache").rglob("*.npy.sha256"))
    assert len(sidecars) == len(tracks)
    for sidecar in sidecars:  # as an older mer-bench left them
        sidecar.unlink()
    with pytest.warns(CacheEntryWarning) as caught:
        arrays, stats = FeatureCache(tmp_path / "cache").features(Mfcc(), tracks, n_jobs=1)
    assert stats.computed == len(tracks)
    assert len(caught) == 1 and "without a checksum" in str(caught[0].message)
    for tid, array in fresh.items():
        np.testing.assert_array_equal(arrays[tid], array)


def test_a_checksum_without_its_array_is_an_absent_entry(tmp_path, filled):
    """A writer stopped between the checksum and the array leaves no entry to trust."""
    tracks, fresh = filled
    cache = FeatureCache(tmp_path / "cache")
    cache.features(Mfcc(), tracks, n_jobs=1)
    _entries(tmp_path / "cache")[0].unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheEntryWarning)
        arrays, stats = cache.features(Mfcc(), tracks, n_jobs=1)
    assert stats.computed == 1
    for tid, array in fresh.items():
        np.testing.assert_array_equal(arrays[tid], array)


def test_an_extractor_writing_arrays_unlike_its_declaration_fails_the_call(tmp_path, filled):
    tracks, _ = filled

    class WrongDim(Mfcc):
        @property
        def dim(self) -> int:
            return 13

    with pytest.raises(FeatureError, match="fails verification: shape \\[80\\], expected \\[13\\]"):
        FeatureCache(tmp_path / "cache").features(WrongDim(), tracks, n_jobs=1)


@pytest.mark.slow  # starts worker processes (a few seconds of imports)
def test_entries_written_by_worker_processes_verify(tmp_path, filled, monkeypatch):
    monkeypatch.setattr("mer_bench.features.cache.MIN_PARALLEL", 1)
    tracks, fresh = filled
    cache = FeatureCache(tmp_path / "cache")
    cache.features(Mfcc(), tracks, n_jobs=2)
    assert len(list((tmp_path / "cache").rglob("*.npy.sha256"))) == len(tracks)
    arrays, stats = cache.features(Mfcc(), tracks, n_jobs=1)
    assert stats.hits == len(tracks)
    for tid, array in fresh.items():
        np.testing.assert_allclose(arrays[tid], array, rtol=1e-6)
