"""Upstreams for benchmarks, run as their own process.

`make_app`: a HuggingFace-like chat model whose chunks carry their send time
(bench/chat_latency.py). `make_timed_app`: HuggingFace (chat model, fast model,
embeddings) and Tavily with fixed latencies (bench/ttft.py, bench/soak.py); the
fast model's reply to a web-search decision is set with POST /bench/decision.

Usage: python bench/upstream.py PORT CHUNKS INTERVAL_MS
       python bench/upstream.py PORT --timed FIRST_TOKEN_MS TOKENS_PER_S FAST_MS EMBED_MS TAVILY_MS
Times are time.monotonic(), which is one clock for every process on the machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass

from aiohttp import web


def frame(text: str) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


def make_app(chunks: int, interval: float) -> web.Application:
    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if body.get("max_tokens", 0) <= 64:  # a title or summary request
            await resp.write(frame("Benchmark"))
        else:
            for _ in range(chunks):
                await asyncio.sleep(interval)
                await resp.write(frame(f"{time.monotonic():.9f} "))
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def embed(request: web.Request) -> web.Response:
        return web.json_response([1.0] + [0.0] * 383)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/hf-inference/models/{org}/{model}/pipeline/feature-extraction", embed)
    return app


@dataclass(frozen=True, slots=True)
class Latencies:
    """Seconds each upstream waits before its first byte."""

    first_token: float = 0.400  # the chat model, then `tokens_per_s`
    tokens_per_s: float = 30.0
    fast: float = 0.350  # the fast model's whole (short) reply
    embed: float = 0.120
    tavily: float = 0.900

    def argv(self) -> list[str]:
        """The command-line arguments that start this upstream (after PORT)."""
        ms = [f"{v * 1e3:g}" for v in (self.first_token, self.fast, self.embed, self.tavily)]
        return ["--timed", ms[0], f"{self.tokens_per_s:g}", *ms[1:]]


ANSWER = [f"token{i} " for i in range(20)]
TITLE = "Benchmark"  # the fast model's reply to anything but a decision
FAST_MODEL = "bench/fast-model"  # HF_FAST_MODEL of the services under the timed upstream


def make_timed_app(latencies: Latencies) -> web.Application:
    decision = {"reply": "[NO_SEARCH]"}
    calls: Counter[str] = Counter()  # GET /bench/calls: what the service asked for

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        fast = body["model"] == FAST_MODEL  # decisions, titles, summaries, facts
        asks_decision = fast and "[NO_SEARCH]" in body["messages"][0]["content"]
        calls["decision" if asks_decision else "fast" if fast else "chat"] += 1
        await asyncio.sleep(latencies.fast if fast else latencies.first_token)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        texts = [decision["reply"] if asks_decision else TITLE] if fast else ANSWER
        try:
            for i, text in enumerate(texts):
                if i:
                    await asyncio.sleep(1 / latencies.tokens_per_s)
                await resp.write(frame(text))
            await resp.write(b"data: [DONE]\n\n")
        except ConnectionResetError:
            pass  # the reader had what it needed (a floor's first token, a cancelled answer)
        return resp

    async def embed(request: web.Request) -> web.Response:
        # A session summary's embedding (in the background) starts with its title.
        summary = (await request.json())["inputs"].startswith(f"{TITLE}\n")
        calls["summary embed" if summary else "embed"] += 1
        await asyncio.sleep(latencies.embed)
        return web.json_response([1.0] + [0.0] * 383)

    async def search(request: web.Request) -> web.Response:
        body = await request.json()
        calls["tavily"] += 1
        await asyncio.sleep(latencies.tavily)
        results = [
            {"title": f"Result {n}", "url": f"https://example.com/{n}", "content": "Notes."}
            for n in range(1, 6)
        ]
        return web.json_response({"query": body["query"], "results": results})

    async def set_decision(request: web.Request) -> web.Response:
        decision["reply"] = await request.text()
        return web.Response(text="ok")

    async def counted(request: web.Request) -> web.Response:
        return web.json_response(calls)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/hf-inference/models/{org}/{model}/pipeline/feature-extraction", embed)
    app.router.add_post("/search", search)
    app.router.add_get("/bench/calls", counted)
    app.router.add_post("/bench/decision", set_decision)
    return app


if __name__ == "__main__":
    port = int(sys.argv[1])
    if sys.argv[2] == "--timed":
        first_ms, rate, fast_ms, embed_ms, tavily_ms = map(float, sys.argv[3:8])
        app = make_timed_app(
            Latencies(first_ms / 1e3, rate, fast_ms / 1e3, embed_ms / 1e3, tavily_ms / 1e3)
        )
    else:
        chunks, interval_ms = int(sys.argv[2]), float(sys.argv[3])
        app = make_app(chunks, interval_ms / 1000)
    web.run_app(app, host="127.0.0.1", port=port, print=None)
