"""A server in Auth emulator mode says what is wrong with a token made for another server.

The usual stumble: `make dev` runs with FIREBASE_AUTH_EMULATOR_HOST exported,
and a second shell without the exports mints a token signed with make
emulate's key (or a real Firebase one arrives). Checking its signature would
fetch Google's certificates (a 503 offline); it gets a 401 naming the mode and
the fix instead, and one log line.
"""

from __future__ import annotations

import logging

from handler.auth import emulator as local_auth
from tests.standins.firebase import PROJECT_ID, claims_for, encode

EMULATOR_MODE = {"firebase_auth_emulator_host": "127.0.0.1:9099"}


async def _protected(api, token: str) -> tuple[int, dict]:
    resp = await api.call(
        "GET", "/protected", uid=None, headers={"Authorization": f"Bearer {token}"}
    )
    return resp.status, await resp.json()


def _refusals(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "handler.auth.tokens"]


async def test_a_signed_token_is_refused_naming_the_mode_and_the_fix(make_api, caplog):
    api = await make_api(**EMULATOR_MODE)
    caplog.set_level(logging.WARNING, logger="handler.auth.tokens")
    status, body = await _protected(api, api.firebase.token("alice"))
    assert status == 401
    assert "Auth emulator mode" in body["error"]
    assert "FIREBASE_AUTH_EMULATOR_HOST" in body["error"] and "emulator-token" in body["error"]
    assert api.firebase.fetches == 0  # nothing asked of Google's certificate endpoint
    (line,) = _refusals(caplog)
    assert "signed token" in line.getMessage() and line.alg == "RS256"


async def test_make_emulates_signed_token_gets_the_same_answer(make_api, tmp_path):
    from devtools.lambda_emulator import ensure_signing_key

    ensure_signing_key(tmp_path)
    api = await make_api(**EMULATOR_MODE)
    signed = local_auth.signed_token(PROJECT_ID, "dev-user", tmp_path)
    status, body = await _protected(api, signed)
    assert status == 401 and "Auth emulator mode" in body["error"]


async def test_an_emulator_token_for_another_project_names_both(make_api, caplog):
    api = await make_api(**EMULATOR_MODE)
    caplog.set_level(logging.WARNING, logger="handler.auth.tokens")
    token = local_auth.emulator_token("demo-other", "alice")
    status, body = await _protected(api, token)
    assert status == 401
    assert "'demo-other'" in body["error"] and repr(PROJECT_ID) in body["error"]
    (line,) = _refusals(caplog)
    assert line.token_project == "demo-other"

    good = encode({"alg": "none", "typ": "JWT"}, claims_for("alice"), None)
    assert (await _protected(api, good))[0] == 200
