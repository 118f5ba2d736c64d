"""Operators: roles, blocks, tiers, usage, platform settings, the audit log, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from handler import admin_cli
from handler.app import create_app
from handler.chat.prompt import DEFAULT_PLATFORM_INSTRUCTIONS
from handler.db import pool as db_pool
from handler.routes import admin as admin_routes
from handler.routes import super_user as super_user_routes
from handler.settings import RateLimits, Settings
from tests import deploy_guide
from tests.chatstream import chat

PLAIN, ADMIN, SUPER = "pat", "ada", "sam"
ROLE_OF = {PLAIN: "user", ADMIN: "admin", SUPER: "super_user"}


async def _staff(api, db) -> None:
    """A plain user, an admin and the super user, signed in once each."""
    for uid in ROLE_OF:
        await api.json("GET", "/api/user/profile", uid=uid)
    await db.execute("UPDATE users SET role = 'admin' WHERE id = $1", ADMIN)
    await db.execute("UPDATE users SET role = 'super_user' WHERE id = $1", SUPER)


async def _user(db, uid: str, **columns) -> None:
    """A user row as first sign-in makes it, plus any columns."""
    await db.execute(
        "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)", uid, f"{uid}@example.com", uid
    )
    for column, value in columns.items():
        await db.execute(f"UPDATE users SET {column} = $2 WHERE id = $1", uid, value)


async def _audit(db, **where) -> list[dict]:
    clauses = " AND ".join(f"{k} = ${i}" for i, k in enumerate(where, 1)) or "true"
    rows = await db.fetch(f"SELECT * FROM audit_log WHERE {clauses} ORDER BY id", *where.values())
    return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


async def _session(api, uid: str) -> str:
    return (await api.json("POST", "/api/sessions", uid=uid, json={}, status=201))["id"]


# ---------------------------------------------------------------------------
# Every route, for each role: allowed or 403, and audited exactly when it acts.

# (method, path, body, who may call it, audit action or None for reads, target setup)
CASES = [
    ("GET", "/api/admin/dashboard", None, "admin", None, {}),
    ("GET", "/api/admin/users/search/{t}", None, "admin", None, {}),
    ("GET", "/api/admin/users/blocked", None, "admin", None, {}),
    ("PATCH", "/api/admin/user/{t}/block", {"duration": "24h"}, "admin", "USER_BLOCKED", {}),
    ("PATCH", "/api/admin/user/{t}/tier", {"tier": "pro"}, "admin", "TIER_CHANGED", {}),
    (
        "POST",
        "/api/admin/suggest-role",
        {"userId": "{t}", "suggestedRole": "admin", "reason": "knows the codebase"},
        "admin",
        "ROLE_SUGGESTED or ROLE_CHANGED",
        {},
    ),
    ("GET", "/api/admin/usage/stats", None, "admin", None, {}),
    ("GET", "/api/admin/settings", None, "admin", None, {}),
    (
        "PUT",
        "/api/admin/settings/web_search_enabled",
        {"value": False},
        "super_user",
        "WEB_SEARCH_CHANGED",
        {},
    ),
    ("GET", "/api/super-user/admins", None, "super_user", None, {}),
    ("GET", "/api/super-user/promotion-requests", None, "super_user", None, {}),
    (
        "DELETE",
        "/api/super-user/promotion-request/{t}",
        None,
        "super_user",
        "SUGGESTION_DENIED",
        {"suggested_role": "admin"},
    ),
    ("GET", "/api/super-user/users/search/{t}", None, "super_user", None, {}),
    ("PATCH", "/api/super-user/user/{t}/role", {"role": "admin"}, "super_user", "ROLE_CHANGED", {}),
    (
        "PATCH",
        "/api/super-user/user/{t}/status",
        {"status": "banned"},
        "super_user",
        "STATUS_CHANGED",
        {},
    ),
    ("GET", "/api/super-user/global-context", None, "super_user", None, {}),
    (
        "POST",
        "/api/super-user/global-context",
        {"content": "Answer in English."},
        "super_user",
        "PLATFORM_INSTRUCTIONS_CHANGED",
        {},
    ),
    ("GET", "/api/super-user/web-search", None, "super_user", None, {}),
    (
        "PATCH",
        "/api/super-user/web-search",
        {"enabled": False},
        "super_user",
        "WEB_SEARCH_CHANGED",
        {},
    ),
    ("GET", "/api/super-user/audit-log", None, "super_user", None, {}),
    (
        "POST",
        "/api/super-user/transfer/initiate",
        {"targetAdminId": "{t}"},
        "super_user",
        "TRANSFER_INITIATED",
        {"role": "admin"},
    ),
]
# Routes that act on the caller themselves, with their own tests below.
OWN_FLOWS = {
    ("POST", "/api/admin/self-demote"),  # test_self_demotion
    ("POST", "/api/admin/transfer/accept"),  # test_the_super_user_hands_over
}


def _operator_routes() -> set[tuple[str, str]]:
    app = create_app(Settings.from_env({}))
    return {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD"
        and r.resource.canonical.startswith(("/api/admin/", "/api/super-user/"))
    }


def _as_cased(path: str) -> str:
    return path.replace("{query}", "{id}").replace("{key}", "web_search_enabled")


def test_the_cases_cover_every_operator_route():
    cased = {(m, p.replace("{t}", "{id}")) for m, p, *_ in CASES} | OWN_FLOWS
    registered = {(m, _as_cased(p)) for m, p in _operator_routes()}
    assert cased == registered


def _fill(value, target: str):
    if isinstance(value, str):
        return value.replace("{t}", target)
    if isinstance(value, dict):
        return {k: _fill(v, target) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_each_route_for_each_role(api, db, case):
    method, path, body, needs, action, setup = case
    await _staff(api, db)
    allowed = {"admin": {ADMIN, SUPER}, "super_user": {SUPER}}[needs]
    for caller in (PLAIN, ADMIN, SUPER):
        target = f"target-of-{caller}"
        await _user(db, target, **setup)
        before = await db.fetchval("SELECT count(*) FROM audit_log")
        resp = await api.call(method, _fill(path, target), uid=caller, json=_fill(body, target))
        answer = await resp.json()
        after = await db.fetchval("SELECT count(*) FROM audit_log")
        if caller in allowed:
            assert resp.status == 200, (caller, answer)
            assert after - before == (1 if action else 0), caller
            if action:
                (entry,) = await _audit(db, actor_id=caller)
                assert entry["action"] in action.split(" or ")
                assert entry["actor_role"] == ROLE_OF[caller]
                assert entry["target_id"] in (target, None)
                await db.execute("DELETE FROM audit_log")
        else:
            assert resp.status == 403, (caller, answer)
            assert answer["error"].startswith("Forbidden"), answer
            assert after == before  # nothing done, nothing recorded


async def test_without_a_token_operator_routes_are_401(api):
    for method, path in _operator_routes():
        resp = await api.call(method, _as_cased(path).replace("{id}", "x"), uid=None)
        assert resp.status == 401, (method, path)


async def test_a_role_change_applies_to_the_next_request(api, db):
    await _staff(api, db)
    assert (await api.call("GET", "/api/admin/dashboard", uid=ADMIN)).status == 200
    await api.json("PATCH", f"/api/super-user/user/{ADMIN}/role", uid=SUPER, json={"role": "user"})
    resp = await api.call("GET", "/api/admin/dashboard", uid=ADMIN)
    assert resp.status == 403


# ---------------------------------------------------------------------------
# No HTTP route makes a super user.


async def test_an_admin_cannot_raise_anyone_to_super_user(api, db):
    await _staff(api, db)
    await _user(db, "bob")
    for target in (ADMIN, "bob"):
        for body in (
            {"userId": target, "suggestedRole": "super_user"},
            {"userId": target, "suggestedRole": "admin"},  # self: 400; bob: a suggestion only
        ):
            resp = await api.call("POST", "/api/admin/suggest-role", uid=ADMIN, json=body)
            expected = 200 if (target, body["suggestedRole"]) == ("bob", "admin") else 400
            assert resp.status == expected, (target, body, await resp.json())
        resp = await api.call(
            "PATCH", f"/api/super-user/user/{target}/role", uid=ADMIN, json={"role": "super_user"}
        )
        assert resp.status == 403
    # The super user cannot make another one either.
    for path, body in (
        ("/api/super-user/user/bob/role", {"role": "super_user"}),
        ("/api/admin/suggest-role", {"userId": "bob", "suggestedRole": "super_user"}),
    ):
        method = "POST" if "suggest" in path else "PATCH"
        resp = await api.call(method, path, uid=SUPER, json=body)
        assert resp.status == 400
        assert "command line" in (await resp.json())["error"]
    roles = dict(await db.fetch("SELECT id, role FROM users"))
    assert roles == {PLAIN: "user", ADMIN: "admin", SUPER: "super_user", "bob": "user"}
    assert await db.fetchval("SELECT suggested_role FROM users WHERE id = 'bob'") == "admin"


async def test_no_route_accepts_super_user_anywhere(api, db):
    """Every registered route, called by an admin and the super user with super_user in
    every field a role could travel in, leaves the one super user the only one."""
    await _staff(api, db)
    await _user(db, "bob")
    body = {
        key: "super_user"
        for key in ("role", "suggestedRole", "status", "tier", "content", "name", "title")
    } | {"userId": "bob", "targetAdminId": "bob", "duration": None, "enabled": True}
    app = create_app(Settings.from_env({}))
    for route in app.router.routes():
        # Deleting one's own account is not a role change, and would remove the super user.
        if route.method in ("HEAD", "*") or route.resource.canonical == "/api/user/account":
            continue
        path = route.resource.canonical
        path = path.replace("{query}", "bob").replace("{key}", "web_search_enabled")
        path = path.replace(
            "{id}", "bob" if "/user/" in path or "promotion" in path else str(uuid.uuid4())
        )
        for caller in (ADMIN, SUPER):
            resp = await api.call(route.method, path, uid=caller, json=body)
            assert resp.status != 500, (route.method, path)
            await resp.read()
    assert [r["id"] for r in await db.fetch("SELECT id FROM users WHERE role = 'super_user'")] == [
        SUPER
    ]


# ---------------------------------------------------------------------------
# Blocks: refused everywhere at once, lifted when they expire.


async def test_a_block_refuses_everything_then_lifts_itself(chat_api, db):
    api = chat_api
    await _staff(api, db)
    sid = await _session(api, PLAIN)
    before = datetime.now(UTC)
    result = await api.json(
        "PATCH", f"/api/admin/user/{PLAIN}/block", uid=ADMIN, json={"duration": "24h"}
    )
    assert result["status"] == "blocked"
    until = datetime.fromisoformat(result["expiresAt"].replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) < until - before < timedelta(hours=24, minutes=1)

    # The same, still valid token is refused on its next request, a new chat stream included.
    for method, path in (("GET", "/api/sessions"), ("GET", "/protected")):
        resp = await api.call(method, path, uid=PLAIN)
        assert resp.status == 403
        assert "blocked until" in (await resp.json())["error"]
    t = await chat(api, {"sessionId": sid, "message": "still there?"}, uid=PLAIN)
    assert t.status == 403 and "blocked" in t.events[0]["error"]
    assert t.headers["Content-Type"].startswith("application/json")
    assert await db.fetchval("SELECT count(*) FROM messages") == 0

    blocked = await api.json("GET", "/api/admin/users/blocked", uid=ADMIN)
    assert [(u["id"], u["status"]) for u in blocked] == [(PLAIN, "blocked")]
    assert blocked[0]["block_expires_at"] == result["expiresAt"]

    # A day passes.
    await db.execute(
        "UPDATE users SET blocked_until = now() - interval '1 second' WHERE id = $1", PLAIN
    )
    assert (await api.call("GET", "/api/sessions", uid=PLAIN)).status == 200
    t = await chat(api, {"sessionId": sid, "message": "back again"}, uid=PLAIN)
    assert t.status == 200 and t.events[-1] == "[DONE]"
    assert await api.json("GET", "/api/admin/users/blocked", uid=ADMIN) == []
    (found,) = await api.json("GET", f"/api/admin/users/search/{PLAIN}", uid=ADMIN)
    assert (found["status"], found["block_expires_at"]) == ("active", None)
    # The user's own profile says so too.
    assert (await api.json("GET", "/api/user/profile/full", uid=PLAIN))["status"] == "active"


async def test_forever_until_unblocked_and_each_step_audited(api, db):
    await _staff(api, db)
    result = await api.json(
        "PATCH", f"/api/admin/user/{PLAIN}/block", uid=ADMIN, json={"duration": "forever"}
    )
    assert result == {"success": True, "status": "blocked", "expiresAt": None}
    resp = await api.call("GET", "/api/sessions", uid=PLAIN)
    assert resp.status == 403 and (await resp.json())["error"] == "This account is blocked"
    result = await api.json(
        "PATCH", f"/api/admin/user/{PLAIN}/block", uid=ADMIN, json={"duration": None}
    )
    assert result == {"success": True, "status": "active", "expiresAt": None}
    assert (await api.call("GET", "/api/sessions", uid=PLAIN)).status == 200
    block, unblock = await _audit(db, target_id=PLAIN)
    assert (block["action"], block["actor_id"]) == ("USER_BLOCKED", ADMIN)
    assert block["details"] == {
        "duration": "forever",
        "until": None,
        "previous_status": "active",
        "previous_until": None,
    }
    assert unblock["action"] == "USER_UNBLOCKED"
    assert unblock["details"]["previous_status"] == "blocked"


async def test_block_rules(api, db):
    await _staff(api, db)
    await _user(db, "other-admin", role="admin")
    await _user(db, "banned", status="banned")

    async def block(caller, target, body=None):
        resp = await api.call(
            "PATCH",
            f"/api/admin/user/{target}/block",
            uid=caller,
            json={"duration": "1w"} if body is None else body,
        )
        return resp.status, (await resp.json()).get("error", "")

    assert await block(ADMIN, "other-admin") == (
        403,
        "Forbidden: only the super user can block an admin",
    )
    assert (await block(ADMIN, SUPER))[0] == 403
    assert await block(ADMIN, ADMIN) == (400, "You cannot block or unblock yourself")
    assert (await block(ADMIN, "nobody"))[0] == 404
    assert (await block(ADMIN, "banned"))[0] == 409
    assert (await block(SUPER, "other-admin"))[0] == 200
    assert (await block(ADMIN, PLAIN, {"duration": "2d"}))[0] == 400
    assert (await block(ADMIN, PLAIN, {}))[0] == 400
    assert (await block(ADMIN, "x" * 129))[0] == 400
    assert (await block(ADMIN, "a%00b"))[0] == 400
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 1


async def test_malformed_bodies_are_400_never_500(api, db):
    await _staff(api, db)
    writes = [(m, p) for m, p, body, *_ in CASES if body is not None]
    bodies = [
        [],
        "super_user",
        {"duration": [1], "tier": {}, "role": [], "status": ["banned"], "enabled": "yes"},
        {"userId": 5, "suggestedRole": [], "content": [], "reason": 5, "value": [1]},
        {"userId": "x" * 500, "suggestedRole": "admin", "value": 1, "targetAdminId": 5},
        {"duration": {"a": 1}, "status": "blocked", "content": "\u0000", "value": {}},
        {"userId": "a\u0000b", "targetAdminId": "\ud800", "value": "yes", "tier": "\ud800"},
    ]
    for method, path in writes:
        for body in bodies:
            resp = await api.call(method, _fill(path, PLAIN), uid=SUPER, json=body)
            assert resp.status == 400, (method, path, body, await resp.json())
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_the_super_user_bans_and_restores(api, db):
    await _staff(api, db)
    status = f"/api/super-user/user/{PLAIN}/status"
    result = await api.json("PATCH", status, uid=SUPER, json={"status": "banned", "reason": "spam"})
    assert result == {"success": True, "status": "banned", "expiresAt": None}
    resp = await api.call("GET", "/api/sessions", uid=PLAIN)
    assert resp.status == 403 and "banned" in (await resp.json())["error"]
    result = await api.json(
        "PATCH", status, uid=SUPER, json={"status": "blocked", "duration": "1m"}
    )
    assert result["status"] == "blocked" and result["expiresAt"]
    await api.json("PATCH", status, uid=SUPER, json={"status": "active"})
    assert (await api.call("GET", "/api/sessions", uid=PLAIN)).status == 200
    entries = await _audit(db, target_id=PLAIN)
    assert [(e["details"]["from"], e["details"]["to"]) for e in entries] == [
        ("active", "banned"),
        ("banned", "blocked"),
        ("blocked", "active"),
    ]
    assert entries[0]["details"]["reason"] == "spam"
    for bad in ({"status": "gone"}, {"status": "banned", "duration": "24h"}, {}):
        assert (await api.call("PATCH", status, uid=SUPER, json=bad)).status == 400
    own = f"/api/super-user/user/{SUPER}/status"
    assert (await api.call("PATCH", own, uid=SUPER, json={"status": "banned"})).status == 400


# ---------------------------------------------------------------------------
# Tiers and the usage record.


async def test_a_tier_change_applies_to_the_next_chat(make_chat_api, db):
    api = await make_chat_api(rate_limits=RateLimits(free=1, basic=3))
    await _staff(api, db)
    sid = await _session(api, PLAIN)
    assert (await chat(api, {"sessionId": sid, "message": "one"}, uid=PLAIN)).status == 200
    refused = await chat(api, {"sessionId": sid, "message": "two"}, uid=PLAIN)
    assert refused.status == 429 and refused.events[0]["tier"] == "free"

    result = await api.json(
        "PATCH", f"/api/admin/user/{PLAIN}/tier", uid=ADMIN, json={"tier": "basic"}
    )
    assert result == {"success": True, "id": PLAIN, "tier": "basic", "previous_tier": "free"}
    t = await chat(api, {"sessionId": sid, "message": "three"}, uid=PLAIN)
    assert t.status == 200 and t.events[-1] == "[DONE]"
    assert t.headers["X-RateLimit-Limit"] == "3"
    assert t.headers["X-RateLimit-Remaining"] == "1"
    (entry,) = await _audit(db, action="TIER_CHANGED")
    assert entry["details"] == {"from": "free", "to": "basic"}

    # Every request is in the usage record, under the tier it was made in.
    usage = await db.fetch(
        "SELECT tier, requests, refused FROM usage_hourly WHERE user_id = $1 ORDER BY tier", PLAIN
    )
    assert [tuple(r) for r in usage] == [("basic", 1, 0), ("free", 1, 1)]
    stats = await api.json("GET", "/api/admin/usage/stats?days=7", uid=ADMIN)
    assert stats["stats"] == {
        "total_requests_24h": 2,
        "blocked_requests_24h": 1,
        "requests_today": 2,
        "active_users_24h": 1,
        # Every chat request the record holds, refused ones included, as the original's log.
        "top_endpoint": {"endpoint": "/api/chat", "count": 3},
    }
    assert len(stats["per_day"]) == 7
    today = datetime.now(UTC).date().isoformat()
    assert stats["per_day"][-1] == {"day": today, "requests": 2, "refused": 1}
    assert all(d["requests"] == 0 for d in stats["per_day"][:-1])
    assert [(t["tier"], t["requests"], t["refused"]) for t in stats["per_tier"]] == [
        ("free", 1, 1),
        ("basic", 1, 0),
        ("pro", 0, 0),
        ("teams", 0, 0),
    ]
    (top,) = stats["top_users"]
    assert (top["id"], top["tier"], top["daily_requests_count"], top["limit"]) == (
        PLAIN,
        "basic",
        2,
        3,
    )


async def test_tiers_admins_set_plain_users_only(api, db):
    """Two admins cannot raise each other to teams, nor drop the super user to free."""
    await _staff(api, db)
    await _user(db, "other-admin", role="admin")

    async def tier(caller, target, body=None):
        resp = await api.call(
            "PATCH",
            f"/api/admin/user/{target}/tier",
            uid=caller,
            json={"tier": "teams"} if body is None else body,
        )
        return resp.status, (await resp.json()).get("error", "")

    assert await tier(ADMIN, "other-admin") == (
        403,
        "Forbidden: only the super user can change the tier of staff",
    )
    assert await tier("other-admin", ADMIN) == (
        403,
        "Forbidden: only the super user can change the tier of staff",
    )
    assert (await tier(ADMIN, SUPER, {"tier": "free"}))[0] == 403
    assert await tier(ADMIN, ADMIN) == (403, "Forbidden: an admin cannot change their own tier")
    tiers = dict(await db.fetch("SELECT id, tier FROM users"))
    assert set(tiers.values()) == {"free"}
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0
    # The super user sets anyone's, their own included; the plain user's is the admin's job.
    for caller, target in ((SUPER, "other-admin"), (SUPER, SUPER), (ADMIN, PLAIN)):
        assert await tier(caller, target) == (200, ""), (caller, target)
    changed = [(e["actor_id"], e["target_id"]) for e in await _audit(db, action="TIER_CHANGED")]
    assert changed == [(SUPER, "other-admin"), (SUPER, SUPER), (ADMIN, PLAIN)]
    for body in ({"tier": "gold"}, {}, {"tier": None}, {"tier": ["pro"]}):
        assert (await tier(ADMIN, PLAIN, body))[0] == 400
    assert (await tier(ADMIN, "nobody"))[0] == 404


async def test_dashboard_figures(chat_api, db):
    api = chat_api
    await _staff(api, db)
    await _user(db, "old-timer", tier="pro")
    await _user(db, "lapsed")
    sid = await _session(api, PLAIN)
    await chat(api, {"sessionId": sid, "message": "hello"}, uid=PLAIN)
    # Active means signed in (GET /protected), as in the original: PLAIN now, others before.
    await api.json("GET", "/protected", uid=PLAIN)
    for uid, days in (("old-timer", 5), ("lapsed", 40), (ADMIN, 20)):
        await db.execute(
            "UPDATE users SET last_login_at = now() - make_interval(days => $2) WHERE id = $1",
            uid,
            days,
        )
    body = await api.json("GET", "/api/admin/dashboard", uid=ADMIN)
    metrics = body["metrics"]
    assert metrics["total_users"] == 5
    assert metrics["active_users"] == {"daily": 1, "weekly": 2, "monthly": 3}
    assert (metrics["sessions"], metrics["messages"]) == (1, 2)
    assert metrics["chat_requests_today"] == 1
    assert metrics["users_by_tier"] == {"free": 4, "basic": 0, "pro": 1, "teams": 0}
    assert body["health"]["database"] == "healthy" and body["health"]["uptime"] >= 0


# ---------------------------------------------------------------------------
# Search, roles and promotion requests.


async def test_search_by_uid_email_or_name_paginated(api, db):
    await _staff(api, db)
    for i in range(5):
        await _user(db, f"dev-{i}")
    await _user(db, "100%_real")
    page1 = await api.json("GET", "/api/admin/users/search/dev-?limit=2", uid=ADMIN)
    page2 = await api.json("GET", "/api/admin/users/search/DEV-?limit=2&offset=2", uid=ADMIN)
    assert [u["id"] for u in page1 + page2] == ["dev-0", "dev-1", "dev-2", "dev-3"]
    assert set(page1[0]) >= {"id", "email", "name", "role", "status", "block_expires_at", "tier"}
    # LIKE wildcards in the query are taken literally.
    literal = await api.json("GET", "/api/admin/users/search/%25_", uid=ADMIN)
    assert [u["id"] for u in literal] == ["100%_real"]
    by_name = await api.json("GET", "/api/admin/users/search/user%20PAT", uid=ADMIN)
    assert [u["id"] for u in by_name] == [PLAIN]
    for query in ("x?limit=0", "x?limit=abc", "x?offset=-1", "x" * 201):
        assert (await api.call("GET", f"/api/admin/users/search/{query}", uid=ADMIN)).status == 400


async def test_promotion_request_flow(api, db):
    await _staff(api, db)
    await _user(db, "bob")
    body = {"userId": "bob", "suggestedRole": "admin", "reason": "reviews well"}
    await api.json("POST", "/api/admin/suggest-role", uid=ADMIN, json=body)
    resp = await api.call("POST", "/api/admin/suggest-role", uid=ADMIN, json=body)
    assert resp.status == 409
    (request,) = await api.json("GET", "/api/super-user/promotion-requests", uid=SUPER)
    assert (request["id"], request["suggested_role"], request["suggestion_reason"]) == (
        "bob",
        "admin",
        "reviews well",
    )
    assert request["suggested_by"] == ADMIN
    assert await db.fetchval("SELECT role FROM users WHERE id = 'bob'") == "user"
    # Denied, then suggested again and approved by the super user.
    await api.json("DELETE", "/api/super-user/promotion-request/bob", uid=SUPER)
    assert (
        await api.call("DELETE", "/api/super-user/promotion-request/bob", uid=SUPER)
    ).status == 404
    await api.json("POST", "/api/admin/suggest-role", uid=ADMIN, json=body)
    result = await api.json(
        "PATCH", "/api/super-user/user/bob/role", uid=SUPER, json={"role": "admin"}
    )
    assert result["user"]["role"] == "admin" and result["user"]["suggested_role"] is None
    assert await api.json("GET", "/api/super-user/promotion-requests", uid=SUPER) == []
    staff = await api.json("GET", "/api/super-user/admins", uid=SUPER)
    assert [(u["id"], u["role"]) for u in staff] == [
        (SUPER, "super_user"),
        (ADMIN, "admin"),
        ("bob", "admin"),
    ]
    actions = [(e["actor_id"], e["action"]) for e in await _audit(db, target_id="bob")]
    assert actions == [
        (ADMIN, "ROLE_SUGGESTED"),
        (SUPER, "SUGGESTION_DENIED"),
        (ADMIN, "ROLE_SUGGESTED"),
        (SUPER, "ROLE_CHANGED"),
    ]
    # The super user's own suggestion applies at once.
    result = await api.json(
        "POST",
        "/api/admin/suggest-role",
        uid=SUPER,
        json={"userId": "bob", "suggestedRole": "user"},
    )
    assert "now user" in result["message"]
    assert await db.fetchval("SELECT role FROM users WHERE id = 'bob'") == "user"


async def test_a_suggested_demotion_reaches_the_super_user(api, db):
    """An admin's suggestion that another admin become user is a promotion request like
    any other: the super user sees it and settles it, and it holds back others till then."""
    await _staff(api, db)
    await _user(db, "other-admin", role="admin")
    demote = {"userId": "other-admin", "suggestedRole": "user", "reason": "left the team"}
    await api.json("POST", "/api/admin/suggest-role", uid=ADMIN, json=demote)
    (request,) = await api.json("GET", "/api/super-user/promotion-requests", uid=SUPER)
    assert (request["id"], request["role"], request["suggested_role"]) == (
        "other-admin",
        "admin",
        "user",
    )
    assert (request["suggested_by"], request["suggestion_reason"]) == (ADMIN, "left the team")
    # The target (an admin) cannot clear it by suggesting anything about themselves.
    resp = await api.call("POST", "/api/admin/suggest-role", uid="other-admin", json=demote)
    assert resp.status == 400
    resp = await api.call("POST", "/api/admin/suggest-role", uid=ADMIN, json=demote)
    assert resp.status == 409 and "promotion requests" in (await resp.json())["error"]
    # Denied: a new suggestion may be made; approved: the role changes and the list empties.
    await api.json("DELETE", "/api/super-user/promotion-request/other-admin", uid=SUPER)
    await api.json("POST", "/api/admin/suggest-role", uid=ADMIN, json=demote)
    await api.json(
        "PATCH", "/api/super-user/user/other-admin/role", uid=SUPER, json={"role": "user"}
    )
    assert await api.json("GET", "/api/super-user/promotion-requests", uid=SUPER) == []
    assert await db.fetchval("SELECT role FROM users WHERE id = 'other-admin'") == "user"
    actions = [(e["actor_id"], e["action"]) for e in await _audit(db, target_id="other-admin")]
    assert actions == [
        (ADMIN, "ROLE_SUGGESTED"),
        (SUPER, "SUGGESTION_DENIED"),
        (ADMIN, "ROLE_SUGGESTED"),
        (SUPER, "ROLE_CHANGED"),
    ]


async def test_a_hostile_admin_acts_on_nobody_but_plain_users(api, db):
    """An admin aims every admin route that takes a target at another admin, at the super
    user and at themselves: nothing changes but one suggestion the super user must settle."""
    await _staff(api, db)
    await _user(db, "other-admin", role="admin")
    before = [tuple(r) for r in await db.fetch("SELECT id, role, status, tier FROM users")]
    expected = {
        # (method, path, body): status for (other admin, super user, oneself)
        ("PATCH", "/api/admin/user/{t}/block", '{"duration": "forever"}'): (403, 403, 400),
        ("PATCH", "/api/admin/user/{t}/tier", '{"tier": "teams"}'): (403, 403, 403),
        ("POST", "/api/admin/suggest-role", '{"userId": "{t}", "suggestedRole": "user"}'): (
            200,
            400,
            400,
        ),
        ("POST", "/api/admin/suggest-role", '{"userId": "{t}", "suggestedRole": "admin"}'): (
            400,
            400,
            400,
        ),
        ("PATCH", "/api/super-user/user/{t}/role", '{"role": "admin"}'): (403, 403, 403),
        ("PATCH", "/api/super-user/user/{t}/status", '{"status": "banned"}'): (403, 403, 403),
        ("DELETE", "/api/super-user/promotion-request/{t}", "null"): (403, 403, 403),
        ("POST", "/api/super-user/transfer/initiate", '{"targetAdminId": "{t}"}'): (
            403,
            403,
            403,
        ),
        ("POST", "/api/admin/transfer/accept", "{}"): (403, 403, 403),
        ("PUT", "/api/admin/settings/web_search_enabled", '{"value": false}'): (403, 403, 403),
    }
    for (method, path, body), statuses in expected.items():
        for target, status in zip(("other-admin", SUPER, ADMIN), statuses, strict=True):
            resp = await api.call(
                method, _fill(path, target), uid=ADMIN, json=json.loads(_fill(body, target))
            )
            assert resp.status == status, (method, path, target, await resp.json())
    after = [tuple(r) for r in await db.fetch("SELECT id, role, status, tier FROM users")]
    assert after == before
    assert [(e["action"], e["target_id"]) for e in await _audit(db)] == [
        ("ROLE_SUGGESTED", "other-admin")
    ]
    assert await db.fetchval("SELECT count(*) FROM global_settings") == 0


async def test_self_demotion(api, db):
    await _staff(api, db)
    resp = await api.call("POST", "/api/admin/self-demote", uid=SUPER)
    assert resp.status == 400 and "transfer" in (await resp.json())["error"]
    assert (await api.call("POST", "/api/admin/self-demote", uid=PLAIN)).status == 403
    result = await api.json("POST", "/api/admin/self-demote", uid=ADMIN)
    assert result == {"success": True, "message": "You are now a user."}
    # From the next request on, an admin no more.
    assert (await api.call("GET", "/api/admin/dashboard", uid=ADMIN)).status == 403
    assert (await api.call("POST", "/api/admin/self-demote", uid=ADMIN)).status == 403
    roles = dict(await db.fetch("SELECT id, role FROM users"))
    assert roles == {PLAIN: "user", ADMIN: "user", SUPER: "super_user"}
    (entry,) = await _audit(db)
    assert (entry["action"], entry["actor_id"], entry["actor_role"], entry["target_id"]) == (
        "SELF_DEMOTED",
        ADMIN,
        "admin",
        ADMIN,
    )
    assert entry["details"] == {"from": "admin", "to": "user"}


async def test_the_super_user_hands_over(api, db):
    """The original's transfer: the super user offers, the chosen admin accepts."""
    await _staff(api, db)
    await _user(db, "other-admin", role="admin")
    initiate = "/api/super-user/transfer/initiate"
    for target in (PLAIN, "nobody", SUPER, "a" * 129):
        resp = await api.call("POST", initiate, uid=SUPER, json={"targetAdminId": target})
        assert resp.status == 400, target
    assert (await api.call("POST", "/api/admin/transfer/accept", uid=ADMIN)).status == 403
    result = await api.json("POST", initiate, uid=SUPER, json={"targetAdminId": "other-admin"})
    assert "other-admin@example.com must now accept" in result["message"]
    # A new offer replaces the pending one.
    await api.json("POST", initiate, uid=SUPER, json={"targetAdminId": ADMIN})
    for caller in ("other-admin", SUPER, PLAIN):
        resp = await api.call("POST", "/api/admin/transfer/accept", uid=caller)
        assert resp.status == 403, caller
    result = await api.json("POST", "/api/admin/transfer/accept", uid=ADMIN)
    assert result["success"] is True
    roles = dict(await db.fetch("SELECT id, role FROM users"))
    assert roles == {PLAIN: "user", ADMIN: "super_user", SUPER: "admin", "other-admin": "admin"}
    # The offer is used up; the new super user acts as one on the next request.
    assert (await api.call("POST", "/api/admin/transfer/accept", uid=ADMIN)).status == 403
    assert (await api.call("GET", "/api/super-user/admins", uid=ADMIN)).status == 200
    assert (await api.call("GET", "/api/super-user/admins", uid=SUPER)).status == 403
    entries = [(e["action"], e["actor_id"], e["target_id"], e["details"]) for e in await _audit(db)]
    assert entries == [
        ("TRANSFER_INITIATED", SUPER, "other-admin", {"replaces": None}),
        ("TRANSFER_INITIATED", SUPER, ADMIN, {"replaces": "other-admin"}),
        ("TRANSFER_ACCEPTED", ADMIN, SUPER, {"from": SUPER, "to": ADMIN}),
    ]
    assert await db.fetchval("SELECT count(*) FROM global_settings") == 0


