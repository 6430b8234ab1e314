"""Segments view: sortable table, interactive 2-D map of users, segment card, user-list export."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import gradio as gr
import plotly.graph_objects as go
from plotly.colors import qualitative

from interestlens.agent import Assistant, Segment, excerpt
from interestlens.ui.session import Session
from interestlens.ui.text import attempt, chips, md, quote, sentiment, share

logger = logging.getLogger(__name__)

HEADERS = ["ID", "Segment", "Users", "Share %", "Top keywords", "Sentiment", "Naming"]
DATATYPES = ["str", "str", "number", "number", "str", "number", "str"]
MAP_POINTS = 2000
FONT = "IBM Plex Sans, Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
CARD_QUOTE_CHARS = 160
EMPTY = "No segments yet: upload data in the **Data** tab and run the pipeline."


def table_rows(segments: Sequence[Segment]) -> list[list]:
    """Return one table row per segment (numbers stay numbers, so columns sort correctly)."""
    return [[s.segment_id, s.name, s.n_users, round(s.share * 100, 1),
             ", ".join(s.keywords[:6]), round(s.sentiment, 2), s.naming_mode] for s in segments]


def choices(segments: Sequence[Segment]) -> list[tuple[str, str]]:
    """Return the segment picker's (label, id) choices."""
    return [(f"{s.segment_id} · {excerpt(s.name, 40)}", s.segment_id) for s in segments]


def map_figure(points, segments: Sequence[Segment]) -> go.Figure:
    """Return the users' 2-D map, one trace per segment; hover shows the user's top interests.

    Args:
        points: ``Assistant.user_map()``: user, segment, confidence, top_interests, x, y.
        segments: The segments, largest first (legend and colour order).
    """
    palette = qualitative.D3 if len(segments) <= 10 else qualitative.Dark24
    figure = go.Figure()
    for i, segment in enumerate(segments):
        rows = points[points["segment"] == segment.segment_id]
        interests = [", ".join(str(t).split(";")) or "—" for t in rows["top_interests"].fillna("")]
        figure.add_trace(go.Scatter(
            x=rows["x"], y=rows["y"], mode="markers", name=f"{segment.segment_id} · "
            f"{excerpt(segment.name, 28)}", marker={"size": 6, "opacity": 0.8,
                                                    "color": palette[i % len(palette)]},
            customdata=list(zip(rows["user"], interests, rows["confidence"])),
            hovertemplate=(f"<b>%{{customdata[0]}}</b> · {segment.segment_id}<br>"
                           "interests: %{customdata[1]}<br>confidence %{customdata[2]:.2f}"
                           "<extra></extra>")))
    figure.update_layout(
        template="plotly_white", height=600, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": f"Users by segment · 2-D projection ({len(points):,} users shown)",
               "font": {"size": 14}},
        font={"family": FONT}, hoverlabel={"font": {"family": FONT}},
        legend={"itemsizing": "constant", "font": {"size": 12}, "orientation": "h",
                "yanchor": "top", "y": -0.02, "x": 0},
        xaxis={"visible": False}, yaxis={"visible": False})
    return figure


def card_markdown(segment: Segment) -> str:
    """Return the segment card: name, size, description, persona, keywords, sentiment, texts."""
    lines = [
        f"### {md(segment.segment_id)} · {md(segment.name)}",
        f"`{segment.naming_mode}` naming · **{segment.n_users:,} users** "
        f"({share(segment.share)}) · {segment.n_events:,} events · mean confidence "
        f"{segment.mean_confidence:.2f}",
        "",
        md(segment.description) or "—",
        "",
    ]
    if segment.persona:
        lines += [f"**Persona.** {md(segment.persona)}", ""]
    if segment.interests:
        lines += [f"**Key interests:** {chips(segment.interests)}", ""]
    if segment.interest_labels:
        lines += ["**Interest labels:** " + chips([f"{item.label} {item.score:.2f}"
                                                   for item in segment.interest_labels]), ""]
    lines += [f"**Keywords:** {chips(segment.keywords)}", "",
              f"**Sentiment:** {sentiment(segment.sentiment)}", "",
              f"**Event types:** {chips(segment.top_event_types)}", ""]
    if segment.representative_texts:
        lines.append("**Representative texts**")
        for text in segment.representative_texts:
            lines += ["", quote(text, CARD_QUOTE_CHARS)]
    if segment.naming_note:
        lines += ["", f"*{md(segment.naming_note)}*"]
    return "\n".join(lines)


