"""4Q: Panda, Malheiro & Paiva's 900 AllMusic clips labelled by Russell quadrant.

Each ~30 s clip sits in ``MER_audio_taffc_dataset/Q{1..4}/{Song}.mp3`` and
has one quadrant label (225 per quadrant); there are no V/A values. The
annotation CSV is CRLF, the metadata CSV latin-1 or UTF-8 depending on the
copy; both are read with the shared tolerant reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from mer_bench.data.annotated import AnnotatedDataset
from mer_bench.data.base import DATASETS, ValidationReport
from mer_bench.data.fakes import write_clip, write_text
from mer_bench.data.files import audio_index, id_sort_key
from mer_bench.data.tables import Meta, Table, read_meta, read_table, row_id
from mer_bench.tasks import BINARY_AROUSAL, BINARY_VALENCE, QUADRANT, TEXT2MUSIC_RETRIEVAL
from mer_bench.types import Track

ANNOTATIONS = "panda_dataset_taffc_annotations.csv"
METADATA = "panda_dataset_taffc_metadata.csv"
DATASET_DIR = "MER_audio_taffc_dataset"
QUADRANT_DIRS = ("Q1", "Q2", "Q3", "Q4")

_QUADRANT = re.compile(r"^q?\s*([1-4])$", re.IGNORECASE)

# Mood words of each quadrant, for text2music_retrieval (Track.tags). They are AudioSet mood
# words on purpose: Won et al.'s text -> AudioSet mappings (emotion_vocab.yaml) then apply to 4Q
# restricted to these six words. Q1 A+V+ happy, exciting; Q2 A+V- angry, scary; Q3 A-V- sad;
# Q4 A-V+ tender (AudioSet's funny has no clear quadrant and is not used).
QUADRANT_MOODS: dict[int, tuple[str, ...]] = {
    1: ("happy", "exciting"),
    2: ("angry", "scary"),
    3: ("sad",),
    4: ("tender",),
}


FAKE_META_HEADER = (
    '"Song","Artist","Title","Quadrant","PQuad","MoodsTotal","Moods","MoodsFoundStr",'
    '"MoodsStr","MoodsStrSplit","Genres","GenresStr","Sample","SampleURL"'
)
FAKE_CLIP_S = 10.5  # above 4Q's minimum (its shortest real clips are 10.08 s)
FAKE_ARTISTS = ("Einstürzende Neubauten", "Céline Dion", "Motörhead", "Gipsy Kings")


def fake_songs(per_quadrant: int = 3) -> dict[str, int]:
    """The fake tree's ``{song id: quadrant}``: MT-style ids, ``per_quadrant`` each."""
    return {f"MT{q * 1000 + k:010d}": q for q in (1, 2, 3, 4) for k in range(per_quadrant)}


def parse_quadrant(raw: str) -> int | None:
    """``'Q2'``, ``'q2'`` or ``'2'`` -> 2; anything else None."""
    match = _QUADRANT.match(raw.strip())
    return int(match.group(1)) if match else None


