"""A warm container survives RDS rotating the database password.

Against a PostgreSQL that checks passwords (scram-sha-256, as RDS) and the
secrets-extension stand-in, which caches like the real one: the service's
cached password stops working, the service drops it, re-reads the secret and
connects again, without a restart. A secret that stays wrong is a 503.
"""

import itertools
import logging

import asyncpg
import pytest

from handler.app import create_app
from handler.db.migrate import migrate
from handler.keys import DATABASE
from handler.settings import Settings
from tests.conftest import Api
from tests.standins.firebase import PROJECT_ID
from tests.standins.secrets_extension import SESSION_TOKEN, SecretsExtension
from tests.tcp_postgres import start

DB_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-rotating-AbC"
UNAVAILABLE = {"error": "The database is not available right now; try again shortly"}
_numbers = itertools.count()


@pytest.fixture(scope="module")
def server():
    running = start()
    yield running.server
    running.stop()


class Rotating:
    """One app whose database login is an RDS-style secret, and the levers to rotate it."""

    def __init__(self, api: Api, extension: SecretsExtension, server, role: str, database: str):
        self.api, self.extension, self.server = api, extension, server
        self.role, self.database = role, database

    async def rotate(self, password: str) -> None:
        """What RDS does: a new password on the server and, at the same moment, in the secret."""
        admin = await asyncpg.connect(self.server.admin_url())
        try:
            await admin.execute(f"ALTER ROLE {self.role} PASSWORD '{password}'")
        finally:
            await admin.close()
        self.extension.rotate(DB_ARN, {"username": self.role, "password": password})

    async def drop_connections(self) -> None:
        """The pool's connections end (idle past their lifetime, or the container froze)."""
        pool = await self.api.app[DATABASE].pool()
        await pool.expire_connections()

    async def sessions_status(self) -> tuple[int, object]:
        resp = await self.api.call("GET", "/api/sessions")
        return resp.status, await resp.json()

    def secret_reads(self) -> int:
        return self.extension.reads.count(DB_ARN)


@pytest.fixture
async def rotating(server, make_client, firebase, monkeypatch) -> Rotating:
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

    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    extension = SecretsExtension()
    extension.secrets[DB_ARN] = {"username": role, "password": "first-password"}
    extension.port = (await make_client(extension.app())).port
    settings = Settings.from_env(
        {},
        # As Terraform configures it: no password in the URL, the secret by ARN.
        database_url=server.url(database, user=role),
        database_secret_arn=DB_ARN,
        database_ssl="require",
        migrate_on_start=True,
        secrets_extension_port=extension.port,
        firebase_project_id=PROJECT_ID,
        firebase_certs_url=firebase.url,
    )
    api = Api(await make_client(create_app(settings)), firebase)
    return Rotating(api, extension, server, role, database)


async def test_rotation_long_after_the_extension_refreshed(rotating, server):
    assert await rotating.sessions_status() == (200, [])
    assert rotating.secret_reads() == 1

    await rotating.rotate("second-password")
    await rotating.drop_connections()
    rotating.extension.expire_cache()  # the extension's TTL has passed since the rotation
    with pytest.raises(asyncpg.InvalidPasswordError):  # the cached password is dead for real
        await asyncpg.connect(
            server.url(rotating.database, user=rotating.role, password="first-password")
        )

    assert await rotating.sessions_status() == (200, [])
    assert rotating.secret_reads() == 2  # dropped and read again once, not on every request
    assert await rotating.sessions_status() == (200, [])
    assert rotating.secret_reads() == 2


async def test_rotation_within_the_extension_cache_recovers_without_restart(rotating, caplog):
    assert (await rotating.sessions_status())[0] == 200
    await rotating.rotate("second-password")
    await rotating.drop_connections()

    # The extension still serves the old password for up to its TTL: a clear 503 meanwhile.
    with caplog.at_level(logging.WARNING, logger="handler.db.connect"):
        assert await rotating.sessions_status() == (503, UNAVAILABLE)
    assert "database refuses the credentials in DATABASE_SECRET_ARN" in caplog.text
    assert (await rotating.api.client.get("/health")).status == 200

    rotating.extension.expire_cache()
    assert await rotating.sessions_status() == (200, [])


async def test_a_wrong_secret_is_a_clear_503_every_time(rotating):
    rotating.extension.secrets[DB_ARN] = {"username": rotating.role, "password": "not-it"}
    for _ in range(2):
        assert await rotating.sessions_status() == (503, UNAVAILABLE)
    assert (await rotating.api.client.get("/health")).status == 200
    # The first read, then one re-read per refused request: no loop against the extension.
    assert rotating.secret_reads() == 3


async def test_an_unreadable_secret_is_a_clear_503(rotating):
    del rotating.extension.secrets[DB_ARN]
    assert await rotating.sessions_status() == (503, UNAVAILABLE)
