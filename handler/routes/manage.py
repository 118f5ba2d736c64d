"""POST /internal/manage: operator commands run inside the deployed function.

`make admin ARGS="grant super_user UID"` (or `ARGS=migrate`) sends
`aws lambda invoke` a management event, `{"debugflow": {"command", "args"}}`;
the Lambda runtime's bridge turns it into a request to this route marked in
its request state (bridge.MANAGEMENT), which only such an event can carry.
Every other request, a Function URL request with the same body included, is
refused with 403. The commands are the command line's own (admin_cli), so
they need no tunnel into the VPC: the function is already there.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handler import admin_cli, roles, validation
from handler.errors import ApiError, bad_request
from handler.keys import SECRETS, SETTINGS
from handler.lambda_runtime.bridge import MANAGEMENT, MANAGEMENT_PATH
from handler.lambda_runtime.contract import REQUEST_ID
from handler.routes import operator_input as read
from handler.routes.common import pool_of
from handler.routes.schema import obj, op

routes = web.RouteTableDef()

COMMANDS = ("grant", "migrate")
USAGE = "commands: grant ROLE UID [--replace] (ROLE: user, admin, super_user), migrate"


def _arguments(body: dict[str, Any]) -> tuple[str, list[str]]:
    command = body.get("command")
    args = body.get("args", [])
    if command not in COMMANDS:
        raise bad_request(f"Unknown command: {USAGE}")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise bad_request(f"'args' must be a list of strings: {USAGE}")
    return command, args


async def _grant(request: web.Request, args: list[str]) -> str:
    replace = "--replace" in args
    rest = [a for a in args if a != "--replace"]
    if len(rest) != 2 or rest[0] not in roles.ROLES:
        raise bad_request(f"grant takes ROLE UID [--replace]: {USAGE}")
    uid = read.uid(rest[1], "UID")
    via = {"via": "lambda-invoke", "request_id": request[REQUEST_ID]}
    try:
        return await admin_cli.grant(await pool_of(request), rest[0], uid, replace=replace, via=via)
    except admin_cli.GrantRefused as exc:
        raise ApiError(409, f"grant: {exc}") from None


@routes.post(MANAGEMENT_PATH)
async def manage(request: web.Request) -> web.Response:
    if not request.get(MANAGEMENT):
        raise ApiError(
            403,
            "Forbidden: operator commands come only from `aws lambda invoke` of a "
            "management event on the function (make admin), never over HTTP",
        )
    command, args = _arguments(await validation.json_object(request))
    if command == "migrate":
        import asyncpg  # here: a cold start that serves other routes does not load it

        if args:
            raise bad_request(f"migrate takes no arguments: {USAGE}")
        try:
            output = await admin_cli.migrate_database(request.app[SETTINGS], request.app[SECRETS])
        except (OSError, asyncpg.PostgresError) as exc:
            raise ApiError(503, f"migrate: {type(exc).__name__}: {exc}") from None
    else:
        output = await _grant(request, args)
    return web.json_response({"command": command, "output": output})


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    MANAGEMENT_PATH: {
        "post": {
            **op(
                "Run an operator command inside the function (not reachable over HTTP)",
                obj(
                    ["command", "output"],
                    command={"enum": list(COMMANDS)},
                    output={"type": "string"},
                ),
                body=obj(
                    ["command"],
                    command={"enum": list(COMMANDS)},
                    args={"type": "array", "items": {"type": "string"}},
                ),
                auth=False,
                errors=(403, 409, 503),
            ),
            "description": "Every HTTP request gets 403. Only `aws lambda invoke` of "
            '`{"debugflow": {"command": "grant", "args": ["admin", "UID"]}}` (or '
            '`"migrate"`) on the function reaches it, as `make admin` does (docs/deploy.md, '
            '"Operator commands"). `grant` answers 409 with the reason when it is refused.',
        }
    }
}
