"""Run outputs: the CSV/JSON tables, the 2-D segment map, the pipeline diagram and the report.

Every file is written atomically (temporary file, then ``os.replace``) through ``tools.atomic``.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from interestlens.tools.atomic import atomic_write_bytes, atomic_write_csv, atomic_write_text
from interestlens.tools.name import count_noun, excerpt, format_share, sentiment_word
from interestlens.tools.records import (
    EVENT_ID,
    LANGUAGE,
    QUARANTINE_COLUMNS,
    SENTIMENT,
    TEXT,
    USER,
    QuarantinedRow,
    Segment,
)
from interestlens.tools.report_evolution import (
    SIZES_FILE,
    EvolutionView,
    evolution_markdown,
    sizes_chart_png,
)
from interestlens.tools.report_html import ReportContent, render_html
from interestlens.tools.zeroshot import format_labels

logger = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("ingest", "clean", "features", "embed", "store", "profile", "cluster",
                           "segment", "name", "recommend", "report")
OUTPUT_FILES: tuple[str, ...] = (
    "segments.json", "users.csv", "events.csv", "recommendations.csv", "quarantine.csv",
    "segments_map.png", "segment_sizes.png", "report.md", "report.html", "user_topics.csv",
)
USERS_COLUMNS: tuple[str, ...] = ("user", "segment", "confidence", "top_interests")
EVENTS_COLUMNS: tuple[str, ...] = (EVENT_ID, USER, LANGUAGE, SENTIMENT, TEXT)
RECOMMENDATIONS_COLUMNS: tuple[str, ...] = ("user", "rank", "item", "score", "reason")
INTEREST_SEPARATOR = ";"
CJK_FONT_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi",
                  "Droid Sans Fallback", "AR PL", "SimHei", "Microsoft YaHei", "PingFang", "Heiti",
                  "Hiragino Sans GB")
CJK_FONT_FILE_HINTS = ("notosanscjk", "notoserifcjk", "sourcehan", "wqy", "droidsansfallback",
                       "uming", "ukai", "simhei", "msyh", "pingfang")
TSNE_ITERATIONS = 500  # 250 early-exaggeration steps plus 250 more: 5,000 points in ~16 CPU s
STAGE_LABELS: tuple[tuple[str, tuple[str, ...], str], ...] = (  # stage, keys needed, label
    ("ingest", ("n_input_rows",), "{n_input_rows}"),
    ("clean", ("n_kept", "n_quarantined"), "{n_kept:,} kept / {n_quarantined:,} quarantined"),
    ("embed", ("n_embedded",), "{n_embedded:,} embedded"),
    ("store", ("n_items",), "{n_items}"),
    ("profile", ("n_users",), "{n_users}"),
    ("cluster", ("n_clusters", "n_outliers"), "{n_clusters} / {n_outliers}"),
    ("segment", ("n_segments",), "{n_segments}"),
    ("name", ("naming_mode",), "{naming_mode}"),
    ("recommend", ("n_recommendations",), "{n_recommendations}"),
)
# Counts a label gives with their noun, singular for 1 ("1 segment"), by ``count_noun``
COUNT_NOUNS = {"n_input_rows": "row", "n_items": "item", "n_users": "user",
               "n_clusters": "cluster", "n_outliers": "outlier", "n_segments": "segment",
               "n_recommendations": "recommendation"}
MAP_FILE = "segments_map.png"
REPORT_TITLE = "InterestLens report"
MD_QUOTE_WIDTH = 200
MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]|#"} | {"<": "&lt;", ">": "&gt;"})


def project_2d(X: np.ndarray, *, random_state: int = 0,
               max_points: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Return (row indices of a deterministic sample of at most ``max_points``, their 2-D coords).

    PCA to at most 50 dimensions, then t-SNE; PCA alone when fewer than 10 rows are plotted.
    """
    X = np.asarray(X, dtype=np.float64)
    n_rows = X.shape[0]
    if n_rows == 0:
        return np.arange(0), np.zeros((0, 2))
    rows = sample_rows(n_rows, max_points, random_state=random_state)
    sample = X[rows].reshape(len(rows), -1)
    n_components = min(50, len(rows), sample.shape[1])
    if n_components < 2:  # one row or one feature: place the points on a line
        line = sample[:, :1] - sample[:, :1].mean()
        return rows, np.hstack([line, np.zeros_like(line)])
    reduced = PCA(n_components=n_components, random_state=random_state).fit_transform(sample)
    if len(rows) < 10:
        return rows, reduced[:, :2]
    tsne = TSNE(n_components=2, perplexity=min(30.0, (len(rows) - 1) / 3), init="pca",
                learning_rate="auto", max_iter=TSNE_ITERATIONS, random_state=random_state)
    # One OpenMP thread: on a busy machine more threads spin-wait and run slower (measured:
    # 5,000 points, 1 thread 16 CPU s; 2 threads 32 CPU s and more wall time), and the
    # layout no longer depends on the thread count.
    with threadpool_limits(limits=1, user_api="openmp"):
        coords = tsne.fit_transform(reduced)
    return rows, coords


