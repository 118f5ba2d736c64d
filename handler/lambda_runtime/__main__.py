"""Entry point the exec wrapper runs: `python -u -m handler.lambda_runtime`."""

from __future__ import annotations

import os
import sys

# Our loop replaces Lambda's bootstrap, so it sets up the import path itself:
# the task root (our zip) first, then layers.
for path in reversed((os.environ.get("LAMBDA_TASK_ROOT", ""), "/opt/python")):
    if path and path not in sys.path:
        sys.path.insert(0, path)

import asyncio  # noqa: E402
import logging  # noqa: E402

from handler import logs  # noqa: E402
from handler.lambda_runtime.loop import LambdaRuntime  # noqa: E402
from handler.lambda_runtime.runtime_api import RuntimeApi  # noqa: E402
from handler.settings import Settings  # noqa: E402

log = logging.getLogger("handler.lambda_runtime")


async def run() -> int:
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        settings = Settings.from_env()
        logs.configure(settings.log_level)
        runtime = await LambdaRuntime.start(api, settings)
    except Exception as exc:
        logs.configure()
        log.error("start-up failed", extra={"error": str(exc)}, exc_info=True)
        await api.init_error(exc)
        return 1
    await runtime.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
