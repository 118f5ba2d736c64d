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
from handler.lambda_runtime.runtime_api import RuntimeApi  # noqa: E402

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
        await api.init_error(exc)
        return 1
    await runtime.serve_forever()
    return 0


def main() -> int:
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
