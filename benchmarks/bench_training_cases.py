"""The training benchmark's cases: each neural method at its paper size, on fixed inputs.

A case is a method, the parameters its paper rows train with (the method's
defaults unless the case says why not), the Trainer stage to time (methods
with an auto-encoder first train more than one) and fold data of the shape
the paper's data has: random feature arrays or deterministic noise audio at
the paper's sizes, so timing needs no dataset on disk. Sizes are chosen so one
epoch holds several steps at the paper's batch size.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

TEXTS = {  # a few sentences per text emotion for text2music's text side
    "joy": ("we laughed all day", "what a wonderful party", "she won the prize"),
    "anger": ("he slammed the door", "I was furious", "they shouted at us"),
    "sadness": ("he wept alone", "a grey day of grief", "she missed her home"),
    "serenity": ("a quiet lake", "the breeze was gentle", "we rested in peace"),
}
MOODS = ("happy", "angry", "sad", "tender")


@dataclass(frozen=True)
class Case:
    """One benchmark row: which method, at which parameters, on which data."""

    label: str
    method: str
    params: dict[str, Any]
    data: Callable[[bool], tuple[Any, Any]]  # smoke -> (train, val)
    stage: int = 0  # which Trainer the method builds is timed (earlier ones run 1 step)
    steps: int = 12  # timed steps (after ``warmup``)
    warmup: int = 3
    note: str = ""


def _task(kind_name: str) -> Any:
    from mer_bench.types import Task, TaskKind

    return Task("bench", TaskKind.parse(kind_name))


def _noise_audio(track: Any, sr: int) -> np.ndarray:
    """Deterministic noise of the track's duration at ``sr`` (a seed from its id)."""
    rng = np.random.default_rng(zlib.crc32(track.id.encode()))
    return (0.1 * rng.standard_normal(int(track.duration_s * sr))).astype(np.float32)


def _classes(n: int, kind_name: str) -> list[int]:
    return [i % len(_task(kind_name).kind.labels) for i in range(n)]


def vectors(kind_name: str, n: int, frames: int, dim: int, hop_s: float | None = None
            ) -> Callable[[bool], tuple[Any, Any]]:
    """Fold data of ``n`` clips of random [frames, dim] features (train 80 %, val 20 %)."""
    def build(smoke: bool) -> tuple[Any, Any]:
        from mer_bench.methods import FoldData
        from mer_bench.types import Track

        count = 16 if smoke else n
        rng = np.random.default_rng(0)
        task = _task(kind_name)
        dynamic = task.kind.family.value in ("sequence_regression", "music_emotion_retrieval")
        steps = max(2, int(frames * (hop_s or 0.5) * 2))  # 2 Hz curves over the clip
        tracks = tuple(Track(f"c{i}", None, duration_s=30.0) for i in range(count))
        feats = tuple(rng.standard_normal((frames, dim)).astype(np.float32) for _ in tracks)
        targets: list[Any] = ([np.tanh(rng.standard_normal((steps, 2))).astype(np.float32)
                               for _ in tracks] if dynamic else _classes(count, kind_name))
        cut = int(0.8 * count)

        def part(sl: slice) -> Any:
            return FoldData(task, tracks[sl], feats[sl], tuple(targets[sl]),
                            feature_hop_s=hop_s)

        return part(slice(0, cut)), part(slice(cut, count))

    return build


def audio(kind_name: str, n: int, seconds: float) -> Callable[[bool], tuple[Any, Any]]:
    """Fold data of ``n`` noise clips of ``seconds`` (train 80 %, val 20 %)."""
    def build(smoke: bool) -> tuple[Any, Any]:
        from mer_bench.methods import FoldData
        from mer_bench.types import Track

        count = 8 if smoke else n
        tracks = tuple(Track(f"a{i}", None, duration_s=2.0 if smoke else seconds,
                             sample_rate=22050) for i in range(count))
        targets = _classes(count, kind_name)
        cut = int(0.8 * count)

        def part(sl: slice) -> Any:
            return FoldData(_task(kind_name), tracks[sl], None, tuple(targets[sl]),
                            audio=_noise_audio)

        return part(slice(0, cut)), part(slice(cut, count))

    return build


