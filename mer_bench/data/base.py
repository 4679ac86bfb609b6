"""The dataset-adapter contract and its registry (the report: ``data.validation``)."""

from __future__ import annotations

import errno
import math
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mer_bench.data.audio import TruncatedAudioError, audio_info, load_audio, reaches_end
from mer_bench.data.reads import recording, relative_digests
from mer_bench.data.splits import make_splits
from mer_bench.data.validation import Problem as Problem  # re-exported: adapters import them here
from mer_bench.data.validation import Severity as Severity
from mer_bench.data.validation import ValidationReport as ValidationReport
from mer_bench.errors import AudioError, ConfigError, DatasetError
from mer_bench.protocol import Protocol
from mer_bench.registry import Registry
from mer_bench.types import Split, Task, TaskKind, Track

# Problem codes that a user may waive for a run (the affected tracks are dropped
# and their ids logged). Anything else that is an error stops the run.
MISSING_AUDIO = "missing_audio"
UNSAFE_PATH = "unsafe_path"  # an audio path from the annotations escapes the dataset root
TRACK_LEVEL_CODES = frozenset(
    {
        MISSING_AUDIO,
        UNSAFE_PATH,
        "unreadable_audio",
        "truncated_audio",
        "audio_checksum_mismatch",  # audio differs from the publisher's checksum (--deep)
        "bad_label",
        "bad_id",
        "unannotated_audio",
        "short_audio",
        "empty_passage",
    }
)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or below it."""
    return Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(root)))


def unsafe_path_reason(path: Path, root: Path) -> str | None:
    """Why ``path`` may not be read as part of the dataset at ``root``; None when it may.

    Ids and file names come from the annotation files, so a crafted row
    (``../../secret``, a 300-character id, a NUL byte) must never reach the
    file system outside the root, nor crash a ``stat``.
    """
    try:
        if not inside(path, root):
            return f"resolves to {os.path.realpath(path)}, outside the dataset root {root}"
        path.is_file()
    except (OSError, ValueError) as exc:
        return f"is not a usable file name ({exc.__class__.__name__}: {exc})"
    return None


def _missing_root(path: Path) -> str:
    """Why a root that is no folder cannot be opened: ``exists()`` says False for a
    symlink loop and a dangling link alike, which would send the user looking for a
    folder that is there."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return (
                f"root {path} is a symlink loop (a link in that path leads back to itself); "
                "point it at the dataset folder"
            )
    if path.is_symlink():
        target = path.parent / os.readlink(path)
        return f"root {path} is a symlink to {target}, which does not exist; fix or remove the link"
    return f"root folder {path} does not exist"


