"""Dependencies point one way; each rule names the seam it protects."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLER = Path(__file__).resolve().parent.parent / "handler"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((HANDLER / folder).rglob("*.py"))


def test_the_lambda_runtime_knows_only_an_aiohttp_app():
    for path in _modules("lambda_runtime"):
        outside = {
            m
            for m in _imports(path)
            if m.startswith("handler.") and not m.startswith("handler.lambda_runtime")
        }
        assert not outside, (path.name, outside)


def test_the_store_speaks_sql_not_http():
    for path in _modules("store"):
        web = {m for m in _imports(path) if m.split(".")[0] == "aiohttp"}
        upward = {m for m in _imports(path) if m.startswith(("handler.routes", "handler.chat"))}
        assert not web and not upward, (path.name, web | upward)


def test_the_chat_turn_knows_nothing_of_http():
    for name in ("turn.py", "plan.py", "context.py", "events.py", "answer.py"):
        imported = _imports(HANDLER / "chat" / name)
        assert not {m for m in imported if m.startswith(("aiohttp", "handler.routes"))}, name
        assert "handler.errors" not in imported, name  # HTTP errors belong to the routes


def _route_modules() -> dict[str, Path]:
    """The modules under routes/ that define routes (the others are their helpers)."""
    return {
        f"handler.routes.{path.stem}": path
        for path in _modules("routes")
        if "web.RouteTableDef()" in path.read_text()
    }


def test_no_route_module_imports_another():
    modules = _route_modules()
    assert {"handler.routes.admin", "handler.routes.openapi"} <= set(modules)
    for name, path in modules.items():
        # `from handler.routes import admin` counts as handler.routes.admin.
        others = {m for m in _imports(path) if m in modules and m != name}
        assert not others, (path.name, others)
