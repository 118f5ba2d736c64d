"""Google's token-signing certificates, fetched asynchronously and cached.

The cache honours the endpoint's `Cache-Control: max-age`. At most one fetch
is in flight: every caller that needs the certificates meanwhile waits for
that one, and no caller waits longer than one fetch timeout. Google is not
asked again within MIN_REFRESH seconds for an unknown key id (made-up key ids
cannot make us hammer it), nor within RETRY_AFTER seconds of a failed fetch
(an outage answers 503 at once instead of once per request).
"""

from __future__ import annotations

import asyncio
import math
import re
import time

import aiohttp

DEFAULT_MAX_AGE = 3600.0
MIN_REFRESH = 30.0
RETRY_AFTER = 5.0
FETCH_TIMEOUT = 5.0
WAIT_MARGIN = 1.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


class CertificatesUnavailable(Exception):
    """The certificate endpoint could not be read; no token can be verified."""


class CertificateCache:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        *,
        min_refresh: float = MIN_REFRESH,
        retry_after: float = RETRY_AFTER,
        fetch_timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self._http = http
        self._url = url
        self._min_refresh = min_refresh
        self._retry_after = retry_after
        self._fetch_timeout = fetch_timeout
        self._certs: dict[str, str] = {}
        self._expires_at = 0.0
        self._attempted_at = -math.inf
        self._failure: str | None = None  # why the last fetch failed; None after a success
        self._fetch: asyncio.Task[None] | None = None

    async def get(self, kid: str) -> str | None:
        """The PEM certificate for `kid`, refreshing when stale or unknown.

        Raises CertificatesUnavailable when no unexpired certificates can be had.
        """
        if self._fresh() and kid in self._certs:
            return self._certs[kid]
        if self._fetch is None and self._may_fetch():
            self._fetch = asyncio.create_task(self._refresh())
        if self._fetch is not None:
            await self._wait(self._fetch)
        if self._failure is not None and not self._fresh():
            raise CertificatesUnavailable(self._failure)
        return self._certs.get(kid)

    def _fresh(self) -> bool:
        return time.monotonic() < self._expires_at

    def _may_fetch(self) -> bool:
        since = time.monotonic() - self._attempted_at
        if self._fresh():  # an unknown key id
            return since >= self._min_refresh
        return self._failure is None or since >= self._retry_after

    async def _wait(self, fetch: asyncio.Task[None]) -> None:
        # shield: a caller that gives up (or goes away) does not cancel the
        # fetch the others are waiting for. The fetch ends on its own timeout;
        # the margin lets its waiters see how it ended.
        try:
            async with asyncio.timeout(self._fetch_timeout + WAIT_MARGIN):
                await asyncio.shield(fetch)
        except TimeoutError:
            raise CertificatesUnavailable("timed out waiting for the certificates") from None

    async def _refresh(self) -> None:
        try:
            certs, max_age = await self._download()
        except CertificatesUnavailable as exc:
            self._failure = str(exc)
        else:
            self._certs = certs
            self._failure = None
            self._expires_at = time.monotonic() + max_age
        finally:
            self._attempted_at = time.monotonic()  # throttles count from the end of a fetch
            self._fetch = None

    async def _download(self) -> tuple[dict[str, str], float]:
        timeout = aiohttp.ClientTimeout(total=self._fetch_timeout)
        try:
            async with self._http.get(self._url, timeout=timeout) as resp:
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                certs = await resp.json(content_type=None)
                max_age = _max_age(resp.headers.get("Cache-Control", ""))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
            raise CertificatesUnavailable(reason) from exc
        if not isinstance(certs, dict) or not all(isinstance(v, str) for v in certs.values()):
            raise CertificatesUnavailable("unexpected certificate document")
        return certs, max_age


def _max_age(cache_control: str) -> float:
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else DEFAULT_MAX_AGE
