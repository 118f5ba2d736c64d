"""A request that cannot get a pooled connection in time is a 503, not a hang."""

from handler.keys import DATABASE


async def test_a_busy_pool_answers_503_then_recovers(make_api):
    api = await make_api(database_pool_max=1, database_acquire_timeout=0.2)
    assert (await api.call("GET", "/api/sessions")).status == 200
    pool = await api.app[DATABASE].pool()

    held = await pool.acquire()  # e.g. a streamed answer still writing
    try:
        resp = await api.call("GET", "/api/sessions")
        assert resp.status == 503
        assert await resp.json() == {"error": "The database is busy; try again shortly"}
    finally:
        await pool.release(held)

    assert (await api.call("GET", "/api/sessions")).status == 200
