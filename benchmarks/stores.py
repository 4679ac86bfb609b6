"""Fresh MLflow sqlite stores in a fraction of a second: copies of one migrated template.

Creating an MLflow store runs its whole chain of schema migrations (seconds,
and over ten on a busy machine); every section of the suite needs a few
throw-away stores, and their creation is not what is being measured.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _template() -> Path:
    from mlflow.tracking import MlflowClient

    path = Path(tempfile.mkdtemp(prefix="mer-bench-store-")) / "template.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()  # runs the migrations
    return path


def fresh_sqlite(path: Path) -> str:
    """An empty, migrated MLflow store at ``path``; returns its ``sqlite:///`` URI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(), path)
    return f"sqlite:///{path}"
