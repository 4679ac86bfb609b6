"""What the numbers were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def describe() -> dict[str, Any]:
    """CPU, RAM, load, library versions, date and the git commit of the measured code."""
    import mlflow
    import numpy
    import torch

    from mer_bench.provenance import cpu_model, git_state

    sha, dirty = git_state()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_gb": _ram_gb(),
        "load_avg_1m_at_start": round(load[0], 2) if load else None,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "mlflow": mlflow.__version__,
        "platform": platform.platform(),
        "git_sha": sha,
        "git_dirty": dirty,
        "cuda": torch.cuda.is_available(),
    }
