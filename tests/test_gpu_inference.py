"""Batched VGGish and OpenL3 inference on CUDA gives the CPU's embeddings (``-m gpu``).

Both extractors run with their ``smoke_params`` (seeded random weights, so no
download) on a batch of clips of different lengths, once with
``$MER_BENCH_DEVICE=cpu`` and once with ``cuda``. cuDNN picks other
convolution algorithms than the CPU, so values agree to float32 rounding
accumulated through the network, not bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from mer_bench.features import FEATURES
from mer_bench.features._frontends import DEVICE_ENV

pytestmark = pytest.mark.gpu


def _cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return bool(torch.cuda.is_available())


needs_cuda = pytest.mark.skipif(not _cuda(), reason="no CUDA device visible to torch")


def _waves(sr: int, seconds: tuple[float, ...] = (1.0, 2.5, 4.2, 3.0)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(int(sr * s))).astype(np.float32) for s in seconds]


@needs_cuda
@pytest.mark.parametrize("name", ["vggish", "openl3"])
def test_cuda_batch_matches_cpu(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = FEATURES.get(name)
    waves = _waves(cls.sample_rate)
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    on_cpu = cls(**cls.smoke_params).extract(waves)
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    on_gpu = cls(**cls.smoke_params).extract(waves)
    assert len(on_cpu) == len(on_gpu) == len(waves)
    for a, b in zip(on_cpu, on_gpu):
        assert a.shape == b.shape and b.dtype == np.float32
        scale = max(1e-6, float(np.abs(a).max()))
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-3 * scale)
