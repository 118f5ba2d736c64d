"""Web search for a chat turn: one small interface, and Tavily's search API behind it.

Tavily is called over plain HTTP (no SDK): POST {TAVILY_BASE_URL}/search with
`Authorization: Bearer <key>`, as its API reference documents
(https://docs.tavily.com/api-reference/endpoint/search). The request is the
original DebugFlow's: `search_depth: basic`, 5 results, no generated answer,
images or raw content. Every failure (no key, timeout, refusal, a body that is
not what the API documents) raises `WebSearchError`; the turn goes on without
web results.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from handler.chat.model import storable
from handler.settings import Settings

log = logging.getLogger(__name__)

MAX_RESULTS = 5
# Tavily refuses longer queries with a 400 "Query is too long. Max query length is
# 400 characters." (https://github.com/CherryHQ/cherry-studio/issues/2201).
MAX_QUERY_CHARS = 400
MAX_CONTENT_CHARS = 800  # of each result's snippet, to bound the prompt
MAX_BODY_BYTES = 1024 * 1024  # five snippets are a few kilobytes
MAX_REASON_CHARS = 160  # of Tavily's error text in a log line
# Bearer tokens, Tavily/HuggingFace/OpenAI-style keys, and any long opaque token.
_CREDENTIAL = re.compile(r"(?i)bearer\s+\S+|\b(?:tvly|hf|sk)[-_]\S+|[\w+/=-]{32,}")
_WEB_LINK = re.compile(r"https?://[^\s\x00-\x1f\x7f]{1,1000}", re.IGNORECASE)


class WebSearchError(Exception):
    """The search gave nothing usable; the message says why (never the key).

    `status` is Tavily's HTTP status when it answered one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class WebResult:
    title: str
    url: str  # an absolute http(s) URL with a host
    content: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url


class WebSearch(Protocol):
    async def available(self) -> bool:
        """Whether a search can be attempted at all (its key is known)."""
        ...

    async def search(self, query: str) -> list[WebResult]: ...


class TavilySearch:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        settings: Settings,
        api_key: Callable[[], Awaitable[str | None]],
    ) -> None:
        self._http = http
        self._url = f"{settings.tavily_base_url}/search"
        self._api_key = api_key  # read on first use: it may live in a secret
        self._timeout = aiohttp.ClientTimeout(total=settings.tavily_timeout)

    async def available(self) -> bool:
        return bool(await self._api_key())

    async def search(self, query: str) -> list[WebResult]:
        key = await self._api_key()
        if not key:
            raise WebSearchError("no TAVILY_API_KEY")
        payload = {
            "query": query[:MAX_QUERY_CHARS],
            "search_depth": "basic",
            "max_results": MAX_RESULTS,
            "include_answer": False,
            "include_images": False,
            "include_raw_content": False,
        }
        try:
            async with self._http.post(
                self._url,
                json=payload,
                headers={"Authorization": f"Bearer {key}"},
                timeout=self._timeout,
            ) as resp:
                body = await _bounded_body(resp)
                if resp.status != 200:
                    raise WebSearchError(
                        f"Tavily answered HTTP {resp.status}: {_reason(body, key)}", resp.status
                    )
        except TimeoutError:
            raise WebSearchError("Tavily did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise WebSearchError(f"Tavily unreachable ({type(exc).__name__})") from None
        return _results(body)


async def _bounded_body(resp: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise WebSearchError(f"Tavily's answer is over {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _reason(body: bytes, key: str) -> str:
    """Tavily's error text fit for a log line: one bounded line with anything that looks
    like a credential (an upstream may echo the request) replaced."""
    text = _detail(body).replace(key, "[redacted]")
    text = _CREDENTIAL.sub("[redacted]", text)
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())[:MAX_REASON_CHARS]


def _detail(body: bytes) -> str:
    """Tavily's error text: `{"detail": {"error": "..."}}`, else the body's start."""
    try:
        detail = json.loads(body)["detail"]
        text = detail.get("error", detail) if isinstance(detail, dict) else detail
    except (ValueError, KeyError, TypeError):
        text = body[:4096].decode(errors="replace")
    # Long enough that a key near the cut is still whole when it is redacted.
    return str(text)[:4096]


def _results(body: bytes) -> list[WebResult]:
    try:
        document = json.loads(body)
    except ValueError:
        raise WebSearchError("Tavily's answer is not JSON") from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list):
        raise WebSearchError("Tavily's answer has no results list")
    kept = [r for r in map(_result, results[:MAX_RESULTS]) if r is not None]
    if results and not kept:
        raise WebSearchError("none of Tavily's results has an http(s) url")
    if len(kept) < len(results[:MAX_RESULTS]):
        log.info("web results without an http(s) url were left out")
    return kept


def _result(item: Any) -> WebResult | None:
    """A result the model can read and the front end can link to, or None."""
    if not isinstance(item, dict):
        return None
    url, title, content = item.get("url"), item.get("title"), item.get("content")
    # Only web links: a `javascript:` or `data:` URL must never become a citation link.
    if not isinstance(url, str) or not _WEB_LINK.fullmatch(url) or not _has_host(url):
        return None
    if not isinstance(title, str) or not title.strip():
        title = url
    content = content if isinstance(content, str) else ""
    return WebResult(
        title=storable(" ".join(title.split()))[:200],
        url=url,
        content=storable(content.strip())[:MAX_CONTENT_CHARS],
    )


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # e.g. a malformed IPv6 host
        return False
