"""What the runtime gives an aiohttp app, and the one hook it calls back.

The runtime serves whatever `aiohttp.web.Application` the callable named by
Lambda's `_HANDLER` setting returns ("package.module.function", as the stock
runtimes read it; Terraform's `handler`). It needs nothing else of the app:

- each request carries REQUEST_ID (Lambda's request id) and DEADLINE_MS (epoch
  milliseconds after which Lambda stops the invocation);
- after each response, before it asks Lambda for the next event (a frozen
  container runs nothing), it awaits every callable in `app[AFTER_INVOKE]`
  with the seconds the invocation has left (less a margin; a fixed, bounded
  allowance when Lambda gave no usable deadline), e.g. to finish background
  work. A hook that raises or overruns is logged; the next one still runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

AfterInvoke = Callable[[float], Awaitable[None]]

REQUEST_ID = web.RequestKey("request_id", str)
DEADLINE_MS = web.RequestKey("deadline_ms", int)
AFTER_INVOKE = web.AppKey("after_invoke", list[AfterInvoke])
