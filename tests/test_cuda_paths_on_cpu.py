"""The CUDA code paths that can be checked without a GPU, checked on the CPU (fast tier).

A network parked on torch's ``meta`` device stands in for one on CUDA: every
input a predict path builds must be moved to the network's device before the
forward pass (a probe asserts it), and every result must come back on the CPU.
The rest are the device choices themselves ($MER_BENCH_DEVICE, half precision,
Lightning's mixed precision on a CPU) and a scan of the source for CUDA calls
that only fail on a GPU (``.cuda()``, unconditional pinned memory, non-blocking
copies from unpinned memory). What needs a real GPU is in ``make test-gpu``.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from mer_bench.errors import ConfigError
from mer_bench.features._frontends import (
    DEVICE_ENV,
    check_half,
    empty_module,
    pick_device,
    run_batched,
)

META = torch.device("meta")
SOURCE = Path(__file__).resolve().parents[1] / "mer_bench"


class Probe(nn.Module):
    """A network whose weights live on ``meta``: asserts its inputs were moved there and
    answers zeros of ``shape(x)`` on the CPU (what ``.cpu()`` would hand back)."""

    def __init__(self, shape) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(1, device=META))
        self.shape = shape
        self.calls = 0

    def forward(self, x: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        assert x.device == META, f"an input on {x.device} reached a network on meta"
        self.calls += 1
        return torch.zeros(self.shape(x))


def test_run_batched_moves_every_chunk_to_the_device_and_returns_float32_on_the_cpu():
    seen: list[tuple[torch.device, torch.dtype]] = []

    def forward(chunk: torch.Tensor) -> torch.Tensor:
        seen.append((chunk.device, chunk.dtype))
        return torch.ones(chunk.shape[0], 3, dtype=chunk.dtype)

    out = run_batched(forward, np.zeros((5, 4), np.float32), 2, META, half=True)
    assert seen == [(META, torch.float16)] * 3
    assert out.shape == (5, 3) and out.dtype == np.float32


def test_pick_device_follows_the_environment_and_refuses_cuda_without_a_gpu(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.setenv(DEVICE_ENV, "not-a-device")
    with pytest.raises(ConfigError, match="not a torch device"):
        pick_device()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(DEVICE_ENV, "cuda:1")
    with pytest.raises(ConfigError, match="no CUDA device"):
        pick_device()
    monkeypatch.setenv(DEVICE_ENV, "auto")
    assert pick_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device().type == "cuda"  # auto takes the GPU where there is one


def test_half_precision_inference_is_refused_off_cuda():
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        check_half(True, torch.device("cpu"))
    check_half(True, torch.device("cuda"))
    check_half(False, torch.device("cpu"))


def test_empty_module_materialises_on_the_device_asked_for():
    module = empty_module(lambda: nn.Linear(3, 2), META)
    assert {p.device for p in module.parameters()} == {META}


def test_sssl_segments_and_logits_follow_the_network_device():
    from mer_bench.methods.sssl.lit import Segments, predict_logits

    table = SimpleNamespace(frames=np.arange(40, dtype=np.float32).reshape(10, 4),
                            row=np.array([0, 3, 6]), n_frames=4)
    segments = Segments(table, mean=0.0, std=1.0)
    assert segments.batch(torch.tensor([0, 2]), META).device == META
    net = Probe(lambda x: (x.shape[0], 2))
    logits = predict_logits(net, segments, batch_size=2)
    assert logits.shape == (3, 2) and logits.device.type == "cpu" and net.calls == 2


def test_embedding_classifier_outputs_follow_the_network_device():
    from mer_bench.methods.embedding_classifiers.training import network_outputs

    net = Probe(lambda x: (x.shape[0], 4))
    out = network_outputs(net, [np.zeros((3, 5), np.float32), np.zeros((2, 5), np.float32)])
    assert out.shape == (2, 4) and net.calls == 1


def test_dynamic_bilstm_curves_follow_the_network_device():
    from mer_bench.methods.dynamic_va.network import predict_curves

    net = Probe(lambda x: (x.shape[0], x.shape[1], 2))
    curves = predict_curves(net, [np.zeros((3, 6), np.float32), np.zeros((5, 6), np.float32)],
                            batch_size=8)
    assert [c.shape for c in curves] == [(3, 2), (5, 2)] and curves[0].dtype == np.float64


def test_text_backbone_encodes_on_the_network_device():
    from mer_bench.methods.text2music.text_backbone import TextBackbone

    class Text(Probe):
        dim = 6

        def tokenize(self, texts, max_tokens):
            return torch.zeros(len(texts), max_tokens, dtype=torch.long), torch.ones(
                len(texts), max_tokens, dtype=torch.long)

    net = Text(lambda ids: (ids.shape[0], 6))
    out = TextBackbone.encode(net, ["calm", "angry", "sad"], 8)
    assert out.shape == (3, 6) and out.device.type == "cpu"


def test_spectrogram_masks_are_built_on_the_input_device():
    from mer_bench.methods.ae_bilstm.masking import apply_masks, draw_masks

    draw = draw_masks(2, 8, 6, max_freq=3, max_time=4, generator=torch.Generator().manual_seed(0))
    for fill in ("mean", "zero"):
        assert apply_masks(torch.zeros(2, 1, 8, 6, device=META), draw, fill).device == META


@pytest.mark.filterwarnings("ignore:.*AMP with fp16 is not supported on CPU")
def test_mixed_precision_on_a_cpu_trainer_is_bfloat16(tmp_path):
    """fp16 AMP exists only on CUDA: a CPU Trainer asked for it must run bf16, not fail."""
    from mer_bench.training import TrainerSettings, make_trainer

    for asked in ("16-mixed", "bf16-mixed"):
        trainer = make_trainer(TrainerSettings(accelerator="cpu", precision=asked), tmp_path)
        assert trainer.precision == "bf16-mixed"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert (torch.ones(2, 3) @ torch.ones(3, 2)).dtype == torch.bfloat16


# patterns that only break on a GPU: (regex, why it is refused, allowed when the line says)
CUDA_ONLY = (
    (r"\.cuda\(", "use .to(device): .cuda() ignores the device a module was put on", None),
    (r"pin_memory\s*=\s*True", "pin memory only where CUDA is available", None),
    (r"pin_memory\s*=", "pin memory only where CUDA is available", "cuda.is_available"),
    (r"non_blocking\s*=\s*True", "a non-blocking copy needs pinned memory", "pin_memory"),
    (r"torch\.device\(\s*[\"']cuda", "pick the device with features._frontends.pick_device",
     "is_available"),
)


def test_no_cuda_only_calls_in_the_code():
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, why, allowed in CUDA_ONLY:
                if re.search(pattern, code) and not (allowed and allowed in code):
                    found.append(f"{path.relative_to(SOURCE.parent)}:{n}: {why}: {line.strip()}")
    assert found == []


def test_network_methods_ask_for_a_gpu_under_ray():
    """Methods that train networks (Lightning Trainers) declare it, so ``--executor ray``
    gives their folds a GPU; embedding-classifiers' default classifier is a random forest."""
    from mer_bench.methods import METHODS

    neural = {name for name, cls in METHODS.items() if cls.trains_networks}
    assert neural >= {"ae-bilstm", "cnn-bilstm", "dynamic-bilstm", "emer-cl", "emer-cl-svr",
                      "emer-reg-bigru", "emer-reg-mlp", "segment-vote", "sssl", "text2music"}
    assert not neural & {"chance", "popular", "random-stratified", "linear", "dynamic-ridge",
                         "embedding-classifiers"}
