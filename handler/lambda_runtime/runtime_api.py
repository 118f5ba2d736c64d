"""A small HTTP/1.1 client for the Lambda Runtime API, on one kept-alive connection.

Written on asyncio streams rather than aiohttp's client because a streamed
response must end with HTTP trailers (error type and body), which neither
aiohttp nor http.client can send, and because every chunk must leave at once
(TCP_NODELAY, no buffering).

What each answer means is AWS's contract, not ours
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html and its
OpenAPI file, runtime-api.zip): `invocation/next` answers 200, 403 or 500;
`invocation/{id}/response` (buffered or streamed) 202, 400, 403, 413 or 500;
`invocation/{id}/error` 202, 400, 403 or 500; `init/error` 202, 403 or 500.
Only 500 ("Container error. Non-recoverable state. Runtime should exit
promptly") ends the runtime: it raises `RuntimeMustExit`. Any other refusal
of a response or error (`InvocationRefused`) is the failure of that one
invocation, as is a connection lost in the middle of one (`ConnectionLost`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from dataclasses import dataclass
from typing import Any

API_VERSION = "2018-06-01"
ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY = "Lambda-Runtime-Function-Error-Body"
STREAM_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
# Larger response chunks are written in slices of this size (see ResponseStream.write).
SLICE = 256 * 1024


class RuntimeApiError(Exception):
    """The Runtime API did not accept a request."""


class RuntimeMustExit(RuntimeApiError):
    """A 500 from the Runtime API: AWS documents it as fatal for the runtime."""


class InvocationRefused(RuntimeApiError):
    """A 4xx (or any undocumented status) to a response or error: that invocation failed."""


class NextRefused(RuntimeApiError):
    """`invocation/next` answered neither an event nor 500 (403, or a malformed event)."""


class ConnectionLost(RuntimeApiError, ConnectionResetError):
    """The connection to the Runtime API broke before it answered. To the app writing a
    streamed response it is what a socket's reset is: the client is gone."""


# What a broken or closed connection raises from asyncio's streams.
CONNECTION_ERRORS = (OSError, asyncio.IncompleteReadError)


@dataclass(frozen=True, slots=True)
class Invocation:
    request_id: str
    deadline_ms: int | None  # None: the header was missing or malformed
    trace_id: str | None
    body: bytes


def parse_deadline(value: str | None) -> int | None:
    """Lambda-Runtime-Deadline-Ms as epoch milliseconds, or None if it is not one."""
    try:
        deadline = int(value or "")
    except ValueError:
        return None
    return deadline if deadline > 0 else None


def error_payload(exc: BaseException) -> dict[str, Any]:
    import traceback

    return {
        "errorMessage": str(exc) or type(exc).__name__,
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[-10:],
    }


