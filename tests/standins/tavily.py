"""Tavily's search API: POST /search, as its reference documents it.

https://docs.tavily.com/api-reference/endpoint/search: the key comes in
`Authorization: Bearer <key>` (required); the body is JSON with a required
`query`, `search_depth` one of basic/advanced/fast/ultra-fast, `max_results`
0-20; the answer is `{"query", "answer", "images", "results": [{"title",
"url", "content", "score", "raw_content"}], "response_time"}`. Refusals carry
`{"detail": {"error": ...}}` (how Tavily's own client reads them: tavily/tavily.py
in github.com/tavily-ai/tavily-python), 401
for a missing or invalid key, 400 for a bad body, including a query over 400
characters (https://github.com/CherryHQ/cherry-studio/issues/2201).

Each test scripts it: the results, a refusal status, a raw body (garbage), a
stall. It records every request it accepted.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "tvly-test-key"
SEARCH_DEPTHS = ("basic", "advanced", "fast", "ultra-fast")
MAX_QUERY_CHARS = 400


def result(n: int) -> dict[str, Any]:
    return {
        "title": f"Release notes {n}",
        "url": f"https://docs.example.com/releases/{n}",
        "content": f"Version {n}.0 changed the default pool size.",
        "score": 0.9 - n / 100,
        "raw_content": None,
    }


def _refusal(status: int, error: str) -> web.Response:
    return web.json_response({"detail": {"error": error}}, status=status)


@dataclass
class Tavily:
    results: list[dict[str, Any]] = field(default_factory=lambda: [result(n) for n in (1, 2)])
    status: int = 200  # anything else: a refusal with Tavily's error body
    raw_body: str | None = None  # answered as-is with 200 (garbage)
    delay: float = 0.0  # before answering
    # Refusals repeat the request's Authorization header, as a careless upstream might.
    echo_credentials: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/search", self._search)
        return app

    async def _search(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            echoed = f" (got {request.headers.get('Authorization')!r})\r\n"
            return _refusal(
                401,
                "Unauthorized: missing or invalid API key."
                + (echoed if self.echo_credentials else ""),
            )
        try:
            body = await request.json()
        except ValueError:
            return _refusal(400, "Invalid JSON body.")
        problem = _problem(body)
        if problem:
            return _refusal(400, problem)
        self.requests.append(body)
        await asyncio.sleep(self.delay)
        if self.status != 200:
            return _refusal(self.status, "Internal Server Error")
        if self.raw_body is not None:
            return web.Response(text=self.raw_body, content_type="application/json")
        return web.Response(
            text=json.dumps(
                {
                    "query": body["query"],
                    "answer": None,
                    "images": [],
                    "results": self.results[: body.get("max_results", 5)],
                    "response_time": "0.42",
                }
            ),
            content_type="application/json",
        )


def _problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Invalid JSON body."
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        return "Query is missing."
    if len(query) > MAX_QUERY_CHARS:
        return f"Query is too long. Max query length is {MAX_QUERY_CHARS} characters."
    if body.get("search_depth", "basic") not in SEARCH_DEPTHS:
        return "Invalid search depth."
    max_results = body.get("max_results", 5)
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        return "max_results must be an integer."
    if not 0 <= max_results <= 20:
        return "max_results must be between 0 and 20."
    return None
