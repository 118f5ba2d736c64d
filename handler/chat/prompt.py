"""The prompt: context layers, conversation and new message, under a token budget.

Layers go most general first (platform, user, project, related sessions, known
logs, web results). When the budget is short, pieces are dropped least important
first: known logs, then related sessions, web results, the oldest conversation turns,
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


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: list[dict[str, str]]
    # Layers left out, "conversation:N" for N oldest turns, "message_middle" when cut.
    dropped: tuple[str, ...]


def build(
    layers: list[Layer],
    conversation: list[dict[str, str]],
    new_message: dict[str, str],
    budget: int,
) -> Prompt:
    kept_layers = [layer for layer in layers if layer.text.strip()]
    turns = list(conversation)
    dropped: list[str] = []
    original_length = len(new_message["content"])
    new_message = {
        **new_message,
        "content": trim_middle(new_message["content"], int(budget * MESSAGE_SHARE)),
    }

    def size() -> int:
        system = sum(estimate_tokens(f"{x.heading}\n{x.text}\n\n") for x in kept_layers)
        talk = sum(estimate_tokens(m["content"]) + 4 for m in turns)
        return system + talk + estimate_tokens(new_message["content"]) + 4

    for name in DROP_ORDER:
        if size() <= budget:
            break
        if name == "conversation":
            cut = 0
            while turns and size() > budget:
                del turns[0]
                cut += 1
            if cut:
                dropped.append(f"conversation:{cut}")
            continue
        before = len(kept_layers)
        kept_layers = [layer for layer in kept_layers if layer.name != name]
        if len(kept_layers) < before:
            dropped.append(name)
    if size() > budget:  # what is left of the budget goes to the message
        room = budget - size() + estimate_tokens(new_message["content"])
        new_message = {**new_message, "content": trim_middle(new_message["content"], room)}
    if len(new_message["content"]) < original_length:
        dropped.append("message_middle")
    system = "\n\n".join(f"{x.heading}\n{x.text.strip()}" for x in kept_layers)
    messages = ([{"role": "system", "content": system}] if system else []) + turns
    return Prompt([*messages, new_message], tuple(dropped))
