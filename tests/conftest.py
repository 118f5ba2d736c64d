"""Shared fixtures: one real PostgreSQL per test run, a fresh database per test.

The server is pgserver's embedded PostgreSQL 16 (with pgvector). A template
database is migrated once; each test gets its own copy of it, so tests are
isolated even when the app holds several connections.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devtools.lambda_emulator import Emulator
from handler.app import create_app
from handler.db.migrate import migrate
from handler.settings import Settings
from tests import work_units
from tests.pgbouncer import PgBouncer
from tests.pgbouncer import start as start_pgbouncer
from tests.standins import huggingface as hf
from tests.standins.firebase import PROJECT_ID, FirebaseCertificates, SigningKey, make_key
from tests.standins.pinecone import PineconeDataPlane
from tests.standins.secrets_extension import SESSION_TOKEN, SecretsExtension
from tests.standins.tavily import Tavily

TEMPLATE_DB = "debugflow_template"


def pytest_configure(config: pytest.Config) -> None:
    """Each run gets its own base temp folder.

    pytest's default (/tmp/pytest-of-USER/pytest-N) keeps only the last three
    runs, so a second pytest on the machine deleted the first one's PostgreSQL
    data directory under it.
    """
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="debugflow-pytest-")
    config.addinivalue_line(
        "markers", "slow: Terraform, package builds, browser (make test-fast skips)"
    )


# Modules that spend most of the suite's time: Terraform plans and moto applies,
# package builds (pip downloads), checkov, the browser. `make test-fast` leaves them out.
SLOW_MODULES = {
    "test_browser",
    "test_checkov",
    "test_deploy_guide",
    "test_package",
    "test_readme_blocks",
    "test_terraform_apply",
    "test_terraform_plan",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    work_units.arrange(items)


_db_numbers = itertools.count()


class PostgresServer:
    def __init__(self, server: Any) -> None:
        self._server = server

    def url(self, database: str = "postgres") -> str:
        return self._server.get_uri(database)

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url())


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    yield PostgresServer(server)
    server.cleanup()


@pytest.fixture(scope="session")
async def template_database(postgres: PostgresServer) -> str:
    admin = await postgres.admin()
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        await admin.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(postgres.url(TEMPLATE_DB))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return TEMPLATE_DB


@pytest.fixture
async def fresh_database(postgres: PostgresServer) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Create empty (or templated) databases on demand; drop them afterwards."""
    created: list[str] = []

    async def make(template: str = "template0") -> str:
        name = f"test_{next(_db_numbers)}"
        try:
            admin = await postgres.admin()
        except OSError as exc:
            pytest.fail(
                f"the tests' PostgreSQL ({postgres.url()}) is gone: {exc}. Was its data "
                "directory deleted by another process? Run the tests again.",
                pytrace=False,
            )
        try:
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        finally:
            await admin.close()
        created.append(name)
        return postgres.url(name)

    yield make
    for name in created:
        await _drop_database(postgres, name)


async def _drop_database(postgres: PostgresServer, name: str) -> None:
    """Drop a test database, ending the sessions an app may still hold on it."""
    async with asyncio.timeout(30):  # a bound on the server coming back, not a pause
        while True:
            try:
                admin = await postgres.admin()
                try:
                    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                    return
                finally:
                    await admin.close()
            except (asyncpg.ConnectionDoesNotExistError, asyncpg.CannotConnectNowError, OSError):
                # Seen once in CI: the admin session dropped mid-statement. Dropped again
                # as soon as the server takes a new session (polled: it announces nothing).
                await asyncio.sleep(0.05)


@pytest.fixture
async def database_url(
    fresh_database: Callable[..., Awaitable[str]], template_database: str
) -> str:
    """A migrated database of this test's own."""
    return await fresh_database(template_database)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for asserting on stored rows."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
def make_settings(
    database_url: str, database_path: str, request: pytest.FixtureRequest
) -> Callable[..., Settings]:
    """Settings built from nothing but explicit values: the real environment never leaks in."""
    path = _database_settings(database_url, database_path, request)

    def make(**overrides: Any) -> Settings:
        for name, value in path.items():
            overrides.setdefault(name, value)
        overrides.setdefault("database_ssl", "disable")
        # Tests hang the certificate endpoint on purpose: waited out in 0.5 s, not 5.
        overrides.setdefault("firebase_certs_timeout", 0.5)
        return Settings.from_env({}, **overrides)

    return make


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[[web.Application], Awaitable[TestClient]]]:
    """Serve an app on a real loopback port and return a client for it."""
    clients: list[TestClient] = []

    async def make(app: web.Application) -> TestClient:
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client, make_settings) -> TestClient:
    return await make_client(create_app(make_settings()))


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def signing_keys() -> list[SigningKey]:
    """Two published keys and, last, one Google never published."""
    return [make_key("key-1"), make_key("key-2"), make_key("rogue")]


@pytest.fixture
async def firebase(make_client, signing_keys) -> FirebaseCertificates:
    certs = FirebaseCertificates(keys=signing_keys[:2])
    server = await make_client(certs.app())
    certs.url = str(server.make_url("/certs"))
    return certs


