"""Turning a FoldData into EMER-CL's two inputs: music frames and emotion curves.

Music: each track's frame sequence, cropped to the time span its dynamic
labels cover (the paper uses DEAM's 15-45 s, PMEmo from 15 s on: exactly the
annotated span), standardised with the training frames' mean and std.
Emotion: the dynamic (valence, arousal) sequence at 2 Hz, as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.base import FoldData
from mer_bench.types import Family

if TYPE_CHECKING:  # pragma: no cover
    import torch


def check_task(data: FoldData, method: str) -> None:
    if data.task.kind.family is not Family.MUSIC_EMOTION_RETRIEVAL:
        raise TaskError(f"{method} supports only m2e_e2m_retrieval, not {data.task.kind.value}")
    if len(data) == 0:
        raise TaskError(f"{method}: empty fold")


def music_sequences(data: FoldData, crop_to_labels: bool) -> list[np.ndarray]:
    """[T_i, D] float32 frames per track, cropped to the labelled span when possible.

    Cropping needs frame times (``feature_hop_s``) and the labels' start and
    rate; one-vector-per-clip features are used whole. A track whose labels
    lie entirely outside its frames raises ``TaskError`` naming it.
    """
    seqs = [np.asarray(s, dtype=np.float32) for s in data.sequences()]
    hop = data.feature_hop_s
    if not crop_to_labels or hop is None or hop <= 0:
        return seqs
    out = []
    for track, seq, target in zip(data.tracks, seqs, data.targets, strict=True):
        if len(seq) <= 1:
            out.append(seq)
            continue
        start = track.dynamic_start_s
        end = start + len(target) / track.dynamic_rate_hz
        times = np.arange(len(seq)) * hop
        keep = (times >= start - 1e-9) & (times < end - 1e-9)
        if not keep.any():
            raise TaskError(
                f"track {track.id}: its dynamic labels cover {start:.1f}-{end:.1f} s but its "
                f"{len(seq)} feature frames span 0-{len(seq) * hop:.1f} s; the audio is "
                "shorter than the annotation"
            )
        out.append(seq[keep])
    return out


def emotion_sequences(data: FoldData) -> list[np.ndarray]:
    out = []
    for track, target in zip(data.tracks, data.targets, strict=True):
        arr = np.asarray(target, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
            raise TaskError(f"track {track.id}: dynamic V/A must be [T, 2], got {arr.shape}")
        if not np.isfinite(arr).all():
            raise TaskError(f"track {track.id}: dynamic V/A contains nan/inf")
        out.append(arr)
    return out


@dataclass(frozen=True)
class Standardizer:
    """Per-dimension z-scoring fitted on the training frames (std floored at 1e-8 -> 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, seqs: list[np.ndarray], enabled: bool = True) -> Standardizer:
        dim = seqs[0].shape[1]
        if not enabled:
            return cls(np.zeros(dim, np.float32), np.ones(dim, np.float32))
        frames = np.concatenate(seqs).astype(np.float64)
        mean = frames.mean(axis=0)
        std = frames.std(axis=0)
        std = np.where(std > 1e-8, std, 1.0)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def __call__(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        if seqs and seqs[0].shape[1] != len(self.mean):
            raise TaskError(f"features have {seqs[0].shape[1]} dimensions; the model was "
                            f"trained on {len(self.mean)}")
        return [(s - self.mean) / self.std for s in seqs]


def pad(seqs: list[np.ndarray], pooled: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded [N, T_max, D] float32 and lengths [N]; ``pooled`` gives [N, D] frame means."""
    import torch

    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    if pooled:
        means = np.stack([s.mean(axis=0) for s in seqs]).astype(np.float32)
        return torch.from_numpy(means), lengths
    t_max = int(lengths.max())
    out = np.zeros((len(seqs), t_max, seqs[0].shape[1]), dtype=np.float32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return torch.from_numpy(out), lengths
