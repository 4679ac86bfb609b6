"""Bad input that must stop a run with a message naming the file: cut-off audio, rows
that do not parse, roots that are broken symlinks."""

from __future__ import annotations

from pathlib import Path

import pytest

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
