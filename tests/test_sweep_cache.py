"""The sweep's fitted-model cache: keyed by the data and fold, loading only what it wrote."""

from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path

import optuna
import pytest

from mer_bench.config import RunSpec
from mer_bench.data.synthetic import SynthSmallDataset
from mer_bench.paths import cache_dir
from mer_bench.sweeps.fitcache import FitCache
from mer_bench.tracking import InMemoryTracker
from mer_bench.tuning import sweep

FIXED = {"alpha": 1.0}  # every searched parameter fixed: trials are comparable


def _spec(root: Path) -> RunSpec:
    return RunSpec(method="linear", dataset="synth-small", task="static_va", features="mfcc",
                   protocol="kfold:2", allow_missing_audio=True, dataset_root=str(root))


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory) -> tuple[Path, Path]:
    """One dataset config at two roots: its 48 clips, and the same minus one clip."""
    full = SynthSmallDataset().root
    fewer = tmp_path_factory.mktemp("fewer") / "synth"
    shutil.copytree(full, fewer)
    wav = sorted(fewer.rglob("*.wav"))[0]
    wav.unlink()
    return full, fewer


def _trial_value(tracker: InMemoryTracker) -> float:
    """The objective of the one trial a sweep ran with ``tracker``."""
    (run,) = [r for r in tracker.runs.values() if r.tags.get("kind") == "trial"]
    return run.metrics["val_r2"][-1][1]


def test_the_same_study_name_on_other_data_fits_afresh(tmp_path, two_datasets):
    """A sweep keyed by its study name scored models fitted on one dataset on another's
    folds, even in a new storage: the data and the folds are part of the key."""
    full, fewer = two_datasets
    storage = f"sqlite:///{tmp_path / 's.db'}"
    sweep(_spec(full), InMemoryTracker(), 1, storage=storage, study_name="same", fixed=FIXED)
    tracker = InMemoryTracker()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and nothing to refuse on the way
        other = sweep(_spec(fewer), tracker, 2, storage=storage, study_name="same",
                      fixed=FIXED)
    assert (other.fits, other.reuses) == (2, 0)
    fresh = InMemoryTracker()
    sweep(_spec(fewer), fresh, 1, storage=storage, study_name="fresh", fixed=FIXED)
    assert _trial_value(tracker) == _trial_value(fresh)
    new_storage = f"sqlite:///{tmp_path / 'new.db'}"
    assert sweep(_spec(fewer), InMemoryTracker(), 1, storage=new_storage, study_name="same",
                 fixed=FIXED).fits == 2
    # the first data's models are still re-used where they belong
    again = sweep(_spec(full), InMemoryTracker(), 3, storage=storage, study_name="same",
                  fixed=FIXED)
    assert (again.fits, again.reuses) == (0, 2)


class _Planted:
    """A pickle that writes a marker file when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "loaded"))


def _sweep_files() -> list[Path]:
    return sorted((cache_dir() / "sweeps").glob("*/*.pkl"))


def test_a_planted_pickle_is_never_loaded(tmp_path, two_datasets):
    full, _ = two_datasets
    storage = f"sqlite:///{tmp_path / 's.db'}"
    before = set(_sweep_files())
    sweep(_spec(full), InMemoryTracker(), 1, storage=storage, study_name="planted",
          fixed=FIXED)
    written = sorted(set(_sweep_files()) - before)
    assert len(written) == 2  # one model per fold
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Planted(marker))
    for path in written:
        path.write_bytes(payload)
    with pytest.warns(UserWarning, match="not loading .*SHA-256 differs") as caught:
        again = sweep(_spec(full), InMemoryTracker(), 2, storage=storage,
                      study_name="planted", fixed=FIXED)
    assert not marker.exists(), "a planted pickle ran its code"
    assert (again.fits, again.reuses) == (2, 0)
    for path in written:  # each refused file is named
        assert any(str(path) in str(w.message) for w in caught)
    # a study made again in the storage has recorded nothing: its files are refused too
    optuna.delete_study(study_name="planted", storage=storage)
    for path in written:
        path.write_bytes(payload)
    with pytest.warns(UserWarning, match="no SHA-256 is recorded") as caught:
        other = sweep(_spec(full), InMemoryTracker(), 1, storage=storage, study_name="planted",
                      fixed=FIXED)
    assert not marker.exists()
    assert (other.fits, other.reuses) == (2, 0)
    assert len(caught) == 2


def test_a_study_name_cannot_lead_the_cache_out_of_its_folder(tmp_path, two_datasets):
    full, _ = two_datasets
    root = cache_dir() / "sweeps"
    before = {p for p in cache_dir().rglob("*") if p.is_file()}
    name = "../../escaped/../../x"
    sweep(_spec(full), InMemoryTracker(), 1, storage=f"sqlite:///{tmp_path / 's.db'}",
          study_name=name, fixed=FIXED)
    new = {p for p in cache_dir().rglob("*") if p.is_file()} - before
    pickles = [p for p in new if p.suffix == ".pkl"]
    assert len(pickles) == 2
    assert all(p.resolve().is_relative_to(root.resolve()) for p in pickles)
    assert not (tmp_path / "escaped").exists() and not (cache_dir().parent / "x").exists()


def test_the_fit_cache_loads_a_file_only_when_its_recorded_sha256_matches(tmp_path):
    ledger: dict[str, str] = {}
    FitCache(tmp_path, ledger).put("k", {"fitted": 1})
    assert FitCache(tmp_path, ledger).get("k") == {"fitted": 1}  # a later process
    (path,) = tmp_path.glob("k.*.pkl")
    marker = tmp_path / "marker"
    path.write_bytes(pickle.dumps(_Planted(marker)))
    with pytest.warns(UserWarning, match="SHA-256 differs"):
        assert FitCache(tmp_path, ledger).get("k") is None
    with pytest.warns(UserWarning, match="no SHA-256 is recorded"):
        assert FitCache(tmp_path, {}).get("k") is None
    assert not marker.exists()
