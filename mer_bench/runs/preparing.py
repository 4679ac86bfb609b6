"""Preparing: a resolved run's dataset, splits, features and per-fold data.

``DataPreparer`` validates each dataset once, leaves out the tracks the user
waived, builds the splits (including the two-dataset cases: transfer and
text-to-music) and loads or extracts features through the shared
``FeatureCache``. ``fold_data`` then cuts one split into the train / val /
test parts a method sees. Bench runs and sweep trials share all of it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer_bench.config import RunSpec
from mer_bench.data import DATASETS, DatasetAdapter, ValidationReport
from mer_bench.data.base import MISSING_AUDIO, TRACK_LEVEL_CODES
from mer_bench.data.labels import kmeans_midpoint_va
from mer_bench.data.splits import transfer_split
from mer_bench.errors import ConfigError, DatasetError, TaskError
from mer_bench.features.cache import FeatureCache, audio_hash_of
from mer_bench.methods import FoldData
from mer_bench.metrics.scoring import Text2MusicTruth
from mer_bench.progress import ProgressBar
from mer_bench.runs.fingerprint import data_fingerprint, unchecked_text
from mer_bench.runs.resolving import ResolvedRun
from mer_bench.tasks import CLASS_VA_TASKS
from mer_bench.tracking.base import DatasetRecord
from mer_bench.types import EmotionBridge, Family, Split, Task, Track, stable_hash

Reporter = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    """A run's data, ready for folds: shared by bench runs and sweep trials."""

    adapter: DatasetAdapter
    task: Task
    splits: list[Split]
    tracks: dict[str, Track]
    features: dict[str, np.ndarray] | None
    dropped: set[str]
    cache_stats: tuple[int, int]
    # text2music_retrieval: the vocabularies' bridge and the adapter that decodes the music
    bridge: EmotionBridge | None = None
    audio_adapter: DatasetAdapter | None = None
    # what the result depends on besides the config (``runs.fingerprint``)
    fingerprint: str = ""
    labels_unchecked: str = ""  # known label defects this copy could not be checked for

    def fold_label(self, run: ResolvedRun, split: Split) -> str:
        """``  method/dataset/task fold k/K``: what a progress line is about."""
        names = [s.name for s in self.splits]
        k = names.index(split.name) + 1 if split.name in names else 0
        where = f"fold {k}/{len(names)}" if k else split.name
        return f"  {run.config['method']}/{run.dataset_label}/{run.task.value} {where}"


