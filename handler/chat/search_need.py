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

Only the new message is read; the patterns are English, so other languages are
asked about.
"""

from __future__ import annotations

import enum
import re

# Longer messages go to the model: a query should say in a few words what to look up.
MAX_LOCAL_QUERY_CHARS = 300


class Need(enum.Enum):
    SEARCH = "search"
    SKIP = "skip"
    ASK = "ask"


def _any(*patterns: str, flags: re.RegexFlag = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags | re.MULTILINE)


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
    flags=re.NOFLAG,
)
_THANKS = re.compile(
    r"^\W*(?:thanks?|thank you|thx|ok(?:ay)?|great|perfect|cool|got it|that worked|it works|"
    r"hi|hello|hey)\b[\w\s!.,']{0,40}$",
    re.IGNORECASE,
)


def classify(message: str) -> Need:
    """What the turn should do about the web for this message."""
    text = message.strip()
    own_problem = bool(
        _TRACE.search(text) or _ERROR.search(text) or _code_lines(text) >= 2
    ) or bool(_THANKS.match(text))
    live = bool(_LIVE.search(text))
    if live and not own_problem and len(text) <= MAX_LOCAL_QUERY_CHARS:
        return Need.SEARCH
    if own_problem and not live:
        return Need.SKIP
    return Need.ASK


def query(message: str) -> str:
    """The web query for a message classified SEARCH: the question itself, on one line."""
    return " ".join(message.split())[:MAX_LOCAL_QUERY_CHARS]


def _code_lines(text: str) -> int:
    """How many lines look like code (a fence counts as two: it is code by itself)."""
    if "```" in text:
        return 2
    return sum(1 for line in text.splitlines() if _CODE.search(line))
