"""A HuggingFace-like upstream for benchmarks: each chunk's text is its send time.

Usage: python bench/upstream.py PORT CHUNKS INTERVAL_MS
Times are time.monotonic(), which is one clock for every process on the machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

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


if __name__ == "__main__":
    port, chunks, interval_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    web.run_app(make_app(chunks, interval_ms / 1000), host="127.0.0.1", port=port, print=None)
