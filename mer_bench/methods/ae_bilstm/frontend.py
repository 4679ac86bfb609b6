"""He & Ferguson's input: a 30 s clip cut into contiguous segments, each a 216 x 128 log-mel.

Every segment, whatever the segment duration, becomes exactly ``N_FRAMES`` x
``N_MELS`` = 216 frames x 128 mel bands of ``log10(S + 1)`` (``S`` the librosa
power mel spectrogram), because the paper chooses the STFT per (sample rate,
duration) pair. Its Table 1 is used as printed (``TABLE_1``):

    PMEmo 44.1 kHz:    1 s -> n_fft 1024, hop 205;  3 s -> 1024 / 615;
                       5 s -> 2048 / 1024;         10 s -> 2048 / 2048
    AllMusic 22.05 kHz: 3 s -> 1024 / 307;  5 s -> 1024 / 512;  10 s -> 2048 / 1024

(At 3 s / 44.1 kHz the 1024-sample window is longer than the 615-sample hop,
so windows still overlap, by 409 samples.) For a pair outside the
table (``stft_rule="table1"``):

* a segment has ``N = round(segment_s * sr)`` samples; librosa's centred STFT
  gives ``1 + floor(N / hop)`` frames, so the hops giving at least 216 frames
  are ``hop <= N / 215`` and exactly 216 those with ``N / 216 < hop <= N / 215``;
* ``hop`` is the power of two in that exact interval when there is one
  (44.1 kHz, 5 s -> 1024), otherwise the largest hop still giving 216 frames,
  ``floor(N / 215)`` (22.05 kHz, 3 s -> 307) -- this reproduces all seven hops;
* ``n_fft`` is 2048 when the hop is 1024 or more, else 1024, the one rule that
  reproduces all seven printed n_fft values.

``stft_rule="overlap"`` keeps the earlier reading for every pair: the same hop
and ``n_fft`` = the smallest power of two >= 2 * hop (e.g. 512 at 44.1 kHz /
1 s, where 11 of the 128 mel filters are empty).

The sample rate is always fixed (the paper: 22,050 Hz for AllMusic / 4Q,
44,100 Hz for PMEmo); clips are resampled to it when decoded, so a mel band
means the same frequencies for every clip whatever its file's native rate.
When no integer hop gives exactly 216 frames (e.g. 16 kHz, 1 s: 16000 / 216
= 74.07 and 16000 / 215 = 74.42), the 217 frames of ``floor(N / 215)`` are
cut to the first 216.

Shorter clips are padded by repeating themselves from the start, longer ones
cut to their first ``clip_s`` seconds (the paper's 30 s).

Level (``normalize``). The paper: "For PMEmo dataset, due to audio signal
values falling into the range [-1, 1], no extra normalization is required.
For AllMusic dataset, we normalize data into the same range." ``"peak"``
divides each 30 s clip by its largest absolute sample, so it spans exactly
[-1, 1]: the one reading that brings any clip "into the same range" whatever
its level, and it needs no reference loudness the paper does not give
(loudness normalisation would need a target level and a meter). It matters
because ``log10(S + 1)`` is not scale-invariant: a clip at a tenth of the
level has a power spectrogram a hundredth as large, and other log-mels. (On
the local 4Q copy, every sixth clip decoded at 22,050 Hz peaks between 0.52
and 1.22, so some decoded mp3s even leave [-1, 1].)
``"none"`` keeps the decoded samples as they are (the paper's PMEmo rows). A
silent clip is left silent. ``SegmentLogmels``
is this front end as a registered feature extractor: in a run the segments
come from the shared disk feature cache, so the folds, tasks and later runs
of a bench decode each file once.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from mer_bench.errors import AudioError, ConfigError
from mer_bench.features.base import FEATURES, FeatureExtractor

N_FRAMES = 216
N_MELS = 128
SEGMENT_DURATIONS = (1.0, 3.0, 5.0, 10.0)  # the paper's Table 5
SUPPORTED_SAMPLE_RATES = (16000, 22050, 32000, 44100, 48000)  # what MER datasets ship
MIN_SAMPLE_RATE = 8000
# He & Ferguson's Table 1: (sample rate, segment s) -> (n_fft, hop_length)
TABLE_1: dict[tuple[int, float], tuple[int, int]] = {
    (44100, 1.0): (1024, 205),
    (44100, 3.0): (1024, 615),
    (44100, 5.0): (2048, 1024),
    (44100, 10.0): (2048, 2048),
    (22050, 3.0): (1024, 307),
    (22050, 5.0): (1024, 512),
    (22050, 10.0): (2048, 1024),
}
STFT_RULES = ("table1", "overlap")
NORMALIZATIONS = ("peak", "none")  # of each clip's waveform, before the log-mels


@dataclass(frozen=True)
class StftGeometry:
    """STFT settings that turn ``n_samples`` samples into at least ``N_FRAMES`` frames."""

    sample_rate: int
    n_samples: int
    n_fft: int
    hop_length: int

    @property
    def n_frames(self) -> int:
        """Frames librosa's centred STFT produces (cut to ``N_FRAMES`` afterwards)."""
        return 1 + self.n_samples // self.hop_length


