"""The front end's path, end to end: a real browser on another origin, signed in.

Headless Chromium (Debian's package; CHROMIUM names another binary) driven by
Playwright loads tests/browser/page: our own page, written to do what the
DebugFlow front end's client code does (lib/api.ts's headers, chatStore's
stream reading), not that code itself. It confirms the sign-in (`GET
/protected`), creates a session, streams `/api/chat` with
`response.body.getReader()` and renders each delta as it arrives, reloads the
messages, adds and lists memories. signin.html first signs in for real:
the Firebase JS SDK (npm `firebase`, bundled by esbuild) against the
Firebase Auth emulator (npm `firebase-tools`), with a new email/password
account, and every request then carries `currentUser.getIdToken()`, as
docs/local-sign-in.md tells a front-end developer to run it. The backend runs
as a user starts it: `make dev` (`python -m handler serve`) and `make emulate`
(the local Lambda, both invoke modes), in subprocesses. The model holds its
answer after a few words until the page shows them, so the test sees
streaming without timing anything. Screenshots go to dist/screenshots/
(git-ignored).

Without Chromium or npm these tests fail and say what to install; they never skip.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from devtools.lambda_emulator import LocalCertificates, ensure_signing_key
from handler.auth import emulator as local_auth
from tests import chatstream
from tests.browser import auth_emulator
from tests.browser.model import HeldModel
from tests.browser.processes import (
    ROOT,
    Backend,
    base_environment,
    run_cli,
    start_dev,
    start_emulate,
)
from tests.standins import huggingface as hf
from tests.standins.firebase import claims_for, encode, make_key

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_DIR = Path(__file__).parent / "browser" / "page"
SCREENSHOTS = ROOT / "dist" / "screenshots"
UID = "browser-user"
MEMORY = "Uses Python 3.12 on Debian"
LOCAL_PROJECT = local_auth.LOCAL_PROJECT  # demo-debugflow
DEV_AUTH = {
    "FIREBASE_PROJECT_ID": LOCAL_PROJECT,
    "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
}


@dataclass
class Browser:
    page: object  # playwright.async_api.Page
    console: list[str] = field(default_factory=list)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it (Debian/Ubuntu: "
            "apt-get install chromium; .ci/run does) or set CHROMIUM to its path"
        )
    return CHROMIUM


@pytest.fixture
async def browser(tmp_path: Path, chromium: Path) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path / "profile",  # a fresh profile each test
            executable_path=str(chromium),
            headless=True,
            args=LAUNCH_ARGS,
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            browser = Browser(page)
            page.on("console", lambda m: browser.console.append(f"{m.type}: {m.text}"))
            yield browser
        finally:
            await context.close()


@pytest.fixture
async def page_origin(make_client) -> str:
    """The page's own origin: another port of 127.0.0.1 than any backend."""

    async def page_file(request: web.Request) -> web.FileResponse:
        # The page's own files, then the Firebase SDK bundle (firebase.js) when one was made.
        for folder in (PAGE_DIR, auth_emulator.BUNDLE_DIR):
            path = folder / request.match_info["name"]
            if path.is_file():
                return web.FileResponse(path, headers={"Cache-Control": "no-store"})
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{name}", page_file)
    server = await make_client(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def model(make_client) -> AsyncIterator[HeldModel]:
    upstream = HeldModel()
    server = await make_client(upstream.app())
    upstream.url = str(server.make_url("")).rstrip("/")
    yield upstream
    upstream.release.set()  # never leave a backend waiting on it


@pytest.fixture
async def backends() -> AsyncIterator[list[Backend]]:
    started: list[Backend] = []
    yield started
    for backend in started:
        await backend.stop()


def model_settings(model: hf.HuggingFace) -> dict[str, str]:
    return {
        "HUGGINGFACE_API_KEY": hf.API_KEY,
        "HF_BASE_URL": model.url,
        "HF_MODEL": hf.MAIN_MODEL,
        "HF_FAST_MODEL": hf.FAST_MODEL,
    }


def token_header(token: str) -> dict:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


async def mint(workdir: Path, **settings: str) -> str:
    status, token, error = await run_cli(workdir, "emulator-token", "--uid", UID, **settings)
    assert status == 0, error
    return token


async def _report(browser: Browser, backend: Backend) -> str:
    page = browser.page
    texts = {
        name: await page.text_content(f"#{name}")
        for name in ("state", "signed-in", "answer", "title", "error")
    }
    console = "\n".join(browser.console[-20:])
    return f"page: {texts}\nconsole:\n{console}\nbackend log:\n{backend.output()}"


async def _wait(browser: Browser, backend: Backend, expression: str, arg: object = None) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await browser.page.wait_for_function(expression, arg=arg, timeout=60_000)
    except PlaywrightTimeout:
        pytest.fail(f"the page never got there ({expression}):\n{await _report(browser, backend)}")


async def use_front_end(
    browser: Browser,
    page_origin: str,
    backend: Backend,
    token: str | None,
    model: HeldModel,
    *,
    streamed: bool,
    name: str,
    sign_in: dict[str, str] | None = None,
) -> None:
    """Open the page against `backend` and check what it rendered.

    With `token`, index.html uses it; with `sign_in` (the Auth emulator's URL,
    project, email, password), signin.html signs in through the Firebase SDK.
    """
    page = browser.page
    auth = {"token": token} if sign_in is None else sign_in
    fragment = urlencode({"api": backend.url, "memory": MEMORY, **auth})
    page_name = "index.html" if sign_in is None else "signin.html"
    await page.goto(f"{page_origin}/{page_name}#{fragment}")
    if streamed:
        # The model is holding: only a stream passed on as it comes shows these words.
        await _wait(
            browser,
            backend,
            "first => document.body.dataset.state === 'failed'"
            " || document.getElementById('answer').textContent === first",
            model.first_words(),
        )
        state = await page.get_attribute("body", "data-state")
        assert state == "streaming", await _report(browser, backend)
        assert await page.text_content("#answer") == model.first_words()
        assert int(await page.text_content("#deltas")) == model.hold_after
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / f"{name}-mid-stream.png", full_page=True)
    model.release.set()
    await _wait(
        browser, backend, "['done', 'failed', 'stopped'].includes(document.body.dataset.state)"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=shot, full_page=True)

    assert await page.get_attribute("body", "data-state") == "done", await _report(browser, backend)
    uid = UID if sign_in is None else await page.text_content("#firebase-uid")
    assert uid and await page.text_content("#signed-in") == uid
    assert await page.text_content("#answer") == model.answer()
    assert int(await page.text_content("#deltas")) == len(model.words)
    assert await page.text_content("#title") == model.title
    assert await page.text_content("#stored") == model.answer()
    assert MEMORY in await page.locator("#memories li").all_text_contents()
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def test_front_end_through_make_dev(
    tmp_path, browser, page_origin, model, backends, database_url
):
    settings = {"DATABASE_URL": database_url, "DATABASE_SSL": "disable", **DEV_AUTH}
    backends.append(
        dev := await start_dev(
            tmp_path, CORS_ORIGINS=page_origin, **settings, **model_settings(model)
        )
    )
    # README's `make dev` sign-in: the Auth emulator mode and an unsigned token.
    token = await mint(tmp_path, **DEV_AUTH)
    assert token_header(token)["alg"] == "none"
    await use_front_end(browser, page_origin, dev, token, model, streamed=True, name="make-dev")


