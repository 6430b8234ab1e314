"""The conversation: a LangChain tool-calling agent when an LLM is configured, else the router.

``ChatSession.ask`` returns a ``Reply``: the answer text, the tool calls made (name, arguments,
result excerpt) and which mode produced the text. Memory is per session: the agent keeps the
conversation in a LangGraph checkpointer under the session's thread id; the offline router keeps
what was last discussed (segments, user) in the session's ``ChatContext``. When the LLM endpoint
fails, the question is answered offline and the reply says why; an LLM answer is never faked.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from interestlens.agent.llm import LLMClient, describe_api_error
from interestlens.agent.prompts import load_prompt, unfence_text
from interestlens.agent.router import OfflineRouter, Route, extract_entities
from interestlens.agent.toolbelt import ChatContext, make_toolbelt
from interestlens.tools.clean import detect_language
from interestlens.tools.errors import LLMError
from interestlens.tools.name import excerpt

if TYPE_CHECKING:
    from interestlens.agent.assistant import Assistant

logger = logging.getLogger(__name__)

RESULT_EXCERPT = 300
RECURSION_LIMIT = 20  # graph steps per question: about 9 rounds of tool calls
TEXTS = {
    "en": {
        "offline": "offline mode: no LLM configured; answered by the deterministic router",
        "fallback": "LLM failed ({reason}); answered offline by the deterministic router",
        "unknown": "Sorry, I did not understand the question. {help}",
        "help": "I can list segments, describe one (\"describe S2\"), find the segments or users "
                "that care about a topic (\"which segments care about price?\"), show a user's "
                "profile, recommend items for a user or a segment, compare two segments, count "
                "events by segment, sentiment, type, language, item or month, export a "
                "segment's users as CSV/JSON, and show the pipeline.",
        "missing": {
            "segment_id": "Which segment? Give an id such as S2 (\"list segments\" shows them).",
            "segment_a": "Which two segments? Give two ids, e.g. \"compare S1 and S2\".",
            "segment_b": "Which two segments? Give two ids, e.g. \"compare S1 and S2\".",
            "user_id": "Which user? Give the user id, e.g. \"user u042\".",
            "interest": "About which topic? Put it in quotes, e.g. \"which segments care about "
                        "'price'?\"",
            "paths": "Which file or folder? Give its path, e.g. data/reviews.csv.",
            "sql": "Which query? Write a SELECT over the events table.",
        },
    },
    "zh": {
        "offline": "离线模式：未配置 LLM；由确定性路由回答",
        "fallback": "LLM 调用失败（{reason}）；已改由离线确定性路由回答",
        "unknown": "抱歉，我没有理解这个问题。{help}",
        "help": "我可以：列出分群、介绍某个分群（“介绍S2”）、"
                "找出关心某个话题的分群或用户（“哪些用户群最关心价格？”）、"
                "查看用户画像、为用户或分群推荐物品、比较两个分群、"
                "按分群/情感/类型/语言/物品/月份统计行为、"
                "把分群用户导出为 CSV/JSON，以及展示处理流程。",
        "missing": {
            "segment_id": "请问是哪个分群？请给出编号，例如 S2（“列出所有分群”可查看编号）。",
            "segment_a": "请问比较哪两个分群？例如“比较S1和S2”。",
            "segment_b": "请问比较哪两个分群？例如“比较S1和S2”。",
            "user_id": "请问是哪位用户？请给出用户编号，例如“用户 u042”。",
            "interest": "请问是关于什么话题？可以用引号标出，例如：哪些用户群关心“价格”？",
            "paths": "请问是哪个文件或文件夹？请给出路径，例如 data/reviews.csv。",
            "sql": "请问执行什么查询？请写一条针对 events 表的 SELECT 语句。",
        },
    },
}


class ToolCall(BaseModel):
    """One tool call made while answering: its name, arguments and an excerpt of its result."""

    model_config = ConfigDict(frozen=True)
    name: str
    args: dict[str, Any]
    result: str = ""


class Reply(BaseModel):
    """An answer, the tool calls behind it, and which mode wrote the text."""

    model_config = ConfigDict(frozen=True)
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    mode: Literal["llm", "offline"]
    note: str = ""  # why the mode is what it is (offline, or the LLM failure that led there)


class ChatSession:
    """One conversation about one ``Assistant``'s store, with its own memory.

    Args:
        assistant: The session's facade; the tools call it.
        client: LLM client; None answers every question offline.
        router: Offline router, fitted on first use; one per session on the settings' embedding
            model when None. It holds no session state, so sessions may share one.
        session_id: Thread id of the agent's memory; a random one when None.
    """

    def __init__(self, assistant: Assistant, *, client: LLMClient | None = None,
                 router: OfflineRouter | None = None, session_id: str | None = None):
        self.assistant = assistant
        self.client = client
        self.router = router
        self.session_id = session_id or uuid.uuid4().hex
        self.context = ChatContext(redact_pii=client is not None)
        self._tools: dict[str, Any] | None = None
        self._own_router: OfflineRouter | None = None
        self._agents: dict[str, Any] = {}
        self._memory: Any = None

    @classmethod
    def for_assistant(cls, assistant: Assistant) -> ChatSession:
        """Return a session using the LLM of ``assistant.settings`` when one is configured."""
        return cls(assistant, client=LLMClient.from_settings(assistant.settings))

    def ask(self, question: str) -> Reply:
        """Answer one question; see ``Reply.mode`` and ``Reply.note`` for how it was answered."""
        language = "zh" if detect_language(question) == "zh" else "en"
        self.context.language, self.context.question = language, question
        if self.client is None:
            return self._ask_offline(question, TEXTS[language]["offline"])
        try:
            return self._ask_llm(question, language)
        except LLMError as err:
            logger.warning("LLM agent failed, answering offline: %s", err)
            return self._ask_offline(question, TEXTS[language]["fallback"].format(reason=err))

    # ---- LLM agent ---------------------------------------------------------------------------
    def _ask_llm(self, question: str, language: str) -> Reply:
        """Run the tool-calling agent on ``question`` in this session's thread."""
        import openai
        from langgraph.errors import GraphRecursionError

        agent = self._agent(language)
        config = {"configurable": {"thread_id": self.session_id},
                  "recursion_limit": RECURSION_LIMIT}
        n_before = len(agent.get_state(config).values.get("messages", []))
        try:
            state = agent.invoke({"messages": [{"role": "user", "content": question}]}, config)
        except openai.APIError as err:
            raise LLMError(f"LLM {self.client.where}: {describe_api_error(err)}") from err
        except GraphRecursionError as err:
            raise LLMError(f"agent did not finish within {RECURSION_LIMIT} steps") from err
        new = state["messages"][n_before:]
        text = new[-1].text.strip() if new else ""
        if not text or new[-1].type != "ai":
            raise LLMError(f"LLM {self.client.where}: no final answer (empty or invalid reply)")
        return Reply(text=text, tool_calls=_tool_calls(new), mode="llm",
                     note=f"answered by {self.client.config.model}")

    def _agent(self, language: str) -> Any:
        """Return the agent for ``language``; both languages share the session's memory."""
        if language not in self._agents:
            from langchain.agents import create_agent
            from langgraph.checkpoint.memory import InMemorySaver

            self._memory = self._memory or InMemorySaver()
            system = load_prompt("agent_system", language).messages()[0][1]
            self._agents[language] = create_agent(
                self.client.chat_model(), list(self._toolbelt().values()), system_prompt=system,
                checkpointer=self._memory,
            )
        return self._agents[language]

    # ---- offline router ----------------------------------------------------------------------
    def _ask_offline(self, question: str, note: str) -> Reply:
        """Answer with the deterministic router: route each step, call its tool, template it."""
        texts = TEXTS[self.context.language]
        router = self._router()
        whole = extract_entities(question)
        parts: list[str] = []
        calls: list[ToolCall] = []
        for step in router.split(question):
            route = router.route(step, context=self.context, fallback=whole)
            if route is None:
                continue
            if route.tool is None:
                parts.append(texts["help"])
            elif route.missing:
                parts.append(texts["missing"].get(route.missing, texts["help"]))
            elif not calls or (calls[-1].name, calls[-1].args) != (route.tool, route.args):
                for routed in filter(None, (route, router.follow(route))):
                    call, answer = self._call(routed)
                    calls.append(call)
                    parts.append(answer)
        text = "\n\n".join(parts) if parts else texts["unknown"].format(help=texts["help"])
        return Reply(text=text, tool_calls=tuple(calls), mode="offline", note=note)

    def _call(self, route: Route) -> tuple[ToolCall, str]:
        """Invoke the routed tool; return the call record and the templated answer."""
        tool = self._toolbelt()[route.tool]
        try:
            result = tool.invoke(route.args)
        except ValidationError as err:
            result = f"error: {err.errors(include_url=False)[0]['msg']}"
        lead = _format(route.intent.lead[self.context.language], {**route.args, **route.shown})
        return (ToolCall(name=route.tool, args=route.args, result=excerpt(result, RESULT_EXCERPT)),
                f"{lead}\n{result}" if lead else result)

    def _router(self) -> OfflineRouter:
        """Return the router given, else one built on the settings' embedding model."""
        if self.router is not None:
            return self.router
        if self._own_router is None:
            from interestlens.tools.embed import SentenceEmbedder

            embedder = SentenceEmbedder(self.assistant.settings.embedding_model)
            self._own_router = OfflineRouter(embedder)
        return self._own_router

    def _toolbelt(self) -> dict[str, Any]:
        if self._tools is None:
            self._tools = {t.name: t for t in make_toolbelt(self.assistant, self.context)}
        return self._tools


def _tool_calls(messages: list[Any]) -> tuple[ToolCall, ...]:
    """Return the tool calls of one agent turn, each with an excerpt of its result."""
    calls: dict[str, ToolCall] = {}
    for message in messages:
        for call in getattr(message, "tool_calls", None) or ():
            calls[call["id"]] = ToolCall(name=call["name"], args=dict(call["args"]))
        if message.type == "tool" and message.tool_call_id in calls:
            calls[message.tool_call_id] = calls[message.tool_call_id].model_copy(
                update={"result": excerpt(unfence_text(message.text), RESULT_EXCERPT)})
    return tuple(calls.values())


def _format(template: str, args: Mapping[str, Any]) -> str:
    """Return ``template`` filled from ``args``; a field the route lacks stays as "?"."""
    class _Missing(dict):
        def __missing__(self, key: str) -> str:
            return "?"

    return template.format_map(_Missing(args))
