"""A cold container's first signed-in chat, against its own cold /health.

Both run the packaged zip through the exec wrapper and our loop under the emulator
(as bench/cold_start.py), against real PostgreSQL (pgserver) and a local endpoint
publishing the certificate of a local RS256 key, as Google publishes Firebase's;
tokens are real RS256 tokens signed with that key. The database is migrated once,
before the measured runs; their containers only check the schema, as deployed ones
do (MIGRATE_ON_START unset). Timed from exec to the first body
byte reaching the Runtime API: /health's body, and the chat's first server-sent
event (`connecting`, which goes out once the caller is signed in and allowed).
Runs are interleaved; medians.

Usage: python bench/first_chat.py [--runs 15] [--package dist/local.zip]
Target: the chat at most 1.10x the cold /health (issues 18 and 26).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from aiohttp import web
from lambda_setup import HEALTH, clean_python, event, figure, function_env, interleaved, package

from devtools.lambda_emulator import Emulator, LocalCertificates, ensure_signing_key
from handler.auth.emulator import LOCAL_PROJECT, signed_token

UID = "bench-user"


async def first_body_byte(task_root: Path, python: str, env: dict, request: dict) -> float:
    emulator = Emulator(task_root, env, python=python)
    await emulator.start()
    try:
        invocation = await emulator.invoke(request)  # starts the function process
        started = emulator.process_started_at
        start = await invocation.start
        assert start.get("statusCode") == 200, start
        assert await invocation.body.get(), "no body"
        elapsed = time.monotonic() - started
        await invocation.done.wait()
        return elapsed
    finally:
        await emulator.close()


async def create_session(task_root: Path, python: str, env: dict, token: str) -> str:
    """Sign in and create the chat's session (migrating the database, given MIGRATE_ON_START)."""
    emulator = Emulator(task_root, env, python=python)
    await emulator.start()
    try:
        invocation = await emulator.invoke(
            event("POST", "/api/sessions", {"authorization": f"Bearer {token}"})
        )
        start = await invocation.start
        assert start.get("statusCode") == 201, start
        body = b""
        while (chunk := await invocation.body.get()) is not None:
            body += chunk
        return json.loads(body)["id"]
    finally:
        await emulator.close()


async def measure(runs: int, task_root: Path, python: str, scratch: Path) -> dict[str, float]:
    import pgserver

    keys = scratch / "local-auth"
    certificates = web.AppRunner(LocalCertificates(ensure_signing_key(keys)).app())
    await certificates.setup()
    site = web.TCPSite(certificates, "127.0.0.1", 0)
    await site.start()
    port = certificates.addresses[0][1]
    db = pgserver.get_server(scratch / "pg", cleanup_mode="delete")
    try:
        env = function_env(
            DATABASE_URL=db.get_uri(),
            FIREBASE_PROJECT_ID=LOCAL_PROJECT,
            FIREBASE_CERTS_URL=f"http://127.0.0.1:{port}/certs",
            RATE_LIMITS="free=1000000",
        )
        token = signed_token(LOCAL_PROJECT, UID, keys)
        session = await create_session(task_root, python, env | {"MIGRATE_ON_START": "true"}, token)
        chat = event(
            "POST",
            "/api/chat",
            {"authorization": f"Bearer {token}", "content-type": "application/json"},
            json.dumps({"sessionId": session, "message": "TypeError: x is undefined"}),
        )
        return await interleaved(
            runs,
            {
                "health": lambda: first_body_byte(task_root, python, env, HEALTH),
                "chat": lambda: first_body_byte(task_root, python, env, chat),
            },
        )
    finally:
        await certificates.cleanup()
        db.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--package", help="a zip built with --python-version local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as scratch:
        task_root = package(Path(scratch), args.package)
        python = clean_python(Path(scratch))
        medians = asyncio.run(measure(args.runs, task_root, python, Path(scratch)))
    chat, health = medians["chat"], medians["health"]
    figure(
        "cold first signed-in chat, exec to first server-sent event",
        f"{chat * 1e3:.1f} ms = {chat / health:.2f}x cold /health to first body byte "
        f"({health * 1e3:.1f} ms)",
        "<= 1.10x",
        runs=args.runs,
    )


if __name__ == "__main__":
    main()
