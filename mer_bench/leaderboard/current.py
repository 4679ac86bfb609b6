"""Which finished runs are on the data as it is now: the newest fingerprint of each data key.

Every run carries its data fingerprint, its data key (what should give the
same fingerprint when nothing on disk changed: dataset and its parameters,
task, protocol, track selection) and when a bench last found that data
current (``data_seen``). After a dataset changes (a completed download, a
fixed clip, corrected labels), runs on the old data stay in the store as
history, but tables show, per data key, only the runs on the most recently
seen fingerprint, and say how many runs on other data they leave out.

Runs recorded before fingerprints existed carry none: what they read cannot
be told, so they are shown only where no fingerprinted run of their (task,
dataset) exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from mer_bench.tracking.base import DATA_KEY_TAG as DATA_KEY
from mer_bench.tracking.base import FINGERPRINT_TAG as FINGERPRINT
from mer_bench.tracking.base import FoldRecord, data_seen


@dataclass(frozen=True)
class OnNewestData:
    """The records to show, and per (task, dataset) how many runs were left out."""

    records: list[FoldRecord]
    hidden_runs: dict[tuple[str, str], int]


def on_newest_data(records: Iterable[FoldRecord]) -> OnNewestData:
    """Keep each data key's records on its most recently seen fingerprint."""
    records = list(records)
    newest: dict[str, tuple[float, str]] = {}
    fingerprinted: set[tuple[str, str]] = set()
    for rec in records:
        fingerprint = rec.tag(FINGERPRINT)
        if not fingerprint:
            continue
        fingerprinted.add((rec.tag("task"), rec.tag("dataset")))
        key = rec.tag(DATA_KEY)
        candidate = (data_seen(rec.tags), fingerprint)
        if key not in newest or candidate > newest[key]:
            newest[key] = candidate
    kept: list[FoldRecord] = []
    hidden: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in records:
        where = (rec.tag("task"), rec.tag("dataset"))
        fingerprint = rec.tag(FINGERPRINT)
        current = (
            fingerprint == newest[rec.tag(DATA_KEY)][1]
            if fingerprint
            else where not in fingerprinted
        )
        if current:
            kept.append(rec)
        else:
            hidden[where].add(rec.parent_run_id)
    return OnNewestData(kept, {k: len(v) for k, v in sorted(hidden.items())})


def other_data_note(n_runs: int) -> str:
    """The sentence a table carries when runs on other data were left out ("" for none)."""
    if not n_runs:
        return ""
    runs = "run" if n_runs == 1 else "runs"
    return (
        f"{n_runs} finished {runs} of this table used other data (an older data "
        "fingerprint: the files or labels have changed since) and are not shown; they "
        "stay in MLflow (tag data_fingerprint)."
    )
