"""Projects, sessions, messages, profile and memories against real PostgreSQL."""

import uuid

import pytest

# Both paths: straight to PostgreSQL, and through pgbouncer in transaction mode.
pytestmark = pytest.mark.parametrize("database_path", ["direct", "pgbouncer"], indirect=True)

NEW = "New Debug Session"


async def _messages(db, session_id, *contents):
    """Store a chain of alternating user/assistant messages; return their ids."""
    parent = None
    ids = []
    for i, content in enumerate(contents):
        parent = await db.fetchval(
            "INSERT INTO messages (session_id, parent_id, role, content) "
            "VALUES ($1, $2, $3, $4) RETURNING id",
            uuid.UUID(session_id),
            parent,
            ("user", "assistant")[i % 2],
            content,
        )
        ids.append(str(parent))
    return ids


async def test_sessions_lifecycle(api, db):
    assert await api.json("GET", "/api/sessions") == []
    first = await api.json("POST", "/api/sessions", status=201)
    assert first["title"] == NEW and first["pinned"] is False and first["project_id"] is None
    second = await api.json("POST", "/api/sessions", json={}, status=201)
    await api.json("PATCH", f"/api/sessions/{first['id']}", json={"pinned": True})
    listed = await api.json("GET", "/api/sessions")
    assert [s["id"] for s in listed] == [first["id"], second["id"]]  # pinned first
    await api.json("PATCH", f"/api/sessions/{first['id']}", json={"pinned": False})
    renamed = await api.json("PATCH", f"/api/sessions/{second['id']}", json={"title": " Boom "})
    assert renamed["title"] == "Boom"
    listed = await api.json("GET", "/api/sessions")
    assert [s["id"] for s in listed] == [second["id"], first["id"]]  # most recent first

    ids = await _messages(db, first["id"], "why?", "because", "and?")
    full = await api.json("GET", f"/api/sessions/{first['id']}")
    assert full["id"] == first["id"]
    assert [m["content"] for m in full["messages"]] == ["why?", "because", "and?"]
    assert full["messages"][1] == {
        **full["messages"][1],
        "role": "assistant",
        "parentId": ids[0],
        "isDeleted": False,
        "sources": [],
    }
    assert full["messages"][0]["parentId"] is None
    assert await api.json("GET", f"/api/sessions/{first['id']}/messages") == full["messages"]

    deleted = await api.json("DELETE", f"/api/messages/{ids[1]}")
    assert deleted["message"]["isDeleted"] is True
    listed = await api.json("GET", f"/api/sessions/{first['id']}/messages")
    assert [m["isDeleted"] for m in listed] == [False, True, False]
    await api.json("POST", f"/api/messages/{ids[1]}/restore")
    listed = await api.json("GET", f"/api/sessions/{first['id']}/messages")
    assert [m["isDeleted"] for m in listed] == [False, False, False]

    assert await api.json("DELETE", f"/api/sessions/{first['id']}") == {"success": True}
    await api.json("GET", f"/api/sessions/{first['id']}", status=404)
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_session_validation(api):
    session = await api.json("POST", "/api/sessions", status=201)
    path = f"/api/sessions/{session['id']}"
    for body, message in [
        ({}, "at least one"),
        ({"title": ""}, "'title' must not be empty"),
        ({"title": 5}, "'title' must be a string"),
        ({"title": "x" * 201}, "at most 200"),
        ({"pinned": "yes"}, "'pinned' must be true or false"),
        ({"project_id": "nope"}, "'project_id' must be a UUID"),
    ]:
        body_out = await api.json("PATCH", path, json=body, status=400)
        assert message in body_out["error"], body
    assert "JSON" in (await api.json("PATCH", path, data=b"{nope", status=400))["error"]
    assert "object" in (await api.json("PATCH", path, json=[1], status=400))["error"]
    await api.json("GET", "/api/sessions/not-a-uuid", status=400)
    await api.json("GET", f"/api/sessions/{uuid.uuid4()}", status=404)
    await api.json("POST", "/api/sessions", json={"project_id": str(uuid.uuid4())}, status=404)


