"""Audio decoding shared by real and synthetic datasets.

Decoding is by content (libsndfile reads WAV, FLAC, OGG and MP3 whatever the
file is named or what ``file`` guesses), always to float32, mixed to mono and
resampled on request. Unreadable, empty, truncated or silent audio raises
``AudioError`` naming the file, so a benchmark never trains on garbage silently.
What the decoder itself prints on stderr is re-printed with the file's name.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from mer_bench.atomic import atomic_file
from mer_bench.data.declared import cut_short
from mer_bench.errors import AudioError

SILENCE_PEAK = 1e-5  # a clip whose absolute peak stays below this is "silent"
# a decoded clip this much shorter than its header says was cut short
TRUNCATION_TOLERANCE_S = 1.0
TRUNCATION_TOLERANCE = 0.1  # ... or this share of the header's duration, if larger
_PROBE_S = 0.25  # how much of the end of a file ``reaches_end`` decodes
_STDERR_LOCK = threading.Lock()


class TruncatedAudioError(AudioError):
    """The file decodes to much less audio than its header announces (a cut-off download)."""


CropPolicy = Literal["start", "center"]
PadPolicy = Literal["none", "zeros", "repeat"]


@dataclass(frozen=True)
class AudioInfo:
    """Header facts read without decoding the whole file."""

    sample_rate: int
    channels: int
    duration_s: float
    format: str


@contextmanager
def decoder_messages(path: Path | str) -> Iterator[None]:
    """Re-print what the C decoder writes to stderr with the name of the file concerned.

    libsndfile's MP3 decoder prints notes such as ``Warning: Xing stream size
    off...`` straight to file descriptor 2, which would otherwise leave the user
    guessing which of a thousand files they concern.
    """
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no usable fd 2: nothing to tag
            yield
            return
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                noise = sink.read().decode("utf-8", "replace")
        for line in noise.splitlines():
            if line.strip():
                sys.stderr.write(f"{path}: decoder: {line.strip()}\n")


def unreadable_reason(path: Path) -> str:
    """What a file that libsndfile refuses actually is, in words a user can act on."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        return f"cannot be opened ({exc.strerror or exc})"
    if size == 0:
        return "is empty (0 bytes)"
    if head.startswith(b"ID3"):
        return f"holds an ID3 tag but no decodable audio ({size:,} bytes): it is cut short"
    text = head.decode("utf-8", "replace")
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"is text, not audio (starts {text[:40]!r})"
    start = head[:8].hex(" ")
    return f"is not audio in a format libsndfile decodes ({size:,} bytes, starts {start})"


def _unreadable(path: Path, exc: Exception) -> AudioError:
    return AudioError(
        f"audio file {path} {unreadable_reason(path)}. Re-download or remove it "
        "(`--skip-invalid` leaves the track out)."
    )


def audio_info(path: Path | str) -> AudioInfo:
    """Read the header of an audio file; raise AudioError if it cannot be parsed."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    try:
        with decoder_messages(path):
            info = sf.info(str(path))
    except Exception as exc:  # libsndfile raises several types
        raise _unreadable(path, exc) from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError(f"audio file {path} is empty (0 samples)")
    return AudioInfo(
        int(info.samplerate), int(info.channels), float(info.duration), str(info.format)
    )


def load_audio(
    path: Path | str,
    sr: int | None = None,
    *,
    mono: bool = True,
    offset_s: float = 0.0,
    duration_s: float | None = None,
    crop: CropPolicy = "start",
    pad: PadPolicy = "none",
    allow_silent: bool = False,
) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 and return ``(waveform, sample_rate)``.

    The waveform is [n] when ``mono`` else [channels, n]. With ``duration_s`` a
    longer clip is cropped (from ``offset_s`` or, with ``crop="center"``, around
    the middle) and a shorter one padded by ``pad``: ``zeros`` appends silence,
    ``repeat`` loops the clip from its start (He & Ferguson's rule), ``none``
    leaves it short.
    """
    path = Path(path)
    info = audio_info(path)  # uniform error for missing / unparsable files
    try:
        with decoder_messages(path):
            data, native_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(
            f"cannot decode audio file {path}: {exc}. Re-download or remove it."
        ) from exc
    if data.size == 0:
        raise AudioError(f"audio file {path} is empty (0 samples)")
    check_length(path, info, len(data) / native_sr)
    check_declared(path, info)  # what libsndfile's header length cannot show
    if not np.all(np.isfinite(data)):
        raise AudioError(f"audio file {path} contains NaN or infinite samples")
    wave = data.T  # [channels, n]
    if mono:
        wave = wave.mean(axis=0, keepdims=True)
    if sr is not None and sr != native_sr:
        import librosa

        wave = librosa.resample(wave, orig_sr=native_sr, target_sr=sr, res_type="soxr_hq", axis=-1)
        wave = np.ascontiguousarray(wave, dtype=np.float32)
    rate = sr or native_sr
    wave = _crop_or_pad(wave, rate, offset_s, duration_s, crop, pad)
    if not allow_silent and float(np.max(np.abs(wave))) < SILENCE_PEAK:
        raise AudioError(f"audio file {path} is silent (peak below {SILENCE_PEAK})")
    return (wave[0] if mono else wave), rate


