"""Bad input that must stop a run with a message naming the file: cut-off audio, rows
that do not parse, roots that are broken symlinks."""

from __future__ import annotations

from pathlib import Path

import pytest

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