def text_music(n: int, seconds: float) -> Callable[[bool], tuple[Any, Any]]:
    """text2music fold data: noise clips tagged with moods, a few texts per emotion."""
    def build(smoke: bool) -> tuple[Any, Any]:
        from mer_bench.methods import FoldData
        from mer_bench.types import EmotionBridge, Track

        count = 10 if smoke else n
        clips = [Track(f"m{i}", None, duration_s=2.0 if smoke else seconds, sample_rate=16000,
                       tags=(MOODS[i % len(MOODS)],)) for i in range(count)]
        va = {m: (0.0, 0.0) for m in MOODS} | {e: (0.0, 0.0) for e in TEXTS}
        maps = {name: {e: (MOODS[i],) for i, e in enumerate(TEXTS)}
                for name in ("manual", "va", "w2v")}
        bridge = EmotionBridge(tuple(TEXTS), MOODS, maps, va)
        task = _task("text2music_retrieval")

        def part(k: int, part_clips: list[Any]) -> Any:
            texts = tuple(Track(f"{e}-{k}", None, tags=(e,), meta={"text": s[k]})
                          for e, s in TEXTS.items())
            return FoldData(task, tuple(part_clips), None, tuple(c.tags for c in part_clips),
                            _noise_audio, texts=texts, bridge=bridge)

        cut = int(0.8 * count)
        return part(0, clips[:cut]), part(1, clips[cut:])

    return build


CASES: tuple[Case, ...] = (
    Case("emer-cl", "emer-cl", {}, vectors("m2e_e2m_retrieval", 1400, 31, 128),
         steps=3, warmup=1, note="DEAM-sized: 1400 training clips of 31 VGGish frames"),
    Case("sssl", "sssl", {}, audio("binary_valence", 12, 30.0), steps=2, warmup=1,
         note="VGG16 on 3 s log-mel segments, batch 64"),
    Case("ae-bilstm auto-encoder", "ae-bilstm", {}, audio("binary_valence", 60, 30.0),
         stage=0, steps=4, warmup=1, note="6 segments of 5 s per 30 s clip"),
    Case("ae-bilstm classifier", "ae-bilstm", {}, audio("binary_valence", 60, 30.0),
         stage=1, steps=8, warmup=2),
    Case("cnn-bilstm", "cnn-bilstm", {}, audio("binary_valence", 60, 30.0), steps=8, warmup=2),
    Case("text2music", "text2music", {"text_encoder": "tiny-random"}, text_music(160, 10.0),
         steps=4, warmup=1, note="paper-size music encoder; the text side is a tiny random "
         "BERT (the paper's weights are not downloaded here)"),
    Case("embedding-classifiers mlp", "embedding-classifiers", {"classifier": "mlp"},
         vectors("quadrant", 900, 30, 512), note="4Q-sized: 720 clips of 512-d OpenL3"),
    Case("embedding-classifiers cnn", "embedding-classifiers", {"classifier": "cnn"},
         vectors("quadrant", 900, 30, 512)),
    Case("embedding-classifiers rnn", "embedding-classifiers", {"classifier": "rnn"},
         vectors("quadrant", 900, 1500, 20), steps=8,
         note="the 20 x 1500 MFCC matrix read as a sequence"),
    Case("dynamic-bilstm", "dynamic-bilstm", {}, vectors("dynamic_va", 1400, 60, 260, 0.5),
         note="DEAM-sized: 60 steps of 260-d frames"),
)


def params_for(case: Case, smoke: bool) -> Any:
    """The case's method parameters: paper defaults (or the method's smoke ones) plus the case's."""
    from mer_bench.methods import METHODS

    return METHODS.get(case.method).make_params(case.params, smoke=smoke)
