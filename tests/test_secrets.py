"""Secrets by ARN, read once through the extension's local endpoint (as on Lambda), and the
signed direct read that bypasses it."""

import json
from datetime import UTC, datetime

import pytest
from yarl import URL

from handler.secrets import Secrets, SecretsUnavailable
from handler.secrets_manager import (
    Credentials,
    SecretsManagerError,
    default_endpoint,
    region_of,
    signed_headers,
)
from tests.chatstream import chat
from tests.standins import huggingface as hf
from tests.standins.firebase import PROJECT_ID
from tests.standins.moto_secrets_manager import CREDENTIALS, signature_error

APP_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:debugflow-app-AbCdEf"
DB_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-XyZ"


@pytest.fixture
async def lambda_like_api(make_api, extension, huggingface, db, database_url):
    """Configured as Terraform configures the function: secrets by ARN only."""
    await db.execute(  # roles belong to the whole server, shared by every test
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_user') THEN "
        "CREATE ROLE app_user LOGIN PASSWORD 'from-the-secret' SUPERUSER; END IF; END $$"
    )
    extension.secrets[APP_ARN] = {
        "HUGGINGFACE_API_KEY": hf.API_KEY,
        "FIREBASE_PROJECT_ID": PROJECT_ID,
    }
    extension.secrets[DB_ARN] = {
        "username": "app_user",
        "password": "from-the-secret",
        "engine": "postgres",
    }
    return await make_api(
        firebase_project_id=None,
        app_secrets_arn=APP_ARN,
        database_secret_arn=DB_ARN,
        secrets_extension_port=extension.port,
        hf_base_url=huggingface.url,
        hf_model=hf.MAIN_MODEL,
        hf_fast_model=hf.FAST_MODEL,
    )


async def test_health_reads_no_secret(lambda_like_api, extension):
    assert (await lambda_like_api.client.get("/health")).status == 200
    assert extension.reads == []


async def test_secrets_are_read_once_and_used(lambda_like_api, extension, db):
    api = lambda_like_api
    sid = (await api.json("POST", "/api/sessions", status=201))["id"]  # Firebase project
    t = await chat(api, {"sessionId": sid, "message": "help"})  # HuggingFace key
    assert t.kinds()[-1] == "[DONE]"
    await chat(api, {"sessionId": sid, "message": "again"})
    assert sorted(set(extension.reads)) == sorted([APP_ARN, DB_ARN])
    assert len(extension.reads) == 2  # each secret once for the container
    users = await db.fetch(
        "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'debugflow'"
    )
    assert [r["usename"] for r in users] == ["app_user"]


async def test_unreadable_secret_fails_clearly(make_api, extension):
    api = await make_api(
        firebase_project_id=None,
        app_secrets_arn="arn:missing",
        secrets_extension_port=extension.port,
    )
    resp = await api.call("GET", "/api/sessions")
    assert resp.status == 503
    assert await resp.json() == {"error": "Sign-in is not available right now; try again shortly"}


@pytest.mark.parametrize("token", [None, "session-token"])
@pytest.mark.parametrize(
    "endpoint", ["https://secretsmanager.eu-west-1.amazonaws.com", "http://127.0.0.1:4566"]
)
def test_the_direct_read_is_signed_as_aws_checks_it(token, endpoint):
    """The hand-written SigV4 signer agrees with botocore's on the same request."""
    url = URL(endpoint).with_path("/")
    body = json.dumps({"SecretId": DB_ARN, "VersionStage": "AWSCURRENT"}).encode()
    credentials = Credentials(
        CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"], token
    )
    now = datetime(2026, 12, 2, 21, 0, 7, tzinfo=UTC)
    headers = signed_headers(url, body, region_of(DB_ARN), credentials, now)
    assert headers["X-Amz-Date"] == "20261202T210007Z"
    assert ("X-Amz-Security-Token" in headers) == (token is not None)
    assert signature_error("POST", str(url), headers, body) is None
    assert signature_error("POST", str(url), headers, body + b" ") == "signature does not match"
    wrong_key = Credentials(credentials.access_key, "another-secret", token)
    headers = signed_headers(url, body, "eu-west-1", wrong_key, now)
    assert signature_error("POST", str(url), headers, body) == "signature does not match"


def test_a_secret_named_without_its_arn_has_no_region():
    with pytest.raises(SecretsManagerError, match="not named by a full ARN"):
        region_of("rds!db-1234")
    assert default_endpoint(DB_ARN) == "https://secretsmanager.eu-west-1.amazonaws.com"


async def test_the_owners_login_is_read_only_when_asked_for(make_settings, extension):
    """The migrate step's login: its own secret, never read for requests."""
    owner_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-owner-AbC"
    extension.secrets[owner_arn] = {"username": "debugflow", "password": "owner-password"}
    secrets = Secrets(
        make_settings(database_owner_secret_arn=owner_arn, secrets_extension_port=extension.port)
    )
    assert await secrets.owner_credentials() == ("debugflow", "owner-password")
    assert await Secrets(make_settings()).owner_credentials() is None
    extension.secrets[owner_arn] = {"user": "debugflow"}
    stale = Secrets(
        make_settings(database_owner_secret_arn=owner_arn, secrets_extension_port=extension.port)
    )
    extension.ttl = 0  # past the extension's cache: the malformed value is what it serves
    with pytest.raises(SecretsUnavailable, match="DATABASE_OWNER_SECRET_ARN: no username"):
        await stale.owner_credentials()
