"""Secret settings, read on first use and cached for the container (the database
secret's cache can be dropped: RDS rotates it).

Locally, plain environment variables (HUGGINGFACE_API_KEY, ...) are used as
they are. On Lambda the function's environment names secrets by ARN only:
APP_SECRETS_ARN (a JSON object of HUGGINGFACE_API_KEY, PINECONE_API_KEY,
FIREBASE_PROJECT_ID, TAVILY_API_KEY) and DATABASE_SECRET_ARN (RDS's username/password). They
are read through the AWS Parameters and Secrets Lambda Extension's local HTTP
endpoint, which keeps boto3's import off the cold start.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any
from urllib.parse import quote

import aiohttp

from handler.settings import Settings

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5)


class SecretsUnavailable(Exception):
    """A secret could not be read; the message names it, never its value."""


class Secrets:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._documents: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()

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
        value = (await self._document(s.app_secrets_arn, "APP_SECRETS_ARN")).get(name)
        return str(value) if value else None

    async def database_credentials(self) -> tuple[str, str] | None:
        """(username, password) of the RDS-managed secret, if one is configured."""
        arn = self._settings.database_secret_arn
        if not arn:
            return None
        document = await self._document(arn, "DATABASE_SECRET_ARN")
        try:
            return str(document["username"]), str(document["password"])
        except KeyError:
            raise SecretsUnavailable("DATABASE_SECRET_ARN: no username/password in it") from None

    def forget_database_credentials(self) -> None:
        """Drop the cached database secret, so the next read asks the extension again
        (after a rotation the cached password no longer works)."""
        if self._settings.database_secret_arn:
            self._documents.pop(self._settings.database_secret_arn, None)

    async def _document(self, arn: str, setting: str) -> dict[str, Any]:
        if arn not in self._documents:
            async with self._lock:
                if arn not in self._documents:
                    self._documents[arn] = await self._fetch(arn, setting)
        return self._documents[arn]

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
            document = json.loads(body["SecretString"])
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SecretsUnavailable(
                f"{setting}: the secrets extension is unreachable ({type(exc).__name__})"
            ) from None
        except (ValueError, KeyError, TypeError):
            raise SecretsUnavailable(f"{setting}: the secret is not a JSON object") from None
        if not isinstance(document, dict):
            raise SecretsUnavailable(f"{setting}: the secret is not a JSON object")
        return document
