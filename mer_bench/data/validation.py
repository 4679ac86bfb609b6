"""What ``validate()`` finds in a dataset copy: problems, summary counts, corrections."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Problem:
    """One finding of ``validate()``."""

    severity: Severity
    code: str
    message: str
    track_id: str | None = None
    path: str | None = None


@dataclass
class ValidationReport:
    """Everything ``validate()`` found, plus summary counts for ``data check``."""

    dataset: str
    root: str
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)
    corrections: dict[str, str] = field(default_factory=dict)
    # one-line facts the user must see first (e.g. a check that could not run and why)
    notices: list[str] = field(default_factory=list)

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        track_id: str | None = None,
        path: Path | str | None = None,
    ) -> None:
        self.problems.append(
            Problem(severity, code, message, track_id, None if path is None else str(path))
        )

    def errors(self, waive: Iterable[str] = ()) -> list[Problem]:
        waived = set(waive)
        return [p for p in self.problems if p.severity == "error" and p.code not in waived]

    def ok(self, waive: Iterable[str] = ()) -> bool:
        return not self.errors(waive)

    def track_ids_with(self, codes: Iterable[str]) -> set[str]:
        wanted = set(codes)
        return {
            p.track_id
            for p in self.problems
            if p.severity == "error" and p.code in wanted and p.track_id is not None
        }

    def codes(self, severity: str | None = None) -> Counter[str]:
        """How many problems of each code (of one severity, or all)."""
        return Counter(p.code for p in self.problems if severity in (None, p.severity))

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((p.severity, p.code) for p in self.problems)

    def render(self, max_per_code: int = 10, waived: dict[str, str] | None = None) -> str:
        """Readable multi-line report: notices, summary, then problems grouped by code.

        ``waived`` maps error codes the user accepted to the option that accepted
        them; those groups read ``WAIVED`` (with what happens to the tracks), not
        ``ERROR``, so the report agrees with the verdict printed after it.
        """
        waived = waived or {}
        lines = [f"dataset {self.dataset} at {self.root}"]
        lines += [f"NOTE {text}" for text in self.notices]
        for key, value in self.summary.items():
            lines.append(f"  {key}: {value}")
        for name, text in self.corrections.items():
            lines.append(f"  correction {name}: {text}")
        if not self.problems:
            lines.append("no problems found")
            return "\n".join(lines)
        for (severity, code), n in sorted(self.counts().items()):
            if severity == "error" and code in waived:
                lines.append(f"WAIVED {code}: {n} ({waived[code]}: these tracks are left out)")
            else:
                lines.append(f"{severity.upper()} {code}: {n}")
            shown = [p for p in self.problems if p.code == code and p.severity == severity]
            for p in shown[:max_per_code]:
                lines.append(f"  - {p.message}")
            if len(shown) > max_per_code:
                lines.append(f"  ... and {len(shown) - max_per_code} more")
        return "\n".join(lines)
