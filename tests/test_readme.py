"""The README says what the tool does: plans, methods' tasks, commands; run outputs are
ignored by git."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mer_bench.commands.plans import available_plans
from mer_bench.methods import METHODS

REPO = Path(__file__).resolve().parents[1]
FRONT = (REPO / "README.md").read_text()
DOC_FILES = sorted((REPO / "docs").glob("*.md"))
# what the documentation says: the front page and the pages it links to
README = "\n".join([FRONT, *(p.read_text() for p in DOC_FILES)])

OUTPUTS = ("mlruns.db", "mlruns.db.lock", "sweeps.db", "sweeps.db.lock", "mlartifacts/x",
           "leaderboard/index.html", "test-artifacts/leaderboard-1400.png",
           "mlruns.db-journal", "lightning_logs/version_0/x")


@pytest.mark.parametrize("path", OUTPUTS)
def test_run_outputs_are_ignored(path):
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run([git, "check-ignore", "-q", "--no-index", path], cwd=REPO)
    assert result.returncode == 0, f"{path} is not in .gitignore"


def test_methods_table_states_each_methods_tasks():
    """Every method named in the README's methods table supports what the row says."""
    words = {"classes": {"quadrant", "binary_valence", "binary_arousal"},
             "binary valence": {"binary_valence"}, "binary arousal": {"binary_arousal"}}
    rows = [line for line in README.splitlines() if line.startswith("| `")]
    checked = 0
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 4:
            continue
        names = re.findall(r"`([a-z0-9-]+)`", cells[0])
        if not names or not all(n in METHODS for n in names):
            continue
        claimed = set().union(*(v for k, v in words.items() if k in cells[2]))
        for name in names:
            if name in ("chance", "linear", "emer-cl-svr") or not claimed:
                continue
            supports = {k.value for k in METHODS.get(name).supported_tasks()}
            assert claimed <= supports, f"{name}: README says {cells[2]}, supports {supports}"
            checked += 1
    assert checked >= 4


def test_plans_named_in_readme_exist():
    named = set(re.findall(r"`((?:[a-z0-9]+-)*[a-z0-9]+)`", README))
    plans = set(available_plans())
    for line in README.splitlines():
        if line.startswith("| `") and "bench plans" not in line:
            for plan in re.findall(r"`([a-z0-9-]+)`", line.split("|")[-2]):
                assert plan in plans, plan
    assert "quick" in named & plans


def test_commands_in_readme_parse():
    """Every `mer-bench ...` line of the README is accepted by the command line."""
    import shlex

    import typer

    from mer_bench.cli import app

    group = typer.main.get_command(app)
    block = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = " ".join(block).replace("\\\n", " ").splitlines()
    commands = [ln.split("#")[0].strip() for ln in lines if ln.strip().startswith("mer-bench")]
    assert len(commands) >= 10
    for command in commands:
        args = shlex.split(command)[1:]
        if args == ["--version"]:
            continue
        ctx = group.make_context("mer-bench", list(args), resilient_parsing=False)
        sub = args[0] if args and not args[0].startswith("-") else None
        if sub is None:
            continue
        cmd = group.get_command(ctx, sub)
        assert cmd is not None, command
        rest = args[1:]
        if hasattr(cmd, "commands"):
            cmd, rest = cmd.get_command(ctx, rest[0]), rest[1:]
            assert cmd is not None, command
        cmd.make_context(sub, list(rest))  # raises on an unknown option


def test_the_front_page_fits_and_links_every_page():
    """README.md is a front door (about a screenful of sections), and every page in docs/
    is reachable from it."""
    assert len(FRONT.splitlines()) <= 250
    for page in DOC_FILES:
        assert f"(docs/{page.name})" in FRONT, f"README.md does not link docs/{page.name}"
    for link in re.findall(r"\]\((docs/[^)#]+)", FRONT):
        assert (REPO / link).is_file(), link


def test_one_spelling_of_license():
    """The card field is ``license``; messages and docs spell it the same way."""
    british = "licen" + "ce"
    files = [
        REPO / "README.md",
        *DOC_FILES,
        *(REPO / "mer_bench").rglob("*.py"),
        *(REPO / "tests").rglob("*.py"),
    ]
    offenders = [str(f.relative_to(REPO)) for f in files if british in f.read_text().lower()]
    assert not offenders, f"spell it 'license' in {offenders}"
