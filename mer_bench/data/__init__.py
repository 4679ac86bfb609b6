"""Dataset adapters. Every module here registers its adapters in ``DATASETS``.

The bases a dataset extends (see ``DatasetAdapter``'s docstring): ``AnnotatedDataset``
for audio read from a publisher's files, ``SyntheticDataset`` for generated audio,
``TextDataset`` for text passages.
"""

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS, DatasetAdapter, ValidationReport
from mer_bench.data.synthetic import SyntheticDataset
from mer_bench.data.text import TextDataset
from mer_bench.plugins import import_submodules

import_submodules(__name__)

__all__ = [
    "DATASETS",
    "AnnotatedDataset",
    "DatasetAdapter",
    "SyntheticDataset",
    "TextDataset",
    "ValidationReport",
]
