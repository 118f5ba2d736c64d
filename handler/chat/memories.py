"""The memory ledger's chat side: facts a user states, and facts the model infers.

A message that starts with `remember:` stores the rest as an EXPLICIT, ACTIVE
memory at once. After every answered turn, in the background, the fast model
reads the user's own recent words and may propose durable facts about them
(stack, environment, preferences) as CANDIDATE memories, which enter prompts
only once the user approves them. The offline model is never asked: its
output is not understanding, and it must not fill the ledger.
"""

from __future__ import annotations

import logging
import re

from handler.chat.model import OfflineModel, complete
from handler.chat.services import ChatServices
from handler.store import memories

log = logging.getLogger(__name__)

EXPLICIT_PREFIX = "remember:"
MAX_PROPOSALS = 3
MIN_FACT, MAX_FACT = 8, 200
USER_WORDS = 4000  # characters of the user's recent messages the fast model reads
# A new message shorter than this ("thanks, it works") says nothing durable: the
# fast model is not asked, which spares a call per turn (and, on Lambda, the
# wait for it before the container takes its next event).
MIN_NEW_WORDS = 20
# MAX_PROPOSALS lines of up to MAX_FACT characters are about 200 tokens, more
# for code and non-Latin text; a line cut short would be proposed as a wrong fact.
REPLY_TOKENS = 512
INSTRUCTION = (
    "From the user's messages below, list durable facts about the user that would help "
    "in later debugging sessions: their stack, languages, frameworks, environment, tools "
    "and stated preferences. Not the current bug, not questions, nothing temporary. "
    f"Reply with at most {MAX_PROPOSALS} lines, each starting with '- ' and written in the "
    "third person ('Uses PostgreSQL 16'), or with NONE."
)


def explicit_fact(message: str) -> str | None:
    """The fact of a `remember: ...` message, or None."""
    if message[: len(EXPLICIT_PREFIX)].lower() != EXPLICIT_PREFIX:
        return None
    fact = message[len(EXPLICIT_PREFIX) :].strip()
    return fact[: memories.MAX_CONTENT] or None


def parse_facts(reply: str) -> list[str]:
    facts = []
    for line in reply.splitlines():
        line = line.strip()
        if not line.startswith(("- ", "* ")):
            continue
        fact = re.sub(r"\s+", " ", line[2:]).strip().rstrip(".")
        if MIN_FACT <= len(fact) <= MAX_FACT and fact.upper() != "NONE":
            facts.append(fact)
    return facts[:MAX_PROPOSALS]


async def propose(services: ChatServices, user_id: str, user_messages: list[str]) -> int:
    """Ask the fast model for facts about the user; store new ones as suggestions."""
    if isinstance(services.model, OfflineModel) or not user_messages:
        return 0
    newest = user_messages[-1].strip()
    if len(newest) < MIN_NEW_WORDS or explicit_fact(newest) is not None:
        return 0  # too short to say anything durable, or already stored as said
    words = "\n\n".join(user_messages)[-USER_WORDS:]
    reply = await complete(
        services.model,
        [{"role": "system", "content": INSTRUCTION}, {"role": "user", "content": words}],
        max_tokens=REPLY_TOKENS,
    )
    facts = parse_facts(reply)
    if not facts:
        return 0
    pool = await services.database.pool()
    proposed = await memories.propose(pool, user_id, facts)
    log.info("memories proposed", extra={"count": proposed})
    return proposed
