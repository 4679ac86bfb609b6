"""What ``reproduce --list`` and ``--dry-run`` say a row runs: every setting that changes
its numbers, read from the row's run spec."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mer_bench.config import RunSpec
from mer_bench.papers import PaperRow, load_papers, papers_dir

# not settings: the seed varies over a row's rounds, roots say where the data lives
NOT_SETTINGS = {"seed", "dataset_root", "target_root", "music_root"}
# fields whose value alone names them in the settings text
NAMED_BY_VALUE = {"method", "dataset", "task", "features", "protocol", "music_dataset"}


def _row(**run: Any) -> PaperRow:
    return PaperRow("toy", "t1", "a row", "accuracy", 0.5,
                    run={"method": "linear", "dataset": "pmemo", "task": "binary_valence",
                         "features": "mfcc", **run})


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _missing_from(row: PaperRow) -> list[str]:
    """Every non-default field of the row's spec whose value its settings text lacks."""
    text, spec, missing = row.settings(), row.spec(), []
    for f in dataclasses.fields(RunSpec):
        value = getattr(spec, f.name)
        if f.name in NOT_SETTINGS or value == _default(f):
            continue
        if f.name == "features" and value == "none":  # no features: it reads the audio
            continue
        if isinstance(value, Mapping):
            wanted = [f"{k}={v}" for k, v in value.items()]
        elif f.name in NAMED_BY_VALUE:
            wanted = [str(value)]
        else:
            wanted = [f"{f.name}={value}"]
        missing += [f"{f.name}: {w}" for w in wanted if w not in text]
    return missing


def test_a_row_with_kmeans_labels_says_so():
    assert "label_rule=kmeans" in _row(label_rule="kmeans").settings()
    assert "label_rule" not in _row().settings()  # the default is not a setting to read


def test_every_non_default_field_of_every_shipped_row_is_in_its_settings():
    rows = [r for p in load_papers(papers_dir()) for t in p.tables for r in t.rows
            if r.run is not None]
    assert rows
    for row in rows:
        assert not _missing_from(row), (row.paper, row.label, _missing_from(row))


def _odd_value(f: dataclasses.Field) -> Any:
    """A value other than the field's default, from its annotation."""
    kind = str(f.type)
    if kind.startswith("Mapping"):
        return {f"{f.name}_k": 1}
    if kind.startswith("bool"):
        return not _default(f)
    if kind.startswith("int"):
        return 7
    return f"{f.name}-x"


def test_a_field_added_to_run_specs_is_shown_without_being_listed():
    """Every field set away from its default (a field added later included) is shown."""
    run = {f.name: _odd_value(f) for f in dataclasses.fields(RunSpec)
           if f.name not in NOT_SETTINGS}
    row = _row(**run)
    assert not _missing_from(row)
    for root in ("dataset_root", "target_root", "music_root"):  # where data lives: not shown
        assert "/data/x" not in _row(**{root: "/data/x"}).settings()
