"""Chat under failure: each fault ends the stream with an error and loses nothing."""

import asyncio
import logging
import time
import uuid

import pytest
from aiohttp import web

from handler.app import create_app
from handler.keys import DEADLINE_MS
from tests.chatstream import chat, read
from tests.conftest import Api
from tests.standins import huggingface as hf


async def _session(api) -> str:
    return (await api.json("POST", "/api/sessions", status=201))["id"]


async def _stored(db, session_id) -> list[tuple[str, str]]:
    rows = await db.fetch(
        "SELECT role, content FROM messages WHERE session_id = $1 ORDER BY created_at",
        uuid.UUID(session_id),
    )
    return [(r["role"], r["content"]) for r in rows]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, '{"error": "Invalid credentials"}', "rejected the server's credentials"),
        (429, '{"error": {"message": "Rate limit reached"}}', "busy (rate limited)"),
        (500, "Internal Server Error", "The model service failed (HTTP 500)"),
        (503, '{"error": "Model is loading", "estimated_time": 20}', "failed (HTTP 503)"),
    ],
)
async def test_model_refusal_before_streaming(chat_api, db, huggingface, status, body, message):
    huggingface.status, huggingface.error_body = status, body
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "help"})
    assert t.kinds()[:4] == ["connecting", "userMessageId", "messageId", "building_context"]
    assert "[DONE]" not in t.kinds()
    assert message in t.events[-1]["error"]
    assert hf.API_KEY not in str(t.events)
    assert await _stored(db, sid) == [("user", "help"), ("assistant", "")]


async def test_error_object_mid_stream_keeps_the_partial_answer(chat_api, db, huggingface):
    huggingface.fail_after = 3
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "help"})
    assert t.text() == "The bug is "
    assert t.events[-1] == {"error": "The model failed mid-answer: Model overloaded"}
    assert await _stored(db, sid) == [("user", "help"), ("assistant", "The bug is ")]


async def test_dropped_upstream_connection(chat_api, db, huggingface):
    huggingface.abort_after = 2
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "help"})
    assert t.events[-1] == {"error": "Lost the connection to the model service"}
    assert await _stored(db, sid) == [("user", "help"), ("assistant", "The bug ")]


async def test_model_timeout(make_chat_api, db, huggingface):
    api = await make_chat_api(hf_read_timeout=0.5)
    huggingface.stall_after = 2
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "help"})
    assert t.events[-1] == {"error": "The model did not answer in time"}
    assert await _stored(db, sid) == [("user", "help"), ("assistant", "The bug ")]


async def test_client_disconnect_stops_upstream_and_keeps_partial(chat_api, db, huggingface):
    huggingface.delay = 0.1
    huggingface.words = [f"w{i} " for i in range(50)]
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "help"}, stop_after_content=3)
    assert t.text() == "w0 w1 w2 "
    await asyncio.wait_for(huggingface.stream_closed.wait(), 5)
    assert len(huggingface.sent_at) < 50  # the upstream request was stopped
    for _ in range(50):
        stored = await _stored(db, sid)
        if stored[1][1]:
            break
        await asyncio.sleep(0.1)
    role, content = stored[1]
    assert role == "assistant" and content.startswith("w0 w1 w2 ")


async def test_answer_is_saved_while_it_streams(chat_api, db, huggingface):
    huggingface.delay = 0.3
    huggingface.words = [f"w{i} " for i in range(20)]
    huggingface.stall_after = 10  # 3 s of words, then silence with the stream open
    sid = await _session(chat_api)
    resp = await chat_api.call("POST", "/api/chat", json={"sessionId": sid, "message": "m"})
    try:
        content = ""
        for _ in range(60):
            stored = await _stored(db, sid)
            content = stored[1][1] if len(stored) > 1 else ""
            if content:
                break
            await asyncio.sleep(0.1)
        # Saved during the stream, before the model finished (it never does here).
        assert content.startswith("w0 w1 w2 w3 w4 w5")
    finally:
        resp.close()


async def test_database_failure_mid_answer(chat_api, db, huggingface):
    huggingface.delay = 0.25
    huggingface.words = [f"w{i} " for i in range(16)]
    sid = await _session(chat_api)
    resp = await chat_api.call("POST", "/api/chat", json={"sessionId": sid, "message": "m"})
    # The answer is streaming once its first words arrive (saved only after save_every).
    while b'"content"' not in await resp.content.readline():
        pass
    # The database starts refusing writes to messages while the answer streams.
    await db.execute(
        """
        CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
        CREATE TRIGGER refuse BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION refuse();
        """
    )
    t = await read(resp)  # the rest of the stream
    assert t.events[-1] == {
        "error": "The answer could not be saved; copy it before leaving this page"
    }
    assert "[DONE]" not in t.kinds()
    assert 1 + t.kinds().count("content") < 16  # stopped early
    assert (await _stored(db, sid))[0] == ("user", "m")  # the user's message is kept


async def test_retrieval_failure_answers_without_context(chat_api, db, huggingface, caplog):
    caplog.set_level(logging.WARNING)
    # Something to retrieve, so the question is embedded (and the embedding fails).
    await db.execute(
        "INSERT INTO vector_items (id, kind, title, content, embedding) "
        "VALUES ('log:help', 'known_log', 'Help', 'help', $1::vector)",
        "[" + ",".join(["1"] + ["0"] * 383) + "]",
    )
    huggingface.embed_status = 500
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "help"})
    assert t.kinds()[-1] == "[DONE]"
    assert "sources" not in t.kinds()
    assert any("retrieval failed" in r.getMessage() for r in caplog.records)


async def test_deadline_ends_the_stream_cleanly(
    make_client, api_settings, firebase, db, huggingface
):
    # What the Lambda runtime does: tell the app when the invocation will be killed.
    @web.middleware
    async def lambda_deadline(request, handler):
        request[DEADLINE_MS] = int((time.time() + 4.0) * 1000)  # 1 s after the 3 s margin
        return await handler(request)

    app = create_app(
        api_settings(
            hf_api_key=hf.API_KEY,
            hf_base_url=huggingface.url,
            hf_model=hf.MAIN_MODEL,
            hf_fast_model=hf.FAST_MODEL,
        )
    )
    app.middlewares.insert(0, lambda_deadline)
    api = Api(await make_client(app), firebase)
    huggingface.delay = 0.3
    huggingface.words = [f"w{i} " for i in range(20)]
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "m"})
    assert t.events[-1] == {"error": "The answer was cut short by the server's time limit"}
    partial = t.text()
    assert partial and len(partial.split()) < 20
    assert (await _stored(db, sid))[1] == ("assistant", partial)
