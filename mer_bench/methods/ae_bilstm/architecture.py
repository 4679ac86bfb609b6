"""The autoencoder's shape rules, free of torch so parameters can be checked at registration."""

from __future__ import annotations

from collections.abc import Sequence

from mer_bench.errors import ConfigError

POOLS = 3  # 216 x 128 -> 27 x 16
# where the L2 term on the first conv applies: its output (the paper's activity
# regulariser) or its kernel weights (an alternative reading)
L2_TARGETS = ("output", "kernel")


def check_filters(filters: Sequence[int]) -> tuple[int, ...]:
    """The four conv widths of the encoder (paper: 128, 64, 32, 32), validated."""
    values = tuple(int(f) for f in filters)
    if len(values) != POOLS + 1 or min(values) < 1:
        raise ConfigError(f"filters must be {POOLS + 1} positive conv widths "
                          f"(paper: 128, 64, 32, 32), got {list(filters)}")
    return values
