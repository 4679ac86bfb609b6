"""Emotify: Aljanaki, Wiering & Veltkamp's 400 clips with GEMS emotions from a game.

Players of the "Emotify" game heard a one-minute clip and ticked any of the nine
GEMS emotions they felt. ``data.csv`` holds one row per answer (8,407 for the 400
clips); the clips sit in ``emotifymusic/{classical,rock,electronic,pop}/{n}.mp3``.
Two tasks are declared here: ``gems_tags`` (multi-label, soft targets: the share
of a clip's answers that ticked each emotion) and ``gems_dominant`` (the emotion
most answers ticked). The quirks handled below:

* every header after the first starts with a space (``track id, genre, ...``);
* ``track id`` runs 1-400 over the genres (classical 1-100, rock 101-200,
  electronic 201-300, pop 301-400) while files are numbered 1-100 inside each
  genre folder: rock id 101 is ``rock/1.mp3``;
* 103 answers tick no emotion: those players felt none of the nine, so they
  count as raters (the denominator of every share) and tick nothing;
* the dominant emotion is tied on 57 clips: ``dominant_ties`` says what to do.
"""

from __future__ import annotations

import shutil
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS, ValidationReport
from mer_bench.data.fakes import write_clip, write_text
from mer_bench.data.files import audio_index, id_sort_key, norm_id
from mer_bench.data.tables import Table, read_table, row_problem
from mer_bench.errors import DatasetError
from mer_bench.types import Family, TaskKind, Track

ANSWERS = "data.csv"
AUDIO_DIR = "emotifymusic"
GEMS: tuple[str, ...] = (
    "amazement", "solemnity", "tenderness", "nostalgia", "calmness",
    "power", "joyful_activation", "tension", "sadness",
)
# first track id of each genre minus one: id = offset + file number (1..100)
GENRE_OFFSETS: dict[str, int] = {"classical": 0, "rock": 100, "electronic": 200, "pop": 300}
CLIPS_PER_GENRE = 100
HEADER = (
    "track id, genre, amazement, solemnity, tenderness, nostalgia, calmness, power, "
    "joyful_activation, tension, sadness, mood, liked, disliked, age, gender, mother tongue"
)

# A tag is positive (for the 0/1 metrics) when at least 30% of a clip's raters ticked it.
# On the real answers a 0.5 cut leaves 119 of 400 clips with no positive emotion at all and
# amazement positive on 3 clips; at 0.3 only 5 clips have none, a clip has 2.5 positive
# emotions on average and the rarest (amazement) is positive on 25 clips. A rater ticks
# 1.9 of the nine on average (0.21 per emotion), so 0.3 is above that base rate.
DEFAULT_POSITIVE_SHARE = 0.3
# tied dominant emotion: "drop" leaves the clip out of gems_dominant (its truth is
# ambiguous, and any pick would be scored as if it were not); "frequent" gives it to the
# tied emotion ticked most often over the whole file (the better-supported class);
# "order" to the first in the GEMS order of the file's columns (deterministic only)
TIE_RULES = ("drop", "frequent", "order")
MIN_ANSWERS = 10  # fewer answers than this make coarse shares (the real minimum is 11)

GEMS_TAGS = TaskKind.declare(
    "gems_tags", Family.TAGGING, GEMS, positive_share=DEFAULT_POSITIVE_SHARE,
    description="GEMS emotions felt, soft: the share of a clip's raters who ticked each",
)
GEMS_DOMINANT = TaskKind.declare(
    "gems_dominant", Family.CLASSIFICATION, GEMS,
    description="the GEMS emotion most of a clip's raters ticked (ties: dominant_ties)",
)

FAKE_TIE = ("solemnity", "nostalgia")  # the emotions the fake tree's last clip is tied on
FAKE_CLIP_S = 46.0  # above the nominal length, so the clean fake tree has no short clip


def id_location(track_id: int) -> tuple[str, int] | None:
    """``(genre, file number)`` of a track id 1..400 (101 -> ("rock", 1)); None outside."""
    for genre, offset in GENRE_OFFSETS.items():
        if offset < track_id <= offset + CLIPS_PER_GENRE:
            return genre, track_id - offset
    return None


