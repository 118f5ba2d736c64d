"""GetSecretValue straight from Secrets Manager, signed (SigV4) with the function's credentials.

Used only where the extension's cache must be bypassed: right after the
database refused a password, when RDS has just rotated it and the extension
may serve the old value for up to SECRETS_MANAGER_TTL. A hand-written signer
keeps boto3 (and its import time) out of the package; the request is the
documented JSON protocol
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from yarl import URL

SERVICE = "secretsmanager"
TARGET = "secretsmanager.GetSecretValue"
CONTENT_TYPE = "application/x-amz-json-1.1"


class SecretsManagerError(Exception):
    """The call failed; the message says how, never with a secret value."""


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Credentials:
        """What Lambda puts in every function's environment (its execution role's session)."""
        try:
            return cls(
                environ["AWS_ACCESS_KEY_ID"],
                environ["AWS_SECRET_ACCESS_KEY"],
                environ.get("AWS_SESSION_TOKEN") or None,
            )
        except KeyError as missing:
            raise SecretsManagerError(
                f"no AWS credentials in the environment ({missing})"
            ) from None


def region_of(arn: str) -> str:
    """A secret's region is the fourth field of its ARN."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or not parts[3]:
        raise SecretsManagerError("the secret is not named by a full ARN")
    return parts[3]


def default_endpoint(arn: str) -> str:
    suffix = "amazonaws.com.cn" if arn.split(":")[1] == "aws-cn" else "amazonaws.com"
    return f"https://{SERVICE}.{region_of(arn)}.{suffix}"


def signed_headers(
    url: URL, body: bytes, region: str, credentials: Credentials, now: datetime
) -> dict[str, str]:
    """The headers of a SigV4-signed POST of `body` to `url`
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    host = url.host if url.is_default_port() else f"{url.host}:{url.port}"
    headers = {
        "Content-Type": CONTENT_TYPE,
        "Host": host,
        "X-Amz-Date": stamp,
        "X-Amz-Target": TARGET,
    }
    if credentials.session_token:
        headers["X-Amz-Security-Token"] = credentials.session_token
    canonical = sorted((name.lower(), value.strip()) for name, value in headers.items())
    names = ";".join(name for name, _ in canonical)
    request = "\n".join(
        [
            "POST",
            url.raw_path or "/",
            "",
            "".join(f"{name}:{value}\n" for name, value in canonical),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (day, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return headers


async def get_secret_value(
    arn: str,
    stage: str,
    *,
    endpoint: str | None,
    credentials: Credentials,
    client_timeout: aiohttp.ClientTimeout,
) -> dict[str, Any] | None:
    """The version of `arn` labelled `stage` (GetSecretValue's answer), or None if no
    version carries that label (AWSPENDING outside a rotation)."""
    url = URL(endpoint or default_endpoint(arn)).with_path("/")
    body = json.dumps({"SecretId": arn, "VersionStage": stage}).encode()
    headers = signed_headers(url, body, region_of(arn), credentials, datetime.now(UTC))
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=body, headers=headers, timeout=client_timeout) as resp,
        ):
            answer = await resp.json(content_type=None)
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SecretsManagerError(
            f"Secrets Manager is unreachable ({type(exc).__name__})"
        ) from None
    except ValueError:
        raise SecretsManagerError("Secrets Manager answered something other than JSON") from None
    if status == 200 and isinstance(answer, dict):
        return answer
    error = str(answer.get("__type", "")) if isinstance(answer, dict) else ""
    if status == 400 and error.endswith("ResourceNotFoundException"):
        return None
    raise SecretsManagerError(f"Secrets Manager answered {status} {error}".rstrip())
