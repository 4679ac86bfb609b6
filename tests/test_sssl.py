"""SSSL (Sun et al.) and its inherited-label baseline: every piece against hand-worked values."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_bench.errors import ConfigError, TaskError, WeightsNotFoundError
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.sssl import losses, noise, songlevel
from mer_bench.methods.sssl.frontend import SegmentLogmel
from mer_bench.methods.sssl.networks import VGG16, build_network, load_vgg16_weights
from mer_bench.methods.sssl.segments import (
    SegmentSpec,
    build_segments,
    log_mel,
    pack_clip,
    segment_starts,
    unpack_clip,
)
from mer_bench.tasks import BINARY_AROUSAL
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Task, Track

SR = 8000
REPO = Path(__file__).resolve().parents[1]


# --- segments ------------------------------------------------------------------
def test_segments_overlap_by_duration_minus_one_second_without_padding():
    spec = SegmentSpec(duration_s=3, sample_rate=SR)
    starts = segment_starts(30 * SR, spec)
    assert len(starts) == 28  # 0, 1, ..., 27 s: overlap 2 s, the last one ends at 30 s
    np.testing.assert_array_equal(starts[:3], [0, SR, 2 * SR])
    assert starts[-1] + spec.segment_samples == 30 * SR
    assert len(segment_starts(3 * SR - 1, spec)) == 0  # too short: no padded segment
    assert len(segment_starts(int(4.5 * SR), spec)) == 2
    assert spec.n_frames == 1 + 3 * SR // 512
    with pytest.raises(ConfigError):
        SegmentSpec(duration_s=2.5)
    with pytest.raises(ConfigError, match="clip_s"):
        SegmentSpec(duration_s=3, clip_s=2.0)


def test_clips_are_cut_to_30_s_as_suns_segment_counts_imply():
    """Sun et al.'s Table 1: EiM (1,000 songs, 45 s clips) gives 29,982 / 28,981 / 27,976 /
    26,973 / 25,971 segments at 1-5 s. 30 s per song gives 1,000 * (31 - d); the whole
    45 s clip would give 1,000 * (46 - d), 50 % more."""
    printed = {1: 29982, 2: 28981, 3: 27976, 4: 26973, 5: 25971}
    for d, count in printed.items():
        capped = len(segment_starts(45 * SR, SegmentSpec(duration_s=d, sample_rate=SR)))
        whole = len(segment_starts(45 * SR, SegmentSpec(duration_s=d, sample_rate=SR,
                                                        clip_s=None)))
        assert capped == 31 - d and whole == 46 - d
        assert abs(1000 * capped - count) / count < 0.002
    # a clip shorter than 30 s is not padded: its own whole segments only
    assert len(segment_starts(20 * SR, SegmentSpec(duration_s=1, sample_rate=SR))) == 20


def test_segment_methods_hand_validation_back_and_fit_with_an_empty_val(tmp_path):
    for name in ("sssl", "segment-vote"):
        cls = METHODS.get(name)
        assert cls.uses_validation is False
        method = cls(cls.make_params({**TINY, "warmup_epochs": 0} if name == "sssl" else TINY))
        method.fit(_fold(_tracks(6), _tone_clip), _fold([], _tone_clip), _ctx(tmp_path))
        assert method.predict(_fold(_tracks(2, start=6), _tone_clip)).shape == (2, 2)


def _tone_clip(track: Track, sr: int) -> np.ndarray:
    """Deterministic audio: loud and bright for high arousal, soft and low otherwise."""
    seconds = float(track.meta["seconds"])
    t = np.arange(int(seconds * sr)) / sr
    high = track.static_va[1] > 0
    freq, gain = (1500.0, 0.5) if high else (200.0, 0.05)
    rng = np.random.default_rng(int(track.id.split("_")[1]))
    return (gain * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
            ).astype(np.float32)


def _tracks(n: int, seconds: float = 2.0, start: int = 0) -> list[Track]:
    return [Track(id=f"c_{i}", audio_path=None, static_va=(0.0, 0.5 if i % 2 else -0.5),
                  meta={"seconds": str(seconds)}) for i in range(start, start + n)]


class _Spy:
    """An audio function that records which clips were decoded."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, track: Track, sr: int) -> np.ndarray:
        self.calls.append(track.id)
        return _tone_clip(track, sr)