async def test_projects_lifecycle(api, db):
    project = await api.json("POST", "/api/projects", json={"name": "Payments"}, status=201)
    assert project["name"] == "Payments"
    assert project["context_enabled"] is True and project["context_instructions"] is None
    pid = project["id"]
    assert await api.json("GET", f"/api/projects/{pid}") == project
    assert (await api.json("PATCH", f"/api/projects/{pid}", json={"name": "Billing"}))[
        "name"
    ] == "Billing"
    ctx = await api.json(
        "PATCH", f"/api/projects/{pid}/context", json={"context_instructions": "Use Go 1.22"}
    )
    assert ctx["context_instructions"] == "Use Go 1.22"
    toggled = await api.json(
        "PATCH", f"/api/projects/{pid}/context-toggle", json={"context_enabled": False}
    )
    assert toggled["context_enabled"] is False
    assert [p["id"] for p in await api.json("GET", "/api/projects")] == [pid]

    session = await api.json("POST", "/api/sessions", json={"project_id": pid}, status=201)
    assert session["project_id"] == pid
    other = await api.json("POST", "/api/sessions", status=201)
    moved = await api.json("PATCH", f"/api/sessions/{other['id']}", json={"project_id": pid})
    assert moved["project_id"] == pid
    out = await api.json("PATCH", f"/api/sessions/{other['id']}", json={"project_id": None})
    assert out["project_id"] is None

    assert await api.json("DELETE", f"/api/projects/{pid}") == {"success": True}
    await api.json("GET", f"/api/projects/{pid}", status=404)
    kept = await api.json("GET", f"/api/sessions/{session['id']}")
    assert kept["project_id"] is None  # sessions move back to no project


async def test_project_validation(api):
    await api.json("POST", "/api/projects", json={}, status=400)
    await api.json("POST", "/api/projects", json={"name": "   "}, status=400)
    await api.json("POST", "/api/projects", json={"name": "x" * 201}, status=400)
    pid = (await api.json("POST", "/api/projects", json={"name": "P"}, status=201))["id"]
    await api.json(
        "PATCH", f"/api/projects/{pid}/context-toggle", json={"context_enabled": 1}, status=400
    )
    await api.json(
        "PATCH", f"/api/projects/{pid}/context", json={"context_instructions": 3}, status=400
    )
    await api.json("DELETE", f"/api/projects/{uuid.uuid4()}", status=404)
    await api.json("DELETE", "/api/projects/123", status=400)


async def test_profile_and_memories(api):
    profile = await api.json("GET", "/api/user/profile")
    assert profile["global_instructions"] == ""  # as the original: "" for none
    assert await api.json(
        "PATCH", "/api/user/profile", json={"global_instructions": "Answer in French"}
    ) == {"success": True, "global_instructions": "Answer in French"}
    full = await api.json("GET", "/api/user/profile/full")
    assert full.pop("rate_limit_reset_at").endswith("Z")  # the window (test_user_contract.py)
    assert full == {
        "id": "alice",
        "email": "alice@example.com",
        "name": "User alice",
        "role": "user",
        "status": "active",
        "global_instructions": "Answer in French",
        "tier": "free",
        "daily_requests_count": 0,
        "permissions": {},
    }
    await api.json("PATCH", "/api/user/profile", json={"global_instructions": 7}, status=400)
    await api.json("PATCH", "/api/user/profile", json={}, status=400)

    memory = await api.json("POST", "/api/user/memories", json={"content": "Uses k8s"}, status=201)
    assert (memory["type"], memory["status"]) == ("EXPLICIT", "ACTIVE")
    archived = await api.json("PATCH", f"/api/user/memories/{memory['id']}/archive")
    assert (archived["success"], archived["status"]) == (True, "ARCHIVED")
    assert await api.json("GET", "/api/user/memories") == []  # archived ones are not listed
    promoted = await api.json("PATCH", f"/api/user/memories/{memory['id']}/promote")
    assert (promoted["type"], promoted["status"]) == ("EXPLICIT", "ACTIVE")
    assert await api.json("GET", "/api/user/memories") == [promoted]
    await api.json("POST", "/api/user/memories", json={"content": ""}, status=400)
    await api.json("POST", "/api/user/memories", json={"content": "x" * 2001}, status=400)
    await api.json("PATCH", f"/api/user/memories/{uuid.uuid4()}/archive", status=404)


