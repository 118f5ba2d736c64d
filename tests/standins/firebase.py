"""Google's token-signing certificate endpoint, with keys of our own.

Serves `{kid: PEM certificate}` like
https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com
and signs Firebase-shaped ID tokens with the matching private keys.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

PROJECT_ID = "debugflow-test"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey
    certificate_pem: str


def make_key(kid: str) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid, private, certificate_pem(private))


def certificate_pem(private: Any, public: Any = None) -> str:
    """A certificate of `public` (by default `private`'s own key) signed with `private`,
    as Google publishes its keys."""
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.gserviceaccount.com")]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public or private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(uid: str, project: str = PROJECT_ID, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": now - 60,
        "user_id": uid,
        "sub": uid,
        "iat": now - 10,
        "exp": now + 3600,
        "email": f"{uid}@example.com",
        "email_verified": True,
        "name": f"User {uid}",
        "firebase": {"sign_in_provider": "google.com", "identities": {}},
    }
    claims.update(overrides)
    return claims


def encode(header: dict[str, Any], claims: dict[str, Any], key: SigningKey | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    signature = key.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


@dataclass
class FirebaseCertificates:
    """The stand-in server's state: published keys, and how often it was asked."""

    keys: list[SigningKey]
    max_age: int = 3600
    fetches: int = 0
    url: str = ""
    status: int = 200  # anything else: an outage answering this status
    hang: bool = False  # accept the request and never answer

    def app(self) -> web.Application:
        async def certs(request: web.Request) -> web.Response:
            self.fetches += 1
            if self.hang:
                await asyncio.Event().wait()
            if self.status != 200:
                return web.Response(status=self.status, text="backend error")
            return web.json_response(
                {k.kid: k.certificate_pem for k in self.keys},
                headers={"Cache-Control": f"public, max-age={self.max_age}, must-revalidate"},
            )

        app = web.Application()
        app.router.add_get("/certs", certs)
        return app

    def token(self, uid: str, *, key: SigningKey | None = None, **overrides: Any) -> str:
        key = key or self.keys[0]
        return encode(
            {"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims_for(uid, **overrides), key
        )
