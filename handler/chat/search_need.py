"""Whether a message needs the web, decided locally when the answer is plain.

Asking the fast model costs a round trip (a third of a second or more) before
the answer can start, so it is asked only when the message is ambiguous:

- SEARCH: a short question about what changes over time (the latest release,
  versions, changelogs, news, outages, a recent date): it is searched as written,
  without asking. A long message is left to the model, which writes a query.
- SKIP: a stack trace, code, an error message, a thank-you: the user's own
  problem, answered from the conversation and retrieval, as the fast model's
  instructions say.
- ASK: anything else, or signs of both (an error after "upgrading to the latest"):
  the fast model decides, as before.

Only the new message is read, its head and tail (a pasted log's trace is at the
top, its error at the bottom), each line cut short: the patterns never see a
megabyte nor a line long enough to backtrack on for long. They are English, so
other languages are asked about. They are compiled on first use: a cold start
that answers /health does not pay for them.
"""

from __future__ import annotations

import enum
import functools
import re

# Longer messages go to the model: a query should say in a few words what to look up.
MAX_LOCAL_QUERY_CHARS = 300
READ_CHARS = 4000  # of the message's head, and as much of its tail
LINE_CHARS = 300  # of each line read


class Need(enum.Enum):
    SEARCH = "search"
    SKIP = "skip"
    ASK = "ask"


class _Lazy:
    """A pattern compiled when first used."""

    def __init__(self, source: str, flags: re.RegexFlag) -> None:
        self._source, self._flags = source, flags

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self._source, self._flags)


def _any(*patterns: str, flags: re.RegexFlag = re.IGNORECASE | re.MULTILINE) -> _Lazy:
    return _Lazy("|".join(f"(?:{p})" for p in patterns), flags)


_RELEASE = r"(?:versions?|releases?|features|docs|documentation|sdk|lts|stable)"
_LIVE = _any(
    # "the latest release of X", "newest Next.js version"; not "the latest row per group",
    # nor "my latest version" (the user's own code)
    rf"(?<!my )(?<!our )\b(?:latest|newest|most recent)\s+(?:[\w.@/-]+\s+){{0,3}}?{_RELEASE}\b",
    rf"\b{_RELEASE}\s+(?:is|are)\s+(?:the\s+)?(?:latest|newest|current)\b",
    r"\b(?:changelog|release notes|what'?s new in|roadmap|release date|end of life|eol)\b",
    r"\b(?:released|announced|launched|out|deprecated|down)\s+(?:yet|already|right now)\b",
    r"\b(?:outage|status page|news (?:about|on|from))\b",
    r"\b(?:as of|in|since|for) 20[2-9]\d\b",
)
_TRACE = _any(
    r"^\s*at [\w$.<>\[\]/ -]+\(?[^\s()]+:\d+(?::\d+)?\)?\s*$",  # JavaScript, Java
    r"^Traceback \(most recent call last\):",
    r'^\s*File "[^"]+", line \d+',
    r"^(?:Caused by|Exception in thread)\b",
    r"^goroutine \d+ \[|^panic: |thread '[^']+' panicked at",
    r"^\s+at [\w.$]+\([\w]+\.(?:java|kt|scala|cs):\d+\)",
)
_ERROR = _any(
    r"(?-i:\b[A-Z]\w*(?:Error|Exception)\b)(?::|\s+at\b)",  # TypeError: ..., ...Exception at
    r"^\s*(?:error|fatal|panic|warning)(?:\[[\w-]+\])?:\s|^npm ERR!",
    r"\b(?:segmentation fault|core dumped|exit(?:ed with)? (?:code|status) \d+)\b",
    r"\bundefined is not (?:a function|an object)\b|\bcannot read propert(?:y|ies) of\b",
)
_CODE = _any(
    r"^\s*```",
    r"^\s*(?:def|class|import|from \S+ import|function|const|let|var|public|private|"
    r"func|fn|package|#include|SELECT|INSERT|UPDATE)\b.*$",
    r"^\s*(?:for|while|if|elif|with|try|except)\b.*:\s*$|^\s*return\b",  # Python blocks
    r"[;{}]\s*$",
    r"=>|::|->\s*\w",
    flags=re.MULTILINE,
)
_THANKS = _any(
    r"^\W*(?:thanks?|thank you|thx|ok(?:ay)?|great|perfect|cool|got it|that worked|it works|"
    r"hi|hello|hey)\b[\w\s!.,']{0,40}$",
    flags=re.IGNORECASE,
)


def classify(message: str) -> Need:
    """What the turn should do about the web for this message."""
    whole = message.strip()
    text = _readable(whole)
    own_problem = bool(
        _TRACE.compiled.search(text) or _ERROR.compiled.search(text) or _code_lines(text) >= 2
    ) or bool(_THANKS.compiled.match(text))
    live = bool(_LIVE.compiled.search(text))
    if live and not own_problem and len(whole) <= MAX_LOCAL_QUERY_CHARS:
        return Need.SEARCH
    if own_problem and not live:
        return Need.SKIP
    return Need.ASK


def query(message: str) -> str:
    """The web query for a message classified SEARCH: the question itself, on one line."""
    return " ".join(message.split())[:MAX_LOCAL_QUERY_CHARS]


def _readable(text: str) -> str:
    """The head and tail of `text`, each line cut to LINE_CHARS."""
    if len(text) > 2 * READ_CHARS:
        text = f"{text[:READ_CHARS]}\n{text[-READ_CHARS:]}"
    return "\n".join(line[:LINE_CHARS] for line in text.splitlines())


def _code_lines(text: str) -> int:
    """How many lines look like code (a fence counts as two: it is code by itself)."""
    if "```" in text:
        return 2
    return sum(1 for line in text.splitlines() if _CODE.compiled.search(line))
