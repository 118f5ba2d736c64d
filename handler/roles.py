"""Roles and who may do what to whom.

`requires(...)` is the one role check of the operator routes: a signed-in
caller without the role gets 403 (a permission question, not an existence
one). The caller's role is the stored one, read on every request by the
authentication middleware, so a change of role applies to the next request.

The rules about targets (an admin may act only on plain users, nobody acts on
themselves, only the super user's own transfer makes another super user) are
decided on rows locked in the transaction that makes the change (see
store/admin.py), never on what the request started with.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from handler.errors import ApiError
from handler.keys import USER

USER_ROLE, ADMIN, SUPER_USER = "user", "admin", "super_user"
ROLES = (USER_ROLE, ADMIN, SUPER_USER)
# The roles a role change over HTTP may grant: a super user is made by a transfer
# (the super user offers, the admin accepts) or on the command line.
GRANTABLE = (USER_ROLE, ADMIN)
STAFF = frozenset({ADMIN, SUPER_USER})
SUPER_ONLY = frozenset({SUPER_USER})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CLI_HINT = (
    "the super user hands the role over with POST /api/super-user/transfer/initiate "
    "(the admin then accepts), or an operator grants it on the command line "
    "(python -m handler admin grant)"
)


def requires(*roles: str) -> Callable[[Handler], Handler]:
    """Route decorator: only callers whose stored role is one of `roles` get through."""
    allowed = frozenset(roles)
    label = " or ".join(sorted(allowed))

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            user = request.get(USER)
            if user is None:  # only reachable if a route is mounted outside /api/
                raise ApiError(401, "Authentication required")
            if user.role not in allowed:
                raise ApiError(403, f"Forbidden: this needs the {label} role")
            return await handler(request)

        return checked

    return decorate


admin = requires(ADMIN, SUPER_USER)
super_user = requires(SUPER_USER)


def check_not_self(actor_id: str | None, target_id: str, what: str) -> None:
    if actor_id is not None and actor_id == target_id:
        raise ApiError(400, f"You cannot {what} yourself")


def check_may_manage(actor: Mapping[str, Any], target: Mapping[str, Any], what: str) -> None:
    """Admins act on plain users only; the super user on anyone but the super user."""
    if target["role"] == SUPER_USER:
        raise ApiError(403, f"Forbidden: nobody can {what} the super user over HTTP")
    if target["role"] == ADMIN and actor["role"] != SUPER_USER:
        raise ApiError(403, f"Forbidden: only the super user can {what} an admin")


def check_still(actor: Mapping[str, Any] | None, roles: frozenset[str]) -> None:
    """The actor's role, re-read under lock, still allows the action."""
    if actor is None or actor["role"] not in roles:
        raise ApiError(403, "Forbidden: your role changed; reload")