async def test_a_stale_transfer_is_refused(api, db, pool):
    await _staff(api, db)
    await _user(db, "other-admin", role="admin")
    initiate = "/api/super-user/transfer/initiate"
    # The chosen admin was demoted after the offer: they cannot take it.
    await api.json("POST", initiate, uid=SUPER, json={"targetAdminId": ADMIN})
    await api.json("PATCH", f"/api/super-user/user/{ADMIN}/role", uid=SUPER, json={"role": "user"})
    assert (await api.call("POST", "/api/admin/transfer/accept", uid=ADMIN)).status == 403
    # The super user changed (the command line) after the offer: 409, nothing changes.
    await api.json("POST", initiate, uid=SUPER, json={"targetAdminId": "other-admin"})
    await admin_cli.grant(pool, "super_user", PLAIN, replace=True)
    resp = await api.call("POST", "/api/admin/transfer/accept", uid="other-admin")
    assert resp.status == 409
    roles = dict(await db.fetch("SELECT id, role FROM users"))
    assert roles == {PLAIN: "super_user", ADMIN: "user", SUPER: "admin", "other-admin": "admin"}


async def test_search_shows_the_last_sign_in(api, db):
    await _staff(api, db)
    (found,) = await api.json("GET", f"/api/super-user/users/search/{PLAIN}", uid=SUPER)
    assert found["last_login"] is None  # requests, but no sign-in yet
    await api.json("GET", "/protected", uid=PLAIN)
    (found,) = await api.json("GET", f"/api/super-user/users/search/{PLAIN}", uid=SUPER)
    signed_in = datetime.fromisoformat(found["last_login"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - signed_in) < timedelta(minutes=5)
    (seen_by_admin,) = await api.json("GET", f"/api/admin/users/search/{PLAIN}", uid=ADMIN)
    assert seen_by_admin["last_login"] == found["last_login"]


# ---------------------------------------------------------------------------
# Platform settings.


async def test_platform_instructions_reach_the_next_answer(chat_api, db, huggingface):
    api = chat_api
    await _staff(api, db)
    current = await api.json("GET", "/api/super-user/global-context", uid=SUPER)
    assert current["content"] == "" and current["is_default"]
    assert current["default"] == DEFAULT_PLATFORM_INSTRUCTIONS
    await api.json(
        "POST", "/api/super-user/global-context", uid=SUPER, json={"content": "ALWAYS-CITE"}
    )
    sid = await _session(api, PLAIN)
    await chat(api, {"sessionId": sid, "message": "hi"}, uid=PLAIN)
    assert "ALWAYS-CITE" in huggingface.main_requests()[-1]["messages"][0]["content"]
    stored = await api.json("GET", "/api/super-user/global-context", uid=SUPER)
    assert stored["content"] == "ALWAYS-CITE" and not stored["is_default"]
    # Empty restores the default.
    result = await api.json(
        "POST", "/api/super-user/global-context", uid=SUPER, json={"content": ""}
    )
    assert result == {"success": True, "content": "", "is_default": True}
    await chat(api, {"sessionId": sid, "message": "again"}, uid=PLAIN)
    system = huggingface.main_requests()[-1]["messages"][0]["content"]
    assert "ALWAYS-CITE" not in system and DEFAULT_PLATFORM_INSTRUCTIONS in system
    first, second = await _audit(db, action="PLATFORM_INSTRUCTIONS_CHANGED")
    assert first["details"] == {"from": None, "to": "ALWAYS-CITE"}
    assert second["details"] == {"from": "ALWAYS-CITE", "to": None}
    assert first["target_id"] is None and first["actor_id"] == SUPER
    for bad in ({"content": 5}, {"content": "x" * 16_001}, {}):
        resp = await api.call("POST", "/api/super-user/global-context", uid=SUPER, json=bad)
        assert resp.status == 400


async def test_web_search_switch(api, db):
    await _staff(api, db)
    assert await api.json("GET", "/api/super-user/web-search", uid=SUPER) == {"enabled": True}
    await api.json("PATCH", "/api/super-user/web-search", uid=SUPER, json={"enabled": False})
    assert await api.json("GET", "/api/super-user/web-search", uid=SUPER) == {"enabled": False}
    assert (
        await db.fetchval("SELECT value FROM global_settings WHERE key = 'web_search_enabled'")
        == "false"
    )
    resp = await api.call("PATCH", "/api/super-user/web-search", uid=SUPER, json={"enabled": "no"})
    assert resp.status == 400
    (entry,) = await _audit(db, action="WEB_SEARCH_CHANGED")
    assert entry["details"] == {"from": True, "to": False}


async def test_the_original_settings_routes_are_the_same_switch(api, db):
    """PUT /api/admin/settings/web_search_enabled (the original's) and PATCH
    /api/super-user/web-search change one stored setting, the one chat reads."""
    await _staff(api, db)
    put = "/api/admin/settings/web_search_enabled"
    assert await api.json("GET", "/api/admin/settings", uid=ADMIN) == {"web_search_enabled": True}
    result = await api.json("PUT", put, uid=SUPER, json={"value": False})
    assert result == {"success": True, "key": "web_search_enabled", "value": "false"}
    assert await api.json("GET", "/api/super-user/web-search", uid=SUPER) == {"enabled": False}
    assert await api.json("GET", "/api/admin/settings", uid=ADMIN) == {"web_search_enabled": False}
    # The original's front end may send the string.
    await api.json("PUT", put, uid=SUPER, json={"value": "true"})
    assert await api.json("GET", "/api/admin/settings", uid=PLAIN, status=403)
    assert await api.json("GET", "/api/super-user/web-search", uid=SUPER) == {"enabled": True}
    await api.json("PATCH", "/api/super-user/web-search", uid=SUPER, json={"enabled": False})
    assert await api.json("GET", "/api/admin/settings", uid=ADMIN) == {"web_search_enabled": False}
    for body in ({}, {"value": None}, {"value": 0}, {"value": "yes"}, {"value": [True]}):
        assert (await api.call("PUT", put, uid=SUPER, json=body)).status == 400, body
    resp = await api.call(
        "PUT", "/api/admin/settings/pending_super_user_transfer", uid=SUPER, json={"value": True}
    )
    assert resp.status == 400 and "web_search_enabled" in (await resp.json())["error"]
    assert (await api.call("PUT", put, uid=ADMIN, json={"value": True})).status == 403
    changes = [e["details"] for e in await _audit(db, action="WEB_SEARCH_CHANGED")]
    assert changes == [
        {"from": True, "to": False},
        {"from": False, "to": True},
        {"from": True, "to": False},
    ]
    assert await db.fetch("SELECT key, value FROM global_settings") == [
        ("web_search_enabled", "false")
    ]


# ---------------------------------------------------------------------------
# The audit log.


async def test_an_action_and_its_audit_entry_commit_together(api, db):
    """If the audit entry cannot be written, the change is not made either."""
    await _staff(api, db)
    await db.execute(
        """
        CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'audit unavailable'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse();
        """
    )
    calls = [
        ("PATCH", f"/api/admin/user/{PLAIN}/block", ADMIN, {"duration": "24h"}),
        ("PATCH", f"/api/admin/user/{PLAIN}/tier", ADMIN, {"tier": "teams"}),
        ("PATCH", f"/api/super-user/user/{PLAIN}/role", SUPER, {"role": "admin"}),
        ("POST", "/api/super-user/global-context", SUPER, {"content": "LOST"}),
        ("PATCH", "/api/super-user/web-search", SUPER, {"enabled": False}),
        ("PUT", "/api/admin/settings/web_search_enabled", SUPER, {"value": False}),
        ("POST", "/api/super-user/transfer/initiate", SUPER, {"targetAdminId": ADMIN}),
        ("POST", "/api/admin/self-demote", ADMIN, None),
    ]
    for method, path, caller, body in calls:
        resp = await api.call(method, path, uid=caller, json=body)
        assert resp.status == 500, path
    row = await db.fetchrow("SELECT role, status, tier FROM users WHERE id = $1", PLAIN)
    assert tuple(row) == ("user", "active", "free")
    assert await db.fetchval("SELECT role FROM users WHERE id = $1", ADMIN) == "admin"
    assert await db.fetchval("SELECT count(*) FROM global_settings") == 0
    # And an accepted transfer: the roles stay where they were.
    await db.execute(
        "INSERT INTO global_settings (key, value) VALUES ('pending_super_user_transfer', $1)",
        ADMIN,
    )
    assert (await api.call("POST", "/api/admin/transfer/accept", uid=ADMIN)).status == 500
    roles = dict(await db.fetch("SELECT id, role FROM users"))
    assert roles == {PLAIN: "user", ADMIN: "admin", SUPER: "super_user"}


async def test_audit_log_pages_and_filters(api, db):
    await _staff(api, db)
    for tier in ("basic", "pro", "teams"):
        await api.json("PATCH", f"/api/admin/user/{PLAIN}/tier", uid=ADMIN, json={"tier": tier})
    await api.json("PATCH", "/api/super-user/web-search", uid=SUPER, json={"enabled": False})
    page = await api.json("GET", "/api/super-user/audit-log?limit=2", uid=SUPER)
    assert [e["action"] for e in page["entries"]] == ["WEB_SEARCH_CHANGED", "TIER_CHANGED"]
    rest = await api.json(
        "GET", f"/api/super-user/audit-log?limit=2&before={page['next_before']}", uid=SUPER
    )
    assert [e["details"]["to"] for e in rest["entries"]] == ["pro", "basic"]
    first = rest["entries"][-1]
    assert (first["actor_id"], first["actor_email"], first["target_email"]) == (
        ADMIN,
        f"{ADMIN}@example.com",
        f"{PLAIN}@example.com",
    )
    by_target = await api.json("GET", f"/api/super-user/audit-log?target={PLAIN}", uid=SUPER)
    assert len(by_target["entries"]) == 3 and by_target["next_before"] is None
    by_action = await api.json(
        "GET", "/api/super-user/audit-log?action=WEB_SEARCH_CHANGED", uid=SUPER
    )
    assert [e["actor_id"] for e in by_action["entries"]] == [SUPER]
    for query in ("action=DROP", "limit=0", "before=x"):
        resp = await api.call("GET", f"/api/super-user/audit-log?{query}", uid=SUPER)
        assert resp.status == 400


# ---------------------------------------------------------------------------
# The command line: the only way to make a super user.


@pytest.fixture
async def pool(database_url):
    # Set up as the service's pool is (its jsonb codec).
    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=2, init=db_pool._init_connection
    )
    yield pool
    await pool.close()


