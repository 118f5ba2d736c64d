"""The whole API, fuzzed from its own /openapi.json with a valid token (schemathesis).

Every generated request, valid or not, must get an answer that is not a 5xx
and that the description allows (status code, content type, headers, body),
and the description must say what the server accepts and refuses. The service
runs in a thread of its own (the generated requests are blocking), with the
real app, real PostgreSQL and the Firebase and HuggingFace stand-ins on loopback.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from handler.app import create_app
from handler.settings import RateLimits, Settings
from tests.standins import huggingface as hf
from tests.standins.firebase import PROJECT_ID, FirebaseCertificates, make_key

pytestmark = pytest.mark.slow  # about a minute: make test-fast leaves it out

# Per operation and mode (valid, invalid data): the whole run stays well under
# two minutes on a small shared machine.
MAX_EXAMPLES = 30


class ThreadedService:
    """The app and its stand-ins, served from an event loop in another thread."""

    def __init__(self, make_settings: Callable[..., Settings]) -> None:
        self._make_settings = make_settings
        self.firebase = FirebaseCertificates(keys=[make_key("key-1")])
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzzed-service", daemon=True)

    def __enter__(self) -> ThreadedService:
        self._thread.start()
        self._ready.wait(60)
        if self._failure is not None:
            raise self._failure
        assert self.url, "the service did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread by __enter__
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        model = hf.HuggingFace()
        runners = []

        async def start(app: web.Application) -> str:
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            port = runner.addresses[0][1]
            return f"http://127.0.0.1:{port}"

        try:
            self.firebase.url = await start(self.firebase.app()) + "/certs"
            model.url = await start(model.app())
            settings = self._make_settings(
                firebase_project_id=PROJECT_ID,
                firebase_certs_url=self.firebase.url,
                hf_api_key=hf.API_KEY,
                hf_base_url=model.url,
                hf_model=hf.MAIN_MODEL,
                hf_fast_model=hf.FAST_MODEL,
                # The fuzzer chats far more than a day's allowance; 429 stays documented.
                rate_limits=RateLimits(free=100_000),
            )
            self.url = await start(create_app(settings))
            self._ready.set()
            await self._stop.wait()
        finally:
            for runner in reversed(runners):
                await runner.cleanup()


@pytest.fixture
def service(make_settings) -> Iterator[ThreadedService]:
    with ThreadedService(make_settings) as service:
        yield service


@pytest.fixture
def auth(service: ThreadedService) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.firebase.token('fuzzer')}"}


def _fuzz(operation: Any, mode: GenerationMode, auth: dict[str, str]) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests every run: a failure is reproducible
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: it would unbound the time
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        # Every built-in check: no 5xx; status code, content type, headers and
        # body as documented; schema-valid requests accepted and invalid ones
        # refused (the description says what the server does); auth enforced.
        case.call_and_validate(headers=auth, timeout=30)

    run()


def test_api_answers_every_generated_request_as_documented(service, auth):
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    schema.config.base_url = service.url
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, auth)
            except Unsatisfiable:
                continue  # nothing to make invalid: no parameters and no body
            except (Exception, BaseExceptionGroup) as exc:  # fuzz all; report every failure
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
