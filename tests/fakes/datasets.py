"""Tiny copies of the DEAM, PMEmo, 4Q and EiM folder layouts, built from the real headers.

Each ``make_*`` writes a few songs into a folder laid out like the published
archive, with the quirks of the real files (CRLF, fixed-width padding with a
leading space in every column name, latin-1 metadata, stray tabs in quoted
fields, the ``valence_ max_mean`` typo, ragged dynamic rows) and short real
audio written with soundfile. Labels are deterministic functions of the song
id (``truth``), so a DEAM fake and an EiM fake agree on the 2013 songs and a
test can compute the expected canonical values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 8000
CLIP_S = 1.0


# --------------------------------------------------------------------------
# primitives
# --------------------------------------------------------------------------
def truth(song_id: str | int) -> tuple[float, float]:
    """Deterministic (valence, arousal) of a song on the 1..9 scale, independent axes."""
    rng = np.random.default_rng(int(str(song_id).lstrip("MT") or 0) + 12345)
    return round(float(rng.uniform(1.5, 8.5)), 2), round(float(rng.uniform(1.5, 8.5)), 2)


def canonical(value_1_9: float) -> float:
    return (value_1_9 - 1.0) / 4.0 - 1.0


def curve(center: float, n: int, song_id: str | int, axis: int) -> np.ndarray:
    """A dynamic curve on [-1, 1] wobbling around ``center``."""
    phase = (int(str(song_id).lstrip("MT") or 0) % 7) + axis
    return np.clip(center + 0.05 * np.sin(np.arange(n) / 3.0 + phase), -1.0, 1.0)


def write_clip(path: Path, seconds: float = CLIP_S, sr: int = SR, channels: int = 1) -> Path:
    """Real audio (MP3 when the name says so and libsndfile can, else WAV)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    wave = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    if channels > 1:
        wave = np.stack([wave] * channels, axis=1)
    fmt = "MP3" if path.suffix.lower() == ".mp3" and "MP3" in sf.available_formats() else "WAV"
    sf.write(str(path), wave, sr, format=fmt)
    return path


