"""``AnnotatedDataset``: the base of every dataset read from a publisher's files.

A dataset distributed as annotation CSVs plus a folder of audio clips (DEAM,
PMEmo, 4Q, EiM, the AudioSet mood subset) extends this class: it parses the
files in ``_load_tracks`` (with ``tables``, ``curves`` and ``files``), notes
what it finds in ``self._notes``, and gets the checks every such dataset
needs in ``validate()``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from mer_bench.data.audio import AudioInfo, audio_info
from mer_bench.data.base import DatasetAdapter, ValidationReport
from mer_bench.data.files import Locator, id_sort_key
from mer_bench.data.tables import Meta, Table, read_table
from mer_bench.errors import AudioError, DatasetError
from mer_bench.hashing import sha256_file
from mer_bench.types import Track


class AnnotatedDataset(DatasetAdapter):
    """What the four file-based adapters share beyond ``DatasetAdapter``.

    ``_load_tracks`` implementations record what they find while parsing in
    ``self._notes`` (a ValidationReport used as a collector: problems and
    summary entries); ``validate()`` merges it, then runs the checks every
    dataset needs: audio files nobody annotated, audio shorter than its
    dynamic annotations, durations that disagree with the metadata, and the
    per-quadrant counts.
    """

    # a clip shorter than this (below the dataset's shortest real clip) is a short_audio
    # error, which --skip-invalid waives; one shorter than nominal_clip_s only a warning
    min_clip_s: ClassVar[float | None] = None
    nominal_clip_s: ClassVar[float | None] = None

    def __init__(self, root: Path | str | None = None) -> None:
        super().__init__(root)
        self._notes = ValidationReport(self.name, str(self.root))
        self._headers: dict[Path, AudioInfo | None] = {}
        self._check_audio_flag = True

    def validate(self, check_audio: bool = True, deep: bool = False) -> ValidationReport:
        self._check_audio_flag = check_audio
        return super().validate(check_audio, deep)

    # hooks ---------------------------------------------------------------
    def _audio_on_disk(self) -> dict[str, Path]:
        """Audio files below the audio folder(s), keyed by the id they would belong to."""
        return {}

    def _dataset_checks(self, report: ValidationReport) -> None:
        """Adapter-specific checks run after the parse notes are merged."""

    # validate() ------------------------------------------------------------
    def _validate_extra(self, report: ValidationReport) -> None:
        tracks = self.tracks()
        report.problems.extend(self._notes.problems)
        report.notices.extend(n for n in self._notes.notices if n not in report.notices)
        for key, value in self._notes.summary.items():
            report.summary.setdefault(key, value)
        self._dataset_checks(report)
        quadrants = Counter(t.effective_quadrant() for t in tracks)
        if any(q is not None for q in quadrants):
            report.summary["per quadrant"] = {f"Q{q}": quadrants.get(q, 0) for q in (1, 2, 3, 4)}
        self._check_artists(tracks, report)
        if self._check_audio_flag:
            self._check_unannotated_audio(tracks, report)
            self._check_durations(tracks, report)

    def _check_unannotated_audio(self, tracks: list[Track], report: ValidationReport) -> None:
        known = {t.id for t in tracks}
        extra = {k: p for k, p in self._audio_on_disk().items() if k not in known}
        for track_id, path in sorted(extra.items(), key=lambda kv: id_sort_key(kv[0])):
            report.add(
                "warning",
                "unannotated_audio",
                f"{path.name}: audio file without annotations (id {track_id}); it is ignored",
                track_id,
                path,
            )
        report.summary["audio without annotations"] = len(extra)

    def _check_artists(self, tracks: list[Track], report: ValidationReport) -> None:
        """Artist-disjoint splits need an artist on every track: name the ones without."""
        with_artist = sum(1 for t in tracks if t.artist)
        if not with_artist:
            return
        report.summary["artists"] = len({t.artist for t in tracks if t.artist})
        for t in tracks:
            if not t.artist:
                report.add(
                    "warning",
                    "missing_artist",
                    f"{t.id}: no artist in the metadata; "
                    "artist-disjoint splits treat it as its own artist",
                    t.id,
                )

    def _header(self, path: Path | None) -> AudioInfo | None:
        if path is None:
            return None
        if path not in self._headers:
            try:
                self._headers[path] = audio_info(path)
            except AudioError:
                self._headers[path] = None
        return self._headers[path]

    def _check_durations(self, tracks: list[Track], report: ValidationReport) -> None:
        """Audio must cover its dynamic annotations and agree with metadata durations."""
        for t in tracks:
            if t.audio_path is None or not Path(t.audio_path).is_file():
                continue
            info = self._header(Path(t.audio_path))
            if info is None:
                continue
            if self.min_clip_s is not None and info.duration_s < self.min_clip_s:
                report.add(
                    "error",
                    "short_audio",
                    f"{t.id}: {Path(t.audio_path).name} is only {info.duration_s:.2f} s long; "
                    f"no {self.name} clip is shorter than {self.min_clip_s:g} s, so it is "
                    "probably cut short. Re-download it (`--skip-invalid` leaves it out).",
                    t.id,
                    t.audio_path,
                )
                continue
            if t.dynamic_va is not None and len(t.dynamic_va):
                needed = t.dynamic_start_s + (len(t.dynamic_va) - 1) / t.dynamic_rate_hz
                if info.duration_s + 1.0 < needed:
                    report.add(
                        "warning",
                        "short_audio",
                        f"{t.id}: dynamic annotations run to {needed:.1f} s but the audio is "
                        f"{info.duration_s:.2f} s long",
                        t.id,
                        t.audio_path,
                    )
            if self.nominal_clip_s is not None and info.duration_s < self.nominal_clip_s:
                report.add(
                    "warning",
                    "short_clip",
                    f"{t.id}: clip is only {info.duration_s:.2f} s long "
                    f"(nominally at least {self.nominal_clip_s:g} s)",
                    t.id,
                    t.audio_path,
                )
            if t.duration_s is not None and abs(t.duration_s - info.duration_s) > 1.0:
                report.add(
                    "warning",
                    "duration_mismatch",
                    f"{t.id}: metadata says {t.duration_s:.2f} s, audio file is "
                    f"{info.duration_s:.2f} s",
                    t.id,
                    t.audio_path,
                )

    # helpers for subclasses ---------------------------------------------
    def _locate(self) -> Locator:
        return Locator(self.root)

    def _read_optional(self, path: Path, parse: Callable[[Table], Meta]) -> Meta:
        """Parse an optional metadata file; if it is malformed, warn and go on without it."""
        try:
            return parse(read_table(path))
        except DatasetError as exc:
            self._notes.add(
                "warning", "unreadable_metadata", f"{exc} (metadata ignored)", path=path
            )
            return {}

    def _check_known_files(
        self, known: Mapping[str, str], locator_paths: Mapping[str, Path | None]
    ) -> None:
        """Info notes for annotation files that differ from the known published copy."""
        for name, digest in known.items():
            path = locator_paths.get(name)
            if path is not None and path.is_file() and sha256_file(path) != digest:
                self._notes.add(
                    "info",
                    "checksum_mismatch",
                    f"{path.name} differs from the published copy (sha256 {digest[:12]}...); "
                    "fine if you re-saved it, otherwise re-download",
                    path=path,
                )
