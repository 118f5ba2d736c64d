"""Pinecone's data-plane API for the calls we make: upsert, query, delete by ids or filter.

Vectors live in memory; filters support `$eq` and `$ne`; scores are cosine.
Requests must carry the `Api-Key` header, as on the real service.
"""

from __future__ import annotations

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

    def app(self) -> web.Application:
        @web.middleware
        async def api_key(request: web.Request, handler):
            self.requests.append(request.path)
            if request.headers.get("Api-Key") != API_KEY:
                return web.json_response({"error": {"message": "Unauthorized"}}, status=401)
            return await handler(request)

        async def upsert(request: web.Request) -> web.Response:
            body = await request.json()
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
