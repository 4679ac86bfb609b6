"""Multi-label tagging metrics as MediaEval's Emotion and Theme Recognition scores them.

The organisers' ``evaluate.py`` (mtg-jamendo-dataset) calls scikit-learn's
``roc_auc_score`` and ``average_precision_score`` with ``average='macro'`` and
``'micro'`` on a tracks x tags truth matrix and the score matrix, and
``precision_recall_fscore_support`` on the 0/1 decisions. We compute the same, tag
by tag, so that the per-tag values are reported too.

Tags without a positive (or without a negative) in the scored part: scikit-learn
refuses ROC-AUC for them, and the organisers' splits are built so that every test
tag occurs. On smaller data (a fold of a small dataset) such a tag is left out of
the macro means of ROC-AUC and PR-AUC and has no per-tag AUC; ``tags_scored`` says
how many tags entered the macro means. Micro averages pool every (track, tag) cell,
as scikit-learn does. Precision, recall and F-score count an undefined ratio as 0
(scikit-learn's default, which the organisers used).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mer_bench.errors import MerBenchError
from mer_bench.metrics._checks import to_float_array

DECISION_THRESHOLD = 0.5  # scores are probabilities: a tag is decided when its score >= 0.5


def tag_arrays(y_true: Any, y_pred: Any, n_tags: int) -> tuple[np.ndarray, np.ndarray]:
    """Checked 0/1 truth and finite scores, both ``[N, n_tags]``."""
    t = to_float_array(y_true, "y_true")
    p = to_float_array(y_pred, "y_pred")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.ndim != 2 or arr.shape[1] != n_tags:
            raise MerBenchError(
                f"{name} must be [N, {n_tags}] (one column per tag), got {arr.shape}"
            )
    if len(t) != len(p):
        raise MerBenchError(f"length mismatch: y_true has {len(t)} items, y_pred has {len(p)}")
    if len(t) == 0:
        raise MerBenchError("tagging scoring needs at least one item, got 0")
    if not np.all((t == 0) | (t == 1)):
        raise MerBenchError("y_true must be 0/1 per tag (binarise soft targets first)")
    if not np.all(np.isfinite(p)):
        raise MerBenchError("tag scores contain nan/inf")
    return t.astype(int), p


def tagging_metrics(t: np.ndarray, p: np.ndarray, tags: tuple[str, ...]) -> dict[str, float]:
    """ROC-AUC and PR-AUC (macro, micro, per tag) and decision precision/recall/F."""
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    out: dict[str, float] = {}
    roc, pr = [], []
    for col, tag in enumerate(tags):
        positives = int(t[:, col].sum())
        if positives == 0 or positives == len(t):
            continue
        roc.append(float(roc_auc_score(t[:, col], p[:, col])))
        pr.append(float(average_precision_score(t[:, col], p[:, col])))
        out[f"roc_auc_{tag}"], out[f"pr_auc_{tag}"] = roc[-1], pr[-1]
    out["tags_scored"] = float(len(roc))
    out["roc_auc_macro"] = float(np.mean(roc)) if roc else float("nan")
    out["pr_auc_macro"] = float(np.mean(pr)) if pr else float("nan")
    flat_t, flat_p = t.ravel(), p.ravel()
    if 0 < flat_t.sum() < len(flat_t):
        out["roc_auc_micro"] = float(roc_auc_score(flat_t, flat_p))
        out["pr_auc_micro"] = float(average_precision_score(flat_t, flat_p))
    decisions = (p >= DECISION_THRESHOLD).astype(int)
    for average in ("macro", "micro"):
        precision, recall, f, _ = precision_recall_fscore_support(
            t, decisions, average=average, zero_division=0
        )
        out[f"precision_{average}"] = float(precision)
        out[f"recall_{average}"] = float(recall)
        out[f"f1_{average}"] = float(f)
    return out
