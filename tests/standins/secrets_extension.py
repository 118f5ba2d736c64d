"""The AWS Parameters and Secrets Lambda Extension's local HTTP endpoint.

GET /secretsmanager/get?secretId=ARN with the function's session token in
X-Aws-Parameters-Secrets-Token answers Secrets Manager's GetSecretValue JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SESSION_TOKEN = "session-token-of-the-function"


@dataclass
class SecretsExtension:
    secrets: dict[str, Any] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    port: int = 0

    def app(self) -> web.Application:
        async def get(request: web.Request) -> web.Response:
            if request.headers.get("X-Aws-Parameters-Secrets-Token") != SESSION_TOKEN:
                return web.Response(status=401, text="missing or wrong session token")
            arn = request.query.get("secretId", "")
            self.reads.append(arn)
            if arn not in self.secrets:
                return web.Response(status=400, text="ResourceNotFoundException")
            return web.json_response(
                {
                    "ARN": arn,
                    "Name": arn.rsplit(":", 1)[-1],
                    "SecretString": json.dumps(self.secrets[arn]),
                    "VersionId": "v1",
                }
            )

        app = web.Application()
        app.router.add_get("/secretsmanager/get", get)
        return app
