"""EMER-CL (Takashima et al., IEEE Access 2023): composite-loss embeddings for
bidirectional music <-> emotion retrieval, its loss ablations and its
regression baselines. ``method.py`` registers ``emer-cl``, ``baselines.py``
``emer-reg-mlp`` and ``emer-reg-bigru``, ``svr.py`` ``emer-cl-svr`` (Table 3); the
others are its parts. Only the registering modules are imported here, so registering the methods
does not import torch or Lightning (they are imported when a method is fitted).
"""

from mer_bench.methods.emer_cl.baselines import EmerRegBiGRU, EmerRegMLP, EmerRegParams
from mer_bench.methods.emer_cl.method import EmerCL, EmerCLParams
from mer_bench.methods.emer_cl.svr import EmerCLSVR, EmerCLSVRParams

__all__ = [
    "EmerCL",
    "EmerCLParams",
    "EmerCLSVR",
    "EmerCLSVRParams",
    "EmerRegBiGRU",
    "EmerRegMLP",
    "EmerRegParams",
]
