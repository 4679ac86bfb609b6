"""Learned dynamic valence/arousal: a (V, A) prediction per annotation step (MediaEval's 2 Hz).

Modules, one job each: ``steps`` (feature frames pooled onto each 0.5 s
annotation step), ``ridge`` (the registered ``dynamic-ridge``), ``network``
(the BiLSTM and its Lightning training) and ``bilstm`` (the registered
``dynamic-bilstm``). Importing the package registers the methods; torch is
imported only when the BiLSTM is fitted.
"""

from mer_bench.methods.dynamic_va.bilstm import DynamicBiLSTM, DynamicBiLSTMParams
from mer_bench.methods.dynamic_va.ridge import DynamicRidge, DynamicRidgeParams

__all__ = ["DynamicBiLSTM", "DynamicBiLSTMParams", "DynamicRidge", "DynamicRidgeParams"]
