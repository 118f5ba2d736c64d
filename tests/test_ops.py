"""The operational routes: /health, /debug-db, /debug-internet, and the error shape."""

import json

from aiohttp import web

from handler.app import create_app
from handler.routes.ops import _database_whereabouts


async def test_health(client):
    resp = await client.get("/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["uptime"] >= 0
    assert body["timestamp"].endswith("Z")
    assert resp.headers["X-Request-Id"]


async def test_debug_db_runs_a_real_query(client):
    resp = await client.get("/debug-db")
    assert resp.status == 200
    body = await resp.json()
    assert body["success"] is True
    assert body["version"].startswith("PostgreSQL")
    assert body["latency"].endswith("ms")
    assert body["time_on_db"]
    # The original's diagnostics: the test database is on loopback, named by DATABASE_URL.
    assert body["message"] == "The database answered"
    assert (body["env_db_set"], body["db_is_localhost"]) == (True, True)


def test_database_whereabouts_as_the_original_reports_them():
    assert _database_whereabouts(None) == {"env_db_set": False, "db_is_localhost": True}
    remote = "postgresql://u:p@debugflow.abc.eu-west-1.rds.amazonaws.com:5432/db"
    assert _database_whereabouts(remote) == {"env_db_set": True, "db_is_localhost": False}
    assert _database_whereabouts("postgresql://u@[::1]/db")["db_is_localhost"] is True
    assert _database_whereabouts("postgresql://u@/db?host=/run/pg")["db_is_localhost"] is True
    assert _database_whereabouts("postgresql://u@/db")["db_is_localhost"] is True


async def test_unreachable_database_fails_clearly_without_secrets(make_client, make_settings):
    secret_url = "postgresql://admin:hunter2-secret@127.0.0.1:1/prod"
    client = await make_client(
        create_app(make_settings(database_url=secret_url, database_connect_timeout=2))
    )
    resp = await client.get("/debug-db")
    assert resp.status == 500
    text = await resp.text()
    body = json.loads(text)
    assert body["success"] is False
    assert body["error"].startswith("Cannot connect to the database")
    assert "latency" in body
    assert body["message"] == "The database could not be reached"
    assert (body["env_db_set"], body["db_is_localhost"]) == (True, True)
    assert "hunter2" not in text and "admin" not in text and "Traceback" not in text
    health = await client.get("/health")
    assert health.status == 200


async def _cert_server(make_client, status: int, payload: str) -> str:
    async def certs(request: web.Request) -> web.Response:
        return web.Response(status=status, text=payload, content_type="application/json")

    app = web.Application()
    app.router.add_get("/certs", certs)
    server = await make_client(app)
    return str(server.make_url("/certs"))


async def test_debug_internet_counts_certificates(make_client, make_settings):
    url = await _cert_server(make_client, 200, json.dumps({"k1": "PEM1", "k2": "PEM2"}))
    client = await make_client(create_app(make_settings(firebase_certs_url=url)))
    resp = await client.get("/debug-internet")
    assert resp.status == 200
    body = await resp.json()
    assert body["success"] is True
    assert body["keys_count"] == 2
    assert body["latency"].endswith("ms")


async def test_debug_internet_reports_an_error_status(make_client, make_settings):
    url = await _cert_server(make_client, 503, "{}")
    client = await make_client(create_app(make_settings(firebase_certs_url=url)))
    resp = await client.get("/debug-internet")
    assert resp.status == 500
    body = await resp.json()
    assert body == {
        "success": False,
        "error": "Cannot fetch Firebase certificates: certificate endpoint answered HTTP 503",
        "latency": body["latency"],
    }


async def test_debug_internet_unreachable(make_client, make_settings):
    settings = make_settings(firebase_certs_url="http://127.0.0.1:1/certs")
    client = await make_client(create_app(settings))
    resp = await client.get("/debug-internet")
    assert resp.status == 500
    body = await resp.json()
    assert body["success"] is False
    assert body["error"].startswith("Cannot fetch Firebase certificates: ClientConnector")


async def test_unknown_route_and_wrong_method_are_json(client):
    resp = await client.get("/no-such-route")
    assert resp.status == 404
    assert await resp.json() == {"error": "Not found"}
    resp = await client.post("/health")
    assert resp.status == 405
    assert await resp.json() == {"error": "Method not allowed"}
    assert "GET" in resp.headers["Allow"]


async def test_oversize_body_is_413(make_client, make_settings):
    client = await make_client(create_app(make_settings(max_body_bytes=100)))
    resp = await client.post("/health", data=b"x" * 101)
    assert resp.status == 413
    assert await resp.json() == {"error": "Request body too large (limit 100 bytes)"}
