"""Firebase ID-token verification against a local certificate server with our own keys."""

import asyncio
import base64
import subprocess
import sys
import time

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from handler.auth.certificates import WAIT_MARGIN, CertificateCache, CertificatesUnavailable
from handler.keys import SETTINGS
from tests.standins.firebase import SigningKey, certificate_pem, claims_for, encode


async def _status(api, token: str) -> tuple[int, dict]:
    resp = await api.call(
        "GET", "/api/user/profile", uid=None, headers={"Authorization": f"Bearer {token}"}
    )
    return resp.status, await resp.json()


async def test_valid_token_signs_the_user_in(api, db):
    status, body = await _status(api, api.firebase.token("alice"))
    assert status == 200, body
    row = await db.fetchrow("SELECT * FROM users WHERE id = 'alice'")
    assert row["email"] == "alice@example.com"
    assert row["email_verified"] is True
    assert row["sign_in_provider"] == "google.com"
    assert (row["role"], row["status"], row["tier"]) == ("user", "active", "free")


async def test_token_from_cookie(api):
    token = api.firebase.token("alice")
    resp = await api.call("GET", "/api/user/profile", uid=None, cookies={"debugflow_token": token})
    assert resp.status == 200


async def test_second_key_is_accepted(api, signing_keys):
    status, _ = await _status(api, api.firebase.token("alice", key=signing_keys[1]))
    assert status == 200


def _nested_header(token: str) -> str:
    header = base64.urlsafe_b64encode(('{"a":' + "[" * 5000 + "}").encode()).decode()
    return header + token[token.index(".") :]


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    claims = claims_for("mallory")
    forged = encode({}, claims, None).split(".")[1]
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    ("case", "make_token", "message"),
    [
        (
            "expired",
            lambda f, k: f.token("a", exp=int(time.time()) - 600, iat=int(time.time()) - 4000),
            "Token expired",
        ),
        (
            "not yet valid",
            lambda f, k: f.token("a", iat=int(time.time()) + 600, exp=int(time.time()) + 4000),
            "Token not yet valid",
        ),
        ("wrong audience", lambda f, k: f.token("a", aud="other-project"), "wrong audience"),
        (
            "wrong issuer",
            lambda f, k: f.token("a", iss="https://securetoken.google.com/other"),
            "wrong issuer",
        ),
        (
            "future auth_time",
            lambda f, k: f.token("a", auth_time=int(time.time()) + 600),
            "authenticated in the future",
        ),
        ("empty subject", lambda f, k: f.token("a", sub=""), "bad subject"),
        (
            "wrong key",
            lambda f, k: encode({"alg": "RS256", "kid": "key-1"}, claims_for("a"), k[2]),
            "Invalid token",
        ),
        ("unknown kid", lambda f, k: f.token("a", key=k[2]), "unknown signing key"),
        ("tampered payload", lambda f, k: _tampered(f.token("a")), "Invalid token"),
        (
            "alg none",
            lambda f, k: encode({"alg": "none"}, claims_for("a"), None),
            "unsigned (Auth emulator) token",
        ),
        (
            "HS256",
            lambda f, k: encode({"alg": "HS256", "kid": "key-1"}, claims_for("a"), k[0]),
            "unsupported algorithm",
        ),
        ("garbage", lambda f, k: "not-a-token", "malformed"),
        ("garbage segments", lambda f, k: "a.b.c", "malformed"),
        (
            "non-ASCII signature",
            lambda f, k: f.token("a").rpartition(".")[0] + ".\u00e9",
            "malformed",
        ),
        # json.loads recursed past Python's limit: RecursionError, once a 500.
        ("deeply nested header", lambda f, k: _nested_header(f.token("a")), "malformed"),
    ],
)
async def test_bad_tokens_get_401(api, signing_keys, case, make_token, message):
    status, body = await _status(api, make_token(api.firebase, signing_keys))
    assert status == 401, case
    assert message in body["error"], (case, body)


@pytest.mark.parametrize("claim", ["exp", "iat", "auth_time"])
@pytest.mark.parametrize("value", ["1999999999", None, True, float("inf"), float("nan"), [1]])
async def test_signed_token_with_malformed_times_is_401(api, claim, value):
    # Reproduction: a signed token whose exp or iat was a string or null
    # reached google-auth's arithmetic (TypeError) and answered 500.
    status, body = await _status(api, api.firebase.token("alice", **{claim: value}))
    assert status == 401, body
    assert body["error"] == f"Invalid token: {claim} must be a number"


async def test_emulator_token_with_malformed_times_is_401(make_api):
    api = await make_api(firebase_auth_emulator_host="127.0.0.1:9099")
    unsigned = encode({"alg": "none", "typ": "JWT"}, claims_for("emu", exp="soon"), None)
    status, body = await _status(api, unsigned)
    assert (status, body["error"]) == (401, "Invalid token: exp must be a number")


