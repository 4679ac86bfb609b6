"""Methods that read audio get their front ends through the disk feature cache.

The config hashes of existing runs stay as they were, and a second run with other model
parameters reads the clips' arrays from disk.
"""

from __future__ import annotations

import pytest

from mer_bench.config import RunSpec
from mer_bench.features import FEATURES
from mer_bench.methods import METHODS
from mer_bench.runner import Runner, RunnerSettings, resolve
from mer_bench.tracking import InMemoryTracker
from mer_bench.tracking.base import RUN

# computed with the code before the front ends went through the cache: they must not move
PINNED = {
    "sssl": ("ade520e8f4c9a674", RunSpec("sssl", "synth-small", "quadrant", "none"), False),
    "sssl-smoke": ("8568ca18d7cba356", RunSpec("sssl", "synth-small", "quadrant", "none"), True),
    "sssl-mfcc": ("5e8b0bb0a06446d0", RunSpec("sssl", "synth-small", "quadrant", "mfcc",
                                              method_params={"segment_s": 2}), False),
    "segment-vote": ("71396153b089d3d0",
                     RunSpec("segment-vote", "synth-small", "quadrant", "none"), False),
    "ae-bilstm": ("7ba606e6bf33b2b0", RunSpec("ae-bilstm", "synth-small", "binary_valence",
                                              "none", label_rule="kmeans"), False),
    "cnn-bilstm": ("4dab8dede87216f9",
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


def test_a_second_sssl_run_reads_the_segments_from_disk(tmp_path):
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
