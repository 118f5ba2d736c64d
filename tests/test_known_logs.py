"""`python -m handler index-logs`: known logs loaded, then cited by chat."""

import json
import subprocess
import sys

from tests.chatstream import chat

LOGS = [
    {
        "title": "Postgres refused the connection",
        "content": "ECONNREFUSED 127.0.0.1:5432: the database is down or not listening",
        "url": "https://wiki.example/postgres-refused",
    },
    {
        "id": "cors",
        "title": "Browser blocked by CORS",
        "content": "No Access-Control-Allow-Origin header is present on the requested resource",
    },
]


def index_logs(repo_root, database_url, path):
    return subprocess.run(
        [sys.executable, "-m", "handler", "index-logs", str(path)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"DATABASE_URL": database_url, "DATABASE_SSL": "disable", "PATH": "/usr/bin:/bin"},
    )


async def test_loaded_logs_are_cited_in_answers(repo_root, database_url, tmp_path, make_api, db):
    path = tmp_path / "logs.jsonl"
    path.write_text("\n".join(json.dumps(log) for log in LOGS) + "\n\n")
    result = index_logs(repo_root, database_url, path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "indexed 2 known logs"  # after JSON logs
    assert index_logs(repo_root, database_url, path).returncode == 0  # again: replaced
    rows = await db.fetch("SELECT id, kind, title, url FROM vector_items ORDER BY title")
    assert [(r["kind"], r["title"]) for r in rows] == [
        ("known_log", "Browser blocked by CORS"),
        ("known_log", "Postgres refused the connection"),
    ]
    assert rows[0]["id"] == "log:cors" and rows[1]["url"] == "https://wiki.example/postgres-refused"

    api = await make_api()  # offline model and embedder, as the loader used
    sid = (await api.json("POST", "/api/sessions", status=201))["id"]
    t = await chat(api, {"sessionId": sid, "message": "ECONNREFUSED 127.0.0.1:5432 postgres"})
    assert t.first("sources")[0] == {
        "index": 1,
        "title": "Postgres refused the connection",
        "url": "https://wiki.example/postgres-refused",
    }


def test_bad_lines_are_refused_with_their_number(repo_root, database_url, tmp_path):
    path = tmp_path / "logs.jsonl"
    path.write_text(json.dumps(LOGS[0]) + "\n" + json.dumps({"title": "no content"}) + "\n")
    result = index_logs(repo_root, database_url, path)
    assert result.returncode == 2
    assert "line 2: 'content' must be a non-empty string" in result.stderr
