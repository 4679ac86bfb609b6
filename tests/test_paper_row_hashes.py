"""Every paper row's run keeps its config hash (``fakes/paper_row_hashes.json``, written by
resolving each row's seed-0 run before tasks became data): a change that moved one
would orphan the finished runs a store holds for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mer_bench.papers import load_papers
from mer_bench.runs import resolve

PINNED = Path(__file__).parent / "fakes" / "paper_row_hashes.json"


@pytest.mark.slow
def test_every_pinned_paper_row_resolves_to_its_pinned_config_hash():
    pinned = json.loads(PINNED.read_text())
    got = {
        f"{p.name}:{t.id}:{r.label}": resolve(r.spec(0, {})).config_hash
        for p in load_papers() for t in p.tables for r in t.rows
        if r.run is not None and f"{p.name}:{t.id}:{r.label}" in pinned
    }
    assert len(got) == len(pinned) == 307
    moved = sorted(k for k in pinned if got[k] != pinned[k])
    assert not moved, f"{len(moved)} paper rows changed their config hash, e.g. {moved[:3]}"
