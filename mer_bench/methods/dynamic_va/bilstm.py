"""``dynamic-bilstm``: a bidirectional LSTM over a track's per-step inputs, (V, A) per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.methods.dynamic_va.steps import check_dynamic, curves, step_inputs
from mer_bench.types import Family, TaskKind

PREDICT_BATCH = 64  # tracks per forward pass when predicting


@dataclass(frozen=True)
class DynamicBiLSTMParams:
    hidden_size: int = 64  # units per direction
    num_layers: int = 2
    dropout: float = 0.2  # between LSTM layers and before the output layer
    lr: float = 1e-3  # Adam
    batch_size: int = 16  # tracks
    max_epochs: int = 100  # ceiling; early stopping on validation loss decides
    patience: int = 10  # epochs without a lower val_loss before stopping


@METHODS.register("dynamic-bilstm")
class DynamicBiLSTM(Method):
    """A BiLSTM sequence regressor for dynamic V/A (MediaEval's per-0.5 s curves).

    Inputs are the per-step pooled frames of ``dynamic-ridge`` (``dynamic_va.steps``),
    standardised on the training steps; a BiLSTM reads a whole track and a linear
    layer gives valence and arousal at every step, so each prediction sees the
    music before and after it. MSE over the real steps of padded batches, Adam;
    early stopping on the validation MSE (``patience``) and the best epoch's
    weights are kept (without a validation part all ``max_epochs`` run). No
    paper fixes these settings: the defaults (2 layers of 64 units per
    direction, dropout 0.2, Adam 1e-3, 16 tracks a batch, at most 100 epochs,
    patience 10) are a small model for datasets of a few hundred to two
    thousand tracks, as MediaEval's. Trained through ``ctx.make_trainer``.
    """

    name = "dynamic-bilstm"
    trains_networks = True
    consumes = "sequences"
    supports = frozenset({Family.SEQUENCE_REGRESSION})
    Params = DynamicBiLSTMParams
    smoke_params: ClassVar[dict[str, Any]] = {
        "hidden_size": 4, "num_layers": 1, "batch_size": 8, "max_epochs": 1}

    @classmethod
    def search_space(cls, trial: Any, task: TaskKind | None = None) -> dict[str, Any]:
        return {
            "hidden_size": trial.suggest_categorical("hidden_size", [16, 32, 64, 128]),
            "num_layers": trial.suggest_int("num_layers", 1, 3),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        }

    @classmethod
    def task_params(cls, task: TaskKind) -> frozenset[str]:
        """Dynamic V/A is the only task, and it reads every parameter."""
        return frozenset(DynamicBiLSTMParams.__dataclass_fields__)

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """torch's rules for the LSTM, Adam, loader and dropout; sizes and counts >= 1."""
        from mer_bench.methods import param_checks

        owner = f"method {cls.name!r}"
        param_checks.check_at_least(owner, {
            "hidden_size": params.hidden_size, "num_layers": params.num_layers,
            "max_epochs": params.max_epochs, "patience": params.patience})
        param_checks.check_optimizer(owner, "adam", params.lr)
        param_checks.check_batch_size(owner, params.batch_size)
        param_checks.check_dropout(owner, params.dropout)

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> DynamicBiLSTM:
        check_dynamic(train, self.name)  # before torch is imported: a refusal is quick
        import torch

        from mer_bench.methods.dynamic_va.network import BiLSTMRegressor, SequenceRegression

        p = self.params
        x_train = step_inputs(train)
        frames = np.concatenate(x_train).astype(np.float64)
        std = frames.std(axis=0)
        self._mean = frames.mean(axis=0).astype(np.float32)
        self._std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        torch.manual_seed(self.seed)
        net = BiLSTMRegressor(frames.shape[1], p.hidden_size, p.num_layers, p.dropout,
                              len(train.task.kind.dimensions))
        has_val = len(val) > 0
        trainer = ctx.make_trainer(max_epochs=p.max_epochs,
                                   callbacks=self._stopping() if has_val else [])
        trainer.fit(
            SequenceRegression(net, p.lr),
            self._loader(self._scaled(x_train), curves(train), shuffle=True),
            self._loader(self._scaled(step_inputs(val)), curves(val), shuffle=False)
            if has_val else None,
        )
        self._net = net.eval()
        return self

    def predict(self, data: FoldData) -> list[np.ndarray]:
        """One [T_i, 2] curve per track, T_i the length of its annotated curve."""
        from mer_bench.methods.dynamic_va.network import predict_curves

        check_dynamic(data, self.name)
        return predict_curves(self._net, self._scaled(step_inputs(data)), PREDICT_BATCH)

    def _scaled(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        return [((s - self._mean) / self._std).astype(np.float32) for s in seqs]

    def _loader(self, xs: list[np.ndarray], ys: list[np.ndarray], shuffle: bool) -> Any:
        import torch
        from torch.utils.data import DataLoader

        from mer_bench.methods.dynamic_va.network import collate

        items = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in zip(xs, ys, strict=True)]
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(items, batch_size=self.params.batch_size, shuffle=shuffle,
                          generator=generator, collate_fn=collate)

    def _stopping(self) -> list[Any]:
        """Early stopping on the validation MSE, and the best epoch's weights restored."""
        from lightning.pytorch.callbacks import EarlyStopping

        from mer_bench.training.callbacks import RestoreBest

        return [EarlyStopping(monitor="val_loss", mode="min", patience=self.params.patience),
                RestoreBest("val_loss", "min")]