def write_text(
    path: Path, lines: Iterable[str], *, crlf: bool = False, encoding: str = "utf-8"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    eol = "\r\n" if crlf else "\n"
    path.write_bytes(eol.join(lines).encode(encoding) + eol.encode())
    return path


def fmt(x: float) -> str:
    return f"{x:.6g}"


def wide_lines(curves: dict[str, np.ndarray], n_columns: int, start_ms: int = 15000) -> list[str]:
    """``song_id,sample_15000ms,...``; shorter rows end in empty cells (DEAM's ragged rows)."""
    header = ["song_id"] + [f"sample_{start_ms + 500 * k}ms" for k in range(n_columns)]
    lines = [",".join(header)]
    for song, values in curves.items():
        cells = [fmt(v) for v in values] + [""] * (n_columns - len(values))
        lines.append(",".join([song, *cells]))
    return lines


# --------------------------------------------------------------------------
# EiM / emoMusic
# --------------------------------------------------------------------------
EIM_FRAMES = 5  # the real files have 61 (15 s .. 45 s)


def make_eim(
    root: Path,
    ids: Sequence[int] = (2, 3, 4, 5, 7, 8, 10, 12),
    *,
    audio_ids: Sequence[int] = (3, 4),
    extra_audio: Sequence[int] = (),
    evaluation: Sequence[int] = (3, 10),
    frames: int = EIM_FRAMES,
    clip_s: float = 16.5,
) -> Path:
    """An emoMusic folder: annotations/ with the six real file names, clips_45seconds/."""
    ann = root / "annotations"
    static = ["song_id,mean_arousal,std_arousal,mean_valence,std_valence"]
    info = [
        '"song_id","file_name","Artist","Song title","start of the segment (min.sec)",'
        '"end of the segment (min.sec)","Genre","Mediaeval 2013 set"'
    ]
    valence, arousal = {}, {}
    for song in ids:
        v, a = truth(song)
        static.append(f"{song},{a:g},1.1,{v:g},0.9")
        split = "evaluation" if song in evaluation else "development"
        info.append(
            f'{song},"\t{song}.mp3","Artist {song % 3}\t","\tSong {song}\t","\t0.48\t",'
            f'"\t1.33\t","\tBlues\t","{split}"'
        )
        valence[str(song)] = curve(canonical(v), frames, song, 0)
        arousal[str(song)] = curve(canonical(a), frames, song, 1)
    write_text(ann / "static_annotations.csv", static)
    write_text(ann / "songs_info.csv", info)
    write_text(ann / "valence_cont_average.csv", wide_lines(valence, frames))
    write_text(ann / "arousal_cont_average.csv", wide_lines(arousal, frames))
    for name in ("valence_cont_std.csv", "arousal_cont_std.csv"):
        write_text(ann / name, wide_lines({k: np.full(frames, 0.3) for k in valence}, frames))
    for song in (*audio_ids, *extra_audio):
        write_clip(root / "clips_45seconds" / f"{song}.mp3", clip_s)
    return root


# --------------------------------------------------------------------------
# DEAM
# --------------------------------------------------------------------------
DEAM_2013 = (2, 3, 4, 5, 7, 8, 10, 12, 13, 17)
DEAM_2014 = (1001, 1002, 1003, 1004, 1005, 1006)
DEAM_2015 = (2001, 2002, 2003)
DEAM_SHORT, DEAM_LONG = 4, 9  # dynamic frames of 45 s clips / 2015 full songs


def make_deam(
    root: Path,
    *,
    swapped_2013: bool = True,
    dynamic: bool = True,
    static: bool = True,
    spaces: bool = True,
    nested: bool = False,
    audio_ids: Sequence[int] = (2, 1001, 2001),
    extra_audio: Sequence[int] = (),
    metadata: bool = True,
    ids_2013: Sequence[int] = DEAM_2013,
) -> Path:
    """A DEAM folder as unpacked from DEAM_Annotations.zip + DEAM_audio.zip (+ metadata.zip).

    ``spaces`` picks the published folder names (``annotations averaged per
    song``) or their underscore variants; ``nested`` adds the extra
    ``annotations/annotations`` level seen in the wild. The 1_2000 static file
    is fixed-width (space padded, leading space in every name); the 2000_2058
    file is compact, CRLF, with the ``valence_ max_mean`` typo.
    """
    sep = " " if spaces else "_"
    base = root / "DEAM_Annotations" / "annotations"
    if nested:
        base = base / "annotations"
    averaged = base / f"annotations{sep}averaged{sep}per{sep}song"
    ids_early = [*ids_2013, *DEAM_2014]
    if static:
        lines = [" song_id, valence_mean, valence_std, arousal_mean, arousal_std"]
        for song in ids_early:
            v, a = truth(song)
            if swapped_2013 and song <= 1000:
                v, a = a, v
            lines.append(f"{song:>8},{v:>13g},{1.2:>12g},{a:>13g},{1.3:>12g}")
        write_text(averaged / "song_level" / "static_annotations_averaged_songs_1_2000.csv", lines)
        header = (
            "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, "
            "valence_min_mean, valence_min_std, arousal_mean, arousal_std, arousal_max_mean, "
            "arousal_max_std, arousal_min_mean, arousal_min_std"
        )
        lines = [header]
        for song in DEAM_2015:
            v, a = truth(song)
            lines.append(
                f"{song},{v:g},0.9,{min(9, v + 1):g},0.5,{max(1, v - 1):g},0.5,"
                f"{a:g},0.8,{min(9, a + 1):g},0.4,{max(1, a - 1):g},0.4"
            )
        write_text(
            averaged / "song_level" / "static_annotations_averaged_songs_2000_2058.csv",
            lines,
            crlf=True,
        )
    if dynamic:
        dyn = averaged / f"dynamic{sep}(per{sep}second{sep}annotations)"
        valence, arousal = {}, {}
        for song in [*ids_early, *DEAM_2015]:
            n = DEAM_LONG if song > 2000 else DEAM_SHORT
            v, a = truth(song)
            valence[str(song)] = curve(canonical(v), n, song, 0)
            arousal[str(song)] = curve(canonical(a), n, song, 1)
        write_text(dyn / "valence.csv", wide_lines(valence, DEAM_LONG))
        write_text(dyn / "arousal.csv", wide_lines(arousal, DEAM_LONG))
        # the per-rater tree has folders called arousal/ and valence/: not the averaged files
        write_text(
            base / f"annotations{sep}per{sep}each{sep}rater" / f"dynamic{sep}(per{sep}second"
            f"{sep}annotations)" / "arousal" / "2.csv",
            ["WorkerID,sample_15000ms", "w1,0.1"],
        )
    if metadata:
        lines = [
            '"song_id","file_name","Artist","Song title","start of the segment (min.sec)",'
            '"end of the segment (min.sec)","Genre"'
        ]
        lines += [
            f'{s},"\t{s}.mp3","Band {s % 4}\t","\tT{s}\t","\t0.1\t","\t0.46\t","\tRock\t"'
            for s in ids_2013
        ]
        write_text(root / "metadata" / "metadata_2013.csv", lines)
        lines = ["Id,Artist,Album,Track,Genre"] + [
            f"{s},Group {s % 3},Album,Tune {s},Pop" for s in DEAM_2014
        ]
        write_text(root / "metadata" / "metadata_2014.csv", lines)
        lines = ["id,file_name,title,artist,album,genre"]
        lines += [f"{s},{s}.mp3,Song {s},Trio {s % 2},LP,Jazz" for s in DEAM_2015]
        write_text(root / "metadata" / "metadata_2015.csv", lines)
    for song in (*audio_ids, *extra_audio):
        seconds = 16.0 if song < 2000 else 18.5
        write_clip(root / "DEAM_audio" / "MEMD_audio" / f"{song}.mp3", seconds)
    return root


# --------------------------------------------------------------------------
# PMEmo
# --------------------------------------------------------------------------
PMEMO_IDS = (1, 4, 5, 6, 9)
PMEMO_UNANNOTATED = (11, 64)


def pmemo_truth(song: int) -> tuple[float, float]:
    """(valence, arousal) on [0, 1]."""
    v, a = truth(song)
    return (v - 1) / 8, (a - 1) / 8


def make_pmemo(
    root: Path,
    *,
    ids: Sequence[int] = PMEMO_IDS,
    unannotated: Sequence[int] = PMEMO_UNANNOTATED,
    static: bool = False,
    audio_ids: Sequence[int] = (1, 4),
    frames: int = 4,
    durations: dict[int, float] | None = None,
) -> Path:
    """A PMEmo2019 folder: metadata.csv, annotations/ (long format), chorus/."""
    durations = durations or {}
    meta = ["musicId,fileName,title,artist,album,duration,chorus_start_time,chorus_end_time"]
    for song in sorted((*ids, *unannotated)):
        album = '"Me, Myself & I (Remix\t)"' if song == 4 else f"Album {song}"
        meta.append(
            f"{song},{song}.mp3,Title {song},Singer {song % 2},{album},"
            f"{durations.get(song, 16.0)},02:35,03:05"
        )
    write_text(root / "metadata.csv", meta)
    dyn = ["musicId,frameTime,Arousal(mean),Valence(mean)"]
    std = ["musicId,frameTime,Arousal(std),Valence(std)"]
    for song in ids:
        v, a = pmemo_truth(song)
        for k in range(frames):
            t = 15.5 + 0.5 * k
            dyn.append(f"{song},{t},{min(1.0, a + 0.01 * k)!r},{min(1.0, v + 0.01 * k)!r}")
            std.append(f"{song},{t},0.2,0.2")
    write_text(root / "annotations" / "dynamic_annotations.csv", dyn)
    write_text(root / "annotations" / "dynamic_annotations_std.csv", std)
    if static:
        lines = ["musicId,Arousal(mean),Valence(mean)"]
        lines += [f"{s},{pmemo_truth(s)[1]!r},{pmemo_truth(s)[0]!r}" for s in ids]
        write_text(root / "annotations" / "static_annotations.csv", lines)
    for song in audio_ids:
        write_clip(root / "chorus" / f"{song}.mp3", durations.get(song, 16.0), sr=SR)
    return root


# --------------------------------------------------------------------------
# 4Q
# --------------------------------------------------------------------------
FOURQ_META_HEADER = (
    '"Song","Artist","Title","Quadrant","PQuad","MoodsTotal","Moods","MoodsFoundStr",'
    '"MoodsStr","MoodsStrSplit","Genres","GenresStr","Sample","SampleURL"'
)
FOURQ_CLIP_S = 10.5  # above 4Q's minimum (its shortest real clips are 10.08 s)
FOURQ_ARTISTS = ("Einstürzende Neubauten", "Céline Dion", "Motörhead", "Gipsy Kings")


def fourq_songs(per_quadrant: int = 3) -> dict[str, int]:
    """``{song id: quadrant}``: MT-style ids, ``per_quadrant`` per quadrant."""
    return {f"MT{q * 1000 + k:010d}": q for q in (1, 2, 3, 4) for k in range(per_quadrant)}


def make_4q(
    root: Path,
    *,
    per_quadrant: int = 3,
    encoding: str = "latin-1",
    audio: bool = True,
    extra_audio: Sequence[str] = (),
    clip_s: float = FOURQ_CLIP_S,
) -> Path:
    """``root/MER_audio_taffc_dataset`` with the two CSVs (CRLF, latin-1 metadata) and Q1..Q4/."""
    base = root / "MER_audio_taffc_dataset"
    songs = fourq_songs(per_quadrant)
    ann = ["Song,Quadrant"] + [f"{s},Q{q}" for s, q in songs.items()]
    write_text(base / "panda_dataset_taffc_annotations.csv", ann, crlf=True)
    meta = [FOURQ_META_HEADER]
    for k, (song, q) in enumerate(songs.items()):
        artist = FOURQ_ARTISTS[k % len(FOURQ_ARTISTS)]
        meta.append(
            f'"{song}","{artist}","Title {k}","Q{q}",0.75,4,3,"fiery; sexy","Fiery; Sexy",'
            f'"Fiery; Sexy",1,"Pop/Rock",1,"http://example.invalid/{song}.mp3"'
        )
    write_text(base / "panda_dataset_taffc_metadata.csv", meta, crlf=True, encoding=encoding)
    write_text(base / "readme.txt", ["Panda et al. TAFFC Dataset - 2018"], crlf=True)
    if audio:
        for song, q in songs.items():
            write_clip(base / f"Q{q}" / f"{song}.mp3", clip_s, sr=SR)
    for song in extra_audio:
        write_clip(base / "Q1" / f"{song}.mp3", clip_s)
    return base
