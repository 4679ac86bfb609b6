"""The short-chunk CNN (Won et al. 2020's music tagging front end) the paper uses for audio.

Input: a batch of log-mels [B, n_mels, T], normalised by a BatchNorm over the
single input channel. Seven blocks of 3x3 convolutions (``w`` = ``width``):
conv(w) - res(w) - conv(2w) - res(2w) - res(2w) - res(2w) - conv(4w), where a
conv block is conv-BN-ReLU-maxpool and a res block is
conv-BN-ReLU-conv-BN + input, ReLU, maxpool. Pools are 2x2 except the last
two, which pool time by 3 (frequency by 2). A 1x1 conv-BN-ReLU follows, then
a global max over what is left of frequency and time: a [B, 4w] vector. With
128 mel bands and 5 s (313 frames) the grid reaches exactly 1 x 1; a pool
never asks for more frames than remain, so shorter chunks work too.
The authors start from weights pre-trained on MagnaTagATune; none are
available offline, so the CNN starts from random weights here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (block kind, output width multiplier, pool (freq, time)) of the seven blocks
LAYOUT: tuple[tuple[str, int, tuple[int, int]], ...] = (
    ("conv", 1, (2, 2)),
    ("res", 1, (2, 2)),
    ("conv", 2, (2, 2)),
    ("res", 2, (2, 2)),
    ("res", 2, (2, 2)),
    ("res", 2, (2, 3)),
    ("conv", 4, (2, 3)),
)


def _pool(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    kernel = (min(size[0], x.shape[-2]), min(size[1], x.shape[-1]))
    return F.max_pool2d(x, kernel) if kernel != (1, 1) else x


class ConvBlock(nn.Module):
    """3x3 conv, BatchNorm, ReLU, max-pool."""

    def __init__(self, c_in: int, c_out: int, pool: tuple[int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.bn = nn.BatchNorm2d(c_out)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _pool(torch.relu(self.bn(self.conv(x))), self.pool)


class ResBlock(nn.Module):
    """Two 3x3 conv-BN with an identity shortcut, ReLU, max-pool (width unchanged)."""

    def __init__(self, channels: int, pool: tuple[int, int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return _pool(torch.relu(out + x), self.pool)


class ShortChunkCNN(nn.Module):
    """[B, n_mels, T] log-mels -> [B, 4 * width] chunk vectors."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1)
        blocks: list[nn.Module] = []
        channels = 1
        for kind, mult, pool in LAYOUT:
            out = mult * width
            blocks.append(ConvBlock(channels, out, pool) if kind == "conv" else ResBlock(out, pool))
            channels = out
        self.blocks = nn.Sequential(*blocks)
        self.project = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels))
        self.out_dim = channels

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.input_bn(mel.unsqueeze(1)))
        x = torch.relu(self.project(x))
        return x.amax(dim=(2, 3))