class Api:
    """A client of the full app, signed in as whichever user a call names."""

    def __init__(self, client: TestClient, firebase: FirebaseCertificates) -> None:
        self.client = client
        self.firebase = firebase
        self.app = client.app

    def auth(self, uid: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.firebase.token(uid)}"}

    async def call(self, method: str, path: str, uid: str | None = "alice", **kwargs: Any):
        headers = kwargs.pop("headers", {})
        if uid is not None:
            headers = {**self.auth(uid), **headers}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        resp = await self.call(method, path, **kwargs)
        body = await resp.json()
        assert resp.status == status, (resp.status, body)
        return body


@pytest.fixture
def api_settings(make_settings, firebase) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("firebase_project_id", PROJECT_ID)
        overrides.setdefault("firebase_certs_url", firebase.url)
        return make_settings(**overrides)

    return make


@pytest.fixture
async def make_api(make_client, api_settings, firebase) -> Callable[..., Awaitable[Api]]:
    async def make(**overrides: Any) -> Api:
        return Api(await make_client(create_app(api_settings(**overrides))), firebase)

    return make


@pytest.fixture
async def api(make_api) -> Api:
    return await make_api()


async def _on_loopback(make_client, stand_in: Any) -> Any:
    """Serve a stand-in's app on a loopback port; its `url` is where it answers."""
    server = await make_client(stand_in.app())
    stand_in.url = str(server.make_url("")).rstrip("/")
    return stand_in


@pytest.fixture
async def huggingface(make_client) -> hf.HuggingFace:
    return await _on_loopback(make_client, hf.HuggingFace())


@pytest.fixture
async def pinecone(make_client) -> PineconeDataPlane:
    """Pinecone's data plane on loopback."""
    return await _on_loopback(make_client, PineconeDataPlane())


@pytest.fixture
async def tavily(make_client) -> Tavily:
    """Tavily's search API on loopback."""
    return await _on_loopback(make_client, Tavily())


@pytest.fixture
async def extension(make_client, monkeypatch) -> SecretsExtension:
    """The Parameters and Secrets extension on loopback, answering this 'function' only."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    stand_in = SecretsExtension()
    server = await make_client(stand_in.app())
    stand_in.port = server.port
    return stand_in


@pytest.fixture
async def make_chat_api(make_api, huggingface) -> Callable[..., Awaitable[Api]]:
    """The full app with its model and embeddings pointed at the HuggingFace stand-in."""

    async def make(**overrides: Any) -> Api:
        overrides.setdefault("hf_api_key", hf.API_KEY)
        overrides.setdefault("hf_base_url", huggingface.url)
        overrides.setdefault("hf_model", hf.MAIN_MODEL)
        overrides.setdefault("hf_fast_model", hf.FAST_MODEL)
        # No second attempt unless a test asks for one (tests/test_model_fallback.py).
        overrides.setdefault("hf_fallback_model", None)
        return await make_api(**overrides)

    return make


@pytest.fixture
async def chat_api(make_chat_api) -> Api:
    return await make_chat_api()


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def start_lambda(make_client, database_url, firebase, huggingface):
    """Start an emulated function and return a client of its Function URL.

    By default the task root is the source tree with the test app; pass
    `task_root` and `python` to run a built package instead.
    """
    emulators: list[Emulator] = []

    async def start(task_root: Path = ROOT, python: str = sys.executable, **env: str):
        environment = {
            "DATABASE_URL": database_url,
            "DATABASE_SSL": "disable",
            "FIREBASE_PROJECT_ID": PROJECT_ID,
            "FIREBASE_CERTS_URL": firebase.url,
            "HUGGINGFACE_API_KEY": hf.API_KEY,
            "HF_BASE_URL": huggingface.url,
            "HF_MODEL": hf.MAIN_MODEL,
            "HF_FAST_MODEL": hf.FAST_MODEL,
            "LOG_LEVEL": "WARNING",
            **env,
        }
        if task_root == ROOT:
            environment.setdefault("_HANDLER", "tests.lambda_app.create_app")
        timeout = float(environment.pop("EMULATOR_TIMEOUT", "30"))
        mode = environment.get("LAMBDA_INVOKE_MODE", "RESPONSE_STREAM")
        emulator = Emulator(
            task_root, environment, timeout=timeout, python=python, invoke_mode=mode
        )
        await emulator.start()
        emulators.append(emulator)
        client = await make_client(emulator.front())
        client.emulator = emulator
        return client

    yield start
    for emulator in emulators:
        await emulator.close()


# Both paths to the database: direct, and through pgbouncer in transaction mode.
@pytest.fixture(scope="session")
def pgbouncer(postgres: PostgresServer) -> Iterator[PgBouncer]:
    """pgbouncer (transaction mode, default limits, a server pool of 10) in front of the
    tests' PostgreSQL."""
    bouncer = start_pgbouncer(postgres.url())
    yield bouncer
    bouncer.stop()


@pytest.fixture
def database_path(request: pytest.FixtureRequest) -> str:
    """`direct` unless a module parametrizes it (indirect) with `pgbouncer` too."""
    return getattr(request, "param", "direct")


def _database_settings(url: str, path: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if path == "direct":
        return {"database_url": url}
    bouncer = request.getfixturevalue("pgbouncer")
    name = urlsplit(url).path.lstrip("/")
    return {"database_url": bouncer.url(name), "database_pooler": "transaction"}
