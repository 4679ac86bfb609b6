"""Cutting clips into fixed-length segments and their log-mel inputs.

Sun et al. cut every clip into segments of an integer duration d (1-5 s)
overlapping by d - 1 s (a 1 s hop), without padding, and each segment
inherits its clip's label. Only the first ``clip_s`` = 30 s of a clip are
segmented: the paper does not say so, but its Table 1 implies it -- about 30
one-second segments per song on all three sets (PMEmo 22,945 / 767 songs, 4Q
26,957 / 900, EiM 29,982 / 1,000 although EiM clips are 45 s), and one segment
fewer per song for each extra second of duration (31 - d per 30 s song).
``clip_s=None`` segments the whole clip. The input of the segment network is a librosa
log-mel spectrogram (Hann window 1024, hop 512, 128 bands).

For speed the spectrogram is computed once per clip and each segment is a
slice of its frames: segment k starting at sample s takes the
``1 + d·sr // hop`` frames from frame ``round(s / hop)``, which is what
librosa gives for the segment's own audio up to the frames at the two edges
(they see the neighbouring audio instead of reflection padding) and a
sub-hop (< 12 ms) alignment. The clip spectrograms come from the method's
registered front end (``frontend.SegmentLogmel``) through the disk feature
cache, so the folds, methods and later runs of a bench decode each clip once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mer_bench.errors import ConfigError, FeatureError
from mer_bench.types import Track

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentSpec:
    """How clips become segment spectrograms (the paper's values are the defaults)."""

    duration_s: int = 3
    hop_s: float = 1.0  # overlap = duration - 1 s
    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 128
    clip_s: float | None = 30.0  # segment only the first clip_s seconds (None: all)

    def __post_init__(self) -> None:
        if int(self.duration_s) != self.duration_s or self.duration_s < 1:
            raise ConfigError(f"segment_s must be a whole number of seconds >= 1, got "
                              f"{self.duration_s!r}")
        if self.hop_s <= 0:
            raise ConfigError(f"hop_s must be > 0, got {self.hop_s!r}")
        if min(self.sample_rate, self.n_fft, self.hop_length, self.n_mels) < 1:
            raise ConfigError("sample_rate, n_fft, hop_length and n_mels must be positive")
        if self.clip_s is not None and self.clip_s < self.duration_s:
            raise ConfigError(f"clip_s ({self.clip_s}) must be None or at least segment_s "
                              f"({self.duration_s})")

    @property
    def segment_samples(self) -> int:
        return int(self.duration_s * self.sample_rate)

    @property
    def n_frames(self) -> int:
        """Frames of one segment (librosa, ``center=True``)."""
        return 1 + self.segment_samples // self.hop_length


def log_mel(wave: np.ndarray, spec: SegmentSpec) -> np.ndarray:
    """[T, n_mels] power log-mel in dB relative to 1.0.

    Absolute dB (``ref=1.0``) rather than per-clip ``ref=max`` keeps loudness,
    an arousal cue, comparable across clips; the network input is
    standardised with the training fold's mean and std instead.
    """
    import librosa

    mel = librosa.feature.melspectrogram(
        y=np.asarray(wave, dtype=np.float32), sr=spec.sample_rate, n_fft=spec.n_fft,
        hop_length=spec.hop_length, window="hann", n_mels=spec.n_mels, power=2.0,
    )
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T.astype(np.float32)


def segment_starts(n_samples: int, spec: SegmentSpec) -> np.ndarray:
    """Start samples of every whole segment within the first ``clip_s`` seconds of a clip
    (none when it is too short)."""
    length, hop = spec.segment_samples, int(round(spec.hop_s * spec.sample_rate))
    if spec.clip_s is not None:
        n_samples = min(n_samples, int(round(spec.clip_s * spec.sample_rate)))
    if n_samples < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - length + 1, max(hop, 1), dtype=np.int64)


# --- clip arrays ------------------------------------------------------------------
# A clip's front-end array (``frontend.SegmentLogmel``) is [header + T, n_mels]: the
# header (one row, two when n_mels is 1) holds the clip's exact sample count, which
# decides how many segments it has and cannot be read off T (T = 1 + n // hop leaves n
# uncertain by a hop); the rows below it are the frames.
_SAMPLES_BASE = 1 << 20  # the count is split in two parts, each exact in float32


