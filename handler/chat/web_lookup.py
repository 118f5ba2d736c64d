"""The web-search step of a chat turn: whether to search, what for, and the results.

It exists only when the services have a `WebSearch` (a Tavily key was given and
the model is HuggingFace's: the offline model never searches). Alongside
retrieval, `decide` checks the key and the platform's `web_search_enabled`
setting; plain messages are decided locally (search_need.py), and only the
others ask the fast model, as the original did, to read the last two messages
and reply `[SEARCH: query]` or `[NO_SEARCH]`. Nothing here raises: a
slow or failed decision, or a failed search, is logged and the answer goes on
without the web (after a failed search the model is told so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from typing import TYPE_CHECKING

from handler.chat import prompt, search_need
from handler.chat.model import ChatModel, ModelError
from handler.chat.search_need import Need
from handler.chat.web_search import MAX_QUERY_CHARS, WebResult, WebSearch, WebSearchError
from handler.secrets import SecretsUnavailable
from handler.store import settings as platform_settings
from handler.unexpected import log_unexpected

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

DECISION_PROMPT = (
    "You decide whether an assistant that helps developers debug needs a web search "
    "to answer the conversation below. Search for what changes over time or is too "
    "specific to know: recent releases, versions and changelogs, deprecations, "
    "outages, current documentation, an exact error message from a specific library. "
    "Do not search for general programming knowledge or for the user's own code. "
    "Reply with exactly [SEARCH: <a short web search query>] or [NO_SEARCH], nothing else."
)
DECISION_MESSAGES = 2  # the last ones: the new message and what it answers
DECISION_TOKENS = 400  # of each message the decision reads (a pasted log's head and tail)


def _upstream_failures() -> tuple[type[BaseException], ...]:
    """What the decision's upstreams fail with when they are down or slow (the model, the
    secret holding the key, the database's setting); anything else is a bug. asyncpg is
    imported on a failure only: a cold /health never loads it."""
    import asyncpg

    return (ModelError, SecretsUnavailable, TimeoutError, OSError, asyncpg.PostgresConnectionError)


_SEARCH = re.compile(r"\[\s*SEARCH\s*:\s*(.+?)\s*\]", re.IGNORECASE | re.DOTALL)


def parse_decision(reply: str) -> str | None:
    """The query of a `[SEARCH: query]` reply; None for `[NO_SEARCH]` or anything else."""
    found = _SEARCH.search(reply)
    if found is None:
        return None
    query = " ".join(found.group(1).split()).strip("\"'`")
    return query[:MAX_QUERY_CHARS] or None


def decision_messages(recent: list[dict[str, str]]) -> list[dict[str, str]]:
    transcript = "\n\n".join(
        f"{m['role']}: {prompt.trim_middle(m['content'], DECISION_TOKENS)}"
        for m in recent[-DECISION_MESSAGES:]
    )
    return [
        {"role": "system", "content": DECISION_PROMPT},
        {"role": "user", "content": transcript},
    ]


async def _ask(model: ChatModel, recent: list[dict[str, str]]) -> str:
    # The fast model answers in a few tokens; closing the stream ends the request.
    async with contextlib.aclosing(model.stream(decision_messages(recent), fast=True)) as stream:
        return "".join([delta async for delta in stream])


async def decide(
    web: WebSearch,
    model: ChatModel,
    pool: asyncpg.Pool,
    recent: list[dict[str, str]],
    within: float,
) -> str | None:
    """The query to search the web for, or None (off, not needed, or the decision failed)."""
    try:
        async with asyncio.timeout(max(within, 0.0)):
            if not await web.available():
                log.info("web search skipped: no TAVILY_API_KEY")
                return None
            if not await platform_settings.web_search_enabled(pool):
                log.info("web search skipped: the platform's web_search_enabled is off")
                return None
            asked = recent[-1]["content"]
            need = search_need.classify(asked)
            if need is not Need.ASK:  # plain: no round trip to the fast model
                log.info(
                    "web search decision", extra={"search": need is Need.SEARCH, "local": True}
                )
                return search_need.query(asked) if need is Need.SEARCH else None
            reply = await _ask(model, recent)
    except Exception as exc:
        if not isinstance(exc, _upstream_failures()):
            log_unexpected(log, "web_decision", "web search decision failed unexpectedly")
            return None
        log.warning(
            "web search decision failed; answering without the web",
            extra={"error_type": type(exc).__name__, "error": str(exc)[:200]},
        )
        return None
    query = parse_decision(reply)
    log.info("web search decision", extra={"search": query is not None})
    return query


async def search(web: WebSearch, query: str, time_left: float) -> list[WebResult] | None:
    """The results ([] when nothing was found), or None when the search failed or would
    outlive the turn's deadline: the prompt then tells the model live results were
    unavailable."""
    try:
        async with asyncio.timeout(None if math.isinf(time_left) else max(time_left, 0.0)):
            return await web.search(query)
    except WebSearchError as exc:  # its message is already bounded and sanitised
        log.warning(
            "web search failed; answering without web results",
            extra={"status": exc.status, "reason": str(exc)},
        )
    except TimeoutError:
        log.warning(
            "web search failed; answering without web results",
            extra={"status": None, "reason": "the turn's time ran out"},
        )
    except Exception as exc:
        if not isinstance(exc, _upstream_failures()):  # the key's secret or the database
            log_unexpected(log, "web_search", "web search failed unexpectedly")
            return None
        log.warning(
            "web search failed; answering without web results",
            extra={"status": None, "reason": f"{type(exc).__name__}: {str(exc)[:200]}"},
        )
    return None
