"""``emer-cl-svr``: static V/A regression with an RBF SVR on EMER-CL's music embeddings.

Takashima et al. (IEEE Access 2023), Table 3: EMER-CL is trained on the
training fold's (music, dynamic V/A curve) pairs, every training clip is
embedded by the trained music tower, and one RBF SVR per output (valence,
arousal) is fitted on [phi], [mu, sigma] or [phi, mu, sigma], with C and gamma
chosen by grid search on R^2. The paper scores R^2 over 10 folds.

Target: the SVR fits the task's static labels and is scored against the same.
The paper regresses DEAM's time-mean of the dynamic labels and PMEmo's last
dynamic value; the datasets' option ``static_target`` (``dynamic_mean`` /
``dynamic_last``) makes those the static labels, so training and scoring use
one target.

Grid (the authors' code): C in {0.5, 1, 2, ..., 512}, gamma in {0.5, 1, 2,
32, "scale"} on the raw embeddings (no scaling), SVR's epsilon 0.1.
``scale_inputs=True`` standardises the embeddings first (our earlier choice).
Selection rule: the paper only says C and gamma were "optimised by maximising
the average R^2 after grid search"; here each fold and each axis picks them by
the mean R^2 of a shuffled ``cv_folds``-fold CV on the training fold's
embeddings (never the test fold).

Target scale: labels are on mer-bench's canonical [-1, 1]. The RBF SVR is not
scale-invariant (its epsilon-tube is absolute, and on a doubled target
SVR(C, eps) behaves as SVR(C/2, eps/2) on the original), so the paper's
settings only mean the same on the paper's scale. ``target_scale="unit"``
fits the SVR on (y + 1) / 2, PMEmo's own [0, 1] scale as in the paper, and
maps its predictions back (2 p - 1): metrics still compare canonical values,
so R^2 is unchanged by the mapping and RMSE is twice the [0, 1] RMSE (the
paper's PMEmo RMSE, doubled, stays comparable). ``canonical`` (the default)
fits [-1, 1] directly, DEAM's own scale.

Validation: nothing here selects on the protocol's validation part (the
grid search uses inner folds of the training fold), so unless EMER-CL's
early stopping is on it is merged into training, as for ``emer-cl``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.errors import ConfigError, TaskError
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.methods.emer_cl.inputs import music_sequences
from mer_bench.methods.emer_cl.method import EmerCL, EmerCLParams
from mer_bench.tasks import M2E_E2M_RETRIEVAL, STATIC_VA
from mer_bench.types import Family, TaskKind, Track

EMBEDDINGS = ("phi", "mu+sigma", "phi+mu+sigma")
AXES = ("valence", "arousal")
TARGET_SCALES = ("canonical", "unit")  # [-1, 1] as stored; [0, 1] = (y + 1) / 2
PAPER_C_GRID = tuple(2.0**k for k in range(-1, 10))  # 0.5, 1, 2, ..., 512
PAPER_GAMMA_GRID: tuple[float | str, ...] = (0.5, 1.0, 2.0, 32.0, "scale")


@dataclass(frozen=True)
class EmerCLSVRParams(EmerCLParams):
    """EMER-CL's parameters (passed on to its training) plus the SVR's (module docstring)."""

    embedding: str = "phi+mu+sigma"  # phi | mu+sigma | phi+mu+sigma (sigma = variance)
    C_grid: tuple[float, ...] = PAPER_C_GRID
    gamma_grid: tuple[float | str, ...] = PAPER_GAMMA_GRID  # numbers or "scale" (scikit-learn)
    scale_inputs: bool = False  # standardise the embeddings before the SVR (not the paper)
    epsilon: float = 0.1  # SVR's epsilon-tube (scikit-learn's default; not searched)
    cv_folds: int = 5  # inner K-fold of the grid search on the training fold
    target_scale: str = "canonical"  # canonical [-1, 1] | unit [0, 1] (PMEmo's, the paper's)


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def dynamic_curve(track: Track) -> np.ndarray | None:
    """The track's [T, 2] (valence, arousal) curve, or None when it has none."""
    if track.dynamic_va is None or len(track.dynamic_va) == 0:
        return None
    return np.asarray(track.dynamic_va, dtype=float)


def as_retrieval(data: FoldData, method: str) -> FoldData:
    """``data`` as EMER-CL's (music, dynamic curve) pairs; every track needs a curve."""
    curves = [dynamic_curve(t) for t in data.tracks]
    missing = [t.id for t, c in zip(data.tracks, curves, strict=True) if c is None]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise TaskError(
            f"{method}: track(s) {shown} have no dynamic V/A curve; the embedding is trained "
            "on (music, dynamic curve) pairs, so every training track needs one. Use a "
            "dataset with dynamic labels for all its static_va tracks (DEAM, PMEmo, emoMusic) "
            "or drop those tracks"
        )
    task = dataclasses.replace(data.task, kind=M2E_E2M_RETRIEVAL)
    return dataclasses.replace(data, task=task, targets=tuple(curves))


