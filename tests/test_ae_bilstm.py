"""He & Ferguson's ae-bilstm and its cnn-bilstm baseline: frontend, masks, autoencoder, stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mer_bench.config import RunSpec, load_plan
from mer_bench.data import DATASETS
from mer_bench.data.labels import kmeans_midpoint, kmeans_midpoint_va
from mer_bench.errors import AudioError, ConfigError
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.ae_bilstm.autoencoder import Decoder, Encoder, MaskedAutoencoder
from mer_bench.methods.ae_bilstm.classifier import FrozenEncoderClassifier
from mer_bench.methods.ae_bilstm.frontend import (
    N_FRAMES,
    N_MELS,
    SEGMENT_DURATIONS,
    SUPPORTED_SAMPLE_RATES,
    Frontend,
    SegmentLogmels,
    fit_clip,
    segment_logmels,
    stft_geometry,
)
from mer_bench.methods.ae_bilstm.masking import apply_masks, draw_masks, mask_region
from mer_bench.runs import expand, fold_task, resolve
from mer_bench.tasks import BINARY_AROUSAL, BINARY_VALENCE
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import Task, Track

REPO = Path(__file__).resolve().parents[1]
PAIRS = [(sr, s) for sr in SUPPORTED_SAMPLE_RATES for s in SEGMENT_DURATIONS]


# --- frontend ----------------------------------------------------------------
# He & Ferguson, Table 1, copied from the paper: (rate, seconds) -> (n_fft, hop_length)
PAPER_TABLE_1 = {
    (44100, 1.0): (1024, 205), (44100, 3.0): (1024, 615), (44100, 5.0): (2048, 1024),
    (44100, 10.0): (2048, 2048), (22050, 3.0): (1024, 307), (22050, 5.0): (1024, 512),
    (22050, 10.0): (2048, 1024),
}


@pytest.mark.parametrize("pair", sorted(PAPER_TABLE_1))
def test_stft_follows_the_papers_table_1(pair):
    sr, seconds = pair
    g = stft_geometry(sr, seconds)
    assert (g.n_fft, g.hop_length) == PAPER_TABLE_1[pair]
    # 1 + floor(N / hop) = 216 frames by the centred-STFT count, worked from the table
    assert 1 + int(sr * seconds) // PAPER_TABLE_1[pair][1] == N_FRAMES == g.n_frames


def test_table_1_leaves_no_mel_filter_empty_at_44k_1s():
    """The earlier n_fft = 512 at 44.1 kHz / 1 s left mel filters without an FFT bin."""
    import librosa

    def empty(n_fft):
        fb = librosa.filters.mel(sr=44100, n_fft=n_fft, n_mels=N_MELS)
        return int((fb.max(axis=1) == 0).sum())

    assert stft_geometry(44100, 1.0).n_fft == 1024 and empty(1024) == 0
    assert stft_geometry(44100, 1.0, rule="overlap").n_fft == 512 and empty(512) > 0


def test_every_supported_rate_and_duration_gives_216_by_128():
    rng = np.random.default_rng(0)
    for sr, seconds in PAIRS:
        g = stft_geometry(sr, seconds)
        assert N_FRAMES <= g.n_frames <= N_FRAMES + 1, (sr, seconds)
        assert g.n_fft == (2048 if g.hop_length >= 1024 else 1024)
        old = stft_geometry(sr, seconds, rule="overlap")
        assert old.hop_length == g.hop_length and old.n_fft >= 2 * old.hop_length
        wave = (0.1 * rng.standard_normal(int(sr * seconds))).astype(np.float32)
        out = segment_logmels(wave, sr, clip_s=seconds, segment_s=seconds)
        assert out.shape == (1, N_FRAMES, N_MELS), (sr, seconds)
        assert out.dtype == np.float32 and np.all(out >= 0) and np.all(np.isfinite(out))


def test_clips_are_repeat_padded_to_30s_and_cut_into_contiguous_segments():
    sr = 16000
    wave = np.arange(int(1.5 * sr), dtype=np.float32)
    padded = fit_clip(wave, sr, 4.0)
    assert len(padded) == 4 * sr
    np.testing.assert_array_equal(padded[len(wave):2 * len(wave)], wave)  # repeats from the start
    np.testing.assert_array_equal(fit_clip(np.ones(10 * sr, np.float32), sr, 4.0), np.ones(4 * sr))
    tone = np.sin(2 * np.pi * 440 * np.arange(2 * sr) / sr).astype(np.float32)
    silent_second = np.concatenate([tone[:sr], np.zeros(sr, np.float32)])
    segs = segment_logmels(silent_second, sr, clip_s=30.0, segment_s=1.0)
    assert segs.shape == (30, N_FRAMES, N_MELS)
    # segment k holds second k of the (repeated) clip: loud, silent, loud, ...
    assert segs[0].sum() > 100 * segs[1].sum() and segs[2].sum() > 100 * segs[3].sum()


def test_every_clip_is_resampled_to_the_fixed_rate_and_cached_on_disk(tmp_path, monkeypatch):
    from mer_bench.data.audio import write_wav
    from mer_bench.features.cache import FeatureCache

    monkeypatch.setenv("MER_BENCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "a.wav"
    write_wav(path, 0.1 * np.sin(np.arange(32000 * 2) * 0.05), 32000)
    track = Track("a", path, sample_rate=32000)
    front = SegmentLogmels(clip_s=4.0, segment_s=1.0)
    assert front.sample_rate == 22050  # the file's 32 kHz is never the analysis rate
    with pytest.raises(ConfigError, match="fixed rate"):
        Frontend(clip_s=4.0, segment_s=1.0, sample_rate=None)
    cache = FeatureCache()
    first, stats = cache.features(front, [track], n_jobs=1)
    again, stats_again = cache.features(front, [track], n_jobs=1)
    assert (stats.computed, stats_again.hits, stats_again.computed) == (1, 1, 0)
    assert front.unflatten([first["a"]]).shape == (1, 4, N_FRAMES, N_MELS)
    np.testing.assert_array_equal(first["a"], again["a"])
    # other settings are other cache entries
    for other in (SegmentLogmels(clip_s=4.0, segment_s=2.0),
                  SegmentLogmels(clip_s=4.0, segment_s=1.0, stft_rule="overlap")):
        assert other.cache_namespace != front.cache_namespace
        assert cache.features(other, [track], n_jobs=1)[1].computed == 1


def test_front_end_extractor_matches_segment_logmels_bit_for_bit():
    """The registered front end computes exactly what ``segment_logmels`` gives."""
    rng = np.random.default_rng(3)
    wave = (0.1 * rng.standard_normal(int(22050 * 2.7))).astype(np.float32)
    front = SegmentLogmels(clip_s=4.0, segment_s=1.0)
    (flat,) = front.extract([wave])
    expected = segment_logmels(wave, 22050, 4.0, 1.0, "table1")
    np.testing.assert_array_equal(front.unflatten([flat])[0], expected)
    assert flat.shape == (front.dim,)


def test_methods_read_their_front_end_from_features_or_compute_it_from_audio():
    cls = METHODS.get("cnn-bilstm")
    method = cls(cls.make_params(smoke=True))
    extractor = cls.frontend(method.params)
    assert isinstance(extractor, SegmentLogmels) and extractor.params == method.params.frontend()
    track = Track("c_0", None, static_va=(0.5, 0.5))
    task = Task("fake", BINARY_VALENCE)
    wave = (0.1 * np.random.default_rng(0).standard_normal(22050 * 2)).astype(np.float32)
    direct = FoldData(task, (track,), None, (1,), lambda t, sr: wave)
    from_audio = method._spectrograms(direct)
    stored = FoldData(task, (track,), (np.zeros(extractor.dim, np.float32),), (1,), None,
                      feature_key=extractor.cache_namespace)
    assert from_audio.shape == (1, 2, N_FRAMES, N_MELS) and from_audio.max() > 0
    assert not method._spectrograms(stored).any()  # the run's cached arrays, as they are
    from mer_bench.errors import TaskError

    with pytest.raises(TaskError, match="no audio loader"):
        method._spectrograms(FoldData(task, (track,), None, (1,), None))


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="longer than clip_s"):
        METHODS.get("ae-bilstm").make_params({"segment_s": 40.0})
    with pytest.raises(ConfigError, match="filters"):
        METHODS.get("cnn-bilstm").make_params({"filters": [8, 8]})
    with pytest.raises(ConfigError, match="mask_fill"):
        METHODS.get("ae-bilstm").make_params({"mask_fill": "noise"})
    with pytest.raises(AudioError, match="below"):
        stft_geometry(4000, 1.0)
    with pytest.raises(ConfigError, match="stft_rule"):
        METHODS.get("ae-bilstm").make_params({"stft_rule": "librosa"})
    with pytest.raises(ConfigError, match="l2_on"):
        METHODS.get("ae-bilstm").make_params({"l2_on": "bias"})


# --- masking -----------------------------------------------------------------
def test_masks_have_the_drawn_widths_and_the_fill_value():
    gen = torch.Generator().manual_seed(0)
    # strictly positive, so a zero fill is visible; seeded: the test must not depend on luck
    x = torch.rand(64, 1, N_FRAMES, N_MELS, generator=torch.Generator().manual_seed(1)) + 1.0
    draw = draw_masks(64, N_FRAMES, N_MELS, max_freq=30, max_time=32, generator=gen)
    assert draw.freq_width.max() < 30 and draw.time_width.max() < 32
    assert draw.freq_width.min() >= 0 and len(set(draw.freq_width.tolist())) > 10
    assert torch.all(draw.time_start + draw.time_width <= N_FRAMES)
    assert torch.all(draw.freq_start + draw.freq_width <= N_MELS)
    before = x.clone()
    for fill in ("mean", "zero"):
        out = apply_masks(x, draw, fill)
        torch.testing.assert_close(x, before)  # the input is never modified
        region = mask_region(draw, N_FRAMES, N_MELS)
        for i in range(64):
            assert region[i].any() or draw.freq_width[i] + draw.time_width[i] == 0
            # outside the mask nothing moves (comparing "changed" pixels instead would fail
            # whenever an input value happens to equal the fill value)
            assert torch.equal(out[i, 0][~region[i]], x[i, 0][~region[i]])
            value = x[i].mean() if fill == "mean" else torch.tensor(0.0)
            torch.testing.assert_close(out[i, 0][region[i]], value.expand(int(region[i].sum())))
            # a full time row is masked exactly where the time span is (freq span < 128 bands)
            full_rows = region[i].all(dim=1).sum().item()
            assert full_rows == draw.time_width[i].item()
            assert region[i].all(dim=0).sum().item() == draw.freq_width[i].item()


# --- autoencoder -------------------------------------------------------------
def test_autoencoder_follows_table_2():
    enc, dec = Encoder(), Decoder()
    convs = [m.out_channels for m in [*enc.net, *dec.net] if isinstance(m, torch.nn.Conv2d)]
    assert convs == [128, 64, 32, 32, 64, 128, 1]
    x = torch.rand(1, 1, N_FRAMES, N_MELS)
    with torch.no_grad():
        z = enc(x)
        assert z.shape == (1, 32, 27, 16) and dec(z).shape == x.shape
    assert enc.embedding_dim(N_FRAMES, N_MELS) == 32 * 27 * 16


def test_autoencoder_loss_is_huber_to_the_unmasked_input_plus_l2_on_first_conv_output():
    torch.manual_seed(0)
    x = torch.rand(4, 1, N_FRAMES, N_MELS)
    ae = MaskedAutoencoder(filters=[2, 2, 2, 2], l2_first_conv=1e-3, mask_freq=30, mask_time=32)
    from mer_bench.methods.ae_bilstm.masking import mask_batch

    masked = mask_batch(x, 30, 32, "mean", torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = torch.nn.functional.huber_loss(ae(masked), x, delta=1.0)
        loss, huber = ae._loss(x, torch.Generator().manual_seed(5))
        # Keras activity_regularizer=l2(1e-3): 1e-3 * sum(relu(conv1(x))^2) / batch size,
        # computed here with a plain functional conv on the first layer's weights
        conv = ae.encoder.first_conv
        a = torch.relu(torch.nn.functional.conv2d(masked, conv.weight, conv.bias, padding=1))
        activity = 1e-3 * a.pow(2).sum() / len(x)
    torch.testing.assert_close(huber, expected)
    torch.testing.assert_close(loss, expected + activity)
    assert not torch.isclose(activity, 1e-3 * conv.weight.pow(2).sum())
    kernel = MaskedAutoencoder(filters=[2, 2, 2, 2], l2_first_conv=1e-3, l2_on="kernel")
    kernel.load_state_dict(ae.state_dict())
    with torch.no_grad():
        loss_k, _ = kernel._loss(x, torch.Generator().manual_seed(5))
    torch.testing.assert_close(loss_k, expected + 1e-3 * conv.weight.pow(2).sum())
    with torch.no_grad():  # the target is the clean input, not the masked one
        assert not torch.isclose(huber, torch.nn.functional.huber_loss(ae(masked), masked))


# --- the two stages ----------------------------------------------------------
@pytest.fixture(scope="module")
def synth_small_fold():
    ds = DATASETS.get("synth-small")()
    task = Task(ds.name, BINARY_AROUSAL)
    split = ds.splits("kfold:4", 0, task)[0]

    def part(ids):
        tracks = tuple(ds.track(i) for i in ids)
        return FoldData(task, tracks, None, tuple(task.target(t) for t in tracks), ds.load_audio)

    return part(split.train), part(split.val), part(split.test)


class _Probe:
    """Snapshots a module's encoder at the start and end of every fit (one per Trainer)."""

    def __init__(self):
        import lightning as L

        self.snapshots: list[dict[str, dict[str, torch.Tensor]]] = []
        outer = self

        class Callback(L.Callback):
            def on_fit_start(self, trainer, module):
                outer.snapshots.append({"start": _state(module.encoder)})

            def on_fit_end(self, trainer, module):
                outer.snapshots[-1]["end"] = _state(module.encoder)
                outer.snapshots[-1]["trainable"] = {
                    n for n, p in module.named_parameters() if p.requires_grad}
                outer.snapshots[-1]["optimised"] = sum(
                    p.numel() for g in trainer.optimizers[0].param_groups for p in g["params"])

        self.callback = Callback


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_encoder_is_frozen_in_stage_two(synth_small_fold, tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping

    train, val, test = synth_small_fold
    probe = _Probe()
    monitors = []

    def trainer(**kw):
        monitors.extend(c.monitor for c in kw.get("callbacks", [])
                        if isinstance(c, EarlyStopping))
        kw["callbacks"] = [*kw.get("callbacks", []), probe.callback()]
        kw["max_epochs"] = 1
        return make_trainer(TrainerSettings(accelerator="cpu"), tmp_path, limit_train_batches=2,
                            limit_val_batches=1, **kw)

    cls = METHODS.get("ae-bilstm")
    method = cls(cls.make_params(smoke=True), seed=0)
    method.fit(train, val, FitContext(seed=0, out_dir=tmp_path, make_trainer=trainer))
    stage1, stage2 = probe.snapshots
    changed = [k for k in stage1["start"] if not torch.equal(stage1["start"][k], stage1["end"][k])]
    assert changed, "stage 1 must train the encoder"
    for key, value in stage1["end"].items():  # stage 2 starts from the stage-1 encoder ...
        assert torch.equal(stage2["start"][key], value)
        assert torch.equal(stage2["end"][key], value), f"{key} changed in stage 2"
    assert all(name.startswith("head.") for name in stage2["trainable"])
    model = method._model
    assert isinstance(model, FrozenEncoderClassifier) and not model.encoder.training
    assert stage2["optimised"] == sum(p.numel() for p in model.head.parameters())
    for key, value in model.encoder.state_dict().items():  # ... and predicts with it
        assert torch.equal(value, stage1["end"][key])
    scores = method.predict(test)
    assert scores.shape == (len(test), 2) and np.allclose(scores.sum(axis=1), 1.0)
    # the autoencoder stops on its reconstruction Huber loss (not Huber + L2), stage 2 on
    # validation accuracy
    assert monitors == ["ae_val_huber", "val_acc"]


def test_baseline_trains_the_encoder_end_to_end(synth_small_fold, tmp_path):
    train, val, test = synth_small_fold
    probe = _Probe()

    def trainer(**kw):
        kw["callbacks"] = [*kw.get("callbacks", []), probe.callback()]
        kw["max_epochs"] = 1
        return make_trainer(TrainerSettings(accelerator="cpu"), tmp_path, limit_train_batches=2,
                            limit_val_batches=1, **kw)

    cls = METHODS.get("cnn-bilstm")
    # 8 channels: with the smoke widths of 2 every ReLU can be dead at initialisation
    method = cls(cls.make_params({"filters": [8, 8, 8, 8]}, smoke=True), seed=0)
    method.fit(train, val, FitContext(seed=0, out_dir=tmp_path, make_trainer=trainer))
    (only,) = probe.snapshots
    assert any(not torch.equal(only["start"][k], only["end"][k]) for k in only["start"])
    assert any(n.startswith("encoder.") for n in only["trainable"])
    first = method.predict(test)
    np.testing.assert_array_equal(first, method.predict(test))  # eval mode: deterministic


def test_baseline_has_no_l2_term():
    """The paper states no regulariser for the CNN+BiLSTM baseline."""
    from mer_bench.methods.ae_bilstm.classifier import EndToEndClassifier

    assert METHODS.get("cnn-bilstm").Params().l2_first_conv == 0.0
    assert METHODS.get("ae-bilstm").Params().l2_first_conv == 1e-3
    model = EndToEndClassifier([2, 2, 2, 2], N_FRAMES, N_MELS, 2, units=4)
    model(torch.rand(1, 2, N_FRAMES, N_MELS))
    assert model.extra_loss() == 0.0


# --- labels: k-means thresholds (PMEmo) ----------------------------------------
def test_kmeans_thresholds_come_from_the_training_fold_only():
    rng = np.random.default_rng(0)
    va = np.concatenate([rng.normal(-0.5, 0.1, (20, 2)), rng.normal(0.4, 0.1, (20, 2))])
    tracks = [Track(str(i), None, static_va=(float(v), float(a))) for i, (v, a) in enumerate(va)]
    task = Task("pmemo", BINARY_VALENCE)
    fold_a, fold_b = tracks[:30], tracks[10:]
    ta = fold_task(task, fold_a, "kmeans", 0)
    tb = fold_task(task, fold_b, "kmeans", 0)
    assert (ta.valence_threshold, ta.arousal_threshold) == pytest.approx(
        kmeans_midpoint_va(va[:30], 0))
    assert ta.valence_threshold != pytest.approx(tb.valence_threshold)
    # held-out tracks would move it if they were used: so using only the fold matters
    held_out = [Track(f"x{i}", None, static_va=(0.99, 0.99)) for i in range(30)]
    assert fold_task(task, fold_a + held_out, "kmeans", 0).valence_threshold > \
        ta.valence_threshold + 0.1


def test_kmeans_runs_on_the_valence_arousal_plane_not_per_dimension():
    """He & Ferguson, Fig. 3a: two k-means centres in the V-A plane and their midpoint.
    Groups A (10 x (-1, 0)), B (10 x (1, 0)), C (4 x (0.9, 1)): the 2-D optimum is
    {A} vs {B, C} (within-cluster SS 2.9 against 20 for {A, B} vs {C}), so the centres
    are (-1, 0) and (10 + 3.6, 4) / 14 and the arousal threshold is 2 / 14 = 0.143;
    1-D k-means on arousal alone splits 0 from 1 and gives 0.5."""
    va = np.array([(-1.0, 0.0)] * 10 + [(1.0, 0.0)] * 10 + [(0.9, 1.0)] * 4)
    expected = ((-1.0 + 13.6 / 14) / 2, (0.0 + 4 / 14) / 2)
    assert kmeans_midpoint_va(va, 0) == pytest.approx(expected)
    assert kmeans_midpoint(va[:, 1], 0) == pytest.approx(0.5)
    tracks = [Track(str(i), None, static_va=tuple(p)) for i, p in enumerate(va)]
    task = fold_task(Task("pmemo", BINARY_AROUSAL), tracks, "kmeans", 0)
    assert (task.valence_threshold, task.arousal_threshold) == pytest.approx(expected)
    from mer_bench.errors import TaskError

    with pytest.raises(TaskError, match=r"\[N, 2\]"):
        kmeans_midpoint_va(va[:, 0], 0)


def test_ae_bilstm_runs_see_thresholds_of_their_own_training_fold(monkeypatch):
    from mer_bench.methods.ae_bilstm.method import AEBiLSTM
    from mer_bench.runs import Runner, RunnerSettings
    from mer_bench.tracking import InMemoryTracker

    seen = []
    original = AEBiLSTM.fit

    def spy(self, train, val, ctx):
        seen.append((train.task, train.tracks, val.tracks, train.y))
        return original(self, train, val, ctx)

    monkeypatch.setattr(AEBiLSTM, "fit", spy)
    settings = RunnerSettings(trainer=TrainerSettings(accelerator="cpu", fast_dev_run=True),
                              smoke=True, plots=False, progress=False)
    spec = RunSpec(method="ae-bilstm", dataset="synth-small", task="binary_valence",
                   features="none", protocol="kfold:2", label_rule="kmeans")
    outcome = Runner(InMemoryTracker(), settings).run(resolve(spec, smoke=True))
    assert outcome.status == "finished" and len(seen) == 2
    for task, train, val, y in seen:
        values = np.array([t.static_va[0] for t in train])
        points = np.array([t.static_va for t in train])
        assert task.valence_threshold == pytest.approx(kmeans_midpoint_va(points, 0)[0])
        np.testing.assert_array_equal(y, (values >= task.valence_threshold).astype(int))
        assert not {t.id for t in train} & {t.id for t in val}
    assert len({round(task.valence_threshold, 9) for task, *_ in seen}) == 2


# --- experiment files ----------------------------------------------------------
def test_paper_table_rows_resolve_and_carry_tables_5_and_6_as_printed():
    from mer_bench.papers import load_paper

    paper = load_paper(REPO / "experiments/papers/he2022.yaml")
    rows = {r.label: r for t in paper.tables for r in t.rows}
    assert {t.id for t in paper.tables} == {"table5", "table6"}
    for row in rows.values():
        assert row.published is not None and 0 < row.published <= 1
        if row.run is None:
            assert row.unavailable
            continue
        run = resolve(row.spec())
        assert run.config["protocol"] == "kfold:10"
        assert run.config["method"] in ("ae-bilstm", "cnn-bilstm")
        params = run.config["method_params"]
        if run.config["dataset"] == "pmemo":
            assert run.config["label_rule"] == "kmeans" and params["sample_rate"] == 44100
        else:
            assert params["sample_rate"] == 22050  # AllMusic, Table 1
    # Table 5, 28 cells: 4 PMEmo and 3 AllMusic durations x 4 columns
    assert len([r for r in rows.values() if r.table == "table5"]) == 28
    assert rows["PMEmo, 10 s segments, arousal, F1"].published == 0.8662
    assert rows["AllMusic (4Q), 3 s segments, valence, accuracy"].published == 0.6711
    # Table 6: the baseline's valence F1 is 81.91 % (82.79 is its arousal accuracy)
    base = "PMEmo, CNN+BiLSTM baseline (no autoencoder), "
    assert rows[base + "valence, F1"].published == 0.8191
    assert rows[base + "arousal, accuracy"].published == 0.8279
    assert rows[base + "arousal, F1"].published == 0.8517
    assert rows[base + "valence, F1"].run["method"] == "cnn-bilstm"
    assert rows["PMEmo, two-stage model (ours), arousal, F1"].published == 0.8652


@pytest.mark.parametrize("plan", ["ae-bilstm-4q", "ae-bilstm-synth"])
def test_bench_plans_expand_to_both_methods_and_chance(plan):
    runs, notes = expand(load_plan(REPO / f"experiments/bench/{plan}.yaml"))
    assert not notes
    methods = {r.config["method"] for r in runs}
    assert methods == {"ae-bilstm", "cnn-bilstm", "chance"}
    assert {r.task.value for r in runs} == {"binary_arousal", "binary_valence"}
    for run in runs:
        if run.config["method"] != "chance":
            assert run.config["features"] == "none"
            assert run.params.max_epochs < METHODS.get(run.config["method"]).Params().max_epochs


@pytest.mark.realdata
def test_real_4q_clip_gives_six_216x128_segments(shared_data):
    adapter = DATASETS.get("4q")(shared_data / "4q")
    track = adapter.tracks()[0]
    front = SegmentLogmels(clip_s=30.0, segment_s=5.0, sample_rate=22050)
    out = front.unflatten(front.extract([adapter.load_audio(track, front.sample_rate)]))[0]
    assert out.shape == (6, N_FRAMES, N_MELS) and out.max() > 0.1


@pytest.mark.realdata
def test_real_4q_clips_at_different_native_rates_share_one_analysis_rate(shared_data):
    """The 4Q copy mixes 22.05, 32 and 44.1 kHz files; each is decoded at 22,050 Hz."""
    from mer_bench.data.audio import audio_info

    adapter = DATASETS.get("4q")(shared_data / "4q")
    rates: dict[int, Track] = {}
    for track in adapter.tracks():
        rates.setdefault(audio_info(track.audio_path).sample_rate, track)
        if len(rates) >= 2:
            break
    assert len(rates) >= 2
    seen = []

    def load(t, sr):
        seen.append(sr)
        return adapter.load_audio(t, sr)

    data = FoldData(Task("4q", BINARY_AROUSAL), tuple(rates.values()), None, (), load)
    data.arrays_of(SegmentLogmels(clip_s=5.0, segment_s=5.0))
    assert seen == [22050] * len(rates)


def test_no_audio_method_analyses_at_a_files_native_rate():
    """Every method that decodes audio itself declares a fixed analysis rate."""
    import dataclasses

    audio_methods = [n for n in METHODS.names() if METHODS.get(n).consumes == "audio"]
    assert {"ae-bilstm", "cnn-bilstm", "sssl", "segment-vote"} <= set(audio_methods)
    for name in audio_methods:
        fields = {f.name: f for f in dataclasses.fields(METHODS.get(name).Params)}
        assert "sample_rate" in fields, name
        assert isinstance(METHODS.get(name).Params().sample_rate, int), name
