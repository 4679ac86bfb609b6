"""Dynamic (valence, arousal) curves: their annotated span, and capping them at a time.

Papers select and cut songs by how long their annotation runs (Takashima et
al. keep PMEmo songs with at least 7.0 s of annotation and cut DEAM to
15-45 s); adapters offer both as options built on these two functions.
"""

from __future__ import annotations

import numpy as np


def annotation_span_s(curve: np.ndarray | None, rate_hz: float) -> float:
    """Seconds from a curve's first frame to its last (0 for one frame or none)."""
    if curve is None or len(curve) == 0:
        return 0.0
    return (len(curve) - 1) / float(rate_hz)


def cap_curve(curve: np.ndarray, start_s: float, rate_hz: float, end_s: float) -> np.ndarray:
    """The frames of ``curve`` (frame k at ``start_s + k / rate_hz``) at or before ``end_s``."""
    n_keep = int(np.floor((end_s - start_s) * rate_hz + 1e-9)) + 1
    return curve[: max(0, n_keep)]
