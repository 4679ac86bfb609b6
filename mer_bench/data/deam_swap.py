"""DEAM's 2013 valence/arousal swap: which pairing of the static columns is right.

DEAM's song-level ``valence_mean`` of the 2013 songs equals emoMusic's
``mean_arousal`` and vice versa. ``decide_swap`` compares both pairings of the
static columns with a reference (emoMusic's static labels, or DEAM's own
dynamic curves) and calls the published pairing swapped only when the other
correlates better by ``SWAP_MARGIN``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mer_bench.data.tables import pearson

SWAP_MARGIN = 0.1  # the swapped pairing must beat the published one by this much in r
SWAP_MIN_SONGS = 5  # fewer reference songs than this: the check is not made


SwapStatus = Literal["swapped", "consistent", "inconclusive", "unchecked", "not_applicable"]


@dataclass(frozen=True)
class SwapCheck:
    """Outcome of the 2013 valence/arousal swap check."""

    status: SwapStatus
    reference: str = ""
    n: int = 0
    r_swapped: float = math.nan
    r_published: float = math.nan
    reason: str = ""

    def evidence(self) -> str:
        return (
            f"against {self.reference}, {self.n} songs: r={self.r_swapped:.2f} with "
            f"valence/arousal swapped, r={self.r_published:.2f} as published"
        )

    def describe(self) -> str:
        if self.status in ("unchecked", "not_applicable"):
            return f"{self.status.replace('_', ' ')}: {self.reason}"
        return f"{self.status} ({self.evidence()})"


def decide_swap(
    static: list[tuple[float, float]], reference: list[tuple[float, float]], name: str
) -> SwapCheck:
    """Which pairing of DEAM's static columns with the reference V/A correlates better."""
    s, ref = np.asarray(static, float), np.asarray(reference, float)
    published = np.nanmean([pearson(s[:, 0], ref[:, 0]), pearson(s[:, 1], ref[:, 1])])
    swapped = np.nanmean([pearson(s[:, 0], ref[:, 1]), pearson(s[:, 1], ref[:, 0])])
    if math.isnan(published) or math.isnan(swapped):
        status: SwapStatus = "inconclusive"
    elif swapped > published + SWAP_MARGIN:
        status = "swapped"
    elif published > swapped + SWAP_MARGIN:
        status = "consistent"
    else:
        status = "inconclusive"
    return SwapCheck(status, name, len(s), float(swapped), float(published))