class DataPreparer:
    """Builds ``Prepared`` data for runs, validating each dataset once per session."""

    def __init__(
        self,
        cache: FeatureCache | None = None,
        report: Reporter | None = None,
        n_jobs: int | None = None,
        progress: bool = True,
    ) -> None:
        self.cache = cache or FeatureCache()
        self._report = report or (lambda message: None)
        self.n_jobs = n_jobs
        self.progress = progress
        self._datasets: dict[str, tuple[DatasetAdapter, ValidationReport]] = {}
        # the runs of this session (``Runner.run_all``): extractors of those that read the
        # same clips are filled from one decode of each clip
        self.planned: list[ResolvedRun] = []
        self._loaded: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, np.ndarray]] = {}

    def prepare(self, run: ResolvedRun) -> Prepared:
        """Validate the dataset, build the splits and load (or extract) the features."""
        return self.with_features(run, self.identify(run))

    def identify(self, run: ResolvedRun) -> Prepared:
        """The run's data without its features: dataset, splits, tracks and fingerprint.

        Cheap once the datasets are validated (the audio hashes are remembered
        per file), so a bench can tell a finished run from one on other data
        before extracting anything.
        """
        adapter, report = self.dataset(run.spec)
        dropped = self.usable(adapter, report, run.spec)
        task = Task(run.dataset_label, run.task, positive_share=adapter.tag_share(run.task))
        bridge, audio_adapter = None, adapter
        adapters = [adapter]
        if run.transfer_target is not None:
            splits, tracks, dropped = self._transfer(run, adapter, task, dropped)
            adapters.append(self.dataset(target_spec(run))[0])
        elif run.music_cls is not None:
            splits, tracks, dropped, bridge, audio_adapter = self._text2music(
                run, adapter, task, dropped
            )
            adapters.append(audio_adapter)
        else:
            splits = adapter.splits(run.protocol, run.split_seed, task, exclude=dropped)
            ids = sorted({i for s in splits for i in (*s.train, *s.val, *s.test)})
            tracks = {i: adapter.track(i) for i in ids}
        fingerprint = data_fingerprint(task, tracks, adapters, audio_hash_of)
        return Prepared(
            adapter, task, splits, tracks, None, dropped, (0, 0), bridge, audio_adapter,
            fingerprint, unchecked_text(adapters),
        )

    def with_features(self, run: ResolvedRun, prep: Prepared) -> Prepared:
        """``prep`` with its features loaded (or extracted) through the feature cache."""
        audio_tracks = [t for t in prep.tracks.values() if t.text is None]
        features, cache_stats = self._features(run, audio_tracks)
        return dataclasses.replace(prep, features=features, cache_stats=cache_stats)

    def check_datasets(self, run: ResolvedRun) -> None:
        """Validate the run's dataset(s) once (cached) and raise what would stop it."""
        specs = [run.spec] if run.music_cls is None else [run.spec, music_spec(run)]
        if run.transfer_target is not None:
            specs.append(target_spec(run))
        for spec in specs:
            adapter, report = self.dataset(spec)
            self.usable(adapter, report, spec)

    def dataset(self, spec: RunSpec) -> tuple[DatasetAdapter, ValidationReport]:
        """The spec's dataset adapter and its validation report (validated once)."""
        key = stable_hash([spec.dataset, spec.dataset_root, dict(spec.dataset_params)])
        if key not in self._datasets:
            adapter = DATASETS.get(spec.dataset)(spec.dataset_root, **dict(spec.dataset_params))
            options = ", ".join(f"{k}={v}" for k, v in sorted(dict(spec.dataset_params).items()))
            with_options = f" ({options})" if options else ""  # one line per distinct reading
            self._report(f"  validating dataset {adapter.name}{with_options} at {adapter.root}")
            self._datasets[key] = (adapter, adapter.validate())
        return self._datasets[key]

    def usable(self, adapter: DatasetAdapter, report: ValidationReport, spec: RunSpec) -> set[str]:
        """Ids to leave out; raises when the dataset has errors the user did not waive."""
        waive = set(TRACK_LEVEL_CODES) if spec.skip_invalid else set()
        if spec.allow_missing_audio:
            waive.add(MISSING_AUDIO)
        errors = report.errors(waive)
        if errors:
            raise _dataset_error(adapter, errors)
        dropped = report.track_ids_with(waive)
        if dropped:
            self._report(f"  leaving out {len(dropped)} track(s) with waived problems")
        return dropped

    def _transfer(
        self, run: ResolvedRun, adapter: DatasetAdapter, task: Task, dropped: set[str]
    ) -> tuple[list[Split], dict[str, Track], set[str]]:
        """One split: this dataset's labelled tracks for training, the target's for test.
        Target ids are prefixed with its name so the two datasets' ids never collide."""
        spec = target_spec(run)
        name = spec.dataset
        target, report = self.dataset(spec)
        target_dropped = self.usable(target, report, spec)
        train = [t for t in adapter.tracks() if t.id not in dropped and task.has_label(t)]
        test = [
            dataclasses.replace(t, id=f"{name}:{t.id}")
            for t in target.tracks()
            if t.id not in target_dropped and task.has_label(t)
        ]
        if not train or not test:
            raise DatasetError(f"transfer {adapter.name} -> {name}: no labelled tracks on one side")
        strata = [task.target(t) for t in train] if task.kind.is_classification else None
        split = transfer_split([t.id for t in train], [t.id for t in test], run.split_seed, strata)
        tracks = {t.id: t for t in (*train, *test)}
        return [split], tracks, dropped | {f"{name}:{i}" for i in target_dropped}

    def _text2music(
        self, run: ResolvedRun, adapter: DatasetAdapter, task: Task, dropped: set[str]
    ) -> tuple[list[Split], dict[str, Track], set[str], EmotionBridge, DatasetAdapter]:
        """Text splits zipped with music splits; music ids are prefixed with the dataset's name.

        Fold k pairs text split k with music split k; a protocol with one split
        (``official``) on one side is reused for every split of the other.
        """
        from mer_bench.data.emotion_vocab import build_bridge

        spec = music_spec(run)
        name = spec.dataset
        music, report = self.dataset(spec)
        music_dropped = self.usable(music, report, spec)
        music_task = Task(music.name, run.task)
        text_splits = adapter.splits(run.protocol, run.split_seed, task, exclude=dropped)
        music_splits = music.splits(
            run.music_protocol or run.protocol, run.split_seed, music_task, exclude=music_dropped
        )
        splits = _zip_splits(run, text_splits, music_splits, name)
        text_ids = {i for s in text_splits for i in (*s.train, *s.val, *s.test)}
        music_ids = {i for s in music_splits for i in (*s.train, *s.val, *s.test)}
        tracks = {i: adapter.track(i) for i in sorted(text_ids)}
        for i in sorted(music_ids):
            tracks[f"{name}:{i}"] = dataclasses.replace(music.track(i), id=f"{name}:{i}")
        bridge = build_bridge(
            adapter.emotion_vocabulary, music.emotion_vocabulary, adapter.name, music.name
        )
        return splits, tracks, dropped | {f"{name}:{i}" for i in music_dropped}, bridge, music

    def _features(
        self, run: ResolvedRun, tracks: list[Track]
    ) -> tuple[dict[str, np.ndarray] | None, tuple[int, int]]:
        if run.extractor is None:
            return None, (0, 0)
        # runs of one bench that share an extractor and clips (other methods, tasks, seeds)
        # reuse the arrays this process already read and verified
        key = (run.extractor.cache_namespace, tuple((t.id, str(t.audio_path)) for t in tracks))
        if key in self._loaded:
            return self._loaded[key], (len(tracks), 0)
        with ProgressBar(self.progress, f"features {run.extractor.name}") as update:
            also = [r.extractor for r in self.planned if r.extractor and _same_audio(r, run)]
            arrays, stats = self.cache.features(
                run.extractor, tracks, n_jobs=self.n_jobs, progress=update, also=also
            )
        if stats.computed:
            self._report(
                f"  features {run.extractor.name}: {stats.computed} computed, "
                f"{stats.hits} from cache ({stats.seconds:.1f} s)"
            )
        self._loaded = {k: v for k, v in self._loaded.items() if k[0] != key[0]}
        if _nbytes(self._loaded) + _nbytes({key: arrays}) > KEEP_FEATURES_BYTES:
            self._loaded = {}  # large front ends: keep only the newest set
        for array in arrays.values():  # shared by later runs: nobody may change them
            array.setflags(write=False)
        self._loaded[key] = arrays  # the latest clips of each extractor, no more
        return arrays, (stats.hits, stats.computed)


