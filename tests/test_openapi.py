"""/openapi.json describes exactly the routes the app serves."""

from handler.app import create_app
from handler.settings import Settings


def _registered() -> set[tuple[str, str]]:
    app = create_app(Settings.from_env({}))
    found = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "*"):
            continue
        found.add((route.method.lower(), route.resource.canonical))
    return found


async def test_document_matches_registered_routes(client):
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    described = {(m, path) for path, ops in doc["paths"].items() for m in ops}
    assert described == _registered()


async def test_every_operation_documents_errors_and_references_resolve(client):
    doc = await (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    text = str(doc)
    for name in {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if path.startswith("/api/"):
                assert "401" in op["responses"], (method, path)
            if "requestBody" in op:
                assert "400" in op["responses"] and "413" in op["responses"], (method, path)
