"""The context a turn gives the model, most general first, and its citable sources.

Platform instructions, the user's instructions and ACTIVE memories, the
project's instructions when enabled, then what retrieval finds: summaries of
the user's other sessions in the same project, and similar known logs, then
web search results when the turn searched. Everything citable is in ONE
numbered list (summaries, known logs, web results), the numbers the model
is told to cite as [n] and the `sources` stored with the answer. A retrieval
failure, or retrieval that would outlast the turn's time, leaves retrieval
out; the answer goes on without it. When the index holds nothing retrieval
could find for this session (no summaries in its scope, no known logs), the
question is not embedded: no upstream call before the answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import Any

from handler.chat import prompt
from handler.chat.embeddings import EmbeddingError
from handler.chat.index import IndexUnavailable, Match
from handler.chat.services import ChatServices
from handler.chat.web_search import WebResult
from handler.store.memories import in_platform_rules
from handler.unexpected import log_unexpected

log = logging.getLogger(__name__)

RETRIEVAL_TOP_K = 3
MIN_SCORE = 0.3
EMBED_CHARS = 4000  # of the question, for retrieval
WEB_HEADING = "## Web search results (cite as [n])"
CITE = (
    "Fresh from a web search for this question. When you use a numbered source, cite it "
    "as [n] right after what it supports; cite no other numbers."
)


@dataclass(frozen=True, slots=True)
class Context:
    layers: list[prompt.Layer]
    sources: list[dict[str, Any]]  # numbered as the layers cite them: [n]


def _instructions(session: Any) -> list[prompt.Layer]:
    platform = session["platform_instructions"] or prompt.DEFAULT_PLATFORM_INSTRUCTIONS
    # A memory stored before the platform said the same is left out: one line, once.
    memories = "\n".join(
        f"- {m}" for m in session["memories"] if not in_platform_rules(platform, m)
    )
    layers = [
        prompt.Layer("platform", "## Platform instructions", platform),
        prompt.Layer("user", "## The user's instructions", session["global_instructions"] or ""),
        prompt.Layer("memories", "## What you know about the user", memories),
    ]
    if session["context_enabled"]:
        layers.append(
            prompt.Layer(
                "project", "## Project instructions", session["context_instructions"] or ""
            )
        )
    return layers


async def _retrieve(
    services: ChatServices, user_id: str, session: Any, question: str, within: float
) -> tuple[list[Match], list[Match]]:
    scope = {"user_id": user_id, "project_id": session["project_id"]}
    try:
        async with asyncio.timeout(None if math.isinf(within) else max(within, 0.0)):
            # Nothing indexed for this user and no known logs: no embedding, no upstream call.
            if not await services.index.may_match(**scope, exclude_session=session["id"]):
                return [], []
            vector = await services.embedder.embed(question[:EMBED_CHARS])
            related, logs = await asyncio.gather(  # independent queries, not one after the other
                services.index.summaries(
                    vector, **scope, exclude_session=session["id"], top_k=RETRIEVAL_TOP_K
                ),
                services.index.known_logs(vector, top_k=RETRIEVAL_TOP_K),
            )
    except (EmbeddingError, IndexUnavailable, TimeoutError) as exc:
        log.warning(
            "retrieval failed; answering without retrieved context",
            extra={"error_type": type(exc).__name__, "error": str(exc)[:200]},
        )
        return [], []
    except Exception:
        log_unexpected(log, "retrieval", "retrieval failed unexpectedly; answering without it")
        return [], []
    return (
        [m for m in related if m.score >= MIN_SCORE],
        [m for m in logs if m.score >= MIN_SCORE],
    )


def _cited(heading: str, name: str, numbered: list[tuple[int, Match]]) -> prompt.Layer:
    text = "\n".join(f"[{i}] {m.document.title}: {m.document.content}" for i, m in numbered)
    return prompt.Layer(name, heading, text)


async def build(
    services: ChatServices, user_id: str, session: Any, question: str, within: float = math.inf
) -> Context:
    """The context; retrieval gets `within` seconds at most."""
    related, logs = await _retrieve(services, user_id, session, question, within)
    numbered = list(enumerate(related + logs, start=1))
    layers = [
        *_instructions(session),
        _cited(
            "## Summaries of the user's related sessions (cite as [n])",
            "sessions",
            numbered[: len(related)],
        ),
        _cited("## Similar known logs (cite as [n])", "known_logs", numbered[len(related) :]),
    ]
    sources = [{"index": i, "title": m.document.title, "url": m.document.url} for i, m in numbered]
    return Context(layers, sources)


def with_web(built: Context, results: list[WebResult]) -> Context:
    """`built` with web results numbered after its sources (a link already cited is not
    repeated)."""
    known = {s["url"] for s in built.sources if s["url"]}
    fresh = [r for r in results if r.url not in known]
    if not fresh:
        return built
    numbered = list(enumerate(fresh, start=len(built.sources) + 1))
    # The host is enough to judge a source by; the whole link is in `sources`.
    text = "\n".join(f"[{i}] {r.title} ({r.host}): {r.content}" for i, r in numbered)
    layers = [*built.layers, prompt.Layer("web", WEB_HEADING, f"{CITE}\n{text}")]
    sources = built.sources + [{"index": i, "title": r.title, "url": r.url} for i, r in numbered]
    return Context(layers, sources)
