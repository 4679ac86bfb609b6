"""The embedded synthetic dataset: generation, caching, labels, validation, learnability."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mer_bench.data import DATASETS, synth_plan
from mer_bench.data import synthetic as synth
from mer_bench.data.synthetic import SYNTH_MOODS, SynthDataset, SynthSmallDataset
from mer_bench.errors import DatasetError
from mer_bench.tasks import (
    BINARY_AROUSAL,
    BINARY_VALENCE,
    DYNAMIC_VA,
    M2E_E2M_RETRIEVAL,
    QUADRANT,
    STATIC_VA,
    TEXT2MUSIC_RETRIEVAL,
)
from mer_bench.types import Task, quadrant_of

TINY = {"n_clips": 6, "duration_s": 1.0, "sample_rate": 8000, "n_artists": 3}


@pytest.fixture(scope="session")
def small() -> SynthSmallDataset:
    """synth-small generated once per session in the isolated cache."""
    return SynthSmallDataset()


def _wav_bytes(ds: synth.SyntheticDataset) -> dict[str, bytes]:
    return {t.id: Path(t.audio_path).read_bytes() for t in ds.tracks()}


def _labels(ds: synth.SyntheticDataset) -> list[tuple]:
    return [(t.id, t.static_va, t.dynamic_va.tolist(), t.tags, dict(t.meta)) for t in ds.tracks()]


# --- registration and constants ----------------------------------------------
def test_registered_with_constants() -> None:
    assert DATASETS.get("synth") is SynthDataset
    assert DATASETS.get("synth-small") is SynthSmallDataset
    assert (SynthDataset.n_clips, SynthDataset.duration_s, SynthDataset.sample_rate) == (
        320,
        10.0,
        22050,
    )
    assert (SynthSmallDataset.n_clips, SynthSmallDataset.duration_s) == (48, 3.0)
    assert SynthSmallDataset.sample_rate == 16000
    assert SynthDataset.n_artists == 16 and SynthSmallDataset.n_artists == 8
    for cls in (SynthDataset, SynthSmallDataset):
        assert cls.license == "generated; public domain"
        assert cls.download_info == "generated automatically; nothing to download"
        assert cls.citation and cls.homepage and cls.label_scales and cls.version
        assert cls.task_kinds == {
            SYNTH_MOODS,
            TEXT2MUSIC_RETRIEVAL,
            QUADRANT,
            BINARY_VALENCE,
            BINARY_AROUSAL,
            STATIC_VA,
            DYNAMIC_VA,
            M2E_E2M_RETRIEVAL,
        }


def test_default_root_is_in_the_cache(small: SynthSmallDataset) -> None:
    cache = Path(os.environ["MER_BENCH_CACHE"])
    expected = cache / "datasets" / f"synth-small-v{SynthSmallDataset.version}-seed0"
    assert small.root == expected
    assert SynthSmallDataset.default_root() == expected
    assert (expected / "manifest.json").is_file()
    assert SynthDataset.default_root(seed=3).name == f"synth-v{SynthDataset.version}-seed3"
    # a non-standard size never shares the standard folder
    assert SynthSmallDataset.default_root(config=SynthSmallDataset.make_config(n_clips=5)) != (
        expected
    )


# --- tracks and labels -------------------------------------------------------------
def test_tracks_fields(small: SynthSmallDataset) -> None:
    tracks = small.tracks()
    assert len(tracks) == 48 and len({t.id for t in tracks}) == 48
    for t in tracks:
        assert t.duration_s == 3.0 and t.sample_rate == 16000
        assert t.quadrant is None and t.effective_quadrant() == quadrant_of(*t.static_va)
        assert t.dynamic_va.shape == (6, 2)  # 2 Hz x 3 s
        assert t.dynamic_rate_hz == 2.0 and t.dynamic_start_s == 0.0
        assert all(-1.0 <= v <= 1.0 for v in t.static_va)
        assert np.abs(t.dynamic_va).max() <= 1.0
        assert len(t.tags) == 1
        assert t.tags[0] in synth_plan.MOOD_TAGS[t.effective_quadrant()]
        assert t.meta["official_split"] in ("train", "val", "test")
        assert t.artist is not None
    assert len({t.artist for t in tracks}) == 8
    for kind in small.task_kinds:
        assert all(Task("synth-small", kind).has_label(t) for t in tracks), kind
    wave = small.load_audio(tracks[0])
    assert wave.dtype == np.float32 and wave.shape == (48000,)
    assert 0.01 < np.abs(wave).max() < 1.0


def test_labels_follow_the_known_formulas(small: SynthSmallDataset) -> None:
    """Static = mean of the noiseless curve + small noise; dynamic follows the envelopes."""
    times = synth_plan.frame_times(small.config)
    loud_dev, arousal_dev = [], []
    for plan, track in zip(small.plans(), small.tracks(), strict=True):
        assert plan.id == track.id
        clean = synth_plan.valence_arousal(plan, times)
        assert np.abs(track.dynamic_va - clean).max() < 0.2
        assert np.abs(np.asarray(track.static_va) - clean.mean(axis=0)).max() < 0.25
        loud = synth_plan.drift_curve(plan.loudness, plan.loudness_drift, times)
        loud_dev.extend(loud - loud.mean())
        arousal_dev.extend(clean[:, 1] - clean[:, 1].mean())
    # arousal drifts within each clip together with the loudness envelope
    assert np.std(arousal_dev) > 0.02
    assert np.corrcoef(loud_dev, arousal_dev)[0, 1] > 0.7


def test_quadrants_are_balanced(small: SynthSmallDataset) -> None:
    counts = Counter(t.effective_quadrant() for t in small.tracks())
    assert set(counts) == {1, 2, 3, 4}
    assert all(6 <= c <= 18 for c in counts.values()), counts
    # the full benchmark too (labels are planned without rendering audio)
    _, plans = synth_plan.plan_dataset(SynthDataset.make_config())
    big = Counter(quadrant_of(*p.static_va) for p in plans)
    assert all(0.18 * 320 <= big[q] <= 0.32 * 320 for q in (1, 2, 3, 4)), big
    assert len({p.artist for p in plans}) == 16


# --- splits ------------------------------------------------------------------------
def test_official_split(small: SynthSmallDataset) -> None:
    (split,) = small.splits("official", 0)
    assert (len(split.train), len(split.val), len(split.test)) == (33, 5, 10)
    everything = set(split.train) | set(split.val) | set(split.test)
    assert len(everything) == 48
    assert small.official_split() == split


def test_artist_disjoint_splits(small: SynthSmallDataset) -> None:
    task = Task("synth-small", QUADRANT)
    folds = small.splits("artist-disjoint", 0, task)
    assert len(folds) == 5
    artist = {t.id: t.artist for t in small.tracks()}
    for fold in folds:
        train = {artist[i] for i in fold.train}
        assert train.isdisjoint(artist[i] for i in fold.test)
        assert train.isdisjoint(artist[i] for i in fold.val)
    assert sorted(i for f in folds for i in f.test) == sorted(artist)


# --- determinism, caching, resume ----------------------------------------------------
def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = SynthSmallDataset(tmp_path / "a", seed=0, **TINY)
    b = SynthSmallDataset(tmp_path / "b", seed=0, **TINY)
    c = SynthSmallDataset(tmp_path / "c", seed=1, **TINY)
    assert _wav_bytes(a) == _wav_bytes(b)
    assert _labels(a) == _labels(b)
    wav_a, wav_c = _wav_bytes(a), _wav_bytes(c)
    assert all(wav_a[k] != wav_c[k] for k in wav_a)
    assert [t.static_va for t in a.tracks()] != [t.static_va for t in c.tracks()]
    assert Path(a.tracks()[0].audio_path).read_bytes()[:4] == b"RIFF"


def test_existing_dataset_is_read_not_regenerated(
    small: SynthSmallDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("generated again")

    monkeypatch.setattr(synth, "generate", fail)
    again = SynthSmallDataset()
    assert _labels(again) == _labels(small)
    assert again.ensure_generated() is False


def test_interrupted_generation_is_redone(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    first = SynthSmallDataset(root, **TINY)
    original = _wav_bytes(first)
    manifest = (root / "manifest.json").read_bytes()
    # simulate a crash: manifest never written, one WAV half written, a temp file left
    (root / "manifest.json").unlink()
    victim = root / "audio" / "clip_0002.wav"
    victim.write_bytes(original["clip_0002"][:1000])
    (root / "audio" / ".clip_0003.wav.tmp").write_bytes(b"partial")
    again = SynthSmallDataset(root, **TINY)
    assert _wav_bytes(again) == original
    assert (root / "manifest.json").read_bytes() == manifest
    assert not list((root / "audio").glob(".*.tmp"))
    assert again.validate().ok()


def test_stale_version_is_regenerated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ds"
    SynthSmallDataset(root, **TINY)
    data = json.loads((root / "manifest.json").read_text())
    data["version"] = "0"
    (root / "manifest.json").write_text(json.dumps(data))
    calls = []
    real = synth.generate
    monkeypatch.setattr(synth, "generate", lambda *a, **k: calls.append(1) or real(*a, **k))
    SynthSmallDataset(root, **TINY)
    assert calls == [1]
    assert (
        json.loads((root / "manifest.json").read_text())["version"]
        == synth.SyntheticDataset.version
    )


def test_refuses_foreign_or_corrupt_folders(tmp_path: Path) -> None:
    foreign = tmp_path / "real-data"
    foreign.mkdir()
    (foreign / "annotations.csv").write_text("id,valence\n")
    with pytest.raises(DatasetError, match="not a generated"):
        SynthSmallDataset(foreign, **TINY)
    assert sorted(p.name for p in foreign.iterdir() if not p.name.startswith(".")) == [
        "annotations.csv"
    ]
    malformed = tmp_path / "malformed"
    SynthSmallDataset(malformed, **TINY)
    data = json.loads((malformed / "manifest.json").read_text())
    del data["tracks"][0]["static_va"]
    (malformed / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="malformed"):
        SynthSmallDataset(malformed, **TINY).tracks()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="manifest.json"):
        SynthSmallDataset(broken, **TINY)


# --- validation ----------------------------------------------------------------------
def test_validate_clean(small: SynthSmallDataset) -> None:
    report = small.validate(deep=True)
    assert report.ok(), report.render()
    assert not report.problems, report.render()
    assert report.summary["audio files present"] == "48 of 48"


def test_validate_reports_corrupted_and_short_audio(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    ds = SynthSmallDataset(root, **TINY)
    garbage = root / "audio" / "clip_0001.wav"
    size = garbage.stat().st_size
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())
    short = root / "audio" / "clip_0004.wav"
    short.write_bytes(short.read_bytes()[: size // 2])
    # the manifest still matches, so reopening reads the damaged files instead of regenerating
    ds = SynthSmallDataset(root, **TINY)
    report = ds.validate()
    unreadable = [p for p in report.errors() if p.code == "unreadable_audio"]
    assert [p.track_id for p in unreadable] == ["clip_0001"]
    assert "clip_0001.wav" in unreadable[0].message and unreadable[0].path == str(garbage)
    assert "clip_0004" in {p.track_id for p in report.errors() if p.code != "unreadable_audio"}
    assert report.track_ids_with(["unreadable_audio", "short_audio"]) == {
        "clip_0001",
        "clip_0004",
    }


def test_deep_validate_flags_edited_audio(tmp_path: Path) -> None:
    from mer_bench.data.audio import write_wav

    ds = SynthSmallDataset(tmp_path / "ds", **TINY)
    track = ds.tracks()[0]
    write_wav(Path(track.audio_path), 0.1 * ds.load_audio(track)[::-1].copy(), 8000)
    assert ds.validate().ok() and not ds.validate().problems
    codes = [(p.code, p.track_id) for p in ds.validate(deep=True).problems]
    assert codes == [("modified_audio", track.id)]


# --- learnability --------------------------------------------------------------------
_MAJOR = np.eye(12)[0] + np.eye(12)[4] + np.eye(12)[7]
_MINOR = np.eye(12)[0] + np.eye(12)[3] + np.eye(12)[7]
_TEMPLATES_MAJOR = np.stack([np.roll(_MAJOR, k) for k in range(12)])
_TEMPLATES_MINOR = np.stack([np.roll(_MINOR, k) for k in range(12)])


def _clip_features(y: np.ndarray, sr: int) -> list[float]:
    """Simple hand-crafted descriptors: loudness, brightness, rhythm, major-minor contrast."""
    import librosa

    spec = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    db = 20 * np.log10(librosa.feature.rms(S=spec)[0] + 1e-5)
    centroid = np.log(librosa.feature.spectral_centroid(S=spec, sr=sr)[0] + 1.0)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=spec**2, sr=sr))
    onset = librosa.onset.onset_strength(S=mel, sr=sr)
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=sr))[0])
    chroma = librosa.feature.chroma_stft(S=spec**2, sr=sr, tuning=0.0)
    chroma = chroma / (chroma.sum(axis=0, keepdims=True) + 1e-9)
    contrast = (_TEMPLATES_MAJOR @ chroma).max(0) - (_TEMPLATES_MINOR @ chroma).max(0)
    return [
        db.mean(),
        db.std(),
        centroid.mean(),
        centroid.std(),
        onset.mean(),
        onset.std(),
        np.log(tempo + 1.0),
        contrast.mean(),
    ]


@pytest.fixture(scope="session")
def feature_table(small: SynthSmallDataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tracks = small.tracks()
    x = np.array([_clip_features(small.load_audio(t), t.sample_rate) for t in tracks])
    y = np.array([t.static_va for t in tracks])
    quadrant_task = Task("synth-small", QUADRANT)
    q = np.array([quadrant_task.target(t) for t in tracks])
    return x, y, q


def test_simple_features_predict_valence_and_arousal(feature_table) -> None:
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, _ = feature_table
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    cv = KFold(5, shuffle=True, random_state=0)
    for axis, name in enumerate(("valence", "arousal")):
        pred = cross_val_predict(model, x, y[:, axis], cv=cv)
        score = r2_score(y[:, axis], pred)
        assert score > 0.5, f"{name} R2 {score:.3f}"


def test_simple_features_beat_majority_on_quadrants(feature_table) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, _, q = feature_table
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pred = cross_val_predict(model, x, q, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    accuracy = float(np.mean(pred == q))
    majority = np.bincount(q).max() / len(q)
    assert accuracy > majority + 0.3, (accuracy, majority)
