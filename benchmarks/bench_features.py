"""Feature extraction cost against the two floors it cannot beat by much.

For each extractor (``mfcc``, ``logmel`` and ``vggish`` with seeded random
weights, its ``smoke_params``) and the same N clips:

* the decode floor: ``data.audio.load_audio`` of the clips at the extractor's
  sample rate (MP3 decoding and resampling; every pipeline pays it);
* the plain-library reference: librosa's MFCC + delta statistics and
  melspectrogram + ``power_to_db`` written out directly, and for VGGish
  torchvggish's ``waveform_to_examples`` and ``VGG`` (same weights) one clip at
  a time, as its README shows.

Rows are ``extract / decode`` and ``extract / library`` times, plus, for
``mfcc`` and ``logmel`` together, filling the feature cache with one decode
per clip for both (``FeatureCache.features(..., also=...)``) against filling
it once per extractor (two decodes per clip). The clips are
N clips spread over the quadrants of the real 4Q subset under
``$MER_BENCH_SHARED_DATA`` (default ``../shared/data``), or synthetic clips
when that is absent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import Row, interleaved
from mer_bench.data.audio import load_audio
from mer_bench.features import FEATURES

# as the tests: $MER_BENCH_SHARED_DATA, else ../shared/data beside the checkout
SHARED_DATA = Path(os.environ.get("MER_BENCH_SHARED_DATA")
                   or Path(__file__).resolve().parents[2] / "shared" / "data")
SECTION = "features"


def clip_paths(n: int, tmp: Path, synthetic_s: float | None = None
               ) -> tuple[list[Path], str]:
    """N clip files and where they come from: the 4Q subset, else (or when ``synthetic_s``
    is given, as in the smoke test) synthetic WAVs of that many seconds (default 30)."""
    found = sorted((SHARED_DATA / "4q" / "MER_audio_taffc_dataset").glob("Q*/MT*.mp3"))
    if synthetic_s is None and len(found) >= n:
        step = len(found) // n  # spread over the four quadrants
        return found[::step][:n], f"4Q MP3 clips ({SHARED_DATA / '4q'})"
    from mer_bench.data.synthetic import SynthConfig, generate

    seconds = synthetic_s or 30.0
    config = SynthConfig(n_clips=n, duration_s=seconds, sample_rate=22050, n_artists=2)
    generate(tmp / "synth", config, version="bench", name="bench", workers=1)
    return sorted((tmp / "synth").rglob("*.wav"))[:n], f"synthetic {seconds:g} s WAV clips"


def _librosa_mfcc(waves: list[np.ndarray], sr: int) -> list[np.ndarray]:
    import librosa

    out = []
    for w in waves:
        m = librosa.feature.mfcc(y=w, sr=sr, n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128)
        d = librosa.feature.delta(m, width=9)
        out.append(np.concatenate([m.mean(1), m.std(1), d.mean(1), d.std(1)]))
    return out


def _librosa_logmel(waves: list[np.ndarray], sr: int) -> list[np.ndarray]:
    import librosa

    return [librosa.power_to_db(librosa.feature.melspectrogram(
        y=w, sr=sr, n_fft=2048, hop_length=512, n_mels=128), ref=np.max, top_db=80.0).T
        for w in waves]


def _torchvggish(extractor: Any) -> Callable[[list[np.ndarray], int], list[np.ndarray]] | None:
    """torchvggish's front end and VGG with our random weights, or None if not installed."""
    try:
        import torch
        from torchvggish import torchvggish, vggish_input
    except ImportError:
        return None
    from mer_bench.features import vggish as V

    extractor.extract([np.zeros(16000, np.float32)])  # build our network (and its weights)
    net = torchvggish._vgg(postprocess=False)
    net.load_state_dict(V._load_network("random:seed0", "cpu", False).state_dict())
    net.eval()

    def run(waves: list[np.ndarray], sr: int) -> list[np.ndarray]:
        with torch.no_grad():
            return [net(vggish_input.waveform_to_examples(w, sr)).numpy() for w in waves]

    return run


def _library(name: str, extractor: Any) -> tuple[Callable[..., Any] | None, str]:
    if name == "mfcc":
        return _librosa_mfcc, "librosa mfcc+delta"
    if name == "logmel":
        return _librosa_logmel, "librosa melspectrogram"
    ref = _torchvggish(extractor)
    return ref, "torchvggish VGG" if ref else "torchvggish not installed"


def run(n_clips: int, tmp: Path, rounds: int = 2, synthetic_s: float | None = None,
        extractors: tuple[str, ...] = ("mfcc", "logmel", "vggish")) -> list[Row]:
    """Rows for every extractor; decode, ours and the library interleaved ``rounds`` times."""
    paths, source = clip_paths(n_clips, tmp, synthetic_s)
    rows: list[Row] = []
    for name in extractors:
        cls = FEATURES.get(name)
        extractor = cls(**cls.smoke_params)
        sr = cls.sample_rate
        waves = [load_audio(p, sr=sr)[0] for p in paths]
        extractor.extract(waves[:1])  # imports, JIT and network outside the clock
        library, lib_name = _library(name, extractor)
        fns: dict[str, Callable[[], Any]] = {
            "decode": lambda sr=sr: [load_audio(p, sr=sr) for p in paths],
            "ours": lambda e=extractor, w=waves: e.extract(w),
        }
        if library is not None:
            library(waves[:1], sr)
            fns["library"] = lambda f=library, w=waves, sr=sr: f(w, sr)
        best = interleaved(fns, rounds)
        per_clip = 1000 * best["ours"] / len(paths)
        extra = {"clips": len(paths), "source": source, "ms_per_clip": per_clip}
        rows.append(Row(SECTION, f"{name}: extract vs decode floor", per_clip, "ms/clip",
                        1000 * best["decode"] / len(paths), "load_audio (decode+resample)",
                        extra=extra))
        if "library" in best:
            rows.append(Row(SECTION, f"{name}: extract vs plain library", per_clip, "ms/clip",
                            1000 * best["library"] / len(paths), lib_name, extra=extra))
        else:
            rows.append(Row(SECTION, f"{name}: extract vs plain library", per_clip, "ms/clip",
                            None, lib_name, extra=extra))
    if {"mfcc", "logmel"} <= set(extractors):
        rows.append(_decode_once_row(paths, source, tmp, rounds))
    return rows


def _decode_once_row(paths: list[Path], source: str, tmp: Path, rounds: int) -> Row:
    """Two features into a fresh cache: one decode per clip for both vs one per feature."""
    import shutil

    from mer_bench.features.cache import FeatureCache
    from mer_bench.types import Track

    tracks = [Track(f"c{i}", p) for i, p in enumerate(paths)]
    mfcc, logmel = FEATURES.get("mfcc")(), FEATURES.get("logmel")()
    runs = {"n": 0}

    def fresh() -> FeatureCache:
        runs["n"] += 1
        folder = tmp / f"cache{runs['n']}"
        shutil.rmtree(folder, ignore_errors=True)
        return FeatureCache(folder)

    def together() -> None:
        fresh().features(mfcc, tracks, n_jobs=1, also=[logmel])

    def apart() -> None:
        cache = fresh()
        cache.features(mfcc, tracks, n_jobs=1)
        cache.features(logmel, tracks, n_jobs=1)

    best = interleaved({"together": together, "apart": apart}, rounds)
    n = len(paths)
    return Row(SECTION, "mfcc+logmel into the cache: one decode vs one per feature",
               1000 * best["together"] / n, "ms/clip", 1000 * best["apart"] / n,
               "each feature decodes again", extra={"clips": n, "source": source})
