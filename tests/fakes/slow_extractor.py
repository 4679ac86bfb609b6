"""A deliberately slow extractor for interruption tests (not registered)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from mer_bench.features.base import FeatureExtractor

SECONDS_PER_CLIP = 0.5


class SlowExtractor(FeatureExtractor):
    """One number per clip after half a second of CPU work; records which processes worked."""

    name = "slow-test"
    version = "1"
    sample_rate = 8000
    parallel = "process"

    @property
    def dim(self) -> int:
        return 1

    def extract(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        if folder := os.environ.get("SLOW_EXTRACTOR_PIDS"):
            Path(folder, str(os.getpid())).touch()
        end = time.monotonic() + SECONDS_PER_CLIP * len(waveforms)
        while time.monotonic() < end:  # busy, like a real extractor: the cores are taken
            pass
        return [np.array([float(np.mean(w))], dtype=np.float32) for w in waveforms]
