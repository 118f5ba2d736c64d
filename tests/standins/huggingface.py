"""HuggingFace's router: OpenAI-style streamed chat completions and feature extraction.

Each test scripts it: the words of the answer, the pause between chunks,
frames split across TCP writes, an error object or a dropped connection
mid-stream, a stall, or a non-200 answer; per model (`model_status`,
`model_drops`, `model_stalls`), so a chat model can fail while its fallback
answers. It records what it was asked and when it sent each chunk.

The fast model answers by what its system prompt asks for: the web-search
decision (`decision`, e.g. "[SEARCH: query]"), a title, durable facts, or a
summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "hf-test-key"
MAIN_MODEL = "test/main-model"
FAST_MODEL = "test/fast-model"
FALLBACK_MODEL = "test/fallback-model"


def _frame(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


def _chunk(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": MAIN_MODEL,
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }


def _asks_for_decision(system: str) -> bool:
    return "[NO_SEARCH]" in system


def embedding(text: str, dimensions: int = 384) -> list[float]:
    """Bag of words hashed into buckets: texts sharing words are close."""
    vector = [0.0] * dimensions
    for word in text.lower().split():
        word = word.strip(".,:;!?()[]'\"")
        if word:
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


@dataclass
class HuggingFace:
    words: list[str] = field(
        default_factory=lambda: ["The ", "bug ", "is ", "a ", "missing ", "null ", "check."]
    )
    delay: float = 0.0
    split_frames: bool = True
    fail_after: int | None = None  # send an error object after this many chunks
    abort_after: int | None = None  # drop the connection after this many chunks
    stall_after: int | None = None  # go silent after this many chunks
    status: int = 200
    error_body: str = ""
    title: str = "Missing null check"
    title_delay: float = 0.0
    summary: str = "The user hit a null pointer; the cause was a missing check."
    # The fast model's reply when asked for durable facts about the user.
    facts: str = "NONE"
    # The fast model's reply when asked whether to search the web, and its pause first.
    decision: str = "[NO_SEARCH]"
    decision_delay: float = 0.0
    embed_status: int = 200
    # By model name: answer this status, drop the connection unanswered, or stay
    # silent before answering (a stall the client's read timeout ends).
    model_status: dict[str, int] = field(default_factory=dict)
    model_drops: set[str] = field(default_factory=set)
    model_stalls: set[str] = field(default_factory=set)
    # A provider's output limit: a larger max_tokens is refused naming it, as vLLM does.
    max_output: int | None = None
    # The main model's whole answer instead of its words, e.g. {"error": ...}.
    first_frame: dict[str, Any] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    arrived: list[str] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    stream_closed: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def app(self) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler):
            self.arrived.append(request.path)  # every request, whatever its credentials
            return await handler(request)

        app = web.Application(middlewares=[record])
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post(
            "/hf-inference/models/{org}/{model}/pipeline/feature-extraction", self._embed
        )
        return app

    def main_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["model"] == MAIN_MODEL]

    def fallback_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["model"] == FALLBACK_MODEL]

    def decision_requests(self) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests
            if r["model"] == FAST_MODEL and _asks_for_decision(r["messages"][0]["content"])
        ]

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response(
                {"error": "Invalid credentials in Authorization header"}, status=401
            )
        body = await request.json()
        self.requests.append(body)
        if body["model"] == FAST_MODEL:
            system = body["messages"][0]["content"]
            if _asks_for_decision(system):
                await asyncio.sleep(self.decision_delay)
                return await self._stream(request, [self.decision], delay=0, main=False)
            if "title" in system:
                text = self.title
            elif "durable facts" in system:
                text = self.facts
            else:
                text = self.summary
            await asyncio.sleep(self.title_delay)
            return await self._stream(request, [text], delay=0, main=False)
        model = body["model"]
        if model in self.model_drops:
            request.transport.close()
            return web.Response()
        if model in self.model_stalls:
            await asyncio.sleep(3600)
        if self.max_output is not None and body["max_tokens"] > self.max_output:
            message = f"max_tokens must be less than or equal to {self.max_output}"
            return web.json_response({"error": {"message": message}}, status=400)
        status = self.model_status.get(model, self.status)
        if status != 200:
            if self.error_body.startswith("{"):
                return web.Response(
                    status=status, text=self.error_body, content_type="application/json"
                )
            return web.Response(status=status, text=self.error_body or "upstream failure")
        if model == MAIN_MODEL and self.first_frame is not None:
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(_frame(self.first_frame))
            return resp
        return await self._stream(request, self.words, delay=self.delay, main=True)

    async def _stream(
        self, request: web.Request, words: list[str], *, delay: float, main: bool
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        try:
            await resp.write(b": connected\n\n")
            for i, word in enumerate(words):
                if main and i == self.fail_after:
                    await resp.write(_frame({"error": {"message": "Model overloaded"}}))
                    return resp
                if main and i == self.abort_after:
                    request.transport.close()
                    return resp
                if main and i == self.stall_after:
                    await asyncio.sleep(3600)
                if delay:
                    await asyncio.sleep(delay)
                frame = _frame(_chunk(word))
                if main:
                    self.sent_at.append(time.monotonic())
                if self.split_frames:
                    cut = len(frame) // 2
                    await resp.write(frame[:cut])
                    await asyncio.sleep(0.002)
                    await resp.write(frame[cut:])
                else:
                    await resp.write(frame)
            await resp.write(_frame("[DONE]"))
            await resp.write_eof()
        finally:
            if main:
                self.stream_closed.set()
        return resp

    async def _embed(self, request: web.Request) -> web.Response:
        if self.embed_status != 200:
            return web.json_response({"error": "embedding down"}, status=self.embed_status)
        body = await request.json()
        return web.json_response(embedding(body["inputs"]))
