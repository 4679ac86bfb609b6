"""The segment methods' front end as a registered feature extractor (``sssl-logmel``).

Registering it puts the clip spectrograms in the shared disk feature cache: the
folds of a run, ``sssl`` and ``segment-vote``, and every later run with other
model parameters read them instead of decoding and transforming each clip again.

The array of a clip is its whole log-mel (``segments.log_mel``) under a header
holding its exact sample count (``segments.pack_clip``); segments are cut from it
by ``segments.build_segments``. Only a clip shorter than one segment depends on the
segment length: it has no segment of its own, and at prediction time it is looped
from its start to one segment, so its array holds that segment's log-mel instead
(hence ``segment_s`` in the parameters). ``hop_s`` and ``clip_s`` only choose which
frames a segment takes, so they are not parameters: changing them reuses the cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mer_bench.features.base import FEATURES, FeatureExtractor
from mer_bench.methods.sssl.segments import SegmentSpec, log_mel, pack_clip


@dataclass(frozen=True)
class SegmentLogmelParams:
    """Everything that determines a clip's array (defaults: ``SegmentParams``')."""

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 128
    segment_s: int = 3


@FEATURES.register("sssl-logmel")
class SegmentLogmel(FeatureExtractor):
    """[header + T, n_mels] dB log-mel of a whole clip (Hann window, power, ``ref=1.0``).

    The front end of ``sssl`` and ``segment-vote`` (``SSSL.frontend``); as a
    feature for other methods it means little (the header is not a frame).
    """

    name = "sssl-logmel"
    version = "1"
    sample_rate = 22050  # the default; an instance uses its parameters' rate
    Params = SegmentLogmelParams
    smoke_params = {"segment_s": 1}

    @property
    def spec(self) -> SegmentSpec:
        p = self.params
        return SegmentSpec(duration_s=p.segment_s, sample_rate=p.sample_rate, n_fft=p.n_fft,
                           hop_length=p.hop_length, n_mels=p.n_mels, clip_s=None)

    @property
    def dim(self) -> int:
        return int(self.params.n_mels)

    @property
    def hop_s(self) -> float:
        return self.params.hop_length / self.params.sample_rate

    def extract(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        spec = self.spec
        return [pack_clip(len(wave), _clip_log_mel(np.asarray(wave, np.float32), spec))
                for wave in waveforms]


def _clip_log_mel(wave: np.ndarray, spec: SegmentSpec) -> np.ndarray:
    """The whole clip's log-mel, or for a clip shorter than one segment the log-mel of the
    clip looped from its start to one segment (none for an empty clip)."""
    if len(wave) >= spec.segment_samples:
        return log_mel(wave, spec)
    if len(wave) == 0:
        return np.zeros((0, spec.n_mels), dtype=np.float32)
    reps = int(np.ceil(spec.segment_samples / len(wave)))
    return log_mel(np.tile(wave, reps)[: spec.segment_samples], spec)
