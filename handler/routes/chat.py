"""POST /api/chat: the request checked, then the turn's events as server-sent events."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from handler import ratelimit, validation
from handler.chat.events import Done, KeepAlive
from handler.chat.plan import ChatRequest
from handler.chat.turn import run_turn
from handler.errors import bad_request
from handler.keys import CHAT, DEADLINE_MS, REQUEST_ID, SETTINGS, USER
from handler.metrics import METRICS, RECEIVED_AT
from handler.routes.answer_metrics import AnswerMeter
from handler.sse import EventStream

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def parse(body: dict[str, Any], *, max_length: int) -> ChatRequest:
    """The request; a message is bounded only by the body limit (`max_length`).

    Pasted logs of any size the body allows are accepted: the prompt builder
    trims an oversized message to the model's budget instead.
    """
    session_id = validation.required_uuid(body, "sessionId")
    parent_id = validation.optional_uuid(body, "parentId")
    skip = validation.boolean(body, "skipUserMessage", required=False) or False
    cont = validation.boolean(body, "isContinuation", required=False) or False
    if skip and cont:
        raise bad_request("'skipUserMessage' and 'isContinuation' cannot both be true")
    reuses = skip or cont
    if reuses and parent_id is None:
        raise bad_request("'parentId' is required with 'skipUserMessage' or 'isContinuation'")
    message = validation.text(
        body, "message", max_length=max_length, required=not reuses, allow_empty=reuses
    )
    return ChatRequest(session_id, message or "", parent_id, skip, cont)


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.StreamResponse:
    user = request[USER]
    chat_request = parse(
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
    stream = EventStream(response)
    # The first event goes out before any slow work.
    await stream.send({"status": "connecting", "model": services.model.name})
    deadline_ms = request.get(DEADLINE_MS)
    turn = run_turn(
        services, user, chat_request, deadline=deadline_ms / 1000 if deadline_ms else None
    )
    meter = AnswerMeter(request[RECEIVED_AT])
    try:
        async for event in turn:
            meter.observe(event)
            if isinstance(event, KeepAlive):
                await stream.comment("keep-alive")
            elif isinstance(event, Done):
                await stream.done()
            else:
                await stream.send(event.data())
    except ConnectionResetError:
        log.info("client disconnected", extra={"session_id": str(chat_request.session_id)})
    finally:
        await turn.aclose()  # stops the model and saves what was generated
        request.app[METRICS].emit(
            meter.metrics(),
            model=services.model.name,
            outcome=meter.outcome,
            error=meter.error,
            request_id=request[REQUEST_ID],
        )
    return response
