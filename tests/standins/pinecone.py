"""Pinecone's data-plane API for the calls we make: upsert, query, delete by ids or filter.

Vectors live in memory; filters support `$eq` and `$ne`; scores are cosine.
Requests must carry the `Api-Key` header, as on the real service.

A test can hold upserts or deletes (`hold("upsert")`): each such request is
received, announced on `arrived[kind]`, and applied only once `release(kind)` is
called, to play a race in a chosen order without timing.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "pc-test-key"


def _matches(metadata: dict[str, Any], where: dict[str, Any]) -> bool:
    for key, condition in where.items():
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        for op, value in condition.items():
            if op == "$eq" and metadata.get(key) != value:
                return False
            if op == "$ne" and metadata.get(key) == value:
                return False
    return True


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


@dataclass
class PineconeDataPlane:
    vectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)

    def hold(self, kind: str) -> None:
        """Keep requests of this kind ("upsert", "delete") waiting until `release`."""
        self.holds[kind] = asyncio.Event()
        self.arrived[kind] = asyncio.Event()

    def release(self, kind: str) -> None:
        self.holds.pop(kind).set()

    async def _held(self, kind: str) -> None:
        if kind in self.holds:
            gate = self.holds[kind]
            self.arrived[kind].set()
            await gate.wait()

    def app(self) -> web.Application:
        @web.middleware
        async def api_key(request: web.Request, handler):
            self.requests.append(request.path)
            if request.headers.get("Api-Key") != API_KEY:
                return web.json_response({"error": {"message": "Unauthorized"}}, status=401)
            return await handler(request)

        async def upsert(request: web.Request) -> web.Response:
            body = await request.json()
            await self._held("upsert")
            for vector in body["vectors"]:
                self.vectors[vector["id"]] = vector
            return web.json_response({"upsertedCount": len(body["vectors"])})

        async def query(request: web.Request) -> web.Response:
            body = await request.json()
            where = body.get("filter") or {}
            found = [
                {
                    "id": v["id"],
                    "score": _cosine(body["vector"], v["values"]),
                    "metadata": v.get("metadata", {}),
                }
                for v in self.vectors.values()
                if _matches(v.get("metadata", {}), where)
            ]
            found.sort(key=lambda m: -m["score"])
            return web.json_response(
                {"matches": found[: body["topK"]], "namespace": body.get("namespace", "")}
            )

        async def delete(request: web.Request) -> web.Response:
            # As the real endpoint: exactly one of ids, deleteAll or filter.
            body = await request.json()
            await self._held("delete")
            given = [k for k in ("ids", "deleteAll", "filter") if body.get(k)]
            if len(given) != 1:
                return web.json_response(
                    {"code": 3, "message": "exactly one of ids, deleteAll, filter"}, status=400
                )
            if "ids" in given:
                doomed = [k for k in body["ids"] if k in self.vectors]
            else:
                where = body.get("filter") or {}
                doomed = [
                    k for k, v in self.vectors.items() if _matches(v.get("metadata", {}), where)
                ]
            for key in doomed:
                del self.vectors[key]
            return web.json_response({})

        app = web.Application(middlewares=[api_key])
        app.router.add_post("/vectors/upsert", upsert)
        app.router.add_post("/query", query)
        app.router.add_post("/vectors/delete", delete)
        return app
