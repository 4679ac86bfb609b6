"""The package stays easy to live in: modules of about 450 lines at most (a longer one
says why in its docstring, on a line starting ``Length:``) and functions of about 80."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "mer_bench"
MODULE_LINES = 450
FUNCTION_LINES = 80


def _modules() -> list[tuple[Path, str]]:
    return [(p, p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))]


def test_long_modules_say_why():
    long = []
    for path, text in _modules():
        doc = ast.get_docstring(ast.parse(text)) or ""
        reason = any(line.strip().startswith("Length:") for line in doc.splitlines())
        if len(text.splitlines()) > MODULE_LINES and not reason:
            long.append(f"{path.relative_to(PACKAGE)} ({len(text.splitlines())} lines)")
    assert not long, "split these modules or state the reason in their docstring: " + str(long)


def test_no_function_is_longer_than_a_screen():
    long = []
    for path, text in _modules():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.name} ({n} lines)")
    assert not long, long


def test_no_module_reads_another_modules_private_names():
    """``from x import _name`` across modules couples them to each other's internals."""
    found = []
    for path, text in _modules():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "mer_bench"
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private and node.module != "mer_bench":
                    found.append(f"{path.relative_to(PACKAGE)}: {node.module}.{private}")
    assert not found, found
