"""Building blocks of the fake-tree builders (``DatasetAdapter.fake_tree``).

Each dataset module writes a tiny copy of its published layout with these:
text files with the real line endings and encodings, short real audio, and
labels that are deterministic functions of the song id (``truth``), so two
fakes of related datasets agree (DEAM's 2013 songs are EiM's) and a test can
compute the expected canonical values. Kept free of test-framework imports:
the builders live in the package so the contract tests find them through the
registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 8000  # fake audio sample rate: small files, still real audio
CLIP_S = 1.0


def truth(song_id: str | int) -> tuple[float, float]:
    """Deterministic (valence, arousal) of a song on the 1..9 scale, independent axes."""
    rng = np.random.default_rng(int(str(song_id).lstrip("MT") or 0) + 12345)
    return round(float(rng.uniform(1.5, 8.5)), 2), round(float(rng.uniform(1.5, 8.5)), 2)


def canonical(value_1_9: float) -> float:
    """A 1..9 value on the canonical [-1, 1] scale."""
    return (value_1_9 - 1.0) / 4.0 - 1.0


def curve(center: float, n: int, song_id: str | int, axis: int) -> np.ndarray:
    """A dynamic curve on [-1, 1] wobbling around ``center``."""
    phase = (int(str(song_id).lstrip("MT") or 0) % 7) + axis
    return np.clip(center + 0.05 * np.sin(np.arange(n) / 3.0 + phase), -1.0, 1.0)


def write_clip(path: Path, seconds: float = CLIP_S, sr: int = SR, channels: int = 1) -> Path:
    """Real audio (MP3 when the name says so and libsndfile can, else WAV content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    wave = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    if channels > 1:
        wave = np.stack([wave] * channels, axis=1)
    fmt = "MP3" if path.suffix.lower() == ".mp3" and "MP3" in sf.available_formats() else None
    if fmt is None and path.suffix.lower() not in (".wav", ".flac", ".ogg"):
        fmt = "WAV"
    sf.write(str(path), wave, sr, format=fmt)
    return path


def write_text(
    path: Path, lines: Iterable[str], *, crlf: bool = False, encoding: str = "utf-8"
) -> Path:
    """``lines`` with LF or CRLF endings (and a final one) in ``encoding``."""
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