# features kept in memory across the runs of a bench (beyond the newest set)
KEEP_FEATURES_BYTES = 2 << 30


def _nbytes(loaded: dict[Any, dict[str, np.ndarray]]) -> int:
    return sum(a.nbytes for arrays in loaded.values() for a in arrays.values())


def _same_audio(a: ResolvedRun, b: ResolvedRun) -> bool:
    """Whether two runs read the same dataset(s) from the same place (so the same clips)."""

    def where(r: ResolvedRun) -> str:
        s = r.spec
        return stable_hash([s.dataset, s.dataset_root, dict(s.dataset_params), s.music_dataset,
                            s.music_root, dict(s.music_params), r.transfer_target,
                            s.target_root])

    return where(a) == where(b)


def _dataset_error(adapter: DatasetAdapter, errors: Sequence[Any]) -> DatasetError:
    """The error that stops a run on an invalid dataset: what, how many, and what to do."""
    shown = "\n  ".join(p.message for p in errors[:10])
    more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
    hint = (
        "--allow-missing-audio runs on the tracks that have audio; "
        if any(p.code == MISSING_AUDIO for p in errors)
        else ""
    )
    track_level = all(p.code in TRACK_LEVEL_CODES for p in errors)
    skip = (
        "--skip-invalid leaves out the tracks with these errors."
        if track_level
        else "errors about a whole file stop the run even with --skip-invalid: fix them."
    )
    kinds = Counter(p.code for p in errors)
    summary = ", ".join(f"{n} {code}" for code, n in kinds.most_common())
    return DatasetError(
        f"dataset {adapter.name} at {adapter.root} has {len(errors)} error(s) "
        f"({summary}):\n  "
        f"{shown}{more}\nRun `mer-bench data check {adapter.name} --root {adapter.root}`; "
        f"{hint}{skip}"
    )


