"""The contract's error shape: a non-2xx JSON body always has an `error` string."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web


def json_error(
    status: int,
    error: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    return web.json_response({"error": error, **extra}, status=status, headers=headers)


class ApiError(Exception):
    """Raised anywhere in a handler; the errors middleware turns it into a response."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers
        self.extra = extra

    def response(self) -> web.Response:
        return json_error(self.status, self.error, headers=self.headers, **self.extra)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, f"{what} not found")