def _next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def stft_geometry(sample_rate: int, segment_s: float, n_frames: int = N_FRAMES,
                  rule: str = "table1") -> StftGeometry:
    """The (n_fft, hop) of the module docstring for one (sample rate, duration) pair."""
    if rule not in STFT_RULES:
        raise ConfigError(f"stft_rule must be one of {STFT_RULES}, got {rule!r}")
    if sample_rate < MIN_SAMPLE_RATE:
        raise AudioError(f"sample rate {sample_rate} Hz is below {MIN_SAMPLE_RATE} Hz; "
                         "resample the audio or set the method's sample_rate")
    if segment_s <= 0:
        raise ConfigError(f"segment_s must be positive, got {segment_s}")
    n = int(round(segment_s * sample_rate))
    hop_max = n // (n_frames - 1)  # largest hop with >= n_frames frames
    if hop_max < 1:
        raise ConfigError(f"a {segment_s} s segment at {sample_rate} Hz has {n} samples, "
                          f"too few for {n_frames} frames")
    hop_min = n // n_frames + 1  # smallest hop with <= n_frames frames
    pow2 = [1 << k for k in range(hop_max.bit_length() + 1) if hop_min <= 1 << k <= hop_max]
    hop = pow2[-1] if pow2 else hop_max
    if rule == "overlap":
        return StftGeometry(sample_rate, n, _next_pow2(2 * hop), hop)
    if n_frames == N_FRAMES and (sample_rate, float(segment_s)) in TABLE_1:
        n_fft, hop = TABLE_1[(sample_rate, float(segment_s))]
        return StftGeometry(sample_rate, n, n_fft, hop)
    return StftGeometry(sample_rate, n, 2048 if hop >= 1024 else 1024, hop)


def fit_clip(wave: np.ndarray, sample_rate: int, clip_s: float) -> np.ndarray:
    """The first ``clip_s`` seconds; a shorter clip is repeated from its start to fill them."""
    want = int(round(clip_s * sample_rate))
    if wave.size == 0:
        raise AudioError("cannot pad an empty waveform")
    if wave.size < want:
        wave = np.tile(wave, math.ceil(want / wave.size))
    return np.ascontiguousarray(wave[:want], dtype=np.float32)


def normalize_clip(clip: np.ndarray, mode: str) -> np.ndarray:
    """The clip scaled to a peak of 1 (``"peak"``) or as it is (``"none"``); see the
    module docstring for why AllMusic clips are peak-normalised."""
    if mode not in NORMALIZATIONS:
        raise ConfigError(f"normalize must be one of {NORMALIZATIONS}, got {mode!r}")
    peak = float(np.max(np.abs(clip))) if clip.size else 0.0
    if mode == "none" or peak == 0.0 or not np.isfinite(peak):
        return clip
    return (clip / peak).astype(np.float32)


def n_segments(clip_s: float, segment_s: float) -> int:
    """Contiguous whole segments in a clip (a remainder shorter than a segment is dropped)."""
    count = int(math.floor(clip_s / segment_s + 1e-9))
    if count < 1:
        raise ConfigError(f"segment_s={segment_s} is longer than clip_s={clip_s}")
    return count


