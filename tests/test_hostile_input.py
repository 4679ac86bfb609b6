"""Crafted and broken dataset files: nothing outside the root is read, nothing crashes.

Each test corrupts a tiny fake tree (tests/fakes/datasets.py) the way a careless
or hostile copy could, and checks that ``validate()`` names the file, the row
and the fix, and that the track never reaches training.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.cli import invoke as check
from fakes.datasets import make_4q, make_eim, write_clip

from mer_bench.data import DATASETS
from mer_bench.data.base import TRACK_LEVEL_CODES, UNSAFE_PATH
from mer_bench.errors import AudioError, DatasetError

pytestmark = pytest.mark.usefixtures("no_env_roots")

ANNOTATIONS = "panda_dataset_taffc_annotations.csv"


def append_rows(path: Path, *rows: bytes) -> None:
    data = path.read_bytes()
    path.write_bytes(data + b"".join(r + b"\r\n" for r in rows))




# --- path traversal -----------------------------------------------------------------
def test_4q_id_climbing_out_of_the_root_is_an_error_and_never_read(tmp_path: Path) -> None:
    base = make_4q(tmp_path / "root")
    secret = write_clip(tmp_path / "outside" / "secret.mp3")
    bad = "../../../outside/secret"
    assert (base / "Q1" / f"{bad}.mp3").resolve() == secret.resolve()  # the crafted row works
    append_rows(base / ANNOTATIONS, bad.encode() + b",Q1")

    adapter = DATASETS.get("4q")(tmp_path / "root")
    track = adapter.track(bad)
    assert track.audio_path is None
    with pytest.raises(AudioError):
        adapter.load_audio(track)
    report = adapter.validate()
    errors = [p for p in report.errors() if p.code == UNSAFE_PATH]
    assert [p.track_id for p in errors] == [bad]
    assert "outside the dataset root" in errors[0].message and bad in errors[0].message
    assert not any(p.code == "missing_audio" and p.track_id == bad for p in report.problems)
    # a run refuses the dataset unless the user waives track-level problems, then drops it
    assert not report.ok()
    assert bad in report.track_ids_with(TRACK_LEVEL_CODES)
    code, out = check("data", "check", "4q", "--root", str(tmp_path / "root"))
    assert code == 1 and UNSAFE_PATH in out and bad in out


def test_emomusic_file_name_climbing_out_of_the_root_is_an_error(tmp_path: Path) -> None:
    root = make_eim(tmp_path / "eim", audio_ids=(3,))
    write_clip(tmp_path / "outside" / "secret.mp3")
    info = root / "annotations" / "songs_info.csv"
    text = info.read_text().replace('"\t4.mp3"', '"../../outside/secret.mp3"')
    info.write_text(text)
    adapter = DATASETS.get("emomusic")(root)
    assert adapter.track("4").audio_path is None
    assert adapter.track("3").audio_path is not None  # a clip in the folder is untouched
    report = adapter.validate()
    assert {p.track_id for p in report.errors() if p.code == UNSAFE_PATH} == {"4"}


def test_a_clip_linking_outside_the_root_is_refused(tmp_path: Path) -> None:
    base = make_4q(tmp_path / "root")
    secret = write_clip(tmp_path / "outside" / "secret.mp3")
    clip = next((base / "Q2").glob("*.mp3"))
    clip.unlink()
    clip.symlink_to(secret)
    adapter = DATASETS.get("4q")(tmp_path / "root")
    assert adapter.track(clip.stem).audio_path is None
    assert {p.track_id for p in adapter.validate().errors() if p.code == UNSAFE_PATH} == {
        clip.stem
    }


# --- broken CSVs ----------------------------------------------------------------------
def corrupt_line(path: Path, line: int, edit) -> None:
    lines = path.read_bytes().split(b"\r\n")
    lines[line - 1] = edit(lines[line - 1])
    path.write_bytes(b"\r\n".join(lines))


def test_an_unterminated_quote_names_the_file_and_line_and_makes_no_track(tmp_path: Path) -> None:
    base = make_4q(tmp_path / "root")
    corrupt_line(base / ANNOTATIONS, 4, lambda row: b'"' + row)
    adapter = DATASETS.get("4q")(tmp_path / "root")
    with pytest.raises(DatasetError, match=r"\.csv, line 4: .*not closed before the end"):
        adapter.tracks()
    report = adapter.validate()
    assert [p.code for p in report.errors()] == ["unreadable_annotations"]
    assert "Close or remove the stray quote on line 4" in report.errors()[0].message
    code, out = check("data", "check", "4q", "--root", str(tmp_path / "root"))
    assert code == 1 and "line 4" in out and "Traceback" not in out


def test_a_quote_closed_rows_later_never_merges_rows_into_one_track(tmp_path: Path) -> None:
    base = make_4q(tmp_path / "root")
    ann = base / ANNOTATIONS
    corrupt_line(ann, 3, lambda row: b'"' + row)
    corrupt_line(ann, 6, lambda row: row.replace(b",", b'",', 1))
    with pytest.raises(DatasetError, match=r"line 3: .*not closed before line 6, so 4 lines"):
        DATASETS.get("4q")(tmp_path / "root").tracks()


def test_an_overlong_id_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    base = make_4q(tmp_path / "root")
    append_rows(base / ANNOTATIONS, b"M" * 302 + b",Q1")
    adapter = DATASETS.get("4q")(tmp_path / "root")
    assert len(adapter.tracks()) == 12  # the broken row is not a track
    report = adapter.validate()
    (bad,) = [p for p in report.errors() if p.code == "bad_id"]
    assert f"{ANNOTATIONS}, line 14" in bad.message and "302 characters" in bad.message
    code, out = check("data", "check", "4q", "--root", str(tmp_path / "root"))
    assert code == 1 and "line 14" in out


def test_a_run_refuses_an_overlong_id_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    root = make_eim(tmp_path / "eim", audio_ids=(2, 3, 4, 5, 7, 8, 10, 12))
    static = root / "annotations" / "static_annotations.csv"
    static.write_text(static.read_text() + "9" * 302 + ",5,1,5,1\n")
    code, out = check(
        "run", "-m", "chance", "-d", "emomusic", "-t", "static_va", "--root", str(root),
        "--tracking-uri", "memory", "--protocol", "kfold:2",
    )
    assert code == 2, out  # stopped before any run, with the dataset's errors
    assert "1 bad_id" in out and "static_annotations.csv, line 10" in out
    assert "missing_audio" not in out and "Traceback" not in out


def test_ids_that_no_file_system_accepts_never_crash_the_checks(tmp_path: Path) -> None:
    """An id that reaches a path unchecked (here: a control character is allowed by no reader
    but a NUL byte is produced directly) is refused by the path check, not by a crash."""
    from mer_bench.data.base import unsafe_path_reason

    root = tmp_path
    assert unsafe_path_reason(root / ("x" * 300 + ".mp3"), root) is not None
    assert unsafe_path_reason(root / "a\x00b.mp3", root) is not None
    assert unsafe_path_reason(root / "fine.mp3", root) is None


# --- small things ----------------------------------------------------------------------
def test_a_method_parameter_of_the_wrong_type_is_a_one_line_error(tmp_path: Path) -> None:
    from mer_bench.config import check_param_types
    from mer_bench.errors import ConfigError
    from mer_bench.methods import METHODS

    with pytest.raises(ConfigError, match=r"C must be a number \(default 1.0\), got 'abc'"):
        check_param_types("method 'linear'", METHODS.get("linear").Params, {"C": "abc"})
    check_param_types("method 'linear'", METHODS.get("linear").Params, {"C": 2, "max_iter": 5})
    with pytest.raises(ConfigError, match="max_iter must be an integer"):
        check_param_types("m", METHODS.get("linear").Params, {"max_iter": 2.5})
    code, out = check(
        "run", "-m", "linear", "-d", "synth-small", "-t", "quadrant", "--set", "C=abc",
        "--tracking-uri", "memory",
    )
    assert code == 2 and "method 'linear': parameter C must be a number" in out
    assert "Traceback" not in out and "InvalidParameterError" not in out


def test_a_root_that_is_a_file_is_not_reported_as_missing(tmp_path: Path) -> None:
    afile = tmp_path / "4q.zip"
    afile.write_bytes(b"PK")
    with pytest.raises(DatasetError, match="is a file, not a folder") as info:
        DATASETS.get("4q")(afile)
    assert "does not exist" not in str(info.value)


def test_data_check_with_allow_missing_audio_does_not_print_errors_then_no_errors(
    tmp_path: Path,
) -> None:
    root = make_eim(tmp_path / "eim", audio_ids=(3, 4))  # 6 of 8 clips missing
    code, out = check("data", "check", "emomusic", "--root", str(root), "--allow-missing-audio")
    assert code == 0, out
    assert "ERROR missing_audio" not in out
    assert "WAIVED missing_audio: 6" in out and "6 track(s) without audio are left out" in out
    code, out = check("data", "check", "emomusic", "--root", str(root))
    assert code == 1 and "ERROR missing_audio: 6" in out


def test_markdown_leaderboard_escapes_html_from_labels() -> None:
    from mer_bench.leaderboard import build_tables
    from mer_bench.leaderboard.render import render_html, render_markdown
    from mer_bench.tracking.base import FOLD, RUN
    from mer_bench.tracking.memory import InMemoryTracker

    evil = "<script>alert(1)</script>"
    tracker = InMemoryTracker()
    tags = {"task": "quadrant", "dataset": f"4q{evil}", "method": "linear",
            "features": f"mfcc{evil}", "protocol": "kfold:2", "variant": evil, "seed": "0",
            "weights": "none", "config_hash": "h", "git_sha": "abc", "dataset_version": "1",
            "mer_bench_version": "0"}
    parent = tracker.start_run("r", {**tags, "kind": RUN})
    for i in range(2):
        child = tracker.start_run(f"f{i}", {**tags, "kind": FOLD, "fold": str(i)},
                                  parent_id=parent)
        tracker.log_metrics(child, {"macro_f1": 0.5 + i / 10, "accuracy": 0.6})
        tracker.end_run(child)
    tracker.end_run(parent)
    tables = build_tables(tracker.fold_records())
    markdown, page = render_markdown(tables), render_html(tables)
    assert "<script" not in markdown and "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown


# --- broken audio --------------------------------------------------------------------
def fourq_with_bad_clips(tmp_path: Path) -> tuple[Path, str, str]:
    """A 4Q tree where one clip is cut to its first 2 KB and another is only 2 s long."""
    base = make_4q(tmp_path / "root", per_quadrant=3)
    cut, short = sorted((base / "Q1").glob("*.mp3"))[:2]
    cut.write_bytes(cut.read_bytes()[:2048])  # the MP3's Xing header still says 10.5 s
    write_clip(short, 2.0)
    return tmp_path / "root", cut.stem, short.stem


def test_truncated_and_too_short_clips_are_errors_naming_the_file(tmp_path: Path) -> None:
    root, cut, short = fourq_with_bad_clips(tmp_path)
    report = DATASETS.get("4q")(root).validate()
    errors = {p.track_id: p for p in report.errors()}
    assert set(errors) == {cut, short}
    assert errors[cut].code == "truncated_audio" and f"{cut}.mp3" in errors[cut].message
    assert errors[short].code == "short_audio" and "2.00 s" in errors[short].message
    assert report.track_ids_with(TRACK_LEVEL_CODES) == {cut, short}
    deep = DATASETS.get("4q")(root).validate(deep=True)
    assert "decodes to" in {p.track_id: p for p in deep.errors()}[cut].message


@pytest.mark.slow
def test_skip_invalid_runs_without_the_broken_clips_and_without_it_the_run_refuses(
    tmp_path: Path,
) -> None:
    root, cut, short = fourq_with_bad_clips(tmp_path)
    args = ("run", "-m", "chance", "-d", "4q", "-t", "quadrant", "--root", str(root),
            "--tracking-uri", "memory", "--protocol", "kfold:2", "--jobs", "1")
    code, out = check(*args)  # the datasets are checked before any run: exit 2, nothing run
    assert code == 2 and "truncated_audio" in out and "short_audio" in out
    assert "nothing was run" in out
    code, out = check(*args, "--skip-invalid")
    assert code == 0, out
    assert "leaving out 2 track(s)" in out and "1 finished" in out


def test_empty_and_non_audio_files_are_named_in_plain_words(tmp_path: Path) -> None:
    from mer_bench.data.audio import audio_info

    empty, page = tmp_path / "a.mp3", tmp_path / "b.mp3"
    empty.write_bytes(b"")
    page.write_text("<html><body>Not found</body></html>")
    with pytest.raises(AudioError, match=r"a\.mp3 is empty \(0 bytes\)") as info:
        audio_info(empty)
    assert "possibly a pipe" not in str(info.value)
    with pytest.raises(AudioError, match=r"b\.mp3 is text, not audio \(starts '<html>") as info:
        audio_info(page)
    assert "possibly a pipe" not in str(info.value)


def test_decoder_noise_on_stderr_names_its_file(tmp_path: Path, capfd) -> None:
    from mer_bench.data.audio import load_audio

    clip = write_clip(tmp_path / "song.mp3", 10.0)
    clip.write_bytes(clip.read_bytes()[:2048])
    capfd.readouterr()
    with pytest.raises(AudioError, match="cut short"):
        load_audio(clip)
    noise = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert noise, "the decoder printed nothing: nothing to attribute"
    assert all(line.startswith(f"{clip}: decoder: ") for line in noise)


# --- DEAM's swapped 2013 static columns ---------------------------------------------------
def test_data_check_deam_without_references_says_what_it_needs_in_one_line_at_the_top(
    tmp_path: Path,
) -> None:
    from fakes.datasets import make_deam

    root = make_deam(tmp_path / "deam", dynamic=False, audio_ids=())
    code, out = check("data", "check", "deam", "--root", str(root), "--allow-missing-audio")
    lines = out.splitlines()
    notes = [k for k, line in enumerate(lines) if line.startswith("NOTE")]
    assert notes == [1], out  # right under "dataset deam at ...", and only one
    assert "valence.csv" in lines[1] and "arousal.csv" in lines[1]
    assert "MER_BENCH_EMOMUSIC_ROOT" in lines[1]
    assert "deam_va_swap_unchecked" not in out


@pytest.mark.realdata
def test_real_deam_swap_detected_from_dynamic_annotations_alone(
    tmp_path: Path, shared_data: Path
) -> None:
    """The published static files with dynamic files (here: emoMusic's per-second averages,
    which DEAM's 2013 songs share) and no emoMusic root: the swap is found and undone."""
    import shutil

    from mer_bench.data.deam import DeamAdapter

    ann = tmp_path / "deam" / "annotations"
    dyn = ann / "dynamic (per second annotations)"
    dyn.mkdir(parents=True)
    for f in (shared_data / "deam" / "annotations").glob("static_*.csv"):
        shutil.copy(f, ann / f.name)
    for axis in ("valence", "arousal"):
        shutil.copy(shared_data / "emomusic" / "annotations" / f"{axis}_cont_average.csv",
                    dyn / f"{axis}.csv")
    adapter = DeamAdapter(tmp_path / "deam")
    check_ = adapter.swap_check
    assert check_.status == "swapped" and check_.reference == "DEAM dynamic annotations"
    assert check_.n == 744 and check_.r_swapped > check_.r_published + 0.2
    assert not adapter.validate(check_audio=False).notices
