"""Inputs of the EMER-CL scoring benchmark, shared with the scoring tests.

The profile is the one of ``tests/test_emer_cl.py``'s Q = 10,000 check: the
paper's D = 1024 and a fixed canonical-correlation profile with 64 dimensions
at or above P = 0.4 (a CCA fitted on random data would let its spurious
correlations decide how many dimensions, and so the cost).
"""

from __future__ import annotations

import numpy as np

from mer_bench.methods.emer_cl.scoring import Embeddings, LinearCCA


def scoring_inputs(q: int, d: int = 1024, kept: int = 64,
                   seed: int = 0) -> tuple[Embeddings, LinearCCA]:
    """Random embeddings of ``q`` pairs and a CCA keeping ``kept`` of ``d`` dims at P = 0.4."""
    rng = np.random.default_rng(seed)
    kept = min(kept, d)
    rho = np.concatenate([np.linspace(0.9, 0.4, kept), np.linspace(0.39, 0.0, d - kept)])
    cca = LinearCCA(mean_m=np.zeros(d), mean_e=np.zeros(d),
                    a=rng.standard_normal((d, d)) / np.sqrt(d),
                    b=rng.standard_normal((d, d)) / np.sqrt(d), rho=rho,
                    slope_me=rho, icpt_me=np.zeros(d), slope_em=rho, icpt_em=np.zeros(d))
    emb = Embeddings(*(rng.standard_normal((q, d)) * s for s in (1, 1, 0.1, 1, 1, 0.1)))
    return emb, cca