def _fold(tracks: list[Track], audio, kind=BINARY_AROUSAL) -> FoldData:
    task = Task("fake", kind)
    return FoldData(task, tuple(tracks), None, tuple(task.target(t) for t in tracks), audio)


class _Tracker:
    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}

    def log_metrics(self, run_id, metrics, step=None):
        self.metrics.update(metrics)


def _ctx(tmp_path, tracker=None) -> FitContext:
    return FitContext(seed=0, out_dir=tmp_path, tracker=tracker, run_id="fold" if tracker else None,
                      make_trainer=lambda **kw: make_trainer(
                          TrainerSettings(accelerator="cpu", fast_dev_run=True), tmp_path, **kw))


TINY = {"network": "small", "width": 2, "n_mels": 16, "segment_s": 1, "sample_rate": SR,
        "epochs": 1, "batch_size": 8}


@pytest.mark.parametrize("name", ["sssl", "segment-vote"])
def test_no_test_clip_is_segmented_or_decoded_while_fitting(name, tmp_path):
    spy = _Spy()
    train, val, test = _tracks(8), _tracks(2, start=8), _tracks(4, start=10)
    cls = METHODS.get(name)
    method = cls(cls.make_params({**TINY, "warmup_epochs": 0} if name == "sssl" else TINY))
    method.fit(_fold(train, spy), _fold(val, spy), _ctx(tmp_path))
    test_ids = {t.id for t in test}
    assert spy.calls and not test_ids & set(spy.calls)
    table = method._train_table
    assert set(table.clip_ids) == {t.id for t in train}
    assert not test_ids & {table.clip_ids[c] for c in table.clip}
    assert len(table) == 8 * 2  # 2 s clips, 1 s segments, 1 s hop
    spy.calls.clear()
    scores = method.predict(_fold(test, spy))
    assert set(spy.calls) == test_ids and scores.shape == (4, 2)


def test_short_clips_are_reported_and_still_predicted(tmp_path, caplog):
    tracker = _Tracker()
    train = _tracks(6) + _tracks(1, seconds=0.5, start=6)
    test = _tracks(1, seconds=0.5, start=7) + _tracks(1, start=8)
    method = METHODS.get("segment-vote")(METHODS.get("segment-vote").make_params(TINY))
    with caplog.at_level(logging.WARNING):
        method.fit(_fold(train, _tone_clip), _fold([], _tone_clip), _ctx(tmp_path, tracker))
    assert "shorter than one 1 s segment" in caplog.text and "c_6" in caplog.text
    assert tracker.metrics["sssl_short_train_clips"] == 1
    assert tracker.metrics["sssl_train_segments"] == 12
    assert "c_6" not in {method._train_table.clip_ids[c] for c in method._train_table.clip}
    scores = method.predict(_fold(test, _tone_clip))
    assert scores.shape == (2, 2) and np.all(np.isfinite(scores))
    assert tracker.metrics["sssl_short_test_clips"] == 1


def test_no_segment_at_all_is_a_clear_error(tmp_path):
    method = METHODS.get("segment-vote")(METHODS.get("segment-vote").make_params(
        {**TINY, "segment_s": 3}))
    with pytest.raises(TaskError, match="no training clip is at least 3 s"):
        method.fit(_fold(_tracks(4), _tone_clip), _fold([], _tone_clip), _ctx(tmp_path))