class RuntimeApi:
    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._host, self._port = host, int(port)
        self._base = f"/{API_VERSION}/runtime"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            sock = self._writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self._reader is not None
        return self._reader, self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    def _head(self, method: str, path: str, headers: dict[str, str]) -> bytes:
        lines = [f"{method} {self._base}{path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def read_response(self) -> tuple[int, dict[str, str], bytes]:
        """The next answer on the connection; ConnectionLost (and the connection closed)
        when there is none, so that the next request opens a fresh one."""
        reader = self._reader
        try:
            if reader is None or self._writer is None:
                raise ConnectionLost("the Runtime API connection is closed")
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionLost("the Runtime API closed the connection")
            status = int(status_line.split()[1])
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except ConnectionLost:
            self.close()
            raise
        except (*CONNECTION_ERRORS, ValueError, IndexError) as exc:  # ValueError: garbled
            self.close()
            raise ConnectionLost(f"the Runtime API connection broke: {exc!r}") from exc
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    async def _send(self, data: bytes) -> asyncio.StreamWriter:
        try:
            _, writer = await self._connection()
            writer.write(data)
            await writer.drain()
        except CONNECTION_ERRORS as exc:
            self.close()
            raise ConnectionLost(f"the Runtime API connection broke: {exc!r}") from exc
        return writer

    async def _request(self, method: str, path: str, body: bytes = b"", **headers: str):
        headers["Content-Length"] = str(len(body))
        await self._send(self._head(method, path, headers) + body)
        return await self.read_response()

    async def next(self) -> Invocation:
        """Wait, without a timeout (the process may be frozen meanwhile), for an event."""
        status, headers, body = await self._request("GET", "/invocation/next")
        if status == 500:
            raise RuntimeMustExit(f"invocation/next answered 500: {body[:200]!r}")
        if status != 200:
            raise NextRefused(f"invocation/next answered {status}: {body[:200]!r}")
        request_id = headers.get("lambda-runtime-aws-request-id")
        if not request_id:
            raise NextRefused("invocation/next answered an event without a request id")
        return Invocation(
            request_id=request_id,
            deadline_ms=parse_deadline(headers.get("lambda-runtime-deadline-ms")),
            trace_id=headers.get("lambda-runtime-trace-id"),
            body=body,
        )

    async def respond(self, request_id: str, result: bytes) -> None:
        await self._post(f"/invocation/{request_id}/response", result)

    async def fail(self, request_id: str, exc: BaseException) -> None:
        await self._post_error(f"/invocation/{request_id}/error", exc)

    async def init_error(self, exc: BaseException) -> None:
        await self._post_error("/init/error", exc)

    async def _post_error(self, path: str, exc: BaseException) -> None:
        payload = json.dumps(error_payload(exc)).encode()
        await self._post(path, payload, **{ERROR_TYPE: type(exc).__name__})

    async def _post(self, path: str, body: bytes, **headers: str) -> None:
        status, _, answer = await self._request(
            "POST", path, body, **{"Content-Type": "application/json", **headers}
        )
        check(path, status, answer)

    async def open_stream(self, request_id: str) -> ResponseStream:
        writer = await self._send(
            self._head(
                "POST",
                f"/invocation/{request_id}/response",
                {
                    "Lambda-Runtime-Function-Response-Mode": "streaming",
                    "Transfer-Encoding": "chunked",
                    "Content-Type": STREAM_CONTENT_TYPE,
                    "Trailer": f"{ERROR_TYPE}, {ERROR_BODY}",
                },
            )
        )
        return ResponseStream(self, writer)


def check(path: str, status: int, answer: bytes) -> None:
    """Raise what a non-2xx answer to a POST means (see the module's docstring)."""
    if 200 <= status < 300:
        return
    message = f"{path} answered {status}: {answer[:200]!r}"
    raise RuntimeMustExit(message) if status == 500 else InvocationRefused(message)


class ResponseStream:
    """One streamed invocation response: chunks out as written, trailers on failure."""

    def __init__(self, api: RuntimeApi, writer: asyncio.StreamWriter) -> None:
        self._api = api
        self._writer = writer
        self.broken = False  # the connection failed: nothing more can be sent

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.broken:
            raise ConnectionLost("the streamed response broke earlier")
        try:
            await self._write(data)
        except CONNECTION_ERRORS as exc:
            self._break()
            raise ConnectionLost(f"the streamed response broke: {exc!r}") from exc

    def _break(self) -> None:
        self.broken = True
        self._api.close()

    async def _write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return  # an empty chunk would end the body
        if len(data) <= SLICE:
            self._writer.write(b"%x\r\n%b\r\n" % (len(data), data))
            await self._writer.drain()
            return
        # A large chunk is framed around the caller's buffer, not copied into a frame, and
        # handed to the transport a slice at a time, so that the transport's own buffer
        # never holds more than a slice of it either. A mutable buffer is copied slice by
        # slice: the transport may still hold a slice when this returns.
        self._writer.write(b"%x\r\n" % len(data))
        view = memoryview(data)
        for start in range(0, len(view), SLICE):
            piece = view[start : start + SLICE]
            self._writer.write(piece if isinstance(data, bytes) else bytes(piece))
            await self._writer.drain()
        self._writer.write(b"\r\n")
        await self._writer.drain()

    async def finish(self, error: BaseException | None = None) -> None:
        if self.broken:
            raise ConnectionLost("the streamed response broke earlier")
        trailers = b""
        if error is not None:
            body = base64.b64encode(json.dumps(error_payload(error)).encode())
            trailers = b"%s: %s\r\n%s: %s\r\n" % (
                ERROR_TYPE.encode(),
                type(error).__name__.encode(),
                ERROR_BODY.encode(),
                body,
            )
        try:
            self._writer.write(b"0\r\n" + trailers + b"\r\n")
            await self._writer.drain()
        except CONNECTION_ERRORS as exc:
            self._break()
            raise ConnectionLost(f"the streamed response broke: {exc!r}") from exc
        status, _, answer = await self._api.read_response()
        check("streamed response", status, answer)
