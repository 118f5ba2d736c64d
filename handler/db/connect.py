"""Opening one connection: current credentials, configured TLS, one retry after a rotation.

A rotated secret's old password stops working at once. The credentials are
cached for the process, so after a rotation a new connection is refused: the
cache is then dropped and the connection tried once more with a re-read
secret. The Parameters and Secrets extension caches too (SECRETS_MANAGER_TTL,
300 s by default: https://docs.aws.amazon.com/lambda/latest/dg/with-secrets-manager.html),
so the re-read after a refusal goes to Secrets Manager itself (handler.secrets),
AWSCURRENT or, mid-rotation, AWSPENDING: no request fails across a rotation.

Imported on first connection only: asyncpg stays off the cold start.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import asyncpg

from handler.db.errors import DatabaseUnavailable, unavailable
from handler.db.tls import ssl_option
from handler.secrets import Secrets, SecretsUnavailable
from handler.settings import Settings

log = logging.getLogger(__name__)


class Connector:
    """asyncpg.connect with the service's login and TLS; usable as a pool's `connect`."""

    def __init__(
        self, settings: Settings, secrets: Secrets, *, login: tuple[str, str] | None = None
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._ssl: ssl.SSLContext | str | None = None
        # A fixed login (the schema owner's, for the migrate step) instead of the service's.
        self._fixed = None if login is None else {"user": login[0], "password": login[1]}

    async def __call__(self, dsn: str | None = None, **kwargs: Any) -> asyncpg.Connection:
        kwargs["ssl"] = self._tls()
        if self._fixed is not None:
            return await _connect(dsn, self._fixed, kwargs)
        login = await self._login()
        if login is None:
            return await _connect(dsn, {}, kwargs)
        try:
            return await _connect(dsn, login, kwargs)
        except asyncpg.InvalidAuthorizationSpecificationError:
            log.warning("database refused the secret's credentials; re-reading the secret")
        self._secrets.forget_database_credentials()
        fresh = await self._login()
        if fresh is None or fresh == login:
            log.error("database refuses the credentials in DATABASE_SECRET_ARN")
            raise DatabaseUnavailable()
        try:
            return await _connect(dsn, fresh, kwargs)
        except asyncpg.InvalidAuthorizationSpecificationError:
            log.error("database refuses the re-read credentials in DATABASE_SECRET_ARN")
            raise DatabaseUnavailable() from None

    def _tls(self) -> ssl.SSLContext | str:
        # Built on the first connection, once: loading the CA bundle is not free.
        if self._ssl is None:
            s = self._settings
            self._ssl = ssl_option(s.database_ssl, s.database_ssl_root_cert)
        return self._ssl

    async def _login(self) -> dict[str, str] | None:
        """user/password from the secret, or None: then DATABASE_URL carries them."""
        try:
            credentials = await self._secrets.database_credentials()
        except SecretsUnavailable as exc:
            log.error("cannot read the database secret", extra={"error": str(exc)})
            raise DatabaseUnavailable() from None
        if credentials is None:
            return None
        return {"user": credentials[0], "password": credentials[1]}


async def _connect(dsn: str | None, login: dict[str, str], kwargs: dict[str, Any]):
    try:
        return await asyncpg.connect(dsn, **login, **kwargs)
    except Exception as exc:
        # Refused, timed out, too many clients, a pooler refusing: a 503 with one log line.
        # A timeout becomes DatabaseUnavailable here, so that the pool's own TimeoutError
        # still means busy, not unreachable.
        failure = unavailable(exc)
        if failure is None:
            raise
        raise failure from None