@dataclass
class Clip:
    """The answers of one clip: how many, how many ticked nothing, ticks per emotion."""

    genre: str
    answers: int = 0
    empty: int = 0
    ticks: Counter[str] = field(default_factory=Counter)

    def shares(self) -> dict[str, float]:
        """Share of the raters (every answer, empty ones included) who ticked each."""
        return {g: self.ticks[g] / self.answers for g in GEMS}

    def top(self) -> list[str]:
        """The emotions with the most ticks (several: a tie), in GEMS order."""
        best = max(self.ticks[g] for g in GEMS)
        return [g for g in GEMS if self.ticks[g] == best] if best else list(GEMS)


def dominant(clip: Clip, rule: str, totals: Mapping[str, int]) -> str | None:
    """The clip's dominant emotion under a tie rule (None: dropped as tied)."""
    top = clip.top()
    if len(top) == 1:
        return top[0]
    if rule == "drop":
        return None
    if rule == "frequent":
        return max(top, key=lambda g: (totals.get(g, 0), -GEMS.index(g)))
    return top[0]


@DATASETS.register("emotify")
class EmotifyAdapter(AnnotatedDataset):
    """Emotify (Aljanaki, Wiering & Veltkamp 2016): 400 clips, GEMS emotions from a game.

    Track ids are the ``track id`` values ("1".."400"); ``meta["genre"]`` comes from
    the id range (``disjoint:genre`` leaves one genre out); ``meta["answers"]`` is the
    number of raters. Labels: ``labels["gems_tags"]`` ``{emotion: share}``,
    ``labels["gems_dominant"]`` the emotion name (absent for a tied clip under
    ``dominant_ties="drop"``). No artists, no official split.
    """

    name = "emotify"
    version = "2016"
    published_tracks = 400  # 100 per genre
    citation = (
        "Aljanaki, A., Wiering, F., & Veltkamp, R. C. (2016). Studying emotion induced by "
        "music through a crowdsourcing game. Information Processing & Management 52(1), "
        "115-128. https://doi.org/10.1016/j.ipm.2015.03.004"
    )
    license = (
        "Research data (the authors' site). The music is from Magnatune under Creative "
        "Commons BY-NC-SA: non-commercial use, never redistribute it with the project."
    )
    homepage = "http://www2.projects.science.uu.nl/memotion/emotifydata/"
    download_info = (
        "Download the annotations (data.csv) and the music (emotifymusic.zip) from "
        "http://www2.projects.science.uu.nl/memotion/emotifydata/ (nothing is downloaded by "
        "mer-bench) and unpack them side by side. Expected layout:\n"
        "  data.csv                       one row per game answer: track id, genre, the nine "
        "GEMS 0/1 ticks, mood, liked, disliked, age, gender, mother tongue\n"
        "  emotifymusic/{classical,rock,electronic,pop}/{1..100}.mp3   400 one-minute clips; "
        "track id = genre offset (0, 100, 200, 300) + file number\n"
        "Checksums: none published. Point mer-bench at it with --root or MER_BENCH_EMOTIFY_ROOT."
    )
    task_kinds = frozenset({GEMS_TAGS, GEMS_DOMINANT})
    label_scales: ClassVar[dict[str, str]] = {
        "gems_tags": "share of a clip's raters (0..1) who ticked each of the nine GEMS "
        "emotions; raters who ticked none count; positive for 0/1 metrics at positive_share",
        "gems_dominant": "the GEMS emotion with the most ticks; ties per dominant_ties",
    }
    min_clip_s: ClassVar[float | None] = 20.0  # the shortest real clip is 25.9 s
    nominal_clip_s: ClassVar[float | None] = 45.0  # one minute; four classical clips are shorter

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        positive_share: float = DEFAULT_POSITIVE_SHARE,
        dominant_ties: str = "drop",
    ) -> None:
        if isinstance(positive_share, bool) or not isinstance(positive_share, int | float) or (
            not 0.0 < float(positive_share) <= 1.0
        ):
            raise DatasetError(
                f"emotify: positive_share must lie in (0, 1], not {positive_share!r}"
            )
        if dominant_ties not in TIE_RULES:
            raise DatasetError(
                f"emotify: dominant_ties must be one of {TIE_RULES}, not {dominant_ties!r}"
            )
        super().__init__(root)
        self.positive_share = float(positive_share)
        self.dominant_ties = dominant_ties
        self._audio_dir: Path | None = None
        self._clips: dict[str, Clip] = {}

    def tag_share(self, kind: TaskKind) -> float | None:
        return self.positive_share if kind == GEMS_TAGS else None

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        loc = self._locate()
        path = loc.file(ANSWERS)
        if path is None:
            raise self.missing_files(ANSWERS)
        self._audio_dir = loc.dir(AUDIO_DIR) or path.parent / AUDIO_DIR
        clips = self._clips = self._read_answers(read_table(path))
        totals: Counter[str] = sum((c.ticks for c in clips.values()), Counter())
        tracks = [self._track(i, c, totals) for i, c in clips.items()]
        loc.report_copies(self._notes)
        self._summarise(clips, tracks)
        return sorted(tracks, key=lambda t: id_sort_key(t.id))

    def _read_answers(self, table: Table) -> dict[str, Clip]:
        id_col, genre_col = table.col("track id", "track_id"), table.col("genre", required=False)
        gems_cols = {g: table.col(g) for g in GEMS}
        clips: dict[str, Clip] = {}
        for index, row in enumerate(table.rows):
            if problem := row_problem(table, index):
                self._notes.add("error", "bad_row", problem, path=table.path)
                continue
            raw = table.cell(row, id_col)
            track_id, where = norm_id(raw), f"{table.path.name}, line {table.line(index)}"
            place = id_location(int(track_id)) if track_id.isdigit() else None
            if place is None:
                self._notes.add(
                    "error", "bad_id",
                    f"{where}: track id {raw!r} is not one of 1..400; the answer is ignored",
                    track_id or None, table.path,
                )
                continue
            named = table.cell(row, genre_col).strip().lower()
            if named and named != place[0]:
                self._notes.add(
                    "warning", "genre_mismatch",
                    f"{where}: track {track_id} is {place[0]} by its id but the row says "
                    f"{named!r}; the id decides (its audio is {place[0]}/{place[1]}.mp3)",
                    track_id, table.path,
                )
            ticks = {g: table.cell(row, c).strip() for g, c in gems_cols.items()}
            bad = {g: v for g, v in ticks.items() if v not in ("0", "1")}
            if bad:
                self._notes.add(
                    "error", "bad_label",
                    f"{where}: track {track_id}: ticks must be 0 or 1, got {bad}; "
                    "the answer is ignored",
                    track_id, table.path,
                )
                continue
            clip = clips.setdefault(track_id, Clip(place[0]))
            clip.answers += 1
            ticked = [g for g, v in ticks.items() if v == "1"]
            clip.empty += not ticked
            clip.ticks.update(ticked)
        return clips

    def _track(self, track_id: str, clip: Clip, totals: Mapping[str, int]) -> Track:
        genre, number = id_location(int(track_id))  # type: ignore[misc]  # ids were checked
        folder = (self._audio_dir or self.root / AUDIO_DIR) / genre
        path = audio_index(folder).get(str(number), folder / f"{number}.mp3")
        labels: dict[str, object] = {"gems_tags": clip.shares()}
        top = dominant(clip, self.dominant_ties, totals)
        if top is not None:
            labels["gems_dominant"] = top
        meta = {"genre": genre, "answers": str(clip.answers)}
        return Track(id=track_id, audio_path=path, meta=meta, labels=labels)

    def _summarise(self, clips: Mapping[str, Clip], tracks: Sequence[Track]) -> None:
        counts = [c.answers for c in clips.values()]
        tied = sum(len(c.top()) > 1 for c in clips.values())
        no_positive = sum(
            all(s < self.positive_share for s in t.labels["gems_tags"].values()) for t in tracks
        )
        genres = Counter(c.genre for c in clips.values())
        self._notes.summary.update(
            {
                "clips annotated": len(clips),
                "answers": sum(counts),
                "answers ticking no emotion (counted as raters)": sum(
                    c.empty for c in clips.values()
                ),
                "answers per clip": (
                    f"min {min(counts)}, median {statistics.median(counts):g}, max {max(counts)}"
                    if counts else "none"
                ),
                "per genre": {g: genres.get(g, 0) for g in GENRE_OFFSETS},
                "clips with a tied dominant emotion": f"{tied} ({self.dominant_ties})",
                f"clips with no tag at positive_share {self.positive_share:g}": no_positive,
            }
        )

    # --- validation ----------------------------------------------------------
    def _dataset_checks(self, report: ValidationReport) -> None:
        for track_id, clip in sorted(self._clips.items(), key=lambda kv: id_sort_key(kv[0])):
            if clip.answers < MIN_ANSWERS:
                report.add(
                    "warning", "few_answers",
                    f"{track_id}: only {clip.answers} answers (fewer than {MIN_ANSWERS}); "
                    "its shares are coarse",
                    track_id,
                )

    def _audio_on_disk(self) -> dict[str, Path]:
        """Files keyed by the track id they would be (``rock/1.mp3`` -> "101"); a file
        outside 1..100 keeps its folder/stem as key, so it is reported as unannotated."""
        self.tracks()
        found: dict[str, Path] = {}
        for genre, offset in GENRE_OFFSETS.items():
            for stem, path in audio_index((self._audio_dir or self.root) / genre).items():
                inside = stem.isdigit() and 1 <= int(stem) <= CLIPS_PER_GENRE
                found[str(offset + int(stem)) if inside else f"{genre}/{stem}"] = path
        return found

    # --- fake tree -----------------------------------------------------------
    @classmethod
    def fake_tree(
        cls,
        root: Path,
        *,
        per_genre: int = 2,
        audio: bool = True,
        missing_audio: Sequence[str] = (),
        bad_tick: bool = False,
        unknown_id: bool = False,
        few_answers: bool = False,
        extra_audio: Sequence[str] = (),
        clip_s: float = FAKE_CLIP_S,
    ) -> Path:
        """``root/data.csv`` (the real header, its leading spaces included) and
        ``root/emotifymusic/{genre}/{n}.mp3``; see ``fake_answers`` for the answers.

        Defects: ``missing_audio`` (ids without their file), ``bad_tick`` (a tick of 2
        on the first clip), ``unknown_id`` (an answer for id 401), ``few_answers``
        (the first clip keeps 2 of its 12 answers), ``extra_audio`` (``genre/stem`` files nobody
        annotated).
        """
        answers = fake_answers(per_genre)
        if few_answers:
            first = answers[0][0]
            answers = answers[:2] + [a for a in answers if a[0] != first]
        lines = [HEADER] + [answer_line(i, ticked) for i, ticked in answers]
        if bad_tick:
            cells = lines[1].split(",")
            cells[2] = "2"
            lines[1] = ",".join(cells)
        if unknown_id:
            lines.append(answer_line("401", ("power",)).replace(",classical,", ",pop,"))
        write_text(root / ANSWERS, lines)
        ids = sorted({i for i, _ in answers}, key=int)
        names = [id_location(int(i)) for i in ids if audio and i not in set(missing_audio)]
        names += [(g, s) for g, s in (e.split("/") for e in extra_audio)]
        first_clip: Path | None = None
        for genre, number in names:  # one encode, copied: real MP3s, fast
            target = root / AUDIO_DIR / genre / f"{number}.mp3"
            if first_clip is None:
                first_clip = write_clip(target, clip_s)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(first_clip, target)
        return root