def trend_figure(segment_id: str, trends) -> go.Figure | None:
    """Return the segment's size per snapshot, or None with fewer than two snapshots.

    Args:
        segment_id: The segment.
        trends: ``Assistant.trends()``: snapshots and sizes (segments x snapshots).
    """
    sizes = trends.sizes
    if segment_id not in sizes.index or sizes.shape[1] < 2:
        return None
    snapshots = trends.snapshots.set_index("snapshot_id").loc[list(sizes.columns)]
    figure = go.Figure(go.Scatter(
        x=list(snapshots["taken_at"]), y=[int(v) for v in sizes.loc[segment_id]],
        customdata=list(snapshots["label"]), mode="lines+markers",
        hovertemplate="%{customdata}<br>%{y:,} active users<extra></extra>"))
    figure.update_layout(
        template="plotly_white", height=220, margin={"l": 10, "r": 10, "t": 36, "b": 10},
        title={"text": "Size over time (active users per snapshot)", "font": {"size": 13}},
        font={"family": FONT}, yaxis={"rangemode": "tozero"})
    return figure


def card(session: Session, segment_id: str | None) -> tuple[str, gr.Plot]:
    """Return the card of one segment (or a hint when none is picked) and its size over time."""
    hidden = gr.Plot(value=None, visible=False)
    if not segment_id:
        return "Pick a segment in the table or the list to see its card.", hidden
    segment, error = attempt(lambda: session.assistant.segment(segment_id))
    if segment is None:
        return error, hidden
    trends, _ = attempt(session.assistant.trends)
    figure = None if trends is None else trend_figure(segment.segment_id, trends)
    return card_markdown(segment), hidden if figure is None else gr.Plot(figure, visible=True)


def overview(session: Session) -> tuple:
    """Return the table, the picker (first segment picked) and that segment's card and trend."""
    segments = session.segments()
    if not segments:
        return (gr.Dataframe(value=[], headers=HEADERS), gr.Dropdown(choices=[], value=None),
                EMPTY, gr.Plot(value=None, visible=False))
    first = segments[0].segment_id
    return (gr.Dataframe(value=table_rows(segments), headers=HEADERS),
            gr.Dropdown(choices=choices(segments), value=first), *card(session, first))


def user_map(session: Session) -> go.Figure | None:
    """Return the map of the session's data (None before the first run)."""
    segments = session.segments()
    if not segments:
        return None
    points, error = attempt(lambda: session.assistant.user_map(MAP_POINTS))
    if points is None:
        gr.Warning(error)
        return None
    return map_figure(points, segments)


def build(state: gr.State, new_assistant: Callable[[], Assistant]) -> tuple[list, gr.Plot]:
    """Lay out the segments view; return its refresh outputs and its map."""
    table = gr.Dataframe(headers=HEADERS, datatype=DATATYPES, interactive=False, wrap=True,
                         max_height=420, elem_id="il-segments", show_search="search",
                         elem_classes="il-table",
                         label="Segments — click a column header to sort, a row to open its card",
                         column_widths=["6%", "24%", "8%", "8%", "34%", "9%", "11%"])
    with gr.Row():
        with gr.Column(scale=3):
            plot = gr.Plot(elem_id="il-map", show_label=False)
        with gr.Column(scale=2, elem_classes="il-card"):
            picker = gr.Dropdown(label="Segment", elem_id="il-segment-pick", choices=[])
            card_text = gr.Markdown(elem_id="il-card")
            trend = gr.Plot(visible=False, show_label=False, elem_id="il-trend")
            with gr.Row(equal_height=True):
                fmt = gr.Radio(["CSV", "JSON"], value="CSV", show_label=False, min_width=120,
                               container=False)
                export = gr.Button("Export user list", size="sm", elem_id="il-export")
            download = gr.File(label="User list", visible=False, elem_id="il-export-file")

    def on_select(evt: gr.SelectData):
        return evt.row_value[0] if evt.row_value else gr.skip()

    def on_pick(segment_id, session):
        session = Session.ensure(session, new_assistant)
        return session, *card(session, segment_id)

    def on_export(segment_id, fmt_name, session):
        session = Session.ensure(session, new_assistant)
        if not segment_id:
            return session, gr.File(visible=False)
        suffix = fmt_name.lower()
        path = session.subfolder("exports") / f"{segment_id}-users.{suffix}"
        written, error = attempt(lambda: session.assistant.export_segment(segment_id, path, suffix))
        if written is None:
            gr.Warning(error)
            return session, gr.File(visible=False)
        return session, gr.File(value=str(written), visible=True)

    table.select(on_select, None, picker)
    picker.change(on_pick, [picker, state], [state, card_text, trend])
    export.click(on_export, [picker, fmt, state], [state, download])
    return [table, picker, card_text, trend], plot
