"""Frequency and time masking of the autoencoder's inputs (SpecAugment-style, He & Ferguson).

Each input gets one frequency span and one time span: widths drawn uniformly
from [0, F) and [0, T) (F = 30 mel bands, T = 32 frames in the paper), start
drawn uniformly among the positions where the span fits. Masked cells take the
input's own mean (the paper) or zero. The autoencoder is then asked to
reconstruct the unmasked input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mer_bench.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where masks are drawn, not when parameters are checked
    import torch

Fill = Literal["mean", "zero"]
FILLS = ("mean", "zero")


@dataclass(frozen=True)
class MaskDraw:
    """Per-input spans: start and width along time (frames) and frequency (bands), each [B]."""

    time_start: torch.Tensor
    time_width: torch.Tensor
    freq_start: torch.Tensor
    freq_width: torch.Tensor


def draw_masks(batch: int, n_time: int, n_freq: int, max_freq: int, max_time: int,
               generator: torch.Generator | None = None) -> MaskDraw:
    """Draw one time and one frequency span per input (widths in [0, max) each)."""
    import torch

    if not 0 < max_freq <= n_freq or not 0 < max_time <= n_time:
        raise ConfigError(f"mask widths F={max_freq}, T={max_time} must be in (0, {n_freq}] "
                          f"and (0, {n_time}]")

    def span(max_width: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        width = torch.randint(0, max_width, (batch,), generator=generator)
        # start uniform over [0, length - width]: the span always fits
        start = (torch.rand(batch, generator=generator) * (length - width + 1)).long()
        return torch.minimum(start, length - width), width

    t0, tw = span(max_time, n_time)
    f0, fw = span(max_freq, n_freq)
    return MaskDraw(t0, tw, f0, fw)


def mask_region(draw: MaskDraw, n_time: int, n_freq: int) -> torch.Tensor:
    """Boolean [B, n_time, n_freq]: True where a cell lies in the time or the frequency span."""
    import torch

    t = torch.arange(n_time)[None, :]
    f = torch.arange(n_freq)[None, :]
    in_time = (t >= draw.time_start[:, None]) & (t < (draw.time_start + draw.time_width)[:, None])
    in_freq = (f >= draw.freq_start[:, None]) & (f < (draw.freq_start + draw.freq_width)[:, None])
    return in_time[:, :, None] | in_freq[:, None, :]


def apply_masks(x: torch.Tensor, draw: MaskDraw, fill: Fill = "mean") -> torch.Tensor:
    """A masked copy of ``x`` [B, 1, time, freq] (or [B, time, freq]); ``x`` is untouched."""
    import torch

    if fill not in FILLS:
        raise ConfigError(f"mask fill must be one of {FILLS}, got {fill!r}")
    squeeze = x.dim() == 3
    x4 = x[:, None] if squeeze else x
    region = mask_region(draw, x4.shape[-2], x4.shape[-1]).to(x4.device)[:, None]
    if fill == "mean":
        value = x4.mean(dim=(1, 2, 3), keepdim=True).expand_as(x4)
    else:
        value = torch.zeros_like(x4)
    out = torch.where(region, value, x4)
    return out[:, 0] if squeeze else out


def mask_batch(x: torch.Tensor, max_freq: int, max_time: int, fill: Fill = "mean",
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw and apply one frequency and one time mask per input of ``x`` [B, 1, time, freq]."""
    draw = draw_masks(x.shape[0], x.shape[-2], x.shape[-1], max_freq, max_time, generator)
    return apply_masks(x, draw, fill)
