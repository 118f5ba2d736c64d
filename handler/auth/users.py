"""Who is calling: the token's identity, stored and checked against its status."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler

from handler.auth.certificates import CertificatesUnavailable
from handler.auth.identity import Identity, User
from handler.auth.tokens import InvalidToken
from handler.errors import ApiError
from handler.keys import DATABASE, SETTINGS, TOKEN_VERIFIER, USER
from handler.secrets import SecretsUnavailable
from handler.store import users

log = logging.getLogger(__name__)

TOKEN_COOKIE = "debugflow_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_PATH = "/protected"  # the front end calls it once after each Firebase sign-in
# What PostgreSQL text cannot hold. A decoded JSON string joins escaped surrogate
# pairs into one character, so any surrogate left in it is unpaired.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def header_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def require_same_site(request: web.Request) -> None:
    """Refuse a cookie-authenticated unsafe request that a browser sent for another site.

    A browser attaches the cookie to any request to us, including an HTML
    form's text/plain POST from another site, which needs no CORS preflight.
    It also sends `Origin` on every POST, PUT, PATCH and DELETE, cross-origin
    or not (https://fetch.spec.whatwg.org/#origin-header), and a page cannot
    forge it, so the origin must be one of CORS_ORIGINS.
    """
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("Origin") not in request.app[SETTINGS].cors_origins:
        raise ApiError(
            403,
            f"Cross-site request refused: a {request.method} authenticated by the "
            f"{TOKEN_COOKIE} cookie must come from an allowed Origin "
            "(or send the token in the Authorization header)",
        )


def _storable(value: str | None) -> str | None:
    """A display claim as text PostgreSQL can hold: NUL dropped, lone surrogates U+FFFD."""
    if value is None:
        return None
    cleaned = _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)
    return cleaned or None


async def sign_in(request: web.Request, identity: Identity, *, signing_in: bool) -> User:
    # The uid is the account: cleaning it could make two accounts one, so refuse it.
    if _UNSTORABLE.search(identity.uid):
        raise ApiError(401, "Invalid token: bad subject")
    pool = await request.app[DATABASE].pool()
    claims = (
        identity.uid,
        _storable(identity.email),
        _storable(identity.name),
        identity.email_verified,
        _storable(identity.sign_in_provider),
    )
    row = await users.sign_in(pool, *claims, signing_in=signing_in)
    if row is None:  # the account was deleted in between
        raise ApiError(503, "Could not sign you in right now; try again")
    user = User(**dict(row))
    if user.status == "banned":
        raise ApiError(403, "This account has been banned")
    blocked_now = user.blocked_until is None or user.blocked_until > datetime.now(UTC)
    if user.status == "blocked" and blocked_now:
        until = f" until {user.blocked_until.isoformat()}" if user.blocked_until else ""
        raise ApiError(403, f"This account is blocked{until}")
    return user


def _protected(canonical: str) -> bool:
    # /protected is the front end's sign-in confirmation (GET, authenticated).
    return canonical.startswith("/api/") or canonical == SIGN_IN_PATH


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api/ route and /protected need a valid Firebase ID token; others are public."""
    route = request.match_info.route.resource
    canonical = (route.canonical or "") if route is not None else ""
    if not _protected(canonical):
        return await handler(request)
    token = header_token(request)
    if token is None:
        token = request.cookies.get(TOKEN_COOKIE) or None
        if token is None:
            raise ApiError(401, "Authentication required")
        require_same_site(request)
    # Sign-in needs the pool: on a cold start it is made while the token is verified.
    starting = request.app[DATABASE].start()
    try:
        identity = await request.app[TOKEN_VERIFIER].verify(token)
    except InvalidToken as exc:
        raise ApiError(401, str(exc)) from None
    except CertificatesUnavailable:
        raise ApiError(503, "Cannot verify sign-in right now; try again shortly") from None
    except SecretsUnavailable as exc:
        log.error("cannot read the Firebase project", extra={"error": str(exc)})
        raise ApiError(503, "Sign-in is not available right now; try again shortly") from None
    if starting is not None:
        await asyncio.shield(starting)  # its outcome is this request's: one attempt, not two
    request[USER] = await sign_in(request, identity, signing_in=canonical == SIGN_IN_PATH)
    return await handler(request)
