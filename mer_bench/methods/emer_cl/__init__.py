"""EMER-CL (Takashima et al., IEEE Access 2023): composite-loss embeddings for
bidirectional music <-> emotion retrieval, its loss ablations and its
regression baselines. ``method.py`` registers ``emer-cl``, ``emer-reg-mlp``
and ``emer-reg-bigru``, ``svr.py`` ``emer-cl-svr`` (Table 3); the others are its parts.
"""

from mer_bench.plugins import import_submodules

import_submodules(__name__)
