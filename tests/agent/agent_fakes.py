"""Test doubles of the agent tests: a scripted OpenAI-compatible server and a fake facade.

``FakeLLM`` drives a real HTTP server on 127.0.0.1 (stdlib ``http.server`` in a thread) that speaks
enough of ``POST /v1/chat/completions`` for ``langchain_openai.ChatOpenAI``: each request takes the
next scripted step (a reply, tool calls, an HTTP error, a delay) or, when the script is empty, asks
the ``responder`` callable. Every request body is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd

from interestlens.agent.evolution import SegmentTrends
from interestlens.agent.results import UserProfile
from interestlens.agent.settings import Settings
from interestlens.tools.errors import InputError
from interestlens.tools.evidence import compare_segments
from interestlens.tools.records import Recommendation, Segment


# ---- scripted OpenAI-compatible server ---------------------------------------------------------
def reply(content: str) -> dict:
    """A step answering with assistant text."""
    return {"content": content}


def tool_calls(*calls: tuple[str, dict | str]) -> dict:
    """A step answering with tool calls; a str argument is sent as is (e.g. malformed JSON)."""
    return {"tool_calls": [(name, args if isinstance(args, str) else json.dumps(args))
                           for name, args in calls]}


def http_error(status: int, message: str, **headers: str) -> dict:
    """A step answering with an OpenAI-style error body."""
    return {"status": status, "error": message, "headers": headers}


def slow(step: dict, seconds: float) -> dict:
    """A step answered only after ``seconds``."""
    return {**step, "sleep": seconds}


@dataclass
class FakeLLM:
    """Handle on the running fake server."""

    url: str
    script: deque = field(default_factory=deque)
    requests: list[dict] = field(default_factory=list)
    responder: Callable[[dict], dict] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_step(self, body: dict) -> dict:
        with self.lock:
            self.requests.append(body)
            if self.script:
                step = self.script.popleft()
                return step(body) if callable(step) else step
        if self.responder is None:
            return http_error(500, "fake server: script exhausted")
        return self.responder(body)


def _completion(body: dict, step: dict) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": step.get("content")}
    if "tool_calls" in step:
        message["tool_calls"] = [
            {"id": f"call_{i}_{len(body['messages'])}", "type": "function",
             "function": {"name": name, "arguments": args}}
            for i, (name, args) in enumerate(step["tool_calls"])
        ]
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if "tool_calls" in step else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            step = fake.next_step(body)
            time.sleep(step.get("sleep", 0))
            status = step.get("status", 200)
            payload = ({"error": {"message": step["error"], "type": "fake", "code": status}}
                       if status != 200 else _completion(body, step))
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in step.get("headers", {}).items():
                    self.send_header(key.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                pass

    return Handler


# ---- a fake facade with the Assistant's read-side methods --------------------------------------
def make_segment(segment_id: str, name: str, keywords: tuple[str, ...], *, n_users: int = 40,
                 sentiment: float = 0.1, texts: tuple[str, ...] = ()) -> Segment:
    return Segment(
        segment_id=segment_id, cluster_id=int(segment_id[1:]), name=name,
        description=f"Users who talk about {', '.join(keywords[:3])}.",
        naming_mode="extractive", n_users=n_users, share=n_users / 200, n_events=n_users * 3,
        keywords=keywords, sentiment=sentiment, representative_texts=texts,
    )


SEGMENTS = (
    make_segment("S1", "价格、性价比、便宜", ("价格", "性价比", "便宜", "划算", "优惠"), n_users=60,
                 sentiment=0.3, texts=("价格很便宜，性价比高", "这个价位很划算")),
    make_segment("S2", "espresso · grinder · crema", ("espresso", "grinder", "crema", "shot"),
                 n_users=50, sentiment=0.4, texts=("Pulled a great espresso shot today",)),
    make_segment("S3", "物流、快递、慢", ("物流", "快递", "慢", "包装"), n_users=45, sentiment=-0.5,
                 texts=("物流太慢了，等了一周",)),
    make_segment("S4", "beer · hops · ipa", ("beer", "hops", "ipa", "brewing"), n_users=45,
                 sentiment=0.2, texts=("This IPA has great hops",)),
)


class FakeAssistant:
    """The Assistant's store-backed methods over four fixed segments; records every call."""

    def __init__(self, segments: tuple[Segment, ...] = SEGMENTS, store_dir: Path | None = None):
        self._segments = list(segments)
        self.store_dir = store_dir or Path("fake-store")
        self.settings = Settings(store_dir=self.store_dir)
        self.calls: list[tuple[str, tuple]] = []

    def _log(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))

    def segments(self) -> list[Segment]:
        self._log("segments")
        return list(self._segments)

    def segment(self, segment_id: str) -> Segment:
        self._log("segment", segment_id)
        for segment in self._segments:
            if segment.segment_id.lower() == str(segment_id).lower():
                return segment
        raise InputError(self.store_dir, f"unknown segment '{segment_id}'")

    def user(self, user_id: str) -> UserProfile:
        self._log("user", user_id)
        if not str(user_id).startswith("u"):
            raise InputError(self.store_dir, f"unknown user '{user_id}'")
        return UserProfile(user=user_id, segment_id="S2", segment_name=self._segments[1].name,
                           confidence=0.8, is_outlier=False, n_events=7,
                           top_interests=("espresso", "grinder"))

    def recommend(self, user_id: str, k: int = 5) -> list[Recommendation]:
        self._log("recommend", user_id, k)
        self.user(user_id)
        return [Recommendation(user=user_id, rank=i + 1, item_id=f"item{i}",
                               item_text=f"Espresso machine {i}", score=0.9 - i / 10,
                               reason="matches your interests \"espresso\"")
                for i in range(k)]

    def recommend_for_segment(self, segment_id: str, k: int = 5) -> list[Recommendation]:
        self._log("recommend_for_segment", segment_id, k)
        segment = self.segment(segment_id)
        return [Recommendation(user=segment.segment_id, rank=i + 1, item_id=f"item{i}",
                               item_text=f"{segment.keywords[0]} item {i}", score=0.8,
                               reason=f"matches {segment.keywords[0]}") for i in range(k)]

    def find_segments(self, text: str, k: int = 3) -> list[tuple[Segment, float]]:
        self._log("find_segments", text, k)
        scored = [(s, sum(kw in text or text in kw for kw in s.keywords) / len(s.keywords))
                  for s in self._segments]
        return sorted(scored, key=lambda pair: -pair[1])[:k]

    def find_users(self, text: str, k: int = 10) -> pd.DataFrame:
        self._log("find_users", text, k)
        return pd.DataFrame({"user": [f"u{i}" for i in range(k)], "segment": ["S2"] * k,
                             "score": [0.9] * k})

    def compare_segments(self, a: str, b: str):
        self._log("compare_segments", a, b)
        return compare_segments(self.segment(a), self.segment(b))

    def query_events(self, sql: str, params=None, limit: int = 200) -> pd.DataFrame:
        self._log("query_events", sql, tuple(params or ()), limit)
        return pd.DataFrame({"segment": ["S1", "S2"], "n_events": [180, 150]})

    def export_segment(self, segment_id: str, path: Path, fmt: str = "csv") -> Path:
        self._log("export_segment", segment_id, str(path), fmt)
        self.segment(segment_id)
        return Path(path)

    def pipeline_mermaid(self) -> str:
        self._log("pipeline_mermaid")
        return "flowchart LR\n  ingest --> clean --> segment"

    def trends(self) -> SegmentTrends:
        """Two snapshots: S2 grew 50 -> 70, S3 shrank 45 -> 30, S4 was born with 12 users."""
        self._log("trends")
        snapshots = pd.DataFrame({
            "snapshot_id": [1, 2], "label": ["run 1", "update 2"], "kind": ["run", "update"],
            "taken_at": pd.to_datetime(["2026-01-01", "2026-02-01"], utc=True),
            "is_reclustered": [True, True], "n_users": [95, 112], "n_segments": [2, 3]})
        sizes = pd.DataFrame({1: [50, 45, 0], 2: [70, 30, 12]}, index=["S2", "S3", "S4"])
        transitions = pd.DataFrame({
            "snapshot_id": [2, 2, 2], "label": ["update 2"] * 3,
            "kind": ["survived", "survived", "born"], "source_ids": [("S2",), ("S3",), ()],
            "target_ids": [("S2",), ("S3",), ("S4",)], "overlap": [1.0, 0.9, 0.1],
            "centroid_similarity": [0.99, 0.97, 0.4], "detail": ["", "", "S4 born"]})
        return SegmentTrends(snapshots=snapshots, sizes=sizes, transitions=transitions)

    def run(self, inputs, *, out_dir=None, column_map=None, progress=None):
        self._log("run", tuple(inputs), column_map)
        raise InputError(inputs[0], "file not found")


def start_fake_llm() -> tuple[FakeLLM, ThreadingHTTPServer]:
    """Start the scripted server on a free local port; the caller shuts it down."""
    fake = FakeLLM(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
