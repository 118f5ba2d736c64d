"""HuggingFace's router, as every call of ours reaches it: one base URL, one key
(read on first use: it may live in the app secret), one HTTP session.

The chat model (answers, titles, summaries, search decisions) and the embedder
both go through it, so a missing key means the same thing everywhere: no
request is sent, and the caller says so in its own terms.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from handler.settings import Settings


class MissingKey(Exception):
    """No HUGGINGFACE_API_KEY (nor one in the app secret): nothing was sent."""


class HuggingFace:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        settings: Settings,
        api_key: Callable[[], Awaitable[str | None]],
    ) -> None:
        self._http = http
        self._api_key = api_key
        self.settings = settings
        self.base_url = settings.hf_base_url

    @asynccontextmanager
    async def post(
        self, path: str, payload: Any, limits: aiohttp.ClientTimeout
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST `payload` as JSON to the router, authorised; raises MissingKey first."""
        key = await self._api_key()
        if not key:
            raise MissingKey
        async with self._http.post(
            f"{self.base_url}{path}",
            json=payload,
            headers={"Authorization": f"Bearer {key}"},
            timeout=limits,
        ) as response:
            yield response