async def test_front_end_signs_in_through_the_firebase_auth_emulator(
    tmp_path, browser, page_origin, model, backends, database_url
):
    """docs/local-sign-in.md: firebase-tools' Auth emulator, the Firebase JS SDK, make dev."""
    auth_emulator.bundle_sdk()
    backends.append(emulator := await auth_emulator.start(tmp_path, LOCAL_PROJECT))
    settings = {
        "DATABASE_URL": database_url,
        "DATABASE_SSL": "disable",
        "FIREBASE_PROJECT_ID": LOCAL_PROJECT,
        "FIREBASE_AUTH_EMULATOR_HOST": emulator.url.removeprefix("http://"),
    }
    backends.append(
        dev := await start_dev(
            tmp_path, CORS_ORIGINS=page_origin, **settings, **model_settings(model)
        )
    )
    sign_in = {
        "emulator": emulator.url,
        "project": LOCAL_PROJECT,
        "email": "front-end-dev@example.com",
        "password": "local-only-password",
    }
    await use_front_end(
        browser,
        page_origin,
        dev,
        None,
        model,
        streamed=True,
        name="auth-emulator",
        sign_in=sign_in,
    )


@pytest.mark.parametrize("mode", ["RESPONSE_STREAM", "BUFFERED"])
async def test_front_end_through_make_emulate(
    tmp_path, browser, page_origin, model, backends, database_url, mode
):
    backends.append(
        lam := await start_emulate(
            tmp_path,
            invoke_mode=mode,
            DATABASE_URL=database_url,
            DATABASE_SSL="disable",
            CORS_ORIGINS=page_origin,
            **model_settings(model),
        )
    )
    # No FIREBASE_* anywhere: the emulator's local key signs, the function verifies.
    token = await mint(tmp_path)
    assert token_header(token)["alg"] == "RS256"
    await use_front_end(
        browser,
        page_origin,
        lam,
        token,
        model,
        streamed=mode == "RESPONSE_STREAM",
        name=f"make-emulate-{mode.lower()}",
    )


