"""Rendering the synthetic dataset: a plan's clips as audio, and the manifest.

Per clip the renderer plays a chord progression in a major or minor key
(harmonic partials through a per-artist timbre, slightly detuned, with an
optional dissonant voice), percussive pulses at a tempo and subdivision, a
loudness envelope and a brightness envelope (a cross-fade between a dark and a
bright wavetable) that drift within the clip, and a little noise; the plan
(``synth_plan.py``) fixes every parameter, so the labels fit the sound.

``generate`` writes ``audio/<id>.wav`` (16-bit PCM, atomic) then
``manifest.json`` LAST (atomic), so a folder without a matching manifest is an
interrupted generation and is redone.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mer_bench.atomic import atomic_write
from mer_bench.data.audio import write_wav
from mer_bench.data.synth_plan import (
    AROUSAL_WEIGHTS,
    DRIFT_DEPTH,
    DYNAMIC_NOISE_SD,
    DYNAMIC_RATE_HZ,
    LOUDNESS_CENTER_DB,
    LOUDNESS_SPAN_DB,
    STATIC_NOISE_SD,
    VALENCE_WEIGHTS,
    Artist,
    ClipPlan,
    SynthConfig,
    drift_curve,
    plan_dataset,
)
from mer_bench.hashing import sha256_file

# written into every manifest: a folder whose manifest names another generator is foreign
GENERATOR_ID = "mer_bench.data.synthetic"
MANIFEST = "manifest.json"
AUDIO_DIR = "audio"

_TABLE_SIZE = 2048
_HOP = 64  # samples per control-rate step of the envelopes
_TRIADS = {1: (0, 4, 7), -1: (0, 3, 7)}


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _harmonic_basis() -> np.ndarray:
    """sin(2 pi k x) for k = 1..16 over one wavetable period (computed once)."""
    x = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    return np.sin(2 * np.pi * np.arange(1, 17)[:, None] * x[None, :])


def _wavetable(weights: np.ndarray, gain: float) -> np.ndarray:
    """Sum of harmonics with ``weights``, scaled to RMS ``gain`` so timbre is not loudness."""
    w = weights * (gain / np.sqrt(np.sum(weights**2) / 2.0))
    return w @ _harmonic_basis()[: len(w)]


def _voice_table(freq: float, artist: Artist, sr: int, gain: float) -> np.ndarray:
    """Dark (real) and bright (imaginary) wavetables of one voice, below Nyquist.

    Packing both in one complex table halves the number of gathers per sample.
    """
    k_max = max(1, min(_harmonic_basis().shape[0], int(0.45 * sr / freq)))
    k = np.arange(1, k_max + 1, dtype=float)
    bright = k**-artist.rolloff * np.where(k % 2 == 0, artist.even_gain, 1.0)
    dark = k[: min(artist.dark_harmonics, k_max)] ** -3.0
    return (_wavetable(dark, gain) + 1j * _wavetable(bright, gain)).astype(np.complex64)


def _midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _ramp(n: int, rising: bool) -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)
    return ramp if rising else ramp[::-1]


def render_clip(plan: ClipPlan, artist: Artist, config: SynthConfig) -> np.ndarray:
    """The float32 waveform of one clip (deterministic in ``config.seed`` and the plan).

    One random stream feeds the chords, then the pulses, then the noise, in that order.
    """
    rng = np.random.default_rng([config.seed, plan.index, 1])
    sr, n = config.sample_rate, config.n_samples
    f32 = np.float32
    bright_w, gain = _envelopes(plan, sr, n)
    wave = _chords(plan, artist, sr, n, rng, bright_w, gain)
    _add_pulses(wave, plan, config, rng, gain)
    wave += rng.standard_normal(n, dtype=f32) * f32(0.0015)
    fade = min(n // 2, int(0.01 * sr))
    wave[:fade] *= _ramp(fade, True)
    wave[n - fade :] *= _ramp(fade, False)
    return wave


def _envelopes(plan: ClipPlan, sr: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample brightness weight (0 dark .. 1 bright) and linear gain of a clip."""
    f32 = np.float32
    # control-rate envelopes (one value per _HOP samples, held: the drift is slow)
    n_ctl = -(-n // _HOP)
    t_ctl = (np.arange(n_ctl) + 0.5) * (_HOP / sr)
    bright_ctl = (drift_curve(plan.brightness, plan.brightness_drift, t_ctl) + 1) / 2
    bright_w = np.repeat(bright_ctl.astype(f32), _HOP)[:n]
    loud_db = LOUDNESS_CENTER_DB + LOUDNESS_SPAN_DB * drift_curve(
        plan.loudness, plan.loudness_drift, t_ctl
    )
    gain = np.repeat((10.0 ** (loud_db / 20.0)).astype(f32), _HOP)[:n]
    return bright_w, gain


def _chords(
    plan: ClipPlan,
    artist: Artist,
    sr: int,
    n: int,
    rng: np.random.Generator,
    bright_w: np.ndarray,
    gain: np.ndarray,
) -> np.ndarray:
    """The harmonic part: the progression's chords through the artist's wavetables."""
    f32 = np.float32
    # harmonic part: one chord per two bars, voices led inside one octave above the tonic
    dissonance = (1.0 - plan.consonance) / 2.0  # 0 pure .. 1 harsh
    detune_sd = 3.0 + 15.0 * dissonance  # cents
    chord_s = 8 * 60.0 / plan.tempo_bpm  # harmonic rhythm: one chord per 8 beats
    both = np.zeros(n, dtype=np.complex64)  # dark part in .real, bright part in .imag
    phase = np.empty(n)
    chord_env = np.empty(n, dtype=f32)
    cycles = np.arange(n, dtype=np.float64) * (_TABLE_SIZE / sr)  # table steps per Hz
    attack, release = int(0.02 * sr), int(0.04 * sr)
    start, k = 0, 0
    while start < n:
        stop = min(n, int(round((k + 1) * chord_s * sr)))
        m = stop - start
        degree = plan.progression[k % len(plan.progression)]
        voices = [(plan.tonic_midi - 12 + degree % 12, 0.8)]
        voices += [(plan.tonic_midi + (degree + iv) % 12, 1.0) for iv in _TRIADS[plan.mode]]
        if dissonance > 0.05:
            voices.append((plan.tonic_midi + (degree + 1) % 12, 0.5 * dissonance))
        for midi, amp in voices:
            freq = _midi_hz(midi + rng.normal(0, detune_sd) / 100.0)
            table = _voice_table(freq, artist, sr, 0.25 * amp)
            buf = np.multiply(cycles[:m], freq, out=phase[:m])
            buf += rng.random() * _TABLE_SIZE
            idx = buf.astype(np.intp)
            idx &= _TABLE_SIZE - 1
            both[start:stop] += table.take(idx)
        env = np.exp(np.arange(m, dtype=f32) * f32(-0.25 / sr))
        a, r = min(attack, m), min(release, m)
        env[:a] *= _ramp(a, True)
        if stop < n:
            env[m - r :] *= _ramp(r, False)
        chord_env[start:stop] = env
        start, k = stop, k + 1
    dark_sum, bright_sum = both.real, both.imag
    wave = bright_sum - dark_sum
    wave *= bright_w
    wave += dark_sum
    wave *= chord_env
    wave *= gain
    return wave


def _add_pulses(
    wave: np.ndarray,
    plan: ClipPlan,
    config: SynthConfig,
    rng: np.random.Generator,
    gain: np.ndarray,
) -> None:
    """Add, in place, a kick on every beat and a noise tick on every subdivision."""
    sr, n = config.sample_rate, config.n_samples
    f32 = np.float32
    # percussive pulses: a kick on every beat, a noise tick on every subdivision
    kick_t = np.arange(int(0.2 * sr)) / sr
    kick_phase = 2 * np.pi * (45.0 * kick_t + 90.0 * 0.02 * (1 - np.exp(-kick_t / 0.02)))
    kick = (np.sin(kick_phase) * np.exp(-kick_t / 0.07)).astype(f32)
    tick_t = np.arange(int(0.06 * sr)) / sr
    tick = np.diff(rng.standard_normal(len(tick_t) + 1)) * np.exp(-tick_t / 0.012) * 0.5
    tick = tick.astype(f32)
    step = 60.0 / (plan.tempo_bpm * plan.subdivisions)
    for j in range(int(config.duration_s / step) + 1):
        pos = int(round(j * step * sr))
        if pos >= n:
            break
        g = gain[pos]
        on_beat = j % plan.subdivisions == 0
        if on_beat:
            seg = kick[: n - pos]
            wave[pos : pos + len(seg)] += (1.2 * g) * seg
        seg = tick[: n - pos]
        wave[pos : pos + len(seg)] += ((0.6 if on_beat else 0.4) * g) * seg


PARALLEL_MIN_SAMPLES = 5_000_000  # below this, one thread is as fast


def _write_clip(job: tuple[Path, SynthConfig, Artist, ClipPlan]) -> dict[str, Any]:
    """Render one clip, write it atomically and return its manifest entry."""
    audio_dir, config, artist, plan = job
    path = audio_dir / f"{plan.id}.wav"
    write_wav(path, render_clip(plan, artist, config), config.sample_rate)
    skip = ("index", "id", "artist", "split", "static_va", "dynamic_va", "tag")
    return {
        "id": plan.id,
        "file": f"{AUDIO_DIR}/{path.name}",
        "sha256": sha256_file(path),
        "artist": plan.artist,
        "split": plan.split,
        "tags": [plan.tag],
        "static_va": list(plan.static_va),
        "dynamic_va": [list(row) for row in plan.dynamic_va],
        "params": {k: v for k, v in asdict(plan).items() if k not in skip},
    }


def _default_workers(config: SynthConfig) -> int:
    if config.n_clips * config.n_samples < PARALLEL_MIN_SAMPLES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def generate(
    root: Path, config: SynthConfig, version: str, name: str, workers: int | None = None
) -> dict[str, Any]:
    """Render every clip into ``root/audio`` and write the manifest last (atomically).

    Large instances render in ``workers`` threads (the output does not depend on
    how many: every clip has its own random stream).
    """
    audio_dir = root / AUDIO_DIR
    audio_dir.mkdir(parents=True, exist_ok=True)
    artists, plans = plan_dataset(config)
    by_id = {a.id: a for a in artists}
    wanted = {f"{p.id}.wav" for p in plans}
    for stale in audio_dir.iterdir():  # leftovers of an interrupted or older generation
        if stale.name.endswith(".tmp") or (stale.suffix == ".wav" and stale.name not in wanted):
            stale.unlink()
    jobs = [(audio_dir, config, by_id[p.artist], p) for p in plans]
    workers = _default_workers(config) if workers is None else max(1, workers)
    if workers > 1:  # numpy and libsndfile release the GIL on whole-clip arrays
        with ThreadPoolExecutor(workers) as pool:
            entries = list(pool.map(_write_clip, jobs))
    else:
        entries = [_write_clip(job) for job in jobs]
    manifest = {
        "generator": GENERATOR_ID,
        "name": name,
        "version": version,
        "seed": config.seed,
        "config": asdict(config),
        "dynamic_rate_hz": DYNAMIC_RATE_HZ,
        "label_columns": ["valence", "arousal"],
        "formulas": {
            "valence": VALENCE_WEIGHTS,
            "arousal": AROUSAL_WEIGHTS,
            "static_noise_sd": STATIC_NOISE_SD,
            "dynamic_noise_sd": DYNAMIC_NOISE_SD,
            "drift_depth": DRIFT_DEPTH,
        },
        "artists": [asdict(a) for a in artists],
        "tracks": entries,
    }
    atomic_write(root / MANIFEST, json.dumps(manifest, indent=1))
    return manifest
