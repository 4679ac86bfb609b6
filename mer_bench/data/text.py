"""Text datasets (passages labelled with one emotion) and the embedded ``synth-text`` set.

Why: text-to-music retrieval (Won et al. 2021) queries music with passages of
text whose emotion vocabulary differs from the music's. A text dataset is a
``DatasetAdapter`` whose items are ``Track(id, audio_path=None,
tags=(emotion,), meta={"text": ..., "author": ...})``: no audio, one emotion
from ``emotion_vocabulary``. ``TextDataset`` gives every such dataset
the same validation (empty passages, unknown emotions, duplicate ids, the
problems its parser noted) and splits stratified by emotion, with the
author as the group of ``artist-disjoint``.

``synth-text`` is a small synthetic set generated in memory (nothing on
disk): sentences built from templates x subjects x emotion cues for joy,
anger, fear, sadness and serenity. Each emotion has its own cue phrases, and
about a quarter of the sentences use a cue shared by two or three emotions
("burst into tears" is joy or sadness), so a text model cannot be perfect.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mer_bench.data.base import DATASETS, DatasetAdapter, ValidationReport
from mer_bench.errors import DatasetError
from mer_bench.tasks import TEXT2MUSIC_RETRIEVAL
from mer_bench.types import Split, Task, TaskKind, Track

EMPTY_PASSAGE = "empty_passage"
_MAX_AUTHORS_LISTED = 12


def stratified_partition(
    ids: Sequence[str], labels: Sequence[str], weights: Sequence[int], seed: int
) -> list[list[str]]:
    """Cut ``ids`` into ``len(weights)`` parts in proportion to integer ``weights``, per label.

    Each label's ids are shuffled with ``seed`` and cut at the rounded (half up)
    cumulative shares, so every part holds the same share of every label; ids
    keep their input order inside a part. Used for the fixed official splits.
    """
    if len(ids) != len(labels):
        raise ValueError("ids and labels differ in length")
    if not weights or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"bad partition weights {list(weights)}")
    rng = np.random.default_rng(seed)
    total = sum(weights)
    bounds = np.cumsum(weights)
    part_of: dict[str, int] = {}
    for label in sorted(set(labels)):
        members = [i for i, lab in zip(ids, labels) if lab == label]
        members = [members[k] for k in rng.permutation(len(members))]
        n, start = len(members), 0
        for part, bound in enumerate(bounds):
            stop = (n * int(bound) + total // 2) // total
            for i in members[start:stop]:
                part_of[i] = part
            start = stop
    return [[i for i in ids if part_of[i] == part] for part in range(len(weights))]


class TextDataset(DatasetAdapter):
    """Shared behaviour of the text datasets: no audio, one emotion per passage.

    Subclasses set the card constants and ``emotion_vocabulary`` and implement
    ``_load_tracks``; what their parser finds (dropped rows, cleaned quirks) goes
    into ``self._notes`` and is merged into ``validate()``.
    """

    modality = "text"
    task_kinds: ClassVar[frozenset[TaskKind]] = frozenset({TEXT2MUSIC_RETRIEVAL})
    label_scales: ClassVar[dict[str, str]] = {
        "text2music_retrieval": "one emotion word per passage (Track.tags)",
    }
    # seed of the fixed official partitions: independent of the run seed
    official_seed: ClassVar[int] = 0

    @cached_property
    def _notes(self) -> ValidationReport:
        """Collector for what the parser finds; merged into every ``validate()``."""
        return ValidationReport(self.name, str(self.root))

    # --- items -------------------------------------------------------------
    @staticmethod
    def emotion_of(track: Track) -> str | None:
        """The item's emotion (its single tag), or None when it has none."""
        return track.tags[0] if track.tags else None

    def _emotion_strata(self, tracks: Sequence[Track]) -> list[int]:
        """Integer class per item for stratification (unknown emotions after the vocabulary)."""
        order = list(self.emotion_vocabulary)
        emotions = [self.emotion_of(t) or "" for t in tracks]
        order += sorted(set(emotions) - set(order))
        index = {e: k for k, e in enumerate(order)}
        return [index[e] for e in emotions]

    # --- splits (always stratified by emotion, grouped by author) -------------
    def _strata(self, tracks: list[Track], task: Task | None) -> list[int]:
        return self._emotion_strata(tracks)

    def _groups(self, tracks: list[Track], field: str = "artist") -> list[str | None]:
        if field != "artist":
            return super()._groups(tracks, field)
        return [t.meta.get("author") or t.meta.get("artist") or None for t in tracks]

    def _stratified_official_split(self) -> Split:
        """``official_weights`` (e.g. 70/15/15) of every emotion, drawn with ``official_seed``."""
        tracks = self._tracks
        train, val, test = stratified_partition(
            [t.id for t in tracks],
            [self.emotion_of(t) or "" for t in tracks],
            self.official_weights,
            self.official_seed,
        )
        return Split("official", tuple(train), tuple(val), tuple(test))

    # --- validation ----------------------------------------------------------
    def validate(self, check_audio: bool = True, deep: bool = False) -> ValidationReport:
        """Every problem found; ``check_audio`` and ``deep`` are ignored (no audio)."""
        return super().validate(check_audio=False, deep=False)

    def _check_labels(self, tracks: list[Track], report: ValidationReport) -> None:
        super()._check_labels(tracks, report)
        vocab = self.emotion_vocabulary
        for t in tracks:
            if not (t.text or "").strip():
                report.add("error", EMPTY_PASSAGE, f"{t.id}: the passage is empty", t.id)
            if len(t.tags) != 1:
                report.add(
                    "error",
                    "bad_label",
                    f"{t.id}: {len(t.tags)} emotions {list(t.tags)}, expected exactly one",
                    t.id,
                )
            elif t.tags[0] not in vocab:
                report.add(
                    "error",
                    "bad_label",
                    f"{t.id}: emotion {t.tags[0]!r} is not one of {', '.join(vocab)}",
                    t.id,
                )

    def _validate_extra(self, report: ValidationReport) -> None:
        tracks = self.tracks()
        report.problems.extend(self._notes.problems)
        for key, value in self._notes.summary.items():
            report.summary.setdefault(key, value)
        self._summarise(tracks, report)

    def _summarise(self, tracks: list[Track], report: ValidationReport) -> None:
        """Counts per emotion and author, passage lengths, repeated passages."""
        report.summary["passages"] = len(tracks)
        emotions = Counter(self.emotion_of(t) or "(none)" for t in tracks)
        ordered = [e for e in self.emotion_vocabulary if e in emotions]
        ordered += sorted(set(emotions) - set(ordered))
        report.summary["passages per emotion"] = {e: emotions[e] for e in ordered}
        authors = Counter(t.meta.get("author") for t in tracks if t.meta.get("author"))
        if authors and len(authors) <= _MAX_AUTHORS_LISTED:
            report.summary["passages per author"] = dict(sorted(authors.items()))
        elif authors:
            sizes = sorted(authors.values())
            report.summary["authors"] = (
                f"{len(authors)}, {sizes[0]}-{sizes[-1]} passages each "
                f"(median {statistics.median(sizes):g})"
            )
        words = [len((t.text or "").split()) for t in tracks]
        if words:
            report.summary["words per passage"] = (
                f"min {min(words)}, median {statistics.median(words):g}, max {max(words)}"
            )
        first: dict[str, Track] = {}
        repeats = 0
        for t in tracks:
            key = " ".join((t.text or "").lower().split())
            if not key:
                continue
            if key in first:
                repeats += 1
                other = first[key]
                report.add(
                    "info",
                    "repeated_passage",
                    f"{t.id} ({self.emotion_of(t)}) repeats the passage of {other.id} "
                    f"({self.emotion_of(other)}): {t.text!r}",
                    t.id,
                )
            else:
                first[key] = t
        if repeats:
            report.summary["repeated passages"] = repeats


