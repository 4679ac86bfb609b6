"""Evaluation metrics: plain functions per family plus a per-task ``score``.

Importing this package registers one scorer per task ``Family`` in ``SCORERS``.
"""

from mer_bench.metrics.classification import accuracy, confusion_matrix, macro_f1, per_class_f1
from mer_bench.metrics.regression import ccc, pearson_r, r2, rmse
from mer_bench.metrics.retrieval import (
    first_relevant_ranks,
    mean_rank,
    median_rank,
    mrr,
    precision_at_k,
    recall_at_k,
    retrieval_metrics,
)
from mer_bench.metrics.scoring import SCORERS, higher_is_better, score
from mer_bench.metrics.stats import bootstrap_ci, paired_bootstrap_pvalue, t_ci, wilcoxon_pvalue

__all__ = [
    "SCORERS",
    "accuracy",
    "bootstrap_ci",
    "ccc",
    "confusion_matrix",
    "first_relevant_ranks",
    "higher_is_better",
    "macro_f1",
    "mean_rank",
    "median_rank",
    "mrr",
    "paired_bootstrap_pvalue",
    "pearson_r",
    "per_class_f1",
    "precision_at_k",
    "r2",
    "recall_at_k",
    "retrieval_metrics",
    "rmse",
    "score",
    "t_ci",
    "wilcoxon_pvalue",
]