def sample_rows(n_rows: int, max_points: int, *, random_state: int = 0) -> np.ndarray:
    """Return the sorted row indices of a deterministic sample of at most ``max_points`` rows."""
    if n_rows <= max_points:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(random_state).choice(n_rows, max_points, replace=False))


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """Return the file of an installed font that draws Chinese, or None (cached per process).

    Looks in matplotlib's font list, then in the system fonts, since matplotlib's cached list
    misses fonts installed after it was built.
    """
    from matplotlib import font_manager

    known = sorted((font.name, font.fname) for font in font_manager.fontManager.ttflist)
    found = next((path for hint in CJK_FONT_HINTS for name, path in known
                  if name.startswith(hint)), None)
    if found is None:
        files = sorted(font_manager.findSystemFonts())
        found = next((path for hint in CJK_FONT_FILE_HINTS for path in files
                      if hint in Path(path).name.lower()), None)
    logger.debug("CJK font for the segment map: %s", found)
    return found


def render_segment_map(coords: np.ndarray, segment_labels: Sequence[str],
                       names: Mapping[str, str], path: Path) -> Path:
    """Draw the 2-D points coloured by segment, with a legend of names, to a PNG at ``path``."""
    return atomic_write_bytes(Path(path), _map_png(coords, segment_labels, names))


def _map_png(coords: np.ndarray, segment_labels: Sequence[str], names: Mapping[str, str]) -> bytes:
    """Return the segment map as PNG bytes (matplotlib ``Figure``, no pyplot global state)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    coords = np.asarray(coords, dtype=float).reshape(-1, 2)
    labels = np.asarray([str(label) for label in segment_labels])
    font = cjk_font_path()
    if font is None and any(re.search("[\u3040-\u9fff]", str(n)) for n in names.values()):
        logger.warning("no CJK font installed (e.g. apt-get install fonts-noto-cjk): the map "
                       "legend shows segment ids and the ASCII part of each name")
    fig = Figure(figsize=(11, 7), dpi=110)
    ax = fig.add_subplot()
    point_size = 6 if len(labels) > 2000 else 16
    palette = colormaps["tab20"].colors[0::2] + colormaps["tab20"].colors[1::2]
    markers = ("o", "s", "^", "D", "v", "P")
    present = set(labels)
    order = [s for s in names if s in present] + sorted(present - set(names))
    for i, seg in enumerate(order):
        mask = labels == seg
        ax.scatter(coords[mask, 0], coords[mask, 1], s=point_size, alpha=0.7,
                   color=palette[i % len(palette)],
                   marker=markers[(i // len(palette)) % len(markers)],
                   label=_legend_label(seg, names.get(seg, ""), int(mask.sum()), font))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("Users by segment (2-D projection of interest vectors)")
    if len(labels):
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, markerscale=2,
                  frameon=False, prop=FontProperties(fname=font, size=8) if font else {"size": 8})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _legend_label(segment_id: str, name: str, n_points: int, font: str | None) -> str:
    """Return a legend entry; without a CJK font only the ASCII part of the name is kept."""
    if font is None:
        name = re.sub(r"\s*[·、，]\s*", ", ", name).encode("ascii", "ignore").decode()
        name = name if re.search("[A-Za-z]", name) else ""
    shown = excerpt(" ".join(name.split()).strip(" ,;|"), 40)
    return f"{segment_id}: {shown} ({n_points:,})" if shown else f"{segment_id} ({n_points:,})"


def pipeline_mermaid(counts: Mapping[str, int | str]) -> str:
    """Return a Mermaid ``flowchart LR`` of the pipeline stages, each labelled with its count."""
    lines = ["flowchart LR"]
    for stage in STAGES:
        label = stage
        if stage in counts:
            value = counts[stage]
            text = f"{value:,}" if isinstance(value, int) else str(value)
            label = f"{stage}<br/>{_mermaid_text(text)}"
        lines.append(f'    {stage}["{label}"]')
    lines += [f"    {a} --> {b}" for a, b in itertools.pairwise(STAGES)]
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Return ``text`` safe inside a quoted Mermaid label (entity codes, one line)."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return " ".join(text.split())


def stage_counts(summary: Mapping[str, object]) -> dict[str, str]:
    """Return the per-stage labels of the pipeline diagram from a run summary.

    Reads the ``RunSummary`` keys it finds (``n_input_rows``, ``n_kept``, ``n_quarantined``,
    ``n_embedded``, ``n_users``, ``n_clusters``, ...; all optional) plus ``n_recommendations``,
    appends each stage's time from ``stage_seconds``, and lets ``summary["stage_counts"]``
    (stage -> label) override the result.
    """
    nouns = {key: count_noun(summary[key], noun) for key, noun in COUNT_NOUNS.items()
             if key in summary}
    counts = {stage: template.format_map({**summary, **nouns})
              for stage, keys, template in STAGE_LABELS if all(key in summary for key in keys)}
    seconds = summary.get("stage_seconds") or {}
    for stage, value in seconds.items():
        if stage in STAGES and isinstance(value, (int, float)):
            counts[stage] = " · ".join([*filter(None, [counts.get(stage)]), f"{value:.1f} s"])
    counts.update(summary.get("stage_counts") or {})
    return counts


def summary_rows(summary: Mapping[str, object]) -> list[tuple[str, str]]:
    """Return the run summary as (label, text) rows; ``stage_counts`` is left to the diagram."""
    return [(key.removeprefix("n_").removeprefix("is_").replace("_", " "), _format_value(value))
            for key, value in summary.items() if key != "stage_counts"]


def _format_value(value: object) -> str:
    """Return a summary value as short, readable text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:,.2f}"
    if isinstance(value, Mapping):
        return excerpt(", ".join(f"{k} {_format_value(v)}" for k, v in value.items()), 400)
    if isinstance(value, (list, tuple, set)):
        nested = any(isinstance(v, (list, tuple)) for v in value)
        return excerpt(("; " if nested else ", ").join(_format_value(v) for v in value), 400)
    return "—" if value is None else excerpt(str(value), 400)


