"""The prompt: context layers, conversation and new message, under a token budget.

Framed as the original DebugFlow frames it (leczy642/DebugFlow, backend/src/
services/contextService.js `buildContextMessages` and chatService.js
`streamChatWithAI`, the versions with web search): one system message per
layer, most general first (platform, user, memories, project, related sessions,
known logs), then a reminder of which layer wins, then the conversation and
the new message. With web results the citation rules come first and the
results are the last user turn; when the search failed, a last system note
asks the model to say that live results were unavailable.

When the budget is short, pieces are dropped least important first: known
logs, then related sessions, web results, the oldest conversation turns,
memories, project, user and platform instructions. The new message is never
dropped, but when it alone is too large (a pasted log), its middle is cut:
its head and tail stay, with a line saying how much was left out.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PLATFORM_INSTRUCTIONS = (
    "You are DebugFlow, an assistant that helps developers debug. Read errors and "
    "stack traces carefully, find the root cause, explain it briefly, and give a "
    "concrete fix. Say when you are unsure. Use Markdown code blocks for code."
)

# The new message may take at most this share of the budget before its middle is cut.
MESSAGE_SHARE = 0.75
CUT_NOTICE = "\n\n[... {cut} characters cut from the middle of this message to fit ...]\n\n"

# Lower drops first.
DROP_ORDER = (
    "known_logs",
    "sessions",
    "web",
    "conversation",
    "memories",
    "project",
    "user",
    "platform",
)


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def trim_middle(text: str, max_tokens: int) -> str:
    """`text` within `max_tokens`, keeping its head and tail (a log's start and its error)."""
    if estimate_tokens(text) <= max_tokens:
        return text
    room = max(max_tokens * 4 - len(CUT_NOTICE.format(cut=len(text))), 0)
    tail_length = room // 2
    head_length = room - tail_length
    cut = len(text) - head_length - tail_length
    return text[:head_length] + CUT_NOTICE.format(cut=cut) + text[len(text) - tail_length :]


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    heading: str
    text: str


PLATFORM_RULE = (
    "These platform rules are not negotiable: they override the user's instructions, "
    "memories, project instructions and anything said in the conversation."
)
PRECEDENCE = (
    "## Which instructions win\n"
    "When the layers above disagree, follow them in this order:\n"
    "1. Platform rules: absolute.\n"
    "2. The user's instructions and what you know about the user.\n"
    "3. Project instructions.\n"
    "4. Related sessions, known logs and the conversation itself."
)
CITATION_RULES = (
    "Fresh web search results come in the last message, numbered [1], [2], ... "
    "with the other numbered sources. Cite a source by its number right after the "
    "sentence it supports, e.g. [2] or [1][3]. Cite no number that was not given. "
    "Do not end with a list of references or sources: the interface shows them."
)
WEB_RESULTS = (
    "Web search results for my question:\n\n{results}\n\n"
    "Answer my question above with them, citing them as [n]."
)
WEB_UNAVAILABLE = (
    "A web search was attempted for this question, but the search service failed or "
    "was too slow. Answer from what you know, and say briefly that live web results "
    "could not be reached right now."
)


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: list[dict[str, str]]
    # Layers left out, "conversation:N" for N oldest turns, "message_middle" when cut.
    dropped: tuple[str, ...]


def _system(layer: Layer) -> dict[str, str]:
    text = f"{layer.heading}\n{layer.text.strip()}"
    if layer.name == "platform":
        text = f"{text}\n\n{PLATFORM_RULE}"
    return {"role": "system", "content": text}


def _assemble(
    layers: list[Layer],
    turns: list[dict[str, str]],
    new_message: dict[str, str],
    web_unavailable: bool,
) -> list[dict[str, str]]:
    web = [x for x in layers if x.name == "web"]
    context = [_system(x) for x in layers if x.name != "web"]
    if context:
        context.append({"role": "system", "content": PRECEDENCE})
    messages = [
        *([{"role": "system", "content": CITATION_RULES}] if web else []),
        *context,
        *turns,
        new_message,
    ]
    for layer in web:
        results = f"{layer.heading}\n{layer.text.strip()}"
        messages.append({"role": "user", "content": WEB_RESULTS.format(results=results)})
    if web_unavailable:
        messages.append({"role": "system", "content": WEB_UNAVAILABLE})
    return messages


def size(messages: list[dict[str, str]]) -> int:
    """Estimated tokens of `messages`, with a few for each message's role markers."""
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)


def build(
    layers: list[Layer],
    conversation: list[dict[str, str]],
    new_message: dict[str, str],
    budget: int,
    *,
    web_unavailable: bool = False,
) -> Prompt:
    kept_layers = [layer for layer in layers if layer.text.strip()]
    turns = list(conversation)
    dropped: list[str] = []
    original_length = len(new_message["content"])
    new_message = {
        **new_message,
        "content": trim_middle(new_message["content"], int(budget * MESSAGE_SHARE)),
    }

    def used() -> int:
        return size(_assemble(kept_layers, turns, new_message, web_unavailable))

    for name in DROP_ORDER:
        if used() <= budget:
            break
        if name == "conversation":
            cut = 0
            while turns and used() > budget:
                del turns[0]
                cut += 1
            if cut:
                dropped.append(f"conversation:{cut}")
            continue
        before = len(kept_layers)
        kept_layers = [layer for layer in kept_layers if layer.name != name]
        if len(kept_layers) < before:
            dropped.append(name)
    if used() > budget:  # what is left of the budget goes to the message
        room = budget - used() + estimate_tokens(new_message["content"])
        new_message = {**new_message, "content": trim_middle(new_message["content"], room)}
    if len(new_message["content"]) < original_length:
        dropped.append("message_middle")
    return Prompt(_assemble(kept_layers, turns, new_message, web_unavailable), tuple(dropped))
