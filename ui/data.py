"""Data view: upload files or name a server folder, preview the column roles, run the pipeline."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr

from interestlens.agent import Assistant, ConfigError, RunSummary, count_noun
from interestlens.ui.session import Session
from interestlens.ui.text import attempt, chip, languages, md

logger = logging.getLogger(__name__)

ROLE_LABELS = (  # ingest's roles, in its order, with what the page calls them
    ("user", "User id"), ("text", "Text"), ("timestamp", "Time"), ("event_type", "Event type"),
    ("item_id", "Item id"), ("item_text", "Item text"), ("row_id", "Row id"),
)
FILE_TYPES = [".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet"]
SAMPLE_ROWS = 5
PREVIEW_CELL_CHARS = 120
OUTPUT_FILES = ("report.html", "segments.json", "users.csv", "recommendations.csv",
                "quarantine.csv")


def dataset_line(session: Session) -> str:
    """Return one line about the data the session is looking at."""
    summary, error = attempt(session.assistant.run_summary)
    if error:
        return error
    if summary is None:
        return "No data yet — upload files or give a folder path below, then **Run**."
    users, segments = count_noun(summary.n_users, "user"), count_noun(summary.n_segments, "segment")
    return (f"**Current data:** {md(', '.join(summary.inputs))} — {users} in {segments}, "
            f"{count_noun(summary.n_kept, 'event')} "
            f"(store `{md(session.assistant.store_dir)}`)")


def run_report(s: RunSummary) -> str:
    """Return what the last run made of its inputs: rows in = kept + quarantined, users, naming."""
    return "\n".join([
        f"#### Current data: {md(', '.join(s.inputs))}",
        f"- **Rows:** {s.n_input_rows:,} in = **{s.n_kept:,} kept** + "
        f"**{s.n_quarantined:,} quarantined** ({s.n_rejected_at_read:,} unreadable or unusable, "
        f"{s.n_exact_duplicates:,} duplicates, {s.n_near_duplicates:,} near-duplicates, "
        f"{s.n_noise:,} noise)",
        f"- **Users:** {s.n_users:,} in **{count_noun(s.n_segments, 'segment')}** from "
        f"{count_noun(s.n_clusters, 'cluster')} "
        f"({s.n_outliers:,} outliers assigned with low confidence)"
        + (" · document mode: one row = one user" if s.is_document_mode else ""),
        f"- **Languages:** {languages(s.language_share)}",
        f"- **Naming:** {md(s.naming_mode)} · **embedding:** {md(s.embedding_model)} "
        f"({s.n_embedded:,} texts embedded, {s.n_embedding_cache_hits:,} from cache)",
    ])


def current_data(session: Session) -> str:
    """Return the report of the data the session looks at, or how to start."""
    summary, error = attempt(session.assistant.run_summary)
    if summary is None:
        return error or "No data yet — upload files or give a folder path below, then **Run**."
    return run_report(summary)


def _preview_markdown(previews: Sequence) -> str:
    lines = []
    for p in previews:
        roles = " · ".join(f"{label} → {chip(p.roles[role])}" for role, label in ROLE_LABELS
                           if role in p.roles)
        encoding = f", {p.encoding}" if p.encoding else ""
        lines += [f"**{md(p.source)}** ({p.kind}{encoding}) — {p.n_rows:,} rows, "
                  f"**{p.n_usable:,} usable**, {p.n_rows - p.n_usable:,} to quarantine  ",
                  f"Detected roles: {roles or '—'}", ""]
    if any(not p.columns for p in previews):
        lines.append("*Stack Exchange and MovieLens folders have fixed roles.*")
    return "\n".join(lines)


def _sample(previews: Sequence) -> gr.Dataframe:
    if not previews:
        return gr.Dataframe(value=None, visible=False)
    frame = previews[0].sample
    cells = [[" ".join(str(v).split())[:PREVIEW_CELL_CHARS] for v in row]
             for row in frame.itertuples(index=False)]
    return gr.Dataframe(value=cells, headers=[str(c) for c in frame.columns],
                        label=f"First rows of {previews[0].source}", visible=True)


def _role_pickers(previews: Sequence, values: Sequence[str] = ()) -> list:
    """Return one dropdown per role: auto (the detected column) or a column of the files."""
    columns = sorted({c for p in previews for c in p.columns})
    detected = previews[0].roles if previews else {}
    pickers = []
    for i, (role, label) in enumerate(ROLE_LABELS):
        auto = f"auto ({detected[role]})" if role in detected else "auto (none)"
        value = values[i] if i < len(values) and values[i] in columns else ""
        pickers.append(gr.Dropdown(choices=[(auto, ""), *[(c, c) for c in columns]], value=value,
                                   label=label, interactive=bool(columns)))
    return pickers


def _shorten(session: Session, message: str) -> str:
    """Return ``message`` with the session's upload folder left out of file paths."""
    return message.replace(f"{session.folder / 'uploads'}/", "")


def _column_map(values: Sequence[str]) -> dict[str, str]:
    """Return the roles picked in the dropdowns (empty: detect automatically)."""
    return {role: value for (role, _), value in zip(ROLE_LABELS, values) if value}