def test_segment_spectrograms_are_slices_of_the_clip_log_mel():
    spec = SegmentSpec(duration_s=1, sample_rate=SR, n_mels=16)
    front = SegmentLogmel(sample_rate=SR, n_mels=16, segment_s=1)
    tracks = _tracks(2, seconds=2.5)
    table = build_segments(tracks, front.extract([_tone_clip(t, SR) for t in tracks]), spec)
    assert len(table) == 4 and list(table.segments_per_clip()) == [2, 2]
    batch = table.gather([0, 3])
    assert batch.shape == (2, 1, 16, spec.n_frames)
    # the second segment of clip 1 starts 1 s in: frame round(8000 / 512) = 16 of its log-mel
    clip1 = log_mel(_tone_clip(tracks[1], SR), spec)
    np.testing.assert_array_equal(batch[1, 0], clip1[16 : 16 + spec.n_frames].T)
    assert len(clip1) == 1 + int(2.5 * SR) // 512 and clip1.shape[1] == 16


def test_front_end_is_the_clip_log_mel_bit_for_bit_under_its_exact_sample_count():
    """The registered front end gives exactly ``log_mel`` of the clip, and of the clip looped
    to one segment when it is shorter than one (what prediction uses)."""
    spec = SegmentSpec(duration_s=1, sample_rate=SR, n_mels=16)
    front = SegmentLogmel(sample_rate=SR, n_mels=16, segment_s=1)
    assert front.sample_rate == SR and front.dim == 16
    long_clip, short_clip = (_tone_clip(t, SR) for t in (_tracks(1, 2.3)[0], _tracks(1, 0.4)[0]))
    packed_long, packed_short = front.extract([long_clip, short_clip])
    n, frames = unpack_clip(packed_long)
    assert n == len(long_clip)
    np.testing.assert_array_equal(frames, log_mel(long_clip, spec))
    n, frames = unpack_clip(packed_short)
    assert n == len(short_clip)
    looped = np.tile(short_clip, 3)[: spec.segment_samples]
    np.testing.assert_array_equal(frames, log_mel(looped, spec))
    # sample counts far beyond float32's 2**24 survive the header exactly, for any n_mels
    for n_mels in (1, 2, 64):
        mel = np.ones((3, n_mels), np.float32)
        for count in (0, 511, 2**24 + 1, 3 * 2**33 + 12345):
            assert unpack_clip(pack_clip(count, mel))[0] == count
            np.testing.assert_array_equal(unpack_clip(pack_clip(count, mel))[1], mel)


def test_segment_methods_take_the_runs_cached_arrays_or_compute_them_from_audio(tmp_path):
    cls = METHODS.get("segment-vote")
    params = cls.make_params(TINY)
    front = cls.frontend(params)
    assert isinstance(front, SegmentLogmel)
    assert (front.sample_rate, front.params.n_mels, front.params.segment_s) == (SR, 16, 1)
    # hop_s and clip_s only choose frames: they share the cache entry
    other = cls.make_params({**TINY, "hop_s": 0.5, "clip_s": 10.0, "lr": 0.5})
    assert cls.frontend(other).cache_namespace == front.cache_namespace
    assert cls.frontend(cls.make_params({**TINY, "segment_s": 2})).cache_namespace != \
        front.cache_namespace
    tracks = _tracks(6)
    spy = _Spy()
    cached = front.extract([_tone_clip(t, SR) for t in tracks])
    task = Task("fake", BINARY_AROUSAL)
    data = FoldData(task, tuple(tracks), tuple(cached), tuple(task.target(t) for t in tracks),
                    spy, feature_key=front.cache_namespace)
    method = cls(params)
    method.fit(data, _fold([], spy), _ctx(tmp_path))
    assert spy.calls == []  # the run's arrays: nothing decoded
    method.fit(_fold(tracks, spy), _fold([], spy), _ctx(tmp_path))
    assert sorted(spy.calls) == sorted(t.id for t in tracks)
    with pytest.raises(TaskError, match="no audio loader"):
        method.predict(_fold(tracks, None))