def _zip_splits(
    run: ResolvedRun, text_splits: list[Split], music_splits: list[Split], name: str
) -> list[Split]:
    """Fold k of a text2music run: text split k with music split k (ids prefixed)."""
    n = max(len(text_splits), len(music_splits))
    if {len(text_splits), len(music_splits)} - {1, n}:
        raise ConfigError(
            f"{run.config['protocol']} gives {len(text_splits)} text splits and "
            f"{run.config['music_protocol']} {len(music_splits)} music splits: use equal "
            "numbers of folds, or one official split on one side"
        )

    def prefixed(ids: Sequence[str]) -> tuple[str, ...]:
        return tuple(f"{name}:{i}" for i in ids)

    splits = []
    for k in range(n):
        t = text_splits[k % len(text_splits)]
        m = music_splits[k % len(music_splits)]
        splits.append(
            Split(
                t.name if len(text_splits) == n else m.name,
                t.train + prefixed(m.train),
                t.val + prefixed(m.val),
                t.test + prefixed(m.test),
            )
        )
    return splits


def music_spec(run: ResolvedRun) -> RunSpec:
    """The music side of a text2music run as a spec of its own (its dataset, root, params)."""
    return dataclasses.replace(
        run.spec,
        dataset=run.config["music_dataset"],
        dataset_root=run.spec.music_root,
        dataset_params=dict(run.spec.music_params),
    )


def target_spec(run: ResolvedRun) -> RunSpec:
    """The test dataset of ``transfer:TARGET`` as a spec of its own (its root, no params)."""
    return dataclasses.replace(
        run.spec, dataset=run.transfer_target or "", dataset_root=run.spec.target_root,
        dataset_params={},
    )


def fold_data(
    run: ResolvedRun, prep: Prepared, split: Split, merge_val: bool | None = None
) -> dict[str, FoldData]:
    """The train / val / test parts of one split, with this fold's label thresholds.

    ``merge_val`` (default: the method does not select on validation data)
    moves the validation part into training and leaves ``val`` empty, so a
    method that never reads it trains on the protocol's whole training
    share. Sweeps pass False: they score trials on the validation part.
    """
    if merge_val is None:
        merge_val = run.config.get("validation") == "merged-into-train"
    if merge_val:
        # a protocol whose validation and test parts coincide (Alm's official split)
        # must not leak test items into training
        test = set(split.test)
        extra = tuple(i for i in split.val if i not in test)
        split = dataclasses.replace(split, train=(*split.train, *extra), val=())
    task = fold_task(
        prep.task, [prep.tracks[i] for i in split.train], run.spec.label_rule, run.spec.seed
    )

    def part(ids: Sequence[str]) -> FoldData:
        # text items (text2music_retrieval) go to ``texts``, audio clips to ``tracks``
        texts = tuple(prep.tracks[i] for i in ids if prep.tracks[i].text is not None)
        audio_ids = [i for i in ids if prep.tracks[i].text is None]
        chosen = tuple(prep.tracks[i] for i in audio_ids)
        features = None
        if prep.features is not None:
            features = tuple(prep.features[i] for i in audio_ids)
        return FoldData(
            task=task,
            tracks=chosen,
            features=features,
            targets=tuple(task.target(t) for t in chosen),
            audio=(prep.audio_adapter or prep.adapter).load_audio,
            feature_hop_s=run.extractor.hop_s if run.extractor else None,
            feature_key=run.extractor.cache_namespace if run.extractor else None,
            texts=texts,
            bridge=prep.bridge,
        )

    return {"train": part(split.train), "val": part(split.val), "test": part(split.test)}


