"""Building blocks of the OpenAPI 3.1 document, and where the app collects it.

Each route module that describes its own operations exposes OPENAPI_PATHS;
the app factory gathers them under DESCRIBED_PATHS as it adds the
module's routes, and /openapi.json (routes/openapi.py) serves what was gathered.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handler.validation import OVERRIDE_ATTEMPTS

DESCRIBED_PATHS = web.AppKey("described_paths", dict[str, dict[str, Any]])


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
BOOL = {"type": "boolean"}
UUID = {"type": "string", "format": "uuid"}
TIME = {"type": "string", "format": "date-time"}
SUCCESS = obj(["success"], success={"const": True})

# Text fields as validation.text checks them: no NUL (PostgreSQL text cannot
# hold it), and unless blank is allowed, something besides whitespace (what
# Python's str.strip() removes).
NO_NUL = r"^[^\u0000]*$"
_WHITESPACE = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK = rf"[^\u0000{_WHITESPACE}]"


def text(max_length: int | None = None, *, blank: bool = False, null: bool = False) -> dict:
    schema: dict[str, Any] = {"type": ["string", "null"] if null else "string"}
    if max_length is not None:
        schema["maxLength"] = max_length
    if blank:
        schema["pattern"] = NO_NUL
    else:
        schema["allOf"] = [{"pattern": NO_NUL}, {"pattern": NOT_BLANK}]
    return schema


# validation.instructions' guard as a pattern: the words in order on one line
# (what str.splitlines() does not split), each letter in either case.
_ONE_LINE = r"[^\n\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]*"
OVERRIDE_ATTEMPT = "|".join(
    _ONE_LINE.join("".join(f"[{c.upper()}{c}]" for c in word) for word in words)
    for words in OVERRIDE_ATTEMPTS
)


def instructions(max_length: int) -> dict[str, Any]:
    """Instructions text (null clears them) that does not try to override the platform's rules."""
    return {
        **text(max_length, blank=True, null=True),
        "not": {"type": "string", "pattern": OVERRIDE_ATTEMPT},
    }


def events(description: str) -> dict[str, Any]:
    """A text/event-stream response; its schema describes each event, as OpenAPI 3.2 does."""
    event = obj(
        ["data"],
        data={"type": "string", "description": "A JSON object, or `[DONE]` last"},
        event={"type": "string"},
    )
    return {"description": description, "content": {"text/event-stream": {"schema": event}}}


def json_content(schema: Any, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def op(
    summary: str,
    response: Any = None,
    *,
    status: str = "200",
    body: Any = None,
    auth: bool = True,
    errors: tuple[int, ...] = (),
    params: tuple[str, ...] = (),
    description: str | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {}}
    if description is not None:
        operation["description"] = description
    if response is not None:
        operation["responses"][status] = json_content(response)
    if body is not None:
        content = {"application/json": {"schema": body}}
        operation["requestBody"] = {"required": True, "content": content}
    if params:
        operation["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": UUID} for p in params
        ]
    codes = set(errors)
    if auth:
        # 503: the token cannot be verified right now (Google's certificates unreachable).
        codes |= {401, 403, 503}
        operation["security"] = [{"firebase": []}, {"cookie": []}]
    if body is not None:
        codes |= {400, 408, 413}
    if params:
        codes |= {400, 404}
    for code in sorted(codes):
        operation["responses"][str(code)] = json_content(ref("Error"), "Error")
    return operation


def list_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}
