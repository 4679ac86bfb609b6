"""Weight files: resolution order, checksums, offline behaviour, status, random init in plans."""

from __future__ import annotations

import gzip
import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mer_bench.config import BenchPlan
from mer_bench.errors import FeatureError, WeightsNotFoundError
from mer_bench.features import FEATURES
from mer_bench.features import weights as W


@pytest.fixture(autouse=True)
def hub(tmp_path, monkeypatch) -> Path:
    """An empty torch hub cache under a temporary $TORCH_HOME, no --weights (undone after)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(W.WEIGHTS_ENV, "")
    return tmp_path / "torch" / "hub" / "checkpoints"


FILE = W.WeightFile("demo-0a1b2c3d.pth", "https://example.invalid/demo-0a1b2c3d.pth", "0a1b2c3d")
SLOT = W.WeightSlot("demo", "model", (FILE,))
AUX = W.WeightSlot("demo", "aux", (W.WeightFile("aux.pth", "https://example.invalid/aux"),),
                   primary=False)


def test_hub_dir_follows_torch_home_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert W.hub_dir() == tmp_path / "th" / "hub" / "checkpoints"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert W.hub_dir() == tmp_path / "xdg" / "torch" / "hub" / "checkpoints"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert W.hub_dir() == Path("~/.cache/torch/hub/checkpoints").expanduser()


def test_explicit_weights_come_before_the_hub_cache(hub, tmp_path):
    hub.mkdir(parents=True)
    (hub / FILE.name).write_bytes(b"hub")
    assert W.locate(SLOT) == W.Located(hub / FILE.name, FILE, False)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / FILE.name).write_bytes(b"mine")
    W.use_paths([folder])
    assert W.locate(SLOT).path == folder / FILE.name and W.locate(SLOT).explicit
    # a lone file under its own name is taken for the network weights only
    other = tmp_path / "finetuned.bin"
    other.write_bytes(b"x")
    (tmp_path / "aux.pth").write_bytes(b"aux")
    W.use_paths([other])
    assert W.locate(SLOT) == W.Located(other, None, True)
    assert W.locate(AUX).path == tmp_path / "aux.pth"  # found beside the explicit file
    with pytest.raises(Exception, match="no such file"):
        W.use_paths([tmp_path / "absent.pth"])


def test_missing_weights_name_the_file_and_the_folder(hub):
    with pytest.raises(WeightsNotFoundError) as info:
        W.require(SLOT)
    text = str(info.value)
    assert FILE.name in text and f"{hub}/" in text and str(hub / FILE.name) in text
    assert "--weights" in text and "weights fetch demo" in text and "--random-init" in text


@pytest.mark.parametrize("name,needed", [("vggish", "vggish-10086976.pth"),
                                         ("openl3", "openl3_audio_mel256_music.h5")])
def test_extractors_construct_cheaply_and_refuse_at_extraction(hub, name, needed):
    extractor = FEATURES.get(name)()  # no weights anywhere: construction must still work
    assert extractor.weights == "real" and extractor.dim in (128, 6144)
    assert not hub.exists()  # nothing was fetched or created
    with pytest.raises(WeightsNotFoundError, match=needed) as info:
        extractor.extract([np.zeros(48000, np.float32)])
    assert str(hub) in str(info.value)
    with pytest.raises(WeightsNotFoundError):
        _ = extractor.cache_namespace  # the cache key needs the weights' identity


def test_officially_named_files_must_match_their_checksum(hub, tmp_path):
    import hashlib

    hub.mkdir(parents=True)
    (hub / FILE.name).write_bytes(b"not the official file")
    with pytest.raises(FeatureError, match="corrupt or a different model"):
        W.verified(W.require(SLOT))
    good = b"official bytes"
    digest = hashlib.sha256(good).hexdigest()
    official = W.WeightFile(FILE.name, FILE.url, digest[:8])
    (hub / FILE.name).write_bytes(good)
    assert W.verified(W.require(W.WeightSlot("demo", "model", (official,)))) == digest
    # an explicit file is the user's choice: used as given, identified by its own hash
    mine = tmp_path / "mine.pth"
    mine.write_bytes(b"fine-tuned")
    W.use_paths([mine])
    assert W.verified(W.require(SLOT)) == hashlib.sha256(b"fine-tuned").hexdigest()


def test_torch_load_reads_numpy_arrays_safely(tmp_path):
    import torch

    path = tmp_path / "pca.pth"
    torch.save({"pca_eigen_vectors": np.eye(3), "pca_means": np.arange(3.0)}, path)
    loaded = W.torch_load(path)
    np.testing.assert_array_equal(loaded["pca_means"], [0.0, 1.0, 2.0])
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(FeatureError, match="junk.pth"):
        W.torch_load(tmp_path / "junk.pth")


def _fake_url(payload: bytes):
    def opener(url, timeout):
        return io.BytesIO(payload)

    return opener


def test_fetch_offline_fails_clearly_and_leaves_nothing(hub):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(FeatureError) as info:
        W.fetch("vggish", opener=offline, report=lambda m: None)
    text = str(info.value)
    assert "vggish-10086976.pth" in text and str(hub / "vggish-10086976.pth") in text
    assert "offline" in text and "Name or service not known" in text
    assert not list(hub.iterdir())  # no partial download


def test_fetch_decompresses_checks_and_skips_present_files(hub, monkeypatch):
    from mer_bench.features import openl3

    payload = b"\x89HDF\r\n\x1a\nfake weights"
    got = W.fetch("openl3_audio_mel128_env.h5", opener=_fake_url(gzip.compress(payload)),
                  report=lambda m: None)
    assert got == [hub / "openl3_audio_mel128_env.h5"]
    assert got[0].read_bytes() == payload
    # the whole slot counts as present now: fetching the extractor skips it
    said: list[str] = []
    slot = openl3.weight_slot("mel128", "env")
    monkeypatch.setattr(W, "slots", lambda extractor=None: [slot])
    assert W.fetch("openl3", opener=_fake_url(b""), report=said.append) == []
    assert "already present" in said[0]
    # a corrupt download is refused
    bad = W.WeightSlot("vggish", "model", (W.WeightFile("v-deadbeef.pth", "u", "deadbeef"),))
    monkeypatch.setattr(W, "slots", lambda extractor=None: [bad])
    with pytest.raises(FeatureError, match="corrupt"):
        W.fetch("v-deadbeef.pth", opener=_fake_url(b"whatever"), report=lambda m: None)
    assert not (hub / "v-deadbeef.pth").exists()


def test_status_command_lists_every_file_with_its_target(hub):
    from mer_bench.cli import app

    result = CliRunner().invoke(app, ["weights", "status"])
    assert result.exit_code == 0, result.output
    for name in ("vggish-10086976.pth", "vggish_pca_params-970ea276.pth"):
        assert name in result.output
    assert str(hub / "vggish-10086976.pth") in result.output
    for r in ("mel256", "mel128", "linear"):
        for c in ("music", "env"):
            assert str(hub / f"openl3_audio_{r}_{c}.h5") in result.output
            assert f"torchopenl3_{r}_{c}_512.pth.tar" in result.output
    assert "10086976... (prefix)" in result.output and "MISSING" in result.output


def test_random_init_reaches_every_weighted_extractor_and_the_config_hash():
    from mer_bench.runs import resolve

    plan = BenchPlan.from_dict({
        "name": "p", "datasets": ["synth-small"], "tasks": ["quadrant"],
        "features": ["mfcc", "vggish", {"name": "openl3", "params": {"embedding_size": 512}}],
        "methods": ["linear"],
    })
    randomised, changed = W.with_random_init(plan)
    assert changed == ["vggish", "openl3"]
    params = {e.name: dict(e.params) for e in randomised.features}
    assert params == {"mfcc": {}, "vggish": {"random_init": True},
                      "openl3": {"embedding_size": 512, "random_init": True}}
    real = {s.features: resolve(s) for s in plan.specs()}
    rand = {s.features: resolve(s) for s in randomised.specs()}
    assert real["mfcc"].config_hash == rand["mfcc"].config_hash
    for name in ("vggish", "openl3"):
        assert real[name].config_hash != rand[name].config_hash
        assert rand[name].extractor.weights == "random" and real[name].extractor.weights == "real"
        assert rand[name].config["feature_weights"] == "random"


def test_cache_key_records_the_weights_identity_not_the_path(hub, tmp_path):
    random_init = FEATURES.get("openl3")(random_init=True)
    assert random_init.weights_identity == "random:seed0"
    keys = set()
    for i, folder in enumerate((tmp_path / "a", tmp_path / "b", tmp_path / "c")):
        folder.mkdir()
        content = b"\x89HDF\r\n\x1a\n" + (b"one" if i < 2 else b"two")
        (folder / "openl3_audio_mel256_music.h5").write_bytes(content)
        W.use_paths([folder])
        extractor = FEATURES.get("openl3")()
        assert extractor.weights_identity.startswith("sha256:")
        assert str(folder) not in extractor.cache_namespace
        keys.add(extractor.cache_namespace)
    assert len(keys) == 2  # same bytes in two folders share entries; other bytes do not
    assert random_init.cache_namespace not in keys
    assert random_init.cache_namespace.endswith("-random")
    assert not any(k.endswith("-random") for k in keys)


def test_a_random_init_run_is_tagged_end_to_end(hub):
    """--random-init through a real run: features computed, run and cache key tagged random."""
    from mer_bench.runs import Runner, RunnerSettings, expand
    from mer_bench.tracking.memory import InMemoryTracker

    plan = BenchPlan.from_dict({
        "name": "p", "tasks": ["binary_arousal"], "features": ["vggish"], "methods": ["chance"],
        "datasets": [{"name": "synth-small", "params": {"n_clips": 12, "duration_s": 1.0}}],
        "protocol": "kfold:2",
    })
    said: list[str] = []
    plan = W.apply_cli_options(plan, None, True, said.append)
    assert "vggish" in said[0] and "weights=random" in said[0]
    tracker = InMemoryTracker()
    runs, _ = expand(plan)
    (outcome,) = Runner(tracker, RunnerSettings(plots=False, progress=False)).run_all(runs)
    assert outcome.status == "finished", outcome.error
    tags = tracker.runs[outcome.run_id].tags
    assert tags["weights"] == "random" and tags["feature_cache_key"].endswith("-random")
    assert "vggish.random_init=True" in tags["variant"]


def test_cli_weights_options_are_checked_before_any_work(tmp_path):
    from mer_bench.cli import app
    from mer_bench.errors import ConfigError, MerBenchError

    runner = CliRunner()
    result = runner.invoke(app, ["features", "extract", "mfcc", "--dataset", "synth-small",
                                 "--random-init"])
    assert isinstance(result.exception, MerBenchError)
    assert "has no pretrained weights" in str(result.exception)
    result = runner.invoke(app, ["run", "-m", "chance", "-d", "synth-small", "-t", "quadrant",
                                 "-f", "vggish", "--weights", str(tmp_path / "nope.pth"),
                                 "--tracking-uri", "memory"])
    assert isinstance(result.exception, ConfigError) and "nope.pth" in str(result.exception)
