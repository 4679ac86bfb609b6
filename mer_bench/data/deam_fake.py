"""The DEAM fake tree (``DeamAdapter.fake_tree``): the published layout in miniature.

Imported only when a fake tree is written, so it can read the adapter's
layout constants without an import cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mer_bench.data.deam import (
    AUDIO_DIR,
    DYN_AROUSAL,
    DYN_VALENCE,
    METADATA_FILES,
    STATIC_FILES,
)
from mer_bench.data.fakes import canonical, curve, truth, wide_lines, write_clip, write_text

FAKE_2013 = (2, 3, 4, 5, 7, 8, 10, 12, 13, 17)
FAKE_2014 = (1001, 1002, 1003, 1004, 1005, 1006)
FAKE_2015 = (2001, 2002, 2003)
FAKE_SHORT, FAKE_LONG = 4, 9


def write_tree(
    root: Path,
    *,
    swapped_2013: bool,
    dynamic: bool,
    static: bool,
    spaces: bool,
    nested: bool,
    audio_ids: Sequence[int] | None,
    extra_audio: Sequence[int],
    metadata: bool,
    ids_2013: Sequence[int] | None,
) -> Path:
    """Write the tree ``DeamAdapter.fake_tree`` documents and return its root."""
    ids_2013 = FAKE_2013 if ids_2013 is None else ids_2013
    base = root / "DEAM_Annotations" / "annotations"
    base = base / "annotations" if nested else base
    sep = " " if spaces else "_"
    averaged = base / f"annotations{sep}averaged{sep}per{sep}song"
    early = [*ids_2013, *FAKE_2014]
    if static:
        _fake_static(averaged / "song_level", early, swapped_2013)
    if dynamic:
        _fake_dynamic(averaged, base, sep, [*early, *FAKE_2015])
    if metadata:
        _fake_metadata(root / "metadata", ids_2013)
    songs = [*early, *FAKE_2015] if audio_ids is None else list(audio_ids)
    for song in (*songs, *extra_audio):
        seconds = 16.0 if song < 2000 else 18.5
        write_clip(root / "DEAM_audio" / AUDIO_DIR / f"{song}.mp3", seconds)
    return root


def _fake_static(folder: Path, early: Sequence[int], swapped_2013: bool) -> None:
    lines = [" song_id, valence_mean, valence_std, arousal_mean, arousal_std"]
    for song in early:
        v, a = truth(song)
        if swapped_2013 and song <= 1000:
            v, a = a, v
        lines.append(f"{song:>8},{v:>13g},{1.2:>12g},{a:>13g},{1.3:>12g}")
    write_text(folder / STATIC_FILES[0], lines)
    lines = [
        "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, "
        "valence_min_mean, valence_min_std, arousal_mean, arousal_std, arousal_max_mean, "
        "arousal_max_std, arousal_min_mean, arousal_min_std"
    ]
    for song in FAKE_2015:
        v, a = truth(song)
        lines.append(
            f"{song},{v:g},0.9,{min(9, v + 1):g},0.5,{max(1, v - 1):g},0.5,"
            f"{a:g},0.8,{min(9, a + 1):g},0.4,{max(1, a - 1):g},0.4"
        )
    write_text(folder / STATIC_FILES[1], lines, crlf=True)


def _fake_dynamic(averaged: Path, base: Path, sep: str, songs: Sequence[int]) -> None:
    folder = f"dynamic{sep}(per{sep}second{sep}annotations)"
    valence, arousal = {}, {}
    for song in songs:
        n = FAKE_LONG if song > 2000 else FAKE_SHORT
        v, a = truth(song)
        valence[str(song)] = curve(canonical(v), n, song, 0)
        arousal[str(song)] = curve(canonical(a), n, song, 1)
    write_text(averaged / folder / DYN_VALENCE, wide_lines(valence, FAKE_LONG))
    write_text(averaged / folder / DYN_AROUSAL, wide_lines(arousal, FAKE_LONG))
    # the per-rater tree has folders called arousal/ and valence/: not the averaged files
    rater = base / f"annotations{sep}per{sep}each{sep}rater" / folder / "arousal" / "2.csv"
    write_text(rater, ["WorkerID,sample_15000ms", "w1,0.1"])


def _fake_metadata(folder: Path, ids_2013: Sequence[int]) -> None:
    lines = [
        '"song_id","file_name","Artist","Song title","start of the segment (min.sec)",'
        '"end of the segment (min.sec)","Genre"'
    ]
    lines += [
        f'{s},"\t{s}.mp3","Band {s % 4}\t","\tT{s}\t","\t0.1\t","\t0.46\t","\tRock\t"'
        for s in ids_2013
    ]
    write_text(folder / METADATA_FILES[0], lines)
    lines = ["Id,Artist,Album,Track,Genre"]
    lines += [f"{s},Group {s % 3},Album,Tune {s},Pop" for s in FAKE_2014]
    write_text(folder / METADATA_FILES[1], lines)
    lines = ["id,file_name,title,artist,album,genre"]
    lines += [f"{s},{s}.mp3,Song {s},Trio {s % 2},LP,Jazz" for s in FAKE_2015]
    write_text(folder / METADATA_FILES[2], lines)
