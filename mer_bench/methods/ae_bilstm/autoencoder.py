"""Stage 1: the convolutional autoencoder of He & Ferguson's Table 2, trained on masked log-mels.

Encoder: conv 3x3 (128) -> maxpool 2 -> conv (64) -> maxpool -> conv (32) ->
maxpool -> conv (32); decoder: upsample -> conv (64) -> upsample -> conv (128)
-> upsample -> conv (1). 'Same' padding and ReLU after every conv, so a
216 x 128 input comes back 216 x 128 through a 27 x 16 bottleneck. The output
conv is ReLU too (the table's activation; targets log10(S + 1) are >= 0);
``output_relu=False`` makes it linear. Loss: Huber (delta 1) between the
reconstruction of the MASKED input and the UNMASKED input, plus an L2 penalty
on the OUTPUT of the first conv (after its ReLU), as Keras'
``activity_regularizer=l2(l)`` adds it: ``l * sum(a^2) / batch_size``
(``l2_on="kernel"``: ``l * sum(W^2)`` on its weights instead, Keras'
``kernel_regularizer``). Validation inputs are masked too, with the same draws
at every epoch; early stopping watches the validation Huber loss alone
(``ae_val_huber``), the reconstruction loss the paper monitors.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
from torch import nn

from mer_bench.methods.ae_bilstm.architecture import POOLS, check_filters
from mer_bench.methods.ae_bilstm.masking import Fill, mask_batch


class Encoder(nn.Module):
    """Four 3x3 convs with three 2x2 max-pools: [B, 1, 216, 128] -> [B, C4, 27, 16]."""

    def __init__(self, filters: Sequence[int] = (128, 64, 32, 32)) -> None:
        super().__init__()
        filters = check_filters(filters)
        layers: list[nn.Module] = []
        channels = 1
        for i, width in enumerate(filters):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            if i < POOLS:
                layers.append(nn.MaxPool2d(2))
            channels = width
        self.net = nn.Sequential(*layers).to(memory_format=torch.channels_last)
        self.out_channels = channels

    @property
    def first_conv(self) -> nn.Conv2d:
        return self.net[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_activity(x)[0]

    def forward_with_activity(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoding and ``sum(a^2) / batch`` of the first conv's ReLU output ``a``."""
        # channels-last halves CPU time here; it changes the memory layout, not the maths
        h = x.contiguous(memory_format=torch.channels_last)
        first = self.net[1](self.net[0](h))
        activity = first.pow(2).sum() / max(1, len(x))
        return self.net[2:](first), activity

    def embedding_dim(self, n_time: int, n_freq: int) -> int:
        """Length of a flattened segment embedding."""
        scale = 2 ** POOLS
        return self.out_channels * (n_time // scale) * (n_freq // scale)

    def l2_penalty(self) -> torch.Tensor:
        """``sum(W^2)`` of the first conv kernel (the ``l2_on="kernel"`` reading)."""
        return self.first_conv.weight.pow(2).sum()


def l2_term(encoder: Encoder, activity: torch.Tensor, l2: float, on: str) -> torch.Tensor | float:
    """The L2 term on the first conv: its output (``activity``) or its kernel, times ``l2``."""
    if not l2:
        return 0.0
    return l2 * (activity if on == "output" else encoder.l2_penalty())


class Decoder(nn.Module):
    """Table 2's decoder: upsample -> conv (C2) -> upsample -> conv (C1) -> upsample -> conv (1)."""

    def __init__(self, filters: Sequence[int] = (128, 64, 32, 32), output_relu: bool = True
                 ) -> None:
        super().__init__()
        filters = check_filters(filters)
        layers: list[nn.Module] = []
        channels = filters[-1]
        for width in reversed(filters[:POOLS - 1]):  # paper: 64 then 128
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
        layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                   nn.Conv2d(channels, 1, 3, padding=1)]
        if output_relu:
            layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers).to(memory_format=torch.channels_last)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.contiguous(memory_format=torch.channels_last))


class MaskedAutoencoder(L.LightningModule):
    """Stage-1 Lightning module: masked input in, unmasked input as the Huber target."""

    def __init__(self, filters: Sequence[int] = (128, 64, 32, 32), l2_first_conv: float = 1e-3,
                 huber_delta: float = 1.0, lr: float = 1e-3, masking: bool = True,
                 mask_freq: int = 30, mask_time: int = 32, mask_fill: Fill = "mean",
                 output_relu: bool = True, seed: int = 0, l2_on: str = "output") -> None:
        super().__init__()
        self.encoder = Encoder(filters)
        self.decoder = Decoder(filters, output_relu)
        self.l2_first_conv, self.huber_delta, self.lr = l2_first_conv, huber_delta, lr
        self.l2_on = l2_on
        self.masking, self.mask_freq, self.mask_time = masking, mask_freq, mask_time
        self.mask_fill: Fill = mask_fill
        self.seed = seed
        self._train_gen = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def _masked(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if not self.masking:
            return x
        return mask_batch(x, self.mask_freq, self.mask_time, self.mask_fill, generator)

    def _loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        z, activity = self.encoder.forward_with_activity(self._masked(x, generator))
        recon = self.decoder(z)
        huber = nn.functional.huber_loss(recon, x, delta=self.huber_delta)
        return huber + l2_term(self.encoder, activity, self.l2_first_conv, self.l2_on), huber

    def training_step(self, batch: tuple[torch.Tensor], _: int) -> torch.Tensor:
        loss, huber = self._loss(batch[0], self._train_gen)
        self.log("ae_train_loss", loss, on_step=False, on_epoch=True)
        self.log("ae_train_huber", huber, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor], index: int) -> None:
        # the same masks at every epoch, so validation losses are comparable
        generator = torch.Generator().manual_seed(self.seed * 100003 + index)
        loss, huber = self._loss(batch[0], generator)
        self.log("ae_val_loss", loss, on_step=False, on_epoch=True)
        self.log("ae_val_huber", huber, on_step=False, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)
