"""The chat model fails before its first token: the fallback model answers, once.

Real HTTP on loopback: the HuggingFace stand-in refuses the chat model (429,
503, a dropped connection, a stall past HF_READ_TIMEOUT, an error in its
stream) while the fallback model answers. The turn says so in one
`model_fallback` status event, the saved answer records the model that wrote
it, and the user's message is kept whatever happens.
"""

import uuid

import pytest

from tests.chatstream import chat
from tests.standins import huggingface as hf

ANSWER = "The bug is a missing null check."


@pytest.fixture
async def fallback_api(make_chat_api):
    return await make_chat_api(hf_fallback_model=hf.FALLBACK_MODEL, hf_read_timeout=0.5)


async def _session(api) -> str:
    return (await api.json("POST", "/api/sessions", status=201))["id"]


async def _stored(db, sid):
    return await db.fetch(
        "SELECT role, content, model FROM messages WHERE session_id = $1 ORDER BY created_at",
        uuid.UUID(sid),
    )


def _fail_main(huggingface, how: str) -> None:
    if how == "drops":
        huggingface.model_drops.add(hf.MAIN_MODEL)
    elif how == "stalls":
        huggingface.model_stalls.add(hf.MAIN_MODEL)
    elif how == "error event":
        huggingface.first_frame = {"error": {"message": "Model overloaded"}}
    else:
        huggingface.model_status[hf.MAIN_MODEL] = int(how)


@pytest.mark.parametrize("how", ["429", "503", "500", "drops", "stalls", "error event"])
async def test_the_fallback_answers_when_the_chat_model_fails_first(
    fallback_api, db, huggingface, how
):
    _fail_main(huggingface, how)
    sid = await _session(fallback_api)
    t = await chat(fallback_api, {"sessionId": sid, "message": "Why does parse() crash?"})
    kinds = t.kinds()
    assert kinds[-1] == "[DONE]" and t.text() == ANSWER
    (switch,) = [e for e in t.events if isinstance(e, dict) and e.get("status") == "model_fallback"]
    assert switch == {
        "status": "model_fallback",
        "model": hf.FALLBACK_MODEL,
        "failed_model": hf.MAIN_MODEL,
    }
    assert kinds.index("model_fallback") < kinds.index("content")
    # Asked once each, the same prompt and budget.
    (main,) = huggingface.main_requests()
    (fallback,) = huggingface.fallback_requests()
    assert fallback["messages"] == main["messages"]
    assert fallback["max_tokens"] == main["max_tokens"] == 65536
    user, answer = await _stored(db, sid)
    assert (user["role"], user["content"], user["model"]) == (
        "user",
        "Why does parse() crash?",
        None,
    )
    assert (answer["role"], answer["content"], answer["model"]) == (
        "assistant",
        ANSWER,
        hf.FALLBACK_MODEL,
    )


async def test_the_chat_model_answering_is_recorded_and_nothing_else_is_asked(
    fallback_api, db, huggingface
):
    sid = await _session(fallback_api)
    t = await chat(fallback_api, {"sessionId": sid, "message": "q"})
    assert "model_fallback" not in t.kinds() and t.text() == ANSWER
    assert huggingface.fallback_requests() == []
    assert [r["model"] for r in await _stored(db, sid)] == [None, hf.MAIN_MODEL]


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_a_refusal_another_model_would_share_is_not_retried(
    fallback_api, db, huggingface, status
):
    huggingface.model_status[hf.MAIN_MODEL] = status
    sid = await _session(fallback_api)
    t = await chat(fallback_api, {"sessionId": sid, "message": "q"})
    assert "error" in t.kinds() and "model_fallback" not in t.kinds()
    assert huggingface.fallback_requests() == []
    assert [r["content"] for r in await _stored(db, sid)] == ["q", ""]


async def test_after_the_first_token_a_failure_keeps_the_text_and_is_not_retried(
    fallback_api, db, huggingface
):
    huggingface.fail_after = 3
    sid = await _session(fallback_api)
    t = await chat(fallback_api, {"sessionId": sid, "message": "q"})
    assert t.kinds()[-1] == "error" and t.text() == "The bug is "
    assert huggingface.fallback_requests() == []
    _, answer = await _stored(db, sid)
    assert (answer["content"], answer["model"]) == ("The bug is ", hf.MAIN_MODEL)


async def test_when_both_fail_the_user_message_stays_and_the_error_is_the_fallbacks(
    fallback_api, db, huggingface
):
    huggingface.status = 503  # every answering model
    sid = await _session(fallback_api)
    t = await chat(fallback_api, {"sessionId": sid, "message": "keep me"})
    # The title may come at any point of the stream; the fallback is announced, then fails.
    assert [k for k in t.kinds() if k != "title"][-2:] == ["model_fallback", "error"]
    assert t.events[-1] == {"error": "The model service failed (HTTP 503)"}
    assert len(huggingface.main_requests()) == len(huggingface.fallback_requests()) == 1
    user, answer = await _stored(db, sid)
    assert (user["content"], answer["content"]) == ("keep me", "")
    assert answer["model"] == hf.FALLBACK_MODEL


async def test_without_a_fallback_model_the_failure_is_reported_as_before(
    make_chat_api, db, huggingface
):
    api = await make_chat_api(hf_fallback_model=None)
    huggingface.model_status[hf.MAIN_MODEL] = 429
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "q"})
    assert t.events[-1] == {"error": "The model service is busy (rate limited); try again shortly"}
    assert "model_fallback" not in t.kinds() and huggingface.fallback_requests() == []


async def test_the_api_names_the_model_that_wrote_each_answer(fallback_api, huggingface):
    sid = await _session(fallback_api)
    await chat(fallback_api, {"sessionId": sid, "message": "first"})
    first_answer = (await fallback_api.json("GET", f"/api/sessions/{sid}/messages"))[-1]
    huggingface.model_status[hf.MAIN_MODEL] = 503
    await chat(
        fallback_api, {"sessionId": sid, "message": "second", "parentId": first_answer["id"]}
    )
    listed = await fallback_api.json("GET", f"/api/sessions/{sid}/messages")
    assert [(m["role"], m["content"], m["model"]) for m in listed] == [
        ("user", "first", None),
        ("assistant", ANSWER, hf.MAIN_MODEL),
        ("user", "second", None),
        ("assistant", ANSWER, hf.FALLBACK_MODEL),
    ]
    session = await fallback_api.json("GET", f"/api/sessions/{sid}")
    assert session["messages"] == listed
    deleted = await fallback_api.json("DELETE", f"/api/messages/{listed[-1]['id']}")
    assert deleted["message"]["model"] == hf.FALLBACK_MODEL
    restored = await fallback_api.json("POST", f"/api/messages/{listed[-1]['id']}/restore")
    assert restored["message"] == listed[-1]
