"""A warm container serves every request while RDS rotates the database password.

Real parts: a PostgreSQL that checks passwords (scram-sha-256, as RDS), moto's
Secrets Manager (versions and stages as AWS keeps them), and the extension
stand-in in front of it, caching for SECRETS_MANAGER_TTL as the real one does.
The rotation is RDS's single-user one
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html):
the new password as AWSPENDING, then set on the database, then made AWSCURRENT.
Between the last two steps, and for up to 300 s after, the extension still
hands out the old password; the service must not fail a request meanwhile.
"""

import asyncio
import itertools
import json
import logging

import asyncpg
import pytest

from handler.app import create_app
from handler.db.migrate import migrate
from handler.keys import DATABASE
from handler.settings import Settings
from tests.conftest import Api
from tests.standins.firebase import PROJECT_ID
from tests.standins.moto_secrets_manager import CREDENTIALS, DirectReads, SecretsManager
from tests.standins.secrets_extension import SESSION_TOKEN, SecretsExtension
from tests.tcp_postgres import start

UNAVAILABLE = {"error": "The database is not available right now; try again shortly"}
_numbers = itertools.count()


@pytest.fixture(scope="module")
def server():
    running = start()
    yield running.server
    running.stop()


@pytest.fixture(scope="module")
def secrets_manager():
    running = SecretsManager.start()
    yield running
    running.stop()


