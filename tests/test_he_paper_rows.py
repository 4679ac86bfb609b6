"""He & Ferguson's rows in he2022.yaml and in Sun's Table 3 (sun-sssl.yaml): settings and notes."""

from __future__ import annotations

from typing import Any

import pytest

from mer_bench.commands.papers import print_tables
from mer_bench.papers import load_paper, papers_dir
from mer_bench.runs import resolve


def _rows(name: str) -> dict[str, Any]:
    paper = load_paper(papers_dir() / f"{name}.yaml")
    return {r.label: r for t in paper.tables for r in t.rows}


def _listing(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    """``reproduce NAME --list`` as one line of single spaces (the console wraps lines)."""
    print_tables([load_paper(papers_dir() / f"{name}.yaml")])
    return " ".join(capsys.readouterr().out.split())


def test_allmusic_rows_peak_normalise_and_pmemo_rows_do_not(capsys):
    rows = _rows("he2022")
    for row in rows.values():
        if row.run is None:
            continue
        params = resolve(row.spec()).params
        assert params.normalize == ("none" if row.run["dataset"] == "pmemo" else "peak")
    listing = _listing("he2022", capsys)
    assert ("AllMusic (4Q), 5 s segments, arousal, accuracy: needs dataset 4q with its audio; "
            "runs ae-bilstm; 4q; binary_arousal; kfold:10 x 5 rounds (seeds 0-4); split_seed=0; "
            "segment_s=5.0, "
            "sample_rate=22050, normalize=peak; note:") in listing
    assert "AllMusic clips peak-normalised to [-1, 1]" in listing


def test_the_baseline_runs_the_duration_of_the_two_stage_figure_it_is_compared_with():
    """Sec. 6.2: the two models compared 'under the same experimental circumstance'."""
    rows = _rows("he2022")
    base, ours = "PMEmo, CNN+BiLSTM baseline (no autoencoder), ", "PMEmo, two-stage model (ours), "
    pairs = [(rows[f"{base}{dim}, {metric}"], rows[f"{ours}{dim}, {metric}"], seconds)
             for dim, seconds in (("valence", 1.0), ("arousal", 5.0))
             for metric in ("accuracy", "F1")]
    for baseline, two_stage, seconds in pairs:
        assert baseline.run["method"] == "cnn-bilstm" and baseline.metric == two_stage.metric
        b, t = resolve(baseline.spec()), resolve(two_stage.spec())
        assert b.params.segment_s == t.params.segment_s == seconds, baseline.label
    for baseline, two_stage, _ in pairs:  # and the rest of the input and protocol
        b, t = resolve(baseline.spec()), resolve(two_stage.spec())
        for name in ("sample_rate", "stft_rule", "normalize", "clip_s"):
            assert getattr(b.params, name) == getattr(t.params, name)
        assert b.spec.split_seed == t.spec.split_seed == 0
        assert b.config["label_rule"] == t.config["label_rule"] == "kmeans"


# Sun's Table 3 "2-Stage [8]" rows and the he2022 row each one copies
TWO_STAGE = "2-Stage [8] (He & Ferguson)"
SAME_RUN = {
    f"PMEmo, {TWO_STAGE}, valence, accuracy": "PMEmo, 1 s segments, valence, accuracy",
    f"PMEmo, {TWO_STAGE}, valence, F1": "PMEmo, 1 s segments, valence, F1",
    f"PMEmo, {TWO_STAGE}, arousal, accuracy": "PMEmo, 1 s segments, arousal, accuracy",
    f"4Q, {TWO_STAGE}, valence, accuracy": "AllMusic (4Q), 3 s segments, valence, accuracy",
    f"4Q, {TWO_STAGE}, valence, F1": "AllMusic (4Q), 3 s segments, valence, F1",
    f"4Q, {TWO_STAGE}, arousal, accuracy": "AllMusic (4Q), 5 s segments, arousal, accuracy",
    f"4Q, {TWO_STAGE}, arousal, F1": "AllMusic (4Q), 5 s segments, arousal, F1",
}


def test_suns_two_stage_rows_are_the_he2022_runs():
    """One run serves both papers: same config hash for every round's seed."""
    sun, he = _rows("sun-sssl"), _rows("he2022")
    two_stage = {label for label, r in sun.items() if TWO_STAGE in label and r.run}
    for label in sorted(two_stage & set(SAME_RUN)):
        he_label = SAME_RUN[label]
        assert sun[label].metric == he[he_label].metric
        for seed in (0, 3):
            ours, theirs = resolve(sun[label].spec(seed)), resolve(he[he_label].spec(seed))
            assert ours.config_hash == theirs.config_hash, label
    assert two_stage == set(SAME_RUN)


def test_sun_rows_say_what_their_data_and_he_arousal_figure_may_be(capsys):
    rows = _rows("sun-sssl")
    eim = [r for label, r in rows.items() if label.startswith("EiM") and r.run is not None]
    assert len(eim) == 4
    for row in eim:
        assert "744 EiM songs" in row.note and "1,000 songs and 29,982 one-second" in row.note
    arousal = rows[f"PMEmo, {TWO_STAGE}, arousal, accuracy"]
    assert "could be He & Ferguson's 1 s arousal accuracy (Table 5: 83.19" in arousal.note
    assert arousal.run["method_params"]["segment_s"] == 1.0
    assert "could be He's 1 s result" in rows[f"PMEmo, {TWO_STAGE}, arousal, F1"].unavailable
    listing = _listing("sun-sssl", capsys)
    assert "note: Sun's 83.20 could be He & Ferguson's 1 s arousal accuracy" in listing
    assert ("EiM, SSSL (proposed), four-class, accuracy: needs dataset emomusic") in listing
    assert "Sun's Table 1 lists 1,000 songs and 29,982 one-second segments" in listing
