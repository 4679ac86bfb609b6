"""Feature cache entries are verified on every read, and audio content hashes are
remembered across processes without ever returning a stale one."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from mer_bench.data.audio import write_wav
from mer_bench.errors import FeatureError
from mer_bench.features import FEATURES
from mer_bench.features import audio_hashes as memo
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


# --- audio content hashes -------------------------------------------------------------


@pytest.fixture()
def own_memo(tmp_path, monkeypatch) -> Path:
    """A memo of this test's own; files count as settled at once (``RACY_S`` 0)."""
    monkeypatch.setenv("MER_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(memo, "RACY_S", 0.0)
    monkeypatch.setattr(memo, "_LOCAL", {})
    return tmp_path / "cache" / memo.MEMO_NAME


def _new_process(monkeypatch) -> None:
    """Forget what this process remembers, as a new process would."""
    monkeypatch.setattr(memo, "_LOCAL", {})
    monkeypatch.setattr(memo, "_CONNECTIONS", {})


def _no_reads(path) -> str:
    raise AssertionError(f"{path} was read")


def _counting(monkeypatch) -> list[str]:
    read: list[str] = []
    real = memo.sha256_file

    def spy(path):
        read.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(memo, "sha256_file", spy)
    return read


def test_a_remembered_hash_is_returned_without_reading_the_file(tmp_path, own_memo, monkeypatch):
    paths = [Path(t.audio_path) for t in _clips(tmp_path / "audio")]
    first = memo.audio_hashes(paths)
    assert first == {p: _sha(p.read_bytes()) for p in paths}
    assert own_memo.is_file()
    _new_process(monkeypatch)
    monkeypatch.setattr(memo, "sha256_file", _no_reads)
    assert memo.audio_hashes(paths) == first
    assert memo.audio_hash_of(paths[0]) == first[paths[0]]
    tracks = [Track(p.stem, p) for p in paths]
    assert FeatureCache(tmp_path / "c")._hashes([Mfcc()], tracks) == {
        t.id: first[Path(t.audio_path)] for t in tracks}


def test_a_changed_or_touched_file_is_hashed_again(tmp_path, own_memo, monkeypatch):
    a, b, c = (Path(t.audio_path) for t in _clips(tmp_path / "audio"))
    before = memo.audio_hashes([a, b, c])
    # b: new content of the same size, its old mtime put back; c: only touched
    st = b.stat()
    data = bytearray(b.read_bytes())
    data[-1] ^= 0xFF
    b.write_bytes(bytes(data))
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (b.stat().st_size, b.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    os.utime(c, ns=(c.stat().st_atime_ns, c.stat().st_mtime_ns + 1_000_000_000))
    _new_process(monkeypatch)
    read = _counting(monkeypatch)
    after = memo.audio_hashes([a, b, c])
    assert sorted(read) == ["1.wav", "2.wav"]
    assert after[a] == before[a] and after[c] == before[c]
    assert after[b] == _sha(b.read_bytes()) != before[b]


def test_a_file_changed_moments_ago_is_not_remembered(tmp_path, own_memo, monkeypatch):
    """A same-size rewrite within one timestamp tick would go unseen: such files are
    hashed again until they have settled."""
    monkeypatch.setattr(memo, "RACY_S", 3600.0)
    path = Path(_clips(tmp_path / "audio", n=1)[0].audio_path)
    memo.audio_hash_of(path)
    _new_process(monkeypatch)
    read = _counting(monkeypatch)
    memo.audio_hash_of(path)
    memo.audio_hash_of(path)
    assert read == ["0.wav", "0.wav"]


@pytest.mark.parametrize("garbage", [b"", b"not a database" * 100,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_memo_is_rebuilt(tmp_path, own_memo, monkeypatch, garbage):
    paths = [Path(t.audio_path) for t in _clips(tmp_path / "audio", n=2)]
    expected = {p: _sha(p.read_bytes()) for p in paths}
    own_memo.parent.mkdir(parents=True)
    own_memo.write_bytes(garbage)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert memo.audio_hashes(paths) == expected
    assert not [w for w in caught if "cannot be used" in str(w.message)]
    _new_process(monkeypatch)
    monkeypatch.setattr(memo, "sha256_file", _no_reads)
    assert memo.audio_hashes(paths) == expected  # the rebuilt memo serves them


def test_two_processes_filling_one_memo_at_once_both_succeed(tmp_path, own_memo):
    paths = [Path(t.audio_path) for t in _clips(tmp_path / "audio", n=40, seconds=0.05)]
    go = tmp_path / "go"
    script = textwrap.dedent(f"""
        import sys, time, warnings
        from pathlib import Path
        warnings.simplefilter("error")
        from mer_bench.features import audio_hashes as memo
        memo.RACY_S = 0.0
        paths = [Path(p) for p in sys.argv[1:]]
        while not Path({str(go)!r}).exists():
            time.sleep(0.005)
        for i in range(0, len(paths), 5):  # many small transactions, interleaved
            memo.audio_hashes(paths[i : i + 5])
        print(len(memo.audio_hashes(paths)))
    """)
    env = {**os.environ, "MER_BENCH_CACHE": str(own_memo.parent)}
    halves = [[str(p) for p in paths[:30]], [str(p) for p in paths[10:]]]
    procs = [subprocess.Popen([sys.executable, "-c", script, *half], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for half in halves]
    go.touch()
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == ["30", "30"]
    with sqlite3.connect(own_memo) as db:
        stored = dict(db.execute("SELECT path, sha256 FROM audio_hash"))
    assert stored == {str(p.resolve()): _sha(p.read_bytes()) for p in paths}
