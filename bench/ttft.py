"""Time to first token of a chat, over the floor, in the four scenarios of issue 26 (and one).

One run starts the upstream stand-ins with fixed latencies (bench/upstream.py
`--timed`: chat model to its first token then tokens per second, fast model,
embeddings, Tavily) and two services (`python -m handler serve`, one database):
one with web search configured, one without. Each run of each scenario is timed
from sending POST /api/chat to the first `content` event. The floor, measured in
the same run, interleaved: a direct request to the chat model stand-in to its
first token; for the search scenario, a direct Tavily search, then that request.
Medians; each line gives the scenario's overhead over its floor and the upstream
calls its turns made (title requests excluded).

Usage: python bench/ttft.py [--runs 9] [--first-token-ms 400] [--tokens-per-s 30]
       [--fast-ms 350] [--embed-ms 120] [--tavily-ms 900]
Targets (issue 26): within 50 ms of the floor (of floor + Tavily when searching).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from chat_latency import free_port
from lambda_setup import figure
from service import processes, service_command, signed_in, upstream_command, wait_until_up
from upstream import Latencies

STACK_TRACE = (
    "TypeError: Cannot read properties of undefined (reading 'map')\n"
    "    at TodoList (webpack-internal:///./src/TodoList.jsx:14:23)\n"
    "    at renderWithHooks (react-dom.development.js:16305:18)\n"
    "Why does my list crash on the first render?"
)
NEEDS_SEARCH = "What changed in the latest release of Next.js? Is 15.1 out yet?"
FOLLOW_UP = "Why does that only happen after a hard refresh?"
UNCLEAR = "Which pool size does asyncpg use by default?"
SEARCH_REPLY = "[SEARCH: Next.js latest release changelog]"
TARGET_MS = 50


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    service: str  # "web" or "plain"
    message: str
    decision: str  # what the fast model replies if asked
    floor: str  # "model" or "model+tavily"
    follow_up: bool = False  # time a second message of the session


SCENARIOS = (
    Scenario("debugging question, search configured, not needed", "web", STACK_TRACE,
             "[NO_SEARCH]", "model"),
    Scenario("web search not configured", "plain", STACK_TRACE, "[NO_SEARCH]", "model"),
    Scenario("question that needs search", "web", NEEDS_SEARCH, SEARCH_REPLY, "model+tavily"),
    Scenario("second message in a session", "web", FOLLOW_UP, "[NO_SEARCH]", "model",
             follow_up=True),
    # Not one of the four: what an unclear question the model sends to the web costs.
    Scenario("unclear question, search decided", "web", UNCLEAR, SEARCH_REPLY, "model+tavily"),
)  # fmt: skip


async def first_model_token(http: aiohttp.ClientSession, upstream: str) -> None:
    payload = {"model": "m", "messages": [], "stream": True, "max_tokens": 2048}
    async with http.post(f"{upstream}/v1/chat/completions", json=payload) as resp:
        async for line in resp.content:
            if line.startswith(b"data: {"):
                return


async def floor(upstream: str, with_tavily: bool) -> float:
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        if with_tavily:
            async with http.post(f"{upstream}/search", json={"query": "q"}) as resp:
                await resp.read()
        await first_model_token(http, upstream)
        return time.monotonic() - started


async def chat(
    http: aiohttp.ClientSession, service: str, session: str, message: str, parent: str | None
) -> tuple[float, str]:
    """Seconds to the first `content` event, and the answer's id (the turn is read to its
    end). `parent`: the answer this message follows, as the front end sends it."""
    first = answer = None
    started = time.monotonic()
    body = {"sessionId": session, "message": message, "parentId": parent}
    async with http.post(f"{service}/api/chat", json=body) as resp:
        assert resp.status == 200, resp.status
        async for line in resp.content:
            if first is None and line.startswith(b'data: {"content"'):
                first = time.monotonic() - started
            elif line.startswith(b'data: {"messageId"'):
                answer = json.loads(line[6:])["messageId"]
            elif line.startswith(b'data: {"error"'):
                raise RuntimeError(f"the turn failed: {line!r}")
    assert first is not None and answer is not None, "the answer had no content"
    return first, answer


async def calls(http: aiohttp.ClientSession, upstream: str) -> Counter:
    async with http.get(f"{upstream}/bench/calls") as resp:
        return Counter(await resp.json())


async def run_scenario(
    scenario: Scenario, services: dict[str, str], upstream: str
) -> tuple[float, Counter]:
    service = services[scenario.service]
    async with signed_in(f"bench-{uuid.uuid4()}") as http:
        async with http.post(f"{upstream}/bench/decision", data=scenario.decision) as resp:
            assert resp.status == 200
        async with http.post(f"{service}/api/sessions") as resp:
            session = (await resp.json())["id"]
        parent = None
        if scenario.follow_up:
            _, parent = await chat(http, service, session, STACK_TRACE, None)
        before = await calls(http, upstream)
        elapsed, _ = await chat(http, service, session, scenario.message, parent)
        return elapsed, await calls(http, upstream) - before


def describe(counted: list[Counter]) -> str:
    """The upstream calls of one turn: the mean over the runs, per kind."""
    total = sum(counted, Counter())
    kinds = ("chat", "decision", "embed", "tavily")
    return ",".join(f"{k}:{total[k] / len(counted):g}" for k in kinds if total[k])


async def measure(runs: int, upstream: str, services: dict[str, str]) -> None:
    await wait_until_up(f"{upstream}/bench/calls")
    for url in services.values():
        await wait_until_up(f"{url}/health")
    for scenario in SCENARIOS:  # warm-up: imports, pools, migrations, connections
        await run_scenario(scenario, services, upstream)
    floors: dict[str, list[float]] = {"model": [], "model+tavily": []}
    samples: dict[str, list[float]] = {s.name: [] for s in SCENARIOS}
    counted: dict[str, list[Counter]] = {s.name: [] for s in SCENARIOS}
    measures: list[tuple[list[float], Callable[[], Awaitable[float]]]] = [
        (floors["model"], lambda: floor(upstream, False)),
        (floors["model+tavily"], lambda: floor(upstream, True)),
    ]
    for _ in range(runs):  # interleaved: drift hits every scenario alike
        for into, measure_once in measures:
            into.append(await measure_once())
        for scenario in SCENARIOS:
            elapsed, used = await run_scenario(scenario, services, upstream)
            samples[scenario.name].append(elapsed)
            counted[scenario.name].append(used)
    medians = {name: statistics.median(values) * 1e3 for name, values in floors.items()}
    overheads = []
    for scenario in SCENARIOS:
        ours = statistics.median(samples[scenario.name]) * 1e3
        base = medians[scenario.floor]
        overheads.append(f"{ours - base:+.0f}")
        figure(
            f"ttft, {scenario.name}",
            f"{ours:.0f} ms = floor ({scenario.floor}, {base:.0f} ms) {ours - base:+.0f} ms",
            f"<= +{TARGET_MS} ms",
            calls=describe(counted[scenario.name]),
        )
    figure("ttft overheads over the floor, ms", " / ".join(overheads), runs=runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--first-token-ms", type=float, default=400)
    parser.add_argument("--tokens-per-s", type=float, default=30)
    parser.add_argument("--fast-ms", type=float, default=350)
    parser.add_argument("--embed-ms", type=float, default=120)
    parser.add_argument("--tavily-ms", type=float, default=900)
    args = parser.parse_args()
    latencies = Latencies(
        args.first_token_ms / 1e3,
        args.tokens_per_s,
        args.fast_ms / 1e3,
        args.embed_ms / 1e3,
        args.tavily_ms / 1e3,
    )
    print(f"stand-in latencies (s, tokens/s): {json.dumps(dataclasses.asdict(latencies))}")

    import pgserver

    ports = {"upstream": free_port(), "web": free_port(), "plain": free_port()}
    upstream = f"http://127.0.0.1:{ports['upstream']}"
    with tempfile.TemporaryDirectory(prefix="bench-ttft-") as data:
        db = pgserver.get_server(data, cleanup_mode="delete")
        try:
            commands = [(upstream_command(ports["upstream"], latencies), None)]
            commands += [
                service_command(ports[n], db.get_uri(), upstream, web_search=n == "web")
                for n in ("web", "plain")
            ]
            with processes(*commands):
                services = {n: f"http://127.0.0.1:{ports[n]}" for n in ("web", "plain")}
                asyncio.run(measure(args.runs, upstream, services))
        finally:
            db.cleanup()


if __name__ == "__main__":
    main()
