"""Settings view: this session's LLM endpoint and model, and the embedding model of its runs.

The API key is write-only: the page never shows it back, and nothing here logs settings.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from interestlens.agent import Assistant, Settings
from interestlens.ui.session import Session
from interestlens.ui.text import attempt, md


def describe(settings: Settings) -> str:
    """Return what the session uses now; the key only as set / not set."""
    if settings.llm_configured:
        llm = (f"**LLM:** `{md(settings.llm_model)}` at "
               f"`{md(settings.llm_base_url or 'the default OpenAI endpoint')}`")
    else:
        llm = "**LLM:** none — offline mode (extractive names, deterministic chat router)"
    key = "set (hidden)" if settings.llm_api_key is not None else "not set"
    return (f"{llm} · **API key:** {key}  \n**Embedding model:** "
            f"`{md(settings.embedding_model)}` · **store:** `{md(settings.store_dir)}`")


def fields(settings: Settings) -> tuple:
    """Return the form's values for ``settings``; the key field always comes back empty."""
    return settings.llm_base_url or "", settings.llm_model or "", "", settings.embedding_model


def changed(settings: Settings, *, base_url: str, model: str, key: str,
            embedding_model: str, offline: bool = False) -> Settings:
    """Return ``settings`` with the form's values; an empty key keeps the current one."""
    update = {"llm_base_url": base_url.strip() or None, "llm_model": model.strip() or None,
              "embedding_model": embedding_model.strip() or settings.embedding_model}
    if key.strip():
        update["llm_api_key"] = key.strip()
    if offline:
        update |= {"llm_base_url": None, "llm_model": None, "llm_api_key": None}
    return Settings(**(settings.model_dump() | update))


def build(state: gr.State, new_assistant: Callable[[], Assistant]) -> tuple[list, list]:
    """Lay out the settings view; return its refresh outputs and its apply events' outputs."""
    current = gr.Markdown(elem_id="il-settings-now")
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### LLM endpoint (any OpenAI-compatible server)")
            base_url = gr.Textbox(label="Base URL", placeholder="https://api.deepseek.com/v1",
                                  elem_id="il-base-url")
            model = gr.Textbox(label="Model", placeholder="deepseek-chat, qwen-plus, gpt-4o-mini…",
                               elem_id="il-model")
            key = gr.Textbox(label="API key", type="password", elem_id="il-key",
                             placeholder="leave empty to keep the current key",
                             info="Stays in this browser session's memory; never shown again.")
        with gr.Column():
            gr.Markdown("#### Embeddings")
            embedding = gr.Textbox(label="Embedding model",
                                   info="A sentence-transformers name in the local cache, or a "
                                        "local folder. Used by this session's next run.")
    with gr.Row():
        apply = gr.Button("Apply to this session", variant="primary", elem_id="il-apply")
        offline = gr.Button("Use offline mode")
    status = gr.Markdown(elem_id="il-settings-status")

    def on_apply(session, url, name, secret, embedding_model, go_offline=False):
        session = Session.ensure(session, new_assistant)
        settings, error = attempt(lambda: changed(
            session.assistant.settings, base_url=url, model=name, key=secret,
            embedding_model=embedding_model, offline=go_offline))
        if settings is None:
            return session, describe(session.assistant.settings), *fields(
                session.assistant.settings), error
        session.with_settings(settings)
        return (session, describe(settings), *fields(settings),
                "Applied. The chat starts a new conversation with these settings.")

    def on_offline(session, *values):
        return on_apply(session, *values, go_offline=True)

    form = [base_url, model, key, embedding]
    apply_event = apply.click(on_apply, [state, *form], [state, current, *form, status])
    offline_event = offline.click(on_offline, [state, *form], [state, current, *form, status])
    return [current, *form], [apply_event, offline_event]


def view(session: Session) -> tuple:
    """Return the refresh values: the description and the form."""
    return describe(session.assistant.settings), *fields(session.assistant.settings)
