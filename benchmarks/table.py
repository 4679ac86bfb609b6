"""The results table, as plain text for the terminal and as Markdown for the README."""

from __future__ import annotations

from typing import Any

HEADER = ("section", "measurement", "value", "reference (same run)", "ratio", "goal")


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0 or 0.01 <= abs(value) < 10_000:
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.2e}"


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    ref = row["reference"]
    reference = f"{_num(ref)} {row['unit']} ({row['reference_name']})" if ref is not None \
        else row["reference_name"] or "–"
    ratio = "–" if row["ratio"] is None else f"{_num(row['ratio'])}×"
    return (row["section"], row["name"], f"{_num(row['value'])} {row['unit']}", reference,
            ratio, row["goal"])


def _machine_line(result: dict[str, Any]) -> str:
    m = result["machine"]
    return (f"{m['date']} · {m['cpu_count']} × {m['cpu_model']} · {m['ram_gb']} GB RAM · "
            f"load {m['load_avg_1m_at_start']} at start · Python {m['python']} · "
            f"torch {m['torch']} · numpy {m['numpy']} · MLflow {m['mlflow']} · "
            f"git {m['git_sha'][:10]}{' (dirty)' if m['git_dirty'] else ''} · "
            f"wall {result['wall_s']} s")


def render_text(result: dict[str, Any]) -> str:
    cells = [HEADER] + [_cells(r) for r in result["rows"]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(HEADER))).rstrip()
             for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([_machine_line(result), *lines])


def render_markdown(result: dict[str, Any]) -> str:
    lines = [f"Measured {_machine_line(result)}.", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(r)) + " |"
              for r in result["rows"]]
    return "\n".join(lines) + "\n"
