"""Hardening (issue 12): each test starts from the reproduction that used to fail."""

from __future__ import annotations

import asyncio

SIGN_IN_ROUNDS = 3
NEW_USERS = 20
PARALLEL = 8


async def test_concurrent_first_requests_of_new_users_all_succeed(make_api, db):
    # Reproduction: several first requests of a brand-new user at once; the
    # upsert's fallback SELECT ran on the statement's snapshot and saw no row
    # when another transaction inserted it (TypeError in sign_in, 500).
    api = await make_api(database_pool_max=PARALLEL * 2)
    for round_ in range(SIGN_IN_ROUNDS):
        uids = [f"new-{round_}-{i}" for i in range(NEW_USERS)]
        calls = [
            api.call("GET", "/api/user/profile", uid=uid) for uid in uids for _ in range(PARALLEL)
        ]
        statuses = [resp.status for resp in await asyncio.gather(*calls)]
        assert statuses == [200] * len(calls), sorted(set(statuses))
        stored = await db.fetchval("SELECT count(*) FROM users WHERE id = ANY($1)", uids)
        assert stored == NEW_USERS


EVIL = "https://evil.example"
FRONT_END = "http://localhost:3000"  # the default CORS_ORIGINS


async def _projects(db) -> list[str]:
    return sorted(r["name"] for r in await db.fetch("SELECT name FROM projects"))


async def test_cross_site_form_post_with_the_cookie_is_refused(api, db):
    # Reproduction: what an HTML form on another site sends (text/plain, no
    # preflight) with the cookie attached used to be stored (201); the same
    # planted a memory that entered every later prompt.
    cookie = {"debugflow_token": api.firebase.token("alice")}
    planted = '{"name": "Planted by evil.example"}'
    for origin in (EVIL, "null", None):
        headers = {"Content-Type": "text/plain"} | ({"Origin": origin} if origin else {})
        resp = await api.call(
            "POST", "/api/projects", uid=None, cookies=cookie, data=planted, headers=headers
        )
        body = await resp.json()
        assert resp.status == 403, (origin, body)
        assert "Cross-site request refused" in body["error"]
    delete = await api.call(
        "DELETE", "/api/user/history", uid=None, cookies=cookie, headers={"Origin": EVIL}
    )
    assert delete.status == 403
    assert await _projects(db) == []


async def test_cookie_writes_from_the_front_end_and_header_writes_still_work(api, db):
    cookie = {"debugflow_token": api.firebase.token("alice")}
    own = await api.call(
        "POST",
        "/api/projects",
        uid=None,
        cookies=cookie,
        json={"name": "Mine"},
        headers={"Origin": FRONT_END},
    )
    assert own.status == 201, await own.text()
    # A page on another site cannot set Authorization without a preflight,
    # which is refused for unlisted origins: header-authenticated calls are unaffected.
    header = await api.call(
        "POST", "/api/projects", json={"name": "By header"}, headers={"Origin": EVIL}
    )
    assert header.status == 201, await header.text()
    read = await api.call("GET", "/api/user/profile", uid=None, cookies=cookie)
    assert read.status == 200  # safe methods need no Origin
    assert await _projects(db) == ["By header", "Mine"]
