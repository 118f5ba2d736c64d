"""Firebase ID-token verification.

RS256 signatures are checked against Google's certificates (handler/auth/rs256.py);
audience, issuer, times and subject are checked as Firebase documents them.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable

from handler.auth import rs256
from handler.auth.certificates import CertificateCache
from handler.auth.identity import Identity

log = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 60
# How a shell gets the same settings as an emulator-mode server (README, docs/local-sign-in.md).
_SAME_SETTINGS = (
    "sign in through the Firebase Auth emulator, or run `python -m handler emulator-token` "
    "in a shell with the server's FIREBASE_PROJECT_ID and FIREBASE_AUTH_EMULATOR_HOST exported"
)


class InvalidToken(Exception):
    """The token must not be accepted; the message is safe to show the client."""


class TokenVerifier:
    def __init__(
        self,
        project_id: Callable[[], Awaitable[str | None]],
        certificates: CertificateCache,
        *,
        emulator: bool = False,
    ) -> None:
        self._project_id = project_id  # read on first use: it may live in a secret
        self._certificates = certificates
        self._emulator = emulator

    async def verify(self, token: str) -> Identity:
        project_id = await self._project_id()
        if not project_id:
            raise InvalidToken("Authentication is not configured on this server")
        header = _header(token)
        if self._emulator:
            claims = self._emulator_claims(header, token, project_id)
        else:
            claims = await self._verified_claims(token, header)
        return self._identity(claims, project_id)

    def _emulator_claims(self, header: dict, token: str, project_id: str) -> dict:
        """The Auth emulator's unsigned token's claims; what else arrives is named, not fetched.

        A signed token here was made for another server (make emulate's local
        key, real Firebase); checking it would fetch Google's certificates.
        """
        if header.get("alg") != "none":
            log.warning(
                "refused a signed token: this server runs in Auth emulator mode "
                "(FIREBASE_AUTH_EMULATOR_HOST) and accepts only the emulator's unsigned tokens; "
                + _SAME_SETTINGS,
                extra={"alg": str(header.get("alg"))},
            )
            raise InvalidToken(
                "Invalid token: a signed token, and this server runs in Auth emulator mode "
                "(FIREBASE_AUTH_EMULATOR_HOST), which accepts only unsigned tokens: "
                + _SAME_SETTINGS
            )
        claims = _unverified_claims(token)
        audience = claims.get("aud")
        if audience != project_id:
            log.warning(
                "refused an emulator token for another project: the Auth emulator's and the "
                "front end's project id must be this server's FIREBASE_PROJECT_ID",
                extra={"token_project": str(audience), "server_project": project_id},
            )
            raise InvalidToken(
                f"Invalid token: made for the project {str(audience)[:64]!r}, and this server "
                f"accepts {project_id!r} (FIREBASE_PROJECT_ID): use the same project id for the "
                "Auth emulator, the front end and the server"
            )
        return claims

    async def _verified_claims(self, token: str, header: dict) -> dict:
        if header.get("alg") == "none":
            raise InvalidToken(
                "Invalid token: an unsigned (Auth emulator) token, and this server verifies "
                "signatures; use `python -m handler emulator-token` against the server it was "
                "made for (make dev with FIREBASE_AUTH_EMULATOR_HOST, or make emulate)"
            )
        if header.get("alg") != "RS256":
            raise InvalidToken("Invalid token: unsupported algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("Invalid token: no key id")
        # Malformed times are refused before anything is fetched.
        claims = _unverified_claims(token)
        _check_times(claims)
        cert = await self._certificates.get(kid)
        if cert is None:
            raise InvalidToken("Invalid token: unknown signing key")
        try:
            key = rs256.certificate_key(cert)
        except ValueError as exc:
            log.error(
                "a signing certificate holds no usable RSA key",
                extra={"kid": kid[:64], "error": str(exc)},
            )
            raise InvalidToken("Invalid token: unusable signing key") from None
        signing_input, _, signature = token.rpartition(".")
        if not rs256.verify(key, signing_input.encode(), _base64url(signature)):
            raise InvalidToken("Invalid token")
        return claims  # verified now

    def _identity(self, claims: dict, project_id: str) -> Identity:
        now = time.time()
        if claims.get("aud") != project_id:
            raise InvalidToken("Invalid token: wrong audience")
        if claims.get("iss") != f"https://securetoken.google.com/{project_id}":
            raise InvalidToken("Invalid token: wrong issuer")
        _check_times(claims)
        if claims["exp"] < now - CLOCK_SKEW_SECONDS:
            raise InvalidToken("Token expired")
        if claims["iat"] > now + CLOCK_SKEW_SECONDS:
            raise InvalidToken("Token not yet valid")
        if claims["auth_time"] > now + CLOCK_SKEW_SECONDS:
            raise InvalidToken("Invalid token: authenticated in the future")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 128:
            raise InvalidToken("Invalid token: bad subject")
        firebase = claims.get("firebase") if isinstance(claims.get("firebase"), dict) else {}
        return Identity(
            uid=sub,
            email=_str_or_none(claims.get("email")),
            name=_str_or_none(claims.get("name")),
            email_verified=claims.get("email_verified") is True,
            sign_in_provider=_str_or_none(firebase.get("sign_in_provider")),
        )


def _check_times(claims: dict) -> None:
    """exp, iat and auth_time must be finite numbers (JSON true is not 1, nor NaN a time)."""
    for claim in ("exp", "iat", "auth_time"):
        value = claims.get(claim)
        if type(value) is not int and not (type(value) is float and math.isfinite(value)):
            raise InvalidToken(f"Invalid token: {claim} must be a number")


def _base64url(raw: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        raise InvalidToken("Invalid token: malformed") from None


def _segment(token: str, index: int) -> dict:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("Invalid token: malformed")
    try:
        decoded = json.loads(_base64url(parts[index]))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise InvalidToken("Invalid token: malformed") from None
    if not isinstance(decoded, dict):
        raise InvalidToken("Invalid token: malformed")
    return decoded


def _header(token: str) -> dict:
    return _segment(token, 0)


def _unverified_claims(token: str) -> dict:
    return _segment(token, 1)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
