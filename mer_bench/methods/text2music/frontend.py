"""The music input: one log-mel per clip, random training crops and evenly spaced evaluation chunks.

As in the authors' setup: 16 kHz mono, STFT n_fft 512 / hop 256 (Hann,
centred), 128 mel bands, power in dB (``10 log10(max(S, 1e-10))``, no top-dB
clipping), 5 s chunks (313 frames). A clip shorter than a chunk is zero-padded
to one chunk. Each clip is decoded and transformed once, by the registered
front end ``ClipLogmel`` through the disk feature cache; a 5 s training crop
is a 313-frame window of the whole clip's log-mel, which equals the log-mel
of the 5 s waveform crop up to the window's two edge frames.
Evaluation averages the embeddings of ``n`` chunks whose starts are evenly
spaced from the first frame to the last full window, so together they cover
the clip end to end (the authors' hop of ``(len - chunk) // n`` stops short of
the end).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mer_bench.errors import AudioError, ConfigError
from mer_bench.features.base import FEATURES, FeatureExtractor


@dataclass(frozen=True)
class MelFrontend:
    """Log-mel settings (defaults: the paper's)."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 128
    chunk_s: float = 5.0

    def __post_init__(self) -> None:
        if self.sample_rate < 1000 or self.n_fft < 16 or self.hop_length < 1 or self.n_mels < 1:
            raise ConfigError(f"text2music: bad log-mel settings {self}")
        if self.chunk_s <= 0:
            raise ConfigError(f"text2music: chunk_s must be > 0, got {self.chunk_s}")

    @property
    def chunk_samples(self) -> int:
        return max(1, int(round(self.chunk_s * self.sample_rate)))

    @property
    def chunk_frames(self) -> int:
        """Frames of one chunk (centred STFT): 313 for 5 s at 16 kHz, hop 256."""
        return 1 + self.chunk_samples // self.hop_length

    def logmel(self, wave: np.ndarray) -> np.ndarray:
        """[n_mels, T] float32 dB log-mel of a mono waveform (T >= ``chunk_frames``)."""
        import librosa

        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        if wave.size < self.chunk_samples:
            wave = np.pad(wave, (0, self.chunk_samples - wave.size))
        spec = np.abs(librosa.stft(wave, n_fft=self.n_fft, hop_length=self.hop_length)) ** 2
        mel = _mel_basis(self.sample_rate, self.n_fft, self.n_mels) @ spec
        return (10.0 * np.log10(np.maximum(mel, 1e-10))).astype(np.float32)


@lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's (Slaney) mel filters, built once per setting rather than once per clip."""
    import librosa

    with warnings.catch_warnings():  # empty mel filters at small n_fft are harmless
        warnings.simplefilter("ignore", UserWarning)
        return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


def chunk_starts(n_frames: int, crop: int, n: int) -> np.ndarray:
    """Start frames of ``n`` evenly spaced ``crop``-frame windows covering ``n_frames`` frames.

    The first starts at frame 0, the last ends at the last frame; one window is
    centred. A clip of exactly one window gives ``n`` copies of it.
    """
    if n < 1 or crop < 1 or n_frames < crop:
        raise ConfigError(f"cannot place {n} windows of {crop} frames in {n_frames} frames")
    last = n_frames - crop
    if n == 1:
        return np.array([last // 2], dtype=np.int64)
    return np.rint(np.linspace(0.0, float(last), n)).astype(np.int64)


def eval_chunks(mel: np.ndarray, crop: int, n: int) -> np.ndarray:
    """[n, n_mels, crop] evaluation windows of one clip's log-mel."""
    starts = chunk_starts(mel.shape[1], crop, n)
    return np.stack([mel[:, s : s + crop] for s in starts])


def random_crop(mel: np.ndarray, crop: int, rng: np.random.Generator) -> np.ndarray:
    """One ``crop``-frame window at a uniformly drawn start."""
    start = int(rng.integers(0, mel.shape[1] - crop + 1))
    return mel[:, start : start + crop]


@FEATURES.register("text2music-logmel")
class ClipLogmel(FeatureExtractor):
    """[T, n_mels] dB log-mel of a whole clip (``MelFrontend.logmel``, transposed to the
    extractor layout of frames by bands).

    The music side of ``text2music`` with ``music_input="audio"``
    (``Text2Music.frontend``): registered so the runner keeps every clip's
    log-mel in the shared disk feature cache, where the folds and later runs
    with other model parameters find it.
    """

    name = "text2music-logmel"
    version = "1"
    sample_rate = 16000  # the default; an instance uses its parameters' rate
    Params = MelFrontend
    smoke_params = {"chunk_s": 1.0}

    @property
    def dim(self) -> int:
        return int(self.params.n_mels)

    @property
    def hop_s(self) -> float:
        return self.params.hop_length / self.params.sample_rate

    def extract(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        return [self.params.logmel(_mono(wave)).T for wave in waveforms]


def _mono(wave: np.ndarray) -> np.ndarray:
    """A finite, non-empty mono waveform (channels averaged), or AudioError."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.size == 0 or not np.all(np.isfinite(wave)):
        raise AudioError("text2music: a clip decodes to an empty or non-finite waveform; "
                         "re-encode the file or leave the track out")
    if wave.ndim > 1:
        wave = wave.mean(axis=0 if wave.shape[0] < wave.shape[-1] else -1)
    return wave
