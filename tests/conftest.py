"""Shared fixtures: an isolated cache per test session and the real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# pytest-xdist's workers inherit COLUMNS=80; the command line's consoles would fix their
# width from it when first imported, and the tests that ask a wider terminal
# (CliRunner(env={"COLUMNS": ...})) would get 80 columns in a worker and 250 alone
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MER_BENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test session gets its own MER_BENCH_CACHE so tests never touch ~/.cache."""
    if "MER_BENCH_TEST_CACHE" in os.environ:  # reuse across runs when asked (local speed-up)
        os.environ["MER_BENCH_CACHE"] = os.environ["MER_BENCH_TEST_CACHE"]
    else:
        os.environ["MER_BENCH_CACHE"] = str(tmp_path_factory.mktemp("mer-bench-cache"))
    os.environ.pop("MER_BENCH_DATA", None)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real dataset files in ../shared/data; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set MER_BENCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture()
def no_env_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dataset roots come only from the test: no MER_BENCH_DATA or MER_BENCH_<NAME>_ROOT from
    the environment (a real EiM found that way would change DEAM's swap check, for one)."""
    for var in list(os.environ):
        if var == "MER_BENCH_DATA" or (var.startswith("MER_BENCH_") and var.endswith("_ROOT")):
            monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks run fastest on one thread, and the 2-core CI is shared by other tests;
    a module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
