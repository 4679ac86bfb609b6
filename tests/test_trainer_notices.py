"""Trainers built by ``make_trainer`` stay quiet about what the suite does on purpose."""

from __future__ import annotations

import warnings

import lightning as L
import torch

from mer_bench.training import TrainerSettings, make_trainer


class _WithValidationStep(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, _):
        (x,) = batch
        return self.layer(x).pow(2).mean()

    def validation_step(self, batch, _):  # used when a protocol gives a validation part
        (x,) = batch
        self.log("val_loss", self.layer(x).pow(2).mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_no_notice_when_validation_was_merged_into_training(tmp_path):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(4, 2)),
                                         batch_size=2)
    trainer = make_trainer(TrainerSettings(accelerator="cpu"), tmp_path, max_epochs=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_trainer(TrainerSettings(accelerator="cpu"), tmp_path, max_epochs=1)
        trainer.fit(_WithValidationStep(), train_dataloaders=loader)
    assert not [w for w in caught if "val_dataloader" in str(w.message)]
