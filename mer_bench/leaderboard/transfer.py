"""Cross-dataset transfer matrices: train on the row's dataset, test on the column's.

Runs with protocol ``transfer:TARGET`` sit in their source dataset's table; this
module gathers them per (task, method, features, variant, weights) into a
matrix whose diagonal is the within-dataset result of the same configuration
(any non-transfer protocol, named in the cell), so a reader sees at a glance
how much is lost when a model meets another dataset's music and annotators.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from mer_bench.leaderboard.charts import svg_of
from mer_bench.leaderboard.rows import LeaderboardTable, MetricStat

TRANSFER = "transfer:"


@dataclass(frozen=True)
class TransferMatrix:
    task: str
    metric: str
    label: str  # method · features (variant, weights)
    datasets: tuple[str, ...]
    cells: dict[tuple[str, str], tuple[MetricStat, str]]  # (train, test) -> (stat, protocol)

    def cell(self, train: str, test: str) -> tuple[MetricStat, str] | None:
        return self.cells.get((train, test))


def build_transfer_matrices(tables: Sequence[LeaderboardTable]) -> list[TransferMatrix]:
    """One matrix per configuration that has at least one transfer run."""
    cells: dict[tuple[str, str, str], dict[tuple[str, str], tuple[MetricStat, str]]] = defaultdict(
        dict
    )
    has_transfer: set[tuple[str, str, str]] = set()
    for table in tables:
        for row in table.rows:
            stat = row.stat(table.primary_metric)
            if stat is None or math.isnan(stat.mean):
                continue
            key = (table.task, table.primary_metric, _config_label(row))
            if row.protocol.startswith(TRANSFER):
                target = row.protocol[len(TRANSFER) :]
                cells[key][(table.dataset, target)] = (stat, row.protocol)
                has_transfer.add(key)
            else:
                cells[key].setdefault((table.dataset, table.dataset), (stat, row.protocol))
    matrices = []
    for key in sorted(has_transfer):
        task, metric, label = key
        names = sorted({d for pair in cells[key] for d in pair})
        matrices.append(TransferMatrix(task, metric, label, tuple(names), dict(cells[key])))
    return matrices


def _config_label(row) -> str:
    text = f"{row.method} · {row.features}"
    if row.variant:
        text += f" ({row.variant})"
    if row.random_weights:
        text += " ⚠ random weights"
    return text


def _fmt(stat: MetricStat) -> str:
    return f"{stat.mean:.3f} [{stat.ci_low:.3f}, {stat.ci_high:.3f}]"


def render_transfer_markdown(matrices: Sequence[TransferMatrix]) -> str:
    if not matrices:
        return ""
    lines = [
        "## Cross-dataset transfer",
        "",
        "Rows: training dataset; columns: test dataset. The diagonal is the "
        "within-dataset result of the same configuration (its protocol in brackets).",
        "",
    ]
    for m in matrices:
        lines += [f"### {m.task} — {m.label} ({m.metric})", ""]
        lines.append("| train \\ test | " + " | ".join(m.datasets) + " |")
        lines.append("|---|" + "---|" * len(m.datasets))
        for train in m.datasets:
            cells = []
            for test in m.datasets:
                found = m.cell(train, test)
                if found is None:
                    cells.append("—")
                else:
                    stat, protocol = found
                    cells.append(_fmt(stat) + ("" if train != test else f" ({protocol})"))
            lines.append(f"| {train} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def render_transfer_html(matrices: Sequence[TransferMatrix]) -> str:
    if not matrices:
        return ""
    parts = [
        '<h2 id="transfer" class="task">Cross-dataset transfer</h2>',
        '<p class="note">Rows: training dataset; columns: test dataset; the diagonal is '
        "the within-dataset result of the same configuration.</p>",
    ]
    for m in matrices:
        parts.append(
            f"<h3>{html.escape(m.task)} — {html.escape(m.label)} ({html.escape(m.metric)})</h3>"
        )
        parts.append(heatmap_svg(m))
    return "\n".join(parts)


def heatmap_svg(m: TransferMatrix) -> str:
    """The matrix as an inline SVG heat map with the mean written in each cell."""
    import matplotlib
    import numpy as np
    from matplotlib.figure import Figure

    n = len(m.datasets)
    values = np.full((n, n), np.nan)
    for i, train in enumerate(m.datasets):
        for j, test in enumerate(m.datasets):
            if (found := m.cell(train, test)) is not None:
                values[i, j] = found[0].mean
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": m.label}):
        fig = Figure(figsize=(1.6 + 1.1 * n, 1.2 + 0.9 * n))
        ax = fig.add_subplot()
        image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis")
        ax.set_xticks(range(n), m.datasets, rotation=30, ha="right")
        ax.set_yticks(range(n), m.datasets)
        ax.set_xlabel("test dataset")
        ax.set_ylabel("training dataset")
        for (i, j), v in np.ndenumerate(values):
            if not np.isnan(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="white", fontsize=9)
        fig.colorbar(image, ax=ax, label=m.metric)
        fig.tight_layout()
        return svg_of(fig)
