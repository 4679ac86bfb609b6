"""ISEAR: situations in which respondents felt one of seven emotions (Scherer & Wallbott).

What exists: the University of Geneva (CISA) distributes the ISEAR databank as
a zip holding an Access database, ``isear_databank.mdb`` (some copies name it
``isear.mdb``), whose table ``DATA`` has one row per reported situation: 7,666
rows from close to 3,000 respondents in 37 countries, each respondent
reporting one situation per emotion. Columns: ``ID`` (respondent), ``CITY``,
``COUN``, ``SUBJ``, ``SEX``, ``AGE``, ... ``EMOT`` (code 1 joy, 2 fear,
3 anger, 4 sadness, 5 disgust, 6 shame, 7 guilt), ... ``Field1`` (the emotion
name), ``Field3``, ``Field2``, ``MYKEY`` (unique row key, respondent id + emotion
code), ``SIT`` (the situation text) and ``STATE``. The forms people actually
have, all read here:

* ``mdb-export isear_databank.mdb DATA > isear.csv`` - comma-separated with a
  header, text quoted (``""`` for a quote), line breaks kept inside ``SIT``;
* the pipe-separated ``isear.csv`` found in many repositories (same header,
  ``|`` after every field, line breaks already joined, no quoting: a ``SIT``
  with quotes sometimes spills into an extra ``|`` field and carries
  backslash-escaped quotes, ``\\greeting\\"``);
* two columns ``emotion,text`` (or ``text,emotion``), with or without a header.

Known quirks, cleaned: the database marks each line break of a typed answer
with an ``á`` before the newline (most likely a DOS code-page artefact), left
as an isolated ``á`` where the newlines were joined; answers are sometimes wrapped in
``[ ... ]`` (a coder's paraphrase: the brackets are removed); stray runs of
blanks. Non-answers such as ``[ No response.]``, ``Not applicable.``, ``Can not
remember.`` or ``[ Same as in anger.]`` are unusable: they are dropped and
listed by ``validate()`` as warnings (``unusable_passage``).

Item ids are ``MYKEY`` when present, else ``row<N>`` (N-th data row);
``meta["author"]`` is the respondent (``ID``) where known. The official split
is 70/15/15, stratified by emotion with a fixed seed (independent of the run
seed).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from mer_bench.data.base import DATASETS
from mer_bench.data.fakes import write_text
from mer_bench.data.files import column_key
from mer_bench.data.tables import decode
from mer_bench.data.text import TextDataset
from mer_bench.errors import DatasetError
from mer_bench.types import Split, Track

EMOTIONS = ("anger", "disgust", "fear", "guilt", "joy", "sadness", "shame")
EMOT_CODES = {
    "1": "joy",
    "2": "fear",
    "3": "anger",
    "4": "sadness",
    "5": "disgust",
    "6": "shame",
    "7": "guilt",
}
PUBLISHED_ROWS = 7666
# the DATA table's columns, in the order of the exports
DATA_COLUMNS = (
    "ID|CITY|COUN|SUBJ|SEX|AGE|RELI|PRAC|FOCC|MOCC|FIEL|EMOT|WHEN|LONG|INTS|ERGO|TROPHO|"
    "TEMPER|EXPRES|MOVE|EXP1|EXP2|EXP10|PARAL|CON|EXPC|PLEA|PLAN|FAIR|CAUS|COPING|MORL|SELF|"
    "RELA|VERBAL|NEUTRO|Field1|Field3|Field2|MYKEY|SIT|STATE"
).split("|")
CSV_NAMES = ("isear.csv", "data.csv", "isear_databank.csv", "isear_data.csv")
LABEL_COLUMNS = ("Field1", "emotion", "label", "class", "sentiment")
CODE_COLUMNS = ("EMOT",)
TEXT_COLUMNS = ("SIT", "text", "sentence", "situation", "content", "story")
ID_COLUMN = "MYKEY"
RESPONDENT_COLUMN = "ID"  # only in the full table (next to SIT and MYKEY)

_MAX_DEPTH = 3
# an "á" alone between blanks, or right before a line break: the database's line-break mark
_BREAK_MARK = re.compile(r"(?:(?<=\s)|^)á(?=\s|$)|á(?=[ \t]*\n)")
_NON_ANSWER_WORDS = 12  # a stock phrase only disqualifies a short answer
_EMOTION_WORDS = r"(anger|disgust|fear|guilt|joy|sadness|shame)"
# stock non-answers, matched at the start (after an optional "Sorry,", "I", "The")
_NON_ANSWER_START = re.compile(
    r"^(?:(?:honestly|sorry|frankly|well)\W+)?(?:i\s+|the\s+)?"
    r"(?:no\s+(?:response|answer|description)|not\s+applicable|not\s+included\s+on"
    r"|(?:does|do)\s+not\s+apply|doesn'?t\s+apply"
    r"|(?:can\s?not|can'?t|do\s+not|don'?t)\s+(?:remember|recall|think\s+of)"
    r"|(?:have|has)\s+(?:not|never)\s+(?:felt|experienced)\s+(?:th(?:is|e|at)\s+emotion|it)"
    r"|(?:have\s+)?never\s+(?:felt|experienced)\s+(?:th(?:is|e|at)\s+emotion|it|\w+\s+at\s+any)"
    r"|haven'?t\s+(?:felt|been)\s+\w+\s+for\s+ages"
    r"|same\s+as|same\s+event|see\s+(?:the\s+)?answer|as\s+in\s+" + _EMOTION_WORDS + r")\b",
    re.IGNORECASE,
)
# stock phrases that disqualify a short answer wherever they stand
_NON_ANSWER_ANYWHERE = re.compile(
    r"\b(?:not\s+applicable|no\s+response|unable\s+to\s+remember|not\s+included\s+on)\b",
    re.IGNORECASE,
)
_BARE_NON_ANSWER = re.compile(
    r"^(?:none|nothing|never(?:\s+experienced)?|blank|no|n/?a|-+|\?+|x+"
    r"|(?:i\s+)?(?:do\s+not|don'?t)\s+know)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Layout:
    """Where the emotion, text, id and respondent sit in a parsed CSV."""

    header: bool
    label: int
    text: int
    code: int | None = None
    key: int | None = None
    respondent: int | None = None
    width: int = 2  # fields per row (header cells)
    codes: bool = True  # numeric EMOT codes accepted as labels (only under a header)


def clean_passage(raw: str) -> str:
    """Undo the export quirks: line-break marks, escaped quotes, ``[ ]`` wrappers, blanks."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _BREAK_MARK.sub(" ", text)
    if "\\" in text:  # the pipe export's backslash-escaped quotes
        text = text.replace('\\"', '"').replace("\\", '"')
        if text.count('"') % 2 and text.rstrip().endswith('"'):
            text = text.rstrip()[:-1]
    text = " ".join(text.split())
    if text.startswith("["):
        text = text[1:].lstrip()
    if text.endswith("]"):
        text = text[:-1].rstrip()
    return text


