"""The ``mer-bench`` command run in-process, as the user-error tests need it."""

from __future__ import annotations

from typer.testing import CliRunner

from mer_bench.errors import MerBenchError


def invoke(*args: str) -> tuple[int, str]:
    """``mer-bench ARGS`` in-process: exit code (2 for a user error) and everything printed."""
    from mer_bench.cli import app

    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, MerBenchError):
        return 2, result.output + str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output
