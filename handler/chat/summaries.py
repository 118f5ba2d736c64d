"""Session summaries in the vector index, so later sessions can draw on earlier ones.

As in the original: a session is summarised once it has 4 messages, and again
whenever 4 more have been added since the last summary. Runs in the background.

A session deleted while its summary is written stays deleted: the vector goes
first, then the summary is saved under a lock that a deletion holds until it
is done (store/sessions.py); if the session is gone by then, the vector is
taken back. Pinecone keeps no foreign keys, so this is what keeps a deleted
conversation out of later answers.
"""

from __future__ import annotations

import logging
import uuid

from handler.chat.embeddings import EmbeddingError
from handler.chat.index import SESSION_SUMMARY, Document, IndexUnavailable, summary_id
from handler.chat.model import ModelError, complete
from handler.chat.services import ChatServices
from handler.store import messages, sessions

log = logging.getLogger(__name__)

MIN_MESSAGES = 4
REFRESH_AFTER = 4
TRANSCRIPT_CHARS = 8000

# Three sentences quoting errors, paths and identifiers run to a few hundred
# tokens; cutting one midway would store (and later prompt with) half a fact.
SUMMARY_TOKENS = 512
INSTRUCTION = (
    "Summarise this debugging session in at most three sentences: the problem, "
    "its cause, and the fix. Reply with the summary only."
)


def is_stale(messages: int, summarised_at_count: int) -> bool:
    return messages >= MIN_MESSAGES and messages - summarised_at_count >= REFRESH_AFTER


async def refresh(services: ChatServices, session_id: uuid.UUID) -> bool:
    """Write a fresh summary when the session's is missing or stale; True if written.
    A model, embedder or index that fails is logged in one line: the next turn retries."""
    try:
        return await _refresh(services, session_id)
    except (ModelError, EmbeddingError, IndexUnavailable) as exc:
        log.warning(
            "session summary not written",
            extra={"session_id": str(session_id), "error_type": type(exc).__name__},
        )
        return False


async def _refresh(services: ChatServices, session_id: uuid.UUID) -> bool:
    pool = await services.database.pool()
    state = await sessions.summary_state(pool, session_id)
    if state is None or not is_stale(state["messages"], state["summary_message_count"]):
        return False
    recent = await messages.recent(pool, session_id, 20)
    transcript = "\n".join(f"{m['role']}: {m['content']}" for m in recent)[-TRANSCRIPT_CHARS:]
    summary = (
        await complete(
            services.model,
            [{"role": "system", "content": INSTRUCTION}, {"role": "user", "content": transcript}],
            max_tokens=SUMMARY_TOKENS,
        )
    ).strip() or transcript[:500]
    vector = await services.embedder.embed(f"{state['title']}\n{summary}")
    await services.index.upsert(
        Document(
            id=summary_id(session_id),
            kind=SESSION_SUMMARY,
            title=state["title"],
            content=summary,
            user_id=state["user_id"],
            project_id=state["project_id"],
            session_id=session_id,
        ),
        vector,
    )
    if not await sessions.save_summary(pool, session_id, summary, state["messages"]):
        try:
            await services.index.delete([summary_id(session_id)])
        except IndexUnavailable as exc:
            log.error(
                "a deleted session's summary could not be taken back from the index",
                extra={"document_id": summary_id(session_id), "error": str(exc)},
            )
            return False
        log.info("session deleted while summarised: its summary was taken back")
        return False
    log.info("session summarised", extra={"session_id": str(session_id)})
    return True
