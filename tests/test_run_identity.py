"""A run is what its inputs made it: its identity covers the data it read.

The config hash says what was asked for; the data fingerprint says what was
read (track ids, labels as the task reads them, audio content, annotation
files, label corrections). A rerun on changed data is computed again, a moved
copy of the same files is not, and tables show each data key's newest data.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fakes.datasets import DEAM_2013, make_4q, make_deam, make_eim

from mer_bench.config import RunSpec
from mer_bench.data.fakes import write_clip
from mer_bench.data.fourq import ANNOTATIONS, FAKE_CLIP_S, METADATA
from mer_bench.leaderboard import build_tables, write_leaderboard
from mer_bench.leaderboard.rows import UNCHECKED_MARK
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker
from mer_bench.tracking.base import FINISHED, RUN


def _runner(tracker: InMemoryTracker | None = None) -> Runner:
    return Runner(tracker or InMemoryTracker(), RunnerSettings(plots=False, progress=False))


def _spec(root: Path, method: str = "linear", **kw) -> RunSpec:
    return RunSpec(method=method, dataset="4q", task="quadrant", features="mfcc",
                   protocol="kfold:3", dataset_root=str(root), **kw)


def _finished(tracker: InMemoryTracker) -> list:
    return [r for r in tracker.runs.values()
            if r.tags.get("kind") == RUN and r.status == FINISHED and not r.deleted]


@pytest.fixture()
def fourq(tmp_path: Path) -> Path:
    return make_4q(tmp_path / "a")


def _fingerprint(runner: Runner, root: Path) -> str:
    return runner.data.identify(resolve(_spec(root))).fingerprint


def test_fingerprint_follows_audio_labels_and_annotation_files_not_the_folder(
    fourq: Path, tmp_path: Path
) -> None:
    base = _fingerprint(_runner(), fourq)
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(fourq, moved)
    assert _fingerprint(_runner(), moved) == base  # same files elsewhere: same data

    clip = sorted(moved.glob("Q*/*.mp3"))[0]
    write_clip(clip, seconds=FAKE_CLIP_S + 1)  # one clip replaced (a fixed or completed file)
    changed_audio = _fingerprint(_runner(), moved)
    assert changed_audio != base

    for name, encoding in ((ANNOTATIONS, "utf-8"), (METADATA, "latin-1")):  # Q1 -> Q2
        text = (moved / name).read_text(encoding=encoding)
        song = clip.stem
        text = re.sub(rf'({song}"?,(?:"[^"]*",)*"?)Q1', r"\1Q2", text, count=1)
        (moved / name).write_text(text, encoding=encoding, newline="")
    changed_label = _fingerprint(_runner(), moved)
    assert changed_label not in (base, changed_audio)

    with open(moved / METADATA, "a", encoding="latin-1") as fh:  # content, not labels
        fh.write("\r\n")
    assert _fingerprint(_runner(), moved) not in (base, changed_audio, changed_label)


def test_a_run_on_changed_data_is_computed_again_and_tables_show_the_newest(
    fourq: Path, tmp_path: Path
) -> None:
    tracker = InMemoryTracker()
    first = _runner(tracker).run(resolve(_spec(fourq)))
    assert first.status == "finished"
    moved = tmp_path / "moved"
    shutil.move(str(fourq), moved)
    again = _runner(tracker).run(resolve(_spec(moved)))
    assert again.status == "skipped" and again.run_id == first.run_id  # moved, same data

    more = tmp_path / "more"  # the full download: more clips than before
    make_4q(more, per_quadrant=4)
    bigger = _runner(tracker).run(resolve(_spec(more / "MER_audio_taffc_dataset")))
    assert bigger.status == "finished" and bigger.run_id != first.run_id
    fingerprints = {r.tags["data_fingerprint"] for r in _finished(tracker)}
    assert len(_finished(tracker)) == 2 and len(fingerprints) == 2

    (table,) = build_tables(tracker.fold_records())
    assert {r.tags["data_fingerprint"] for r in tracker.runs.values()
            if r.run_id == bigger.run_id} <= {v for row in table.rows
                                             for v in row.provenance["data_fingerprint"]}
    assert table.rows[0].tracks == "16/900" and table.other_data_runs == 1
    out = write_leaderboard(tracker, tmp_path / "lb")
    assert "1 finished run of this table used other data" in out["markdown"].read_text()


def test_data_put_back_is_current_again(fourq: Path, tmp_path: Path) -> None:
    tracker = InMemoryTracker()
    _runner(tracker).run(resolve(_spec(fourq)))
    other = make_4q(tmp_path / "b", per_quadrant=4)
    _runner(tracker).run(resolve(_spec(other)))
    back = _runner(tracker).run(resolve(_spec(fourq)))  # the first copy again
    assert back.status == "skipped"
    (table,) = build_tables(tracker.fold_records())
    assert table.rows[0].tracks == "12/900" and table.other_data_runs == 1


def test_deam_unchecked_swap_is_tagged_flagged_and_the_checked_run_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MER_BENCH_EMOMUSIC_ROOT", raising=False)
    monkeypatch.delenv("MER_BENCH_DATA", raising=False)
    ids = (*DEAM_2013[:6],)
    deam = make_deam(tmp_path / "deam", dynamic=False, audio_ids=ids, ids_2013=ids)
    spec = RunSpec(method="linear", dataset="deam", task="static_va", features="mfcc",
                   protocol="kfold:2", dataset_root=str(deam), allow_missing_audio=True)
    tracker = InMemoryTracker()
    unchecked = _runner(tracker).run(resolve(spec))
    assert unchecked.status == "finished"
    (parent,) = _finished(tracker)
    assert "swap" in parent.tags["labels_unchecked"]
    (table,) = build_tables(tracker.fold_records())
    assert UNCHECKED_MARK in table.rows[0].flags

    eim = make_eim(tmp_path / "eim", ids=DEAM_2013, audio_ids=())
    monkeypatch.setenv("MER_BENCH_EMOMUSIC_ROOT", str(eim))
    checked = _runner(tracker).run(resolve(spec))  # same config hash, corrected labels
    assert checked.status == "finished" and checked.run_id != unchecked.run_id
    new = tracker.runs[checked.run_id]
    assert "labels_unchecked" not in new.tags and "deam_2013_va_swap" in new.tags[
        "label_corrections"]
    (table,) = build_tables(tracker.fold_records())
    assert UNCHECKED_MARK not in table.rows[0].flags and table.other_data_runs == 1


def test_paper_tables_read_the_newest_data_and_say_what_they_leave_out(tmp_path: Path) -> None:
    from mer_bench.papers import load_paper, summarise

    first, second = make_4q(tmp_path / "a"), make_4q(tmp_path / "b", per_quadrant=4)
    tracker = InMemoryTracker()
    results = []
    for root in (first, second):
        paper = tmp_path / "toy.yaml"
        paper.write_text(TOY.format(root=root))
        table = load_paper(paper).tables[0]
        run = resolve(table.rows[0].spec())
        outcome = _runner(tracker).run(run)
        assert outcome.status == "finished"
        (result,) = summarise([table], tracker)
        results.append(result)
    assert results[0].n == 3 and "other data" not in results[0].reason
    latest = results[1]
    assert latest.n == 3 and "1 finished run of this row used other data" in latest.reason
    bigger = [r for r in _finished(tracker) if r.tags["tracks_used"] == "16"]
    assert len(bigger) == 1


TOY = """
paper: toy
title: A toy paper
citation: nobody
tables:
  - id: t1
    caption: toy table
    rows:
      - label: 4q quadrant
        run: {{method: linear, dataset: 4q, task: quadrant, features: mfcc, protocol: "kfold:3",
               dataset_root: "{root}"}}
        metric: macro_f1
        published: 0.5
"""
