"""ID tokens for local use: unsigned (Auth emulator mode) or signed with a local key.

`make dev` with FIREBASE_AUTH_EMULATOR_HOST accepts the Auth emulator's
unsigned tokens. The function under `make emulate` is verified exactly as on
Lambda, so there the tokens are RS256-signed with a key of this machine that
the emulator publishes as a certificate endpoint (FIREBASE_CERTS_URL). This
module only reads that key: the emulator, a development tool, creates it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path

# Relative to the working directory, like the embedded PostgreSQL's .data/postgres.
LOCAL_AUTH_DIR = Path(".data") / "local-auth"
# One file holds the private key and its certificate, so it appears atomically.
KEY_FILE = "signing-key.pem"
# A `demo-` project id is what the Firebase emulators use for projects that do not exist.
LOCAL_PROJECT = "demo-debugflow"
CERTIFICATE_MARKER = "-----BEGIN CERTIFICATE-----"
TOKEN_LIFETIME = 3600


def signs_locally(environ: Mapping[str, str]) -> bool:
    """Whether these settings mean `make emulate`'s local sign-in.

    Unless a Firebase project of the user's, a certificate endpoint, or the
    Auth emulator mode is set, the emulator publishes the local key's
    certificate and `emulator-token` signs with that key.
    """
    return (
        not environ.get("FIREBASE_AUTH_EMULATOR_HOST")
        and environ.get("FIREBASE_PROJECT_ID", "") in ("", LOCAL_PROJECT)
        and not environ.get("FIREBASE_CERTS_URL")
    )


class NoLocalKey(Exception):
    """No local signing key exists yet; the message says how to get one."""


def claims(project: str, uid: str) -> dict:
    """Firebase ID-token claims for `uid`, valid for an hour from now."""
    now = int(time.time())
    return {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "sub": uid,
        "user_id": uid,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "auth_time": now,
        "email": f"{uid}@example.com",
        "email_verified": True,
        "firebase": {"sign_in_provider": "password", "identities": {}},
    }


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict) -> str:
    return _base64url(json.dumps(value).encode())


def emulator_token(project: str, uid: str) -> str:
    """Accepted only by a server started with FIREBASE_AUTH_EMULATOR_HOST set."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims(project, uid))}."


def key_path(directory: Path = LOCAL_AUTH_DIR) -> Path:
    return directory / KEY_FILE


def split_key_file(text: str) -> tuple[str, str]:
    """(private key PEM, certificate PEM) from the key file."""
    key, marker, certificate = text.partition(CERTIFICATE_MARKER)
    if not marker:
        raise ValueError("no certificate in the local signing key file")
    return key.strip() + "\n", marker + certificate


def key_id(certificate_pem: str) -> str:
    """The `kid` of a certificate: hex, like Google's, and stable for the same certificate."""
    return hashlib.sha1(certificate_pem.encode()).hexdigest()


def signed_token(project: str, uid: str, directory: Path = LOCAL_AUTH_DIR) -> str:
    """An RS256 token signed with the local key, as Firebase would sign one."""
    try:
        text = key_path(directory).read_text()
    except FileNotFoundError:
        raise NoLocalKey(
            f"no local signing key in {directory}/: start `make emulate` first (it creates "
            "one); for `make dev` in Auth emulator mode, export the server's "
            "FIREBASE_PROJECT_ID and FIREBASE_AUTH_EMULATOR_HOST here instead"
        ) from None
    # cryptography comes with the dev tools (make emulate); the function never signs.
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    private_pem, certificate_pem = split_key_file(text)
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    header = {"alg": "RS256", "typ": "JWT", "kid": key_id(certificate_pem)}
    signing_input = f"{_segment(header)}.{_segment(claims(project, uid))}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_base64url(signature)}"
