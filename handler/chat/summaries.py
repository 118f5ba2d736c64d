"""Session summaries in the vector index, so later sessions can draw on earlier ones.

As in the original: a session is summarised once it has 4 messages, and again
whenever 4 more have been added since the last summary. Runs in the background.
"""

from __future__ import annotations

import logging
import uuid

from handler.chat.index import SESSION_SUMMARY, Document, summary_id
from handler.chat.model import complete
from handler.chat.services import ChatServices
from handler.store import messages, sessions

log = logging.getLogger(__name__)

MIN_MESSAGES = 4
REFRESH_AFTER = 4
TRANSCRIPT_CHARS = 8000

INSTRUCTION = (
    "Summarise this debugging session in at most three sentences: the problem, "
    "its cause, and the fix. Reply with the summary only."
)


def is_stale(messages: int, summarised_at_count: int) -> bool:
    return messages >= MIN_MESSAGES and messages - summarised_at_count >= REFRESH_AFTER


async def refresh(services: ChatServices, session_id: uuid.UUID) -> bool:
    """Write a fresh summary when the session's is missing or stale; True if written."""
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
    await sessions.save_summary(pool, session_id, summary, state["messages"])
    log.info("session summarised", extra={"session_id": str(session_id)})
    return True
