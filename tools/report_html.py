"""The self-contained HTML report: one page, inline CSS and map, every piece of data escaped."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from interestlens.tools.name import excerpt, format_share, sentiment_word
from interestlens.tools.records import Segment
from interestlens.tools.report_evolution import EvolutionView, evolution_html
from interestlens.tools.zeroshot import format_labels

MERMAID_SCRIPT = (
    '<script type="module">\n'
    'import mermaid from "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs";\n'
    "mermaid.initialize({ startOnLoad: true, securityLevel: \"strict\" });\n"
    "</script>"
)
QUOTE_WIDTH = 240  # representative texts are cut to this many characters in the report

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #2f6fdb; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC",
  "Microsoft YaHei", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
h1 { margin: 0 0 .25rem; font-size: 1.8rem; }
h2 { margin: 2.25rem 0 .75rem; font-size: 1.3rem; border-bottom: 2px solid var(--line); }
.subtitle { color: var(--muted); margin: 0; }
table.summary { border-collapse: collapse; background: #fff; width: 100%; }
table.summary th, table.summary td { border: 1px solid var(--line); padding: .35rem .6rem;
  text-align: left; vertical-align: top; }
table.summary th { width: 14rem; background: #eef2f7; font-weight: 600; }
pre.mermaid { background: #fff; border: 1px solid var(--line); padding: 1rem; overflow-x: auto; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); padding: .75rem; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: var(--muted); font-size: .9rem; }
.cards { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
.card header { display: flex; justify-content: space-between; align-items: baseline; gap: .5rem; }
.card h3 { margin: 0; font-size: 1.1rem; overflow-wrap: anywhere; }
.badge { font-size: .75rem; padding: .1rem .5rem; border-radius: 999px; white-space: nowrap;
  background: #e4ecfb; color: var(--accent); }
.badge.extractive, .badge.template { background: #fdf1dc; color: #8a5a00; }
.meta, .note { color: var(--muted); font-size: .85rem; margin: .25rem 0; }
.kw { display: inline-block; background: var(--bg); border: 1px solid var(--line);
  border-radius: 4px; padding: 0 .35rem; margin: 0 .2rem .2rem 0; font-size: .85rem; }
.quotes { padding-left: 1.1rem; margin: .5rem 0 0; font-size: .9rem; }
.quotes li { margin-bottom: .25rem; overflow-wrap: anywhere; }
.positive { color: #1b7f3b; } .negative { color: #b42318; } .mixed { color: #8a5a00; }
"""


@dataclass(frozen=True)
class ReportContent:
    """Everything the report shows, already computed: rendering only lays it out."""

    title: str
    summary_rows: Sequence[tuple[str, str]]
    mermaid: str
    segments: Sequence[Segment]
    map_png: bytes | None
    map_file: str | None
    quarantine_reasons: Sequence[tuple[str, int]]
    evolution: EvolutionView | None = None  # sizes over time and transitions, after 2 snapshots
    sizes_png: bytes | None = None
    sizes_file: str | None = None


def render_html(content: ReportContent) -> str:
    """Return the report as one self-contained HTML page (only mermaid.js is fetched)."""
    sections = [
        f"<h1>{escape(content.title)}</h1>",
        '<p class="subtitle">User-interest segments found by InterestLens.</p>',
        "<h2>Run summary</h2>",
        _summary_table(content.summary_rows),
        "<h2>Pipeline</h2>",
        f'<pre class="mermaid">\n{escape(content.mermaid)}</pre>',
        "<h2>Segment map</h2>",
        _map_figure(content.map_png),
        *evolution_html(content.evolution, content.sizes_png),
        f"<h2>Segments ({len(content.segments)})</h2>",
        '<div class="cards">', *(_card(s) for s in content.segments), "</div>",
        *_quarantine_section(content.quarantine_reasons),
    ]
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(content.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<main>\n{body}\n</main>\n{MERMAID_SCRIPT}\n</body>\n</html>\n"
    )


def _summary_table(rows: Sequence[tuple[str, str]]) -> str:
    """Return the run summary as an HTML table."""
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="summary">{cells}</table>'


def _map_figure(png: bytes | None) -> str:
    """Return the map as an inline image, or a note that there is none."""
    if png is None:
        return '<p class="note">No map: no vectors were available to plot.</p>'
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="2-D map of users coloured '
            'by segment"><figcaption>Each point is a user (a sample when there are many), '
            "placed by t-SNE of their interest vectors and coloured by segment.</figcaption>"
            "</figure>")


def _card(segment: Segment) -> str:
    """Return one segment as an HTML card; every text field is escaped."""
    mood = sentiment_word(segment.sentiment)
    keywords = "".join(f'<span class="kw">{escape(k)}</span>' for k in segment.keywords[:12])
    quotes = "".join(f"<li>“{escape(excerpt(t, QUOTE_WIDTH))}”</li>"
                     for t in segment.representative_texts)
    mode = escape(segment.naming_mode)
    return "\n".join([
        '<article class="card">',
        f'<header><h3>{escape(segment.name)}</h3><span class="badge {mode}" '
        f'title="{escape(segment.naming_note)}">{mode}</span></header>',
        f'<p class="meta">{escape(segment.segment_id)} · cluster {segment.cluster_id} · '
        f"{segment.n_users:,} users ({format_share(segment.share)}) · "
        f"{segment.n_events:,} events · confidence {segment.mean_confidence:.2f}</p>",
        f"<p><strong>Keywords</strong><br>{keywords or '—'}</p>",
        (f"<p><strong>Interest labels</strong> {escape(format_labels(segment.interest_labels))}"
         "</p>" if segment.interest_labels else ""),
        f'<p><strong>Sentiment</strong> <span class="{mood}">{mood} '
        f"({segment.sentiment:+.2f})</span>",
        f" · <strong>Event types</strong> {escape(', '.join(segment.top_event_types) or '—')}</p>",
        f"<p>{escape(segment.description)}</p>",
        f'<ul class="quotes">{quotes}</ul>' if quotes else "",
        f'<p class="note">{escape(segment.naming_note)}</p>' if segment.naming_note else "",
        "</article>",
    ])


def _quarantine_section(reasons: Sequence[tuple[str, int]]) -> list[str]:
    """Return the quarantine heading and table of reasons, or nothing when no row was set aside."""
    if not reasons:
        return []
    rows = [(reason, f"{count:,}") for reason, count in reasons]
    return ["<h2>Quarantined rows</h2>",
            '<p class="note">Rows set aside, by reason; every row is listed in quarantine.csv.</p>',
            _summary_table(rows)]
