"""The report's segment-evolution section: sizes over time (PNG), transitions (Mermaid sankey).

Rendering only: the sizes, the sankey text and the transitions come computed (``tools.evolve``).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

import pandas as pd

SIZES_FILE = "segment_sizes.png"
MAX_LINES = 20  # segments drawn in the size chart: the largest ever


@dataclass(frozen=True)
class EvolutionView:
    """What the evolution section shows.

    Attributes:
        sizes: Active members per segment (rows) and snapshot (columns, in order).
        labels: One label per column of ``sizes``.
        sankey: Mermaid ``sankey-beta`` text of the last step, or None before a second snapshot.
        transitions: ``(kind, detail)`` of the last step's transitions.
        names: Segment id -> name, for the chart's legend.
    """

    sizes: pd.DataFrame
    labels: Sequence[str]
    sankey: str | None = None
    transitions: Sequence[tuple[str, str]] = ()
    names: Mapping[str, str] = field(default_factory=dict)


def sizes_chart_png(view: EvolutionView, font_path: str | None = None) -> bytes:
    """Return a line chart of each segment's size per snapshot as PNG bytes (no pyplot state).

    The legend gives each segment's id and name; without ``font_path`` (a font that draws
    Chinese) a name with CJK characters is left out.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    sizes = view.sizes
    largest = sizes.max(axis=1).sort_values(ascending=False, kind="stable").index[:MAX_LINES]
    shown = sizes.loc[[sid for sid in sizes.index if sid in set(largest)]]
    palette = colormaps["tab20"].colors[0::2] + colormaps["tab20"].colors[1::2]
    fig = Figure(figsize=(10, 4.5), dpi=110)
    ax = fig.add_subplot()
    steps = range(len(view.labels))
    for index, (segment_id, row) in enumerate(shown.iterrows()):
        name = str(view.names.get(segment_id, ""))
        if font_path is None and re.search("[\u3040-\u9fff]", name):
            name = ""
        ax.plot(steps, row.to_numpy(), marker="os^Dv"[index // 10 % 5], linewidth=1.5,
                color=palette[index % len(palette)],
                label=f"{segment_id} · {name[:40]}" if name else str(segment_id))
    ax.set_xticks(list(steps), [str(label) for label in view.labels], rotation=30, ha="right",
                  fontsize=8)
    ax.set_ylabel("active users")
    ax.set_title("Segment sizes per snapshot")
    ax.grid(alpha=0.3)
    if len(shown):
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  prop=FontProperties(fname=font_path, size=8) if font_path else {"size": 8})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def evolution_markdown(view: EvolutionView | None, sizes_file: str | None,
                       cell: Callable[[str], str]) -> list[str]:
    """Return the Markdown lines of the evolution section (none without a view).

    ``cell`` escapes data text for Markdown (the report's own escaping).
    """
    if view is None:
        return []
    lines = ["## Segment evolution", ""]
    if sizes_file:
        lines += [f"![Segment sizes per snapshot]({sizes_file})", ""]
    if view.sankey:
        lines += ["```mermaid", view.sankey.rstrip("\n"), "```", ""]
    if view.transitions:
        lines += ["| transition | detail |", "|---|---|"]
        lines += [f"| {cell(kind)} | {cell(detail)} |" for kind, detail in view.transitions]
        lines.append("")
    return lines


def evolution_html(view: EvolutionView | None, png: bytes | None) -> list[str]:
    """Return the HTML parts of the evolution section (none without a view)."""
    if view is None:
        return []
    parts = ["<h2>Segment evolution</h2>"]
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="Segment sizes per '
                     'snapshot"><figcaption>Active users of each segment in each snapshot (run '
                     "or update).</figcaption></figure>")
    if view.sankey:
        parts.append(f'<pre class="mermaid">\n{escape(view.sankey)}</pre>')
    if view.transitions:
        rows = "".join(f"<tr><th>{escape(kind)}</th><td>{escape(detail)}</td></tr>"
                       for kind, detail in view.transitions)
        parts.append(f'<table class="summary">{rows}</table>')
    return parts