def preview(session: Session, *values: str) -> tuple:
    """Return the preview widgets for the session's inputs, with the roles picked so far."""
    mapping = _column_map(values)
    if not session.inputs:
        return ("", _sample([]), *_role_pickers([]))
    previews, error = attempt(lambda: session.assistant.preview(session.inputs,
                                                                column_map=mapping))
    if previews is None:
        return (_shorten(session, error), _sample([]), *_role_pickers([]))
    return (_preview_markdown(previews), _sample(previews), *_role_pickers(previews, values))


def shared_path(text: str, data_dirs: Sequence[Path]) -> Path:
    """Return the server path typed in, if it lies inside one of the shared folders.

    Raises:
        ConfigError: The path is outside every shared folder.
    """
    path = Path(text.strip()).expanduser().resolve()
    if not any(path == root or root in path.parents for root in data_dirs):
        raise ConfigError(f"{text.strip()}: outside the folders this server shares "
                          f"({', '.join(map(str, data_dirs)) or 'none'}; see --data-dir)")
    return path


def build(state: gr.State, new_assistant: Callable[[], Assistant], *, max_upload_mb: float,
          data_dirs: Sequence[Path]) -> tuple[gr.events.Dependency, gr.Markdown]:
    """Lay out the data view; return its run event and its current-data report.

    The app chains its refreshes to the run event; they update the report.
    """
    data_dirs = [Path(d).expanduser().resolve() for d in data_dirs]
    current = gr.Markdown(elem_id="il-data-current", elem_classes="il-panel")
    with gr.Row(equal_height=True):
        files = gr.File(file_count="multiple", file_types=FILE_TYPES, elem_id="il-upload",
                        label=f"Upload CSV / TSV / JSON / JSONL / Parquet (≤ {max_upload_mb:g} MB "
                              "per file)", height=160, scale=3)
        with gr.Column(scale=2):
            path = gr.Textbox(label="…or a file or folder on the server",
                              placeholder="e.g. /data/stackexchange/beer or /data/movielens",
                              info="Stack Exchange dumps (Posts.xml) and MovieLens folders "
                                   "(ratings.csv + movies.csv) work as they are. Shared: "
                                   + (", ".join(map(str, data_dirs)) or "none"),
                              elem_id="il-path")
            use_path = gr.Button("Preview this path", size="md")
    summary = gr.Markdown(elem_id="il-preview")
    sample = gr.Dataframe(visible=False, interactive=False, wrap=True, max_height=260,
                          elem_id="il-sample", label="First rows", elem_classes="il-table")
    with gr.Accordion("Column roles (detected automatically; change them if needed)", open=False):
        with gr.Row():
            pickers = [gr.Dropdown(choices=[("auto", "")], value="", label=label,
                                   min_width=140) for _, label in ROLE_LABELS]
        refresh = gr.Button("Update preview with these roles", size="sm")
    run = gr.Button("Run the pipeline · 开始分析", variant="primary", elem_id="il-run")
    status = gr.Markdown(elem_id="il-run-status")
    outputs = gr.File(label="Outputs of the last run", file_count="multiple", visible=False,
                      interactive=False, elem_id="il-outputs")
    preview_outputs = [summary, sample, *pickers]

    def on_files(paths, session):  # uploaded, removed or cleared
        session = Session.ensure(session, new_assistant)
        target = session.subfolder("uploads")
        session.inputs = [Path(shutil.copy2(p, target / Path(p).name)) for p in paths or []]
        return session, *preview(session)

    def on_path(text, session):
        session = Session.ensure(session, new_assistant)
        session.inputs = []
        if not text.strip():
            return session, *preview(session)
        path, error = attempt(lambda: shared_path(text, data_dirs))
        if path is None:
            return session, error, *preview(session)[1:]
        session.inputs = [path]
        return session, *preview(session)

    def on_refresh(session, *values):
        session = Session.ensure(session, new_assistant)
        return session, *preview(session, *values)

    def on_run(session, *values, progress=gr.Progress()):  # noqa: B008 (gradio's API)
        session = Session.ensure(session, new_assistant)
        if not session.inputs:
            return session, "Upload files or give a path first.", gr.File(visible=False)
        mapping = _column_map(values)
        folder = session.next_run()
        settings = session.assistant.settings.model_copy(update={"store_dir": folder / "store"})
        assistant = Assistant(settings=settings)  # the LLM cache goes with the store, too
        result, error = attempt(lambda: assistant.run(
            session.inputs, out_dir=folder / "out", column_map=mapping or None,
            progress=lambda label, done, total: progress((done, total), desc=label)))
        if result is None:
            assistant.close()
            shutil.rmtree(folder, ignore_errors=True)
            return session, f"**Run failed.** {_shorten(session, error)}", gr.File(visible=False)
        session.switch(assistant)
        files = [str(result.output_files[n]) for n in OUTPUT_FILES if n in result.output_files]
        done = (f"### ✓ Done in {result.summary.total_seconds:.0f} s\n"
                "The summary is above; the Segments, User, Chat and Pipeline tabs show this data.")
        return session, done, gr.File(value=files, visible=bool(files))

    files.change(on_files, [files, state], [state, *preview_outputs])
    gr.on([use_path.click, path.submit], on_path, [path, state], [state, *preview_outputs])
    refresh.click(on_refresh, [state, *pickers], [state, *preview_outputs])
    run_event = run.click(on_run, [state, *pickers], [state, status, outputs],
                          concurrency_limit=2)
    return run_event, current