# --------------------------------------------------------------------------
# synth-text: the embedded synthetic text set
# --------------------------------------------------------------------------
SYNTH_EMOTIONS = ("joy", "anger", "fear", "sadness", "serenity")

SUBJECTS = (
    "The old fisherman",
    "My sister",
    "The young queen",
    "Our neighbour",
    "The little fox",
    "A tired traveller",
    "The baker's son",
    "Grandmother",
    "The shepherd girl",
    "The captain",
    "A small boy",
    "The widow",
)

# {s}: subject at the start of the sentence, {sl}: subject inside it, {c}: the cue
TEMPLATES = (
    "{s} {c} when the letter arrived.",
    "{s} {c} as the bells rang across the valley.",
    "At the edge of the forest, {sl} {c}.",
    "{s} read the message twice and {c}.",
    "When the door opened, {sl} {c}.",
    "{s} {c} long after the guests had gone.",
    "On the last night of winter, {sl} {c}.",
    "{s} looked at the empty road and {c}.",
    "Hearing the news, {sl} {c}.",
    "{s} {c} beside the river.",
)

# cues that belong to one emotion only
EMOTION_CUES: dict[str, tuple[str, ...]] = {
    "joy": (
        "laughed with delight",
        "danced for joy",
        "felt overjoyed",
        "could not stop grinning",
        "cheered and clapped",
        "beamed with happiness",
    ),
    "anger": (
        "shouted in fury",
        "slammed the table in rage",
        "was furious",
        "cursed bitterly",
        "glared with hatred",
        "stormed out in a rage",
    ),
    "fear": (
        "trembled with terror",
        "froze in panic",
        "felt a cold dread",
        "was frightened",
        "screamed in horror",
        "hid and shook with fear",
    ),
    "sadness": (
        "wept quietly",
        "felt heartbroken",
        "mourned in silence",
        "sank into grief",
        "sighed with sorrow",
        "felt lonely and lost",
    ),
    "serenity": (
        "rested peacefully",
        "felt calm and content",
        "breathed slowly in the quiet",
        "sat in gentle stillness",
        "felt at ease",
        "was at peace with the world",
    ),
}

