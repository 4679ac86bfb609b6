import numpy as np
import pytest
import soundfile as sf

from mer_bench.data.audio import audio_info, load_audio, write_wav
from mer_bench.errors import AudioError
from mer_bench.hashing import sha256_file


def _tone(sr=16000, seconds=1.0, channels=1):
    t = np.arange(int(sr * seconds)) / sr
    wave = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([wave, 0.5 * wave], axis=1) if channels == 2 else wave


@pytest.mark.parametrize(
    "fmt,ext", [("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")]
)
def test_decodes_common_formats_to_mono_float32(tmp_path, fmt, ext):
    path = tmp_path / f"x.{ext}"
    sf.write(path, _tone(channels=2), 16000, format=fmt)
    wave, sr = load_audio(path)
    assert sr == 16000 and wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - 16000) < 2000  # codecs may add priming samples


def test_decodes_by_content_not_by_extension(tmp_path):
    path = tmp_path / "really_a_flac.mp3"
    sf.write(path, _tone(), 16000, format="FLAC")
    assert audio_info(path).format == "FLAC"
    assert load_audio(path)[0].shape == (16000,)


def test_resample_mono_mix_crop_and_pad(tmp_path):
    path = tmp_path / "s.wav"
    sf.write(path, _tone(sr=44100, seconds=2.0, channels=2), 44100)
    wave, sr = load_audio(path, 22050)
    assert sr == 22050 and len(wave) == 44100
    np.testing.assert_allclose(
        np.abs(wave).max(), 0.375, atol=0.01
    )  # mean of the 0.5 and 0.25 channels
    stereo, _ = load_audio(path, mono=False)
    assert stereo.shape == (2, 88200)
    cropped, _ = load_audio(path, 22050, duration_s=1.0, crop="center")
    assert len(cropped) == 22050
    padded, _ = load_audio(path, 22050, duration_s=5.0, pad="zeros")
    assert len(padded) == 5 * 22050 and np.all(padded[-22050:] == 0)
    looped, _ = load_audio(path, 22050, duration_s=5.0, pad="repeat")
    np.testing.assert_array_equal(looped[44100:88200], looped[:44100])
    short, _ = load_audio(path, 22050, duration_s=5.0, pad="none")
    assert len(short) == 44100


def test_bad_audio_raises_audio_error_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00not really audio" * 10)
    with pytest.raises(AudioError, match="garbage.wav"):
        load_audio(garbage)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 16000)
    with pytest.raises(AudioError, match="empty.wav"):
        load_audio(empty)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000), 16000)
    with pytest.raises(AudioError, match="silent.wav.*silent"):
        load_audio(silent)
    assert load_audio(silent, allow_silent=True)[0].shape == (16000,)
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "missing.wav")


def test_write_wav_is_atomic_and_hash_tracks_content(tmp_path):
    path = tmp_path / "a" / "b.wav"
    write_wav(path, _tone(), 16000)
    assert path.is_file() and not list(path.parent.glob(".*.tmp"))
    h1 = sha256_file(path)
    write_wav(path, _tone() * 0.5, 16000)
    assert sha256_file(path) != h1
