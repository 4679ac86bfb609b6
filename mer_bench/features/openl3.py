"""OpenL3 (Cramer et al., ICASSP 2019): the L3-Net audio embedding, in PyTorch.

The network follows openl3's ``_construct_{linear,mel128,mel256}_audio_network``:
a batch norm on the dB spectrogram, four blocks of two 3x3 convolutions (64,
128, 256, 512 filters) each followed by batch norm and ReLU, 2x2 max pooling
after the first three blocks, the last convolution (``audio_embedding_layer``)
without batch norm or ReLU, then a max pool whose size gives 512 or 6144
dimensions, flattened channels-last as Keras does. Module names are Keras'
(``batch_normalization_1..8``, ``conv2d_1..7``, ``audio_embedding_layer``), so
torchopenl3 checkpoints load as they are; the official openl3 Keras ``.h5``
files are converted on load (h5py). Koh & Dubnov compare it with VGGish.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mer_bench.errors import ConfigError, FeatureError
from mer_bench.features import weights as W
from mer_bench.features._frontends import KAPRE, OPENL3_FRONTENDS, OPENL3_SR
from mer_bench.features.base import FEATURES, FeatureExtractor

RANDOM_SEED = 0
INPUT_REPRS = ("mel256", "mel128", "linear")
CONTENT_TYPES = ("music", "env")
POOL = {  # openl3's AUDIO_POOLING_SIZES
    "linear": {6144: (8, 8), 512: (32, 24)},
    "mel128": {6144: (4, 8), 512: (16, 24)},
    "mel256": {6144: (8, 8), 512: (32, 24)},
}
CHANNELS = (64, 64, 128, 128, 256, 256, 512, 512)
_KERAS_URL = "https://github.com/marl/openl3/raw/models/"
_TORCH_URL = "https://github.com/torchopenl3/torchopenl3-models/raw/master/"


def keras_file(input_repr: str, content_type: str) -> W.WeightFile:
    stem = f"openl3_audio_{input_repr}_{content_type}"
    return W.WeightFile(f"{stem}.h5", f"{_KERAS_URL}{stem}-v0_4_0.h5.gz", gzipped=True,
                        source="openl3 v0.4.0 models branch (official Keras weights)")


def torch_file(input_repr: str, content_type: str, size: int) -> W.WeightFile:
    name = f"torchopenl3_{input_repr}_{content_type}_{size}.pth.tar"
    return W.WeightFile(name, _TORCH_URL + name, source="torchopenl3 (PyTorch port)")


def weight_slot(input_repr: str, content_type: str) -> W.WeightSlot:
    """Any of the Keras file or the two torchopenl3 files (512 and 6144 share weights)."""
    return W.WeightSlot(
        "openl3", f"{input_repr}/{content_type}",
        (keras_file(input_repr, content_type), torch_file(input_repr, content_type, 6144),
         torch_file(input_repr, content_type, 512)),
        needed_when=f"input_repr={input_repr}, content_type={content_type}",
    )


W.register(*(weight_slot(r, c) for r in INPUT_REPRS for c in CONTENT_TYPES))


@dataclass(frozen=True)
class OpenL3Params:
    """openl3's ``get_audio_embedding`` defaults: mel256, music, 6144 dimensions, 0.1 s hop,
    frames centred on their timestamps. ``random_init``: seeded untrained weights (pipeline
    smoke runs only). ``half``: float16 network on CUDA (the front end stays float32).

    ``frontend``: ``kapre-0.1.4`` (openl3 <= 0.3; the spectrograms the weights were
    trained with) or ``openl3-0.4`` (kapre 0.3 layers: end padding, magnitude into
    Slaney-scale mel filters); part of the cache key. Which one Koh & Dubnov's
    published numbers used is not stated in their paper: unknown.
    """

    input_repr: str = "mel256"
    content_type: str = "music"
    embedding_size: int = 6144
    hop_s: float = 0.1
    center: bool = True
    random_init: bool = False
    half: bool = False
    frontend: str = "kapre-0.1.4"


@FEATURES.register("openl3")
class OpenL3(FeatureExtractor):
    """L3-Net embeddings of 1 s windows every ``hop_s`` seconds: [frames, 512 or 6144].

    Audio is mono 48 kHz; frames as openl3 cuts them (``_frontends.openl3_frames``),
    spectrograms as kapre 0.1.4 computed them when the weights were trained
    (``_frontends.kapre_spectrogram``). Our loader resamples with soxr, openl3
    with resampy. Weights: ``--weights PATH`` (a torchopenl3 ``.pth.tar`` or an
    openl3 ``.h5``), else ``$TORCH_HOME/hub/checkpoints`` holding
    ``openl3_audio_{repr}_{content}.h5`` or ``torchopenl3_{repr}_{content}_{512|6144}.pth.tar``.
    """

    name = "openl3"
    version = "1"
    sample_rate = OPENL3_SR
    Params = OpenL3Params
    # smoke: small input, few frames (the full network costs ~10 GMAC per frame)
    smoke_params = {"random_init": True, "input_repr": "mel128", "embedding_size": 512,
                    "hop_s": 1.0, "center": False}
    parallel = "batch"
    batch_size = 4
    FRAME_BATCH = 16

    def __init__(self, params: Any | None = None, **overrides: Any) -> None:
        super().__init__(params, **overrides)
        p = self.params
        if p.input_repr not in INPUT_REPRS:
            raise ConfigError(f"openl3 input_repr {p.input_repr!r}; choose from {INPUT_REPRS}")
        if p.content_type not in CONTENT_TYPES:
            raise ConfigError(f"openl3 content_type {p.content_type!r}; choose {CONTENT_TYPES}")
        if p.embedding_size not in (512, 6144):
            raise ConfigError(f"openl3 embedding_size {p.embedding_size}; choose 512 or 6144")
        if p.frontend not in OPENL3_FRONTENDS:
            raise ConfigError(f"openl3 frontend {p.frontend!r}; choose from {OPENL3_FRONTENDS}")
        if not 1 / OPENL3_SR <= p.hop_s:
            raise ConfigError(f"openl3 hop_s must be positive (seconds), got {p.hop_s}")

    @property
    def dim(self) -> int:
        return self.params.embedding_size

    @property
    def hop_s(self) -> float:
        return self.params.hop_s

    @property
    def weights(self) -> str:
        return "random" if self.params.random_init else "real"

    @property
    def slot(self) -> W.WeightSlot:
        return weight_slot(self.params.input_repr, self.params.content_type)

    @property
    def weights_identity(self) -> str:
        """``random:seed0``, or the SHA-256 of the weights file (resolved on first use)."""
        if self.params.random_init:
            return f"random:seed{RANDOM_SEED}"
        return "sha256:" + W.verified(W.require(self.slot))

    def extract(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        from mer_bench.features._frontends import (
            check_half,
            kapre_spectrogram,
            openl3_04_spectrogram,
            openl3_frames,
            pick_device,
            run_batched,
            slaney_mel_basis,
            slaney_scale_mel_basis,
        )

        p = self.params
        device = pick_device()
        check_half(p.half, device)
        net = _load_network(self.weights_identity, p.input_repr, p.content_type, str(device),
                            p.half)
        n_dft, n_mels, _ = KAPRE[p.input_repr]
        old = p.frontend == "kapre-0.1.4"
        spectrogram = kapre_spectrogram if old else openl3_04_spectrogram
        mel = None
        if n_mels is not None:
            basis = slaney_mel_basis if old else slaney_scale_mel_basis
            mel = torch.from_numpy(basis(n_mels, n_dft)).float().to(device)
        pool = POOL[p.input_repr][p.embedding_size]

        def forward(frames: torch.Tensor) -> torch.Tensor:
            spec = spectrogram(frames, p.input_repr, mel)
            if device.type == "cpu":
                spec = spec.contiguous(memory_format=torch.channels_last)
            return pool_and_flatten(net(spec.half() if p.half else spec), pool)

        return [
            run_batched(forward, openl3_frames(w, p.hop_s, p.center), self.FRAME_BATCH, device)
            for w in waveforms
        ]


# --- the network ----------------------------------------------------------------------
def pool_and_flatten(maps: Any, pool: tuple[int, int]) -> Any:
    """[B, 512, h, w] maps -> [B, D]: openl3's final max pool, flattened channels-last
    ((row, column, channel) order) as Keras' ``Flatten`` does."""
    import torch

    pooled = torch.nn.functional.max_pool2d(maps, pool, pool)
    return pooled.permute(0, 2, 3, 1).flatten(1)


