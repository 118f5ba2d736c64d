"""Reading a chat request the model stand-in captured, layer by layer."""

from __future__ import annotations

from typing import Any


def system_text(request: dict[str, Any]) -> str:
    """Every system message of the request, joined: what the layers said."""
    return "\n\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


def talk(request: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's user and assistant turns, in order."""
    return [(m["role"], m["content"]) for m in request["messages"] if m["role"] != "system"]


def headings(request: dict[str, Any]) -> list[str]:
    """Each message as its role and first line, in order: the prompt's shape."""
    return [f"{m['role']}: {m['content'].splitlines()[0]}" for m in request["messages"]]
