"""Alm's affect dataset: fairy-tale sentences by B. Potter, H. C. Andersen and the Brothers Grimm.

What the publisher distributes (http://people.rc.rit.edu/~coagla/affectdata/,
release v1, June 2007): one archive per author, ``Grimms.tar.gz``,
``HCAndersen.tar.gz`` and ``Potter.tar.gz``, each unpacking into a folder of
that name with one file per story in each of these sub-folders (the
corpus readme describes them):

* ``emmood/<story>.emmood`` - every sentence with the unmerged labels of two
  annotators, ``SentID:SentID<TAB>1emA:1emB<TAB>MoodA:MoodB<TAB>Sentence``
  over Angry (A), Disgusted (D), Fearful (F), Happy (H), Neutral (N), Sad
  (Sa / S), positively and negatively Surprised (Su+ / +, Su- / -);
* ``sent/``, ``pos/`` - the sentences, plain and part-of-speech tagged;
* ``agreeID/<story>.agreeID`` - ids of the HIGH-AGREEMENT sentences: the
  four labels (primary emotion and mood of both annotators) agree on one
  affect of the merged set, neutral excluded;
* ``agree-sent/<story>.agree`` - those sentences, one per line,
  ``SentID@AffectiveLabelCode@Sentence`` (e.g.
  ``35@3@"It is very unpleasant, I am afraid of the police," said Pickles.``),
  with the codes 2 = Angry-Disgusted, 3 = Fearful, 4 = Happy, 6 = Sad,
  7 = Surprised. Sentence ids restart at 0 in every story.

This adapter reads ``agree-sent`` (1,207 sentences in the published corpus)
and maps the codes to the vocabulary of Won et al. (2021): 2 -> ``anger``
(Alm merged angry and disgusted), 3 -> ``fearful``, 4 -> ``happy``,
6 -> ``sad``, 7 -> ``surprised`` (Alm merged positive and negative
surprise). The original label is kept in ``meta["label_original"]``. An
``agreeID`` file, when present, is cross-checked against its ``.agree`` file.

Item ids are ``<Author>/<story>/<SentID>``; ``meta["author"]`` is the
author folder (so ``artist-disjoint`` splits keep authors apart).

Official split (Won et al. 2021): Grimms and HCAndersen (1,040 sentences)
are the training set; the 167 sentences by B. Potter are both the
validation and the test set, so validation and test coincide. The paper says
"167 sentences by B. Potter were used for validation and test" and the
authors' code evaluates all 167 in both roles; model selection on validation
therefore sees the test sentences, which is how the published numbers were
made. ``potter_split="halves"`` (dataset parameter) instead cuts Potter into
a validation half and a test half, stratified by emotion with a fixed seed
(independent of the run seed): disjoint, but a different test set.

Tolerated: CRLF or LF, UTF-8 or Windows-1252, blank lines, ``@`` inside a
sentence (only the first two separate fields), the archives unpacked into
an extra folder level (``Potter/Potter/agree-sent``) or below a common
parent. Reported: malformed lines (skipped), duplicate ids (later ones
skipped), codes outside the five (kept, flagged as ``bad_label``), missing
author folders and ``agreeID`` disagreements.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

from mer_bench.data.base import DATASETS
from mer_bench.data.fakes import write_text
from mer_bench.data.tables import decode
from mer_bench.data.text import TextDataset, stratified_partition
from mer_bench.errors import DatasetError
from mer_bench.types import Split, Track

AUTHORS = ("Grimms", "HCAndersen", "Potter")
TRAIN_AUTHORS = ("Grimms", "HCAndersen")
HELD_OUT_AUTHOR = "Potter"  # validation and test
AGREE_DIR = "agree-sent"
AGREE_SUFFIX = ".agree"
AGREE_ID_DIR = "agreeID"
AGREE_ID_SUFFIX = ".agreeID"
PUBLISHED_COUNT = 1207

# Alm's affective label code -> (our emotion, Alm's label)
CODES: dict[str, tuple[str, str]] = {
    "2": ("anger", "Angry-Disgusted"),
    "3": ("fearful", "Fearful"),
    "4": ("happy", "Happy"),
    "6": ("sad", "Sad"),
    "7": ("surprised", "Surprised"),
}

# the fake tree: author -> (story, (SentID, code, sentence)..., how its file is written);
# every emotion twice across the corpus, Potter's share held out as in the official split
FAKE_STORIES: dict[str, tuple[str, tuple[tuple[int, str, str], ...], dict[str, Any]]] = {
    "Grimms": (
        "hansel_and_gretel",
        (
            (0, "2", "The witch was furious."),
            (3, "4", "They danced happily in the clearing."),
            (5, "3", "Gretel was terrified of the oven."),
            (7, "6", "He wept for his lost sister."),
        ),
        {"crlf": True},
    ),
    "HCAndersen": (
        "the_wind",
        (
            (1, "7", "What a surprise @ the castle!"),
            (2, "4", "The prince smiled, caf\u00e9 and all."),
            (4, "2", "The soldier cursed the old witch in anger."),
        ),
        {"encoding": "cp1252"},
    ),
    "Potter": (
        "peter_rabbit",
        (
            (0, "3", "Peter was dreadfully frightened."),
            (2, "6", "Mrs. Rabbit cried at the loss of the jacket."),
            (5, "7", "To his astonishment the gate was open."),
        ),
        {},
    ),
}

_MAX_DEPTH = 4
_SKIP_DIRS = {"__MACOSX"}
_SENT_ID = re.compile(r"^\d+$")


def _author_key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


_AUTHOR_BY_KEY = {_author_key(a): a for a in AUTHORS}


def find_author_dirs(root: Path) -> dict[str, list[Path]]:
    """Folders named like an author that hold ``agree-sent/``, shallowest first."""
    found: dict[str, list[Path]] = {}
    base_depth = len(root.parts)
    for here, dirs, _ in os.walk(root):
        path = Path(here)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        if len(path.parts) - base_depth >= _MAX_DEPTH:
            dirs[:] = []
        author = _AUTHOR_BY_KEY.get(_author_key(path.name))
        if author and (path / AGREE_DIR).is_dir():
            found.setdefault(author, []).append(path)
    for paths in found.values():
        paths.sort(key=lambda p: (len(p.parts), str(p)))
    return found


@DATASETS.register("alm")
class AlmAdapter(TextDataset):
    """Alm's high-agreement fairy-tale sentences: anger, fearful, happy, sad, surprised.

    The root is the folder holding ``Grimms/``, ``HCAndersen/`` and
    ``Potter/`` (or a folder above them). See the module docstring for the
    layout, the label mapping and the official split.
    """

    name = "alm"
    version = "2007"
    citation = (
        "Alm, C. O., Roth, D., & Sproat, R. (2005). Emotions from text: machine learning for "
        "text-based emotion prediction. Proceedings of HLT/EMNLP 2005, 579-586. "
        "https://aclanthology.org/H05-1073/ ; Alm, C. O. (2008). Affect in text and speech. "
        "PhD thesis, University of Illinois at Urbana-Champaign."
    )
    license = (
        "Free use and redistribution under the corpus's 2007 copyright notice: keep the "
        "notice and the authors' names, mark modifications; no warranty."
    )
    homepage = "http://people.rc.rit.edu/~coagla/affectdata/index.html"
    download_info = (
        "Download Grimms.tar.gz, HCAndersen.tar.gz and Potter.tar.gz from "
        "http://people.rc.rit.edu/~coagla/affectdata/index.html (nothing is downloaded by "
        "mer-bench) and unpack all three into one folder, the root:\n"
        "  Grimms/agree-sent/<story>.agree       high-agreement sentences, one per line: "
        "SentID@Code@Sentence\n"
        "  HCAndersen/agree-sent/<story>.agree\n"
        "  Potter/agree-sent/<story>.agree\n"
        "  */agreeID/<story>.agreeID            optional, cross-checked; emmood/, sent/, pos/ "
        "are not needed\n"
        "Codes: 2 Angry-Disgusted -> anger, 3 Fearful -> fearful, 4 Happy -> happy, "
        "6 Sad -> sad, 7 Surprised -> surprised; 1,207 sentences in all. "
        "Official split (Won et al.): Grimms + HCAndersen train; all of Potter is both "
        "validation and test (they coincide; dataset parameter potter_split=halves splits "
        "Potter in two instead). "
        "Point mer-bench at it with --root or MER_BENCH_ALM_ROOT."
    )
    emotion_vocabulary = ("anger", "fearful", "happy", "sad", "surprised")
    official_weights: ClassVar[tuple[int, int]] = (1, 1)  # Potter halves: validation, test
    potter_splits: ClassVar[tuple[str, ...]] = ("both", "halves")

    def __init__(self, root: Path | str | None = None, *, potter_split: str = "both") -> None:
        super().__init__(root)
        if potter_split not in self.potter_splits:
            raise DatasetError(
                f"alm: potter_split={potter_split!r} is not one of {list(self.potter_splits)} "
                "(both: Potter is validation and test, as Won et al.; halves: split in two)"
            )
        self.potter_split = potter_split

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        found = find_author_dirs(self.root)
        if not found:
            raise DatasetError(
                f"alm: no Grimms/, HCAndersen/ or Potter/ folder with {AGREE_DIR}/ below "
                f"{self.root}. Run `mer-bench data info alm` for the expected layout."
            )
        tracks: list[Track] = []
        seen: set[str] = set()
        for author in AUTHORS:
            paths = found.get(author)
            if not paths:
                self._notes.add(
                    "warning",
                    "missing_file",
                    f"no {author}/{AGREE_DIR}/ below {self.root}: its sentences are missing"
                    + (" (the official split needs Potter)" if author == HELD_OUT_AUTHOR else ""),
                    path=self.root / author,
                )
                continue
            for extra in paths[1:]:
                self._notes.add(
                    "warning",
                    "duplicate_copy",
                    f"{author}: a second copy at {extra} is ignored; using {paths[0]}",
                    path=extra,
                )
            tracks += self._read_author(author, paths[0], seen)
        counts = {a: sum(t.meta["author"] == a for t in tracks) for a in AUTHORS if a in found}
        self._notes.summary["sentences per author folder"] = counts
        if len(found) == len(AUTHORS) and len(tracks) != PUBLISHED_COUNT:
            self._notes.add(
                "info",
                "unexpected_count",
                f"{len(tracks)} high-agreement sentences; the published corpus has "
                f"{PUBLISHED_COUNT}",
            )
        return tracks

    def _read_author(self, author: str, folder: Path, seen: set[str]) -> list[Track]:
        agree_dir = folder / AGREE_DIR
        files = sorted(p for p in agree_dir.iterdir() if p.is_file() and p.suffix == AGREE_SUFFIX)
        if not files:
            self._notes.add(
                "warning",
                "missing_file",
                f"{folder / AGREE_DIR} holds no *{AGREE_SUFFIX} files",
                path=folder / AGREE_DIR,
            )
        tracks: list[Track] = []
        for path in files:
            story = path.name.removesuffix(AGREE_SUFFIX)
            story_tracks = self._read_agree(author, story, path, seen)
            self._cross_check(folder, story, story_tracks, path)
            tracks += story_tracks
        return tracks

    def _read_agree(self, author: str, story: str, path: Path, seen: set[str]) -> list[Track]:
        try:
            text, _ = decode(path.read_bytes(), path)
        except OSError as exc:
            raise DatasetError(f"alm: cannot read {path}: {exc}") from exc
        tracks: list[Track] = []
        for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("@", 2)]
            if len(parts) < 3 or not _SENT_ID.match(parts[0]) or not parts[1]:
                self._notes.add(
                    "warning",
                    "malformed_line",
                    f"{path} line {number}: expected SentID@Code@Sentence, got {line.strip()!r} "
                    "(line skipped)",
                    path=path,
                )
                continue
            sent_id, code, sentence = parts
            track_id = f"{author}/{story}/{int(sent_id)}"
            if track_id in seen:
                self._notes.add(
                    "error",
                    "duplicate_id",
                    f"{track_id}: sentence {sent_id} appears twice in {path} (line {number} "
                    "skipped)",
                    track_id,
                    path,
                )
                continue
            seen.add(track_id)
            emotion, original = CODES.get(code, (f"code {code}", f"unknown code {code}"))
            tracks.append(
                Track(
                    id=track_id,
                    audio_path=None,
                    tags=(emotion,),
                    meta={
                        "text": " ".join(sentence.split()),
                        "author": author,
                        "story": story,
                        "label_original": original,
                    },
                )
            )
        return tracks

    def _cross_check(self, folder: Path, story: str, tracks: list[Track], path: Path) -> None:
        """Compare the sentence ids of ``<story>.agree`` with ``agreeID/<story>.agreeID``."""
        id_path = folder / AGREE_ID_DIR / f"{story}{AGREE_ID_SUFFIX}"
        if not id_path.is_file():
            return
        try:
            text, _ = decode(id_path.read_bytes(), id_path)
        except OSError:
            return
        listed = {str(int(x)) for x in text.split() if x.isdigit()}
        have = {t.id.rsplit("/", 1)[1] for t in tracks}
        if listed != have:
            only_ids = sorted(listed - have, key=int)
            only_sent = sorted(have - listed, key=int)
            self._notes.add(
                "warning",
                "agree_id_mismatch",
                f"{path.name}: ids only in {id_path.name}: {only_ids or 'none'}; ids only in "
                f"{path.name}: {only_sent or 'none'}",
                path=path,
            )

    @classmethod
    def fake_tree(cls, root: Path) -> Path:
        """The three unpacked archives, a story each: ``agree-sent/`` (CRLF in Grimms,
        Windows-1252 in HCAndersen, an ``@`` inside a sentence, a blank line), its
        matching ``agreeID/`` file and the ``emmood/`` file the adapter does not read."""
        for author, (story, sentences, options) in FAKE_STORIES.items():
            folder = root / author
            lines = [f"{i}@{code}@{text}" for i, code, text in sentences]
            write_text(folder / AGREE_DIR / f"{story}{AGREE_SUFFIX}", [*lines, ""], **options)
            ids = [str(i) for i, _, _ in sentences]
            write_text(folder / AGREE_ID_DIR / f"{story}{AGREE_ID_SUFFIX}", ids)
            write_text(folder / "emmood" / f"{story}.emmood", ["0:0\tA:A\tA:A\tignored"])
        return root

    # --- splits --------------------------------------------------------------
    def official_split(self) -> Split:
        """Grimms + HCAndersen train; Potter as validation and test (or halved, see the module)."""
        tracks = self._tracks
        authors = {t.meta.get("author") for t in tracks}
        missing = [a for a in (*TRAIN_AUTHORS, HELD_OUT_AUTHOR) if a not in authors]
        if HELD_OUT_AUTHOR in missing or len(missing) == len(TRAIN_AUTHORS):
            raise DatasetError(
                f"alm: the official split needs Potter and at least one of Grimms, HCAndersen; "
                f"missing below {self.root}: {', '.join(missing)}. Use kfold:K instead or add "
                "the missing folders (`mer-bench data info alm`)."
            )
        train = tuple(t.id for t in tracks if t.meta.get("author") in TRAIN_AUTHORS)
        potter = [t for t in tracks if t.meta.get("author") == HELD_OUT_AUTHOR]
        if self.potter_split == "both":
            held_out = tuple(t.id for t in potter)
            return Split("official", train, held_out, held_out)
        val, test = stratified_partition(
            [t.id for t in potter],
            [self.emotion_of(t) or "" for t in potter],
            self.official_weights,
            self.official_seed,
        )
        return Split("official", train, tuple(val), tuple(test))
