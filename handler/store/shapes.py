"""Turn database rows into the contract's JSON objects."""

from __future__ import annotations

from typing import Any

from handler.timeutil import iso


def project(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "context_instructions": row["context_instructions"],
        "context_enabled": row["context_enabled"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def session(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "pinned": row["pinned"],
        "project_id": str(row["project_id"]) if row["project_id"] else None,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def message(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "role": row["role"],
        "content": row["content"],
        "sources": row["sources"],
        "created_at": iso(row["created_at"]),
        "parentId": str(row["parent_id"]) if row["parent_id"] else None,
        "isDeleted": row["is_deleted"],
        "model": row["model"],
    }


def memory(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "content": row["content"],
        "type": row["type"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
    }


def summary(row: Any) -> dict[str, Any]:
    """A session's entry in its project's memory."""
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "context_summary": row["summary"],
        "summary_updated_at": iso(row["summary_updated_at"]),
    }
