"""POST /api/chat: the answer as server-sent events, word by word."""

from __future__ import annotations

from aiohttp import web

from handler import ratelimit, validation
from handler.chat.turn import ChatRequest, ChatTurn
from handler.keys import CHAT, DEADLINE_MS, SETTINGS, USER
from handler.sse import EventStream

routes = web.RouteTableDef()


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.StreamResponse:
    user = request[USER]
    chat_request = ChatRequest.parse(
        await validation.json_object(request), max_length=request.app[SETTINGS].max_body_bytes
    )
    allowance = await ratelimit.consume(request, user)
    services = request.app[CHAT]

    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "X-Model": services.model.name,
            **allowance.headers(),
        }
    )
    await response.prepare(request)
    events = EventStream(response)
    # The first event goes out before any slow work.
    await events.send({"status": "connecting", "model": services.model.name})
    deadline_ms = request.get(DEADLINE_MS)
    deadline = deadline_ms / 1000 if deadline_ms else None
    await ChatTurn(services, user, chat_request, events, deadline).run()
    return response
