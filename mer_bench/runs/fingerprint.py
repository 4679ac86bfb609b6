"""A run's data fingerprint: what its result depends on besides its configuration.

The config hash names what was asked for (method, parameters, dataset name,
protocol, seed); it says nothing about the files. A completed download, a
fixed clip or a corrected label leaves it unchanged, so on its own it would
let a rerun keep numbers computed on other data. The fingerprint covers:

* the ids of the tracks the run uses;
* their labels as the task reads them (the target, plus the static V/A that
  fold thresholds are drawn from on classification tasks);
* each clip's audio content hash (the feature cache's own ``audio_hash_of``,
  remembered per file, so a warm rerun reads no audio) or a passage's text;
* the content of every annotation file the adapter parsed (``data.reads``);
* the label corrections applied and the defects that could not be checked.

Paths are not part of it: moving a dataset keeps its fingerprint. A run is
"already finished" only when both its config hash and its fingerprint match.

``data_key`` names what should give the same fingerprint when nothing on disk
changed (dataset and its parameters, task, protocol, track selection); the
leaderboard shows, per data key, the runs on the newest fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mer_bench.data import DatasetAdapter
from mer_bench.errors import TaskError
from mer_bench.types import Task, Track, stable_hash

AudioHash = Callable[[Path], str]


def _digest(value: Any) -> Any:
    """A JSON-able stand-in for a label value (arrays by their bytes' hash)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value, dtype=np.float64)
        return [list(array.shape), hashlib.sha256(array.tobytes()).hexdigest()[:32]]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_digest(v) for v in value]
    return value


def label_record(task: Task, track: Track) -> Any:
    """The track's label as ``task`` reads it (what a change of label must change)."""
    try:
        target = task.target(track)
    except TaskError:
        target = None
    record: list[Any] = [_digest(target)]
    if task.kind.is_classification:  # fold thresholds (label_rule: kmeans) read static V/A
        record.append(_digest(track.static_va))
    return record


def content_record(track: Track, audio_hash: AudioHash) -> str:
    """What the track's input is: its audio file's content hash, or its passage's text."""
    if track.text is not None:
        return "text:" + hashlib.sha256(track.text.encode()).hexdigest()
    if track.audio_path is None:
        return ""
    return audio_hash(Path(track.audio_path))


def adapter_record(adapter: DatasetAdapter) -> dict[str, Any]:
    """The dataset-level part: annotation files' content, corrections, unchecked defects."""
    return {
        "dataset": adapter.name,
        "annotations": adapter.annotation_digests(),
        "corrections": adapter.corrections(),
        "unchecked": adapter.unchecked_labels(),
    }


def data_fingerprint(
    task: Task,
    tracks: Mapping[str, Track],
    adapters: Iterable[DatasetAdapter],
    audio_hash: AudioHash,
) -> str:
    """Hex digest of the run's data (see the module docstring); 16 characters."""
    per_track = [
        [track_id, label_record(task, t), content_record(t, audio_hash)]
        for track_id, t in sorted(tracks.items())
    ]
    datasets = sorted((adapter_record(a) for a in adapters), key=lambda r: r["dataset"])
    return stable_hash({"tracks": per_track, "datasets": datasets})


def unchecked_text(adapters: Iterable[DatasetAdapter]) -> str:
    """What a run's labels could not be checked for ("" when nothing)."""
    notes = {k: v for a in adapters for k, v in a.unchecked_labels().items()}
    return "; ".join(notes[k] for k in sorted(notes))


def data_key(config: Mapping[str, Any]) -> str:
    """What determines a run's data apart from the files: runs sharing it should share a
    fingerprint, so the newest fingerprint of a data key is the data on disk now."""
    keys = ("dataset", "dataset_version", "dataset_params", "task", "protocol",
            "test_dataset_version", "music_dataset", "music_dataset_version",
            "music_dataset_params", "music_protocol", "allow_missing_audio", "skip_invalid",
            "label_rule")
    return stable_hash({k: config.get(k) for k in keys})
