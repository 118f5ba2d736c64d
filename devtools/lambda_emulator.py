"""A local Lambda for tests and `make emulate`: Runtime API server + Function URL front.

The function runs in its own process, started as Lambda starts it: the exec
wrapper, given an interpreter and the stock bootstrap's path, in the task root,
with Lambda's environment. The front turns each HTTP request into a payload
v2.0 event (cookies in both places, as real captures have them), and streams
the function's response back as its chunks arrive.

Sign-in (`make emulate`): the function verifies RS256 tokens exactly as on
Lambda. Unless FIREBASE_PROJECT_ID (other than demo-debugflow) or
FIREBASE_CERTS_URL is set, the emulator
publishes the certificate of a local key (.data/local-auth/, created on first
use) as FIREBASE_CERTS_URL for project demo-debugflow, and `python -m handler
emulator-token` signs tokens with that key. No code path of the function
changes: only its settings point at a local certificate endpoint.

Tests make it refuse answers as the Runtime API documents it may (`refuse`): a
status for `invocation/next`, a response (buffered or streamed, at its end or
right after its prelude), an error report or an init error.

Run: python -m devtools.lambda_emulator --package dist/local.zip [--port 9000]
(or --task-root DIR for the source tree; development only: the package
build leaves this module out).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import json
import logging
import os
import signal
import stat
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from devtools.native_heap import MALLOC_ENV
from handler.auth import emulator as auth_emulator

log = logging.getLogger("devtools.lambda_emulator")

PREFIX = "/2018-06-01/runtime"
DELIMITER = b"\0" * 8
WRAPPER = "handler/lambda_runtime/exec-wrapper"
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded")
CERTIFICATE_LIFETIME = datetime.timedelta(days=365)
# Renewed a day before it expires, so no token (valid 1 h) outlives its certificate.
CERTIFICATE_MARGIN = datetime.timedelta(days=1)
# Where `Emulator.refuse` can answer a status instead of the usual one.
REFUSAL_POINTS = ("next", "response", "stream", "stream_early", "error", "init")


@dataclass
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    # The response as it arrives: its start, then body chunks, then None.
    start: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    body: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    trailer_error: dict[str, str] | None = None
    refused: int | None = None  # the status the emulator answered its response with
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def fail(self, error: dict[str, Any]) -> None:
        if not self.start.done():
            self.start.set_result({"error": error})
        self.body.put_nowait(None)
        self.done.set()


@dataclass
class Emulator:
    task_root: Path
    environment: dict[str, str]
    timeout: float = 60.0
    python: str = sys.executable
    invoke_mode: str = "RESPONSE_STREAM"
    init_errors: list[dict[str, Any]] = field(default_factory=list)
    invocation_errors: list[dict[str, Any]] = field(default_factory=list)
    process_started_at: float | None = None
    process: asyncio.subprocess.Process | None = None
    _queue: asyncio.Queue[Invocation] = field(default_factory=asyncio.Queue)
    _active: dict[str, Invocation] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _connections: dict[asyncio.Task[None], asyncio.StreamWriter] = field(default_factory=dict)
    runtime_api: str = ""
    # Pending refusals per point of REFUSAL_POINTS, answered in order (see `refuse`).
    refusals: dict[str, list[int]] = field(default_factory=dict)
    # The function's output lines, when started with capture_output (also echoed).
    capture_output: bool = False
    output: list[str] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    # Sent as Lambda-Runtime-Deadline-Ms instead of the deadline ("": no such header).
    deadline_header: str | None = None

    def refuse(self, point: str, status: int) -> None:
        """Answer `status` at `point` the next time it comes, as the Runtime API may:
        `next` (instead of an event), `response` (a buffered response), `stream` (after a
        streamed response's last chunk), `stream_early` (right after its prelude, then
        the connection closes), `error` (an invocation error), `init` (an init error)."""
        if point not in REFUSAL_POINTS:
            raise ValueError(f"refuse: point must be one of {REFUSAL_POINTS}, got {point!r}")
        self.refusals.setdefault(point, []).append(status)

    def _refusal(self, point: str) -> int | None:
        pending = self.refusals.get(point)
        return pending.pop(0) if pending else None

    # --- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.runtime_api = f"127.0.0.1:{port}"

    async def close(self) -> None:
        await self.stop_function()
        if self._server is not None:
            self._server.close()
            for task, writer in list(self._connections.items()):
                writer.close()
                task.cancel()
            await self._server.wait_closed()

    async def start_function(self) -> None:
        """Start the function process as Lambda does, if it is not running."""
        if self.process is not None and self.process.returncode is None:
            return
        wrapper = str(self.task_root / WRAPPER)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            **MALLOC_ENV,  # as the function's terraform sets it
            **self.environment,
            "AWS_LAMBDA_RUNTIME_API": self.runtime_api,
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_LAMBDA_EXEC_WRAPPER": wrapper,
            # Terraform's `handler`: the callable that builds the app.
            "_HANDLER": self.environment.get("_HANDLER", "handler.app.lambda_app"),
            "AWS_LAMBDA_FUNCTION_NAME": "debugflow-emulated",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_REGION": self.environment.get("AWS_REGION", "us-east-1"),
            "LAMBDA_INVOKE_MODE": self.invoke_mode,
        }
        self.process_started_at = time.monotonic()
        piped = asyncio.subprocess.PIPE if self.capture_output else None
        self.process = await asyncio.create_subprocess_exec(
            wrapper,
            self.python,
            "-u",
            "/var/runtime/bootstrap.py",
            cwd=self.task_root,
            env=env,
            stdout=piped,
            stderr=asyncio.subprocess.STDOUT if piped else None,
        )
        asyncio.get_running_loop().create_task(self._watch(self.process))

    async def stop_function(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        if process.stdout is not None:
            async for line in process.stdout:
                self.output.append(line.decode(errors="replace").rstrip("\n"))
                sys.stdout.buffer.write(line)
        self.exit_codes.append(await process.wait())
        for invocation in list(self._active.values()):
            invocation.fail(
                {"errorType": "Runtime.ExitError", "errorMessage": f"exit {process.returncode}"}
            )
        self._active.clear()
        if not self._queue.empty() and self._server is not None and self._server.is_serving():
            await self.start_function()  # as Lambda: a new container for the waiting events

    # --- invoking --------------------------------------------------------------
    async def invoke(self, event: dict[str, Any]) -> Invocation:
        invocation = Invocation(
            request_id=str(uuid.uuid4()),
            event=json.dumps(event).encode(),
            deadline_ms=int((time.time() + self.timeout) * 1000),
        )
        await self.start_function()
        self._queue.put_nowait(invocation)
        asyncio.get_running_loop().create_task(self._enforce_timeout(invocation))
        return invocation

    async def _enforce_timeout(self, invocation: Invocation) -> None:
        try:
            await asyncio.wait_for(invocation.done.wait(), self.timeout)
        except TimeoutError:
            invocation.fail({"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"})
            await self.stop_function()  # Lambda stops a function that overruns

    # --- the Runtime API ---------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                method, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers = await _read_headers(reader)
                await self._route(method, target, headers, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return  # the emulator is closing; asyncio's stream callback must not see this
        finally:
            self._connections.pop(task, None)
            writer.close()

    async def _route(self, method, target, headers, reader, writer) -> None:
        parts = target.removeprefix(PREFIX).strip("/").split("/")
        if method == "GET" and parts == ["invocation", "next"]:
            if (status := self._refusal("next")) is not None:
                _answer(writer, status, _refusal_body(status))
                return
            invocation = await self._queue.get()
            self._active[invocation.request_id] = invocation
            _answer(
                writer,
                200,
                invocation.event,
                {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms)
                    if self.deadline_header is None
                    else self.deadline_header,
                    "Lambda-Runtime-Invoked-Function-Arn": (
                        "arn:aws:lambda:us-east-1:123456789012:function:debugflow-emulated"
                    ),
                    "Lambda-Runtime-Trace-Id": _trace_id(),
                    "Content-Type": "application/json",
                },
            )
        elif method == "POST" and parts == ["init", "error"]:
            self.init_errors.append(json.loads(await _read_body(reader, headers)))
            failed = list(self._active.values())
            while not self._queue.empty():
                failed.append(self._queue.get_nowait())
            for invocation in failed:
                invocation.fail({"errorType": "Runtime.InitError", "errorMessage": "init failed"})
            status = self._refusal("init")
            if status is not None:
                _answer(writer, status, _refusal_body(status))
                return
            _answer(writer, 202, b'{"status":"OK"}')
        elif method == "POST" and len(parts) == 3 and parts[0] == "invocation":
            invocation = self._active.pop(parts[1], None)
            if invocation is None:
                await _read_body(reader, headers)
                _answer(writer, 400, b'{"errorType":"InvalidRequestID"}')
                return
            if parts[2] == "error":
                error = json.loads(await _read_body(reader, headers))
                self.invocation_errors.append(error)
                status = self._refusal("error")
                invocation.fail(error)
            elif headers.get("lambda-runtime-function-response-mode") == "streaming":
                if (status := self._refusal("stream_early")) is not None:
                    await _read_prelude(reader, invocation)
                    invocation.trailer_error = {"errorType": f"Runtime.Refused{status}"}
                    invocation.fail(invocation.trailer_error)
                    _answer(writer, status, _refusal_body(status))
                    writer.close()  # as a proxy that gives up on a request: mid-body
                    return
                await _read_stream(reader, invocation, refuse=self._refusal("stream"))
                status = invocation.refused
            else:
                result = json.loads(await _read_body(reader, headers))
                status = self._refusal("response")
                if status is None:
                    invocation.start.set_result({"result": result})
                    invocation.body.put_nowait(None)
                    invocation.done.set()
                else:
                    invocation.fail({"errorType": f"Runtime.Refused{status}"})
            if status is not None:
                _answer(writer, status, _refusal_body(status))
                return
            _answer(writer, 202, b'{"status":"OK"}')
        else:
            await _read_body(reader, headers)
            _answer(writer, 404, b'{"errorType":"NotFound"}')

    # --- the Function URL --------------------------------------------------------
    def front(self) -> web.Application:
        app = web.Application(client_max_size=6 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._url_request)
        return app

    async def _url_request(self, request: web.Request) -> web.StreamResponse:
        invocation = await self.invoke(await function_url_event(request))
        start = await invocation.start
        if "error" in start:
            return web.json_response({"Message": "Internal Server Error"}, status=502)
        if "result" in start:
            return _buffered_response(start["result"])
        response = web.StreamResponse(status=start["statusCode"])
        for name, value in (start.get("headers") or {}).items():
            response.headers[name] = value
        for cookie in start.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        await response.prepare(request)
        while (chunk := await invocation.body.get()) is not None:
            await response.write(chunk)
        if invocation.trailer_error is not None:
            log.error("function failed mid-stream", extra=invocation.trailer_error)
            if request.transport is not None:
                request.transport.close()  # like AWS: the stream just stops
            return response
        await response.write_eof()
        return response


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    return await reader.readexactly(int(headers.get("content-length", "0")))


def _refusal_body(status: int) -> bytes:
    """What the Runtime API documents with each refusal (an ErrorResponse)."""
    kinds = {400: "InvalidStateTransition", 403: "Forbidden", 413: "RequestEntityTooLarge"}
    kind = kinds.get(status, "ContainerError" if status == 500 else "Unexpected")
    return json.dumps(
        {"errorType": kind, "errorMessage": f"refused by the emulator ({status})"}
    ).encode()


async def _read_prelude(reader: asyncio.StreamReader, invocation: Invocation) -> None:
    """Chunks up to the prelude's delimiter: the response has started."""
    head = b""
    while DELIMITER not in head:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            return
        head += (await reader.readexactly(size + 2))[:-2]
    invocation.start.set_result(json.loads(head.split(DELIMITER, 1)[0]))


