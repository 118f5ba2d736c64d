"""OpenAPI pieces the operator route modules describe their operations with."""

from __future__ import annotations

from typing import Any

from handler import roles
from handler.routes.schema import obj, op
from handler.store import admin as store
from handler.store import usage

# Each operation's description starts with who may call it.
ADMIN_ROLE = "Role: admin or super_user (403 for anyone else). "
SUPER_ROLE = "Role: super_user (403 for anyone else, admins included). "

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
PAGE = (("limit", "page size"), ("offset", "rows to skip"))
SUCCESS_MESSAGE = obj(["success", "message"], success={"const": True}, message={"type": "string"})

OPERATOR_USER = obj(
    ["id", "email", "name", "role", "status", "block_expires_at", "tier", "last_login"],
    id={"type": "string"},
    email={"type": ["string", "null"]},
    name={"type": ["string", "null"]},
    role={"enum": list(roles.ROLES)},
    status={"enum": list(store.STATUSES)},
    block_expires_at=NULLABLE_TIME,
    tier={"enum": list(usage.TIERS)},
    suggested_role={"enum": [*roles.GRANTABLE, None]},
    suggestion_reason={"type": ["string", "null"]},
    suggested_by={"type": ["string", "null"]},
    suggested_at=NULLABLE_TIME,
    created_at={"type": "string", "format": "date-time"},
    last_login=NULLABLE_TIME,
)
USER_LIST = {"type": "array", "items": OPERATOR_USER}


def operation(
    summary: str,
    description: str,
    response: Any,
    *,
    role: str,
    body: Any = None,
    path: tuple[str, ...] = (),
    query: tuple[tuple[str, str], ...] = (),
    text_query: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    """`op` with the role in the description, string path parameters (uids) and queries."""
    codes = set(errors)
    if "id" in path:
        codes |= {400, 404}
    if path or query or text_query:
        codes.add(400)
    described = op(summary, response, body=body, errors=tuple(sorted(codes)))
    described["description"] = role + description
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": INT, "description": text}
        for name, text in query
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in text_query
    ]
    if parameters:
        described["parameters"] = parameters
    return described