# ambiguous cues: each may express any of the listed emotions
SHARED_CUES: dict[str, tuple[str, ...]] = {
    "burst into tears": ("joy", "sadness"),
    "felt a pounding heart": ("joy", "anger", "fear"),
    "could not say a word": ("anger", "fear", "sadness"),
    "stood very still": ("fear", "sadness", "serenity"),
    "smiled quietly": ("joy", "serenity"),
    "turned pale": ("anger", "fear"),
    "let out a long breath": ("sadness", "serenity"),
}
SHARED_FRACTION = 0.25  # share of sentences that use an ambiguous cue


@dataclass(frozen=True)
class SynthSentence:
    """One generated sentence and how it was built (for tests and inspection)."""

    emotion: str
    text: str
    cue: str
    shared: bool


def _lower_first(subject: str) -> str:
    return subject[0].lower() + subject[1:]


def generate_sentences(per_emotion: int, seed: int) -> list[SynthSentence]:
    """``per_emotion`` distinct sentences per emotion, deterministic from ``seed``.

    Emotions are generated in vocabulary order; the result is shuffled once so
    that ids carry no hint of the label.
    """
    if per_emotion < 1:
        raise DatasetError(f"synth-text: per_emotion must be >= 1, got {per_emotion}")
    capacity = len(TEMPLATES) * len(SUBJECTS) * len(EMOTION_CUES["joy"])
    if per_emotion > capacity:
        raise DatasetError(f"synth-text: per_emotion must be <= {capacity}, got {per_emotion}")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[SynthSentence] = []
    for emotion in SYNTH_EMOTIONS:
        shared = [cue for cue, emos in SHARED_CUES.items() if emotion in emos]
        made = 0
        while made < per_emotion:
            use_shared = bool(rng.random() < SHARED_FRACTION)
            pool = shared if use_shared else EMOTION_CUES[emotion]
            cue = pool[int(rng.integers(len(pool)))]
            subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
            template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
            text = template.format(s=subject, sl=_lower_first(subject), c=cue)
            if text in seen:
                continue
            seen.add(text)
            out.append(SynthSentence(emotion, text, cue, use_shared))
            made += 1
    return [out[k] for k in rng.permutation(len(out))]


@DATASETS.register("synth-text")
class SynthTextDataset(TextDataset):
    """Embedded synthetic text set: templated sentences for five emotions.

    Nothing is read or written: ``root`` is optional and ignored. ``seed`` and
    ``per_emotion`` (default 60, i.e. 300 sentences) may be passed as dataset
    parameters. Items have ids ``t000``... in a shuffled order and one of four
    narrators as ``author``. The official split is 70/15/15, stratified by
    emotion, fixed by ``official_seed``.
    """

    name = "synth-text"
    version = "1"
    citation = (
        "mer-bench synthetic text set (generated by mer_bench.data.text); "
        "cite the mer-bench software."
    )
    license = "generated; public domain"
    homepage = "mer_bench/data/text.py (generated in memory)"
    download_info = "generated in memory; nothing to download and no folder needed"
    emotion_vocabulary = SYNTH_EMOTIONS
    default_seed: ClassVar[int] = 0
    default_per_emotion: ClassVar[int] = 60
    n_authors: ClassVar[int] = 4
    official_weights: ClassVar[tuple[int, int, int]] = (70, 15, 15)
    smoke_params: ClassVar[Mapping[str, Any]] = {"per_emotion": 4}

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        seed: int | None = None,
        per_emotion: int | None = None,
    ) -> None:
        # no super().__init__: nothing lives on disk, so no root is required
        self.root = Path(root).expanduser() if root is not None else Path(f"<{self.name}>")
        self.seed = self.default_seed if seed is None else int(seed)
        self.per_emotion = self.default_per_emotion if per_emotion is None else int(per_emotion)

    @classmethod
    def fake_tree(cls, root: Path) -> Path:
        """Nothing to write: the set is generated in memory, so the fake tree is an empty
        folder (``smoke_params`` makes it small)."""
        root.mkdir(parents=True, exist_ok=True)
        return root

    @cached_property
    def sentences(self) -> list[SynthSentence]:
        return generate_sentences(self.per_emotion, self.seed)

    def _load_tracks(self) -> list[Track]:
        width = max(3, len(str(len(self.sentences) - 1)))
        return [
            Track(
                id=f"t{k:0{width}d}",
                audio_path=None,
                tags=(s.emotion,),
                meta={"text": s.text, "author": f"narrator{k % self.n_authors + 1}"},
            )
            for k, s in enumerate(self.sentences)
        ]

    def official_split(self) -> Split:
        return self._stratified_official_split()