def _header_rows(n_mels: int) -> int:
    return -(-2 // n_mels)


def pack_clip(n_samples: int, mel: np.ndarray) -> np.ndarray:
    """[header + T, n_mels] float32: the sample count in a header above the frames."""
    header = np.zeros((_header_rows(mel.shape[1]), mel.shape[1]), dtype=np.float32)
    header.flat[0], header.flat[1] = divmod(int(n_samples), _SAMPLES_BASE)
    return np.concatenate([header, mel.astype(np.float32, copy=False)])


def unpack_clip(array: np.ndarray) -> tuple[int, np.ndarray]:
    """(sample count, [T, n_mels] frames) of a ``pack_clip`` array."""
    rows = _header_rows(array.shape[1])
    high, low = int(array.flat[0]), int(array.flat[1])
    return high * _SAMPLES_BASE + low, array[rows:]


# --- segment tables -----------------------------------------------------------
@dataclass
class SegmentTable:
    """Every segment of a set of clips, as rows into one frame matrix.

    ``frames`` stacks the clips' log-mel frames [total, n_mels];
    segment i is ``frames[row[i] : row[i] + n_frames]`` and belongs to clip
    ``clip[i]`` (an index into ``clip_ids``).
    """

    frames: np.ndarray
    row: np.ndarray
    clip: np.ndarray
    clip_ids: tuple[str, ...]
    n_frames: int
    short_ids: tuple[str, ...] = ()  # clips shorter than one segment

    def __len__(self) -> int:
        return len(self.row)

    def gather(self, index: np.ndarray | Sequence[int]) -> np.ndarray:
        """[B, 1, n_mels, n_frames] float32 spectrograms of the given segments."""
        rows = self.row[np.asarray(index, dtype=np.int64)][:, None] + np.arange(self.n_frames)
        return np.ascontiguousarray(self.frames[rows].transpose(0, 2, 1)[:, None])

    def segments_per_clip(self) -> np.ndarray:
        return np.bincount(self.clip, minlength=len(self.clip_ids))


def build_segments(tracks: Sequence[Track], clips: Sequence[np.ndarray], spec: SegmentSpec,
                   pad_short: bool = False) -> SegmentTable:
    """Segment every clip (``clips``: their ``pack_clip`` arrays, in ``tracks`` order).

    Clips shorter than one segment give none unless ``pad_short`` (used at
    prediction time only): such a clip then gives one segment, the log-mel of
    the clip looped from its start up to one segment length, which the front
    end stores in place of the clip's own frames.
    """
    blocks, rows, clip_of, short = [], [], [], []
    offset = 0
    for i, (track, clip) in enumerate(zip(tracks, clips, strict=True)):
        n_samples, mel = unpack_clip(clip)
        starts = segment_starts(n_samples, spec)
        if len(starts) == 0:
            short.append(track.id)
            if not pad_short or len(mel) == 0:
                continue
            if len(mel) != spec.n_frames:
                raise FeatureError(f"sssl: clip {track.id} is short but its array holds "
                                   f"{len(mel)} frames, not one {spec.n_frames}-frame segment")
            starts = np.zeros(1, dtype=np.int64)
        first = np.rint(starts / spec.hop_length).astype(np.int64)
        first = np.minimum(first, len(mel) - spec.n_frames)
        blocks.append(mel)
        rows.append(offset + first)
        clip_of.append(np.full(len(first), i, dtype=np.int64))
        offset += len(mel)
    if short:
        log.warning("sssl: %d clip(s) shorter than one %d s segment%s: %s", len(short),
                    spec.duration_s, " (looped to one segment)" if pad_short else
                    " contribute no segment", ", ".join(short[:10]))
    n_mels = spec.n_mels
    return SegmentTable(
        frames=np.concatenate(blocks) if blocks else np.zeros((0, n_mels), np.float32),
        row=np.concatenate(rows) if rows else np.zeros(0, np.int64),
        clip=np.concatenate(clip_of) if clip_of else np.zeros(0, np.int64),
        clip_ids=tuple(t.id for t in tracks),
        n_frames=spec.n_frames,
        short_ids=tuple(short),
    )
