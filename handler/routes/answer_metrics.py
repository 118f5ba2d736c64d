"""What one streamed answer's events say about it, as metrics (handler/metrics.py).

The chat route shows every event of a turn to an `AnswerMeter` as it writes it,
and emits the meter's metrics once the stream has ended, however it ended.
"""

from __future__ import annotations

import time

from handler.chat.events import Delta, Done, Event, Failed, Status
from handler.metrics import MILLISECONDS, Metric

# The turn's statuses around a web search (handler/chat/turn.py): `searching`,
# then `reading` only when the search brought results back.
SEARCHING = "searching"
READING = "reading"
# Any status naming the fallback model, as the turn announces it before that model answers.
FALLBACK = "fallback"


class AnswerMeter:
    def __init__(self, started: float) -> None:
        self.started = started  # time.perf_counter() when the request arrived
        self.first_token_ms: float | None = None
        self.tokens = 0
        self.searched = False
        self.read_results = False
        self.fallback = False
        self.error: str | None = None
        self.done = False

    def observe(self, event: Event) -> None:
        if isinstance(event, Delta):
            if self.first_token_ms is None:
                self.first_token_ms = self._elapsed_ms()
            self.tokens += 1  # the router streams one token per chunk
        elif isinstance(event, Status):
            self.searched |= event.name == SEARCHING
            self.read_results |= event.name == READING
            self.fallback |= FALLBACK in event.name
        elif isinstance(event, Failed):
            self.error = event.message
        elif isinstance(event, Done):
            self.done = True

    @property
    def outcome(self) -> str:
        if self.done:
            return "done"
        return "failed" if self.error is not None else "stopped"

    def metrics(self) -> dict[str, Metric]:
        measured = {
            "Answers": Metric(1),
            "AnswerDuration": Metric(self._elapsed_ms(), MILLISECONDS),
            "AnswerTokens": Metric(self.tokens),
            "AnswerFailures": Metric(int(self.error is not None)),
            "ModelFallbacks": Metric(int(self.fallback)),
            "WebSearches": Metric(int(self.searched)),
        }
        if self.first_token_ms is not None:
            measured["TimeToFirstToken"] = Metric(self.first_token_ms, MILLISECONDS)
        if self.searched:  # its average is then the share of searches that failed
            measured["WebSearchFailures"] = Metric(int(not self.read_results))
        return measured

    def _elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)
