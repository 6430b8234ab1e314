"""The analyst web app: ``build_app(new_assistant)`` lays out the views; ``serve`` launches it.

Every browser session gets its own ``Session`` (its own ``Assistant``, conversation, uploads and
runs) in a ``gr.State``; nothing mutable lives at module level.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr

from interestlens.agent import Assistant, ConfigError
from interestlens.ui import chat, data, pipeline, segments, settings, user
from interestlens.ui.session import Session, close_session

logger = logging.getLogger(__name__)

TITLE = "InterestLens"
HEADER = """
<div class="il-header">
  <span class="il-title">InterestLens</span>
  <span class="il-sub">Who cares about what — user-interest segments with evidence ·
  用户兴趣分群与推荐</span>
</div>
"""
FONTS = ("IBM Plex Sans", "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei",
         "sans-serif")
CSS = """
.il-header {display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; margin: 2px 0 0}
.il-title {font-size: 26px; font-weight: 700; letter-spacing: -0.02em}
.il-sub {color: var(--body-text-color-subdued); font-size: 14px}
#il-dataset {font-size: 14px}
.il-badge {display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 12px;
  font-weight: 600; margin: 2px 6px 2px 0; line-height: 20px}
.il-llm {background: #dcfce7; color: #166534}
.il-offline {background: #e0e7ff; color: #3730a3}
.il-warn {background: #fef3c7; color: #92400e}
.il-note {background: #f3f4f6; color: #4b5563; font-weight: 500}
.il-panel {padding: 2px 6px}
.il-card {border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 14px}
#il-card blockquote {margin: 4px 0; font-size: 13px}
#il-mermaid {min-height: 120px}
.il-table, .il-table * {font-family: var(--font) !important}
#il-run-summary td:first-child, #il-run-summary th:first-child {white-space: nowrap}
.il-positive {color: #15803d}
.il-mixed {color: #b45309}
.il-negative {color: #b91c1c}
"""


def build_app(new_assistant: Callable[[], Assistant], *, max_upload_mb: float = 50.0,
              data_dirs: Sequence[Path] = ()) -> gr.Blocks:
    """Return the app; ``new_assistant()`` makes the ``Assistant`` of each new browser session.

    Args:
        new_assistant: Called once per browser session, on its first page load or event.
        max_upload_mb: Largest upload per file, shown in the Data view (``serve`` enforces it).
        data_dirs: Server folders whose files and subfolders sessions may read by path.
    """
    # Gradio keeps uploads and downloads in its cache: drop files older than an hour, hourly.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        state = gr.State(None, delete_callback=close_session)
        gr.HTML(HEADER)
        dataset = gr.Markdown(elem_id="il-dataset")
        with gr.Tabs():
            with gr.Tab("Chat · 对话", id="chat"):
                mode = chat.build(state, new_assistant)
            with gr.Tab("Data · 数据", id="data"):
                run_event, data_current = data.build(
                    state, new_assistant, max_upload_mb=max_upload_mb, data_dirs=data_dirs)
            with gr.Tab("Segments · 分群", id="segments"):
                segment_outputs, segment_map = segments.build(state, new_assistant)
            with gr.Tab("User · 用户", id="user"):
                user_outputs = user.build(state, new_assistant)
            with gr.Tab("Pipeline · 流程", id="pipeline"):
                pipeline_outputs = pipeline.build()
            with gr.Tab("Settings · 设置", id="settings"):
                settings_outputs, settings_events = settings.build(state, new_assistant)

        def refresh(session):
            session = Session.ensure(session, new_assistant)
            return (session, data.dataset_line(session), data.current_data(session),
                    chat.mode_badge(session.assistant.settings), *segments.overview(session),
                    user.suggestions(session), *pipeline.view(session), *settings.view(session))

        def refresh_map(session):
            return segments.user_map(Session.ensure(session, new_assistant))

        outputs = [state, dataset, data_current, mode, *segment_outputs, *user_outputs,
                   *pipeline_outputs, *settings_outputs]
        app.load(refresh, state, outputs).then(refresh_map, state, segment_map)
        for event in (run_event, *settings_events):
            event.then(refresh, state, outputs).then(refresh_map, state, segment_map)
    return app


def serve(new_assistant: Callable[[], Assistant], *, host: str = "127.0.0.1", port: int = 7860,
          max_upload_mb: float = 50.0, data_dirs: Sequence[Path] = (),
          block: bool = True) -> gr.Blocks:
    """Build the app and serve it on ``host:port``; uploads over ``max_upload_mb`` are refused.

    Args:
        new_assistant: Makes each browser session's ``Assistant``.
        host: Address to listen on ("0.0.0.0" for every interface).
        port: Port to listen on.
        max_upload_mb: Largest upload per file, in MB.
        data_dirs: Server folders whose files and subfolders sessions may read by path.
        block: Wait until the server stops; False returns once it listens (tests).

    Raises:
        ConfigError: The port cannot be listened on.
    """
    app = build_app(new_assistant, max_upload_mb=max_upload_mb, data_dirs=data_dirs)
    app.queue(default_concurrency_limit=4)
    theme = gr.themes.Soft(primary_hue="indigo", font=list(FONTS))
    try:
        app.launch(server_name=host, server_port=port, max_file_size=f"{max_upload_mb:g}mb",
                   theme=theme, css=CSS, ssr_mode=False, show_error=False, footer_links=[],
                   prevent_thread_lock=not block, quiet=True)
    except OSError as err:  # gradio: "Cannot find empty port in range"
        raise ConfigError(f"--port {port}: cannot listen on {host}:{port} (in use or not "
                          "allowed); choose another port") from err
    return app
