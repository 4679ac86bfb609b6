"""What an MP3's own frame headers declare, read without decoding.

A cut-off MP3 without a Xing/Info or VBRI header (a plain CBR stream, as the 4Q
previews are) decodes without complaint to whatever is left, and libsndfile
estimates its length from that size, so header and decoded length agree. What
gives it away is its last frame: every frame header states the frame's size in
bytes, and a file cut at an arbitrary byte ends inside a frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_SEARCH = 1 << 16  # how far into the file (after an ID3v2 tag) the first frame is looked for
# kbps per bitrate index, by (MPEG-1?, layer)
_KBPS = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_KBPS[(False, 3)] = _KBPS[(False, 2)]
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# what may follow the last frame: ID3v1, APE, Lyrics3 tags, an ID3v2 footer
_TRAILERS = (b"TAG", b"APETAGEX", b"LYRICSBEGIN", b"3DI")


@dataclass(frozen=True)
class Frame:
    """One MPEG audio frame header."""

    size: int  # bytes, header included
    samples: int
    sample_rate: int
    mpeg1: bool
    mono: bool


@dataclass(frozen=True)
class Mp3Layout:
    """The frame chain of an MP3 file as its headers declare it."""

    frames: int  # complete frames, the Xing/Info/VBRI frame excluded
    samples_per_frame: int
    sample_rate: int
    declared_frames: int | None  # from a Xing/Info or VBRI header; None without one
    cut_bytes: int  # bytes the last frame declares but the file does not hold (0: whole)
    tlen_s: float | None = None  # the ID3v2 TLEN (length) frame, when the tag has one
    # the walk reached the end of the file (or a tag there), so ``frames`` counts them all
    complete_walk: bool = True

    @property
    def declared(self) -> tuple[float, str] | None:
        """The length the file states, in seconds, and which header states it."""
        if self.declared_frames is not None:
            return self.declared_frames * self.samples_per_frame / self.sample_rate, "Xing/VBRI"
        if self.tlen_s is not None:
            return self.tlen_s, "ID3 TLEN"
        return None

    @property
    def present_s(self) -> float:
        return self.frames * self.samples_per_frame / self.sample_rate


def frame_at(data: bytes, pos: int) -> Frame | None:
    """The frame header at ``pos``; None when the 4 bytes there are not one."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3]
    version, layer = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3)
    index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer == 4 or index in (0, 15) or rate_index == 3:
        return None  # reserved values, or a free-format stream (no size in the header)
    mpeg1 = version == 3
    rate = _RATES[version][rate_index]
    bitrate, pad = _KBPS[(mpeg1, layer)][index] * 1000, (b2 >> 1) & 1
    if layer == 1:
        return Frame((12 * bitrate // rate + pad) * 4, 384, rate, mpeg1, b3 >> 6 == 3)
    per_frame = 1152 if layer == 2 or mpeg1 else 576
    size = (144 if layer == 2 or mpeg1 else 72) * bitrate // rate + pad
    return Frame(size, per_frame, rate, mpeg1, b3 >> 6 == 3)


def _id3v2_end(data: bytes) -> int:
    """Where an ID3v2 tag at the start of the file ends (0 without one)."""
    if len(data) < 10 or not data.startswith(b"ID3"):
        return 0
    return 10 + _syncsafe(data[6:10]) + (10 if data[5] & 0x10 else 0)


def _syncsafe(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
    return value


def _tlen_s(data: bytes) -> float | None:
    """The TLEN frame (length in milliseconds) of an ID3v2.3/2.4 tag; None without one."""
    end, pos, major = _id3v2_end(data), 10, data[3] if len(data) > 3 else 0
    if end == 0 or major not in (3, 4) or data[5] & 0x40:  # no tag, v2.2, extended header
        return None
    while pos + 10 <= end and data[pos : pos + 1].isalnum():
        raw = data[pos + 4 : pos + 8]
        size = _syncsafe(raw) if major == 4 else int.from_bytes(raw, "big")
        if data[pos : pos + 4] == b"TLEN":
            text = data[pos + 11 : pos + 10 + size].decode("latin-1").strip("\x00 ")
            return int(text) / 1000 if text.isdigit() and int(text) > 0 else None
        pos += 10 + size
    return None


def _first_frame(data: bytes, start: int) -> int | None:
    """The first frame header followed by another (or by the end): a lone 0xFFE in a
    tag's padding is not mistaken for audio."""
    for pos in range(start, min(len(data), start + _SEARCH)):
        frame = frame_at(data, pos)
        if frame is None:
            continue
        nxt = pos + frame.size
        if nxt >= len(data) or frame_at(data, nxt) is not None:
            return pos
    return None


def _declared_frames(data: bytes, pos: int, frame: Frame) -> int | None:
    """The frame count of a Xing/Info or VBRI header in the frame at ``pos``."""
    side = (32 if not frame.mono else 17) if frame.mpeg1 else (17 if not frame.mono else 9)
    xing = pos + 4 + side
    if data[xing : xing + 4] in (b"Xing", b"Info"):
        flags = int.from_bytes(data[xing + 4 : xing + 8], "big")
        if flags & 1:
            return int.from_bytes(data[xing + 8 : xing + 12], "big")
        return None
    vbri = pos + 36
    if data[vbri : vbri + 4] == b"VBRI":
        return int.from_bytes(data[vbri + 14 : vbri + 18], "big")
    return None


def mp3_layout(path: Path | str) -> Mp3Layout | None:
    """Walk the frame headers of ``path``; None when it is no MPEG audio stream.

    Reads the file's bytes, decodes nothing: a few milliseconds for a 45 s clip.
    The walk stops at the first bytes that are not a frame header (an ID3v1 or
    APE tag at the end), which therefore never count as a cut.
    """
    data = Path(path).read_bytes()
    pos = _first_frame(data, _id3v2_end(data))
    if pos is None:
        return None
    first = frame_at(data, pos)
    assert first is not None
    declared = _declared_frames(data, pos, first)
    if declared is not None:
        pos += first.size  # the header frame holds no audio
    frames, cut, end = 0, 0, len(data)
    sizes: dict[bytes, int] = {}  # frame size per header: a stream uses only a few headers
    while pos + 4 <= end:
        head = data[pos : pos + 4]
        size = sizes.get(head)
        if size is None:
            frame = frame_at(data, pos)
            if frame is None:
                break
            size = sizes[head] = frame.size
        if pos + size > end:
            cut = pos + size - end
            break
        frames += 1
        pos += size
    whole = cut > 0 or pos >= end or data[pos:].startswith(_TRAILERS)
    return Mp3Layout(
        frames, first.samples, first.sample_rate, declared, cut, _tlen_s(data), whole
    )