def is_non_answer(text: str) -> bool:
    """True for empty answers and stock non-answers ("No response.", "Same as in anger.")."""
    core = text.strip().strip(".!;:,?- ").strip()
    if not core or _BARE_NON_ANSWER.match(core):
        return True
    if len(core.split()) > _NON_ANSWER_WORDS:
        return False
    return bool(_NON_ANSWER_START.match(core) or _NON_ANSWER_ANYWHERE.search(core))


def parse_emotion(raw: str, codes: bool = True) -> str | None:
    """An ISEAR emotion name or (if ``codes``) EMOT code ``'3'``/``'3.0'`` -> name, else None."""
    key = raw.strip().lower()
    if key in EMOTIONS:
        return key
    if codes and re.fullmatch(r"\d+(\.0*)?", key):
        return EMOT_CODES.get(str(int(float(key))))
    return None


def _delimiter(first_line: str) -> str:
    if first_line.count("|") >= 2:
        return "|"
    if "\t" in first_line:
        return "\t"
    if "," in first_line:
        return ","
    if ";" in first_line:
        return ";"
    return ","


@DATASETS.register("isear")
class IsearAdapter(TextDataset):
    """ISEAR situation reports: anger, disgust, fear, guilt, joy, sadness, shame.

    The root holds the CSV (``isear.csv`` or ``DATA.csv``, or the only CSV in it
    or one folder below). See the module docstring for the forms read and the
    quirks cleaned.
    """

    name = "isear"
    version = "1994"
    citation = (
        "Scherer, K. R., & Wallbott, H. G. (1994). Evidence for universality and cultural "
        "variation of differential emotion response patterning. Journal of Personality and "
        "Social Psychology, 66(2), 310-328. https://doi.org/10.1037/0022-3514.66.2.310"
    )
    license = (
        "Research use as granted by the Swiss Center for Affective Sciences (CISA, University "
        "of Geneva) on its download page; cite Scherer & Wallbott (1994). Do not redistribute "
        "the databank."
    )
    homepage = "https://www.unige.ch/cisa/research/materials-and-online-research/research-material/"
    download_info = (
        "Download the ISEAR databank from "
        "https://www.unige.ch/cisa/research/materials-and-online-research/research-material/ "
        "(nothing is downloaded by mer-bench). It is an Access file, isear_databank.mdb "
        "(isear.mdb in some copies); "
        "export its DATA table with mdbtools:\n"
        "  mdb-export isear_databank.mdb DATA > isear.csv\n"
        "and put isear.csv in the root (or one folder below). Read: columns Field1 (emotion; "
        "EMOT code 1-7 as fallback), SIT (situation text), MYKEY (item id), ID (respondent). "
        "Also accepted: the pipe-separated isear.csv with the same header, and a two-column "
        "emotion,text CSV with or without a header. 7,666 rows; non-answers are dropped and "
        "listed by `mer-bench data check isear`. Official split: 70/15/15 stratified by "
        "emotion. Point mer-bench at it with --root or MER_BENCH_ISEAR_ROOT."
    )
    emotion_vocabulary = EMOTIONS
    official_weights: ClassVar[tuple[int, int, int]] = (70, 15, 15)

    # --- locating ------------------------------------------------------------
    def csv_path(self) -> Path:
        """The CSV to read: a known name first, else the only CSV; clear errors otherwise."""
        csvs: list[Path] = []
        mdbs: list[Path] = []
        base_depth = len(self.root.parts)
        for here, dirs, files in os.walk(self.root):
            path = Path(here)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
            if len(path.parts) - base_depth >= _MAX_DEPTH - 1:
                dirs[:] = []
            for name in sorted(files):
                if name.lower().endswith(".csv") and not name.startswith("."):
                    csvs.append(path / name)
                elif name.lower().endswith(".mdb"):
                    mdbs.append(path / name)
        csvs.sort(key=lambda p: (len(p.parts), str(p)))
        for wanted in CSV_NAMES:
            for path in csvs:
                if path.name.lower() == wanted:
                    return path
        if len(csvs) == 1:
            return csvs[0]
        if csvs:
            raise DatasetError(
                f"isear: several CSV files below {self.root} ({', '.join(p.name for p in csvs)})"
                "; rename the ISEAR one to isear.csv"
            )
        if mdbs:
            raise DatasetError(
                f"isear: found {mdbs[0]} but no CSV: export its DATA table with "
                f"`mdb-export {mdbs[0].name} DATA > isear.csv` (mdbtools) in {mdbs[0].parent}"
            )
        raise DatasetError(
            f"isear: no isear.csv below {self.root}. Run `mer-bench data info isear` for how to "
            "obtain and export it."
        )

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        path = self.csv_path()
        try:
            text, encoding = decode(path.read_bytes(), path)
        except OSError as exc:
            raise DatasetError(f"isear: cannot read {path}: {exc}") from exc
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise DatasetError(f"isear: {path} is empty; export or download it again")
        delim = _delimiter(text.split("\n", 1)[0])
        quoting = csv.QUOTE_NONE if delim == "|" else csv.QUOTE_MINIMAL
        try:
            reader = csv.reader(io.StringIO(text), delimiter=delim, quoting=quoting)
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
        except csv.Error as exc:
            raise DatasetError(f"isear: {path} is not a readable CSV: {exc}") from exc
        layout = self._layout(path, [row for _, row in rows])
        self._notes.summary["file"] = f"{path.name} ({encoding}, separator {delim!r})"
        return self._items(path, rows[1:] if layout.header else rows, layout, delim)

    def _layout(self, path: Path, rows: list[list[str]]) -> Layout:
        keys = [column_key(c) for c in rows[0]]

        def find(names: tuple[str, ...]) -> int | None:
            for name in names:
                if column_key(name) in keys:
                    return keys.index(column_key(name))
            return None

        text_col, label_col, code_col = find(TEXT_COLUMNS), find(LABEL_COLUMNS), find(CODE_COLUMNS)
        if text_col is not None and (label_col is not None or code_col is not None):
            key_col = find((ID_COLUMN,))
            full = key_col is not None and column_key("SIT") in keys
            return Layout(
                header=True,
                label=label_col if label_col is not None else code_col,  # type: ignore[arg-type]
                text=text_col,
                code=code_col,
                key=key_col,
                respondent=find((RESPONDENT_COLUMN,)) if full else None,
                width=len(rows[0]),
            )
        # no known header: the emotion is the first or the last column of two or more
        body = rows[1:] if len(rows) > 1 else rows
        shares = {}
        for col in (0, -1):
            hits = sum(1 for r in body if len(r) >= 2 and parse_emotion(r[col], False))
            shares[col] = hits / max(1, len(body))
        col = max(shares, key=lambda c: (shares[c], c == 0))
        if shares[col] < 0.5:
            raise DatasetError(
                f"isear: cannot read {path}: expected the exported DATA table (a header with "
                "SIT and Field1 or EMOT) or rows of emotion,text; the first row is "
                f"{rows[0][:6]}. Run `mer-bench data info isear`."
            )
        header = len(rows[0]) < 2 or parse_emotion(rows[0][col], False) is None
        if header:
            self._notes.add(
                "info", "header_skipped", f"{path.name}: first row {rows[0]} read as a header"
            )
        return Layout(header=header, label=col, text=1 if col == 0 else -2, codes=False)

    def _items(
        self, path: Path, rows: list[tuple[int, list[str]]], layout: Layout, delim: str
    ) -> list[Track]:
        n_cols = None
        if layout.header:
            n_cols = max(layout.label, layout.text, layout.key or 0, layout.code or 0) + 1
        joiner = " " if delim == "|" else delim
        tracks: list[Track] = []
        seen: set[str] = set()
        dropped = cleaned = 0
        for n, (line, row) in enumerate(rows, start=1):
            row = self._merge_spill(row, layout, joiner)
            if (n_cols is not None and len(row) < n_cols) or len(row) < 2:
                self._notes.add(
                    "warning",
                    "malformed_row",
                    f"{path.name} line {line}: {len(row)} field(s), too few (row skipped)",
                    path=path,
                )
                continue
            key = row[layout.key].strip() if layout.key is not None else ""
            track_id = key or f"row{n}"
            raw = row[layout.text]
            passage = clean_passage(raw)
            cleaned += passage != " ".join(raw.split())
            emotion = self._emotion(row, layout, track_id, path)
            if is_non_answer(passage):
                dropped += 1
                self._notes.add(
                    "warning",
                    "unusable_passage",
                    f"{track_id} ({emotion}): non-answer {' '.join(raw.split())!r} dropped",
                    track_id,
                    path,
                )
                continue
            if track_id in seen:
                self._notes.add(
                    "error",
                    "duplicate_id",
                    f"{track_id} appears twice in {path.name} (line {line} skipped)",
                    track_id,
                    path,
                )
                continue
            seen.add(track_id)
            meta = {"text": passage}
            if layout.respondent is not None and row[layout.respondent].strip():
                meta["author"] = row[layout.respondent].strip()
            tracks.append(Track(id=track_id, audio_path=None, tags=(emotion,), meta=meta))
        self._notes.summary["rows read"] = len(rows)
        self._notes.summary["non-answers dropped"] = dropped
        self._notes.summary["passages cleaned (line-break marks, brackets, quotes)"] = cleaned
        if layout.key is not None and len(rows) != PUBLISHED_ROWS:
            self._notes.add(
                "info",
                "unexpected_count",
                f"{len(rows)} rows in {path.name}; the published DATA table has {PUBLISHED_ROWS}",
            )
        if not tracks:
            raise DatasetError(f"isear: no usable rows in {path}; is this the ISEAR export?")
        return tracks

    @staticmethod
    def _merge_spill(row: list[str], layout: Layout, joiner: str) -> list[str]:
        """Join a text that spilled over extra separators back into one field."""
        extra = len(row) - layout.width
        if extra <= 0:
            return row
        if not layout.header:
            if layout.label == 0:
                return [row[0], joiner.join(row[1:])]
            return [joiner.join(row[:-1]), row[-1]]
        t = layout.text
        return [*row[:t], joiner.join(row[t : t + extra + 1]), *row[t + extra + 1 :]]

    def _emotion(self, row: list[str], layout: Layout, track_id: str, path: Path) -> str:
        raw = row[layout.label] if layout.label < len(row) else ""
        emotion = parse_emotion(raw, layout.codes)
        if layout.code is not None and layout.code != layout.label and layout.code < len(row):
            by_code = parse_emotion(row[layout.code])
            if emotion is None and by_code is not None and not raw.strip():
                emotion = by_code
            elif emotion is not None and by_code is not None and by_code != emotion:
                self._notes.add(
                    "warning",
                    "label_mismatch",
                    f"{track_id}: Field1 says {emotion} but EMOT {row[layout.code].strip()} is "
                    f"{by_code}; using {emotion}",
                    track_id,
                    path,
                )
        return emotion or (raw.strip().lower() or "(missing)")

    @classmethod
    def fake_tree(cls, root: Path) -> Path:
        """The pipe-separated ``isear.csv`` of the shared copy: the DATA table's header,
        ``|`` after every field, two respondents reporting one situation per emotion,
        with the quirks the parser cleans (an ``á`` break mark, a ``[ ... ]`` paraphrase)."""
        situations = {
            "11001": (
                "When my friend \u00e1 lied to me about the money.",  # anger
                "[ When I saw a rotten rat in the kitchen.]",  # disgust
                "Walking home alone at night through the park.",  # fear
                "When I forgot my mother's birthday.",  # guilt
                "When I passed the final examination.",  # joy
                "When my grandfather died last spring.",  # sadness
                "When I fell over in front of the whole class.",  # shame
            ),
            "11002": (
                "A driver took my parking space on purpose.",
                "Someone spat on the floor of the bus.",
                "When the plane shook during the storm.",
                "I broke a promise to my younger brother.",
                "When my sister had her first baby.",
                "When my best friend moved abroad.",
                "When the teacher read my poor essay aloud.",
            ),
        }
        code_of = {emotion: code for code, emotion in EMOT_CODES.items()}
        lines = ["|".join(DATA_COLUMNS) + "|"]
        for respondent, texts in situations.items():
            for emotion, text in zip(EMOTIONS, texts, strict=True):
                row = dict.fromkeys(DATA_COLUMNS, "1")
                row.update(ID=respondent, EMOT=code_of[emotion], Field1=emotion, SIT=text)
                row.update(MYKEY=f"0{respondent}{code_of[emotion]}", Field3="0", Field2="0")
                lines.append("|".join(row[c] for c in DATA_COLUMNS) + "|")
        write_text(root / CSV_NAMES[0], lines)
        return root

    # --- splits --------------------------------------------------------------
    def official_split(self) -> Split:
        return self._stratified_official_split()
