"""``atomic_file``: the target holds the old content or the whole new one, never a part."""

from __future__ import annotations

import pytest

from mer_bench.atomic import atomic_file, atomic_write


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "out.txt"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_file(target) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_the_temporary_path_is_readable_before_the_rename(tmp_path):
    target = tmp_path / "weights.bin"
    with atomic_file(target) as fh:
        fh.write(b"abc")
        fh.flush()
        assert not target.exists() and open(fh.name, "rb").read() == b"abc"
    assert target.read_bytes() == b"abc" and oct(target.stat().st_mode & 0o777) == "0o644"