async def test_a_published_certificate_without_a_usable_key_is_401(api, signing_keys):
    """A key we cannot check with (here an elliptic-curve one) refuses its tokens, and
    says so in the log; the other keys keep working."""
    elliptic = ec.generate_private_key(ec.SECP256R1())
    api.firebase.keys.append(SigningKey("ec-key", elliptic, certificate_pem(elliptic)))
    status, body = await _status(api, api.firebase.token("a", key=signing_keys[0]))
    assert status == 200, body
    token = api.firebase.token("a", key=SigningKey("ec-key", signing_keys[0].private, ""))
    status, body = await _status(api, token)
    assert (status, body["error"]) == (401, "Invalid token: unusable signing key")


async def test_missing_token_is_401(api):
    resp = await api.call("GET", "/api/sessions", uid=None)
    assert resp.status == 401
    assert await resp.json() == {"error": "Authentication required"}


async def test_certificates_are_cached_not_fetched_per_request(api):
    for _ in range(5):
        assert (await _status(api, api.firebase.token("alice")))[0] == 200
    assert api.firebase.fetches == 1


async def test_unknown_kid_refreshes_the_certificates(firebase, signing_keys):
    async with aiohttp.ClientSession() as http:
        cache = CertificateCache(http, firebase.url, min_refresh=0)
        assert await cache.get("key-1") == signing_keys[0].certificate_pem
        firebase.keys.append(signing_keys[2])  # Google publishes a new key
        assert await cache.get("rogue") == signing_keys[2].certificate_pem
        assert firebase.fetches == 2


async def test_made_up_kids_cannot_force_refetches(api, signing_keys):
    # Within the refresh floor, unknown key ids are refused without asking Google again.
    for _ in range(3):
        assert (await _status(api, api.firebase.token("alice", key=signing_keys[2])))[0] == 401
    assert (await _status(api, api.firebase.token("alice")))[0] == 200
    assert api.firebase.fetches == 1


async def test_expired_cache_is_refreshed(make_api):
    api = await make_api()
    api.firebase.max_age = 0
    for _ in range(2):
        assert (await _status(api, api.firebase.token("alice")))[0] == 200
    assert api.firebase.fetches == 2


async def test_emulator_tokens_only_in_emulator_mode(make_api):
    unsigned = encode({"alg": "none", "typ": "JWT"}, claims_for("emu"), None)
    normal = await make_api()
    assert (await _status(normal, unsigned))[0] == 401
    emulated = await make_api(firebase_auth_emulator_host="127.0.0.1:9099")
    assert (await _status(emulated, unsigned))[0] == 200


async def test_unconfigured_project_refuses_tokens(make_api):
    api = await make_api(firebase_project_id=None)
    status, body = await _status(api, api.firebase.token("alice"))
    assert status == 401
    assert "not configured" in body["error"]


async def test_certificate_outage_is_503(make_api):
    api = await make_api(firebase_certs_url="http://127.0.0.1:1/certs")
    status, body = await _status(api, api.firebase.token("alice"))
    assert status == 503
    assert "error" in body


async def test_banned_and_blocked_users_get_403(api, db):
    assert (await _status(api, api.firebase.token("bob")))[0] == 200
    await db.execute("UPDATE users SET status = 'banned' WHERE id = 'bob'")
    assert (await _status(api, api.firebase.token("bob")))[0] == 403
    await db.execute(
        "UPDATE users SET status = 'blocked', blocked_until = now() + interval '1 hour' "
        "WHERE id = 'bob'"
    )
    status, body = await _status(api, api.firebase.token("bob"))
    assert status == 403 and "blocked until" in body["error"]
    await db.execute(
        "UPDATE users SET blocked_until = now() - interval '1 minute' WHERE id = 'bob'"
    )
    assert (await _status(api, api.firebase.token("bob")))[0] == 200


async def test_profile_is_updated_only_when_the_token_changes(api, db):
    await _status(api, api.firebase.token("alice"))
    first = await db.fetchval("SELECT updated_at FROM users WHERE id = 'alice'")
    await _status(api, api.firebase.token("alice"))
    assert await db.fetchval("SELECT updated_at FROM users WHERE id = 'alice'") == first
    await _status(api, api.firebase.token("alice", email="new@example.com"))
    row = await db.fetchrow("SELECT email, updated_at FROM users WHERE id = 'alice'")
    assert row["email"] == "new@example.com" and row["updated_at"] > first


