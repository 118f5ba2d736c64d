"""The prompt: context layers, conversation and new message, under a token budget.

Layers go most general first (platform, user, project, related sessions, known
logs). When the budget is short, pieces are dropped least important first:
known logs, then related sessions, then the oldest conversation turns, then
memories, project, user and platform instructions. The new message is never
dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PLATFORM_INSTRUCTIONS = (
    "You are DebugFlow, an assistant that helps developers debug. Read errors and "
    "stack traces carefully, find the root cause, explain it briefly, and give a "
    "concrete fix. Say when you are unsure. Use Markdown code blocks for code."
)

# Lower drops first.
DROP_ORDER = ("known_logs", "sessions", "conversation", "memories", "project", "user", "platform")


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: list[dict[str, str]]
    dropped: tuple[str, ...]  # layers left out, and "conversation:N" for N oldest turns


def build(
    layers: list[Layer],
    conversation: list[dict[str, str]],
    new_message: dict[str, str],
    budget: int,
) -> Prompt:
    kept_layers = [layer for layer in layers if layer.text.strip()]
    turns = list(conversation)
    dropped: list[str] = []

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
    system = "\n\n".join(f"{x.heading}\n{x.text.strip()}" for x in kept_layers)
    messages = ([{"role": "system", "content": system}] if system else []) + turns
    return Prompt([*messages, new_message], tuple(dropped))