def segment_logmels(wave: np.ndarray, sample_rate: int, clip_s: float, segment_s: float,
                    stft_rule: str = "table1", normalize: str = "peak") -> np.ndarray:
    """[n_segments, 216, 128] float32 log10(mel + 1) of one clip (time x mel bands),
    the clip first brought to ``clip_s`` seconds and then levelled (``normalize``)."""
    import librosa

    geometry = stft_geometry(sample_rate, segment_s, rule=stft_rule)
    count = n_segments(clip_s, segment_s)
    clip = normalize_clip(fit_clip(wave, sample_rate, count * segment_s), normalize)
    out = np.empty((count, N_FRAMES, N_MELS), dtype=np.float32)
    for i in range(count):
        piece = clip[i * geometry.n_samples:(i + 1) * geometry.n_samples]
        if piece.size < geometry.n_samples:  # rounding of count * segment_s
            piece = np.pad(piece, (0, geometry.n_samples - piece.size))
        with warnings.catch_warnings():  # "overlap" at 1 s leaves some mel filters empty
            warnings.simplefilter("ignore", UserWarning)
            mel = librosa.feature.melspectrogram(
                y=piece, sr=sample_rate, n_fft=geometry.n_fft, hop_length=geometry.hop_length,
                n_mels=N_MELS)
        out[i] = np.log10(mel[:, :N_FRAMES] + 1.0).T
    return out


@dataclass(frozen=True)
class Frontend:
    """The frontend settings of a method: clip and segment length, the fixed sample rate
    every clip is resampled to, the STFT rule and the clip's level normalisation."""

    clip_s: float = 30.0
    segment_s: float = 5.0
    sample_rate: int = 22050
    stft_rule: str = "table1"
    normalize: str = "peak"

    def __post_init__(self) -> None:
        n_segments(self.clip_s, self.segment_s)
        if self.normalize not in NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}")
        if self.sample_rate is None or int(self.sample_rate) != self.sample_rate:
            raise ConfigError(
                f"sample_rate must be a fixed rate in Hz (the paper: 22050 for AllMusic/4Q, "
                f"44100 for PMEmo), got {self.sample_rate!r}; a file's native rate would make "
                "a mel band mean different frequencies for different clips"
            )
        stft_geometry(int(self.sample_rate), self.segment_s, rule=self.stft_rule)

    @property
    def n_segments(self) -> int:
        return n_segments(self.clip_s, self.segment_s)


@FEATURES.register("ae-bilstm-logmel")
class SegmentLogmels(FeatureExtractor):
    """One clip's ``segment_logmels``, flattened: n_segments x 216 x 128 values.

    The front end of ``ae-bilstm`` and ``cnn-bilstm`` (their ``frontend``):
    registered so the runner keeps every clip's segments in the shared disk
    feature cache, where the folds, both methods and later runs with other
    model parameters find them. The array is one fixed-size vector per clip
    (``hop_s`` None) because every clip is brought to ``clip_s`` seconds;
    ``unflatten`` gives the [n_segments, 216, 128] segments back.
    """

    name = "ae-bilstm-logmel"
    version = "1"
    sample_rate = 22050  # the default; an instance uses its parameters' rate
    Params = Frontend
    smoke_params = {"clip_s": 2.0, "segment_s": 1.0}

    @property
    def dim(self) -> int:
        return self.params.n_segments * N_FRAMES * N_MELS

    def extract(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        p = self.params
        return [
            segment_logmels(np.asarray(wave, dtype=np.float32), self.sample_rate, p.clip_s,
                            p.segment_s, p.stft_rule, p.normalize).reshape(-1)
            for wave in waveforms
        ]

    def unflatten(self, arrays: list[np.ndarray]) -> np.ndarray:
        """[n_clips, n_segments, 216, 128] from the clips' arrays."""
        shape = (self.params.n_segments, N_FRAMES, N_MELS)
        return np.stack([np.asarray(a).reshape(shape) for a in arrays])