async def _read_stream(
    reader: asyncio.StreamReader, invocation: Invocation, refuse: int | None = None
) -> None:
    """A chunked streamed response: prelude, 8 NULs, body; then optional error trailers.
    With `refuse`, the whole body is read and the invocation fails with that status."""
    head = b""
    started = False
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            break
        data = (await reader.readexactly(size + 2))[:-2]
        if not started:
            head += data
            if DELIMITER not in head:
                continue
            prelude, data = head.split(DELIMITER, 1)
            invocation.start.set_result(json.loads(prelude))
            started = True
        if data:
            invocation.body.put_nowait(data)
    trailers = await _read_headers(reader)
    if "lambda-runtime-function-error-type" in trailers:
        invocation.trailer_error = {
            "errorType": trailers["lambda-runtime-function-error-type"],
            "errorBody": base64.b64decode(
                trailers.get("lambda-runtime-function-error-body", "")
            ).decode(),
        }
    if refuse is not None:
        invocation.refused = refuse
        invocation.trailer_error = {"errorType": f"Runtime.Refused{refuse}"}
    if not started or refuse is not None:
        invocation.fail(invocation.trailer_error or {"errorType": "Runtime.NoPrelude"})
        return
    invocation.body.put_nowait(None)
    invocation.done.set()


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"


