"""How an operator route changes something: under lock, checked, audited, all or nothing.

The rules are decided on the rows `store.acting` locked in the change's own
transaction (never on what the request started with), and the audit entry is
written in that transaction too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from handler import roles
from handler.errors import not_found
from handler.keys import USER
from handler.routes.common import pool_of
from handler.store import admin as store
from handler.store import audit, settings


@asynccontextmanager
async def acting(
    request: web.Request, still: frozenset[str], target_id: str | None = None
) -> AsyncIterator[store.Acting]:
    """The caller's row (and the target's) locked, the caller still holding a role in
    `still` (403 otherwise)."""
    async with store.acting(await pool_of(request), request[USER].id, target_id) as act:
        roles.check_still(act.actor, still)
        yield act


@asynccontextmanager
async def changing(
    request: web.Request, target_id: str, still: frozenset[str]
) -> AsyncIterator[store.Acting]:
    """`acting` on a user who must exist (404 otherwise)."""
    async with acting(request, still, target_id) as act:
        if act.target is None:
            raise not_found("User")
        yield act


async def apply_role(act: store.Acting, target_id: str, role: str, why: str | None) -> Any:
    """Change the role now, audited in the same transaction; the user's new row."""
    row = await store.set_role(act.conn, target_id, role)
    await audit.record(
        act.conn,
        act.actor,
        audit.ROLE_CHANGED,
        target_id,
        {"from": act.target["role"], "to": role, "reason": why},
    )
    return row


async def switch_web_search(request: web.Request, enabled: bool) -> None:
    """The platform's web search on or off (the super user's), audited: the one switch
    behind both PATCH /api/super-user/web-search and PUT /api/admin/settings/web_search_enabled.
    """
    async with acting(request, roles.SUPER_ONLY) as act:
        previous = await settings.locked_value(act.conn, settings.WEB_SEARCH_ENABLED)
        await settings.put(act.conn, settings.WEB_SEARCH_ENABLED, "true" if enabled else "false")
        await audit.record(
            act.conn,
            act.actor,
            audit.WEB_SEARCH_CHANGED,
            None,
            {"from": settings.as_bool(previous, settings.WEB_SEARCH_DEFAULT), "to": enabled},
        )