def fold_task(task: Task, train: list[Track], rule: str, seed: int) -> Task:
    """The task with this fold's binary thresholds (from training labels only).

    ``kmeans``: k-means (k = 2) on the training fold's (valence, arousal) points and
    the midpoint of the two centres, one coordinate per dimension (He & Ferguson).
    """
    if rule == "fixed" or task.kind not in CLASS_VA_TASKS:
        return task
    va = np.array([t.static_va for t in train if t.static_va is not None], dtype=float)
    if len(va) == 0:
        return task  # labels come from annotated quadrants (4Q): nothing to threshold
    valence, arousal = kmeans_midpoint_va(va, seed)
    return dataclasses.replace(task, valence_threshold=valence, arousal_threshold=arousal)


def truth(data: FoldData) -> Any:
    """The ground truth a fold part is scored against, in the form its task's metrics take."""
    kind = data.task.kind
    family = kind.family
    if family in (Family.CLASSIFICATION, Family.REGRESSION):
        return data.y
    if family is Family.TAGGING:  # soft rater shares: 0/1 at the task's share
        return data.y_binary
    if family is Family.MUSIC_EMOTION_RETRIEVAL:
        return None
    if family is Family.TEXT_MUSIC_RETRIEVAL:
        if data.bridge is None:
            raise TaskError(f"{kind.value} data carries no vocabulary bridge")
        return Text2MusicTruth(tuple(data.text_labels), tuple(data.music_labels), data.bridge)
    if family is Family.SEQUENCE_REGRESSION:
        return list(data.targets)
    raise TaskError(f"no ground truth rule for {kind.value}")


def split_sizes(parts: dict[str, FoldData]) -> str:
    """``train/val/test`` item counts of one fold (texts count for text2music)."""
    return "/".join(str(len(parts[k]) + len(parts[k].texts)) for k in ("train", "val", "test"))


def dataset_total(run: ResolvedRun, prep: Prepared) -> int | None:
    """Tracks of the whole dataset (its published size where the adapter knows it);
    None where the run mixes datasets (transfer, text2music) and no share applies."""
    if run.transfer_target is not None or run.music_cls is not None:
        return None
    published = getattr(prep.adapter, "published_tracks", None)
    return int(published) if published else len(prep.adapter.tracks())


def track_tags(run: ResolvedRun, prep: Prepared) -> dict[str, str]:
    """How many tracks the run used, of how many: a subset never passes for the whole."""
    total = dataset_total(run, prep)
    return {"tracks_used": str(len(prep.tracks)),
            "tracks_total": "" if total is None else str(total)}


def dataset_record(run: ResolvedRun, prep: Prepared) -> DatasetRecord:
    """The run's dataset as MLflow shows it among the run's inputs."""
    total = dataset_total(run, prep)
    return DatasetRecord(
        name=run.dataset_label,
        version=prep.adapter.version,
        n_tracks=len(prep.tracks),
        n_total=len(prep.tracks) if total is None else total,
        digest=stable_hash(sorted(prep.tracks), 12),
        source=str(prep.adapter.root),
    )
