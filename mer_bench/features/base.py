"""The feature-extractor contract and its registry."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from mer_bench.errors import ConfigError
from mer_bench.registry import Registry
from mer_bench.types import NoParams, stable_hash


class FeatureExtractor(ABC):
    """Turns waveforms into per-clip arrays.

    ``extract`` returns one array per waveform: [dim] when ``hop_s`` is None
    (one vector per clip), else [frames, dim] with frames ``hop_s`` apart.
    ``parallel`` says how the cache fills: ``"process"`` runs one clip per
    worker process (cheap CPU code such as librosa), ``"batch"`` runs batches
    of ``batch_size`` clips in this process (neural networks).

    ``sample_rate`` is the fixed rate clips are decoded at. A method's front
    end whose ``Params`` carry a ``sample_rate`` field analyses at that rate
    instead (the class value is then only its default).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    sample_rate: ClassVar[int]
    Params: ClassVar[type] = NoParams
    smoke_params: ClassVar[dict[str, Any]] = {}  # e.g. random-init weights for tests
    parallel: ClassVar[str] = "process"
    batch_size: ClassVar[int] = 1

    def __init__(self, params: Any | None = None, **overrides: Any) -> None:
        base = params if params is not None else self.Params()
        try:
            self.params = dataclasses.replace(base, **overrides)
        except TypeError as exc:
            from mer_bench.suggest import did_you_mean

            fields = [f.name for f in dataclasses.fields(self.Params)]
            unknown = sorted(set(overrides) - set(fields))
            hint = did_you_mean(unknown[0], fields) if unknown else ""
            raise ConfigError(
                f"feature {self.name!r}: bad parameter ({exc}){hint}; known: {fields}"
            ) from None
        rate = getattr(self.params, "sample_rate", None)
        if rate is not None:
            self.sample_rate = int(rate)  # type: ignore[misc]  # set by the parameters

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of each feature vector."""

    @property
    def hop_s(self) -> float | None:
        """Seconds between frames, or None for one vector per clip."""
        return None

    @property
    def weights(self) -> str:
        """``real``, ``random`` or ``none`` (no learned weights): tagged on every run."""
        return "none"

    @property
    def weights_identity(self) -> str:
        """What the cache key records about the weights: ``weights`` unless overridden.

        Extractors with pretrained files return e.g. ``random:seed0`` or the
        files' SHA-256 (resolving them, so only call it when extraction is
        needed), never a machine-specific path.
        """
        return self.weights

    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    @property
    def params_hash(self) -> str:
        return stable_hash({"params": self.params_dict(), "weights": self.weights_identity}, 12)

    @property
    def cache_namespace(self) -> str:
        """Folder of this (extractor, version, params) in the feature cache.

        Untrained (``weights == "random"``) entries carry a visible ``-random`` suffix.
        """
        suffix = "-random" if self.weights == "random" else ""
        return f"{self.name}/{self.version}-{self.params_hash}{suffix}"

    @abstractmethod
    def extract(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """Features of mono float32 waveforms sampled at ``sample_rate``."""


FEATURES: Registry[type[FeatureExtractor]] = Registry("feature extractor", named=True)


def pool(array: np.ndarray) -> np.ndarray:
    """One vector per clip: sequences [T, D] become mean and std over time [2D]."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 1:
        return array
    return np.concatenate([array.mean(axis=0), array.std(axis=0)]).astype(np.float32)
