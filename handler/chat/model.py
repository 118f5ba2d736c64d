"""Chat models: HuggingFace's OpenAI-compatible router, and the offline stand-in.

Both stream text deltas. Failures raise `ModelError` with a message that is
safe to show the user; upstream bodies go to the log (truncated), the API key
never does. `ModelUnavailable` is the kind another model may not share (busy,
down, slow, unreachable): `answer` then asks the fallback model once, if it
happened before the first token.

An answer may be as long as the model's output limit (HF_MAX_OUTPUT_TOKENS,
65,536 as the original asks) or what the context window (HF_CONTEXT_TOKENS)
leaves after the prompt, whichever is less.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import aiohttp

from handler import sse
from handler.chat.events import ModelFallback
from handler.chat.huggingface import HuggingFace, MissingKey
from handler.chat.prompt import estimate_tokens

if TYPE_CHECKING:
    from handler.settings import Settings

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]

# One line of the model's event stream; a chunk of text is a few hundred bytes.
MAX_LINE_BYTES = 1024 * 1024
_LINE_TOO_LONG = f"The model service sent a malformed answer (a line over {MAX_LINE_BYTES} bytes)"

# A fast request's default: the web-search decision is a marker and a short query.
FAST_MAX_TOKENS = 64
# Role markers around each message, in tokens; and token estimates run low on
# code and logs, so the prompt is counted half again before the answer's room.
MESSAGE_OVERHEAD = 4


class ModelError(Exception):
    """The model could not answer; the message is for the user."""


class ModelUnavailable(ModelError):
    """Busy (429), failing (5xx or an error in the stream), too slow, or unreachable."""


class ChatModel(Protocol):
    name: str
    fallback: str | None  # the model `answer` asks when `name` is unavailable

    def stream(
        self,
        messages: Messages,
        *,
        fast: bool = False,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]: ...


def answer_tokens(settings: Settings, messages: Messages) -> int:
    """The answer's `max_tokens`: the output limit, or what the window leaves."""
    prompt = sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)
    return max(1, min(settings.hf_max_output_tokens, settings.hf_context_tokens - prompt * 3 // 2))


async def answer(model: ChatModel, messages: Messages) -> AsyncIterator[str | ModelFallback]:
    """The chat model's answer, delta by delta.

    When it is unavailable before its first token, one `ModelFallback` says so
    and the fallback model answers instead; after the first token a failure
    raises, and what was generated stays with the caller.
    """
    fallback = model.fallback
    async with contextlib.aclosing(model.stream(messages)) as stream:
        try:
            first = await anext(stream, None)
        except ModelUnavailable as exc:
            if not fallback:
                raise
            failure = str(exc)
        else:
            if first is not None:
                yield first
                async for delta in stream:
                    yield delta
            return
    log.warning(
        "chat model unavailable before answering; the fallback answers",
        extra={"model": model.name, "fallback": fallback, "error": failure},
    )
    yield ModelFallback(model=fallback, failed=model.name)
    async with contextlib.aclosing(model.stream(messages, model=fallback)) as stream:
        async for delta in stream:
            yield delta


async def complete(
    model: ChatModel, messages: Messages, *, max_tokens: int, fast: bool = True
) -> str:
    """The whole answer of a background request, such as a title, in `max_tokens` at most."""
    stream = model.stream(messages, fast=fast, max_tokens=max_tokens)
    return "".join([delta async for delta in stream])


_STATUS_MESSAGES = {
    401: "The model service rejected the server's credentials",
    403: "The model service refused access to the model",
    404: "The configured model was not found",
    429: "The model service is busy (rate limited); try again shortly",
}


class HuggingFaceModel:
    """OpenAI-style streamed chat completions on HuggingFace's router."""

    def __init__(self, hf: HuggingFace) -> None:
        self._hf = hf
        settings = hf.settings
        self._settings = settings
        self._models = (settings.hf_model, settings.hf_fast_model)
        self.fallback = settings.hf_fallback_model
        if self.fallback == settings.hf_model:
            self.fallback = None  # the same model again would fail the same way
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.hf_connect_timeout,
            sock_read=settings.hf_read_timeout,
        )
        self.name = settings.hf_model

    async def stream(
        self,
        messages: Messages,
        *,
        fast: bool = False,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        if max_tokens is None:
            max_tokens = FAST_MAX_TOKENS if fast else answer_tokens(self._settings, messages)
        payload = {
            "model": model or (self._models[1] if fast else self._models[0]),
            "messages": messages,
            "stream": True,
            "max_tokens": max_tokens,
        }
        try:
            async with self._post(payload) as resp:
                async for data in sse.parse(_whole_lines(resp.content.iter_any())):
                    if data == sse.DONE:
                        return
                    for delta in _deltas(data):
                        yield delta
        except MissingKey:
            raise ModelError(
                "The model is not configured on this server (no HuggingFace key)"
            ) from None
        except TimeoutError:
            raise ModelUnavailable("The model did not answer in time") from None
        except aiohttp.ClientError as exc:
            log.warning("model connection failed", extra={"error_type": type(exc).__name__})
            raise ModelUnavailable("Lost the connection to the model service") from None

    @contextlib.asynccontextmanager
    async def _post(self, payload: dict[str, Any]) -> AsyncIterator[aiohttp.ClientResponse]:
        """The streaming response; a failure status raises.

        A provider whose output limit is below `max_tokens` refuses the request
        and names its limit: it is asked once more within that limit.
        """
        async with self._hf.post("/v1/chat/completions", payload, self._timeout) as resp:
            if resp.status == 200:
                yield resp
                return
            detail = await _failure_detail(resp)
            limit = _output_limit(detail) if resp.status in (400, 422) else None
        if limit is None or limit >= payload["max_tokens"]:
            _raise_failure(resp.status)
        log.info(
            "the model's output limit is lower; asking within it",
            extra={"model": payload["model"], "max_tokens": limit},
        )
        async with self._hf.post(
            "/v1/chat/completions", {**payload, "max_tokens": limit}, self._timeout
        ) as resp:
            if resp.status != 200:
                await _failure_detail(resp)  # it logs what the provider said
                _raise_failure(resp.status)
            yield resp


def _deltas(data: str) -> list[str]:
    try:
        chunk = json.loads(data)
    except ValueError:
        log.warning("model sent malformed data", extra={"data": data[:200]})
        raise ModelError("The model service sent a malformed answer") from None
    if not isinstance(chunk, dict):
        raise ModelError("The model service sent a malformed answer")
    if "error" in chunk:
        log.warning("model reported an error", extra={"upstream": str(chunk["error"])[:500]})
        raise ModelUnavailable(f"The model failed mid-answer: {_error_text(chunk['error'])}")
    deltas = []
    for choice in chunk.get("choices") or []:
        content = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
        if isinstance(content, str) and content:
            deltas.append(storable(content))
    return deltas


def storable(text: str) -> str:
    """`text` without what PostgreSQL text and UTF-8 cannot hold.

    NUL is dropped; a lone surrogate (JSON's "\\ud800" escape parses to one)
    becomes U+FFFD, so an answer or a title can always be stored and streamed.
    """
    text = text.replace("\x00", "")
    try:
        text.encode()
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


async def _whole_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The stream re-cut to end at line ends, with each line at most MAX_LINE_BYTES.

    Only the newly arrived bytes are searched, and the SSE parser never holds
    more than one unfinished line, so a huge line costs linear time and is
    refused before it costs memory.
    """
    pending = bytearray()
    async for chunk in chunks:
        last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if last < 0:
            pending += chunk
            if len(pending) > MAX_LINE_BYTES:
                raise ModelError(_LINE_TOO_LONG)
            continue
        first = min(i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0)
        if len(pending) + first > MAX_LINE_BYTES:
            raise ModelError(_LINE_TOO_LONG)
        pending += chunk[: last + 1]
        yield bytes(pending)
        pending = bytearray(chunk[last + 1 :])
        if len(pending) > MAX_LINE_BYTES:
            raise ModelError(_LINE_TOO_LONG)
    if pending:
        yield bytes(pending)


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or error.get("error") or "unknown error"
    return str(error)[:200]


async def _failure_detail(resp: aiohttp.ClientResponse) -> str:
    text = (await resp.text(errors="replace"))[:500]
    try:
        detail = _error_text(json.loads(text).get("error", text))
    except (ValueError, AttributeError):
        detail = text
    log.warning("model request failed", extra={"status": resp.status, "upstream": detail})
    return detail


# How providers name their output limit when max_tokens is over it, e.g.
# "max_tokens must be less than or equal to 8192", "... must be <= 32768".
_OUTPUT_LIMIT = re.compile(
    r"(?:max_tokens|max_new_tokens|max_completion_tokens|output tokens)\D{0,60}?"
    r"(?:<=|less than or equal to|at most|maximum(?: value)?(?: is| of)?)\s*(\d{2,7})",
    re.IGNORECASE,
)


def _output_limit(detail: str) -> int | None:
    found = _OUTPUT_LIMIT.search(detail)
    return int(found.group(1)) if found else None


def _raise_failure(status: int) -> NoReturn:
    message = _STATUS_MESSAGES.get(status, f"The model service failed (HTTP {status})")
    if status == 429 or status >= 500:
        raise ModelUnavailable(message)
    raise ModelError(message)


class OfflineModel:
    """A local generator for development without an account: plainly not AI output."""

    name = "offline"
    fallback = None

    def __init__(self, delay: float = 0.03) -> None:
        self._delay = delay

    async def stream(
        self,
        messages: Messages,
        *,
        fast: bool = False,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        asked = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        asked = " ".join(asked.split())
        if fast:
            text = " ".join(asked.split()[:6]) or "Offline session"
        else:
            excerpt = asked if len(asked) <= 160 else asked[:157] + "..."
            text = (
                "[Offline model] This reply was generated locally because no "
                "HUGGINGFACE_API_KEY is set; it is not an AI answer.\n\n"
                f"You wrote: \u201c{excerpt}\u201d\n\n"
                "Set HUGGINGFACE_API_KEY to get real answers."
            )
        for word in re.findall(r"\S+\s*|\s+", text):
            await asyncio.sleep(self._delay)
            yield word