# --- noise split -----------------------------------------------------------------
def test_gmm_split_recovers_injected_label_noise():
    rng = np.random.default_rng(0)
    noisy = rng.random(2000) < 0.3
    losses_ = np.where(noisy, rng.normal(2.0, 0.4, 2000), rng.gamma(2.0, 0.1, 2000))
    prob = noise.clean_probability(losses_, seed=0)
    clean = noise.split(prob, 0.5)
    assert (~clean[noisy]).mean() > 0.95  # noisy samples go to U
    assert clean[~noisy].mean() > 0.95  # clean ones stay in X
    # min-max normalisation: the split does not depend on the loss scale
    np.testing.assert_allclose(noise.clean_probability(10 * losses_ + 3, seed=0), prob,
                               atol=1e-6)


def test_gmm_edge_cases_and_minmax():
    np.testing.assert_allclose(noise.minmax([2.0, 4.0, 3.0]), [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(noise.minmax([5.0, 5.0]), [0.0, 0.0])
    np.testing.assert_array_equal(noise.clean_probability(np.full(5, 0.7)), np.ones(5))
    assert noise.GMM_MAX_ITER == 10 and noise.GMM_TOL == 1e-2 and noise.GMM_REG_COVAR == 5e-4


def test_label_corruption_changes_exactly_the_stated_fraction():
    labels = np.repeat(np.arange(4), 50)
    out, mask = noise.corrupt_labels(labels, 0.3, 4, seed=1)
    assert mask.sum() == 60
    assert np.all(out[mask] != labels[mask]) and np.all(out[~mask] == labels[~mask])
    again, _ = noise.corrupt_labels(labels, 0.3, 4, seed=1)
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(noise.corrupt_labels(labels, 0.0, 4, 1)[0], labels)


# --- losses ------------------------------------------------------------------------
def test_sharpening_matches_hand_worked_values():
    out = losses.sharpen(torch.tensor([[0.6, 0.4], [0.5, 0.5]]), 0.5)
    # 0.6^2 / (0.6^2 + 0.4^2) = 0.36 / 0.52
    np.testing.assert_allclose(out.numpy(), [[0.36 / 0.52, 0.16 / 0.52], [0.5, 0.5]], rtol=1e-6)
    np.testing.assert_allclose(losses.sharpen(torch.tensor([[0.2, 0.8]]), 1.0).numpy(),
                               [[0.2, 0.8]], rtol=1e-6)


def test_mixup_and_l_mix_match_hand_worked_values():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mx, my = losses.mixup(x, y, 0.7, torch.tensor([1, 0]))
    np.testing.assert_allclose(mx.numpy(), [[0.7, 0.3], [0.3, 0.7]], rtol=1e-6)
    np.testing.assert_allclose(my.numpy(), [[0.7, 0.3], [0.3, 0.7]], rtol=1e-6)
    # L_MIX of logits (0, ln 3) against (0.7, 0.3): p = (1/4, 3/4)
    logits = torch.tensor([[0.0, math.log(3.0)]])
    expected = -(0.7 * math.log(0.25) + 0.3 * math.log(0.75))
    assert losses.soft_cross_entropy(logits, torch.tensor([[0.7, 0.3]])).item() == \
        pytest.approx(expected, rel=1e-6)
    rng = np.random.default_rng(0)
    assert all(0.5 <= losses.mixup_coefficient(rng, 4.0) <= 1.0 for _ in range(100))


def test_rdrop_symmetric_kl_matches_hand_worked_value():
    p, q = torch.tensor([[0.5, 0.5]]), torch.tensor([[0.9, 0.1]])
    kl_pq = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    kl_qp = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    value = losses.symmetric_kl(p.log(), q.log()).item()
    assert value == pytest.approx((kl_pq + kl_qp) / 2, rel=1e-5)
    assert value == pytest.approx(losses.symmetric_kl(q.log(), p.log()).item(), rel=1e-6)
    assert losses.symmetric_kl(p.log(), p.log()).item() == pytest.approx(0.0, abs=1e-7)


# --- song level ------------------------------------------------------------------
def test_song_feature_vector_has_seven_statistics_per_class():
    probs = np.array([[0.1, 0.9], [0.4, 0.6], [0.7, 0.3], [0.8, 0.2]])
    f = songlevel.song_features(probs, theta=0.5)
    assert f.shape == (7 * 2,) and len(songlevel.STATISTICS) == 7
    # class 0: max, min, quartiles of (0.1, 0.4, 0.7, 0.8), mean, share above 0.5
    np.testing.assert_allclose(f[:7], [0.8, 0.1, 0.325, 0.55, 0.725, 0.5, 0.5])
    np.testing.assert_allclose(f[7:], [0.9, 0.2, 0.275, 0.45, 0.675, 0.5, 0.5])
    m = songlevel.song_matrix(np.vstack([probs, probs[:1]]), np.array([0, 0, 0, 0, 1]), 2)
    assert m.shape == (2, 14) and m[1, 0] == m[1, 1] == 0.1 and m[1, 6] == 0.0


def test_majority_vote_counts_segments_and_breaks_ties_by_mean_probability():
    probs = np.array([[0.6, 0.4], [0.55, 0.45], [0.1, 0.9],  # clip 0: 2 votes vs 1
                      [0.51, 0.49], [0.2, 0.8]])  # clip 1: a tie, class 1 has the higher mean
    votes = songlevel.majority_vote(probs, np.array([0, 0, 0, 1, 1]), 2)
    assert votes.argmax(axis=1).tolist() == [0, 1]
    np.testing.assert_allclose(votes[0], [2 / 3, 1 / 3], atol=1e-3)


# --- networks --------------------------------------------------------------------
def test_vgg16_is_configuration_d_with_one_input_channel_and_k_outputs():
    with torch.device("meta"):
        net = VGG16(n_classes=4)
        out = net(torch.empty(2, 1, 128, 130))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 13 and len(linears) == 3
    assert convs[0].in_channels == 1 and linears[-1].out_features == 4
    # torchvision's vgg16 has 138,357,544 parameters; 1 input channel and 4 outputs remove
    # 64·2·9 = 1,152 and 4096·996 + 996 = 4,080,612 of them
    assert sum(p.numel() for p in net.parameters()) == 138_357_544 - 1_152 - 4_080_612
    assert {"features.0.weight", "features.28.weight", "classifier.6.weight"} <= set(
        net.state_dict())
    assert tuple(out.shape) == (2, 4)
    with pytest.raises(WeightsNotFoundError, match="not found"):
        load_vgg16_weights(net, Path("/nonexistent/vgg16.pth"))


def test_small_network_and_bad_settings():
    net = build_network("small", 3, 32, 32, width=4)
    assert net(torch.randn(2, 1, 32, 32)).shape == (2, 3)
    with pytest.raises(ConfigError, match="at least 32x32"):
        build_network("vgg16", 3, 16, 32)
    with pytest.raises(ConfigError, match="unknown network"):
        build_network("resnet", 3, 32, 32)


@pytest.mark.parametrize("overrides,match", [
    ({"label_noise": 1.0}, "label_noise"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"warmup_epochs": 5, "epochs": 5}, "warmup_epochs"),
    ({"tau": 0.0}, "tau"),
])
def test_bad_parameters_are_config_errors(overrides, match, tmp_path):
    cls = METHODS.get("sssl")
    method = cls(cls.make_params({**TINY, **overrides}))
    with pytest.raises(ConfigError, match=match):
        method.fit(_fold(_tracks(2), _tone_clip), _fold([], _tone_clip), _ctx(tmp_path))


def test_sssl_defaults_are_the_papers_and_divide_mixs():
    p = METHODS.get("sssl").Params()
    assert (p.n_fft, p.hop_length, p.n_mels, p.hop_s, p.network) == (1024, 512, 128, 1.0, "vgg16")
    assert (p.tau, p.temperature, p.mixup_alpha, p.warmup_epochs) == (0.5, 0.5, 4.0, 10)
    assert p.rdrop and p.label_noise == 0.0 and p.clip_s == 30.0
    assert METHODS.get("segment-vote").consumes == METHODS.get("sssl").consumes == "audio"


# --- experiments -------------------------------------------------------------------
def test_paper_table_rows_resolve_and_match_tables_2_and_3():
    from mer_bench.papers import load_paper
    from mer_bench.runs import resolve

    paper = load_paper(REPO / "experiments/papers/sun-sssl.yaml")
    rows = {r.label: r for t in paper.tables for r in t.rows}
    assert {t.id for t in paper.tables} == {"table2", "table3"}
    table2 = [r for r in rows.values() if r.table == "table2"]
    # Table 2 is binary V/A (acc, F1) x 5 durations on PMEmo and 4Q: 40 cells, no quadrant
    assert len(table2) == 40 and {r.run["task"] for r in table2} == {
        "binary_valence", "binary_arousal"}
    for row in rows.values():
        assert row.published is not None
        if row.run is not None:
            run = resolve(row.spec())
            if run.method_cls.name == "sssl":
                assert run.config["method_params"]["clip_s"] == 30
                if run.config["dataset"] == "pmemo":
                    assert run.config["label_rule"] == "kmeans"
    assert rows["4Q valence, 1 s segments, F1"].published == 0.6732
    assert rows["PMEmo arousal, 5 s segments, F1"].published == 0.8261
    # Table 3's PMEmo arousal 85.42 is Table 2's 1 s result: the row runs 1 s segments
    arousal = rows["PMEmo, SSSL (proposed), arousal, accuracy"]
    assert arousal.published == 0.8542 and arousal.run["method_params"]["segment_s"] == 1
    assert rows["PMEmo, SSSL (proposed), valence, accuracy"].run["method_params"]["segment_s"] == 3
    assert rows["4Q, SSSL (proposed), four-class, accuracy"].published == 0.7649
    ablation = rows["EiM, Proposed* (no L_KL), four-class, F1"]
    assert ablation.published == 0.7332 and ablation.run["method_params"]["rdrop"] is False
    labels = [r.label for r in table2]
    assert len(set(labels)) == len(labels)


def test_paper_rows_4q_plan_runs_both_papers_4q_rows_with_their_input_pipelines():
    from mer_bench.config import load_plan
    from mer_bench.runs import expand

    runs, notes = expand(load_plan(REPO / "experiments/bench/paper-rows-4q.yaml"))
    names = {(r.config["method"], r.task.value) for r in runs}
    assert names == {(m, t) for m in ("chance", "sssl") for t in
                     ("binary_valence", "binary_arousal", "quadrant")} | {
        ("ae-bilstm", "binary_valence"), ("ae-bilstm", "binary_arousal")}
    assert notes == []  # the plan runs ae-bilstm on the binary tasks only (tasks:)
    for run in runs:
        if run.config["method"] == "ae-bilstm":  # He's AllMusic input: 22.05 kHz, Table 1
            assert run.params.sample_rate == 22050 and run.params.stft_rule == "table1"
        if run.config["method"] == "sssl":
            assert run.params.clip_s == 30 and run.params.segment_s == 3


@pytest.mark.slow
def test_sssl_beats_inherited_labels_under_known_segment_label_noise(tmp_path):
    """Acceptance: experiments/bench/sssl-synth.yaml, on one thread like the reported run
    (about 22 min; measured accuracy sssl 0.834, segment-vote 0.653, chance 0.263).

    Float reductions depend on the thread count, so the numbers in the method's
    report (OMP_NUM_THREADS=1) are reproduced here with one torch thread.
    """
    from mer_bench.config import load_plan
    from mer_bench.runs import Runner, RunnerSettings, expand
    from mer_bench.tracking import InMemoryTracker

    runs, _ = expand(load_plan(REPO / "experiments/bench/sssl-synth.yaml"))
    runner = Runner(InMemoryTracker(), RunnerSettings(plots=False, progress=False,
                                                      work_dir=tmp_path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        accuracy = {r.config["method"]: runner.run(r).metrics["accuracy"] for r in runs}
    finally:
        torch.set_num_threads(threads)
    assert accuracy["sssl"] > accuracy["segment-vote"] > accuracy["chance"]