def layer_names() -> list[str]:
    """Keras layer names with weights, in model order: bn_1, conv2d_1, bn_2, ..., embedding."""
    names = ["batch_normalization_1"]
    for i in range(1, 9):
        names.append(f"conv2d_{i}" if i < 8 else "audio_embedding_layer")
        if i < 8:
            names.append(f"batch_normalization_{i + 1}")
    return names


def build_network() -> Any:
    """An uninitialised L3-Net audio trunk (up to ``audio_embedding_layer``)."""
    import torch
    from torch import nn

    class L3AudioNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # Keras BatchNormalization: epsilon 1e-3
            self.batch_normalization_1 = nn.BatchNorm2d(1, eps=1e-3)
            in_ch = 1
            for i, out_ch in enumerate(CHANNELS, 1):
                conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)
                self.add_module(f"conv2d_{i}" if i < 8 else "audio_embedding_layer", conv)
                if i < 8:
                    bn = nn.BatchNorm2d(out_ch, eps=1e-3)
                    self.add_module(f"batch_normalization_{i + 1}", bn)
                in_ch = out_ch

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.batch_normalization_1(x)
            for i in range(1, 8):
                x = getattr(self, f"conv2d_{i}")(x)
                x = torch.relu_(getattr(self, f"batch_normalization_{i + 1}")(x))
                if i in (2, 4, 6):
                    x = nn.functional.max_pool2d(x, 2, 2)
            return self.audio_embedding_layer(x)

    return L3AudioNet()


