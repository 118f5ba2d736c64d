"""The service as `make dev` runs it (`python -m handler serve`), under load.

50 concurrent chats and 200 concurrent REST calls from new users at once:
nothing fails, and every answer is stored in full.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from handler.auth.emulator import emulator_token
from tests.chatstream import read
from tests.standins import huggingface as hf
from tests.standins.firebase import PROJECT_ID

CHATS = 50
REST_CALLS = 200
USERS = 10
WORDS = [f"word{i} " for i in range(40)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, url: str, process: asyncio.subprocess.Process) -> None:
        self.url = url
        self.process = process


@pytest.fixture
async def serve(repo_root, database_url) -> AsyncIterator[Callable[..., Any]]:
    """Start `python -m handler serve` with only the given settings on top of its defaults."""
    processes: list[asyncio.subprocess.Process] = []

    async def start(**env: str) -> Served:
        port = _free_port()
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATABASE_URL": database_url,  # make dev's embedded server is this same PostgreSQL
            "DATABASE_SSL": "disable",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "handler", "serve", cwd=repo_root, env=environment
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                assert process.returncode is None, "serve exited"
                try:
                    async with http.get(f"{url}/health") as resp:
                        if resp.status == 200:
                            return Served(url, process)
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("serve did not answer /health")

    yield start
    for process in processes:
        process.terminate()
        try:
            async with asyncio.timeout(30):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_concurrent_chats_and_rest_calls_all_succeed_and_lose_nothing(
    serve, firebase, huggingface, db
):
    huggingface.words = WORDS
    huggingface.delay = 0.05
    served = await serve(
        FIREBASE_PROJECT_ID=PROJECT_ID,
        FIREBASE_CERTS_URL=firebase.url,
        HUGGINGFACE_API_KEY=hf.API_KEY,
        HF_BASE_URL=huggingface.url,
        HF_MODEL=hf.MAIN_MODEL,
        HF_FAST_MODEL=hf.FAST_MODEL,
    )
    users = [f"load-{i}" for i in range(USERS)]
    auth = {uid: {"Authorization": f"Bearer {firebase.token(uid)}"} for uid in users}
    connector = aiohttp.TCPConnector(limit=0)  # every call at once, as many clients would
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def call(method: str, path: str, uid: str, **kwargs: Any) -> tuple[int, Any]:
            async with http.request(method, served.url + path, headers=auth[uid], **kwargs) as resp:
                return resp.status, await resp.json()

        sessions = []
        for i in range(CHATS):
            status, session = await call("POST", "/api/sessions", users[i % USERS])
            assert status == 201, session
            sessions.append(session["id"])

        async def one_chat(i: int) -> Any:
            async with http.post(
                served.url + "/api/chat",
                headers=auth[users[i % USERS]],
                json={"sessionId": sessions[i], "message": f"question {i}"},
            ) as resp:
                return await read(resp)

        def one_rest(i: int):
            uid = users[i % USERS]
            kind = i % 4
            if kind == 0:
                return call("POST", "/api/projects", uid, json={"name": f"project {i}"})
            if kind == 1:
                return call("GET", "/api/sessions", uid)
            if kind == 2:
                return call("GET", "/api/user/profile/full", uid)
            return call("PATCH", f"/api/sessions/{sessions[i % CHATS]}", uid, json={"pinned": True})

        results = await asyncio.gather(
            *[one_chat(i) for i in range(CHATS)], *[one_rest(i) for i in range(REST_CALLS)]
        )
    transcripts, rest = results[:CHATS], results[CHATS:]
    failed = [(i, status, body) for i, (status, body) in enumerate(rest) if status >= 300]
    assert failed == []
    full = "".join(WORDS)
    for i, t in enumerate(transcripts):
        assert t.status == 200 and t.events[-1] == "[DONE]", (i, t.events[-3:])
        assert t.text() == full, i
    stored = await db.fetch(
        "SELECT session_id, content FROM messages WHERE role = 'assistant' ORDER BY session_id"
    )
    assert sorted(str(r["session_id"]) for r in stored) == sorted(sessions)
    assert all(r["content"] == full for r in stored)
    questions = await db.fetchval("SELECT count(*) FROM messages WHERE role = 'user'")
    assert questions == CHATS
    projects = await db.fetchval("SELECT count(*) FROM projects")
    assert projects == REST_CALLS // 4


async def test_emulator_mode_serves_on_loopback(serve):
    served = await serve(
        FIREBASE_PROJECT_ID="demo-debugflow", FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099"
    )
    token = emulator_token("demo-debugflow", f"dev-{uuid.uuid4().hex[:8]}")
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(served.url + "/api/sessions", headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
