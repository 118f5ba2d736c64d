"""The AWS Parameters and Secrets Lambda Extension's local HTTP endpoint, caching as it does.

What the extension documents
(https://docs.aws.amazon.com/lambda/latest/dg/with-secrets-manager.html,
https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html):

- GET /secretsmanager/get?secretId=ID[&versionId=V][&versionStage=S], answering
  Secrets Manager's GetSecretValue JSON; without either, the AWSCURRENT version.
- Only callers holding the function's session token (header
  X-Aws-Parameters-Secrets-Token = AWS_SESSION_TOKEN) are answered.
- Each request (secret, version id, version stage) is cached for
  SECRETS_MANAGER_TTL seconds (default 300, at most 300, 0 = no cache): a
  value changed in Secrets Manager meanwhile is served stale until then.

Behind it is Secrets Manager: by default the `secrets` dict (current values
only), or `source`, e.g. GetSecretValue of a moto server, which keeps version
stages as AWS does. Time is `clock`, so tests move past the TTL without waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SESSION_TOKEN = "session-token-of-the-function"
DEFAULT_TTL = 300.0
MAX_TTL = 300.0

# (secret id, version id, version stage) -> GetSecretValue's answer, or None: not found.
Source = Callable[[str, str | None, str | None], Awaitable[dict[str, Any] | None]]


@dataclass
class SecretsExtension:
    secrets: dict[str, Any] = field(default_factory=dict)  # current values, without `source`
    source: Source | None = None
    ttl: float = DEFAULT_TTL
    clock: Callable[[], float] = time.monotonic
    reads: list[str] = field(default_factory=list)  # secret ids asked of the extension
    fetches: list[str] = field(default_factory=list)  # ... and those it asked Secrets Manager
    port: int = 0
    _cache: dict[tuple[str, str | None, str | None], tuple[float, dict[str, Any]]] = field(
        default_factory=dict
    )

    async def _secrets_manager(
        self, secret_id: str, version_id: str | None, stage: str | None
    ) -> dict[str, Any] | None:
        self.fetches.append(secret_id)
        if self.source is not None:
            return await self.source(secret_id, version_id, stage)
        if secret_id not in self.secrets or (stage or "AWSCURRENT") != "AWSCURRENT":
            return None
        return {
            "ARN": secret_id,
            "Name": secret_id.rsplit(":", 1)[-1],
            "SecretString": json.dumps(self.secrets[secret_id]),
            "VersionId": "v1",
            "VersionStages": ["AWSCURRENT"],
        }

    async def _get(self, secret_id: str, version_id: str | None, stage: str | None):
        key = (secret_id, version_id, stage)
        ttl = min(self.ttl, MAX_TTL)
        cached = self._cache.get(key)
        if cached is not None and self.clock() - cached[0] < ttl:
            return cached[1]
        answer = await self._secrets_manager(secret_id, version_id, stage)
        if answer is not None and ttl > 0:
            self._cache[key] = (self.clock(), answer)
        return answer

    def app(self) -> web.Application:
        async def get(request: web.Request) -> web.Response:
            if request.headers.get("X-Aws-Parameters-Secrets-Token") != SESSION_TOKEN:
                return web.Response(status=401, text="missing or wrong session token")
            secret_id = request.query.get("secretId", "")
            self.reads.append(secret_id)
            answer = await self._get(
                secret_id, request.query.get("versionId"), request.query.get("versionStage")
            )
            if answer is None:
                return web.Response(status=400, text="ResourceNotFoundException")
            return web.json_response(answer)

        app = web.Application()
        app.router.add_get("/secretsmanager/get", get)
        return app