async def test_delete_history_and_account(api, db):
    s = await api.json("POST", "/api/sessions", status=201)
    await _messages(db, s["id"], "q", "a")
    await api.json("POST", "/api/projects", json={"name": "P"}, status=201)
    await api.json("POST", "/api/user/memories", json={"content": "m"}, status=201)
    assert (await api.json("DELETE", "/api/user/history"))["deleted_sessions"] == 1
    assert await db.fetchval("SELECT count(*) FROM sessions") == 0
    assert await db.fetchval("SELECT count(*) FROM messages") == 0
    assert await db.fetchval("SELECT count(*) FROM projects") == 1

    await api.json("POST", "/api/sessions", status=201)
    assert await api.json("DELETE", "/api/user/account") == {"success": True}
    for table in ("users", "projects", "sessions", "messages", "user_memories", "usage_counters"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_users_cannot_touch_each_others_data(api, db):
    session = await api.json("POST", "/api/sessions", status=201)
    project = await api.json("POST", "/api/projects", json={"name": "A"}, status=201)
    memory = await api.json("POST", "/api/user/memories", json={"content": "m"}, status=201)
    (message,) = await _messages(db, session["id"], "secret")
    s, p, m, msg = session["id"], project["id"], memory["id"], message

    attempts = [
        ("GET", f"/api/sessions/{s}", None),
        ("GET", f"/api/sessions/{s}/messages", None),
        ("PATCH", f"/api/sessions/{s}", {"title": "mine"}),
        ("DELETE", f"/api/sessions/{s}", None),
        ("DELETE", f"/api/messages/{msg}", None),
        ("POST", f"/api/messages/{msg}/restore", None),
        ("GET", f"/api/projects/{p}", None),
        ("PATCH", f"/api/projects/{p}", {"name": "mine"}),
        ("PATCH", f"/api/projects/{p}/context", {"context_instructions": "x"}),
        ("PATCH", f"/api/projects/{p}/context-toggle", {"context_enabled": False}),
        ("DELETE", f"/api/projects/{p}", None),
        ("PATCH", f"/api/user/memories/{m}/archive", None),
        ("PATCH", f"/api/user/memories/{m}/promote", None),
        ("POST", "/api/sessions", {"project_id": p}),
    ]
    for method, path, body in attempts:
        resp = await api.call(method, path, uid="eve", json=body)
        assert resp.status == 404, (method, path, resp.status)
        assert "not found" in (await resp.json())["error"]
    eve_session = await api.json("POST", "/api/sessions", uid="eve", status=201)
    await api.json(
        "PATCH", f"/api/sessions/{eve_session['id']}", uid="eve", json={"project_id": p}, status=404
    )
    assert await api.json("GET", "/api/sessions", uid="eve") == [
        {**eve_session, "updated_at": eve_session["updated_at"]}
    ]
    assert await api.json("GET", "/api/projects", uid="eve") == []
    assert await api.json("GET", "/api/user/memories", uid="eve") == []
    await api.json("DELETE", "/api/user/history", uid="eve")
    await api.json("DELETE", "/api/user/account", uid="eve")

    # Alice's data is untouched.
    assert (await api.json("GET", f"/api/sessions/{s}"))["title"] == NEW
    assert (await api.json("GET", f"/api/projects/{p}"))["name"] == "A"
    assert (await api.json("GET", "/api/user/memories"))[0]["status"] == "ACTIVE"
    assert (await api.json("GET", f"/api/sessions/{s}/messages"))[0]["isDeleted"] is False


@pytest.mark.parametrize("path", ["/api/sessions", "/api/projects", "/api/user/memories"])
async def test_oversize_bodies_are_413(make_api, path):
    api = await make_api(max_body_bytes=1024)
    resp = await api.call("POST", path, json={"name": "x" * 2000, "content": "x" * 2000})
    assert resp.status == 413
    assert "too large" in (await resp.json())["error"]
