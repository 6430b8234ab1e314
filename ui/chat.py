"""Chat view: questions to the session's assistant, its tool calls as collapsible steps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from interestlens.agent import Assistant, Reply, Settings, ToolCall, excerpt
from interestlens.ui.session import Session
from interestlens.ui.text import answer_markdown, attempt, badge

logger = logging.getLogger(__name__)

EXAMPLES = (
    "列出所有分群",
    "哪些用户群最关心价格？给他们推荐什么？",
    "比较S1和S2",
    "按月统计各分群的行为数量",
    "Which segments care most about quality?",
    "Describe S1 and recommend items for it",
    "Which users are most interested in delivery?",
    "Show the pipeline",
)
PLACEHOLDER = ("**Ask about your segments** · 用中文或英文提问  \n"
               "e.g. *哪些用户群最关心价格？* or *Compare S1 and S2*")
STREAM_STEP = 24  # characters added per streamed update, at least
MAX_UPDATES = 40  # streamed updates per answer, at most
Message = dict[str, Any]


def mode_badge(settings: Settings, reply: Reply | None = None) -> str:
    """Return the LLM/offline badge: what the next answer uses, and how the last was written."""
    if settings.llm_configured:
        main = badge(f"LLM · {settings.llm_model}", "llm")
    else:
        main = badge("Offline · deterministic router", "offline")
    if reply is not None and settings.llm_configured:  # offline answers say nothing new
        kind = "warn" if reply.mode == "offline" else "note"
        main += " " + badge(f"last answer: {reply.mode} — {excerpt(reply.note, 120)}", kind)
    return main


def step_message(call: ToolCall) -> Message:
    """Return one tool call as a collapsed chat step: name and arguments, then its result."""
    short = {k: v for k, v in call.args.items() if k not in ("sql", "params")}
    title = "⚙ " + call.name + "".join(f" · {k}={excerpt(str(v), 40)}" for k, v in short.items())
    parts = []
    if "sql" in call.args:
        parts.append(f"```sql\n{call.args['sql']}\n```")
    if call.args.get("params"):
        parts.append("params: " + ", ".join(f"`{p}`" for p in call.args["params"]))
    parts.append(f"```text\n{call.result or '(no output)'}\n```")
    return {"role": "assistant", "content": "\n\n".join(parts),
            "metadata": {"title": title, "status": "done"}}


def answer(text: str, history: list[Message], session: Session | None,
           new_assistant: Callable[[], Assistant]) -> Iterator[tuple]:
    """Stream one turn: the question, a working step, the tool steps, then the answer text."""
    text = (text or "").strip()
    session = Session.ensure(session, new_assistant)
    settings = session.assistant.settings
    if not text:
        yield history, session, "", mode_badge(settings)
        return
    history = [*history, {"role": "user", "content": text}]
    working = {"role": "assistant", "content": "Choosing tools and reading the store…",
               "metadata": {"title": "◷ Working", "status": "pending"}}
    yield [*history, working], session, "", mode_badge(settings)
    reply, error = attempt(lambda: session.assistant.ask(text))
    if reply is None:
        yield [*history, {"role": "assistant", "content": error}], session, "", mode_badge(settings)
        return
    history += [step_message(call) for call in reply.tool_calls]
    body = answer_markdown(reply.text)
    step = max(STREAM_STEP, len(body) // MAX_UPDATES)
    for end in [*range(step, len(body), step), len(body)]:
        yield ([*history, {"role": "assistant", "content": body[:end]}], session, "",
               mode_badge(settings, reply))


def build(state: gr.State, new_assistant: Callable[[], Assistant]) -> gr.HTML:
    """Lay out the chat view; return its mode badge (refreshed when settings change)."""
    with gr.Row(elem_classes="il-chat-head"):
        mode = gr.HTML(elem_id="il-mode")
    chatbot = gr.Chatbot(elem_id="il-chatbot", height=560, placeholder=PLACEHOLDER,
                         buttons=["copy"], feedback_options=None, show_label=False,
                         layout="bubble")
    with gr.Row(equal_height=True):
        question = gr.Textbox(placeholder="Ask a question · 输入问题，按回车发送", show_label=False,
                              scale=8, elem_id="il-question", autofocus=True)
        send = gr.Button("Send · 发送", variant="primary", scale=1, min_width=120)
    gr.Examples(list(EXAMPLES), inputs=question, label="Example questions · 示例问题",
                examples_per_page=len(EXAMPLES))

    def respond(text, history, session):
        yield from answer(text, history, session, new_assistant)

    def forget(session):
        """Clearing the chat also ends the conversation the assistant remembers."""
        session = Session.ensure(session, new_assistant)
        session.with_settings(session.assistant.settings)
        return session

    for trigger in (question.submit, send.click):
        trigger(respond, [question, chatbot, state], [chatbot, state, question, mode],
                concurrency_limit=None)
    chatbot.clear(forget, state, state)
    return mode
