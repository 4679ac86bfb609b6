"""Training throughput of each neural method at smoke size, beside a plain torch MLP step.

Each method fits once on one fold of the embedded ``synth-small`` dataset with
its ``smoke`` parameters on CPU (as ``tests/test_contracts.py`` builds fold
data); throughput is training clips times configured epochs over the fit's
wall time (fit includes the method's own data preparation, so it is a lower
bound on raw step speed). The reference is a plain two-layer torch MLP doing
Adam steps at the same batch size, timed right after each fit: when the
machine is busier, both drop together.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.common import Row

SECTION = "training"
CASES = {  # method -> task it is fitted on
    "emer-cl": "m2e_e2m_retrieval",
    "sssl": "quadrant",
    "ae-bilstm": "binary_valence",
    "embedding-classifiers": "quadrant",
    "text2music": "text2music_retrieval",
}
EPOCH_FIELDS = ("epochs", "max_epochs")
TEXTS = {  # a few sentences per text emotion for text2music's tiny text side
    "joy": ("we laughed all day", "what a wonderful party", "she won the prize"),
    "anger": ("he slammed the door", "I was furious", "they shouted at us"),
    "sadness": ("he wept alone", "a grey day of grief", "she missed her home"),
    "serenity": ("a quiet lake", "the breeze was gentle", "we rested in peace"),
}


def mlp_samples_per_s(batch: int, steps: int = 30, dim: int = 128) -> float:
    """Samples/s of ``steps`` Adam steps of Linear(dim, 256)-ReLU-Linear(256, 4)."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(dim, 256), torch.nn.ReLU(), torch.nn.Linear(256, 4))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x, y = torch.randn(batch, dim), torch.randint(0, 4, (batch,))
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


def _text_parts(dataset: Any, task: Any, features: dict[str, Any]) -> tuple[Any, Any]:
    """Train / val parts pairing tiny texts with synth-small clips (its tags are the moods)."""
    from mer_bench.methods import FoldData
    from mer_bench.types import EmotionBridge, Track

    tracks = dataset.tracks()
    moods = tuple(sorted({tag for t in tracks for tag in t.tags}))
    va = {m: (0.0, 0.0) for m in moods} | {e: (0.0, 0.0) for e in TEXTS}
    maps = {name: {e: (moods[i % len(moods)],) for i, e in enumerate(TEXTS)}
            for name in ("manual", "va", "w2v")}
    bridge = EmotionBridge(tuple(TEXTS), moods, maps, va)

    def part(k: int, clips: list[Any]) -> Any:
        texts = tuple(Track(f"{e}-{k}", None, tags=(e,), meta={"text": s[k]})
                      for e, s in TEXTS.items())
        return FoldData(task, tuple(clips), tuple(features[c.id] for c in clips),
                        tuple(tuple(c.tags) for c in clips), dataset.load_audio,
                        texts=texts, bridge=bridge)

    return part(0, list(tracks[:14])), part(1, list(tracks[14:19]))


def _parts(name: str, kind_name: str, dataset: Any, features: dict[str, dict[str, Any]]
           ) -> tuple[Any, Any]:
    from mer_bench.methods import METHODS, FoldData
    from mer_bench.types import Task, TaskKind

    cls = METHODS.get(name)
    kind = TaskKind.parse(kind_name)
    arrays = features["logmel" if cls.consumes == "sequences" else "mfcc"]
    task = Task(dataset.name, kind)
    if kind is TaskKind.TEXT2MUSIC_RETRIEVAL:
        return _text_parts(dataset, task, arrays)
    split = dataset.splits("kfold:4", 0, task)[0]

    def part(ids: Any) -> Any:
        tracks = tuple(dataset.track(i) for i in ids)
        return FoldData(task, tracks, tuple(arrays[i] for i in ids),
                        tuple(task.target(t) for t in tracks), dataset.load_audio)

    return part(split.train), part(split.val)


def run(tmp: Path, methods: tuple[str, ...] = tuple(CASES)) -> list[Row]:
    """One row per method: fit samples/s against the MLP reference's samples/s."""
    from mer_bench.data import DATASETS
    from mer_bench.features import FEATURES
    from mer_bench.features.cache import FeatureCache
    from mer_bench.methods import METHODS, FitContext
    from mer_bench.training import TrainerSettings, make_trainer

    dataset = DATASETS.get("synth-small")()
    tracks = dataset.tracks()
    features = {n: FeatureCache().features(FEATURES.get(n)(), tracks, n_jobs=1)[0]
                for n in ("mfcc", "logmel")}
    mlp_samples_per_s(16, steps=5)  # torch's first-step costs outside the reference
    rows = []
    for name in methods:
        kind = CASES[name]
        cls = METHODS.get(name)
        params = cls.make_params(smoke=True)
        train, val = _parts(name, kind, dataset, features)
        out = tmp / name
        ctx = FitContext(seed=0, out_dir=out, make_trainer=lambda o=out, **kw: make_trainer(
            TrainerSettings(accelerator="cpu"), o, **kw))
        start = time.perf_counter()
        cls(params, seed=0).fit(train, val, ctx)
        seconds = time.perf_counter() - start
        epochs = next((int(getattr(params, f)) for f in EPOCH_FIELDS if hasattr(params, f)), 1)
        batch = int(getattr(params, "batch_size", 16))
        reference = mlp_samples_per_s(batch)
        rows.append(Row(SECTION, f"{name} fit ({kind}, smoke)", len(train) * epochs / seconds,
                        "samples/s", reference, f"torch MLP Adam step, batch {batch}",
                        extra={"train_clips": len(train), "epochs": epochs, "fit_s": seconds,
                               "batch_size": batch}))
    return rows