def allowed_shortfall(declared_s: float) -> float:
    """Seconds a file may lack of the length its header states before it counts as cut."""
    return max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE * declared_s)


def check_length(path: Path, info: AudioInfo, decoded_s: float) -> None:
    """Raise TruncatedAudioError when ``decoded_s`` falls well short of the header's length."""
    missing = info.duration_s - decoded_s
    if missing > allowed_shortfall(info.duration_s):
        raise TruncatedAudioError(
            f"audio file {path} decodes to {decoded_s:.2f} s but its header says "
            f"{info.duration_s:.2f} s: the file is cut short. Re-download it "
            "(`--skip-invalid` leaves the track out)."
        )


def check_declared(path: Path, info: AudioInfo) -> None:
    """Raise TruncatedAudioError when the file's own container shows it was cut short.

    libsndfile sizes a cut WAV, Ogg or plain MP3 by what is left, so its header
    length agrees with the decoded one; ``declared.cut_short`` reads what the
    container itself states (no decoding).
    """
    try:
        reason = cut_short(path, info.format, allowed_shortfall)
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if reason:
        raise TruncatedAudioError(
            f"audio file {path} {reason}: the file is cut short. Re-download it "
            "(`--skip-invalid` leaves the track out)."
        )


def reaches_end(path: Path | str, info: AudioInfo | None = None) -> None:
    """Raise TruncatedAudioError unless the file holds what its headers declare and
    decodes a moment just before the header's end.

    Reading a header never notices a cut-off download whose header (an MP3's
    Xing frame count) still announces the full length; decoding the whole file
    does, but is slow. This checks the container's own sizes (``check_declared``)
    and reads a quarter of a second near the end.
    """
    path = Path(path)
    info = info or audio_info(path)
    check_declared(path, info)
    want = int(_PROBE_S * info.sample_rate)
    try:
        with decoder_messages(path), sf.SoundFile(str(path)) as fh:
            fh.seek(max(0, fh.frames - 2 * want))
            got = len(fh.read(want, dtype="float32"))
    except Exception:  # a failed seek or read past the real end: cut short as well
        got = 0
    if want and got < want // 4:
        raise TruncatedAudioError(
            f"audio file {path}: its header says {info.duration_s:.2f} s but nothing can be "
            "decoded near that end: the file is cut short. Re-download it "
            "(`--skip-invalid` leaves the track out)."
        )


def _crop_or_pad(
    wave: np.ndarray,
    sr: int,
    offset_s: float,
    duration_s: float | None,
    crop: CropPolicy,
    pad: PadPolicy,
) -> np.ndarray:
    n = wave.shape[-1]
    start = int(round(offset_s * sr))
    if duration_s is None:
        return wave[:, start:]
    want = int(round(duration_s * sr))
    if crop == "center" and n - start > want:
        start += (n - start - want) // 2
    wave = wave[:, start : start + want]
    short = want - wave.shape[-1]
    if short <= 0 or pad == "none":
        return wave
    if wave.shape[-1] == 0:
        raise ValueError("cannot pad an empty segment")
    if pad == "zeros":
        return np.pad(wave, ((0, 0), (0, short)))
    reps = int(np.ceil(want / wave.shape[-1]))
    return np.tile(wave, (1, reps))[:, :want]


def write_wav(path: Path, wave: np.ndarray, sr: int) -> None:
    """Write 16-bit PCM WAV atomically (``atomic_file``)."""
    with atomic_file(path) as fh:
        sf.write(fh, np.clip(wave, -1.0, 1.0), sr, subtype="PCM_16", format="WAV")
