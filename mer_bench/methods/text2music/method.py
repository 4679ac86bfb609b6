"""The registered method ``text2music``: the six strategies of Won et al. (ISMIR 2021).

Won, M., Salamon, J., Bryan, N. J., Mysore, G. J., & Serra, X. (2021).
Emotion embedding spaces for matching music to stories. Proceedings of the
22nd International Society for Music Information Retrieval Conference.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mer_bench.errors import MerBenchError, TaskError
from mer_bench.methods.base import METHODS, FitContext, FoldData, Method
from mer_bench.methods.text2music import labels as lab
from mer_bench.methods.text2music.frontend import ClipLogmel
from mer_bench.methods.text2music.params import (
    Text2MusicParams,
    parts_used,
)
from mer_bench.methods.text2music.strategies import STRATEGIES
from mer_bench.methods.text2music.text_encoder import load_text_encoder, resolve_text_encoder
from mer_bench.types import Family, TaskKind, Track

if TYPE_CHECKING:  # pragma: no cover
    from mer_bench.methods.text2music.batches import MusicInputs, TextInputs, TrainBatches
    from mer_bench.methods.text2music.lit import EvalSet, Text2MusicModule
    from mer_bench.methods.text2music.text_backbone import TextBackbone

def _no_features() -> TaskError:
    return TaskError(
        "text2music: music_input='features' needs a feature extractor for the music clips "
        "(set the run's features), or use music_input='audio'"
    )


def _texts_of(items: tuple[Track, ...]) -> list[str]:
    out = []
    for item in items:
        if item.text is None:
            raise TaskError(f"text item {item.id} has no text (meta['text'] is empty)")
        out.append(item.text)
    return out


@METHODS.register("text2music")
class Text2Music(Method):
    """Won et al. (2021): text and music branches related by one of six strategies.

    ``strategy`` picks classification, multihead, va-regression,
    w2v-regression, metric-2branch or metric-3branch (``strategies.py``
    describes each). Text branch: a transformer sentence encoder
    (``text_encoder.py``; the paper fine-tunes DistilBERT) and a projection
    MLP. Music branch: the short-chunk CNN on 16 kHz log-mels
    (``music_encoder.py``, ``frontend.py``), trained on random 5 s crops and
    evaluated as the mean over 16 evenly spaced 5 s chunks; or, with
    ``music_input="features"``, the clip vector of a registered extractor
    (pooled, standardised with training statistics) into the projection MLP.
    Tag branch (metric-3branch) and word targets (w2v-regression): the words'
    vectors from the frozen pretrained text encoder (``labels.py``).
    ``predict`` returns the strategy's similarity [texts, clips].

    Paper values (parameters): Adam, lr 1e-4 (weight decay 1e-4 as in the
    authors' code), batch 32, 100 epochs, triplet margin 0.2 on cosine
    similarity, branch weights 0.3 / 0.3 / 0.4, 128 -> 64 projections with
    dropout 0.5, fine-tuned DistilBERT (``finetune_text=False`` freezes the
    encoder and caches the sentence vectors: a fast CPU mode).

    Choices where the paper is silent, or where its resources are not
    available offline (parameters where they can vary):

    Parts that differ from the paper's (substitutes; a row run with any of
    them is a different model, and the leaderboard names them through the
    ``text_encoder`` and ``music_input`` of the row):

    * mood words (tag branch, w2v-regression targets) are embedded by the
      frozen text encoder, not by the paper's music-domain Word2Vec (not
      obtainable offline); the text -> music pairing does not depend on it
      (the shipped Table 2 W2V mapping, below);
    * the CNN starts from random weights (the authors load MagnaTagATune
      pre-training, not obtainable offline); DistilBERT from the local cache,
      else all-MiniLM-L6-v2.

    Choices where the paper is silent (parameters where they can vary):

    * projections are Linear-``hidden_dim``-BatchNorm-ReLU-dropout-Linear
      whose output size is what the strategy needs (``embed_dim`` for shared
      spaces); the multihead strategy shares ``multihead_layers`` = 3 layers
      (the paper's "3-layered MLP") followed by a linear head per vocabulary
      (``multihead_layers=2`` is the earlier variant whose third layer was
      the heads), and retrieval compares music-head probabilities by cosine
      (the paper does not say how multihead ranks; the won2021 rows say so);
    * mood classifiers (classification, multihead): softmax with
      cross-entropy and ranking by the likelihood of the predicted text
      emotion, as the paper says (``music_activation="softmax"``; the
      authors' music classifier adds a focal term, gamma 2, not used here);
      ``"sigmoid"`` is the multi-label variant (binary cross-entropy). A text
      predicted as an emotion that is no music mood gets no ranking: its row
      is NaN, it scores 0 (the paper's "no retrieval result") and
      ``text2music_unanswerable`` names those emotions in the run's tags;
    * a clip's regression targets: the mean of its tags' V/A or word
      vectors; regression outputs of V/A pass through tanh (the [-1, 1]
      scale);
    * text -> music positives: clips carrying a music tag of the text
      emotion under the bridge's ``w2v`` mapping (``pair_mapping="w2v"``:
      for Alm and ISEAR the W2V column of the paper's Table 2, the authors'
      ``w2v_mapper``), another named bridge mapping, or ``"word"`` (the
      nearest tag in the text encoder's word space, which pairs 4 of the 11
      emotions differently from Table 2); a negative must share no label
      with its anchor (the authors compare the texts' labels, here the
      clip's tags against the anchor's paired tags, so a negative never
      carries a paired mood); anchors without an allowed negative drop out;
    * negatives are drawn with probability ``(cos + 1) / 2`` to the anchor
      (``weighted_negatives``; ``losses.py``): the authors' variant. The
      paper cites distance-weighted sampling (Wu et al. 2017), which weighs
      by the inverse density of distances on the hypersphere; this is not
      that method;
    * evaluation chunks cover the whole clip (first to last frame); clips
      shorter than 5 s are zero-padded; chunk outputs (probabilities for the
      classifiers, embeddings otherwise) are averaged;
    * model selection: validation P@5 under the bridge's ``select_mapping``
      (default ``va``: the authors' metric-learning solver monitors P@5 under
      its VA dict; the paper does not say) every epoch, the best epoch kept
      (the authors' checkpoint rule), plus
      early stopping after ``patience`` epochs without improvement (ours;
      0 turns it off and trains all ``max_epochs``, as the won2021 paper
      rows do: the paper states no training length, 100 epochs is the
      authors' code's). Without usable validation data (no texts, clips or
      relevant pairs) the last epoch of ``max_epochs`` is kept;
    * batches: ``batch_size`` texts and clips per step for the plain
      strategies, ``batch_size // 2`` per triplet group for metric learning
      (the authors' loader).

    Run tags (``ctx.extra_tags``): ``text_encoder``, ``music_encoder`` and,
    where they shape the model, ``word_vectors`` name the parts that ran (and
    the leaderboard row); ``text2music_pairs`` the text -> music pairing of
    metric learning; ``text2music_unanswerable`` the emotions classification
    cannot answer.

    Cost: at the paper's width a CNN step on 32 crops takes seconds on one
    CPU core and fine-tuning DistilBERT more; on a CPU prefer
    ``finetune_text=False`` with a smaller ``cnn_width`` or
    ``music_input="features"``.
    """

    name = "text2music"
    trains_networks = True
    version = "2"
    consumes = "text+audio"
    supports = frozenset({Family.TEXT_MUSIC_RETRIEVAL})
    Params = Text2MusicParams
    smoke_params: ClassVar[dict[str, Any]] = {
        "text_encoder": "tiny-random", "cnn_width": 4, "max_epochs": 1, "eval_chunks": 2,
        "chunk_s": 1.0, "batch_size": 8, "hidden_dim": 8, "embed_dim": 4, "max_text_tokens": 32,
    }  # fmt: skip
    label_params = ("strategy",)
    # the parts that ran, named in the leaderboard row ("auto" resolves at fit time); none
    # is the paper's DistilBERT-fine-tuned / MTAT-pretrained ResNet / music Word2Vec trio
    # unless DistilBERT is cached, and the other two never are (see PAPER_PARTS)
    label_tags = ("text_encoder", "music_encoder", "word_vectors")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "lr": trial.suggest_float("lr", 1e-5, 1e-3, log=True),
            "margin": trial.suggest_float("margin", 0.05, 0.5),
            "dropout": trial.suggest_float("dropout", 0.1, 0.7),
            "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64]),
        }

    @classmethod
    def check_param_values(cls, params: Any, task: TaskKind) -> None:
        """torch's rules for Adam (rate, weight decay), the loader and dropout; the Params
        check choices, sizes and ranges when they are made."""
        from mer_bench.methods import param_checks

        owner = f"method {cls.name!r}"
        param_checks.check_optimizer(owner, "adam", params.lr, params.weight_decay)
        param_checks.check_batch_size(owner, params.batch_size)
        param_checks.check_dropout(owner, params.dropout)

    @classmethod
    def frontend(cls, params: Any) -> ClipLogmel | None:
        """The clips' log-mels when the music side reads audio (``music_input="audio"``),
        read from the disk feature cache in a run; None for ``music_input="features"``."""
        return ClipLogmel(params.frontend()) if params.music_input == "audio" else None

    # --- inputs --------------------------------------------------------------
    def _text_inputs(self, items: tuple[Track, ...]) -> TextInputs:
        import torch

        from mer_bench.methods.text2music.batches import TextInputs

        p, backbone = self.params, self._backbone
        if p.finetune_text:
            ids, mask = backbone.tokenize(_texts_of(items), p.max_text_tokens)
            return TextInputs(ids=ids, mask=mask)
        if not items:
            return TextInputs(vectors=torch.zeros((0, backbone.dim)))
        from mer_bench.methods.text2music.text_backbone import frozen_vectors

        texts = _texts_of(items)
        return TextInputs(
            vectors=frozen_vectors(
                backbone, self._encoder_source, self.seed, texts, p.max_text_tokens
            )
        )

    def _music_inputs(self, data: FoldData) -> MusicInputs:
        import torch

        from mer_bench.methods.text2music.batches import MusicInputs

        p = self.params
        if p.music_input == "features":
            if data.features is None:
                raise _no_features()
            if len(data) == 0:
                return MusicInputs(vectors=torch.zeros((0, len(self._feature_mean))))
            x = (data.pooled() - self._feature_mean) / self._feature_std
            return MusicInputs(vectors=torch.as_tensor(x, dtype=torch.float32))
        extractor = ClipLogmel(p.frontend())  # == frontend(p): music_input is "audio" here
        return MusicInputs(
            mels=[np.ascontiguousarray(a.T) for a in data.arrays_of(extractor)],
            crop=extractor.params.chunk_frames,
            n_chunks=p.eval_chunks,
        )

    def _eval_set(self, val: FoldData | None) -> EvalSet | None:
        from mer_bench.methods.text2music.lit import EvalSet

        if val is None or not val.texts or not len(val) or val.bridge is None:
            return None
        emotions = [t.tags[0] if t.tags else "" for t in val.texts]
        rel = lab.relevance(emotions, val.music_labels, val.bridge, self.params.select_mapping)
        if not rel.any():
            return None
        return EvalSet(self._text_inputs(val.texts), self._music_inputs(val), rel)

    # --- fit / predict -----------------------------------------------------------
    def _label_space(
        self, train: FoldData, words: np.ndarray, music_hot: np.ndarray
    ) -> lab.LabelSpace:
        bridge, p = train.bridge, self.params
        vt = len(bridge.text_vocab)
        text_words, music_words = words[:vt], words[vt:]
        available = music_hot.any(axis=0)
        pairs = lab.pair_positives(bridge, p.pair_mapping, text_words, music_words, available)
        return lab.LabelSpace(
            tuple(bridge.text_vocab), tuple(bridge.music_vocab), text_words, music_words, pairs,
            lab.word_va(bridge, bridge.text_vocab), lab.word_va(bridge, bridge.music_vocab),
        )  # fmt: skip

    @staticmethod
    def _check_va(space: lab.LabelSpace, text_labels: np.ndarray, music_hot: np.ndarray) -> None:
        used = [space.text_vocab[i] for i in np.unique(text_labels)
                if np.isnan(space.text_va[i]).any()]  # fmt: skip
        used += [space.music_vocab[j] for j in np.flatnonzero(music_hot.any(0))
                 if np.isnan(space.music_va[j]).any()]  # fmt: skip
        if used:
            raise TaskError(
                f"text2music va-regression: the bridge's word_va has no (valence, arousal) for "
                f"{sorted(set(used))}; add them to the vocabulary's V/A table"
            )

    def fit(self, train: FoldData, val: FoldData, ctx: FitContext) -> Text2Music:
        import torch

        from mer_bench.methods.text2music.batches import TrainBatches
        from mer_bench.methods.text2music.lit import Text2MusicModule
        from mer_bench.methods.text2music.music_encoder import ShortChunkCNN

        p = self.params
        if train.bridge is None or not train.texts or not len(train):
            raise TaskError(
                "text2music needs text items, music clips and an emotion bridge "
                "(task text2music_retrieval with a text dataset and a music dataset)"
            )
        bridge = train.bridge
        text_labels = lab.text_label_ids(train.texts, bridge.text_vocab)
        music_hot = lab.music_multi_hot(train.tracks, bridge.music_vocab)
        lab.require_tagged(train.tracks, music_hot, bridge.music_vocab)

        torch.manual_seed(self.seed)
        choice = resolve_text_encoder(p.text_encoder)
        self._backbone: TextBackbone = load_text_encoder(choice, self.seed)
        self._encoder_source = choice.source
        vocab = [*bridge.text_vocab, *bridge.music_vocab]
        words = lab.unit_rows(self._backbone.encode(vocab, p.max_text_tokens).numpy())
        space = self._label_space(train, words.astype(np.float32), music_hot)
        if p.strategy == "va-regression":
            self._check_va(space, text_labels, music_hot)
        strategy = STRATEGIES[p.strategy](space, p.settings())
        ctx.extra_tags.update(parts_used(p, choice.name, strategy.uses_word_vectors))
        unanswerable = strategy.unanswerable()
        if unanswerable:  # texts predicted as these get no ranking and score 0
            ctx.extra_tags["text2music_unanswerable"] = ",".join(unanswerable)
        if strategy.sampling == "triplet":  # which clips pair with which texts
            ctx.extra_tags["text2music_pairs"] = ",".join(
                f"{e}->{'+'.join(np.asarray(space.music_vocab)[row])}"
                for e, row in zip(space.text_vocab, space.pair_positive)
            )

        if p.music_input == "features":
            if train.features is None:
                raise _no_features()
            pooled = train.pooled()
            self._feature_mean = pooled.mean(axis=0)
            self._feature_std = np.where(pooled.std(axis=0) > 1e-8, pooled.std(axis=0), 1.0)
        train_texts, train_music = self._text_inputs(train.texts), self._music_inputs(train)

        torch.manual_seed(self.seed)  # the same initial weights whatever the encoder drew
        music_backbone = ShortChunkCNN(p.cnn_width) if p.music_input == "audio" else None
        music_dim = music_backbone.out_dim if music_backbone else train_music.vectors.shape[1]
        module = Text2MusicModule(
            strategy,
            strategy.build_heads(self._backbone.dim, music_dim),
            music_backbone,
            self._backbone if p.finetune_text else None,
            torch.from_numpy(space.word_vectors),
            p.lr,
            p.weight_decay,
            self.seed,
        )
        module.validation = self._eval_set(val)
        batches = TrainBatches(
            strategy.sampling, strategy.groups, train_texts, train_music, text_labels, music_hot,
            space.pair_positive, p.batch_size, self.seed,
        )  # fmt: skip
        self._train(module, batches, ctx)
        module.validation = None
        module.eval()
        self._module = module
        return self

    def _train(self, module: Text2MusicModule, batches: TrainBatches, ctx: FitContext) -> None:
        from lightning.pytorch.callbacks import EarlyStopping
        from torch.utils.data import DataLoader

        from mer_bench.methods.text2music.lit import MONITOR
        from mer_bench.training.callbacks import RestoreBest

        p = self.params
        callbacks: list[Any] = []
        val_loader = None
        if module.validation is not None:
            val_loader = DataLoader([0], batch_size=None)  # the step scores the whole val set
            if p.patience > 0:
                callbacks.append(EarlyStopping(monitor=MONITOR, mode="max", patience=p.patience))
            if p.restore_best:
                callbacks.append(RestoreBest(MONITOR, "max"))
        trainer = ctx.make_trainer(
            max_epochs=p.max_epochs, callbacks=callbacks, num_sanity_val_steps=0
        )
        with warnings.catch_warnings():
            for message in (
                ".*does not have many workers.*",
                ".*smaller than the logging.*",
                ".*`validation_step` but have no.*",
                r".*module\(s\) in eval mode.*",
                ".*`IterableDataset` has `__len__` defined.*",
            ):
                warnings.filterwarnings("ignore", message=message)  # fmt: skip
            trainer.fit(module, DataLoader(batches, batch_size=None), val_loader)

    def predict(self, data: FoldData) -> np.ndarray:
        """Similarity [len(data.texts), len(data.tracks)], higher = more relevant.

        A row is all NaN when the strategy has no answer for that text (see
        ``Strategy.unanswerable``); the scorer gives it 0.
        """
        if not hasattr(self, "_module"):
            raise TaskError("text2music: call fit before predict")
        module = self._module
        module.eval()
        sim = module.similarity(self._text_inputs(data.texts), self._music_inputs(data))
        sim = np.asarray(sim, dtype=np.float64).reshape(len(data.texts), len(data.tracks))
        unanswered = np.isnan(sim).all(axis=1, keepdims=True)  # the strategy has no answer
        if not np.all(np.isfinite(sim) | unanswered):
            raise MerBenchError(
                "text2music: the trained model gives non-finite similarities (training "
                "diverged); lower lr or check the inputs for silent or broken clips"
            )
        return sim
