"""aiohttp payload writers that turn a response into what the Runtime API wants.

`StreamingWriter` sends the Function URL prelude (status, single-valued
headers, cookies), 8 NUL bytes, then each body write as its own chunk.
`BufferedWriter` collects the response into the classic JSON result.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict

from handler.lambda_runtime.runtime_api import ResponseStream

DELIMITER = b"\0" * 8
# Chunks up to this size go out joined to the prelude; larger ones are sent as they are.
JOIN_LIMIT = 64 * 1024
# Hop-by-hop headers and Content-Length belong to the connection, not the response.
DROPPED = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


def split_headers(headers: CIMultiDict[str]) -> tuple[dict[str, str], list[str]]:
    """Single-valued headers (repeats joined with ", ") and the Set-Cookie values."""
    single: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers.items():
        lower = name.lower()
        if lower == "set-cookie":
            cookies.append(value)
        elif lower not in DROPPED:
            single[lower] = f"{single[lower]}, {value}" if lower in single else value
    return single, cookies


def status_of(status_line: str) -> int:
    return int(status_line.split(" ", 2)[1])


class _Writer(AbstractStreamWriter):
    def __init__(self) -> None:
        self.buffer_size = 0
        self.output_size = 0
        self.length = 0
        self.status = 0
        self.headers: dict[str, str] = {}
        self.cookies: list[str] = []

    async def write_headers(self, status_line: str, headers: CIMultiDict[str]) -> None:
        self.status = status_of(status_line)
        self.headers, self.cookies = split_headers(headers)
        await self._headers_ready()

    async def _headers_ready(self) -> None:
        """Subclasses act once the status and headers are known."""

    async def drain(self) -> None:
        """Writes reach the Runtime API at once; nothing is buffered here."""

    def enable_compression(self, encoding: str = "deflate", strategy: int | None = None) -> None:
        """Function URLs must not get compressed streams; the client negotiates none here."""

    def enable_chunking(self) -> None:
        """The Runtime API connection does its own chunking."""


class StreamingWriter(_Writer):
    """Opens the streamed response on its first byte, so that a failure before it
    can still be reported as an invocation error."""

    def __init__(self, open_stream: Callable[[], Awaitable[ResponseStream]]) -> None:
        super().__init__()
        self._open_stream = open_stream
        self.stream: ResponseStream | None = None
        self._prelude: bytes | None = None
        self._flush: asyncio.Task[None] | None = None

    async def _headers_ready(self) -> None:
        prelude = {"statusCode": self.status, "headers": self.headers, "cookies": self.cookies}
        self._prelude = json.dumps(prelude, separators=(",", ":")).encode() + DELIMITER

    def send_headers(self) -> None:
        # Streaming responses want their headers out before the first body byte.
        if self._prelude is not None and self._flush is None:
            self._flush = asyncio.ensure_future(self._send(b""))

    async def settle(self) -> None:
        """Wait for the headers' flush, if one was started: until it is done, whether the
        response has begun is unknown and the Runtime API's one connection is in use, so
        an error report sent meanwhile would be written into the middle of it."""
        if self._flush is not None:
            await self._flush

    async def _send(self, chunk: bytes | bytearray | memoryview) -> None:
        if self.stream is None:
            self.stream = await self._open_stream()
        prelude, self._prelude = self._prelude or b"", None
        if len(chunk) <= JOIN_LIMIT:
            await self.stream.write(prelude + chunk)  # one small chunk: one send
            return
        # A large body is never copied here: the prelude goes out as a chunk of its own.
        await self.stream.write(prelude)
        await self.stream.write(chunk)

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._flush is not None:
            await self._flush
        if isinstance(chunk, memoryview):
            chunk = chunk.cast("B")  # len() in bytes, whatever its format
        self.buffer_size += len(chunk)
        self.output_size += len(chunk)
        if chunk or self._prelude:
            await self._send(chunk)

    async def write_eof(self, chunk: bytes = b"") -> None:
        # An empty body still sends the prelude and delimiter, or the invocation hangs.
        await self.write(chunk)


class BufferedWriter(_Writer):
    def __init__(self) -> None:
        super().__init__()
        self._body = bytearray()

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self._body += chunk
        self.buffer_size += len(chunk)
        self.output_size += len(chunk)

    async def write_eof(self, chunk: bytes = b"") -> None:
        self._body += chunk

    def result(self) -> dict[str, Any]:
        content_type = self.headers.get("content-type", "")
        body = bytes(self._body)
        text = content_type.startswith(TEXT_TYPES) or content_type.endswith("+json")
        if text:
            try:
                decoded, encoded = body.decode("utf-8"), False
            except UnicodeDecodeError:
                decoded, encoded = base64.b64encode(body).decode(), True
        else:
            decoded, encoded = base64.b64encode(body).decode(), True
        return {
            "statusCode": self.status,
            "headers": self.headers,
            "cookies": self.cookies,
            "body": decoded,
            "isBase64Encoded": encoded,
        }