def write_outputs(out_dir: Path, *, segments: Sequence[Segment], users: pd.DataFrame,
                  events: pd.DataFrame, recommendations: pd.DataFrame,
                  quarantine: Sequence[QuarantinedRow], map_coords: np.ndarray | None,
                  map_segments: Sequence[str] | None,
                  summary: Mapping[str, object],
                  evolution: EvolutionView | None = None,
                  user_topics: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write every output file of a run into ``out_dir``, each atomically.

    Files: segments.json, users.csv, events.csv, recommendations.csv, quarantine.csv,
    segments_map.png (only when ``map_coords`` and ``map_segments`` are given),
    segment_sizes.png (only with an ``evolution``), user_topics.csv (only with
    ``user_topics``: each user's LDA topic distribution), report.md and report.html.
    ``users.top_interests`` may hold strings or sequences of keywords.

    Returns:
        The path of each written file, keyed by file name.

    Raises:
        ValueError: A non-empty table lacks one of its required columns.
    """
    out_dir = Path(out_dir)
    segment_json = json.dumps([s.model_dump(mode="json") for s in segments],
                              ensure_ascii=False, indent=2)
    paths = {
        "segments.json": atomic_write_text(out_dir / "segments.json", segment_json + "\n"),
        "users.csv": atomic_write_csv(out_dir / "users.csv", _users_table(users)),
        "events.csv": atomic_write_csv(
            out_dir / "events.csv", _table(events, EVENTS_COLUMNS, has_extras=False)),
        "recommendations.csv": atomic_write_csv(
            out_dir / "recommendations.csv", _table(recommendations, RECOMMENDATIONS_COLUMNS)),
        "quarantine.csv": write_quarantine(out_dir, quarantine),
    }
    if user_topics is not None:
        paths["user_topics.csv"] = atomic_write_csv(out_dir / "user_topics.csv", user_topics)
    png = None
    if map_coords is not None and map_segments is not None:
        png = _map_png(map_coords, map_segments, {s.segment_id: s.name for s in segments})
        paths[MAP_FILE] = atomic_write_bytes(out_dir / MAP_FILE, png)
    sizes_png = sizes_chart_png(evolution, cjk_font_path()) if evolution is not None else None
    if sizes_png is not None:
        paths[SIZES_FILE] = atomic_write_bytes(out_dir / SIZES_FILE, sizes_png)
    facts = {"n_kept": len(events), "n_quarantined": len(quarantine), "n_users": len(users),
             "n_segments": len(segments), "n_recommendations": len(recommendations),
             "naming_mode": ", ".join(sorted({s.naming_mode for s in segments}))}
    counts = stage_counts(facts | dict(summary))
    content = ReportContent(
        title=REPORT_TITLE, summary_rows=summary_rows(summary), mermaid=pipeline_mermaid(counts),
        segments=tuple(segments), map_png=png, map_file=MAP_FILE if png else None,
        quarantine_reasons=Counter(q.reason for q in quarantine).most_common(),
        evolution=evolution, sizes_png=sizes_png, sizes_file=SIZES_FILE if sizes_png else None,
    )
    paths["report.md"] = atomic_write_text(out_dir / "report.md", render_markdown(content))
    paths["report.html"] = atomic_write_text(out_dir / "report.html", render_html(content))
    logger.info("wrote %d output files to %s", len(paths), out_dir)
    return paths


def _table(frame: pd.DataFrame, required: Sequence[str], *, has_extras: bool = True,
           ) -> pd.DataFrame:
    """Return a copy with ``required`` columns first (then extras, if kept), floats to 4 places."""
    missing = [c for c in required if c not in frame.columns]
    if missing and not frame.empty:
        raise ValueError(f"table lacks required columns {missing}; it has {list(frame.columns)}")
    extras = [c for c in frame.columns if c not in required] if has_extras else []
    table = frame.reindex(columns=[*required, *extras])
    floats = table.select_dtypes("float").columns
    table[floats] = table[floats].round(4)
    return table


def _users_table(users: pd.DataFrame) -> pd.DataFrame:
    """Return users.csv's table: top interests joined with ";"."""
    table = _table(users, USERS_COLUMNS)
    table["top_interests"] = table["top_interests"].map(_join_interests).astype(str)
    return table


def _join_interests(value: object) -> str:
    """Return interests as one ";"-separated string, whether given as text or a sequence."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return INTEREST_SEPARATOR.join(str(v) for v in value)
    return str(value)


def write_quarantine(out_dir: Path, quarantine: Sequence[QuarantinedRow]) -> Path:
    """Write ``quarantine.csv`` into ``out_dir`` atomically (header only when it is empty)."""
    table = pd.DataFrame([q.model_dump() for q in quarantine], columns=list(QUARANTINE_COLUMNS))
    return atomic_write_csv(Path(out_dir) / "quarantine.csv", table.astype({"row": "Int64"}))


def render_markdown(content: ReportContent) -> str:
    """Return the report as Markdown; data text is escaped so it cannot become markup."""
    lines = [f"# {content.title}", "", "## Run summary", "", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in content.summary_rows]
    lines += ["", "## Pipeline", "", "```mermaid", content.mermaid.rstrip("\n"), "```", "",
              "## Segment map", ""]
    lines.append(f"![2-D map of users coloured by segment]({content.map_file})" if content.map_file
                 else "No map: no vectors were available to plot.")
    lines += ["", *evolution_markdown(content.evolution, content.sizes_file, _md)]
    lines += [f"## Segments ({len(content.segments)})", ""]
    for segment in content.segments:
        lines += _md_card(segment)
    if content.quarantine_reasons:
        lines += ["## Quarantined rows", "", "| reason | rows |", "|---|---|"]
        lines += [f"| {_md(r)} | {n:,} |" for r, n in content.quarantine_reasons]
    return "\n".join(lines) + "\n"


def _md_card(segment: Segment) -> list[str]:
    """Return the Markdown lines of one segment."""
    lines = [
        f"### {_md(segment.name)}",
        "",
        f"`{segment.naming_mode}` · {_md(segment.segment_id)} · cluster {segment.cluster_id} · "
        f"{segment.n_users:,} users ({format_share(segment.share)}) · {segment.n_events:,} events"
        f" · confidence {segment.mean_confidence:.2f}",
        "",
        f"- **Keywords:** {_md(', '.join(segment.keywords[:12])) or '—'}",
        *([f"- **Interest labels:** {_md(format_labels(segment.interest_labels))}"]
          if segment.interest_labels else []),
        f"- **Sentiment:** {sentiment_word(segment.sentiment)} ({segment.sentiment:+.2f})",
        f"- **Event types:** {_md(', '.join(segment.top_event_types)) or '—'}",
        "",
        _md(segment.description),
        "",
    ]
    if segment.representative_texts:
        lines += ["Representative texts:", ""]
        lines += [f"- “{_md(excerpt(t, MD_QUOTE_WIDTH))}”" for t in segment.representative_texts]
    if segment.naming_note:
        lines += [*([""] if segment.representative_texts else []), f"*{_md(segment.naming_note)}*"]
    return [*lines, ""]


def _md(text: str) -> str:
    """Return ``text`` on one line with Markdown and HTML specials escaped."""
    return " ".join(str(text).split()).translate(MD_SPECIAL)