def _answer(
    writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    lines = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Error'}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items() if v]
    lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def _buffered_response(result: dict[str, Any]) -> web.Response:
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = web.Response(status=result.get("statusCode", 200), body=raw)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = value
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


async def function_url_event(request: web.Request) -> dict[str, Any]:
    """The event a Function URL would deliver for this request (payload format 2.0)."""
    body = await request.read()
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    raw_path, _, raw_query = request.raw_path.partition("?")
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(TEXT_TYPES)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "emulator",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.remote or "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";") if c.strip()]
    if body:
        event["body"] = body.decode() if is_text else base64.b64encode(body).decode()
    return event


async def serve(args: argparse.Namespace, task_root: Path) -> None:
    environment = dict(os.environ)
    if environment.get("FIREBASE_AUTH_EMULATOR_HOST"):
        # The function would refuse to start, as on Lambda.
        raise SystemExit(
            "make emulate: unset FIREBASE_AUTH_EMULATOR_HOST; Lambda refuses unsigned tokens, "
            "and the emulator signs them instead (python -m handler emulator-token)"
        )
    if not environment.get("DATABASE_URL"):
        # As `make dev` does: the embedded PostgreSQL, migrated on first connection.
        from handler.db import embedded

        environment["DATABASE_URL"] = embedded.start()
        environment["MIGRATE_ON_START"] = "true"
    runners: list[web.AppRunner] = []
    local_auth = auth_emulator.signs_locally(environment)
    if local_auth:
        certificates = LocalCertificates(ensure_signing_key())
        runners.append(web.AppRunner(certificates.app()))
        await runners[-1].setup()
        await web.TCPSite(runners[-1], "127.0.0.1", 0).start()
        port = runners[-1].addresses[0][1]
        environment["FIREBASE_PROJECT_ID"] = auth_emulator.LOCAL_PROJECT
        environment["FIREBASE_CERTS_URL"] = f"http://127.0.0.1:{port}/certs"
    emulator = Emulator(
        task_root=task_root,
        environment=environment,
        timeout=args.timeout,
        python=args.python,
        invoke_mode=args.invoke_mode,
    )
    await emulator.start()
    runners.append(web.AppRunner(emulator.front()))
    await runners[-1].setup()
    await web.TCPSite(runners[-1], args.host, args.port).start()
    port = runners[-1].addresses[0][1]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await emulator.start_function()
    print(
        f"Lambda emulator: function URL http://{args.host}:{port} "
        f"({args.invoke_mode}), task root {emulator.task_root}",
        flush=True,
    )
    if local_auth:
        print(
            f"Sign-in: project {auth_emulator.LOCAL_PROJECT}, tokens signed with the key in "
            f"{auth_emulator.LOCAL_AUTH_DIR}/; get one with `python -m handler emulator-token`",
            flush=True,
        )
    else:
        print(f"Sign-in: Firebase project {environment.get('FIREBASE_PROJECT_ID')}", flush=True)
    try:
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        await emulator.close()


def ensure_signing_key(directory: Path = auth_emulator.LOCAL_AUTH_DIR) -> str:
    """The local key file's certificate, creating the file first if needed (mode 0600).

    Kept across runs, so tokens minted earlier stay valid; replaced only when
    its certificate is about to expire.
    """
    path = auth_emulator.key_path(directory)
    if not _still_valid(path):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = directory / f".{path.name}.{os.getpid()}"
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(_new_key_file())
        try:
            if path.exists():
                os.replace(scratch, path)
            else:
                os.link(scratch, path)  # another emulator starting at once keeps its key
        except FileExistsError:
            pass
        finally:
            scratch.unlink(missing_ok=True)
    return auth_emulator.split_key_file(path.read_text())[1]


def _still_valid(path: Path) -> bool:
    from cryptography import x509

    try:
        certificate = auth_emulator.split_key_file(path.read_text())[1]
        expires = x509.load_pem_x509_certificate(certificate.encode()).not_valid_after_utc
    except (FileNotFoundError, ValueError):
        return False
    return expires - datetime.datetime.now(datetime.UTC) > CERTIFICATE_MARGIN


def _new_key_file() -> str:
    """An RSA key and its self-signed certificate, as Google publishes its signing keys."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "debugflow local auth")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERTIFICATE_LIFETIME)
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem.decode() + certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class LocalCertificates:
    """The local key's certificate, served as Google serves its token-signing certificates."""

    certificate_pem: str
    max_age: int = 3600

    def app(self) -> web.Application:
        async def certs(request: web.Request) -> web.Response:
            # Google's endpoint answers {kid: PEM} with Cache-Control max-age, which
            # verifiers honour: https://firebase.google.com/docs/auth/admin/verify-id-tokens
            return web.json_response(
                {auth_emulator.key_id(self.certificate_pem): self.certificate_pem},
                headers={
                    "Cache-Control": f"public, max-age={self.max_age}, must-revalidate, "
                    "no-transform"
                },
            )

        app = web.Application()
        app.router.add_get("/certs", certs)
        return app


def unpack(package: Path, into: Path) -> Path:
    """Unzip a deployment package keeping its file modes, as Lambda does."""
    with zipfile.ZipFile(package) as archive:
        archive.extractall(into)
        for info in archive.infolist():
            (into / info.filename).chmod(stat.S_IMODE(info.external_attr >> 16) or 0o644)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the function under a local Lambda.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--package", help="a deployment zip (built with --python-version local)")
    source.add_argument("--task-root", default=".", help="an unzipped package, or the source tree")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--invoke-mode", choices=("RESPONSE_STREAM", "BUFFERED"), default="RESPONSE_STREAM"
    )
    with contextlib.suppress(KeyboardInterrupt):
        args = parser.parse_args()
        with tempfile.TemporaryDirectory(prefix="lambda-task-") as scratch:
            task_root = (
                unpack(Path(args.package), Path(scratch))
                if args.package
                else Path(args.task_root).resolve()
            )
            asyncio.run(serve(args, task_root))


if __name__ == "__main__":
    main()
