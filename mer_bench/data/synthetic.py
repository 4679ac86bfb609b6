"""The embedded default dataset: structured synthetic music with known emotion labels.

Why it exists: a benchmark must run (and tests must be able to assert "beats
chance") without any licensed audio on disk. Every clip is rendered from a
handful of musical parameters, and its valence and arousal are *known*
deterministic functions of those parameters (plus annotator-like noise), so a
method that listens well must score well.

Per clip the renderer plays a chord progression in a major or minor key
(harmonic partials through a per-artist timbre, slightly detuned, with an
optional dissonant voice), percussive pulses at a tempo and subdivision, a
loudness envelope and a brightness envelope (a cross-fade between a dark and a
bright wavetable) that drift within the clip, and a little noise.

The labels (canonical scale [-1, 1], column 0 valence, column 1 arousal) are::

    V(t) = 0.40 mode + 0.20 consonance + 0.15 register + 0.25 brightness(t)
    A(t) = 0.30 tempo + 0.30 loudness(t) + 0.15 brightness(t) + 0.25 density

with every parameter normalised to [-1, 1] (mode is -1 minor / +1 major,
density is -1/0/+1 for 1/2/4 pulses per beat). ``dynamic_va`` is that curve at
2 Hz (frame k stands for [k/2, k/2 + 1/2) s and is evaluated at its centre) plus
smooth annotator noise; ``static_va`` is the mean of the noiseless curve plus
annotator noise. Latent targets are drawn quadrant-balanced, parameters are
derived from them with noise, then the labels are recomputed from the
parameters, so the formulas above hold exactly.

Generation is deterministic from ``seed``, happens on first construction, and
writes ``audio/<id>.wav`` (16-bit PCM, atomic) then ``manifest.json`` LAST
(atomic), so a folder without a matching manifest is an interrupted generation
and is redone.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import soundfile as sf
from filelock import FileLock

from mer_bench.data.audio import write_wav
from mer_bench.data.base import DATASETS, DatasetAdapter, ValidationReport
from mer_bench.errors import DatasetError
from mer_bench.types import VA_ANNOTATED_TASKS, Split, TaskKind, Track, quadrant_of

GENERATOR_ID = "mer_bench.data.synthetic"
MANIFEST = "manifest.json"
AUDIO_DIR = "audio"
LOCK_FILE = ".generate.lock"
DYNAMIC_RATE_HZ = 2.0

# The known label functions (weights sum to 1, so V, A stay in [-1, 1]).
VALENCE_WEIGHTS: dict[str, float] = {
    "mode": 0.40,
    "consonance": 0.20,
    "register": 0.15,
    "brightness": 0.25,
}
AROUSAL_WEIGHTS: dict[str, float] = {
    "tempo": 0.30,
    "loudness": 0.30,
    "brightness": 0.15,
    "density": 0.25,
}
STATIC_NOISE_SD = 0.05  # annotator noise on the static label
DYNAMIC_NOISE_SD = 0.03  # annotator noise on each dynamic frame (smoothed)
DRIFT_DEPTH = 0.35  # how far loudness / brightness wander around their base level

# Parameter -> sound mappings.
REGISTER_CENTER_MIDI, REGISTER_SPAN = 55, 9  # tonic MIDI note = 55 + 9 * register
TEMPO_CENTER_BPM, TEMPO_SPAN = 110, 50  # bpm = 110 + 50 * tempo
LOUDNESS_CENTER_DB, LOUDNESS_SPAN_DB = -22.0, 10.0  # gain dB = -22 + 10 * loudness
SUBDIVISIONS = {-1: 1, 0: 2, 1: 4}  # density -> pulses per beat

# One mood tag per quadrant: first when valence dominates, second when arousal does.
MOOD_TAGS: dict[int, tuple[str, str]] = {
    1: ("happy", "exciting"),
    2: ("angry", "tense"),
    3: ("sad", "gloomy"),
    4: ("tender", "calm"),
}

_TABLE_SIZE = 2048
_HOP = 64  # samples per control-rate step of the envelopes
_MAJOR_PROGRESSIONS = ((0, 0, 5, 7), (0, 7, 0, 5), (0, 5, 0, 7))  # I I IV V, I V I IV, ...
_MINOR_PROGRESSIONS = ((0, 0, 5, 7), (0, 7, 0, 5), (0, 5, 0, 7))  # i i iv v, ...
_TRIADS = {1: (0, 4, 7), -1: (0, 3, 7)}


# --------------------------------------------------------------------------
# Configuration and plans (labels without audio)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines the generated content (besides ``version``)."""

    n_clips: int
    duration_s: float
    sample_rate: int
    n_artists: int
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_clips < 1 or self.n_artists < 1 or self.duration_s < 0.5:
            raise DatasetError(
                f"bad synthetic config {self}: need n_clips >= 1, n_artists >= 1, duration_s >= 0.5"
            )
        if self.sample_rate < 8000:
            raise DatasetError(f"bad synthetic config {self}: sample_rate must be >= 8000")

    @property
    def n_samples(self) -> int:
        return int(round(self.duration_s * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Dynamic frames: 2 Hz times the duration."""
        return int(round(self.duration_s * DYNAMIC_RATE_HZ))


@dataclass(frozen=True)
class Artist:
    """A timbre, a register offset and an emotional bias shared by an artist's clips."""

    id: str
    rolloff: float  # spectral slope of the bright wavetable (amplitude ~ k^-rolloff)
    even_gain: float  # weight of even harmonics (hollow <-> full)
    dark_harmonics: int  # partials in the dark wavetable
    register_offset: float  # added to the register parameter
    valence_bias: float
    arousal_bias: float


@dataclass(frozen=True)
class ClipPlan:
    """The latent musical parameters and resulting labels of one clip."""

    index: int
    id: str
    artist: str
    split: str
    mode: int  # +1 major, -1 minor
    consonance: float  # [-1, 1]: -1 detuned and dissonant, +1 pure
    register: float  # [-1, 1], realised (tonic on a semitone)
    tonic_midi: int
    tempo: float  # [-1, 1], realised (integer bpm)
    tempo_bpm: int
    density: int  # -1, 0, +1
    brightness: float  # base level in [-1, 1]
    loudness: float  # base level in [-1, 1]
    brightness_drift: tuple[float, ...]  # (a1, f1, p1, a2, f2, p2)
    loudness_drift: tuple[float, ...]
    progression: tuple[int, ...]
    static_va: tuple[float, float]
    dynamic_va: tuple[tuple[float, float], ...]
    tag: str

    @property
    def subdivisions(self) -> int:
        return SUBDIVISIONS[self.density]


def drift_curve(base: float, drift: Sequence[float], times: np.ndarray) -> np.ndarray:
    """A slowly wandering envelope in [-1, 1]: ``base`` plus two slow sinusoids."""
    a1, f1, p1, a2, f2, p2 = drift
    s = a1 * np.sin(2 * np.pi * f1 * times + p1) + a2 * np.sin(2 * np.pi * f2 * times + p2)
    return np.clip(base + DRIFT_DEPTH * s, -1.0, 1.0)


def valence_arousal(plan: ClipPlan, times: np.ndarray) -> np.ndarray:
    """The noiseless label curve [len(times), 2] of a clip: the known formulas."""
    times = np.asarray(times, dtype=float)
    b = drift_curve(plan.brightness, plan.brightness_drift, times)
    loud = drift_curve(plan.loudness, plan.loudness_drift, times)
    wv, wa = VALENCE_WEIGHTS, AROUSAL_WEIGHTS
    v = (
        wv["mode"] * plan.mode
        + wv["consonance"] * plan.consonance
        + wv["register"] * plan.register
        + wv["brightness"] * b
    )
    a = (
        wa["tempo"] * plan.tempo
        + wa["loudness"] * loud
        + wa["brightness"] * b
        + wa["density"] * plan.density
    )
    return np.stack([v, a], axis=1)


def frame_times(config: SynthConfig) -> np.ndarray:
    """Centres of the 2 Hz dynamic frames (frame k covers [k/2, k/2 + 1/2) s)."""
    return (np.arange(config.n_frames) + 0.5) / DYNAMIC_RATE_HZ


def mood_tag(valence: float, arousal: float) -> str:
    """The single mood tag of a V/A point (see ``MOOD_TAGS``)."""
    q = quadrant_of(valence, arousal)
    return MOOD_TAGS[q][0 if abs(valence) >= abs(arousal) else 1]


def _clip1(x: float) -> float:
    return float(np.clip(x, -1.0, 1.0))


def _make_artists(config: SynthConfig, rng: np.random.Generator) -> list[Artist]:
    artists = []
    for k in range(config.n_artists):
        artists.append(
            Artist(
                id=f"artist{k:02d}",
                rolloff=float(rng.uniform(0.6, 1.4)),
                even_gain=float(rng.uniform(0.3, 1.0)),
                dark_harmonics=int(rng.integers(1, 4)),
                register_offset=float(rng.uniform(-0.25, 0.25)),
                valence_bias=float(rng.uniform(-0.2, 0.2)),
                arousal_bias=float(rng.uniform(-0.2, 0.2)),
            )
        )
    return artists


def _drift(rng: np.random.Generator, duration_s: float) -> tuple[float, ...]:
    a1 = float(rng.uniform(0.5, 1.0))
    f1, f2 = (float(f) for f in rng.uniform(0.3, 1.2, 2) / duration_s)
    p1, p2 = (float(p) for p in rng.uniform(0, 2 * np.pi, 2))
    return (a1, f1, p1, 1.0 - a1, f2, p2)


def plan_dataset(config: SynthConfig) -> tuple[list[Artist], list[ClipPlan]]:
    """Draw artists, parameters and labels for every clip (cheap; no audio).

    Quadrants of the latent targets are dealt round-robin so the four Russell
    quadrants stay balanced after the labels are recomputed from parameters.
    """
    master = np.random.default_rng([config.seed, 0xA57])
    artists = _make_artists(config, master)
    n = config.n_clips
    artist_of = master.permutation(np.arange(n) % config.n_artists)
    quadrant_target = master.permutation(np.arange(n) % 4) + 1
    order = master.permutation(n)
    n_test, n_val = int(round(0.2 * n)), int(round(0.1 * n))
    split_of = np.empty(n, dtype=object)
    split_of[order[:n_test]] = "test"
    split_of[order[n_test : n_test + n_val]] = "val"
    split_of[order[n_test + n_val :]] = "train"

    times = frame_times(config)
    plans = []
    for i in range(n):
        rng = np.random.default_rng([config.seed, i, 0])
        artist = artists[int(artist_of[i])]
        q = int(quadrant_target[i])
        v_sign = 1.0 if q in (1, 4) else -1.0
        a_sign = 1.0 if q in (1, 2) else -1.0
        v_t = float(np.clip(v_sign * rng.uniform(0.15, 0.9) + artist.valence_bias, -0.95, 0.95))
        a_t = float(np.clip(a_sign * rng.uniform(0.15, 0.9) + artist.arousal_bias, -0.95, 0.95))

        mode = 1 if v_t + rng.normal(0, 0.2) > 0 else -1
        consonance = _clip1(v_t + rng.normal(0, 0.3))
        tonic = int(
            round(
                REGISTER_CENTER_MIDI
                + REGISTER_SPAN * _clip1(0.8 * v_t + artist.register_offset + rng.normal(0, 0.3))
            )
        )
        register = (tonic - REGISTER_CENTER_MIDI) / REGISTER_SPAN
        bpm = int(round(TEMPO_CENTER_BPM + TEMPO_SPAN * _clip1(a_t + rng.normal(0, 0.3))))
        tempo = (bpm - TEMPO_CENTER_BPM) / TEMPO_SPAN
        d = a_t + rng.normal(0, 0.3)
        density = -1 if d < -1 / 3 else (0 if d < 1 / 3 else 1)
        brightness = _clip1(0.5 * (v_t + a_t) + rng.normal(0, 0.25))
        loudness = _clip1(a_t + rng.normal(0, 0.3))
        b_drift = _drift(rng, config.duration_s)
        l_drift = _drift(rng, config.duration_s)
        progs = _MAJOR_PROGRESSIONS if mode > 0 else _MINOR_PROGRESSIONS
        progression = progs[int(rng.integers(len(progs)))]

        draft = ClipPlan(
            i, f"clip_{i:04d}", artist.id, str(split_of[i]), mode, round(consonance, 6),
            register, tonic, tempo, bpm, density, round(brightness, 6), round(loudness, 6),
            tuple(round(x, 6) for x in b_drift), tuple(round(x, 6) for x in l_drift),
            progression, (0.0, 0.0), (), "",
        )  # fmt: skip
        clean = valence_arousal(draft, times)
        static = np.clip(clean.mean(axis=0) + rng.normal(0, STATIC_NOISE_SD, 2), -1, 1)
        noise = np.pad(rng.normal(0, DYNAMIC_NOISE_SD, clean.shape), ((1, 1), (0, 0)), "edge")
        noise = 0.25 * noise[:-2] + 0.5 * noise[1:-1] + 0.25 * noise[2:]  # annotators lag
        dynamic = np.clip(clean + noise * math.sqrt(8 / 3), -1, 1)  # rescaled to keep the SD
        sv = (round(float(static[0]), 6), round(float(static[1]), 6))
        plans.append(
            ClipPlan(
                **{
                    **asdict(draft),
                    "static_va": sv,
                    "dynamic_va": tuple(
                        (round(float(v), 6), round(float(a), 6)) for v, a in dynamic
                    ),
                    "tag": mood_tag(*sv),
                }
            )
        )
    return artists, plans


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
    """The float32 waveform of one clip (deterministic in ``config.seed`` and the plan)."""
    rng = np.random.default_rng([config.seed, plan.index, 1])
    sr, n = config.sample_rate, config.n_samples
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

    wave += rng.standard_normal(n, dtype=f32) * f32(0.0015)
    fade = min(n // 2, int(0.01 * sr))
    wave[:fade] *= _ramp(fade, True)
    wave[n - fade :] *= _ramp(fade, False)
    return wave


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
        "sha256": _sha256(path),
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
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(root / MANIFEST)
    return manifest


# --------------------------------------------------------------------------
# Adapters
# --------------------------------------------------------------------------
_OWN_NAMES = {AUDIO_DIR, MANIFEST, LOCK_FILE, f".{MANIFEST}.tmp"}


class SyntheticDataset(DatasetAdapter):
    """Shared adapter of the generated datasets; subclasses only set the size constants.

    ``root=None`` means the cache folder ``default_root(...)``; the dataset is
    generated there on first construction and read back afterwards.
    """

    version: ClassVar[str] = "1"
    citation: ClassVar[str] = (
        "mer-bench synthetic MER dataset (generated by mer_bench.data.synthetic); "
        "cite the mer-bench software."
    )
    license: ClassVar[str] = "generated; public domain"
    homepage: ClassVar[str] = "mer_bench/data/synthetic.py (generated locally)"
    download_info: ClassVar[str] = "generated automatically; nothing to download"
    task_kinds: ClassVar[frozenset[TaskKind]] = VA_ANNOTATED_TASKS.union(
        {TaskKind.TEXT2MUSIC_RETRIEVAL}
    )
    # every clip carries one of these mood tags (MOOD_TAGS), so synth is a text2music target
    emotion_vocabulary: ClassVar[tuple[str, ...]] = tuple(
        word for pair in MOOD_TAGS.values() for word in pair
    )
    label_scales: ClassVar[dict[str, str]] = {
        "static_va": "canonical [-1, 1] -> [-1, 1] (generated on the canonical scale)",
        "dynamic_va": "canonical [-1, 1] -> [-1, 1], 2 Hz from 0 s",
    }

    n_clips: ClassVar[int]
    duration_s: ClassVar[float]
    sample_rate: ClassVar[int]
    n_artists: ClassVar[int]
    default_seed: ClassVar[int] = 0

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        seed: int | None = None,
        n_clips: int | None = None,
        duration_s: float | None = None,
        sample_rate: int | None = None,
        n_artists: int | None = None,
    ) -> None:
        self.config = self.make_config(seed, n_clips, duration_s, sample_rate, n_artists)
        if root is None:
            resolved = self.default_root(config=self.config)
        else:
            resolved = Path(root).expanduser()
        try:
            resolved.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatasetError(
                f"dataset {self.name}: cannot create {resolved}: {exc}. Pass a writable root "
                "or set MER_BENCH_CACHE"
            ) from exc
        super().__init__(resolved)
        self.ensure_generated()

    @classmethod
    def make_config(
        cls,
        seed: int | None = None,
        n_clips: int | None = None,
        duration_s: float | None = None,
        sample_rate: int | None = None,
        n_artists: int | None = None,
    ) -> SynthConfig:
        """The class defaults with any given overrides."""
        return SynthConfig(
            n_clips=cls.n_clips if n_clips is None else int(n_clips),
            duration_s=cls.duration_s if duration_s is None else float(duration_s),
            sample_rate=cls.sample_rate if sample_rate is None else int(sample_rate),
            n_artists=cls.n_artists if n_artists is None else int(n_artists),
            seed=cls.default_seed if seed is None else int(seed),
        )

    @classmethod
    def default_root(cls, seed: int | None = None, config: SynthConfig | None = None) -> Path:
        """``$MER_BENCH_CACHE/datasets/<name>-v<version>-seed<seed>`` (non-default sizes
        get a suffix so they never overwrite the standard instance)."""
        config = config or cls.make_config(seed)
        cache = Path(os.environ.get("MER_BENCH_CACHE", "~/.cache/mer-bench")).expanduser()
        folder = f"{cls.name}-v{cls.version}-seed{config.seed}"
        standard = cls.make_config(config.seed)
        if config != standard:
            folder += (
                f"-n{config.n_clips}-d{config.duration_s:g}-sr{config.sample_rate}"
                f"-a{config.n_artists}"
            )
        return cache / "datasets" / folder

    # --- generation ----------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def _read_manifest(self) -> dict[str, Any] | None:
        """The manifest if present; a foreign or corrupt one is an error, never overwritten."""
        path = self.manifest_path
        if not path.is_file():
            return None
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DatasetError(
                f"dataset {self.name}: cannot parse {path}: {exc}. Delete it to regenerate."
            ) from exc
        if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR_ID:
            raise DatasetError(
                f"dataset {self.name}: {path} was not written by {GENERATOR_ID}; "
                "use another root folder"
            )
        return manifest

    def is_complete(self) -> bool:
        """True when the manifest names this generator's version, seed and sizes."""
        manifest = self._read_manifest()
        return (
            manifest is not None
            and manifest.get("version") == self.version
            and manifest.get("seed") == self.config.seed
            and manifest.get("config") == asdict(self.config)
            and manifest.get("name") == self.name
        )

    def ensure_generated(self, force: bool = False) -> bool:
        """Generate unless a matching manifest exists; returns True when it generated.

        A file lock makes parallel processes (sweep workers) generate only once.
        """
        if not force and self.is_complete():
            return False
        with FileLock(str(self.root / LOCK_FILE)):
            if not force and self.is_complete():
                return False
            foreign = sorted(p.name for p in self.root.iterdir() if p.name not in _OWN_NAMES)
            if foreign:
                raise DatasetError(
                    f"dataset {self.name}: {self.root} is not a generated {self.name} folder "
                    f"(it holds {', '.join(foreign[:5])}); pass an empty or new root, or none "
                    "to use the cache"
                )
            try:
                generate(self.root, self.config, self.version, self.name)
            except OSError as exc:
                raise DatasetError(
                    f"dataset {self.name}: cannot write the generated dataset to {self.root}: {exc}"
                ) from exc
        self.__dict__.pop("_tracks", None)
        self.__dict__.pop("_by_id", None)
        return True

    # --- tracks ----------------------------------------------------------------
    def _load_tracks(self) -> list[Track]:
        manifest = self._read_manifest()
        if manifest is None:
            raise DatasetError(
                f"dataset {self.name}: {self.manifest_path} is missing; construct the "
                "adapter again to regenerate it"
            )
        try:
            return [self._track(entry) for entry in manifest["tracks"]]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise DatasetError(
                f"dataset {self.name}: malformed {self.manifest_path} ({exc!r}); delete it to "
                "regenerate the dataset"
            ) from exc

    def _track(self, entry: dict[str, Any]) -> Track:
        params = entry["params"]
        return Track(
            id=entry["id"],
            audio_path=self.root / entry["file"],
            duration_s=self.config.duration_s,
            sample_rate=self.config.sample_rate,
            static_va=(float(entry["static_va"][0]), float(entry["static_va"][1])),
            dynamic_va=np.asarray(entry["dynamic_va"], dtype=float).reshape(-1, 2),
            dynamic_rate_hz=DYNAMIC_RATE_HZ,
            dynamic_start_s=0.0,
            quadrant=None,  # derived from static V/A by Track.effective_quadrant / Task
            tags=tuple(entry["tags"]),
            meta={
                "artist": entry["artist"],
                "official_split": entry["split"],
                "mode": "major" if params["mode"] > 0 else "minor",
                "tempo_bpm": str(params["tempo_bpm"]),
                "pulses_per_beat": str(SUBDIVISIONS[params["density"]]),
                "tonic_midi": str(params["tonic_midi"]),
            },
        )

    def plans(self) -> list[ClipPlan]:
        """The latent parameters of every clip (recomputed; identical to the manifest's)."""
        return plan_dataset(self.config)[1]

    def official_split(self) -> Split:
        by_split: dict[str, list[str]] = {"train": [], "val": [], "test": []}
        for t in self._tracks:
            by_split[t.meta["official_split"]].append(t.id)
        return Split("official", *(tuple(by_split[k]) for k in ("train", "val", "test")))

    # --- validation --------------------------------------------------------------
    def _validate_extra(self, report: ValidationReport) -> None:
        """WAV files in ``audio/`` that the manifest does not list."""
        try:
            manifest = self._read_manifest() or {"tracks": []}
            listed = {Path(entry["file"]).name for entry in manifest["tracks"]}
        except (DatasetError, KeyError, TypeError):  # reported by the base checks
            return
        audio_dir = self.root / AUDIO_DIR
        for path in sorted(audio_dir.glob("*.wav")) if audio_dir.is_dir() else []:
            if path.name not in listed:
                report.add(
                    "warning", "unannotated_audio", f"{path} is not in the manifest", None, path
                )

    def validate(self, check_audio: bool = True, deep: bool = False) -> ValidationReport:
        """Base checks, then audio at another rate or shorter than generated, and with
        ``deep`` files whose bytes differ from what was generated (labels may not fit)."""
        report = super().validate(check_audio, deep)
        if not check_audio or any(p.code == "unreadable_annotations" for p in report.problems):
            return report
        try:
            manifest = self._read_manifest() or {"tracks": []}
        except DatasetError as exc:  # changed on disk since the tracks were read
            report.add("error", "unreadable_annotations", str(exc), None, self.manifest_path)
            return report
        hint = f"delete {self.manifest_path} to regenerate the dataset"
        for entry in manifest["tracks"]:
            track_id, path = entry["id"], self.root / entry["file"]
            try:
                info = sf.info(str(path))
            except Exception:  # missing / unreadable: already reported by the base checks
                continue
            if info.samplerate != self.config.sample_rate:
                report.add(
                    "error", "bad_audio_format",
                    f"{track_id}: {path} is at {info.samplerate} Hz, expected "
                    f"{self.config.sample_rate} Hz; {hint}",
                    track_id, path,
                )  # fmt: skip
            elif info.frames < self.config.n_samples:
                report.add(
                    "error", "short_audio",
                    f"{track_id}: {path} has {info.frames} samples, expected "
                    f"{self.config.n_samples}; {hint}",
                    track_id, path,
                )  # fmt: skip
            elif deep and _sha256(path) != entry.get("sha256"):
                report.add(
                    "warning", "modified_audio",
                    f"{track_id}: {path} differs from the generated file, so its labels may "
                    f"not fit; {hint}",
                    track_id, path,
                )  # fmt: skip
        return report


@DATASETS.register("synth")
class SynthDataset(SyntheticDataset):
    """The default benchmark instance: 320 clips of 10 s at 22050 Hz, 16 artists."""

    name: ClassVar[str] = "synth"
    n_clips: ClassVar[int] = 320
    duration_s: ClassVar[float] = 10.0
    sample_rate: ClassVar[int] = 22050
    n_artists: ClassVar[int] = 16


@DATASETS.register("synth-small")
class SynthSmallDataset(SyntheticDataset):
    """The test instance: 48 clips of 3 s at 16000 Hz, 8 artists."""

    name: ClassVar[str] = "synth-small"
    n_clips: ClassVar[int] = 48
    duration_s: ClassVar[float] = 3.0
    sample_rate: ClassVar[int] = 16000
    n_artists: ClassVar[int] = 8
