"""``dynamic-ridge``: one ridge regression from a step's pooled frames to its (V, A)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.methods.dynamic_va.steps import check_dynamic, curves, step_inputs
from mer_bench.types import Family, TaskKind


@dataclass(frozen=True)
class DynamicRidgeParams:
    alpha: float = 1.0  # L2 strength on standardised inputs (as ``linear``'s regressor)


@METHODS.register("dynamic-ridge")
class DynamicRidge(Method):
    """Frame-level ridge regression for dynamic V/A (MediaEval's per-0.5 s curves).

    Each annotation step's input is the mean of the feature frames in its
    window (``dynamic_va.steps``); the inputs are standardised on the training
    steps and one scikit-learn ``Ridge`` predicts valence and arousal together.
    Every step is a sample, independent of its neighbours: the floor a sequence
    model has to clear. ``alpha`` defaults to 1.0, ``linear``'s value; a sweep
    searches 1e-3..1e3. Needs a sequence feature (``logmel``, ``mfcc-matrix``...);
    a per-clip vector is refused. No early stopping: the validation part is
    merged into training.
    """

    name = "dynamic-ridge"
    consumes = "sequences"
    supports = frozenset({Family.SEQUENCE_REGRESSION})
    Params = DynamicRidgeParams
    uses_validation = False

    @classmethod
    def search_space(cls, trial: Any, task: TaskKind | None = None) -> dict[str, Any]:
        return {"alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}

    @classmethod
    def task_params(cls, task: TaskKind) -> frozenset[str]:
        """Dynamic V/A is the only task, and it reads alpha."""
        return frozenset({"alpha"})

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """scikit-learn's constraints of the Ridge ``fit`` builds."""
        from sklearn.linear_model import Ridge

        from mer_bench.methods.param_checks import check_estimator

        check_estimator(f"method {cls.name!r}", Ridge(alpha=params.alpha), {"alpha": "alpha"})

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> DynamicRidge:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        check_dynamic(train, self.name)
        x = np.concatenate(step_inputs(train)).astype(np.float64)
        y = np.concatenate(curves(train)).astype(np.float64)
        self._model = make_pipeline(StandardScaler(), Ridge(alpha=self.params.alpha)).fit(x, y)
        return self

    def predict(self, data: FoldData) -> list[np.ndarray]:
        """One [T_i, 2] curve per track, T_i the length of its annotated curve."""
        check_dynamic(data, self.name)
        return [self._model.predict(x.astype(np.float64)) for x in step_inputs(data)]
