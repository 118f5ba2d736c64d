"""Secrets Manager on loopback: moto's server, which keeps versions and their stages
(AWSCURRENT, AWSPENDING, AWSPREVIOUS) as AWS does, and the rotation RDS runs on it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from aiohttp import ClientSession, web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
CREDENTIALS = {"aws_access_key_id": "AKIDTESTING", "aws_secret_access_key": "secret-of-the-test"}


@dataclass
class SecretsManager:
    server: ThreadedMotoServer
    url: str

    @classmethod
    def start(cls) -> SecretsManager:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return cls(server, f"http://{host}:{port}")

    def stop(self) -> None:
        self.server.stop()

    def client(self):
        return boto3.client(
            "secretsmanager", region_name=REGION, endpoint_url=self.url, **CREDENTIALS
        )

    def create(self, name: str, value: str) -> str:
        """A new secret holding `value` as AWSCURRENT; its ARN."""
        return self.client().create_secret(Name=name, SecretString=value)["ARN"]

    def stages(self, arn: str) -> dict[str, list[str]]:
        """Version id -> its stages."""
        return self.client().describe_secret(SecretId=arn)["VersionIdsToStages"]

    def begin_rotation(self, arn: str, value: str) -> str:
        """createSecret: the new value as AWSPENDING; its version id."""
        token = str(uuid.uuid4())
        self.client().put_secret_value(
            SecretId=arn, ClientRequestToken=token, SecretString=value, VersionStages=["AWSPENDING"]
        )
        return token

    def finish_rotation(self, arn: str, pending: str) -> None:
        """finishSecret: AWSCURRENT moves to the pending version (AWSPREVIOUS follows the old)."""
        current = next(v for v, s in self.stages(arn).items() if "AWSCURRENT" in s)
        client = self.client()
        client.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=pending,
            RemoveFromVersionId=current,
        )  # fmt: skip
        client.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=pending
        )

    async def get_secret_value(
        self, secret_id: str, version_id: str | None, stage: str | None
    ) -> dict[str, Any] | None:
        """GetSecretValue as the extension calls it (its `source`); None when not found."""
        args = {"SecretId": secret_id}
        if version_id:
            args["VersionId"] = version_id
        # Neither means AWSCURRENT in AWS; moto 5 would answer its first version even
        # after update_secret_version_stage moved AWSCURRENT away from it.
        if stage or not version_id:
            args["VersionStage"] = stage or "AWSCURRENT"
        client = self.client()
        try:
            answer = await asyncio.to_thread(client.get_secret_value, **args)
        except client.exceptions.ResourceNotFoundException:
            return None
        keep = ("ARN", "Name", "VersionId", "VersionStages", "SecretString")
        return {key: answer[key] for key in keep if key in answer}


def signature_error(method: str, url: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why AWS would refuse this request's SigV4 signature (None: it would not), checked with
    botocore's signer over the headers the request says it signed."""
    authorization = headers.get("Authorization", "")
    parts = authorization.removeprefix("AWS4-HMAC-SHA256 ").split(",")
    fields = dict(part.strip().split("=", 1) for part in parts if "=" in part)
    try:
        access_key, _day, region, service, _ = fields["Credential"].split("/")
        names = fields["SignedHeaders"].split(";")
    except (KeyError, ValueError):
        return "no SigV4 Authorization header"
    if access_key != CREDENTIALS["aws_access_key_id"]:
        return f"unknown access key {access_key}"
    if not {"host", "x-amz-date"} <= set(names):
        return "host and x-amz-date must be signed"
    lower = {k.lower(): v for k, v in headers.items()}
    request = AWSRequest(method=method, url=url, data=body, headers={n: lower[n] for n in names})
    request.context["timestamp"] = lower["x-amz-date"]
    signer = SigV4Auth(
        BotoCredentials(
            CREDENTIALS["aws_access_key_id"],
            CREDENTIALS["aws_secret_access_key"],
            lower.get("x-amz-security-token"),
        ),
        service,
        region,
    )
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    return None if expected == fields.get("Signature") else "signature does not match"


@dataclass
class DirectReads:
    """Secrets Manager's endpoint as the service sees it: checks each request's signature
    as AWS would (403 otherwise), records (secret, stage) of each GetSecretValue, and
    passes it on to moto."""

    upstream: str
    reads: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        async def call(request: web.Request) -> web.Response:
            body = await request.read()
            error = signature_error("POST", str(request.url), request.headers, body)
            if error:
                return web.json_response(
                    {"__type": "InvalidSignatureException", "message": error}, status=403
                )
            if request.headers.get("X-Amz-Target") == "secretsmanager.GetSecretValue":
                asked = json.loads(body)
                self.reads.append((asked["SecretId"], asked.get("VersionStage", "AWSCURRENT")))
            forwarded = {k: v for k, v in request.headers.items() if k.lower() != "host"}
            async with (
                ClientSession() as http,
                http.post(self.upstream, data=body, headers=forwarded) as resp,
            ):
                return web.Response(
                    status=resp.status, body=await resp.read(), content_type=resp.content_type
                )

        app = web.Application()
        app.router.add_post("/", call)
        return app
