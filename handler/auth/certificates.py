"""Google's token-signing certificates, fetched asynchronously and cached.

The cache honours the endpoint's `Cache-Control: max-age`, and an unknown key
id triggers one refresh (at most every MIN_REFRESH seconds, so tokens with
made-up key ids cannot make us hammer Google).
"""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp

DEFAULT_MAX_AGE = 3600.0
MIN_REFRESH = 30.0
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5)
_MAX_AGE = re.compile(r"max-age=(\d+)")


class CertificatesUnavailable(Exception):
    """The certificate endpoint could not be read; no token can be verified."""


class CertificateCache:
    def __init__(
        self, http: aiohttp.ClientSession, url: str, *, min_refresh: float = MIN_REFRESH
    ) -> None:
        self._http = http
        self._url = url
        self._min_refresh = min_refresh
        self._certs: dict[str, str] = {}
        self._expires_at = 0.0
        self._fetched_at = -min_refresh
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> str | None:
        """The PEM certificate for `kid`, refreshing when stale or unknown."""
        now = time.monotonic()
        stale = now >= self._expires_at
        unknown = kid not in self._certs and now - self._fetched_at >= self._min_refresh
        if stale or unknown:
            async with self._lock:
                # Another request may have refreshed while this one waited.
                if self._fetched_at < now:
                    await self._refresh()
        return self._certs.get(kid)

    async def _refresh(self) -> None:
        try:
            async with self._http.get(self._url, timeout=FETCH_TIMEOUT) as resp:
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                certs = await resp.json(content_type=None)
                max_age = _max_age(resp.headers.get("Cache-Control", ""))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            if self._certs and time.monotonic() < self._expires_at:
                return  # keep serving the still-valid set
            reason = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
            raise CertificatesUnavailable(reason) from exc
        if not isinstance(certs, dict) or not all(isinstance(v, str) for v in certs.values()):
            raise CertificatesUnavailable("unexpected certificate document")
        now = time.monotonic()
        self._certs = certs
        self._fetched_at = now
        self._expires_at = now + max_age


def _max_age(cache_control: str) -> float:
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else DEFAULT_MAX_AGE
