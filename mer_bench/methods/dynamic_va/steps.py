"""Per-step inputs of dynamic V/A: the feature frames under each annotation step, pooled.

Annotation step ``k`` of a track stands for the window
``[dynamic_start_s + k / rate, dynamic_start_s + (k + 1) / rate)`` (0.5 s at
MediaEval's 2 Hz; synth evaluates its curve at the window's centre). Feature
frame ``j`` is taken at ``j * feature_hop_s``, the time the extractor's hop
puts it at. Each step gets the mean of the frames in its window; a step whose
window holds no frame (a hop longer than the step, or audio that ends before
the annotation does) gets the frame nearest the window's centre, so every
step has an input and the prediction is as long as the curve.

Without a hop (a ``FoldData`` built by hand, without ``feature_hop_s``) the
frames are assumed to span the annotated time evenly. A per-clip vector
feature carries no time, so it is refused rather than repeated over steps.
"""

from __future__ import annotations

import numpy as np

from mer_bench.errors import TaskError
from mer_bench.methods.base import FoldData
from mer_bench.types import Family, Track


def check_dynamic(data: FoldData, method: str) -> None:
    """Refuse other tasks, a run without features and per-clip vector features."""
    if data.task.kind.family is not Family.SEQUENCE_REGRESSION:
        raise TaskError(
            f"{method} supports sequence tasks (dynamic_va), not {data.task.kind.value}"
        )
    if data.features is None:
        raise TaskError(f"{method}: this run has no features; pick a sequence feature (logmel)")
    if any(np.ndim(f) != 2 for f in data.features):
        raise TaskError(
            f"{method} needs frame features [frames, dim] (logmel, mfcc-matrix...), "
            "got one vector per clip; pick a sequence feature"
        )


def step_inputs(data: FoldData) -> list[np.ndarray]:
    """[T_i, D] float32 per track: its frames pooled onto its T_i annotation steps."""
    out = []
    for track, frames, target in zip(data.tracks, data.features or (), data.targets,
                                     strict=True):
        n_steps = len(target)
        if n_steps == 0:
            raise TaskError(f"track {track.id}: its dynamic V/A curve is empty")
        out.append(pool_steps(np.asarray(frames, dtype=np.float64), track, n_steps,
                              data.feature_hop_s).astype(np.float32))
    return out


def pool_steps(frames: np.ndarray, track: Track, n_steps: int, hop_s: float | None
               ) -> np.ndarray:
    """[n_steps, D]: the mean of the frames in each step's window (nearest frame if none)."""
    if len(frames) == 0:
        raise TaskError(f"track {track.id}: its feature sequence has no frames")
    rate, start = track.dynamic_rate_hz, track.dynamic_start_s
    if hop_s is None or hop_s <= 0:  # no frame times: spread the frames over the curve
        times = start + np.arange(len(frames)) * (n_steps / rate / len(frames))
    else:
        times = np.arange(len(frames)) * hop_s
    step = np.floor((times - start) * rate + 1e-9).astype(np.int64)
    inside = (step >= 0) & (step < n_steps)
    sums = np.zeros((n_steps, frames.shape[1]))
    np.add.at(sums, step[inside], frames[inside])
    counts = np.bincount(step[inside], minlength=n_steps)
    pooled = sums / np.maximum(counts, 1)[:, None]
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        centres = start + (empty + 0.5) / rate
        nearest = np.abs(times[None, :] - centres[:, None]).argmin(axis=1)
        pooled[empty] = frames[nearest]
    return pooled


def curves(data: FoldData) -> list[np.ndarray]:
    """[T_i, D] float32 training targets (D: the task's dimensions), checked finite."""
    width = len(data.task.kind.dimensions)
    out = []
    for track, target in zip(data.tracks, data.targets, strict=True):
        arr = np.asarray(target, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != width or not np.isfinite(arr).all():
            raise TaskError(f"track {track.id}: its curve must be a finite [T, {width}] array")
        out.append(arr)
    return out
