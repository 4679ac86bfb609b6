"""Near-miss suggestions for unknown names, so a typo's message names the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice nearest to ``word`` (case-insensitive), or None when nothing is close."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    match = difflib.get_close_matches(word.strip().lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest choice, or "" when nothing is close."""
    match = closest(word, choices)
    return f"; did you mean {match!r}?" if match else ""


def unknown(family: str, word: str, choices: Iterable[str],
            also: Iterable[str] = ()) -> str:
    """The one-line message for an unknown name: suggestion first, then the full list.

    ``also`` are accepted spellings (aliases) that may be suggested but are not listed.
    """
    options = sorted(choices)
    listed = ", ".join(options) or "(none)"
    hint = did_you_mean(word, [*options, *also])
    return f"unknown {family} {word!r}{hint} (available: {listed})" if hint else (
        f"unknown {family} {word!r}; available: {listed}")
