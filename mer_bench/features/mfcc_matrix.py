"""The MFCC matrix of Koh & Dubnov (2021): 20 coefficients x 1500 frames per clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mer_bench.errors import ConfigError
from mer_bench.features.base import FEATURES, FeatureExtractor


@dataclass(frozen=True)
class MfccMatrixParams:
    n_mfcc: int = 20  # paper: "a matrix of 20 x 1500"
    n_frames: int = 1500  # paper; 0 keeps every frame of the clip
    n_fft: int = 2048  # librosa's default (the paper names librosa, no settings)
    hop_length: int = 441  # 20 ms at 22.05 kHz: a 30 s clip is exactly 1500 frames
    n_mels: int = 128  # librosa's default

    def __post_init__(self) -> None:
        if min(self.n_mfcc, self.n_fft, self.hop_length, self.n_mels) < 1 or self.n_frames < 0:
            raise ConfigError(
                "feature 'mfcc-matrix': n_mfcc, n_fft, hop_length and n_mels must be >= 1 "
                f"and n_frames >= 0, got {self}"
            )


@FEATURES.register("mfcc-matrix")
class MfccMatrix(FeatureExtractor):
    """The MFCC sequence [n_frames, 20] a sequence model reads (the ``mfcc`` feature is its
    80-d statistics).

    Koh & Dubnov "generate the MFCC features of each music clip into a matrix of
    20 x 1500" with librosa and give no frame settings. Read here: librosa's
    MFCCs at 22.05 kHz (n_fft 2048, 128 mel bands) every 441 samples (20 ms), so
    a 30 s clip (4Q's length) gives the 1500 frames without cutting or padding;
    a longer clip keeps its first 1500 frames and a shorter one is zero-padded
    to 1500 (the fixed matrix). ``n_frames=0`` keeps the clip's own frame count.
    """

    name = "mfcc-matrix"
    version = "1"
    sample_rate = 22050
    Params = MfccMatrixParams
    # the contract checks frames against the clip's duration: the unpadded sequence
    smoke_params: ClassVar[dict[str, Any]] = {"n_frames": 0}

    @property
    def dim(self) -> int:
        return self.params.n_mfcc

    @property
    def hop_s(self) -> float:
        return self.params.hop_length / self.sample_rate

    def extract(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import librosa

        p = self.params
        out = []
        for wave in waveforms:
            mfcc = librosa.feature.mfcc(
                y=wave, sr=self.sample_rate, n_mfcc=p.n_mfcc, n_fft=p.n_fft,
                hop_length=p.hop_length, n_mels=p.n_mels,
            ).T  # fmt: skip
            out.append(fixed_frames(mfcc, p.n_frames).astype(np.float32))
        return out


def fixed_frames(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """[n_frames, D]: the first ``n_frames`` rows, zero rows after a short clip's end
    (``n_frames`` 0: unchanged)."""
    if n_frames == 0:
        return frames
    kept = frames[:n_frames]
    pad = np.zeros((n_frames - len(kept), frames.shape[1]), dtype=frames.dtype)
    return np.concatenate([kept, pad])
