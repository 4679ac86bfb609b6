"""MLflow's metric-key rules, kept inside ``tracking``: written as MLflow allows, read
back as the scorers named them, so no reader of the tracker meets ``_at_``."""

from __future__ import annotations

import re


def metric_key(key: str) -> str:
    """MLflow allows only [A-Za-z0-9_\\-. /]; map '@' (recall@5) to '_at_'."""
    return key.replace("@", "_at_")


def metric_name(key: str) -> str:
    """The scorer's name of a stored metric (``recall_at_5`` -> ``recall@5``): readers of
    the tracker never see MLflow's key rules. Only ``_at_`` before a number is read back,
    so a name such as ``cca_dims_at_P`` stays as it was logged."""
    return re.sub(r"_at_(\d+)(?=$|_)", r"@\1", key)
