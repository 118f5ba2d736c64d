"""CORS through the Lambda runtime: a page on another origin must see every response."""

import pytest

from tests.chatstream import read

ORIGIN = "http://localhost:3000"


@pytest.mark.parametrize("mode", ["RESPONSE_STREAM", "BUFFERED"])
async def test_chat_stream_and_errors_carry_cors_headers(start_lambda, firebase, mode):
    url = await start_lambda(LAMBDA_INVOKE_MODE=mode, CORS_ORIGINS=ORIGIN)
    auth = {"Authorization": f"Bearer {firebase.token('alice')}", "Origin": ORIGIN}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    resp = await url.post(
        "/api/chat", json={"sessionId": session["id"], "message": "hi"}, headers=auth
    )
    transcript = await read(resp)
    assert transcript.events[-1] == "[DONE]"
    denied = await url.get("/api/sessions", headers={"Origin": ORIGIN})
    assert denied.status == 401
    for response in (resp, denied):
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in response.headers["Vary"]