def fold_batch_norms_(net: Any) -> Any:
    """Fold each batch norm that follows a convolution into it (inference only).

    ``conv -> BN`` equals one convolution with weights scaled by
    ``gamma / sqrt(var + eps)`` and a shifted bias: a pass over the largest
    activations saved per layer. The input batch norm stays: it precedes
    zero padding, so folding it would change the borders.
    """
    import torch

    with torch.no_grad():
        for i in range(1, 8):
            conv = getattr(net, f"conv2d_{i}")
            bn = getattr(net, f"batch_normalization_{i + 1}")
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv.weight.mul_(scale[:, None, None, None])
            conv.bias.copy_((conv.bias - bn.running_mean) * scale + bn.bias)
            setattr(net, f"batch_normalization_{i + 1}", torch.nn.Identity())
    return net


@functools.lru_cache(maxsize=4)  # 19 MB each
def _load_network(identity: str, input_repr: str, content_type: str, device: str,
                  half: bool) -> Any:
    """The network for a weights identity, built once per process."""
    import torch

    from mer_bench.features._frontends import empty_module, seeded_init_

    net = empty_module(build_network, "cpu")
    if identity.startswith("random"):
        seeded_init_(net, RANDOM_SEED)
    else:
        load_weights(net, W.require(weight_slot(input_repr, content_type)).path)
    net = fold_batch_norms_(net.eval()).to(device)
    if device == "cpu":  # oneDNN convolutions run faster channels-last
        net = net.to(memory_format=torch.channels_last)
    return net.half() if half else net


def load_weights(net: Any, path: Path) -> None:
    """Fill ``net`` from a torchopenl3 state dict or an openl3 Keras ``.h5`` file."""
    state = keras_state_dict(path) if W.is_hdf5(path) else W.torch_load(path)
    if not isinstance(state, dict):
        raise FeatureError(f"{path} is neither a torchopenl3 state dict nor a Keras .h5 file")
    ours = net.state_dict()
    missing = [k for k in ours if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise FeatureError(f"{path} lacks L3-Net weights {missing[:4]}... "
                           f"({len(missing)} of {len(ours)} missing)")
    import torch

    picked = {}
    for key, target in ours.items():
        value = state.get(key, target)
        value = torch.as_tensor(np.asarray(value)) if not isinstance(value, torch.Tensor) else value
        if tuple(value.shape) != tuple(target.shape):
            raise FeatureError(f"{path}: {key} has shape {tuple(value.shape)}, "
                               f"L3-Net needs {tuple(target.shape)}")
        picked[key] = value.to(target.dtype)
    net.load_state_dict(picked, strict=True)


_KERAS_BN = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
             "moving_variance": "running_var"}


def keras_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Convert openl3's Keras weights to our state dict, the way Keras' ``load_weights`` does.

    Layers that hold weights are taken in file order (``layer_names``),
    skipping kapre spectrogram layers (kept in files before openl3 0.4), and
    matched by position to batch norm / convolution layers; names are not
    trusted because Keras numbers layers per session. Kernels go from Keras'
    [kh, kw, in, out] to torch's [out, in, kh, kw].
    """
    try:
        import h5py
    except ImportError:
        raise FeatureError(f"reading {path} needs h5py (pip install h5py), or use a "
                           "torchopenl3 .pth.tar checkpoint instead") from None
    layers = []
    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            for raw in root.attrs["layer_names"]:
                name = raw.decode() if isinstance(raw, bytes) else str(raw)
                group = root[name]
                weight_names = [w.decode() if isinstance(w, bytes) else str(w)
                                for w in group.attrs.get("weight_names", [])]
                if not weight_names or "spectrogram" in name.lower():
                    continue
                layers.append((name, {_leaf(w): np.asarray(group[w]) for w in weight_names}))
    except (OSError, KeyError) as exc:
        raise FeatureError(f"cannot read Keras weights from {path}: {exc}") from None
    ours = layer_names()
    if len(layers) != len(ours):
        raise FeatureError(f"{path} has {len(layers)} layers with weights "
                           f"({[n for n, _ in layers]}); the L3-Net audio network has {len(ours)}")
    state: dict[str, np.ndarray] = {}
    for (keras_name, arrays), name in zip(layers, ours):
        if name.startswith("batch_normalization"):
            if set(arrays) != set(_KERAS_BN):
                raise FeatureError(f"{path}: layer {keras_name} should be a batch norm (gamma, "
                                   f"beta, moving_mean, moving_variance), has {sorted(arrays)}")
            state.update({f"{name}.{_KERAS_BN[k]}": v for k, v in arrays.items()})
        else:
            if set(arrays) != {"kernel", "bias"} or arrays["kernel"].ndim != 4:
                raise FeatureError(f"{path}: layer {keras_name} should be a 2-D convolution "
                                   f"(kernel, bias), has {sorted(arrays)}")
            state[f"{name}.weight"] = np.ascontiguousarray(arrays["kernel"].transpose(3, 2, 0, 1))
            state[f"{name}.bias"] = arrays["bias"]
    return state


def _leaf(weight_name: str) -> str:
    """``conv2d_1/kernel:0`` -> ``kernel``."""
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]