def fake_answers(per_genre: int = 2, repeats: int = 3) -> list[tuple[str, tuple[str, ...]]]:
    """The fake tree's ``(track id, ticked emotions)`` answers, 4 x ``repeats`` per clip
    (12 by default: more than ``MIN_ANSWERS``, as every real clip has).

    Clip k (0-based over all genres) gets ``{e}``, ``{e, f}``, ``{}`` and ``{e, g}``
    with e, f, g the GEMS emotions k, k+1, k+2 (mod 9): e dominates at 3/4, one rater
    ticked nothing. The last clip is tied instead, between solemnity and nostalgia
    (``{s}``, ``{n}``, ``{}``, ``{s, n}``): the GEMS order picks solemnity, while over
    the whole file (with the default two clips per genre) nostalgia is ticked more.
    """
    ids = [str(o + n) for o in GENRE_OFFSETS.values() for n in range(1, per_genre + 1)]
    out: list[tuple[str, tuple[str, ...]]] = []
    for k, track_id in enumerate(ids):
        e, f, g = (GEMS[(k + d) % len(GEMS)] for d in range(3))
        tied = k == len(ids) - 1
        s, n = FAKE_TIE
        sets = [(s,), (n,), (), (s, n)] if tied else [(e,), (e, f), (), (e, g)]
        out.extend((track_id, a) for a in sets * repeats)
    return out


def answer_line(track_id: str, ticked: Sequence[str]) -> str:
    """One ``data.csv`` row as the file writes it (no spaces after the commas)."""
    place = id_location(int(track_id))
    genre = place[0] if place else "classical"
    ticks = ",".join("1" if g in ticked else "0" for g in GEMS)
    return f"{track_id},{genre},{ticks},3,1,0,25,1,English"
