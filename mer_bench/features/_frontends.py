"""Signal front ends of the pretrained embeddings, and the torch plumbing they feed.

* VGGish: the log-mel patches of TensorFlow's ``vggish_input`` /
  ``mel_features`` (16 kHz, 25 ms periodic-Hann frames, 10 ms hop, FFT 512,
  magnitude, 64 HTK mel bands 125-7500 Hz without the DC bin,
  ``log(mel + 0.01)``, non-overlapping 96-frame patches), in float64 numpy.
* OpenL3: openl3's 1 s framing at 48 kHz and two spectrogram front ends:
  kapre 0.1.4's layers (openl3 <= 0.3, the ones the L3-Net weights were
  trained with; ``kapre_spectrogram``) and openl3 0.4's kapre 0.3 layers
  (``openl3_04_spectrogram``). openl3's own regression files put the two
  front ends' mel256 embeddings at a median cosine of 0.974 (relative L2 0.23).

Torch is imported inside functions so that importing the feature package
stays cheap.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from mer_bench.errors import ConfigError

# --- VGGish -----------------------------------------------------------------------
VGGISH_SR = 16000
VGGISH_WINDOW = 400  # 25 ms
VGGISH_HOP = 160  # 10 ms
VGGISH_FFT = 512
VGGISH_BANDS = 64
VGGISH_FMIN, VGGISH_FMAX = 125.0, 7500.0
VGGISH_LOG_OFFSET = 0.01
VGGISH_PATCH = 96  # frames per 0.96 s patch (and the hop between patches)
VGGISH_MIN_SAMPLES = VGGISH_WINDOW + (VGGISH_PATCH - 1) * VGGISH_HOP  # one full patch


def periodic_hann(n: int) -> np.ndarray:
    """Hann window of period ``n`` (one full cosine cycle, last zero dropped)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def _htk_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def htk_mel_matrix(n_mels: int, n_bins: int, sr: float, fmin: float, fmax: float) -> np.ndarray:
    """[n_bins, n_mels] triangular HTK-mel weights, unnormalised, DC bin excluded.

    Triangles are linear in mel between ``n_mels + 2`` equally spaced mel
    edges, as in TensorFlow's ``spectrogram_to_mel_matrix``.
    """
    if not 0.0 <= fmin < fmax <= sr / 2:
        raise ConfigError(f"mel band edges must satisfy 0 <= {fmin} < {fmax} <= {sr / 2}")
    bins_mel = _htk_mel(np.linspace(0.0, sr / 2, n_bins))
    edges = np.linspace(_htk_mel(fmin), _htk_mel(fmax), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


_VGGISH_MEL = htk_mel_matrix(VGGISH_BANDS, VGGISH_FFT // 2 + 1, VGGISH_SR, VGGISH_FMIN,
                             VGGISH_FMAX)


def vggish_log_mel(wave: np.ndarray) -> np.ndarray:
    """[frames, 64] log-mel frames of a 16 kHz mono waveform (no padding: whole frames only)."""
    wave = np.asarray(wave, dtype=np.float64)
    if len(wave) < VGGISH_WINDOW:
        return np.zeros((0, VGGISH_BANDS))
    frames = np.lib.stride_tricks.sliding_window_view(wave, VGGISH_WINDOW)[::VGGISH_HOP]
    magnitude = np.abs(np.fft.rfft(frames * periodic_hann(VGGISH_WINDOW), VGGISH_FFT))
    return np.log(magnitude @ _VGGISH_MEL + VGGISH_LOG_OFFSET)


def vggish_patches(wave: np.ndarray) -> np.ndarray:
    """[N, 96, 64] float32 log-mel patches, 0.96 s apart.

    A clip shorter than one patch (0.975 s) is zero-padded to one patch so
    that every clip has at least one embedding; TensorFlow's code would fail.
    """
    wave = np.asarray(wave, dtype=np.float64)
    if len(wave) < VGGISH_MIN_SAMPLES:
        wave = np.pad(wave, (0, VGGISH_MIN_SAMPLES - len(wave)))
    log_mel = vggish_log_mel(wave)
    n = 1 + (len(log_mel) - VGGISH_PATCH) // VGGISH_PATCH
    return log_mel[: n * VGGISH_PATCH].reshape(n, VGGISH_PATCH, VGGISH_BANDS).astype(np.float32)


# --- OpenL3 -------------------------------------------------------------------------
OPENL3_SR = 48000
OPENL3_HOP = 242
# input_repr -> (n_dft, n_mels or None for linear, kapre padding)
KAPRE = {"linear": (512, None, "valid"), "mel128": (2048, 128, "same"),
         "mel256": (2048, 256, "same")}
# the spectrogram front ends the openl3 feature offers
OPENL3_FRONTENDS = ("kapre-0.1.4", "openl3-0.4")


def openl3_frames(wave: np.ndarray, hop_s: float, center: bool = True) -> np.ndarray:
    """[N, 48000] one-second frames ``hop_s`` apart, as openl3's ``_preprocess_audio_batch``.

    With ``center`` the first frame is centred on t = 0 (half a frame of
    zeros in front); the end is zero-padded so every sample is covered.
    """
    wave = np.asarray(wave, dtype=np.float32)
    hop = int(hop_s * OPENL3_SR)
    if hop <= 0:
        raise ConfigError(f"openl3 hop_s must be at least {1 / OPENL3_SR:.2e} s, got {hop_s}")
    if center:
        wave = np.concatenate([np.zeros(OPENL3_SR // 2, np.float32), wave])
    n = len(wave)
    short = OPENL3_SR - n if n < OPENL3_SR else -(n - OPENL3_SR) % hop
    if short > 0:
        wave = np.concatenate([wave, np.zeros(short, np.float32)])
    return np.lib.stride_tricks.sliding_window_view(wave, OPENL3_SR)[::hop]


def slaney_mel_basis(n_mels: int, n_dft: int, sr: int = OPENL3_SR) -> np.ndarray:
    """[n_mels, n_dft // 2 + 1] mel filters as kapre 0.1.4 built them.

    kapre called librosa's ``mel(sr, n_dft, n_mels, fmin=0, fmax=sr/2,
    htk=True, norm=1)``; ``norm=1`` was the area (Slaney) normalisation that
    librosa now calls ``norm="slaney"``.
    """
    import warnings

    import librosa

    with warnings.catch_warnings():  # mel256's lowest bands are narrower than an FFT bin:
        warnings.simplefilter("ignore", UserWarning)  # empty filters, as in kapre itself
        basis = librosa.filters.mel(sr=sr, n_fft=n_dft, n_mels=n_mels, fmin=0.0, fmax=sr / 2,
                                    htk=True, norm="slaney")
    return basis.astype(np.float64)


def kapre_spectrogram(frames: Any, input_repr: str, mel_basis: Any | None = None) -> Any:
    """[B, 48000] torch frames -> [B, 1, F, T] dB spectrograms as the L3-Net saw them.

    kapre 0.1.4 (openl3 <= 0.3): a periodic-Hann DFT with hop 242 over each
    frame ('same' zero padding of 982 samples per side for the mel inputs,
    'valid' for linear), the power spectrum; for mel inputs the power goes
    through the filters and then a square root (``power_melgram=1``), for
    linear a square root directly (``power_spectrogram=1``): both are
    magnitudes. Then ``10 log10(max(x, 1e-10))``, minus the frame's maximum,
    floored at -80 dB. (openl3 >= 0.4 moved to kapre 0.3: see
    ``openl3_04_spectrogram``; the weights were trained with this one.)
    """
    import torch

    n_dft, n_mels, padding = KAPRE[input_repr]
    x = frames
    if padding == "same":
        n_out = -(-OPENL3_SR // OPENL3_HOP)
        total = max((n_out - 1) * OPENL3_HOP + n_dft - OPENL3_SR, 0)
        x = torch.nn.functional.pad(x, (total // 2, total - total // 2))
    window = torch.hann_window(n_dft, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_dft, OPENL3_HOP, window=window, center=False, return_complex=True)
    power = spec.real.square() + spec.imag.square()  # [B, F, T]
    if n_mels is not None:
        power = torch.matmul(mel_basis, power)
    magnitude = power.sqrt()
    db = 10.0 * torch.log10(magnitude.clamp_min(1e-10))
    db = db - db.amax(dim=(1, 2), keepdim=True)
    return db.clamp_min(-80.0).unsqueeze(1)


def slaney_scale_mel_basis(n_mels: int, n_dft: int, sr: int = OPENL3_SR) -> np.ndarray:
    """[n_mels, n_dft // 2 + 1] kapre 0.3's default mel filters: Slaney mel scale
    (``htk=False``), Slaney area normalisation, 0 Hz to sr / 2."""
    import warnings

    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        basis = librosa.filters.mel(sr=sr, n_fft=n_dft, n_mels=n_mels, fmin=0.0, fmax=sr / 2,
                                    htk=False, norm="slaney")
    return basis.astype(np.float64)


def openl3_04_spectrogram(frames: Any, input_repr: str, mel_basis: Any | None = None) -> Any:
    """[B, 48000] torch frames -> [B, 1, F, T] dB spectrograms as openl3 0.4 computes them.

    openl3 0.4 builds kapre 0.3's ``get_melspectrogram_layer(n_fft=2048,
    hop_length=242, pad_end=True)`` (mel inputs) or ``get_stft_magnitude_layer``
    (linear, no padding): a periodic-Hann STFT, zero padding at the END only
    (``ceil(48000 / 242)`` = 199 frames), the magnitude ``|X|``, and for mel
    inputs kapre 0.3's filters (``slaney_scale_mel_basis``: Slaney mel scale,
    not HTK) applied to that magnitude; then openl3's own
    ``kapre_v0_1_4_magnitude_to_decibel``: ``10 log10(max(x, 1e-10))`` minus
    the frame's maximum, floored at -80 dB. The linear input equals kapre
    0.1.4's.
    """
    import torch

    n_dft, n_mels, _ = KAPRE[input_repr]
    if n_mels is None:
        return kapre_spectrogram(frames, input_repr)
    x = frames
    n_out = -(-x.shape[-1] // OPENL3_HOP)
    total = (n_out - 1) * OPENL3_HOP + n_dft - x.shape[-1]
    x = torch.nn.functional.pad(x, (0, total))
    window = torch.hann_window(n_dft, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_dft, OPENL3_HOP, window=window, center=False, return_complex=True)
    magnitude = spec.abs()  # [B, F, T]
    mel = torch.matmul(mel_basis, magnitude)
    db = 10.0 * torch.log10(mel.clamp_min(1e-10))
    db = db - db.amax(dim=(1, 2), keepdim=True)
    return db.clamp_min(-80.0).unsqueeze(1)


# --- torch plumbing -----------------------------------------------------------------
DEVICE_ENV = "MER_BENCH_DEVICE"


def pick_device() -> Any:
    """``$MER_BENCH_DEVICE`` (cpu, cuda, cuda:1, ...) or CUDA when present, else CPU."""
    import torch

    wanted = os.environ.get(DEVICE_ENV, "auto").strip().lower() or "auto"
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError:
        raise ConfigError(f"${DEVICE_ENV}={wanted!r} is not a torch device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"${DEVICE_ENV}={wanted!r} but torch sees no CUDA device")
    return device


def check_half(half: bool, device: Any) -> None:
    if half and device.type != "cuda":
        raise ConfigError("half=true (float16 inference) needs a CUDA device; this run is on "
                          f"{device}. Drop half or set ${DEVICE_ENV}=cuda on a GPU machine.")


def run_batched(forward: Callable[[Any], Any], inputs: np.ndarray, batch: int, device: Any,
                half: bool = False) -> np.ndarray:
    """``forward`` over ``inputs`` in chunks of ``batch`` rows under inference mode, as float32."""
    import torch

    outputs = []
    with torch.inference_mode():
        for i in range(0, len(inputs), batch):
            # frames may be a read-only strided view: copy each chunk, never the whole clip
            rows = np.require(inputs[i : i + batch], np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
            chunk = torch.from_numpy(rows).to(device)
            out = forward(chunk.half() if half else chunk)
            outputs.append(out.float().cpu().numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)


def seeded_init_(module: Any, seed: int) -> None:
    """Deterministic untrained weights (``--random-init``), independent of torch's own RNG.

    He-uniform weights (variance 2 / fan_in) drawn from numpy's PCG64 in
    state-dict order, zero biases, identity batch norms: the same bytes on any
    machine and torch version, so random-init cache entries are reproducible.
    Fills every tensor, so ``module`` may come straight from ``to_empty``.
    """
    import torch

    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "weight" and tensor.ndim >= 2:
                bound = np.float32(math.sqrt(6.0 / int(np.prod(tensor.shape[1:]))))
                values = rng.random(tuple(tensor.shape), dtype=np.float32)
                values *= 2.0 * bound  # in place: VGGish has 72 M weights
                values -= bound
                tensor.copy_(torch.from_numpy(values))
            elif leaf in ("weight", "running_var"):
                tensor.fill_(1.0)
            else:  # biases, running means, batch counters
                tensor.zero_()


def empty_module(factory: Callable[[], Any], device: Any) -> Any:
    """``factory()`` built on the meta device and materialised uninitialised on ``device``.

    Skips torch's default initialisation (seconds for VGGish's 72 M
    parameters), which loading or ``seeded_init_`` overwrites anyway.
    """
    import torch

    with torch.device("meta"):
        module = factory()
    return module.to_empty(device=device)
