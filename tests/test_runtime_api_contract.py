"""Every status the Runtime API documents, answered at chosen points while chats stream.

AWS's contract (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
400, 403 and 413 to a response or an error report are the failure of that one
invocation; 403 to `invocation/next` is a refusal to ask again; only 500 means
"runtime should exit". The function runs as on Lambda, in its own process, behind
the emulator, which answers those statuses where a test asks it to.
"""

import asyncio
import json

import pytest

from tests.chatstream import read

WAIT = 30  # seconds a test waits for the function process; a bound, not a pause


def _entries(emulator) -> list[dict]:
    """The function's output lines, JSON parsed (a line logged before logging was
    configured is its message alone)."""
    found = []
    for line in emulator.output:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = {"message": line}
        found.append(entry if isinstance(entry, dict) else {"message": line})
    return found


def _lines(emulator, words: str) -> list[dict]:
    """The function's log lines whose message contains `words`."""
    return [e for e in _entries(emulator) if words in e.get("message", "")]


async def _started(start_lambda, **env):
    url = await start_lambda(**env)
    url.emulator.capture_output = True
    assert (await url.get("/health")).status == 200
    return url


async def _chat_in_new_session(url, firebase):
    """A session, then a function that sends the chat's request (after a refusal is set)."""
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()

    async def chat():
        body = {"sessionId": session["id"], "message": "hi"}
        return await url.post("/api/chat", json=body, headers=auth)

    return chat


async def _same_process_serves_on(url, pid: int) -> None:
    assert (await url.get("/health")).status == 200
    assert url.emulator.process.pid == pid and url.emulator.process.returncode is None


@pytest.mark.parametrize("status", [400, 403, 413])
async def test_a_refused_streamed_chat_fails_alone(start_lambda, firebase, db, status):
    url = await _started(start_lambda)
    pid = url.emulator.process.pid
    chat = await _chat_in_new_session(url, firebase)
    url.emulator.refuse("stream", status)
    resp = await chat()
    with pytest.raises(Exception):  # noqa: B017 - the refused stream is cut, as on AWS
        await read(resp)
    await _same_process_serves_on(url, pid)
    (line,) = _lines(url.emulator, "refused this invocation's answer")
    assert str(status) in line["error"]
    # What was generated was saved before the refusal came.
    stored = await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'")
    assert stored == "The bug is a missing null check."


async def test_a_stream_refused_right_after_its_prelude(start_lambda, firebase, db, huggingface):
    huggingface.delay = 0.05  # chunks keep coming after the Runtime API hung up
    url = await _started(start_lambda)
    pid = url.emulator.process.pid
    chat = await _chat_in_new_session(url, firebase)
    url.emulator.refuse("stream_early", 413)
    resp = await chat()
    with pytest.raises(Exception):  # noqa: B017
        await read(resp)
    await _same_process_serves_on(url, pid)
    lines = _lines(url.emulator, "Runtime API")
    assert len(lines) == 1, lines
    assert "the runtime goes on" in lines[0]["message"]
    # What the model had sent when the runtime saw the connection gone is kept. How
    # far the turn got races the first write after the hang-up (a status event may be
    # it, before the answer's row exists), so the answer's metric says what to expect.
    (answer,) = [e for e in _entries(url.emulator) if "Answers" in e]
    assert answer["outcome"] == "stopped"
    rows = await db.fetch("SELECT content FROM messages WHERE role = 'assistant'")
    stored = [r["content"] for r in rows]
    assert len(stored) <= 1 and all(
        "The bug is a missing null check.".startswith(text) for text in stored
    )
    if answer["AnswerTokens"]:
        assert stored and stored[0], answer


@pytest.mark.parametrize("status", [400, 403, 413])
async def test_a_refused_buffered_response_fails_alone(start_lambda, status):
    url = await _started(start_lambda, LAMBDA_INVOKE_MODE="BUFFERED")
    pid = url.emulator.process.pid
    url.emulator.refuse("response", status)
    assert (await url.get("/test/binary")).status == 502
    await _same_process_serves_on(url, pid)
    (line,) = _lines(url.emulator, "refused this invocation's answer")
    assert str(status) in line["error"]


@pytest.mark.parametrize("status", [400, 403])
async def test_a_refused_error_report_fails_alone(start_lambda, status):
    url = await _started(start_lambda)
    pid = url.emulator.process.pid
    url.emulator.refuse("error", status)
    assert (await url.get("/test/raise-before")).status == 502
    await _same_process_serves_on(url, pid)
    (line,) = _lines(url.emulator, "refused this invocation's answer")
    assert f"/error answered {status}" in line["error"]


@pytest.mark.parametrize("status", [403, 200])  # 200: an "event" without a request id
async def test_a_refused_next_is_asked_again(start_lambda, firebase, status):
    url = await _started(start_lambda)
    pid = url.emulator.process.pid
    chat = await _chat_in_new_session(url, firebase)
    url.emulator.refuse("next", status)
    url.emulator.refuse("next", status)
    t = await read(await chat())
    assert t.kinds()[-1] == "[DONE]"
    await _same_process_serves_on(url, pid)
    assert len(_lines(url.emulator, "invocation/next refused")) == 2


async def test_500_to_next_ends_the_runtime_with_one_line(start_lambda):
    url = await start_lambda()
    url.emulator.capture_output = True
    url.emulator.refuse("next", 500)  # the very first `next`: no race with the function
    assert (await url.get("/health")).status == 200  # from the container started next
    assert url.emulator.exit_codes == [1]
    (line,) = _lines(url.emulator, "the runtime exits")
    assert "invocation/next answered 500" in line["error"]


@pytest.mark.parametrize("path", ["/api/chat", "/test/raise-before"])
async def test_500_to_an_answer_ends_the_runtime_with_one_line(start_lambda, firebase, path):
    url = await _started(start_lambda)
    first = url.emulator.process
    chat = await _chat_in_new_session(url, firebase)
    if path == "/api/chat":
        url.emulator.refuse("stream", 500)
        with pytest.raises(Exception):  # noqa: B017
            await read(await chat())
    else:
        url.emulator.refuse("error", 500)
        assert (await url.get(path)).status == 502
    assert await asyncio.wait_for(first.wait(), WAIT) == 1
    (line,) = _lines(url.emulator, "the runtime exits")
    assert "answered 500" in line["error"]
    # Lambda starts a new container for the next event.
    assert (await url.get("/health")).status == 200
    assert url.emulator.process.pid != first.pid


async def test_a_500_to_a_buffered_response_ends_the_runtime(start_lambda):
    url = await _started(start_lambda, LAMBDA_INVOKE_MODE="BUFFERED")
    first = url.emulator.process
    url.emulator.refuse("response", 500)
    assert (await url.get("/health")).status == 502
    assert await asyncio.wait_for(first.wait(), WAIT) == 1
    assert len(_lines(url.emulator, "the runtime exits")) == 1


@pytest.mark.parametrize("status", [403, 500])
async def test_a_refused_init_error_is_one_line_and_an_exit(start_lambda, status):
    url = await start_lambda(PORT="not-a-port")
    url.emulator.capture_output = True
    url.emulator.refuse("init", status)
    assert (await url.get("/health")).status == 502
    assert await asyncio.wait_for(url.emulator.process.wait(), WAIT) == 1
    (line,) = _lines(url.emulator, "init/error was not accepted")
    assert f"init/error answered {status}" in line["message"]
