"""``text2music``'s parameters (the paper's values, or its authors' code's where it is
silent) and the pretrained parts a fit reports as run tags."""

from __future__ import annotations

from dataclasses import dataclass

from mer_bench.errors import ConfigError
from mer_bench.methods.text2music.frontend import MelFrontend
from mer_bench.methods.text2music.strategies import (
    MUSIC_ACTIVATIONS,
    STRATEGIES,
    StrategySettings,
)
from mer_bench.methods.text2music.text_encoder import ENCODERS

MUSIC_INPUTS = ("audio", "features")


@dataclass(frozen=True)
class Text2MusicParams:
    """Defaults are the paper's or, where it is silent, the authors' code's (see the class doc)."""

    strategy: str = "metric-3branch"  # one of STRATEGIES (the paper's best: metric-3branch)
    text_encoder: str = "auto"  # auto | distilbert | minilm | tiny-random
    finetune_text: bool = True  # paper: DistilBERT fine-tuned; False = frozen, vectors cached
    max_text_tokens: int = 512  # DistilBERT's limit (the authors truncate there)
    music_input: str = "audio"  # audio (short-chunk CNN) | features (pooled extractor output)
    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 128
    chunk_s: float = 5.0  # training crop and evaluation chunk length
    eval_chunks: int = 16  # chunks averaged per clip at evaluation
    cnn_width: int = 64  # short-chunk CNN width (64 -> 128 -> 256 channels)
    hidden_dim: int = 128  # projection MLP hidden size
    embed_dim: int = 64  # shared space (multihead, metric learning)
    dropout: float = 0.5
    margin: float = 0.2  # triplet margin on cosine similarity
    branch_weights: tuple[float, float, float] = (0.3, 0.3, 0.4)  # tag-text, tag-music, text-music
    weighted_negatives: bool = True  # similarity-weighted negatives (False: uniform)
    pair_mapping: str = "w2v"  # text -> music positives: a bridge mapping (paper: w2v) or "word"
    multihead_layers: int = 3  # layers of the multihead strategy's shared MLP (paper: 3)
    music_activation: str = "softmax"  # mood classifiers: softmax + CE (paper) | sigmoid + BCE
    select_mapping: str = "va"  # validation P@5 under this mapping picks the epoch (authors' code)
    lr: float = 1e-4  # Adam
    weight_decay: float = 1e-4  # the authors' code
    batch_size: int = 32
    max_epochs: int = 100  # the authors' n_epochs
    patience: int = 10  # early stopping on validation P@5; 0 = off (train max_epochs)
    restore_best: bool = True  # end with the best validation epoch (the authors' checkpoint)

    def __post_init__(self) -> None:
        object.__setattr__(self, "branch_weights", tuple(float(w) for w in self.branch_weights))
        _one_of("strategy", self.strategy, tuple(STRATEGIES))
        _one_of("text_encoder", self.text_encoder, ENCODERS)
        _one_of("music_input", self.music_input, MUSIC_INPUTS)
        _one_of("music_activation", self.music_activation, MUSIC_ACTIVATIONS)
        for name in ("max_text_tokens", "sample_rate", "n_fft", "hop_length", "n_mels",
                     "eval_chunks", "cnn_width", "hidden_dim", "embed_dim", "batch_size",
                     "max_epochs", "multihead_layers"):  # fmt: skip
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"text2music: {name} must be >= 1, got {getattr(self, name)}")
        if self.max_text_tokens < 2:
            raise ConfigError("text2music: max_text_tokens must be >= 2 ([CLS] and [SEP])")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"text2music: dropout must be in [0, 1), got {self.dropout}")
        if self.lr <= 0 or self.weight_decay < 0 or self.margin < 0 or self.patience < 0:
            raise ConfigError("text2music: lr must be > 0; weight_decay, margin, patience >= 0")
        if len(self.branch_weights) != 3 or min(self.branch_weights) < 0:
            raise ConfigError(
                f"text2music: branch_weights must be 3 weights >= 0, got {self.branch_weights}"
            )
        self.frontend()

    def frontend(self) -> MelFrontend:
        return MelFrontend(self.sample_rate, self.n_fft, self.hop_length, self.n_mels, self.chunk_s)

    def settings(self) -> StrategySettings:
        return StrategySettings(
            self.hidden_dim, self.embed_dim, self.dropout, self.margin, self.branch_weights,
            self.weighted_negatives, self.multihead_layers, self.music_activation,
        )  # fmt: skip


# What Won et al. ran, in the terms of ``parts_used``: a row that reports other parts is a
# different model, and its paper row carries a ``published_note`` saying so.
PAPER_PARTS = {
    "text_encoder": "distilbert",
    "music_encoder": "resnet-mtat-pretrained",
    "word_vectors": "music-word2vec",
}


def parts_used(params: Text2MusicParams, text_encoder: str, uses_words: bool) -> dict[str, str]:
    """The pretrained parts a fit actually used, as run tags (``label_tags``).

    ``word_vectors`` is named only for the strategies whose model depends on
    the mood-word vectors (w2v-regression, metric-3branch).
    """
    parts = {
        "text_encoder": text_encoder,
        "music_encoder": "cnn-random-init" if params.music_input == "audio" else "pooled-features",
    }
    if uses_words:
        parts["word_vectors"] = f"{text_encoder}-words"
    return parts


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"text2music: {name}={value!r} is not one of {list(allowed)}")