class DatasetAdapter(ABC):
    """Reads one dataset as its publisher distributes it. Nothing is downloaded.

    The hierarchy, in three lines:

    * every dataset is a ``DatasetAdapter``: the card constants, ``tracks()``,
      ``splits()``, ``validate()``, ``load_audio()``, and a ``fake_tree()`` builder;
    * audio clips read from a publisher's annotation files extend ``AnnotatedDataset``
      (``data/annotated.py``); audio generated on the fly extends ``SyntheticDataset``;
    * text passages with one emotion each and no audio extend ``TextDataset`` (``data/text.py``).

    Subclasses set the class constants, implement ``_load_tracks()`` and
    ``fake_tree()``, and may override ``official_split()`` and ``_validate_extra()``.

    Fake trees (as mirdata ships fixtures): ``fake_tree(root, **options)`` writes a
    tiny copy of the dataset's published layout below ``root`` (a few tracks, the
    real file names, headers and format quirks, short real audio where the dataset
    has audio) and returns the folder to open; ``cls(folder, **cls.smoke_params)``
    then reads it. Called without options it writes a *clean* tree, one that
    ``validate()`` finds no error in; options let tests write defective variants.
    The contract tests build every registered dataset's tree, so a dataset is
    tested the moment it registers, and one without a builder fails there.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    citation: ClassVar[str]
    license: ClassVar[str]
    homepage: ClassVar[str]
    download_info: ClassVar[str]
    task_kinds: ClassVar[frozenset[TaskKind]]
    label_scales: ClassVar[dict[str, str]] = {}
    # "text" datasets hold passages (Track.text, emotion in Track.tags) and no audio
    modality: ClassVar[Literal["audio", "text"]] = "audio"
    # the emotion / mood words a track's tags use (text2music_retrieval); empty: none
    emotion_vocabulary: ClassVar[tuple[str, ...]] = ()
    # tracks in the dataset as published (None: whatever the folder holds is the whole);
    # a local copy with fewer is a subset, and leaderboard rows say so (e.g. 240/900)
    published_tracks: ClassVar[int | None] = None
    # constructor keyword arguments the fake tree is opened with (e.g. a generated
    # dataset's tiny size), as methods and extractors have ``smoke_params``
    smoke_params: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, root: Path | str | None = None) -> None:
        resolved = Path(root).expanduser() if root is not None else self.default_root()
        if resolved is None:
            env = self.root_env_var()
            raise DatasetError(
                f"no root folder given for dataset {self.name!r}: pass --root PATH or set "
                f"{env} (or MER_BENCH_DATA to a folder holding {self.name}/). "
                f"Run `mer-bench data info {self.name}` for how to obtain it."
            )
        if resolved.exists() and not resolved.is_dir():
            raise DatasetError(
                f"dataset {self.name!r}: root {resolved} is a file, not a folder. Pass the "
                f"folder that holds the dataset (run `mer-bench data info {self.name}` for the "
                "expected layout)."
            )
        if not resolved.is_dir():
            raise DatasetError(
                f"dataset {self.name!r}: {_missing_root(resolved)}. "
                f"Run `mer-bench data info {self.name}` for the expected layout."
            )
        self.root = resolved

    def missing_files(self, what: str) -> DatasetError:
        """The error of a root without the annotation file(s) the dataset is read from."""
        return DatasetError(
            f"{self.name}: no {what} below {self.root}. "
            f"Run `mer-bench data info {self.name}` for the expected layout."
        )

    def tag_share(self, kind: TaskKind) -> float | None:
        """The rater share from which a soft tag of ``kind`` counts as positive on this
        dataset instance (a dataset parameter may set it); None: the task's own rule."""
        return None

    # --- fake tree (tests) --------------------------------------------------
    @classmethod
    def fake_tree(cls, root: Path, **options: Any) -> Path:
        """Write a tiny, format-faithful copy of this dataset below ``root``; return the
        folder to pass as the adapter's root (see the class docstring)."""
        raise NotImplementedError(
            f"dataset {cls.name!r} ({cls.__module__}.{cls.__qualname__}) has no fake-tree "
            "builder: define the classmethod `fake_tree(cls, root, **options) -> Path` that "
            "writes a few tracks in the published layout (see DatasetAdapter.fake_tree), so "
            "the contract tests can load it"
        )

    # --- root resolution -------------------------------------------------
    @classmethod
    def root_env_var(cls) -> str:
        return f"MER_BENCH_{cls.name.upper().replace('-', '_')}_ROOT"

    @classmethod
    def default_root(cls) -> Path | None:
        """``$MER_BENCH_<NAME>_ROOT``, else ``$MER_BENCH_DATA/<name>``, else None."""
        if value := os.environ.get(cls.root_env_var()):
            return Path(value).expanduser()
        if value := os.environ.get("MER_BENCH_DATA"):
            return Path(value).expanduser() / cls.name
        return None

    # --- tracks ----------------------------------------------------------
    @abstractmethod
    def _load_tracks(self) -> list[Track]:
        """Parse the annotation files; called once, the result is cached."""

    @cached_property
    def _tracks(self) -> tuple[Track, ...]:
        with recording() as files:  # the annotation files the labels come from
            loaded = self._load_tracks()
        self._annotation_files = files
        return tuple(self._confine(t) for t in loaded)

    def annotation_digests(self) -> dict[str, str]:
        """``{file name relative to the root: sha256}`` of every annotation file the
        tracks were read from (part of a run's data fingerprint)."""
        self.tracks()
        return relative_digests(getattr(self, "_annotation_files", {}), self.root)

    @cached_property
    def _unsafe_paths(self) -> dict[str, str]:
        """Message per track whose audio path was refused (filled while tracks load)."""
        return {}

    def _confine(self, track: Track) -> Track:
        """``track`` without its audio path when that path is unsafe (reported by validate)."""
        if track.audio_path is None:
            return track
        reason = unsafe_path_reason(Path(track.audio_path), self.root)
        if reason is None:
            return track
        self._unsafe_paths[track.id] = (
            f"{track.id!r}: audio path {str(track.audio_path)!r}, built from that id's row in "
            f"the annotation files, {reason}; the file is not read. Correct or remove that row."
        )
        return replace(track, audio_path=None)

    def tracks(self) -> list[Track]:
        return list(self._tracks)

    @cached_property
    def _by_id(self) -> dict[str, Track]:
        return {t.id: t for t in self._tracks}

    def track(self, track_id: str) -> Track:
        try:
            return self._by_id[track_id]
        except KeyError:
            raise DatasetError(f"dataset {self.name}: no track with id {track_id!r}") from None

    def load_audio(self, track: Track, sr: int | None = None) -> np.ndarray:
        """Mono float32 waveform of ``track`` at ``sr`` (native rate when None)."""
        if track.audio_path is None and self.modality == "text":
            raise DatasetError(
                f"dataset {self.name} is a text dataset: item {track.id} is a passage with no "
                "audio. Use it as the text side of text2music_retrieval (Track.text)."
            )
        if track.audio_path is None:
            raise AudioError(f"dataset {self.name}: track {track.id} has no audio file")
        wave, _ = load_audio(track.audio_path, sr)
        return wave

    def corrections(self) -> dict[str, str]:
        """Label corrections the adapter applied (recorded as run tags)."""
        return {}

    def unchecked_labels(self) -> dict[str, str]:
        """Known label defects this copy could not be checked for (key: what it says).

        A run on such labels is tagged ``labels_unchecked`` and its leaderboard row
        flagged; once the check can be made, the corrected labels change the run's
        data fingerprint, so the corrected run is made rather than skipped.
        """
        return {}

    # --- splits ----------------------------------------------------------
    def official_split(self) -> Split | None:
        """The publisher's train/val/test split, if there is one."""
        return None

    def named_split(self, name: str) -> Split | None:
        """One of several official splits by name (``official:NAME``); None: no such split."""
        return None

    def splits(
        self,
        protocol: str | Protocol,
        seed: int,
        task: Task | None = None,
        exclude: Collection[str] = (),
    ) -> list[Split]:
        """Splits of the tracks that carry ``task``'s label, minus ``exclude``d ids."""
        skip = set(exclude)
        tracks = [
            t for t in self._tracks if t.id not in skip and (task is None or task.has_label(t))
        ]
        proto = protocol if isinstance(protocol, Protocol) else Protocol.parse(protocol)
        official = None
        if proto.kind == "official":
            official = self.named_split(proto.split_name) if proto.split_name else (
                self.official_split())
            if official is None and proto.split_name:
                raise ConfigError(
                    f"dataset {self.name!r} has no official split named {proto.split_name!r}"
                )
        return make_splits(
            [t.id for t in tracks],
            proto,
            seed,
            strata=self._strata(tracks, task),
            groups=self._groups(tracks, proto.group or "artist"),
            official=official,
        )

    def _strata(self, tracks: list[Track], task: Task | None) -> list[int] | None:
        """Class of each track for stratified splits (None: unstratified)."""
        if task is not None and task.kind.is_classification:
            return [task.target(t) for t in tracks]
        return None

    def _groups(self, tracks: list[Track], field: str = "artist") -> list[str | None]:
        """Group of each track that a disjoint protocol keeps on one side: its artist
        (``artist-disjoint``) or ``meta[field]`` (``disjoint:FIELD``)."""
        if field == "artist":
            return [t.artist for t in tracks]
        return [t.meta.get(field) or None for t in tracks]

    # --- validation --------------------------------------------------------
    def validate(self, check_audio: bool = True, deep: bool = False) -> ValidationReport:
        """Report every problem: ids, labels, audio presence and readability.

        ``deep`` decodes every audio file completely instead of reading headers.
        """
        report = ValidationReport(self.name, str(self.root))
        try:
            tracks = self.tracks()
        except DatasetError as exc:
            report.add("error", "unreadable_annotations", str(exc))
            return report
        self._check_ids(tracks, report)
        self._check_paths(report)
        self._check_labels(tracks, report)
        if check_audio:
            self._check_audio(tracks, report, deep)
        self._validate_extra(report)
        report.corrections.update(self.corrections())
        report.summary.setdefault("tracks", len(tracks))
        return report

    def _validate_extra(self, report: ValidationReport) -> None:  # noqa: B027 (optional hook)
        """Dataset-specific checks (known defects, unannotated files...)."""

    def _check_ids(self, tracks: list[Track], report: ValidationReport) -> None:
        for track_id, n in Counter(t.id for t in tracks).items():
            if n > 1:
                report.add(
                    "error", "duplicate_id", f"track id {track_id} appears {n} times", track_id
                )

    def _check_paths(self, report: ValidationReport) -> None:
        """Audio paths that would leave the root or cannot be a file name: one error each."""
        for track_id, message in self._unsafe_paths.items():
            report.add("error", UNSAFE_PATH, message, track_id)

    def _check_labels(self, tracks: list[Track], report: ValidationReport) -> None:
        for t in tracks:
            if t.static_va is not None:
                values = [float(v) for v in t.static_va]
                if any(math.isnan(v) for v in values):
                    report.add("error", "bad_label", f"{t.id}: static V/A is NaN", t.id)
                elif any(abs(v) > 1.0 + 1e-9 for v in values):
                    report.add(
                        "error", "bad_label", f"{t.id}: static V/A {values} outside [-1, 1]", t.id
                    )
            if t.dynamic_va is not None:
                dyn = np.asarray(t.dynamic_va, dtype=float)
                if dyn.ndim != 2 or dyn.shape[1] != 2:
                    report.add("error", "bad_label", f"{t.id}: dynamic V/A shape {dyn.shape}", t.id)
                elif np.isnan(dyn).any():
                    report.add("error", "bad_label", f"{t.id}: dynamic V/A contains NaN", t.id)
                elif np.abs(dyn).max(initial=0.0) > 1.0 + 1e-9:
                    report.add("error", "bad_label", f"{t.id}: dynamic V/A outside [-1, 1]", t.id)
            if t.quadrant is not None and t.quadrant not in (1, 2, 3, 4):
                report.add("error", "bad_label", f"{t.id}: quadrant {t.quadrant} not in 1..4", t.id)

    def _check_audio(self, tracks: list[Track], report: ValidationReport, deep: bool) -> None:
        present, rates = 0, Counter()
        durations: list[float] = []
        for t in tracks:
            if t.id in self._unsafe_paths:
                continue
            if t.audio_path is None or not Path(t.audio_path).is_file():
                report.add(
                    "error",
                    MISSING_AUDIO,
                    f"{t.id}: audio file missing ({t.audio_path})",
                    t.id,
                    t.audio_path,
                )
                continue
            try:
                info = audio_info(t.audio_path)
                if deep:
                    load_audio(t.audio_path)
                else:
                    reaches_end(t.audio_path, info)
            except TruncatedAudioError as exc:
                report.add("error", "truncated_audio", str(exc), t.id, t.audio_path)
                continue
            except AudioError as exc:
                report.add("error", "unreadable_audio", str(exc), t.id, t.audio_path)
                continue
            present += 1
            rates[info.sample_rate] += 1
            durations.append(info.duration_s)
        report.summary["audio files present"] = f"{present} of {len(tracks)}"
        if durations:
            report.summary["audio sample rates"] = dict(sorted(rates.items()))
            report.summary["audio durations (s)"] = (
                f"min {min(durations):.2f}, median {float(np.median(durations)):.2f}, "
                f"max {max(durations):.2f}"
            )


DATASETS: Registry[type[DatasetAdapter]] = Registry("dataset", named=True)