class Clock:
    """The extension's clock: tests move it past the TTL instead of waiting 300 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Rotating:
    """One warm app whose database login is an RDS-style secret, and the levers to rotate it."""

    def __init__(
        self, api, extension, clock, secrets_manager, endpoint, server, role, database, arn
    ):
        self.api, self.extension, self.clock = api, extension, clock
        self.secrets_manager, self.endpoint, self.server = secrets_manager, endpoint, server
        self.role, self.database, self.arn = role, database, arn
        self.statuses: list[int] = []

    def login(self, password: str) -> str:
        return json.dumps({"username": self.role, "password": password, "engine": "postgres"})

    async def set_password(self, password: str) -> None:
        """setSecret: the database takes the new password; the old one stops working."""
        admin = await asyncpg.connect(self.server.admin_url())
        try:
            await admin.execute(f"ALTER ROLE {self.role} PASSWORD '{password}'")
        finally:
            await admin.close()

    async def drop_connections(self) -> None:
        """The pool's connections end (idle past their lifetime, or the container froze),
        so the next request opens a new one with whatever login the service holds."""
        pool = await self.api.app[DATABASE].pool()
        await pool.expire_connections()

    async def requests(self, n: int = 4) -> list[int]:
        """n signed-in requests at once on fresh connections; their statuses."""
        await self.drop_connections()

        async def one() -> int:
            resp = await self.api.call("GET", "/api/sessions")
            await resp.read()
            return resp.status

        statuses = await asyncio.gather(*(one() for _ in range(n)))
        self.statuses += statuses
        return statuses

    @property
    def direct(self) -> list[tuple[str, str]]:
        """(secret, stage) the service asked of Secrets Manager itself, past the extension."""
        return self.endpoint.reads


@pytest.fixture
async def rotating(server, secrets_manager, make_client, firebase, monkeypatch) -> Rotating:
    n = next(_numbers)
    role, database = f"app_role_{n}", f"rotating_{n}"
    admin = await asyncpg.connect(server.admin_url())
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'first-password'")
        await admin.execute(f"CREATE DATABASE {database} OWNER {role}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(server.url(database, user=role, password="first-password"))
    try:
        await migrate(conn)
    finally:
        await conn.close()

    # The function's credentials, as Lambda sets them (the extension checks the token).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    first = json.dumps({"username": role, "password": "first-password", "engine": "postgres"})
    arn = secrets_manager.create(f"rds!db-{n}", first)
    clock = Clock()
    extension = SecretsExtension(source=secrets_manager.get_secret_value, clock=clock)
    extension.port = (await make_client(extension.app())).port
    endpoint = DirectReads(upstream=secrets_manager.url)
    endpoint.url = str((await make_client(endpoint.app())).make_url("/"))
    settings = Settings.from_env(
        {},
        # As Terraform configures it: no password in the URL, the secret by ARN.
        database_url=server.url(database, user=role),
        database_secret_arn=arn,
        database_ssl="require",
        database_pool_max=2,  # as on Lambda
        secrets_extension_port=extension.port,
        secrets_manager_endpoint=endpoint.url,
        firebase_project_id=PROJECT_ID,
        firebase_certs_url=firebase.url,
    )
    api = Api(await make_client(create_app(settings)), firebase)
    return Rotating(api, extension, clock, secrets_manager, endpoint, server, role, database, arn)


async def test_no_request_fails_across_a_rotation(rotating):
    r = rotating
    assert await r.requests() == [200] * 4  # warm: the secret read once, through the extension
    assert r.extension.fetches == [r.arn]

    pending = r.secrets_manager.begin_rotation(r.arn, r.login("second-password"))
    await r.requests()
    await r.set_password("second-password")  # old password dead; AWSCURRENT still the old one
    await r.requests()
    r.secrets_manager.finish_rotation(r.arn, pending)
    await r.requests()
    r.clock.now += 299  # still inside the extension's TTL: it serves the old password
    await r.requests()
    r.clock.now += 2  # past it
    await r.requests()

    assert set(r.statuses) == {200}, r.statuses
    assert len(r.statuses) == 24
    # The extension cached the old password throughout its TTL...
    assert r.extension.fetches == [r.arn]
    assert r.secrets_manager.stages(r.arn)[pending] == ["AWSCURRENT"]
    # ...so the service read past it, and only after each refusal: the pending version
    # while the database already had it, then nothing more (it is current and cached).
    assert r.direct == [(r.arn, "AWSCURRENT"), (r.arn, "AWSPENDING")]


async def test_after_the_extension_refreshed_a_new_container_needs_no_direct_read(
    rotating, make_client, firebase
):
    r = rotating
    assert await r.requests(1) == [200]
    pending = r.secrets_manager.begin_rotation(r.arn, r.login("second-password"))
    await r.set_password("second-password")
    r.secrets_manager.finish_rotation(r.arn, pending)
    r.clock.now += 300

    settings = r.api.app[DATABASE]._settings
    cold = Api(await make_client(create_app(settings)), firebase)
    resp = await cold.call("GET", "/api/sessions")
    assert resp.status == 200
    assert r.direct == []
    assert r.extension.fetches == [r.arn, r.arn]  # the TTL expired: read again, new password


async def test_a_login_that_stays_wrong_is_a_clear_503_each_time(rotating, caplog):
    r = rotating
    assert await r.requests(1) == [200]
    await r.set_password("nobody-knows-this")
    with caplog.at_level(logging.WARNING, logger="handler.db.connect"):
        assert await r.requests(1) == [503]
        resp = await r.api.call("GET", "/api/sessions")
        assert (resp.status, await resp.json()) == (503, UNAVAILABLE)
    assert "database refuses the credentials in DATABASE_SECRET_ARN" in caplog.text
    assert (await r.api.client.get("/health")).status == 200
    # One direct read per refused request (current, then pending, which does not exist):
    # no loop against Secrets Manager.
    assert r.direct == [(r.arn, "AWSCURRENT"), (r.arn, "AWSPENDING")] * 2
    assert r.extension.fetches == [r.arn]  # Secrets Manager's answer is final


async def test_without_secrets_manager_the_extension_is_asked_again(rotating, monkeypatch, caplog):
    r = rotating
    assert await r.requests(1) == [200]
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")  # no credentials to sign with
    pending = r.secrets_manager.begin_rotation(r.arn, r.login("second-password"))
    await r.set_password("second-password")
    r.secrets_manager.finish_rotation(r.arn, pending)
    r.clock.now += 300
    with caplog.at_level(logging.WARNING, logger="handler.secrets"):
        assert await r.requests(1) == [200]
    assert "cannot read the database secret from Secrets Manager" in caplog.text
    errors = [getattr(record, "error", "") for record in caplog.records]
    assert "no AWS credentials in the environment ('AWS_SECRET_ACCESS_KEY')" in errors
    assert r.extension.fetches == [r.arn, r.arn]


async def test_an_unreadable_secret_is_a_clear_503(rotating):
    r = rotating
    r.secrets_manager.client().delete_secret(SecretId=r.arn, ForceDeleteWithoutRecovery=True)
    resp = await r.api.call("GET", "/api/sessions")
    assert (resp.status, await resp.json()) == (503, UNAVAILABLE)