@DATASETS.register("4q")
class FourQAdapter(AnnotatedDataset):
    """4Q audio emotion dataset (Panda, Malheiro & Paiva, TAFFC 2018).

    Labels: ``Track.quadrant`` (1..4, Russell: Q1 A+V+, Q2 A+V-, Q3 A-V-,
    Q4 A-V+); ``static_va`` is None. Tasks: ``quadrant`` and, derived from it
    by ``types.Task``, ``binary_valence`` (Q1, Q4 positive) and
    ``binary_arousal`` (Q1, Q2 high); ``Track.tags`` hold the quadrant's mood
    words (``QUADRANT_MOODS``) for ``text2music_retrieval``.

    The root may be ``MER_audio_taffc_dataset`` itself or any folder above
    it. Quadrants come from the annotation CSV (the metadata's ``Quadrant``
    is cross-checked); ``meta["artist"]`` comes from the metadata, for
    artist-disjoint splits. There is no official split.
    """

    name = "4q"
    version = "2018"
    published_tracks = 900  # 225 clips per quadrant
    citation = (
        "Panda, R., Malheiro, R., & Paiva, R. P. (2018). Novel audio features for music "
        "emotion recognition. IEEE Transactions on Affective Computing 11(4), 614-626. "
        "https://doi.org/10.1109/TAFFC.2018.2820691"
    )
    license = (
        "Research use only. The clips are AllMusic 30 s previews of copyrighted recordings: "
        "use them locally for evaluation and never redistribute them."
    )
    homepage = "http://mir.dei.uc.pt/downloads.html"
    download_info = (
        "Download MER_audio_taffc_dataset.zip ('4QAED' / TAFFC 2018 dataset) from "
        "http://mir.dei.uc.pt/downloads.html (nothing is downloaded by mer-bench) and "
        "unpack it. Expected layout (root = the folder itself or one above it):\n"
        "  MER_audio_taffc_dataset/panda_dataset_taffc_annotations.csv   Song,Quadrant (CRLF)\n"
        "  MER_audio_taffc_dataset/panda_dataset_taffc_metadata.csv      Song, Artist, Title, "
        "Quadrant, PQuad, MoodsTotal, Moods, MoodsFoundStr, MoodsStr, MoodsStrSplit, Genres, "
        "GenresStr, Sample, SampleURL (latin-1)\n"
        "  MER_audio_taffc_dataset/Q{1..4}/{Song}.mp3                    900 clips, ~30 s, "
        "16-44.1 kHz\n"
        "Checksums: none published. Point mer-bench at it with --root or MER_BENCH_4Q_ROOT."
    )
    task_kinds = frozenset(
        {
            QUADRANT,
            BINARY_VALENCE,
            BINARY_AROUSAL,
            TEXT2MUSIC_RETRIEVAL,
        }
    )
    label_scales: ClassVar[dict[str, str]] = {
        "quadrant": "Russell quadrant Q1..Q4 (annotated, no V/A values)",
        "tags": "mood words from the quadrant: Q1 happy, exciting; Q2 angry, scary; Q3 sad; "
        "Q4 tender",
    }
    emotion_vocabulary: ClassVar[tuple[str, ...]] = tuple(
        word for q in (1, 2, 3, 4) for word in QUADRANT_MOODS[q]
    )
    min_clip_s: ClassVar[float | None] = 9.5  # the shortest clips (two in Q1) are 10.08 s
    nominal_clip_s: ClassVar[float | None] = 20.0  # nominal 30 s

    def __init__(self, root: Path | str | None = None) -> None:
        super().__init__(root)
        self._dataset_dir: Path | None = None
        self._audio: dict[str, tuple[Path, int]] = {}

    # --- parsing -------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        loc = self._locate()
        ann_path, meta_path = loc.file(ANNOTATIONS), loc.file(METADATA)
        if ann_path is None and meta_path is None:
            raise self.missing_files(f"{ANNOTATIONS} or {METADATA}")
        self._dataset_dir = (ann_path or meta_path).parent
        meta = self._read_metadata(meta_path)
        labels = self._read_annotations(ann_path, meta)
        audio = self._audio = self._audio_index()
        tracks = [self._track(song, q, meta.get(song, {}), audio) for song, q in labels.items()]
        self._note_ids(labels, meta, meta_path, ann_path)
        loc.report_copies(self._notes)
        self._notes.summary.update(
            {
                "clips annotated": len(labels),
                "songs in metadata": len(meta),
            }
        )
        return sorted(tracks, key=lambda t: id_sort_key(t.id))

    def _read_metadata(self, path: Path | None) -> Meta:
        if path is None:
            self._notes.add(
                "warning",
                "missing_metadata",
                f"no {METADATA} below {self.root}: no artists, so no artist-disjoint splits",
            )
            return {}
        return self._read_optional(path, lambda t: read_metadata(t, self._notes))

    def _read_annotations(self, path: Path | None, meta: Meta) -> dict[str, int | None]:
        """Quadrant per song; the metadata ``Quadrant`` is the fallback and cross-check."""
        if path is None:
            self._notes.add(
                "warning",
                "missing_annotations",
                f"no {ANNOTATIONS}: quadrants taken from the metadata's Quadrant column",
            )
            return {
                song: self._quadrant(song, m.get("quadrant", ""), self._meta_path)
                for song, m in meta.items()
            }
        table = read_table(path)
        song_col, q_col = table.col("Song", "id"), table.col("Quadrant", "quadrant_label")
        labels: dict[str, int | None] = {}
        for index, row in enumerate(table.rows):
            song = row_id(table, index, song_col, self._notes)
            if not song:
                continue
            if song in labels:
                self._notes.add(
                    "error", "duplicate_id", f"{song} appears twice in {path.name}", song, path
                )
                continue
            labels[song] = self._quadrant(song, table.cell(row, q_col), path)
            other = parse_quadrant(meta.get(song, {}).get("quadrant", ""))
            if labels[song] is not None and other is not None and other != labels[song]:
                self._notes.add(
                    "error",
                    "bad_label",
                    f"{song}: {path.name} says Q{labels[song]} but {METADATA} says Q{other}",
                    song,
                    path,
                )
        return labels

    @property
    def _meta_path(self) -> Path:
        return (self._dataset_dir or self.root) / METADATA

    def _quadrant(self, song: str, raw: str, path: Path) -> int | None:
        q = parse_quadrant(raw)
        if q is None:
            self._notes.add(
                "error",
                "bad_label",
                f"{song}: quadrant {raw!r} in {path.name} is not one of Q1..Q4",
                song,
                path,
            )
        return q

    def _audio_index(self) -> dict[str, tuple[Path, int]]:
        """``{song: (path, quadrant folder)}`` over Q1..Q4."""
        found: dict[str, tuple[Path, int]] = {}
        base = self._dataset_dir or self.root
        for q, folder in enumerate(QUADRANT_DIRS, start=1):
            for song, path in audio_index(base / folder).items():
                if song in found:
                    self._notes.add(
                        "warning",
                        "duplicate_audio",
                        f"{song}: audio in both {found[song][0].parent.name} and {folder}; "
                        f"using {found[song][0]}",
                        song,
                        path,
                    )
                    continue
                found[song] = (path, q)
        return found

    def _track(
        self, song: str, q: int | None, meta: dict[str, str], audio: dict[str, tuple[Path, int]]
    ) -> Track:
        base = self._dataset_dir or self.root
        if song in audio:
            path, folder_q = audio[song]
            if q is not None and folder_q != q:
                self._notes.add(
                    "warning",
                    "quadrant_folder_mismatch",
                    f"{song}: annotated Q{q} but its audio is in Q{folder_q}/",
                    song,
                    path,
                )
        else:
            path = base / f"Q{q or 1}" / f"{song}.mp3"
        info = {k: v for k, v in meta.items() if k != "quadrant"}
        tags = QUADRANT_MOODS[q] if q is not None else ()
        return Track(id=song, audio_path=path, quadrant=q, tags=tags, meta=info)

    def _note_ids(
        self,
        labels: dict[str, int | None],
        meta: Meta,
        meta_path: Path | None,
        ann_path: Path | None,
    ) -> None:
        if not meta or ann_path is None:
            return
        for song in sorted(set(meta) - set(labels)):
            self._notes.add(
                "warning",
                "metadata_without_annotations",
                f"{song}: in {METADATA} but not in {ANNOTATIONS}; not a track",
                song,
                meta_path,
            )
        for song in sorted(set(labels) - set(meta)):
            self._notes.add(
                "warning",
                "id_mismatch",
                f"{song}: annotated but missing from {METADATA} (no artist)",
                song,
                ann_path,
            )

    @classmethod
    def fake_tree(
        cls,
        root: Path,
        *,
        per_quadrant: int = 3,
        encoding: str = "latin-1",
        audio: bool = True,
        extra_audio: Sequence[str] = (),
        clip_s: float = FAKE_CLIP_S,
    ) -> Path:
        """``root/MER_audio_taffc_dataset`` with the two CSVs (CRLF; the metadata in
        latin-1 with umlauts in artist names) and ``Q1..Q4/`` holding the MP3s."""
        base = root / DATASET_DIR
        songs = fake_songs(per_quadrant)
        ann = ["Song,Quadrant"] + [f"{s},Q{q}" for s, q in songs.items()]
        write_text(base / ANNOTATIONS, ann, crlf=True)
        meta = [FAKE_META_HEADER]
        for k, (song, q) in enumerate(songs.items()):
            artist = FAKE_ARTISTS[k % len(FAKE_ARTISTS)]
            meta.append(
                f'"{song}","{artist}","Title {k}","Q{q}",0.75,4,3,"fiery; sexy","Fiery; Sexy",'
                f'"Fiery; Sexy",1,"Pop/Rock",1,"http://example.invalid/{song}.mp3"'
            )
        write_text(base / METADATA, meta, crlf=True, encoding=encoding)
        write_text(base / "readme.txt", ["Panda et al. TAFFC Dataset - 2018"], crlf=True)
        for song, q in songs.items() if audio else ():
            write_clip(base / f"Q{q}" / f"{song}.mp3", clip_s)
        for song in extra_audio:
            write_clip(base / "Q1" / f"{song}.mp3", clip_s)
        return root

    def _audio_on_disk(self) -> dict[str, Path]:
        self.tracks()
        return {song: path for song, (path, _) in self._audio.items()}


def read_metadata(table: Table, report: ValidationReport) -> Meta:
    """Metadata per song: artist, title, quadrant, genres, moods, PQuad."""
    song_col = table.col("Song", "id")
    cols = {
        "artist": table.col("Artist", required=False),
        "title": table.col("Title", required=False),
        "quadrant": table.col("Quadrant", required=False),
        "genre": table.col("GenresStr", "Genres", required=False),
        "moods": table.col("MoodsFoundStr", "MoodsStr", required=False),
        "pquad": table.col("PQuad", required=False),
    }
    return read_meta(table, song_col, cols, report)