async def test_grant_makes_the_one_super_user(db, pool):
    for uid in ("first", "second"):
        await _user(db, uid)
    message = await admin_cli.grant(pool, "super_user", "first")
    assert message == "first@example.com (first) is now super_user (was user)"
    with pytest.raises(admin_cli.GrantRefused, match="--replace"):
        await admin_cli.grant(pool, "super_user", "second")
    await admin_cli.grant(pool, "super_user", "second", replace=True)
    roles = dict(await db.fetch("SELECT id, role FROM users"))
    assert roles == {"first": "admin", "second": "super_user"}
    entries = await _audit(db)
    assert [(e["target_id"], e["details"]["from"], e["details"]["to"]) for e in entries] == [
        ("first", "user", "super_user"),
        ("first", "super_user", "admin"),
        ("second", "user", "super_user"),
    ]
    assert {(e["actor_id"], e["actor_role"], e["details"]["via"]) for e in entries} == {
        (None, "operator", "cli")
    }
    with pytest.raises(admin_cli.GrantRefused, match="sign in once"):
        await admin_cli.grant(pool, "admin", "nobody")
    # The database itself refuses a second super user, whatever writes it.
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute("UPDATE users SET role = 'super_user' WHERE id = 'first'")


async def _run_cli(*args: str, env: dict[str, str], shell: bool = False, cwd=None):
    environment = {**os.environ, **env}
    if shell:
        process = await asyncio.create_subprocess_shell(
            args[0], env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    else:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "handler",
            *args,
            env=environment,
            cwd=cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def test_the_command_line_grants_against_a_database(db, database_url, tmp_path):
    await _user(db, "ops-lead")
    env = {"DATABASE_URL": database_url, "DATABASE_SSL": "disable"}
    code, out, err = await _run_cli("admin", "grant", "admin", "ops-lead", env=env)
    assert (code, err) == (0, "")
    assert "ops-lead@example.com (ops-lead) is now admin (was user)" in out
    code, out, err = await _run_cli("admin", "grant", "super_user", "ghost", env=env)
    assert code == 1 and "no user 'ghost'" in err
    code, out, err = await _run_cli("admin", "grant", "emperor", "ops-lead", env=env)
    assert code == 2 and "invalid choice" in err
    # No database named, and no make dev here (tmp_path) that recorded one.
    code, out, err = await _run_cli(
        "admin", "grant", "admin", "ops-lead", env={"DATABASE_URL": ""}, cwd=tmp_path
    )
    assert code == 1 and "DATABASE_URL" in err


async def test_the_deploy_guide_grant_command_as_written(db, database_url, repo_root):
    """docs/deploy.md's bootstrap command, run as written, with the guide's variables."""
    (command,) = [c for c in deploy_guide.commands() if "handler admin grant" in c]
    await _user(db, "founder")
    code, _, err = await _run_cli(
        f"cd {repo_root} && PATH={os.path.dirname(sys.executable)}:$PATH {command}",
        env={"DATABASE_URL": database_url, "DATABASE_SSL": "disable", "FIREBASE_UID": "founder"},
        shell=True,
    )
    assert code == 0, err
    assert await db.fetchval("SELECT role FROM users WHERE id = 'founder'") == "super_user"


# ---------------------------------------------------------------------------
# OpenAPI: what the route modules hand to /openapi.json.


def test_openapi_paths_describe_every_operator_route_with_its_role():
    described = {**admin_routes.OPENAPI_PATHS, **super_user_routes.OPENAPI_PATHS}
    pairs = {(m.upper(), p) for p, ops in described.items() for m in ops}
    assert pairs == _operator_routes()
    only = {
        ("put", "/api/admin/settings/{key}"): "super_user",
        ("post", "/api/admin/self-demote"): "admin",
        ("post", "/api/admin/transfer/accept"): "admin",
    }
    for path, ops in described.items():
        for method, op in ops.items():
            needed = "super_user" if path.startswith("/api/super-user/") else "admin or super_user"
            needed = only.get((method, path), needed)
            assert op["description"].startswith(f"Role: {needed} "), path
            assert {"401", "403"} <= set(op["responses"]), path
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == {n.strip("{}") for n in path.split("/") if n.startswith("{")}, path
