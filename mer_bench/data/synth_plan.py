"""The synthetic dataset's plan: musical parameters per clip and the labels they imply.

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

Planning is cheap (no audio): ``synth_render.py`` turns a plan into sound and
``synthetic.py`` holds the dataset adapters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mer_bench.errors import DatasetError
from mer_bench.types import quadrant_of

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

_MAJOR_PROGRESSIONS = ((0, 0, 5, 7), (0, 7, 0, 5), (0, 5, 0, 7))  # I I IV V, I V I IV, ...
_MINOR_PROGRESSIONS = ((0, 0, 5, 7), (0, 7, 0, 5), (0, 5, 0, 7))  # i i iv v, ...


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
