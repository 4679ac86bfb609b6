"""Bad input that must stop a run with a message naming the file: cut-off audio, rows
that do not parse, roots that are broken symlinks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fakes.datasets import make_4q, write_clip

from mer_bench.data import DATASETS
from mer_bench.data.audio import TruncatedAudioError, load_audio, reaches_end
from mer_bench.data.base import TRACK_LEVEL_CODES
from mer_bench.data.emomusic import EmoMusicAdapter
from mer_bench.errors import DatasetError

pytestmark = pytest.mark.usefixtures("no_env_roots")


# --------------------------------------------------------------------------
# roots that are symlinks
# --------------------------------------------------------------------------
def test_root_symlink_loop_is_named_as_a_loop(tmp_path: Path) -> None:
    loop = tmp_path / "eim"
    loop.symlink_to(loop)
    with pytest.raises(DatasetError) as info:
        EmoMusicAdapter(loop)
    text = str(info.value)
    assert f"root {loop} is a symlink loop" in text
    assert "does not exist" not in text


def test_root_through_a_looping_parent_is_named_as_a_loop(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(DatasetError, match="symlink loop") as info:
        EmoMusicAdapter(a / "eim")
    assert "does not exist" not in str(info.value)


def test_dangling_root_symlink_names_its_missing_target(tmp_path: Path) -> None:
    link = tmp_path / "eim"
    link.symlink_to(tmp_path / "moved-away")
    with pytest.raises(DatasetError) as info:
        EmoMusicAdapter(link)
    text = str(info.value)
    assert f"root {link} is a symlink to {tmp_path / 'moved-away'}, which does not exist" in text


def test_missing_root_still_says_it_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"root folder .*nope does not exist"):
        EmoMusicAdapter(tmp_path / "nope")


# --------------------------------------------------------------------------
# emoMusic's songs_info.csv: a row that does not parse
# --------------------------------------------------------------------------
def _eim_with_row3(tmp_path: Path, edit) -> Path:
    """A fake EiM tree whose songs_info.csv line 3 (song 3, in the evaluation set) is
    ``edit``-ed; returns the root."""
    root = EmoMusicAdapter.fake_tree(tmp_path / "eim")
    info = root / "annotations" / "songs_info.csv"
    lines = info.read_text().split("\n")
    assert lines[2].startswith("3,")
    lines[2] = edit(lines[2])
    info.write_text("\n".join(lines))
    return root


def _drop_quote(k: int):
    def edit(line: str) -> str:
        at = [i for i, c in enumerate(line) if c == '"'][k]
        return line[:at] + line[at + 1 :]

    return edit


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (_drop_quote(0), "double quote"),  # "\t3.mp3" -> \t3.mp3"  (a stray quote)
        (_drop_quote(1), "double quote"),  # the file name's closing quote: fields shift
        (_drop_quote(3), "double quote"),  # the artist's closing quote
        (_drop_quote(-1), "not closed"),  # "evaluation -> runs into the next line
        (lambda line: line.rsplit(",", 1)[0], "7 fields, the header has 8"),
        (lambda line: line + ',"x"', "9 fields, the header has 8"),
        (lambda line: line.replace('"evaluation"', '""'), "'Mediaeval 2013 set' is empty"),
        (lambda line: line.replace('"\t3.mp3"', '""'), "'file_name' is empty"),
        (lambda line: line.replace("\t0.48\t", "soon"), "is not a number"),
        (lambda line: line.replace("evaluation", "evalution"), "neither development nor"),
    ],
)
def test_malformed_songs_info_row_is_an_error_naming_file_and_line(tmp_path, edit, why) -> None:
    root = _eim_with_row3(tmp_path, edit)
    report = EmoMusicAdapter(root).validate(check_audio=False)
    errors = [p for p in report.errors() if "songs_info.csv" in p.message]
    assert errors, report.render()
    assert any("line 3" in p.message and why in p.message for p in errors), report.render()
    assert not {p.code for p in errors} & TRACK_LEVEL_CODES  # --skip-invalid does not waive it


def test_malformed_songs_info_row_fails_data_check(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mer_bench.cli import app

    root = _eim_with_row3(tmp_path, _drop_quote(1))
    result = CliRunner().invoke(app, ["data", "check", "emomusic", "--root", str(root)])
    assert result.exit_code == 1, result.output
    assert "songs_info.csv, line 3" in result.output


def test_clean_songs_info_has_no_row_error(tmp_path: Path) -> None:
    root = EmoMusicAdapter.fake_tree(tmp_path / "eim")
    adapter = EmoMusicAdapter(root)
    assert adapter.validate(check_audio=False).errors() == []
    split = adapter.official_split()
    assert split is not None and set(split.test) == {"3", "10"}


def test_stray_quote_in_another_dataset_table_names_file_and_line(tmp_path: Path) -> None:
    from mer_bench.data.pmemo import PMEmoAdapter

    root = PMEmoAdapter.fake_tree(tmp_path / "pmemo")
    meta = next(root.rglob("metadata.csv"))
    lines = meta.read_text().split("\n")
    lines[2] = lines[2].replace(",", ',x"', 1)
    meta.write_text("\n".join(lines))
    report = PMEmoAdapter(root).validate(check_audio=False)
    assert any("metadata.csv, line 3" in p.message for p in report.problems), report.render()


# --------------------------------------------------------------------------
# audio cut short: what the file's own headers declare
# --------------------------------------------------------------------------
MP3_OK = "MP3" in sf.available_formats()
needs_mp3 = pytest.mark.skipif(not MP3_OK, reason="this libsndfile cannot write MP3")


def _frames(data: bytes) -> list[int]:
    """Start of every MPEG frame (the header frame included) of a whole MP3."""
    from mer_bench.data.mp3 import _first_frame, _id3v2_end, frame_at

    pos, out = _first_frame(data, _id3v2_end(data)), []
    while pos is not None and (frame := frame_at(data, pos)) is not None:
        out.append(pos)
        pos += frame.size
    return out


def plain_mp3(path: Path, seconds: float, sr: int = 32000) -> bytes:
    """A CBR MP3 with no Xing/Info header, like the 4Q previews."""
    t = np.arange(int(seconds * sr)) / sr
    wave = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    sf.write(path, wave, sr, format="MP3", bitrate_mode="CONSTANT", compression_level=0.5)
    data = path.read_bytes()
    first, second = _frames(data)[:2]
    assert data[first:second].find(b"Xing") > 0 or data[first:second].find(b"Info") > 0
    data = data[:first] + data[second:]
    path.write_bytes(data)
    return data


def _tlen_tag(ms: int) -> bytes:
    """An ID3v2.3 tag holding one TLEN (length in ms) frame."""
    text = b"\x00" + str(ms).encode()
    frame = b"TLEN" + len(text).to_bytes(4, "big") + b"\x00\x00" + text
    return b"ID3\x03\x00\x00" + bytes([0, 0, 0, len(frame)]) + frame


def _fourq_with_clip(tmp_path: Path, data: bytes) -> tuple[Path, str]:
    """A 4Q tree whose first Q1 clip is replaced by ``data``."""
    base = make_4q(tmp_path / "root", per_quadrant=1)
    clip = sorted((base / "Q1").glob("*.mp3"))[0]
    clip.write_bytes(data)
    return tmp_path / "root", clip.stem


@needs_mp3
def test_plain_mp3_cut_inside_a_frame_is_truncated(tmp_path: Path) -> None:
    data = plain_mp3(tmp_path / "whole.mp3", 20.0)
    cut = data[: _frames(data)[int(0.6 * len(_frames(data)))] + 100]
    root, song = _fourq_with_clip(tmp_path, cut)
    report = DATASETS.get("4q")(root).validate()
    errors = {p.track_id: p for p in report.errors()}
    assert errors[song].code == "truncated_audio"
    assert f"{song}.mp3 ends inside an MP3 frame" in errors[song].message
    with pytest.raises(TruncatedAudioError, match="cut short"):
        load_audio(next(root.rglob(f"{song}.mp3")))


@needs_mp3
def test_mp3_whose_id3_length_is_longer_than_its_frames_is_truncated(tmp_path: Path) -> None:
    data = plain_mp3(tmp_path / "whole.mp3", 20.0)
    cut = data[: _frames(data)[int(0.6 * len(_frames(data)))]]  # on a frame boundary
    root, song = _fourq_with_clip(tmp_path, _tlen_tag(20000) + cut)
    errors = {p.track_id: p for p in DATASETS.get("4q")(root).validate().errors()}
    assert errors[song].code == "truncated_audio"
    assert "ID3 TLEN header declares 20.00 s" in errors[song].message


@needs_mp3
def test_genuinely_short_mp3_is_no_error(tmp_path: Path) -> None:
    """Whole files whose headers agree with their frames: plain, with a TLEN, with Xing."""
    data = plain_mp3(tmp_path / "plain.mp3", 10.5)
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(_tlen_tag(10500) + data)
    xing = write_clip(tmp_path / "xing.mp3", 10.5)
    for path in (tmp_path / "plain.mp3", tagged, xing):
        reaches_end(path)
        wave, sr = load_audio(path)
        assert len(wave) / sr == pytest.approx(10.5, abs=0.1)
    root, song = _fourq_with_clip(tmp_path, data)
    report = DATASETS.get("4q")(root).validate()
    assert song not in {p.track_id for p in report.errors()}


@pytest.mark.parametrize("fmt", ["WAV", "OGG"])
def test_cut_wav_and_ogg_are_truncated(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"clip.{fmt.lower()}"
    t = np.arange(22050 * 10) / 22050
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050, format=fmt)
    data = path.read_bytes()
    if fmt == "OGG":  # cut on a page boundary: only the missing end-of-stream page shows it
        data = data[: data.rfind(b"OggS", 0, int(0.6 * len(data)))]
    else:
        data = data[: int(0.6 * len(data))]
    path.write_bytes(data)
    with pytest.raises(TruncatedAudioError, match=f"{path.name} .*cut short"):
        reaches_end(path)
    with pytest.raises(TruncatedAudioError, match="cut short"):
        load_audio(path)


@pytest.mark.realdata
def test_real_mp3s_cut_mid_frame_are_truncated_and_whole_ones_pass(
    shared_data: Path, tmp_path: Path
) -> None:
    clips = sorted((shared_data / "4q").rglob("*.mp3"))[::20]
    clips += sorted((shared_data / "emotify").rglob("*.mp3"))[:3]  # ID3 TLEN
    clips += sorted((shared_data / "emomusic").rglob("*.mp3"))
    if len(clips) < 5:
        pytest.skip(f"no real MP3s below {shared_data}")
    cut = tmp_path / "cut.mp3"
    for clip in clips:
        reaches_end(clip)  # a whole file: nothing to report
        data = clip.read_bytes()
        cut.write_bytes(data[: int(0.6 * len(data)) + 217])  # 217: not on a frame boundary
        with pytest.raises(TruncatedAudioError, match="cut short"):
            reaches_end(cut)


def test_static_row_with_a_missing_field_in_another_dataset_is_an_error(tmp_path: Path) -> None:
    from mer_bench.data.pmemo import PMEmoAdapter

    root = PMEmoAdapter.fake_tree(tmp_path / "pmemo")
    static = next(root.rglob("static_annotations.csv"))
    lines = static.read_text().split("\n")
    lines[2] = lines[2].rsplit(",", 1)[0]
    static.write_text("\n".join(lines))
    errors = PMEmoAdapter(root).validate(check_audio=False).errors()
    assert [p.code for p in errors] == ["malformed_row"]
    assert "static_annotations.csv, line 3: the row has 2 fields, the header has 3" in (
        errors[0].message
    )
