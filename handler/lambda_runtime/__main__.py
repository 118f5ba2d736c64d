"""Entry point of the runtime: `main()`, which the exec wrapper calls (or
`python -m handler.lambda_runtime`).

The app comes from the callable `_HANDLER` names ("package.module.function",
Terraform's `handler`), as the stock runtimes find theirs.
"""

from __future__ import annotations

import os
import sys

# Our loop replaces Lambda's bootstrap, so it sets up the import path itself:
# the task root (our zip) first, then layers.
for path in reversed((os.environ.get("LAMBDA_TASK_ROOT", ""), "/opt/python")):
    if path and path not in sys.path:
        sys.path.insert(0, path)


def trust_packaged_cas(task_root: str) -> None:
    """Point OpenSSL at the package's hashed CA directory (build.py's CA_DIR), unless the
    function's configuration chose its own trust store.

    Every default SSL context parses the whole CA bundle file when it is made, and
    aiohttp makes two at import: most of its import time. A hashed directory is read
    one certificate at a time, only for the chains being verified. SSL_CERT_FILE names
    a file that does not exist, so that no bundle is parsed; verification stays on
    (tests/test_tls_trust.py). Must run before anything creates an SSL context.
    """
    directory = os.path.join(task_root, "ca-certificates")
    if "SSL_CERT_FILE" in os.environ or "SSL_CERT_DIR" in os.environ:
        return
    if os.path.isdir(directory):
        os.environ["SSL_CERT_DIR"] = directory
        os.environ["SSL_CERT_FILE"] = os.path.join(directory, "no-bundle")


trust_packaged_cas(os.environ.get("LAMBDA_TASK_ROOT", ""))

import asyncio  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
from collections.abc import Callable  # noqa: E402

from aiohttp import web  # noqa: E402

from handler.lambda_runtime.loop import LambdaRuntime  # noqa: E402
from handler.lambda_runtime.runtime_api import RuntimeApi, RuntimeApiError  # noqa: E402

log = logging.getLogger("handler.lambda_runtime")


class HandlerNotFound(Exception):
    """`_HANDLER` does not name a callable that builds the app."""


def app_factory(name: str) -> Callable[[], web.Application]:
    module_name, _, function = name.rpartition(".")
    if not module_name:
        raise HandlerNotFound(f"_HANDLER: expected package.module.function, got {name!r}")
    try:
        factory = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as exc:
        raise HandlerNotFound(f"_HANDLER: cannot load {name!r}: {exc}") from exc
    if not callable(factory):
        raise HandlerNotFound(f"_HANDLER: {name!r} is not callable")
    return factory


async def run() -> int:
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        app = app_factory(os.environ.get("_HANDLER", ""))()
        mode = os.environ.get("LAMBDA_INVOKE_MODE", "RESPONSE_STREAM")
        runtime = await LambdaRuntime.start(api, app, mode)
    except Exception as exc:
        log.error("start-up failed", extra={"error": str(exc)}, exc_info=True)
        try:
            await api.init_error(exc)
        except RuntimeApiError as refused:  # it exits either way
            log.error("init/error was not accepted: %s", refused)
        return 1
    return await runtime.serve_forever()


USAGE = """usage: python -m handler.lambda_runtime

Run the DebugFlow function's Lambda runtime: ask Lambda's Runtime API (the address in
AWS_LAMBDA_RUNTIME_API) for events, one at a time, and answer each through the aiohttp
app that the callable named by _HANDLER ("package.module.function") builds, streamed
(LAMBDA_INVOKE_MODE=RESPONSE_STREAM, the default) or buffered (BUFFERED).

Lambda starts it through the exec wrapper (handler/lambda_runtime/exec-wrapper); locally,
`make emulate` runs it under a Runtime API emulator (devtools/lambda_emulator.py).

example: make emulate   (then: curl http://127.0.0.1:9000/health)
"""


def main(argv: list[str] | None = None) -> int:
    # The exec wrapper passes no arguments; anything given is a person at a terminal.
    args = sys.argv[1:] if argv is None else argv
    if args in (["-h"], ["--help"]):
        print(USAGE, end="")
        return 0
    if args:
        print(
            f"python -m handler.lambda_runtime: takes no arguments (got {' '.join(args)}); "
            "see --help",
            file=sys.stderr,
        )
        return 2
    if not os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        print(
            "python -m handler.lambda_runtime: AWS_LAMBDA_RUNTIME_API is not set; this runs "
            "inside Lambda (or `make emulate`), not on its own. See --help.",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
