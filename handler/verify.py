"""`python -m handler verify URL`: check a deployment end to end, as an operator would.

Health, database, outbound internet, and streaming (`/debug-stream`: time to
first byte and each event's arrival, failing when they come in one burst);
with `--token` also one real chat. Prints a table; exits 0 only when all pass.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from handler import sse

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
# Events sent 300 ms apart must arrive at least half as spread out.
MIN_SPREAD_RATIO = 0.5


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    latency_ms: float
    detail: str


class CheckFailed(Exception):
    pass


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def _json(resp: aiohttp.ClientResponse) -> dict:
    try:
        body = await resp.json(content_type=None)
    except ValueError:
        raise CheckFailed(f"HTTP {resp.status}, not JSON: {(await resp.text())[:120]!r}") from None
    if not isinstance(body, dict):
        raise CheckFailed(f"HTTP {resp.status}, unexpected body")
    return body


# What the Function URL itself answers when the resource policy lets nobody in:
# the request never reached the function.
URL_FORBIDDEN = {"Message": "Forbidden"}
MISSING_PERMISSION = (
    "HTTP 403 Forbidden from the Function URL itself, before the function: the `live` "
    "alias lacks a public-URL permission, most often FunctionURLAllowInvokeAction "
    "(lambda:InvokeFunction if lambda:InvokedViaFunctionUrl; see `aws lambda get-policy "
    "... --qualifier live`). Add it again: make deploy "
    "TF_ARGS=\"-replace='module.function.terraform_data.invoke_via_url[0]'\""
)


async def health(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(f"{url}/health") as resp:
        body = await _json(resp)
    if resp.status == 403 and body == URL_FORBIDDEN:
        raise CheckFailed(MISSING_PERMISSION)
    if resp.status != 200 or body.get("status") != "ok":
        raise CheckFailed(f"HTTP {resp.status}: {body}")
    return f"up {body.get('uptime')} s"


async def _diagnostic(http: aiohttp.ClientSession, url: str, path: str) -> dict:
    """The body of one of the service's `{"success": ...}` diagnostic routes."""
    async with http.get(f"{url}{path}") as resp:
        body = await _json(resp)
    if resp.status != 200 or not body.get("success"):
        raise CheckFailed(f"HTTP {resp.status}: {body.get('error', body)}")
    return body


async def database(http: aiohttp.ClientSession, url: str) -> str:
    body = await _diagnostic(http, url, "/debug-db")
    return f"{str(body.get('version', ''))[:40]} ({body.get('latency')} on the server)"


async def internet(http: aiohttp.ClientSession, url: str) -> str:
    body = await _diagnostic(http, url, "/debug-internet")
    return f"{body.get('keys_count')} Firebase signing keys fetched"


async def stream(http: aiohttp.ClientSession, url: str) -> str:
    started = time.perf_counter()
    arrivals: list[float] = []
    sent: list[float] = []
    done = False
    async with http.get(f"{url}/debug-stream") as resp:
        first_byte = _ms(started)
        if resp.status != 200:
            raise CheckFailed(f"HTTP {resp.status}")
        async for data in sse.parse(resp.content.iter_any()):
            if data == sse.DONE:
                done = True
                continue
            arrivals.append(_ms(started))
            sent.append(float(json.loads(data)["elapsed_ms"]))
    times = ", ".join(f"{a:.0f}" for a in arrivals)
    if not done or len(arrivals) < 2:
        raise CheckFailed(f"the stream ended early ({len(arrivals)} events, no [DONE])")
    spread, sent_spread = arrivals[-1] - arrivals[0], sent[-1] - sent[0]
    if spread < MIN_SPREAD_RATIO * sent_spread:
        raise CheckFailed(
            f"events arrived in one burst ({spread:.0f} ms apart for {sent_spread:.0f} ms of "
            f"sending; at {times} ms): responses are buffered, is the Function URL's invoke "
            "mode RESPONSE_STREAM?"
        )
    return f"first byte {first_byte:.0f} ms; events at {times} ms"


async def chat(http: aiohttp.ClientSession, url: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{url}/api/sessions", headers=headers, json={}) as resp:
        session = await _json(resp)
        if resp.status != 201:
            raise CheckFailed(f"creating a session: HTTP {resp.status}: {session.get('error')}")
    started = time.perf_counter()
    first_content: float | None = None
    contents, done, model = 0, False, "?"
    try:
        body = {"sessionId": session["id"], "message": f"Reply with OK. (verify {uuid.uuid4()})"}
        async with http.post(f"{url}/api/chat", headers=headers, json=body) as resp:
            if resp.status != 200:
                raise CheckFailed(f"HTTP {resp.status}: {(await _json(resp)).get('error')}")
            async for data in sse.parse(resp.content.iter_any()):
                if data == sse.DONE:
                    done = True
                    continue
                event = json.loads(data)
                if "error" in event:
                    raise CheckFailed(f"the answer failed: {event['error']}")
                if "model" in event:
                    model = event["model"]
                if "content" in event:
                    contents += 1
                    first_content = first_content or _ms(started)
    finally:
        async with http.delete(f"{url}/api/sessions/{session['id']}", headers=headers):
            pass
    if not done or not contents:
        raise CheckFailed(f"no complete answer ({contents} content events, [DONE] {done})")
    return f"model {model}: first words after {first_content:.0f} ms, {contents} content events"


async def run(url: str, token: str | None = None) -> list[Check]:
    url = url.rstrip("/")
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as http:
        steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
            ("health", lambda: health(http, url)),
            ("database", lambda: database(http, url)),
            ("internet", lambda: internet(http, url)),
            ("streaming", lambda: stream(http, url)),
        ]
        if token:
            steps.append(("chat", lambda: chat(http, url, token)))
        results = []
        for name, step in steps:
            started = time.perf_counter()
            try:
                detail, ok = await step(), True
            except CheckFailed as exc:
                detail, ok = str(exc), False
            except (aiohttp.ClientError, TimeoutError) as exc:
                detail, ok = f"request failed: {type(exc).__name__}: {exc}", False
            results.append(Check(name, ok, _ms(started), detail))
    return results


def table(checks: list[Check]) -> str:
    lines = [f"{'check':<10} {'result':<6} {'ms':>7}  detail"]
    for c in checks:
        lines.append(
            f"{c.name:<10} {'PASS' if c.ok else 'FAIL':<6} {c.latency_ms:>7.0f}  {c.detail}"
        )
    passed = sum(c.ok for c in checks)
    lines.append(f"{passed} passed, {len(checks) - passed} failed")
    return "\n".join(lines)
