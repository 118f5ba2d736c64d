"""The OpenAPI 3.1 description of the whole API, served at /openapi.json.

A test checks that every registered route is described here and every
described route exists, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

routes = web.RouteTableDef()


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
BOOL = {"type": "boolean"}
UUID = {"type": "string", "format": "uuid"}
TIME = {"type": "string", "format": "date-time"}
SUCCESS = _obj(["success"], success={"const": True})

# Text fields as validation.text checks them: no NUL (PostgreSQL text cannot
# hold it), and unless blank is allowed, something besides whitespace (what
# Python's str.strip() removes).
NO_NUL = r"^[^\u0000]*$"
_WHITESPACE = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK = rf"[^\u0000{_WHITESPACE}]"


def _text(max_length: int | None = None, *, blank: bool = False, null: bool = False) -> dict:
    schema: dict[str, Any] = {"type": ["string", "null"] if null else "string"}
    if max_length is not None:
        schema["maxLength"] = max_length
    if blank:
        schema["pattern"] = NO_NUL
    else:
        schema["allOf"] = [{"pattern": NO_NUL}, {"pattern": NOT_BLANK}]
    return schema


SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], error=STR),
    "Project": _obj(
        ["id", "name", "context_instructions", "context_enabled", "created_at", "updated_at"],
        id=UUID,
        name=STR,
        context_instructions=NULLABLE_STR,
        context_enabled=BOOL,
        created_at=TIME,
        updated_at=TIME,
    ),
    "Session": _obj(
        ["id", "title", "pinned", "project_id", "created_at", "updated_at"],
        id=UUID,
        title=STR,
        pinned=BOOL,
        project_id={"type": ["string", "null"], "format": "uuid"},
        created_at=TIME,
        updated_at=TIME,
    ),
    "Source": _obj(["index", "title"], index={"type": "integer"}, title=STR, url=NULLABLE_STR),
    "Message": _obj(
        ["id", "role", "content", "sources", "created_at", "parentId", "isDeleted"],
        id=UUID,
        role={"enum": ["user", "assistant"]},
        content=STR,
        sources={"type": "array", "items": _ref("Source")},
        created_at=TIME,
        parentId={"type": ["string", "null"], "format": "uuid"},
        isDeleted=BOOL,
    ),
    "Memory": _obj(
        ["id", "content", "type", "status", "created_at"],
        id=UUID,
        content=STR,
        type={"enum": ["EXPLICIT", "INFERRED", "PERSONAL_INFO"]},
        status={"enum": ["ACTIVE", "CANDIDATE", "ARCHIVED"]},
        created_at=TIME,
    ),
    "MemoryLimitExceeded": _obj(
        ["status", "message", "limit"],
        status={"const": "LIMIT_EXCEEDED"},
        message=STR,
        limit={"type": "integer"},
    ),
    "RateLimited": _obj(
        ["error", "message", "tier", "limit", "reset_at"],
        error=STR,
        message=STR,
        tier={"enum": ["free", "basic", "pro", "teams"]},
        limit={"type": "integer"},
        reset_at=TIME,
    ),
    "ProjectSummary": _obj(
        ["id", "title", "context_summary", "summary_updated_at"],
        id=UUID,
        title=STR,
        context_summary=STR,
        summary_updated_at={"type": ["string", "null"], "format": "date-time"},
    ),
    "FullProfile": _obj(
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
        ],
        id=STR,
        email=NULLABLE_STR,
        name=NULLABLE_STR,
        role={"enum": ["user", "admin", "super_user"]},
        status={"enum": ["active", "blocked", "banned"]},
        global_instructions=NULLABLE_STR,
        tier={"enum": ["free", "basic", "pro", "teams"]},
        daily_requests_count={"type": "integer"},
        rate_limit_reset_at={"type": ["string", "null"], "format": "date-time"},
    ),
}


def _events(description: str) -> dict[str, Any]:
    """A text/event-stream response; its schema describes each event, as OpenAPI 3.2 does."""
    event = _obj(
        ["data"],
        data={"type": "string", "description": "A JSON object, or `[DONE]` last"},
        event={"type": "string"},
    )
    return {"description": description, "content": {"text/event-stream": {"schema": event}}}


def _json(schema: Any, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    response: Any = None,
    *,
    status: str = "200",
    body: Any = None,
    auth: bool = True,
    errors: tuple[int, ...] = (),
    params: tuple[str, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if response is not None:
        op["responses"][status] = _json(response)
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": UUID} for p in params
        ]
    codes = set(errors)
    if auth:
        # 503: the token cannot be verified right now (Google's certificates unreachable).
        codes |= {401, 403, 503}
        op["security"] = [{"firebase": []}, {"cookie": []}]
    if body is not None:
        codes |= {400, 408, 413}
    if params:
        codes |= {400, 404}
    for code in sorted(codes):
        op["responses"][str(code)] = _json(_ref("Error"), "Error")
    return op


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


NAME = _obj(["name"], name=_text(200))
SESSION_WITH_MESSAGES = {"allOf": [_ref("Session"), _obj(["messages"], messages=_list("Message"))]}
MESSAGE_CHANGE = _obj(["success", "message"], success={"const": True}, message=_ref("Message"))


def _chat_body() -> dict[str, Any]:
    """A new message; or, with `parentId`, a regenerated answer or a continuation."""
    off = {"const": False}  # absent or false: not this kind of turn
    new_message = _obj(["message"], message=_text(), skipUserMessage=off, isContinuation=off)
    regenerate = _obj(
        ["skipUserMessage", "parentId"],
        skipUserMessage={"const": True},
        isContinuation=off,
        parentId=UUID,
    )
    cont = _obj(
        ["isContinuation", "parentId"],
        isContinuation={"const": True},
        skipUserMessage=off,
        parentId=UUID,
    )
    return {
        **_obj(
            ["sessionId"],
            sessionId=UUID,
            message=_text(blank=True),
            parentId={"type": ["string", "null"], "format": "uuid"},
            skipUserMessage=BOOL,
            isContinuation=BOOL,
        ),
        "anyOf": [new_message, regenerate, cont],
    }


def _chat_operation() -> dict[str, Any]:
    operation = _op(
        "Answer a message as server-sent events",
        body=_chat_body(),
    )
    operation["responses"]["429"] = _json(
        _ref("RateLimited"), "The tier's allowance for the current 24 h window is used up"
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
        '`{"content"}` deltas, `{"title"}` when the session gets its title, and '
        '`[DONE]` last. A failure after the stream started sends `{"error"}` and '
        "ends it; what was generated is kept. `: keep-alive` comments may appear. "
        "`message` is bounded only by the body limit (MAX_BODY_BYTES, 413 past it): "
        "an oversized message is stored whole, and its middle is cut (head and tail "
        "kept, the cut stated) only in what the model is sent. A message starting "
        "with `remember:` also stores the rest as an active memory. A 24 h window "
        "opens with the first chat request after the previous one ended; the 429's "
        "`reset_at` is its end."
    )
    operation["responses"]["200"] = _events("The answer as server-sent events")
    return operation


CHAT_OPERATION = _chat_operation()


def _memory_post() -> dict[str, Any]:
    operation = _op(
        "Remember a fact (EXPLICIT, ACTIVE); the same fact again returns it",
        _ref("Memory"),
        status="201",
        body=_obj(["content"], content=_text(2000)),
    )
    operation["responses"]["200"] = _json(
        _ref("MemoryLimitExceeded"), "Nothing stored: the user has 20 active memories"
    )
    return operation


MEMORY_POST = _memory_post()


PATHS: dict[str, dict[str, Any]] = {
    "/health": {
        "get": _op(
            "Liveness",
            _obj(
                ["status", "uptime", "timestamp"],
                status={"const": "ok"},
                uptime={"type": "number"},
                timestamp=TIME,
            ),
            auth=False,
        )
    },
    "/debug-db": {
        "get": _op(
            "Database check: runs a real SELECT",
            _obj(["success", "latency"], success=BOOL, latency=STR, version=STR, time_on_db=TIME),
            auth=False,
            errors=(500,),
        )
    },
    "/debug-internet": {
        "get": _op(
            "Outbound internet check: fetches Firebase's signing certificates",
            _obj(["success", "latency"], success=BOOL, latency=STR, keys_count={"type": "integer"}),
            auth=False,
            errors=(500,),
        )
    },
    "/openapi.json": {"get": _op("This document", {"type": "object"}, auth=False)},
    "/debug-stream": {
        "get": {
            "summary": "Streaming check: 5 events 300 ms apart, then [DONE] (about 1.2 s)",
            "responses": {"200": _events('Events `{"seq","of","elapsed_ms"}`')},
        }
    },
    "/api/user/profile": {
        "get": _op(
            "Global instructions", _obj(["global_instructions"], global_instructions=NULLABLE_STR)
        ),
        "patch": _op(
            "Set global instructions (null clears them)",
            _obj(
                ["success", "global_instructions"],
                success={"const": True},
                global_instructions=NULLABLE_STR,
            ),
            body=_obj(
                ["global_instructions"],
                global_instructions=_text(16000, blank=True, null=True),
            ),
        ),
    },
    "/api/user/profile/full": {"get": _op("Full profile and usage", _ref("FullProfile"))},
    "/protected": {
        "get": _op(
            "Confirm sign-in: creates or refreshes the user row",
            _obj(
                ["message", "user", "dbUser"],
                message=STR,
                user=_obj(["uid"], uid=STR, email=NULLABLE_STR, name=NULLABLE_STR),
                dbUser=_ref("FullProfile"),
            ),
        )
    },
    "/api/user/memories": {
        "get": _op(
            "ACTIVE memories, then CANDIDATE suggestions (ARCHIVED not listed)", _list("Memory")
        ),
        "post": MEMORY_POST,
    },
    "/api/user/memories/{id}/archive": {
        "patch": _op(
            "Forget a memory or reject a suggestion (ARCHIVED)",
            {"allOf": [_ref("Memory"), _obj(["success"], success={"const": True})]},
            params=("id",),
        )
    },
    "/api/user/memories/{id}/promote": {
        "patch": _op(
            "Approve a suggestion (or bring back a forgotten memory): ACTIVE",
            {"oneOf": [_ref("Memory"), _ref("MemoryLimitExceeded")]},
            params=("id",),
        )
    },
    "/api/user/history": {
        "delete": _op(
            "Delete all sessions and messages",
            _obj(["success"], success={"const": True}, deleted_sessions={"type": "integer"}),
        )
    },
    "/api/user/account": {"delete": _op("Delete the account and everything in it", SUCCESS)},
    "/api/projects": {
        "get": _op("Projects, most recently updated first", _list("Project")),
        "post": _op("Create a project", _ref("Project"), status="201", body=NAME),
    },
    "/api/projects/{id}": {
        "get": _op("One project", _ref("Project"), params=("id",)),
        "patch": _op("Rename", _ref("Project"), body=NAME, params=("id",)),
        "delete": _op("Delete; its sessions move to no project", SUCCESS, params=("id",)),
    },
    "/api/projects/{id}/summaries": {
        "get": _op(
            "Project memory: summaries of the project's sessions, newest first",
            _list("ProjectSummary"),
            params=("id",),
        )
    },
    "/api/projects/{id}/context": {
        "patch": _op(
            "Set project instructions",
            _ref("Project"),
            params=("id",),
            body=_obj(
                ["context_instructions"],
                context_instructions=_text(16000, blank=True, null=True),
            ),
        )
    },
    "/api/projects/{id}/context-toggle": {
        "patch": _op(
            "Use or ignore project instructions",
            _ref("Project"),
            params=("id",),
            body=_obj(["context_enabled"], context_enabled=BOOL),
        )
    },
    "/api/sessions": {
        "get": _op("Sessions, pinned first, then most recently updated", _list("Session")),
        "post": _op(
            "Create a session titled 'New Debug Session' (body optional)",
            _ref("Session"),
            status="201",
            body=_obj(project_id={"type": ["string", "null"], "format": "uuid"}),
            errors=(404,),
        ),
    },
    "/api/sessions/{id}": {
        "get": _op("A session with its messages", SESSION_WITH_MESSAGES, params=("id",)),
        "patch": _op(
            "Change title, pinned or project (at least one)",
            _ref("Session"),
            params=("id",),
            body={
                **_obj(
                    title=_text(200),
                    pinned=BOOL,
                    project_id={"type": ["string", "null"], "format": "uuid"},
                ),
                "anyOf": [{"required": [name]} for name in ("title", "pinned", "project_id")],
            },
        ),
        "delete": _op("Delete a session and its messages", SUCCESS, params=("id",)),
    },
    "/api/sessions/{id}/summary": {
        "delete": _op(
            "Forget the session's summary (database and vector index)", SUCCESS, params=("id",)
        )
    },
    "/api/sessions/{id}/promote": {
        "post": _op(
            "Copy the session's summary into the memory ledger (ACTIVE)",
            {
                "oneOf": [
                    _obj(["success", "memory"], success={"const": True}, memory=_ref("Memory")),
                    _ref("MemoryLimitExceeded"),
                ]
            },
            params=("id",),
        )
    },
    "/api/sessions/{id}/messages": {
        "get": _op(
            "Messages in creation order, deleted ones flagged", _list("Message"), params=("id",)
        )
    },
    "/api/messages/{id}": {"delete": _op("Soft-delete a message", MESSAGE_CHANGE, params=("id",))},
    "/api/chat": {"post": CHAT_OPERATION},
    "/api/messages/{id}/restore": {
        "post": _op("Restore a soft-deleted message", MESSAGE_CHANGE, params=("id",))
    },
}


def document() -> dict[str, Any]:
    # The operators' routes describe themselves (and build on the helpers above).
    from handler.routes import admin, super_user

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
        "paths": {**PATHS, **admin.OPENAPI_PATHS, **super_user.OPENAPI_PATHS},
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
    return web.json_response(document())
