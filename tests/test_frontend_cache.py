"""Methods that read audio get their front ends through the disk feature cache.

The config hashes of existing runs stay as they were; a second run with other model
parameters reads the clips' arrays from disk; and one fill decodes each clip once for
every extractor at its sample rate.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from mer_bench.config import RunSpec
from mer_bench.features import FEATURES
from mer_bench.features.cache import FeatureCache
from mer_bench.methods import METHODS
from mer_bench.runs import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker
from mer_bench.tracking.base import RUN

# computed with the code before the front ends went through the cache: they must not move
# (ae-bilstm and cnn-bilstm: since their `normalize` parameter, the clip level step)
PINNED = {
    "sssl": ("ade520e8f4c9a674", RunSpec("sssl", "synth-small", "quadrant", "none"), False),
    "sssl-smoke": ("8568ca18d7cba356", RunSpec("sssl", "synth-small", "quadrant", "none"), True),
    "sssl-mfcc": ("5e8b0bb0a06446d0", RunSpec("sssl", "synth-small", "quadrant", "mfcc",
                                              method_params={"segment_s": 2}), False),
    "segment-vote": ("71396153b089d3d0",
                     RunSpec("segment-vote", "synth-small", "quadrant", "none"), False),
    "ae-bilstm": ("597c67ac67f5f6f0", RunSpec("ae-bilstm", "synth-small", "binary_valence",
                                              "none", label_rule="kmeans"), False),
    "cnn-bilstm": ("d6601daee075a9cb",
                   RunSpec("cnn-bilstm", "synth-small", "binary_arousal", "none"), False),
    "text2music": ("40a6d38f28918c2a", RunSpec("text2music", "synth-text", "text2music_retrieval",
                                               "none", music_dataset="synth"), False),
    "text2music-features": ("3831079933089581", RunSpec(
        "text2music", "synth-text", "text2music_retrieval", "mfcc", music_dataset="synth",
        method_params={"music_input": "features"}), False),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(PINNED))
def test_config_hashes_do_not_change_with_the_front_end(case):
    expected, spec, smoke = PINNED[case]
    run = resolve(spec, smoke=smoke)
    assert run.config_hash == expected
    if run.config["method_params"].get("music_input") == "features":
        assert run.extractor is not None and run.extractor.name == "mfcc"
    else:  # the method's own front end feeds it; the config still says what the user chose
        assert run.config["features"] == "none"
        assert run.extractor is not None
        assert run.extractor.cache_namespace == run.method_cls.frontend(run.params).cache_namespace


def test_every_audio_method_declares_a_registered_front_end():
    for name in METHODS.names():
        cls = METHODS.get(name)
        if cls.consumes != "audio":
            continue
        front = cls.frontend(cls.make_params(smoke=True))
        assert front is not None, name
        assert FEATURES.get(front.name) is type(front)
        assert front.sample_rate == cls.make_params(smoke=True).sample_rate


def _parent_tags(tracker: InMemoryTracker) -> list[dict[str, str]]:
    runs = [r for r in tracker.runs.values() if r.tags.get("kind") == RUN and not r.deleted]
    return [r.tags for r in runs]


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    """A feature cache (and synthetic audio) of this test's own: other tests fill the shared one."""
    monkeypatch.setenv("MER_BENCH_CACHE", str(tmp_path / "cache"))


def test_a_second_sssl_run_reads_the_segments_from_disk(tmp_path, fresh_cache):
    """Two sssl runs that differ in a model parameter only: the second computes nothing."""
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False, n_jobs=1,
                                                      work_dir=tmp_path))
    base = {"dataset_params": {"n_clips": 16, "n_artists": 4}, "protocol": "kfold:2"}
    first = resolve(RunSpec("sssl", "synth-small", "quadrant", "none", **base), smoke=True)
    second = resolve(RunSpec("sssl", "synth-small", "quadrant", "none", **base,
                             method_params={"lr": 0.05}), smoke=True)
    assert first.config_hash != second.config_hash
    outcomes = runner.run_all([first, second], keep_going=False)
    assert [o.status for o in outcomes] == ["finished", "finished"]
    one, two = _parent_tags(runner.tracker)
    assert one["feature_cache_computed"] == "16" and one["feature_cache_hits"] == "0"
    assert two["feature_cache_computed"] == "0" and two["feature_cache_hits"] == "16"
    assert one["features"] == two["features"] == "none"
    assert one["feature_cache_key"].startswith("sssl-logmel/")


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    import mer_bench.features.cache as cache_module

    decoded: Counter[str] = Counter()
    real = cache_module.load_audio

    def counting(path, sr=None, **kw):
        decoded[str(path)] += 1
        return real(path, sr, **kw)

    monkeypatch.setattr(cache_module, "load_audio", counting)
    return decoded


