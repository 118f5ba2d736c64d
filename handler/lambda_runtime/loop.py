"""The runtime loop: one container, one app, one invocation at a time.

Start-up (the app from `_HANDLER`) happens once per container; a failure
there is reported to `init/error`. Each invocation is answered exactly once:
streamed or buffered per LAMBDA_INVOKE_MODE, or `invocation/{id}/error` when
nothing could be sent. The app's AFTER_INVOKE hooks run before the next event
is requested, because a frozen container runs nothing.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import time
from typing import Any

from aiohttp import web

from handler.lambda_runtime.bridge import NotAnHttpEvent, build_request
from handler.lambda_runtime.contract import AFTER_INVOKE
from handler.lambda_runtime.responses import BufferedWriter, StreamingWriter
from handler.lambda_runtime.runtime_api import Invocation, RuntimeApi

log = logging.getLogger(__name__)

# Background work after a response may use the invocation's remaining time, less this.
DRAIN_MARGIN_SECONDS = 1.0
INVOKE_MODES = ("RESPONSE_STREAM", "BUFFERED")
# Lambda refuses larger request payloads itself; the app applies its own, smaller limit.
MAX_EVENT_BODY = 6 * 1024 * 1024


class InvalidEvent(Exception):
    """The invocation's event cannot be served as an HTTP request."""


class TraceVariable:
    """_X_AMZN_TRACE_ID, set for each invocation in a fixed amount of memory.

    A custom runtime sets it from each event's Lambda-Runtime-Trace-Id, for the
    X-Ray SDK and other readers of the environment
    (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html). Setting
    os.environ[...] would call glibc's setenv, which keeps every distinct string
    it was given for the life of the process (so that old pointers stay valid):
    one trace id per invocation is a leak that grows without end. Instead the C
    environment holds one buffer of ours, given to putenv once (putenv keeps the
    pointer: the buffer is the variable) and rewritten in place; os.environ's own
    mapping, which Python code reads, gets the value without a setenv.
    """

    NAME = "_X_AMZN_TRACE_ID"
    CAPACITY = 1024  # bytes of value; trace headers are about 100

    def __init__(self) -> None:
        self._buffer: ctypes.Array[ctypes.c_char] | None = None
        self._key = os.environ.encodekey(self.NAME)

    def set(self, value: str | None) -> None:
        """The trace id, or none: then unset in os.environ, empty in the C environment."""
        encoded = os.environ.encodevalue(value) if value else b""
        if len(encoded) > self.CAPACITY:
            encoded = b""  # a cut trace id would name another trace: none is better
        if encoded:
            os.environ._data[self._key] = encoded  # type: ignore[attr-defined]
        else:
            os.environ._data.pop(self._key, None)  # type: ignore[attr-defined]
        buffer = self._c_variable()
        ctypes.memmove(
            ctypes.addressof(buffer) + len(self.NAME) + 1, encoded + b"\0", len(encoded) + 1
        )

    def _c_variable(self) -> ctypes.Array[ctypes.c_char]:
        if self._buffer is None:
            prefix = self.NAME.encode() + b"="
            self._buffer = ctypes.create_string_buffer(prefix, len(prefix) + self.CAPACITY + 1)
            if ctypes.CDLL(None, use_errno=True).putenv(self._buffer) != 0:
                raise OSError(ctypes.get_errno(), f"putenv({self.NAME}) failed")
        return self._buffer


class LambdaRuntime:
    def __init__(self, api: RuntimeApi, runner: web.AppRunner, invoke_mode: str) -> None:
        self._api = api
        self._runner = runner
        self._app = runner.app
        self._streaming = invoke_mode == "RESPONSE_STREAM"
        self._trace = TraceVariable()

    @classmethod
    async def start(cls, api: RuntimeApi, app: web.Application, invoke_mode: str) -> LambdaRuntime:
        if invoke_mode not in INVOKE_MODES:
            raise ValueError(
                f"LAMBDA_INVOKE_MODE: expected one of {INVOKE_MODES}, got {invoke_mode!r}"
            )
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        return cls(api, runner, invoke_mode)

    async def serve_forever(self) -> None:
        while True:
            invocation = await self._api.next()
            await self.handle(invocation)

    async def handle(self, invocation: Invocation) -> None:
        self._trace.set(invocation.trace_id)
        try:
            event = _decode(invocation.body)
            if self._streaming:
                await self._stream(invocation, event)
            else:
                await self._buffer(invocation, event)
        finally:
            seconds = invocation.deadline_ms / 1000 - time.time() - DRAIN_MARGIN_SECONDS
            for hook in self._app.get(AFTER_INVOKE, ()):
                await hook(max(seconds, 0.0))

    async def _respond(self, request: web.Request) -> None:
        server = self._runner.server
        assert server is not None
        response = await server.request_handler(request)
        await response.prepare(request)
        await response.write_eof()

    async def _stream(self, invocation: Invocation, event: Any) -> None:
        writer = StreamingWriter(lambda: self._api.open_stream(invocation.request_id))
        try:
            await self._respond(self._request(invocation, event, writer))
        except Exception as exc:
            _log_failure(invocation, exc)
            if writer.stream is None:
                await self._api.fail(invocation.request_id, exc)  # nothing was sent yet
            else:
                await writer.stream.finish(exc)  # reported in the trailers
            return
        assert writer.stream is not None  # write_eof always sends the prelude
        await writer.stream.finish()

    async def _buffer(self, invocation: Invocation, event: Any) -> None:
        writer = BufferedWriter()
        try:
            await self._respond(self._request(invocation, event, writer))
        except Exception as exc:
            _log_failure(invocation, exc)
            await self._api.fail(invocation.request_id, exc)
            return
        await self._api.respond(invocation.request_id, json.dumps(writer.result()).encode())

    def _request(self, invocation: Invocation, event: Any, writer: Any) -> web.Request:
        try:
            return build_request(
                event,
                writer,
                client_max_size=MAX_EVENT_BODY,
                request_id=invocation.request_id,
                deadline_ms=invocation.deadline_ms,
            )
        except NotAnHttpEvent as exc:
            raise InvalidEvent(str(exc)) from None


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None  # the bridge rejects it with a clear message


def _log_failure(invocation: Invocation, exc: BaseException) -> None:
    log.error(
        "invocation failed",
        extra={"request_id": invocation.request_id, "error_type": type(exc).__name__},
        exc_info=not isinstance(exc, InvalidEvent),
    )
