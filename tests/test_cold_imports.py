"""A cold process answering /health must not import clients it does not use."""

import subprocess
import sys

SERVE_HEALTH_ONCE = """
import asyncio
from aiohttp import web, ClientSession
from handler.app import create_app
from handler.settings import Settings

async def main():
    runner = web.AppRunner(create_app(Settings.from_env({})))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}/health") as r:
        assert r.status == 200, r.status
    await runner.cleanup()

asyncio.run(main())
"""

FORBIDDEN = ("asyncpg", "google.auth", "pinecone", "cryptography", "boto3", "botocore")


def test_health_imports_no_database_auth_or_model_client(repo_root):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SERVE_HEALTH_ONCE],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    imported = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "handler.app" in imported
    loaded = sorted(m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert loaded == []
