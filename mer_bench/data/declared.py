"""Whether an audio file holds all that its own headers declare, read without decoding.

libsndfile sizes a cut-off WAV by the bytes left (not by its RIFF header), an Ogg
file by its last page, and a plain MP3 by its size, so a partial download
decodes to fewer seconds with no error, and "header length" equals decoded
length. The containers still say what was there: a WAV's ``data`` chunk size, an
MP3's Xing/VBRI frame count or ID3 ``TLEN``, the byte size each MP3 frame header
gives, the end-of-stream flag an Ogg stream's last page carries. FLAC needs
nothing here: libsndfile reports its STREAMINFO sample count.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mer_bench.data.mp3 import mp3_layout

_HEAD = 1 << 16  # bytes of a WAV file read to find its data chunk
_UNKNOWN = (0, 0xFFFFFFFF)  # sizes a streaming writer leaves for "not known"


Tolerance = Callable[[float], float]
"""Seconds that may be missing from a file whose header states the given length."""


def cut_short(path: Path, fmt: str, tolerance: Tolerance) -> str | None:
    """Why ``path`` (libsndfile format ``fmt``) is cut short, in words; None when nothing
    shows it. A stated length counts only when more than ``tolerance`` of it is missing;
    a file that ends inside a frame or page is cut, whatever it lost."""
    if fmt == "WAV":
        return _wav(path, tolerance)
    if fmt == "OGG":
        return _ogg(path)
    if fmt == "MP3":
        return _mp3(path, tolerance)
    return None


def _wav(path: Path, tolerance: Tolerance) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            byte_rate = int.from_bytes(head[pos + 16 : pos + 20], "little")
        elif chunk == b"data":
            present = size - pos - 8
            if length in _UNKNOWN or byte_rate == 0 or present >= length:
                return None
            declared_s, present_s = length / byte_rate, present / byte_rate
            if declared_s - present_s <= tolerance(declared_s):
                return None
            return (
                f"holds {present_s:.2f} s of samples but its WAV header declares "
                f"{declared_s:.2f} s ({length - present:,} bytes are missing)"
            )
        pos += 8 + length + (length & 1)
    return None


def _ogg(path: Path) -> str | None:
    data = path.read_bytes()
    pos, flags = 0, 0
    while data[pos : pos + 4] == b"OggS":
        segments = data[pos + 26] if pos + 27 <= len(data) else 0
        body = pos + 27 + segments
        if body > len(data) or body + sum(data[pos + 27 : body]) > len(data):
            return f"ends inside an Ogg page (at byte {len(data):,})"
        flags, pos = data[pos + 5], body + sum(data[pos + 27 : body])
    if pos == len(data) and pos and not flags & 0x04:
        return "ends without the end-of-stream page an Ogg stream closes with"
    return None


def _mp3(path: Path, tolerance: Tolerance) -> str | None:
    layout = mp3_layout(path)
    if layout is None:
        return None
    declared = layout.declared if layout.complete_walk else None  # junk mid-stream: unsure
    if declared is not None and declared[0] - layout.present_s > tolerance(declared[0]):
        return (
            f"holds {layout.present_s:.2f} s of MP3 frames but its {declared[1]} header "
            f"declares {declared[0]:.2f} s"
        )
    if layout.cut_bytes:
        return (
            f"ends inside an MP3 frame ({layout.cut_bytes:,} bytes of its last frame are "
            "missing)"
        )
    return None