def test_a_plan_with_two_features_decodes_each_clip_once(tmp_path, monkeypatch, fresh_cache):
    decoded = _count_decodes(monkeypatch)
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False, n_jobs=1,
                                                      work_dir=tmp_path))
    base = {"dataset_params": {"n_clips": 12, "n_artists": 4}, "protocol": "kfold:2"}
    runs = [resolve(RunSpec("linear", "synth-small", "quadrant", name, **base))
            for name in ("mfcc", "logmel")]
    runner.run_all(runs, keep_going=False)
    tags = _parent_tags(runner.tracker)
    assert [t["feature_cache_computed"] for t in tags] == ["12", "0"]
    assert [t["feature_cache_hits"] for t in tags] == ["0", "12"]
    assert len(decoded) == 12 and set(decoded.values()) == {1}


def test_prefill_decodes_each_clip_once_per_sample_rate(tmp_path, monkeypatch):
    from mer_bench.data import DATASETS

    tracks = DATASETS.get("synth-small")(n_clips=6, n_artists=2).tracks()
    decoded = _count_decodes(monkeypatch)
    cache = FeatureCache(tmp_path / "cache")
    mfcc, logmel = FEATURES.get("mfcc")(), FEATURES.get("logmel")()
    sssl_front = METHODS.get("sssl").frontend(METHODS.get("sssl").make_params(smoke=True))
    assert sssl_front.sample_rate == 16000 != mfcc.sample_rate
    computed = cache.prefill([mfcc, logmel, sssl_front, mfcc], tracks, n_jobs=1)
    assert set(computed.values()) == {6} and len(computed) == 3
    assert set(decoded.values()) == {2}  # one decode at 22.05 kHz, one at 16 kHz
    decoded.clear()
    assert set(cache.prefill([mfcc, logmel], tracks, n_jobs=1).values()) == {0}
    for extractor in (mfcc, logmel, sssl_front):  # the same arrays as one extractor alone
        arrays, stats = cache.features(extractor, tracks, n_jobs=1)
        assert stats.computed == 0
        alone, _ = FeatureCache(tmp_path / "alone").features(extractor, tracks, n_jobs=1)
        for key in arrays:
            np.testing.assert_array_equal(arrays[key], alone[key])
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_worker_decodes_once_and_writes_every_extractor(tmp_path):
    """What a worker process runs for one clip (called here in-process)."""
    from threadpoolctl import threadpool_limits

    from mer_bench.data import DATASETS
    from mer_bench.features.cache import _extract_many

    track = DATASETS.get("synth-small")(n_clips=2, n_artists=1).tracks()[0]
    mfcc, logmel = FEATURES.get("mfcc")(), FEATURES.get("logmel")()
    outs = [tmp_path / "a.npy", tmp_path / "b.npy"]
    specs = [(type(e), e.params, str(out)) for e, out in zip((mfcc, logmel), outs)]
    with threadpool_limits(1):  # as in a worker (``_init_worker``)
        assert _extract_many(specs, str(track.audio_path)) is None
    for extractor, out in zip((mfcc, logmel), outs):
        alone = FeatureCache(tmp_path / "c").features(extractor, [track], n_jobs=1)[0][track.id]
        np.testing.assert_array_equal(np.load(out), alone)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage" * 50)
    assert "bad.wav" in (_extract_many(specs, str(bad)) or "")