@pytest.fixture
def cli_emulator_token(repo_root) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "handler", "emulator-token", "--uid", "local-dev"],
        cwd=repo_root,
        env={"FIREBASE_PROJECT_ID": "debugflow-test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


async def test_cli_emulator_token_is_accepted_in_emulator_mode_only(make_api, cli_emulator_token):
    emulated = await make_api(firebase_auth_emulator_host="127.0.0.1:9099")
    assert (await _status(emulated, cli_emulator_token))[0] == 200
    normal = await make_api()
    assert (await _status(normal, cli_emulator_token))[0] == 401


async def test_hanging_certificate_endpoint_is_fetched_once_for_all_waiters(api):
    # Reproduction: callers queued behind a lock and each waited a full fetch
    # timeout in turn (6 callers: 503 after 6 to 36 s, 6 fetches).
    api.firebase.hang = True
    # The app's fetch timeout is the setting (0.5 s here), not the 5 s default: the
    # callers are answered well before a 5 s fetch could have ended.
    deadline = 2 * api.app[SETTINGS].firebase_certs_timeout + WAIT_MARGIN
    async with asyncio.timeout(deadline):
        results = await asyncio.gather(
            *[_status(api, api.firebase.token(f"u{i}")) for i in range(6)]
        )
    assert [status for status, _ in results] == [503] * 6
    assert api.firebase.fetches == 1
    # Within RETRY_AFTER of the failure, callers are answered without asking again.
    assert (await _status(api, api.firebase.token("late")))[0] == 503
    assert api.firebase.fetches == 1


async def test_failing_certificate_endpoint_is_not_asked_per_token(api, signing_keys):
    # Reproduction: while the endpoint failed, every token (each unknown key
    # id) triggered a fresh fetch: 20 tokens, 20 fetches.
    api.firebase.status = 500
    for i in range(20):
        header = {"alg": "RS256", "kid": f"made-up-{i}" if i % 2 else "key-1"}
        status, body = await _status(api, encode(header, claims_for("alice"), signing_keys[0]))
        assert status == 503, body
    assert api.firebase.fetches == 1


async def test_certificates_come_back_after_an_outage(firebase):
    firebase.status = 500
    async with aiohttp.ClientSession() as http:
        retry_after = 0.2
        cache = CertificateCache(http, firebase.url, retry_after=retry_after)
        with pytest.raises(CertificatesUnavailable, match="HTTP 500"):
            await cache.get("key-1")
        firebase.status = 200
        with pytest.raises(CertificatesUnavailable):  # not asked again yet
            await cache.get("key-1")
        assert firebase.fetches == 1
        # Asked again once the retry window has passed: polled, each poll inside the
        # window is answered from the cached failure without a fetch.
        async with asyncio.timeout(10 * retry_after):
            while True:
                try:
                    certificate = await cache.get("key-1")
                    break
                except CertificatesUnavailable:
                    await asyncio.sleep(retry_after / 10)
        assert certificate is not None
        assert firebase.fetches == 2


async def test_an_outage_keeps_serving_unexpired_certificates(firebase, signing_keys):
    async with aiohttp.ClientSession() as http:
        cache = CertificateCache(http, firebase.url, min_refresh=0)
        assert await cache.get("key-1") is not None
        firebase.status = 500
        assert await cache.get("rogue") is None  # unknown: refetch failed, still a 401 not a 503
        assert await cache.get("key-1") == signing_keys[0].certificate_pem


async def test_claims_postgresql_cannot_hold_never_make_a_500(api, db):
    """A NUL or a lone surrogate in a signed token's name, email or provider is cleaned
    at sign-in (NUL dropped, the surrogate U+FFFD); in the uid, which is the account,
    the token is refused rather than changed (two uids must never become one)."""
    token = api.firebase.token(
        "odd",
        name="Ada\u0000 \ud800Lovelace",
        email="ada\ud83d@example.com",
        firebase={"sign_in_provider": "pass\u0000word", "identities": {}},
    )
    for path in ("/protected", "/api/user/profile", "/api/user/profile/full", "/api/sessions"):
        resp = await api.call("GET", path, uid=None, headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200, (path, await resp.json())
    row = await db.fetchrow("SELECT name, email, sign_in_provider FROM users WHERE id = 'odd'")
    assert tuple(row) == ("Ada \ufffdLovelace", "ada\ufffd@example.com", "password")
    for uid in ("nul\u0000uid", "lone\udc00uid"):
        status, body = await _status(api, api.firebase.token(uid))
        assert (status, body) == (401, {"error": "Invalid token: bad subject"})
    assert await db.fetchval("SELECT count(*) FROM users") == 1


async def test_sign_ins_are_recorded_not_every_request(api, db):
    """The front end's GET /protected after a sign-in sets last_login; other requests
    leave the row alone (no write per request)."""
    await api.json("GET", "/api/user/profile", uid="alice")
    assert await db.fetchval("SELECT last_login_at FROM users WHERE id = 'alice'") is None
    await api.json("GET", "/protected", uid="alice")
    first = await db.fetchrow("SELECT last_login_at, xmin::text FROM users WHERE id = 'alice'")
    assert first["last_login_at"] is not None
    await api.json("GET", "/api/sessions", uid="alice")
    again = await db.fetchrow("SELECT last_login_at, xmin::text FROM users WHERE id = 'alice'")
    assert tuple(again) == tuple(first)
    await api.json("GET", "/protected", uid="alice")
    later = await db.fetchval("SELECT last_login_at FROM users WHERE id = 'alice'")
    assert later > first["last_login_at"]
