"""The runtime loop: one container, one app, one invocation at a time.

Start-up (the app from `_HANDLER`) happens once per container; a failure
there is reported to `init/error`. Each invocation is answered exactly once:
streamed or buffered per LAMBDA_INVOKE_MODE, or `invocation/{id}/error` when
nothing could be sent. The app's AFTER_INVOKE hooks run before the next event
is requested, because a frozen container runs nothing.

Nothing one invocation does ends the loop: a refused answer, a broken
connection, a failing hook are logged and the next event is served. Only a 500
from the Runtime API, which AWS documents as "runtime should exit"
(runtime_api.py), ends it, with one log line.
"""

from __future__ import annotations

import asyncio
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
from handler.lambda_runtime.runtime_api import (
    ConnectionLost,
    Invocation,
    InvocationRefused,
    NextRefused,
    RuntimeApi,
    RuntimeApiError,
    RuntimeMustExit,
)

log = logging.getLogger(__name__)

# Background work after a response may use the invocation's remaining time, less this.
DRAIN_MARGIN_SECONDS = 1.0
# Without a usable deadline header the function's timeout is unknown here (it is not in
# the environment): after-invoke work gets this long, and Lambda's own timeout still
# stops an invocation that overruns it.
UNKNOWN_DEADLINE_DRAIN_SECONDS = 10.0
# `invocation/next` refused or its connection lost: ask again after this pause, doubled
# each time up to NEXT_RETRY_CAP, so that a persistent refusal does not spin.
NEXT_RETRY_FIRST = 0.05
NEXT_RETRY_CAP = 2.0
# This many connection failures in a row: the Runtime API is gone (the sandbox is going
# away, or the emulator was stopped), and the process ends rather than spin for ever.
NEXT_CONNECTION_ATTEMPTS = 5
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

    async def serve_forever(self) -> int:
        """Serve events until the Runtime API says to stop; the process's exit status."""
        try:
            while True:
                invocation = await self._next()
                await self.handle(invocation)
        except RuntimeMustExit as exc:
            log.error(
                "the Runtime API answered 500, which AWS documents as fatal: the runtime exits",
                extra={"error": str(exc)},
            )
        except ConnectionLost as exc:
            log.error(
                "the Runtime API cannot be reached: the runtime exits", extra={"error": str(exc)}
            )
        return 1

    async def _next(self) -> Invocation:
        pause, lost = NEXT_RETRY_FIRST, 0
        while True:
            try:
                return await self._api.next()
            except NextRefused as exc:
                lost = 0
                log.error("invocation/next refused; asking again", extra={"error": str(exc)})
            except ConnectionLost:
                lost += 1
                if lost >= NEXT_CONNECTION_ATTEMPTS:
                    raise
                if lost == 1:
                    continue  # a kept-alive connection closed meanwhile: reconnect at once
            await asyncio.sleep(pause)
            pause = min(pause * 2, NEXT_RETRY_CAP)

    async def handle(self, invocation: Invocation) -> None:
        """Answer one invocation, then run the after-invoke hooks. Only RuntimeMustExit
        escapes (and then the hooks do not run: the runtime must exit promptly)."""
        self._trace.set(invocation.trace_id)
        failure = {"request_id": invocation.request_id}
        try:
            event = _decode(invocation.body)
            if self._streaming:
                await self._stream(invocation, event)
            else:
                await self._buffer(invocation, event)
        except RuntimeMustExit:
            raise
        except InvocationRefused as exc:
            log.error(
                "the Runtime API refused this invocation's answer: it failed, the runtime goes on",
                extra={**failure, "error": str(exc)},
            )
        except ConnectionLost as exc:
            log.error(
                "the Runtime API connection broke during this invocation: it failed, "
                "the runtime goes on",
                extra={**failure, "error": str(exc)},
            )
        except Exception:
            self._api.close()  # what was sent is unknown: the next request starts afresh
            log.exception(
                "the runtime failed answering this invocation",
                extra={**failure, "unexpected": "lambda_runtime"},
            )
        await self._after_invoke(invocation)

    async def _after_invoke(self, invocation: Invocation) -> None:
        """Each hook gets the time left, less a margin; one that fails or overruns is
        logged and the next one still runs."""
        if invocation.deadline_ms is None:
            end = time.time() + UNKNOWN_DEADLINE_DRAIN_SECONDS
        else:
            end = invocation.deadline_ms / 1000 - DRAIN_MARGIN_SECONDS
        for hook in self._app.get(AFTER_INVOKE, ()):
            seconds = max(end - time.time(), 0.0)
            name = getattr(hook, "__qualname__", repr(hook))
            try:
                # The hook is given its time; this bound only catches one that ignores it.
                async with asyncio.timeout(seconds + DRAIN_MARGIN_SECONDS):
                    await hook(seconds)
            except TimeoutError:
                log.error("after-invoke hook overran its time; cancelled", extra={"hook": name})
            except Exception:
                log.exception(
                    "after-invoke hook failed", extra={"hook": name, "unexpected": "after_invoke"}
                )

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
        except RuntimeApiError:
            raise  # the Runtime API's connection itself failed: nothing more goes out on it
        except Exception as exc:
            _log_failure(invocation, exc)
            await writer.settle()  # a headers flush under way decides which call reports it
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
        except RuntimeApiError:
            raise
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
