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
