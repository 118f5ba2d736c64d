"""Secret settings, read on first use and cached for the container (the database
secret's cache can be dropped: RDS rotates it).

Locally, plain environment variables (HUGGINGFACE_API_KEY, ...) are used as
they are. On Lambda the function's environment names secrets by ARN only:
APP_SECRETS_ARN (a JSON object of HUGGINGFACE_API_KEY, PINECONE_API_KEY,
FIREBASE_PROJECT_ID, TAVILY_API_KEY), DATABASE_SECRET_ARN (the service's own
database login) and, for the migrate step only, DATABASE_OWNER_SECRET_ARN
(the schema owner's). They are read through the AWS Parameters and
Secrets Lambda Extension's local HTTP endpoint, which keeps boto3's import off
the cold start.

After the database refused the cached password, the extension is no help: it
caches too (SECRETS_MANAGER_TTL, up to 300 s) and would hand out the same old
password. The re-read then goes to Secrets Manager itself (handler.secrets_manager):
AWSCURRENT, or AWSPENDING while a rotation has set the new password on the
database but not yet made it current
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from handler.secrets_manager import Credentials, SecretsManagerError, get_secret_value
from handler.settings import Settings

log = logging.getLogger(__name__)

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5)
Fetch = Callable[[str, str], Awaitable[dict[str, Any]]]


class SecretsUnavailable(Exception):
    """A secret could not be read; the message names it, never its value."""


class Secrets:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._documents: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()
        # The database login last refused, while its replacement is still to be read.
        self._refused: dict[str, Any] | None = None

    async def app_value(self, name: str) -> str | None:
        """HUGGINGFACE_API_KEY, PINECONE_API_KEY, FIREBASE_PROJECT_ID or TAVILY_API_KEY."""
        s = self._settings
        direct = {
            "HUGGINGFACE_API_KEY": s.hf_api_key,
            "PINECONE_API_KEY": s.pinecone_api_key,
            "FIREBASE_PROJECT_ID": s.firebase_project_id,
            "TAVILY_API_KEY": s.tavily_api_key,
        }[name]
        if direct or not s.app_secrets_arn:
            return direct
        value = (await self._document(s.app_secrets_arn, "APP_SECRETS_ARN", self._fetch)).get(name)
        return str(value) if value else None

    async def database_credentials(self) -> tuple[str, str] | None:
        """(username, password) of the RDS-managed secret, if one is configured."""
        arn = self._settings.database_secret_arn
        if not arn:
            return None
        if self._refused is not None:
            document = await self._document(arn, "DATABASE_SECRET_ARN", self._fetch_after_refusal)
        else:
            document = await self._document(arn, "DATABASE_SECRET_ARN", self._fetch)
        return _login(document)

    async def owner_credentials(self) -> tuple[str, str] | None:
        """(username, password) of the schema owner, for the migrate step, if configured."""
        arn = self._settings.database_owner_secret_arn
        if not arn:
            return None
        setting = "DATABASE_OWNER_SECRET_ARN"
        return _login(await self._document(arn, setting, self._fetch), setting)

    def forget_database_credentials(self) -> None:
        """The database refused the cached login: drop it, so that the next read asks
        Secrets Manager itself (the extension may still cache the same login)."""
        arn = self._settings.database_secret_arn
        if arn and arn in self._documents:
            self._refused = self._documents.pop(arn)

    async def _document(self, arn: str, setting: str, fetch: Fetch) -> dict[str, Any]:
        if arn not in self._documents:
            async with self._lock:
                if arn not in self._documents:
                    self._documents[arn] = await fetch(arn, setting)
        return self._documents[arn]

    async def _fetch_after_refusal(self, arn: str, setting: str) -> dict[str, Any]:
        """The login to try now: AWSCURRENT from Secrets Manager, or AWSPENDING when the
        current one is the login just refused (a rotation between setting the password
        and promoting it). Without credentials or access, the extension as before."""
        refused, self._refused = self._refused or {}, None
        s = self._settings
        try:
            credentials = Credentials.from_environment(os.environ)
            current = None
            for stage in ("AWSCURRENT", "AWSPENDING"):
                answer = await get_secret_value(
                    arn,
                    stage,
                    endpoint=s.secrets_manager_endpoint,
                    credentials=credentials,
                    client_timeout=FETCH_TIMEOUT,
                )
                if answer is None:
                    continue
                document = _json_object(answer, setting)
                if (document.get("username"), document.get("password")) != (
                    refused.get("username"),
                    refused.get("password"),
                ):
                    return document
                current = current or document
            if current is not None:
                return current  # nothing newer: the database refuses what Secrets Manager holds
        except SecretsManagerError as exc:
            log.warning(
                "cannot read the database secret from Secrets Manager; asking the extension",
                extra={"error": str(exc)},
            )
        return await self._fetch(arn, setting)

    async def _fetch(self, arn: str, setting: str) -> dict[str, Any]:
        port = self._settings.secrets_extension_port
        url = f"http://localhost:{port}/secretsmanager/get?secretId={quote(arn, safe='')}"
        # The extension only answers callers that hold the function's session token.
        headers = {"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")}
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(url, headers=headers, timeout=FETCH_TIMEOUT) as resp,
            ):
                if resp.status != 200:
                    raise SecretsUnavailable(
                        f"{setting}: the secrets extension answered {resp.status}"
                    )
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SecretsUnavailable(
                f"{setting}: the secrets extension is unreachable ({type(exc).__name__})"
            ) from None
        except ValueError:
            raise SecretsUnavailable(f"{setting}: the secret is not a JSON object") from None
        return _json_object(body, setting)


def _json_object(answer: Any, setting: str) -> dict[str, Any]:
    """The JSON object in a GetSecretValue answer's SecretString."""
    try:
        document = json.loads(answer["SecretString"])
    except (ValueError, KeyError, TypeError):
        raise SecretsUnavailable(f"{setting}: the secret is not a JSON object") from None
    if not isinstance(document, dict):
        raise SecretsUnavailable(f"{setting}: the secret is not a JSON object")
    return document


def _login(document: dict[str, Any], setting: str = "DATABASE_SECRET_ARN") -> tuple[str, str]:
    try:
        return str(document["username"]), str(document["password"])
    except KeyError:
        raise SecretsUnavailable(f"{setting}: no username/password in it") from None