def stack_embedding(phi: np.ndarray, mu: np.ndarray, sigma: np.ndarray, name: str) -> np.ndarray:
    """The SVR input: [phi] (D), [mu, sigma] (2D) or [phi, mu, sigma] (3D) side by side."""
    parts = {"phi": (phi,), "mu+sigma": (mu, sigma), "phi+mu+sigma": (phi, mu, sigma)}
    if name not in parts:
        raise ConfigError(f"emer-cl-svr: embedding={name!r} is not one of {list(EMBEDDINGS)}")
    return np.concatenate(parts[name], axis=1)


@METHODS.register("emer-cl-svr")
class EmerCLSVR(Method):
    """RBF SVR per output on EMER-CL's music embeddings (paper Table 3).

    ``fit`` trains ``emer-cl`` (all its parameters apply) on the training
    fold's (music, dynamic V/A curve) pairs, embeds each training clip with
    the music tower (phi, mu and sigma = exp(log-variance)), and fits an
    ``SVR(kernel="rbf")`` per output on the task's static labels, choosing C
    and gamma with ``GridSearchCV`` (R^2, shuffled inner ``cv_folds``-fold,
    seeded) over ``C_grid`` x ``gamma_grid``. The paper's targets (DEAM's
    curve mean, PMEmo's last value) come from the datasets' ``static_target``
    option, so the model is scored against what it was trained on (module
    docstring). Prediction needs only the music:
    clips with a dynamic curve are cropped to its span as in training, clips
    without one are embedded whole. Heads a loss variant does not train
    (phi under ``loss=kl``, sigma under ``cos``) stay at their initialisation.
    """

    name = "emer-cl-svr"
    trains_networks = True
    version = "2"
    consumes = "sequences"
    supports = frozenset({Family.REGRESSION})

    @classmethod
    def supports_task(cls, task: TaskKind) -> bool:
        """Static V/A only: the regressed point is scored against emotion curves."""
        return task is STATIC_VA
    Params = EmerCLSVRParams
    smoke_params = {
        **EmerCL.smoke_params,
        "C_grid": (1.0, 10.0),
        "gamma_grid": (1.0,),
        "cv_folds": 2,
    }
    score_only_params = frozenset({"P", "direction"})  # retrieval-only: no effect here
    label_params = ("embedding",)
    label_tags = EmerCL.label_tags  # the embedding's CCA flags name the row too

    def selects_on_validation(self) -> bool:
        """Only EMER-CL's early stopping reads validation data; the SVR's grid search uses
        inner folds of the training fold (module docstring)."""
        return self.params.early_stopping_patience > 0

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "alpha": trial.suggest_float("alpha", 0.1, 128.0, log=True),
            "lam": trial.suggest_float("lam", 0.0, 1.0),
        }

    @classmethod
    def task_params(cls, task: TaskKind) -> frozenset[str]:
        """P and direction only score retrieval: the SVR on the embeddings never reads them."""
        return super().task_params(task) - {"P", "direction"}

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """EMER-CL's checks on the embedding's training, then scikit-learn's constraints of
        every SVR of the grid and of its KFold, then the domain checks of ``_check``."""
        from sklearn.model_selection import KFold
        from sklearn.svm import SVR

        from mer_bench.methods.param_checks import check_estimator, check_library

        owner = f"method {cls.name!r}"
        emer = cls(params)._emer_params()
        try:
            EmerCL.check_param_values(emer, M2E_E2M_RETRIEVAL)
        except ConfigError as exc:  # named as this method, not the embedding's
            text = str(exc)
            for prefix in (f"method {EmerCL.name!r}:", f"{EmerCL.name}:"):
                text = text.removeprefix(prefix).strip()
            raise ConfigError(f"{owner}: {text}") from None
        names = {"C_grid": "C", "gamma_grid": "gamma", "epsilon": "epsilon"}
        for c in params.C_grid:
            for gamma in params.gamma_grid:
                check_estimator(owner, SVR(kernel="rbf", C=c, gamma=gamma,
                                           epsilon=params.epsilon), names)
        check_library(owner, {"cv_folds": params.cv_folds},
                      lambda: KFold(params.cv_folds), "scikit-learn's KFold")
        cls(params)._check()

    def _check(self) -> None:
        p = self.params
        if p.embedding not in EMBEDDINGS:
            raise ConfigError(
                f"{self.name}: embedding={p.embedding!r} is not one of {list(EMBEDDINGS)}"
            )
        c_values = tuple(p.C_grid)
        if not c_values or not all(_positive_number(v) for v in c_values):
            raise ConfigError(f"{self.name}: C_grid needs positive numbers, got {c_values}")
        g_values = tuple(p.gamma_grid)
        if not g_values or not all(_positive_number(v) or v in ("scale", "auto")
                                   for v in g_values):
            raise ConfigError(f"{self.name}: gamma_grid needs positive numbers or 'scale' / "
                              f"'auto', got {g_values}")
        if p.target_scale not in TARGET_SCALES:
            raise ConfigError(f"{self.name}: target_scale={p.target_scale!r} is not one of "
                              f"{list(TARGET_SCALES)}")
        if p.epsilon < 0 or int(p.cv_folds) < 2:
            raise ConfigError(f"{self.name}: epsilon must be >= 0 and cv_folds >= 2")

    def _emer_params(self) -> EmerCLParams:
        return EmerCLParams(
            **{f.name: getattr(self.params, f.name) for f in dataclasses.fields(EmerCLParams)}
        )

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> EmerCLSVR:
        self._check()
        if train.task.kind is not STATIC_VA:
            raise TaskError(f"{self.name} supports only static_va, not {train.task.kind.value}")
        if len(train) < 2:
            raise TaskError(f"{self.name}: needs at least 2 training tracks, got {len(train)}")
        pairs = as_retrieval(train, self.name)
        y = self._to_fit_scale(train.y)
        self._emer = EmerCL(self._emer_params(), self.seed).fit(pairs, self._val(val), ctx)
        x = self.embed(train)
        self._svrs = [self._grid_search(x, y[:, k], axis, ctx) for k, axis in enumerate(AXES)]
        return self

    def _to_fit_scale(self, y: np.ndarray) -> np.ndarray:
        """Canonical [-1, 1] targets on the scale the SVR fits (``target_scale``)."""
        return (y + 1.0) / 2.0 if self.params.target_scale == "unit" else y

    def _from_fit_scale(self, y: np.ndarray) -> np.ndarray:
        """The SVR's predictions back on the canonical scale the metrics compare."""
        return 2.0 * y - 1.0 if self.params.target_scale == "unit" else y

    def _val(self, val: FoldData | None) -> FoldData | None:
        """Validation pairs (early stopping only): the val tracks that have a curve."""
        if val is None:
            return None
        keep = [i for i, t in enumerate(val.tracks) if dynamic_curve(t) is not None]
        return as_retrieval(val.subset(keep), self.name) if len(keep) >= 2 else None

    def _grid_search(self, x: np.ndarray, y: np.ndarray, axis: str, ctx: FitContext) -> Any:
        from sklearn.model_selection import GridSearchCV, KFold
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        p = self.params
        steps = [("scale", StandardScaler())] if p.scale_inputs else []
        pipe = Pipeline([*steps, ("svr", SVR(kernel="rbf", epsilon=float(p.epsilon)))])
        grid = {
            "svr__C": [float(c) for c in p.C_grid],
            "svr__gamma": [g if isinstance(g, str) else float(g) for g in p.gamma_grid],
        }
        if len(grid["svr__C"]) * len(grid["svr__gamma"]) == 1:
            best = pipe.set_params(svr__C=grid["svr__C"][0], svr__gamma=grid["svr__gamma"][0])
            best.fit(x, y)
        else:
            folds = KFold(min(int(p.cv_folds), len(y)), shuffle=True, random_state=self.seed)
            search = GridSearchCV(pipe, grid, scoring="r2", cv=folds, n_jobs=1, refit=True)
            search.fit(x, y)
            best = search.best_estimator_
        svr = best.named_steps["svr"]
        ctx.log_metrics({f"svr_C_{axis}": float(svr.C), f"svr_gamma_{axis}": float(svr._gamma)})
        return best

    def music_frames(self, data: FoldData) -> list[np.ndarray]:
        """Per-track frames, cropped to the labelled span where the track has a curve."""
        out = [np.asarray(s, dtype=np.float32) for s in data.sequences()]
        labelled = [i for i, t in enumerate(data.tracks) if dynamic_curve(t) is not None]
        if self.params.crop_to_labels and labelled:
            pairs = as_retrieval(data.subset(labelled), self.name)
            for i, seq in zip(labelled, music_sequences(pairs, True), strict=True):
                out[i] = seq
        return out

    def music_embeddings(self, data: FoldData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(phi, mu, sigma) [N, D] each from the trained music tower (float64)."""
        return self._emer.music_embeddings(data, self.music_frames(data))

    def embed(self, data: FoldData) -> np.ndarray:
        """The SVR input of each clip: the ``embedding`` parts side by side."""
        return stack_embedding(*self.music_embeddings(data), self.params.embedding)

    def predict(self, data: FoldData) -> np.ndarray:
        """[N, 2] static (valence, arousal)."""
        if len(data) == 0:
            raise TaskError(f"{self.name}: empty fold")
        x = self.embed(data)
        return self._from_fit_scale(np.stack([svr.predict(x) for svr in self._svrs], axis=1))
