"""After each invocation: hooks contained, background work given sane time.

The function runs as on Lambda, behind the emulator; the test app's extra hook
(tests/lambda_app.py) raises on demand, before the app's own background drain.
"""

import json

import pytest

from tests.chatstream import read


async def _two_turns(url, firebase) -> None:
    """Two chat turns: four messages, so the second turn's summary is due."""
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    parent = None
    for message in ("one", "two"):
        body = {"sessionId": session["id"], "message": message}
        if parent:
            body["parentId"] = parent
        t = await read(await url.post("/api/chat", json=body, headers=auth))
        assert t.kinds()[-1] == "[DONE]"
        parent = t.first("messageId")


async def _summaries(db) -> int:
    return await db.fetchval("SELECT count(*) FROM vector_items WHERE kind = 'session_summary'")


async def test_a_failing_hook_is_logged_and_the_loop_goes_on(start_lambda, firebase, db):
    url = await start_lambda()
    url.emulator.capture_output = True
    assert (await url.get("/test/hooks-fail?on=1")).status == 200
    pid = url.emulator.process.pid
    await _two_turns(url, firebase)
    assert (await url.get("/health")).status == 200
    assert url.emulator.process.pid == pid and url.emulator.process.returncode is None
    # The drain after the failing hook still ran: the summary is in before the next event.
    assert await _summaries(db) == 1
    failures = [
        json.loads(line)
        for line in url.emulator.output
        if "after-invoke hook failed" in line and line.startswith("{")
    ]
    assert len(failures) >= 4  # every invocation since it was switched on
    assert "after-invoke hook failed on purpose" in failures[0]["exception"]  # with traceback


@pytest.mark.parametrize("header", ["", "soon", "0"])
async def test_without_a_usable_deadline_background_work_still_finishes(
    start_lambda, firebase, db, header
):
    url = await start_lambda()
    url.emulator.deadline_header = header  # missing, malformed, or zero
    await _two_turns(url, firebase)
    assert (await url.get("/health")).status == 200
    assert await _summaries(db) == 1
