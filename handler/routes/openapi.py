"""The OpenAPI 3.1 description of the whole API, served at /openapi.json.

The operations of the user-facing routes are described here; the operator
modules describe their own (their OPENAPI_PATHS), which the app factory
gathers under the app key schema.DESCRIBED_PATHS. A test checks that every
registered route is described and every described route exists, so the two
cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handler import roles
from handler.routes.schema import (
    BOOL,
    DESCRIBED_PATHS,
    NULLABLE_STR,
    STR,
    SUCCESS,
    TIME,
    UUID,
    events,
    instructions,
    json_content,
    list_of,
    obj,
    op,
    ref,
    text,
)
from handler.store import admin, memories, usage

routes = web.RouteTableDef()

ROLE = {"enum": list(roles.ROLES)}
STATUS = {"enum": list(admin.STATUSES)}
TIER = {"enum": list(usage.TIERS)}

SCHEMAS: dict[str, Any] = {
    "Error": obj(["error"], error=STR),
    "Project": obj(
        ["id", "name", "context_instructions", "context_enabled", "created_at", "updated_at"],
        id=UUID,
        name=STR,
        context_instructions=NULLABLE_STR,
        context_enabled=BOOL,
        created_at=TIME,
        updated_at=TIME,
    ),
    "Session": obj(
        ["id", "title", "pinned", "project_id", "created_at", "updated_at"],
        id=UUID,
        title=STR,
        pinned=BOOL,
        project_id={"type": ["string", "null"], "format": "uuid"},
        created_at=TIME,
        updated_at=TIME,
    ),
    "Source": obj(["index", "title"], index={"type": "integer"}, title=STR, url=NULLABLE_STR),
    "Message": obj(
        ["id", "role", "content", "sources", "created_at", "parentId", "isDeleted", "model"],
        id=UUID,
        role={"enum": ["user", "assistant"]},
        content=STR,
        sources={"type": "array", "items": ref("Source")},
        created_at=TIME,
        parentId={"type": ["string", "null"], "format": "uuid"},
        isDeleted=BOOL,
        model={
            **NULLABLE_STR,
            "description": "The model that wrote an answer (the fallback model when it "
            "answered instead); null on user messages and answers saved before it was recorded",
        },
    ),
    "Memory": obj(
        ["id", "content", "type", "status", "confidence", "created_at"],
        id=UUID,
        content=STR,
        type={"enum": [memories.EXPLICIT, memories.INFERRED, memories.PERSONAL_INFO]},
        status={"enum": [memories.ACTIVE, memories.CANDIDATE, memories.ARCHIVED]},
        confidence={"type": "integer", "minimum": 0, "maximum": 100},
        created_at=TIME,
    ),
    "MemoryLimitExceeded": obj(
        ["status", "message", "limit"],
        status={"const": memories.LIMIT_EXCEEDED},
        message=STR,
        limit={"const": memories.ACTIVE_LIMIT},
    ),
    "MemoryBlocked": obj(
        ["id", "content", "status", "message"],
        id={"type": "null"},
        content=STR,
        status={"const": memories.BLOCKED_BY_SGC},
        message=STR,
    ),
    "RateLimited": obj(
        ["error", "message", "tier", "limit", "reset_at"],
        error=STR,
        message=STR,
        tier=TIER,
        limit={"type": "integer"},
        reset_at=TIME,
    ),
    "ProjectSummary": obj(
        ["id", "title", "context_summary", "summary_updated_at"],
        id=UUID,
        title=STR,
        context_summary=STR,
        summary_updated_at={"type": ["string", "null"], "format": "date-time"},
    ),
    "FullProfile": obj(
        [
            "id",
            "email",
            "name",
            "role",
            "status",
            "global_instructions",
            "tier",
            "daily_requests_count",
            "rate_limit_reset_at",
            "permissions",
        ],
        id=STR,
        email=NULLABLE_STR,
        name=NULLABLE_STR,
        role=ROLE,
        status=STATUS,
        global_instructions=NULLABLE_STR,
        tier=TIER,
        daily_requests_count={"type": "integer", "minimum": 0},
        rate_limit_reset_at={
            **TIME,
            "description": "Start of the current 24 h window; before the first chat, now",
        },
        permissions={
            "type": "object",
            "maxProperties": 0,
            "description": "Always {}: the role decides (the original kept per-user grants here)",
        },
    ),
}


NAME = obj(["name"], name=text(200))
SESSION_WITH_MESSAGES = {"allOf": [ref("Session"), obj(["messages"], messages=list_of("Message"))]}
MESSAGE_CHANGE = obj(["success", "message"], success={"const": True}, message=ref("Message"))


def _chat_body() -> dict[str, Any]:
    """A new message; or, with `parentId`, a regenerated answer or a continuation."""
    off = {"const": False}  # absent or false: not this kind of turn
    new_message = obj(["message"], message=text(), skipUserMessage=off, isContinuation=off)
    regenerate = obj(
        ["skipUserMessage", "parentId"],
        skipUserMessage={"const": True},
        isContinuation=off,
        parentId=UUID,
    )
    cont = obj(
        ["isContinuation", "parentId"],
        isContinuation={"const": True},
        skipUserMessage=off,
        parentId=UUID,
    )
    return {
        **obj(
            ["sessionId"],
            sessionId=UUID,
            message=text(blank=True),
            parentId={"type": ["string", "null"], "format": "uuid"},
            skipUserMessage=BOOL,
            isContinuation=BOOL,
        ),
        "anyOf": [new_message, regenerate, cont],
    }


def _chat_operation() -> dict[str, Any]:
    operation = op(
        "Answer a message as server-sent events",
        body=_chat_body(),
    )
    operation["responses"]["429"] = json_content(
        ref("RateLimited"), "The tier's allowance for the current 24 h window is used up"
    )
    operation["description"] = (
        "`message` is required unless `skipUserMessage` (regenerate the answer to "
        "the user message `parentId`) or `isContinuation` (append to the assistant "
        "message `parentId`) is true. Events, each `data: <json>`: "
        '`{"status":"connecting","model":...}`, then `{"error"}` and the end if the '
        'session is not the caller\'s; `{"userMessageId"}`, `{"messageId"}`, '
        '`{"status":"building_context"}`; when the answer searches the web, '
        '`{"status":"searching"}`, `{"status":"reading"}` (there are results to read) '
        'and `{"status":"generating"}`; then `{"sources":[{"index","title","url"}]}` '
        "when there are any: one numbered list of related sessions, known logs and web "
        "results that the answer cites as `[n]` and keeps; "
        '`{"status":"model_fallback","model","failed_model"}` at most once, when the '
        "chat model `failed_model` failed before its first token (429, 5xx, an error "
        "event, no answer in time, unreachable) and the fallback `model` answers instead; "
        '`{"content"}` deltas, `{"title"}` when the session gets its title, and '
        '`[DONE]` last. A failure after the stream started sends `{"error"}` and '
        "ends it; what was generated is kept. `: keep-alive` comments may appear. "
        "`message` is bounded only by the body limit (MAX_BODY_BYTES, 413 past it): "
        "an oversized message is stored whole, and its middle is cut (head and tail "
        "kept, the cut stated) only in what the model is sent. A message starting "
        "with `remember:` also stores the rest as an active memory. A 24 h window "
        "opens with the first chat request after the previous one ended; the 429's "
        "`reset_at` is its end. The super user is not limited."
    )
    operation["responses"]["200"] = events("The answer as server-sent events")
    return operation


CHAT_OPERATION = _chat_operation()


def _memory_post() -> dict[str, Any]:
    operation = op(
        "Remember a fact (EXPLICIT, ACTIVE); the same fact again returns it",
        ref("Memory"),
        status="201",
        body=obj(["content"], content=text(memories.MAX_CONTENT)),
    )
    operation["responses"]["200"] = json_content(
        {"oneOf": [ref("MemoryLimitExceeded"), ref("MemoryBlocked")]},
        "Nothing stored: the user has 20 active memories (LIMIT_EXCEEDED), or the "
        "platform instructions already state the fact (BLOCKED_BY_SGC)",
    )
    return operation


MEMORY_POST = _memory_post()


def _debug_db() -> dict[str, Any]:
    whereabouts = {
        "env_db_set": {**BOOL, "description": "Whether DATABASE_URL is set"},
        "db_is_localhost": {
            **BOOL,
            "description": "Loopback, a Unix socket, or the embedded server (DATABASE_URL unset)",
        },
    }
    operation = op(
        "Database check: runs a real SELECT",
        obj(
            ["success", "message", "latency", "version", "time_on_db", *whereabouts],
            success={"const": True},
            message=STR,
            latency=STR,
            version=STR,
            time_on_db=TIME,
            **whereabouts,
        ),
        auth=False,
    )
    operation["responses"]["500"] = json_content(
        obj(
            ["success", "message", "error", "latency", *whereabouts],
            success={"const": False},
            message=STR,
            error={**STR, "description": "What failed, without secrets"},
            latency=STR,
            **whereabouts,
        ),
        "The database could not be reached",
    )
    return operation


DEBUG_DB = _debug_db()

GUARD = (
    "Instructions that try to override the platform's rules (the words ignore, "
    "platform, rule; override, super, global; or disregard, system, instruction; "
    "in that order on one line, case aside) are refused with 400."
)


PATHS: dict[str, dict[str, Any]] = {
    "/health": {
        "get": op(
            "Liveness",
            obj(
                ["status", "uptime", "timestamp"],
                status={"const": "ok"},
                uptime={"type": "number"},
                timestamp=TIME,
            ),
            auth=False,
        )
    },
    "/debug-db": {"get": DEBUG_DB},
    "/debug-internet": {
        "get": op(
            "Outbound internet check: fetches Firebase's signing certificates",
            obj(["success", "latency"], success=BOOL, latency=STR, keys_count={"type": "integer"}),
            auth=False,
            errors=(500,),
        )
    },
    "/openapi.json": {"get": op("This document", {"type": "object"}, auth=False)},
    "/debug-stream": {
        "get": {
            "summary": "Streaming check: 5 events 300 ms apart, then [DONE] (about 1.2 s)",
            "responses": {"200": events('Events `{"seq","of","elapsed_ms"}`')},
        }
    },
    "/api/user/profile": {
        "get": op(
            'Global instructions ("" when none) and the caller\'s role, tier and status',
            obj(
                ["global_instructions", "user"],
                global_instructions=STR,
                user=obj(
                    ["id", "role", "tier", "status"], id=STR, role=ROLE, tier=TIER, status=STATUS
                ),
            ),
        ),
        "patch": op(
            "Set global instructions (null clears them)",
            obj(
                ["success", "global_instructions"],
                success={"const": True},
                global_instructions=NULLABLE_STR,
            ),
            body=obj(["global_instructions"], global_instructions=instructions(16000)),
            description=GUARD,
        ),
    },
    "/api/user/profile/full": {"get": op("Full profile and usage", ref("FullProfile"))},
    "/protected": {
        "get": op(
            "Confirm sign-in: creates or refreshes the user row",
            obj(
                ["message", "user", "dbUser"],
                message=STR,
                user=obj(["uid"], uid=STR, email=NULLABLE_STR, name=NULLABLE_STR),
                dbUser=ref("FullProfile"),
            ),
        )
    },
    "/api/user/memories": {
        "get": op(
            "ACTIVE memories, then CANDIDATE suggestions (ARCHIVED not listed)", list_of("Memory")
        ),
        "post": MEMORY_POST,
    },
    "/api/user/memories/{id}/archive": {
        "patch": op(
            "Forget a memory or reject a suggestion (ARCHIVED)",
            {"allOf": [ref("Memory"), obj(["success"], success={"const": True})]},
            params=("id",),
        )
    },
    "/api/user/memories/{id}/promote": {
        "patch": op(
            "Approve a suggestion (or bring back a forgotten memory): ACTIVE",
            {"oneOf": [ref("Memory"), ref("MemoryLimitExceeded")]},
            params=("id",),
        )
    },
    "/api/user/history": {
        "delete": op(
            "Delete all sessions and messages",
            obj(["success"], success={"const": True}, deleted_sessions={"type": "integer"}),
        )
    },
    "/api/user/account": {"delete": op("Delete the account and everything in it", SUCCESS)},
    "/api/projects": {
        "get": op("Projects, most recently updated first", list_of("Project")),
        "post": op("Create a project", ref("Project"), status="201", body=NAME),
    },
    "/api/projects/{id}": {
        "get": op("One project", ref("Project"), params=("id",)),
        "patch": op("Rename", ref("Project"), body=NAME, params=("id",)),
        "delete": op("Delete; its sessions move to no project", SUCCESS, params=("id",)),
    },
    "/api/projects/{id}/summaries": {
        "get": op(
            "Project memory: summaries of the project's sessions, newest first",
            list_of("ProjectSummary"),
            params=("id",),
        )
    },
    "/api/projects/{id}/context": {
        "patch": op(
            "Set project instructions",
            ref("Project"),
            params=("id",),
            body=obj(["context_instructions"], context_instructions=instructions(16000)),
            description=GUARD,
        )
    },
    "/api/projects/{id}/context-toggle": {
        "patch": op(
            "Use or ignore project instructions",
            ref("Project"),
            params=("id",),
            body=obj(["context_enabled"], context_enabled=BOOL),
        )
    },
    "/api/sessions": {
        "get": op("Sessions, pinned first, then most recently updated", list_of("Session")),
        "post": op(
            "Create a session titled 'New Debug Session' (body optional)",
            ref("Session"),
            status="201",
            body=obj(project_id={"type": ["string", "null"], "format": "uuid"}),
            errors=(404,),
        ),
    },
    "/api/sessions/{id}": {
        "get": op("A session with its messages", SESSION_WITH_MESSAGES, params=("id",)),
        "patch": op(
            "Change title, pinned or project (at least one)",
            ref("Session"),
            params=("id",),
            body={
                **obj(
                    title=text(200),
                    pinned=BOOL,
                    project_id={"type": ["string", "null"], "format": "uuid"},
                ),
                "anyOf": [{"required": [name]} for name in ("title", "pinned", "project_id")],
            },
        ),
        "delete": op("Delete a session and its messages", SUCCESS, params=("id",)),
    },
    "/api/sessions/{id}/summary": {
        "delete": op(
            "Forget the session's summary (database and vector index)", SUCCESS, params=("id",)
        )
    },
    "/api/sessions/{id}/promote": {
        "post": op(
            "Copy the session's summary into the memory ledger (ACTIVE)",
            {
                "oneOf": [
                    obj(["success", "memory"], success={"const": True}, memory=ref("Memory")),
                    ref("MemoryLimitExceeded"),
                    ref("MemoryBlocked"),
                ]
            },
            params=("id",),
        )
    },
    "/api/sessions/{id}/messages": {
        "get": op(
            "Messages in creation order, deleted ones flagged", list_of("Message"), params=("id",)
        )
    },
    "/api/messages/{id}": {"delete": op("Soft-delete a message", MESSAGE_CHANGE, params=("id",))},
    "/api/chat": {"post": CHAT_OPERATION},
    "/api/messages/{id}/restore": {
        "post": op("Restore a soft-deleted message", MESSAGE_CHANGE, params=("id",))
    },
}


def document(described: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The whole document: these paths plus those the route modules `described`."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DebugFlow API",
            "version": "1.0.0",
            "description": (
                "Errors are JSON objects with an `error` string. Ids are UUIDs; "
                "another user's resource answers 404 exactly like a missing one. "
                "Unknown body fields are ignored. Text fields refuse NUL characters and "
                "unpaired surrogates (400 naming the field). A POST, PUT, PATCH or DELETE "
                "authenticated by the `debugflow_token` cookie (not the Authorization "
                "header) must carry an allowed `Origin`, or it is refused with 403. A body "
                "not received within 30 s is a 408."
            ),
        },
        "paths": {**PATHS, **described},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "firebase": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "debugflow_token"},
            },
        },
    }


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document(request.app[DESCRIBED_PATHS]))
