"""Pipeline view: the stages as a Mermaid diagram with this run's counts, and the run summary."""

from __future__ import annotations

import gradio as gr

from interestlens.agent import RunSummary
from interestlens.ui.session import Session
from interestlens.ui.text import attempt, languages, md

EMPTY = "No run yet: the diagram shows this data's counts once the pipeline has run."


def summary_table(s: RunSummary) -> str:
    """Return the run summary as a two-column Markdown table, then the seconds per stage."""
    rows = [
        ("Inputs", md(", ".join(s.inputs))),
        ("Rows", f"{s.n_input_rows:,} in = {s.n_kept:,} kept + {s.n_quarantined:,} quarantined"),
        ("Quarantine", f"{s.n_rejected_at_read:,} unreadable or unusable · "
                       f"{s.n_exact_duplicates:,} duplicates · {s.n_near_duplicates:,} "
                       f"near-duplicates · {s.n_noise:,} noise"),
        ("Users", f"{s.n_users:,}" + (" (document mode: one row = one user)"
                                      if s.is_document_mode else "")),
        ("Segments", f"{s.n_segments} from {s.n_clusters} clusters, {s.n_outliers:,} outliers"),
        ("Languages", languages(s.language_share)),
        ("Embedding", f"{md(s.embedding_model)} · {s.n_embedded:,} embedded, "
                      f"{s.n_embedding_cache_hits:,} from cache · lexical weight "
                      f"{s.lexical_weight}"),
        ("Items", f"{s.n_items:,}"),
        ("Naming", md(s.naming_mode)),
        ("Time", f"{s.total_seconds:.1f} s in all; each stage's time is in its box"),
    ]
    return "\n".join(["| This run | |", "|---|---|", *(f"| **{k}** | {v} |" for k, v in rows)])


def view(session: Session) -> tuple[str, str]:
    """Return the diagram (a Mermaid block) and the summary table of the session's data."""
    summary, error = attempt(session.assistant.run_summary)
    if summary is None:
        return error or EMPTY, ""
    diagram, error = attempt(session.assistant.pipeline_mermaid)
    if diagram is None:
        return error, summary_table(summary)
    # Top to bottom: eleven stages side by side shrink the labels below reading size.
    vertical = diagram.replace("flowchart LR", "flowchart TB", 1)
    return f"```mermaid\n{vertical}```", summary_table(summary)


def build() -> list:
    """Lay out the pipeline view; return its refresh outputs."""
    gr.Markdown("Each box is one stage of the run, with what it counted and how long it took.")
    with gr.Row():
        with gr.Column(scale=2, min_width=280):
            diagram = gr.Markdown(elem_id="il-mermaid")
        with gr.Column(scale=3):
            table = gr.Markdown(elem_id="il-run-summary")
    return [diagram, table]
