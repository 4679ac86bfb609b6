"""Registering plug-ins stays cheap: `mer-bench list` and every registry lookup run without
torch, Lightning, transformers or librosa (seconds of imports, needed only to fit or extract).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mer_bench

HEAVY = ("torch", "lightning", "transformers", "librosa")
PACKAGE = Path(mer_bench.__file__).parent

# registered when registration was made lazy; plug-ins may be added, none may go missing
KNOWN_METHODS = {
    "ae-bilstm", "chance", "cnn-bilstm", "embedding-classifiers", "emer-cl", "emer-cl-svr",
    "emer-reg-bigru", "emer-reg-mlp", "linear", "segment-vote", "sssl", "text2music",
}  # fmt: skip
KNOWN_FEATURES = {"logmel", "mfcc", "openl3", "vggish"}

# Runs in a fresh interpreter: what `mer-bench list` reads, plus the class attributes a
# method declares at registration. Records which mer_bench line first asked for each
# heavy package, so a failure names the import to make lazy.
PROBE = """
import json, sys, traceback

HEAVY = {heavy!r}
first = {{}}


class Watch:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in HEAVY and top not in first:
            ours = [f for f in traceback.extract_stack() if "mer_bench" in f.filename]
            first[top] = f"{{ours[-1].filename}}:{{ours[-1].lineno}}" if ours else "?"
        return None


sys.meta_path.insert(0, Watch())


class Trial:
    def suggest_float(self, name, low, high, **kw):
        return low

    def suggest_int(self, name, low, high, **kw):
        return low

    def suggest_categorical(self, name, choices):
        return choices[0]


from mer_bench.data import DATASETS
from mer_bench.features import FEATURES
from mer_bench.methods import METHODS

list(DATASETS.items())
features = []
for name, cls in FEATURES.items():
    ex = cls()
    (cls.version, cls.sample_rate, ex.dim, ex.hop_s)
    features.append(name)
methods = []
for name, cls in METHODS.items():
    (cls.name, cls.version, cls.consumes, sorted(f.value for f in cls.supports))
    (cls.Params, cls.smoke_params, cls.label_params, cls.label_tags, cls.score_only_params)
    cls.search_space(Trial())
    methods.append(name)
print(json.dumps({{"features": features, "methods": methods,
                  "heavy": {{m: first.get(m, "?") for m in HEAVY if m in sys.modules}}}}))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _declared(registry: str, folder: Path) -> set[str]:
    """Names registered with ``@<registry>.register("name")`` anywhere under ``folder`` (source)."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and isinstance(deco.func, ast.Attribute)
                    and deco.func.attr == "register"
                    and isinstance(deco.func.value, ast.Name)
                    and deco.func.value.id == registry
                    and deco.args
                    and isinstance(deco.args[0], ast.Constant)
                ):
                    names.add(str(deco.args[0].value))
    return names


def test_registries_load_without_heavy_imports(probe: dict) -> None:
    assert probe["heavy"] == {}, (
        "importing the plug-in registries imported heavy packages (package: first mer_bench "
        f"line asking for it): {probe['heavy']}"
    )


def test_every_plugin_is_still_registered(probe: dict) -> None:
    assert KNOWN_METHODS <= set(probe["methods"])
    assert KNOWN_FEATURES <= set(probe["features"])
    # every class decorated in the source is registered, i.e. its module is imported
    assert _declared("METHODS", PACKAGE / "methods") <= set(probe["methods"])
    assert _declared("FEATURES", PACKAGE / "features") <= set(probe["features"])
