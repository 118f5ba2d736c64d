"""The AWS Parameters and Secrets Lambda Extension's local HTTP endpoint.

GET /secretsmanager/get?secretId=ARN with the function's session token in
X-Aws-Parameters-Secrets-Token answers Secrets Manager's GetSecretValue JSON.

Like the real extension, it caches what it read: a secret changed in Secrets
Manager (`rotate`) is served stale until the cache entry expires
(SECRETS_MANAGER_TTL, 300 s by default:
https://docs.aws.amazon.com/lambda/latest/dg/with-secrets-manager.html).
Tests call `expire_cache` where that much time would have passed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SESSION_TOKEN = "session-token-of-the-function"


@dataclass
class SecretsExtension:
    secrets: dict[str, Any] = field(default_factory=dict)  # Secrets Manager's current values
    reads: list[str] = field(default_factory=list)
    port: int = 0
    _cache: dict[str, Any] = field(default_factory=dict)

    def rotate(self, arn: str, value: Any) -> None:
        """Secrets Manager gets a new current value; the extension's cache does not."""
        self.secrets[arn] = value

    def expire_cache(self) -> None:
        self._cache.clear()

    def app(self) -> web.Application:
        async def get(request: web.Request) -> web.Response:
            if request.headers.get("X-Aws-Parameters-Secrets-Token") != SESSION_TOKEN:
                return web.Response(status=401, text="missing or wrong session token")
            arn = request.query.get("secretId", "")
            self.reads.append(arn)
            if arn not in self._cache:
                if arn not in self.secrets:
                    return web.Response(status=400, text="ResourceNotFoundException")
                self._cache[arn] = self.secrets[arn]
            return web.json_response(
                {
                    "ARN": arn,
                    "Name": arn.rsplit(":", 1)[-1],
                    "SecretString": json.dumps(self._cache[arn]),
                    "VersionId": "v1",
                }
            )

        app = web.Application()
        app.router.add_get("/secretsmanager/get", get)
        return app