async def _status(url: str, token: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/protected", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        return resp.status


async def test_signed_chat_through_make_emulate_and_forged_tokens_refused(
    tmp_path, backends, database_url, huggingface
):
    backends.append(
        lam := await start_emulate(
            tmp_path,
            DATABASE_URL=database_url,
            DATABASE_SSL="disable",
            **model_settings(huggingface),
        )
    )
    key_file = tmp_path / local_auth.key_path()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    token = await mint(tmp_path)

    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=lam.url, headers=headers) as http:
        async with http.get("/protected") as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["dbUser"]["id"] == UID
        async with http.post("/api/sessions", json={}) as resp:
            session = await resp.json()
        body = {"sessionId": session["id"], "message": "TypeError: x is undefined"}
        async with http.post("/api/chat", json=body) as resp:
            transcript = await chatstream.read(resp)
    assert transcript.kinds()[-1] == "[DONE]", transcript.events
    assert transcript.text() == "".join(huggingface.words)

    # What an attacker could send the same function: each is refused as on Lambda.
    kid = token_header(token)["kid"]
    claims = claims_for(UID, project=local_auth.LOCAL_PROJECT)
    rogue = make_key("rogue")
    forged = {
        "another key, our key id": encode({"alg": "RS256", "kid": kid}, claims, rogue),
        "another key, its own id": encode({"alg": "RS256", "kid": rogue.kid}, claims, rogue),
        "unsigned": local_auth.emulator_token(local_auth.LOCAL_PROJECT, UID),
    }
    for what, bad in forged.items():
        assert await _status(lam.url, bad) == 401, what
    assert await _status(lam.url, token) == 200


async def test_emulate_refuses_the_auth_emulator_mode(tmp_path):
    args = ["-m", "devtools.lambda_emulator", "--task-root", str(ROOT), "--port", "0"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=tmp_path,
        env=base_environment(**DEV_AUTH),
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await process.communicate()
    assert process.returncode == 1
    assert "unset FIREBASE_AUTH_EMULATOR_HOST" in error.decode()


async def test_emulator_token_picks_the_servers_mode(tmp_path):
    status, _, error = await run_cli(tmp_path, "emulator-token")
    assert status == 2 and "make emulate" in error  # no key yet: says where one comes from

    certificate = ensure_signing_key(tmp_path / local_auth.LOCAL_AUTH_DIR)
    signed = await mint(tmp_path)
    assert token_header(signed) == {
        "typ": "JWT",
        "alg": "RS256",
        "kid": local_auth.key_id(certificate),
    }
    # make dev's settings (and a project of the user's) still get the unsigned token.
    assert token_header(await mint(tmp_path, **DEV_AUTH))["alg"] == "none"
    own_project = await mint(tmp_path, FIREBASE_PROJECT_ID="my-project")
    assert token_header(own_project)["alg"] == "none"


async def test_local_certificates_served_as_google_serves_them(tmp_path, make_client):
    from google.auth import jwt

    directory = tmp_path / "local-auth"
    certificate = ensure_signing_key(directory)
    assert ensure_signing_key(directory) == certificate  # kept: earlier tokens stay valid
    server = await make_client(LocalCertificates(certificate).app())
    resp = await server.get("/certs")
    certs = await resp.json()
    assert certs == {local_auth.key_id(certificate): certificate}
    assert "max-age=3600" in resp.headers["Cache-Control"]

    token = local_auth.signed_token(local_auth.LOCAL_PROJECT, UID, directory)
    claims = jwt.decode(token, certs=certs, audience=local_auth.LOCAL_PROJECT)
    assert claims["sub"] == UID
    assert claims["iss"] == f"https://securetoken.google.com/{local_auth.LOCAL_PROJECT}"


async def test_local_key_renewed_before_its_certificate_expires(tmp_path):
    from cryptography.hazmat.primitives import serialization

    directory = tmp_path / "local-auth"
    directory.mkdir()
    expiring = make_key("expiring")  # its certificate ends within a day
    private = expiring.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    local_auth.key_path(directory).write_text(private.decode() + expiring.certificate_pem)
    renewed = ensure_signing_key(directory)
    assert renewed != expiring.certificate_pem
    assert local_auth.split_key_file(local_auth.key_path(directory).read_text())[1] == renewed
    assert stat.S_IMODE(local_auth.key_path(directory).stat().st_mode) == 0o600
