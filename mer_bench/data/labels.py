"""Label scales: every adapter maps its original scale onto canonical [-1, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mer_bench.errors import TaskError


@dataclass(frozen=True)
class LabelScale:
    """A closed interval [low, high] mapped linearly onto [-1, 1]."""

    name: str
    low: float
    high: float

    def to_canonical(self, value: np.ndarray | float) -> np.ndarray | float:
        return 2.0 * (np.asarray(value, dtype=float) - self.low) / (self.high - self.low) - 1.0

    def describe(self) -> str:
        return f"{self.name} [{self.low:g}, {self.high:g}] -> [-1, 1]"


CANONICAL = LabelScale("canonical", -1.0, 1.0)
SAM_1_9 = LabelScale("SAM 1..9", 1.0, 9.0)
UNIT = LabelScale("unit [0, 1]", 0.0, 1.0)


def kmeans_midpoint_va(va: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(valence, arousal) thresholds: the midpoint of the two centres of k-means (k = 2)
    run on the valence-arousal plane, as He & Ferguson (2022, Sec. 4.3, Fig. 3a) set
    PMEmo's binary thresholds. Compute it on a training fold only, never on test labels.
    """
    from sklearn.cluster import KMeans

    x = np.asarray(va, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise TaskError(f"k-means thresholds need [N, 2] valence-arousal points, got shape "
                        f"{x.shape}")
    if len(np.unique(x, axis=0)) < 2:
        mean = x.mean(axis=0)
        return float(mean[0]), float(mean[1])
    centres = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(x).cluster_centers_
    mid = centres.mean(axis=0)
    return float(mid[0]), float(mid[1])


def kmeans_midpoint(values: np.ndarray, seed: int = 0) -> float:
    """Binary threshold as the midpoint of two 1-D k-means centres on one dimension (a
    per-dimension reading of He & Ferguson; the runner's ``kmeans`` uses the 2-D
    ``kmeans_midpoint_va``, the paper's)."""
    from sklearn.cluster import KMeans

    x = np.asarray(values, dtype=float).reshape(-1, 1)
    if len(np.unique(x)) < 2:
        return float(x.mean())
    centres = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(x).cluster_centers_
    return float(centres.mean())
