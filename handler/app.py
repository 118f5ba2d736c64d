"""The application factory shared by `serve`, the tests and the Lambda runtime."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from handler import logs, middlewares
from handler.auth.certificates import CertificateCache
from handler.auth.tokens import TokenVerifier
from handler.auth.users import authenticate
from handler.background import BackgroundTasks
from handler.chat.services import make_services
from handler.db.pool import Database
from handler.keys import (
    BACKGROUND,
    CHAT,
    DATABASE,
    HTTP,
    SECRETS,
    SETTINGS,
    STARTED_AT,
    TOKEN_VERIFIER,
)
from handler.lambda_runtime.contract import AFTER_INVOKE
from handler.routes import (
    admin,
    chat,
    manage,
    openapi,
    ops,
    projects,
    sessions,
    super_user,
    users,
)
from handler.routes.schema import DESCRIBED_PATHS
from handler.secrets import Secrets
from handler.settings import Settings

# How long shutdown waits for summaries and index writes still running.
SHUTDOWN_DRAIN_SECONDS = 10.0


async def _clients(app: web.Application) -> AsyncIterator[None]:
    """One outbound HTTP client and the services built on it, closed at shutdown."""
    settings = app[SETTINGS]
    app[HTTP] = aiohttp.ClientSession(raise_for_status=False)
    secrets = app[SECRETS]

    async def firebase_project() -> str | None:
        return await secrets.app_value("FIREBASE_PROJECT_ID")

    app[TOKEN_VERIFIER] = TokenVerifier(
        firebase_project,
        CertificateCache(
            app[HTTP], settings.firebase_certs_url, fetch_timeout=settings.firebase_certs_timeout
        ),
        emulator=settings.firebase_auth_emulator_host is not None,
    )
    app[CHAT] = make_services(settings, app[DATABASE], app[HTTP], app[BACKGROUND], secrets)
    yield
    await app[BACKGROUND].drain(SHUTDOWN_DRAIN_SECONDS)
    await app[CHAT].index.close()
    await app[HTTP].close()


async def _database(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[DATABASE].close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            middlewares.access_log,
            middlewares.preflight,
            middlewares.errors,
            authenticate,
        ],
    )
    app[SETTINGS] = settings
    app[STARTED_AT] = time.monotonic()
    # The pool object exists from the start; it connects on first use.
    app[SECRETS] = Secrets(settings)
    app[DATABASE] = Database(settings, app[SECRETS])
    app[BACKGROUND] = BackgroundTasks()
    middlewares.install(app)
    # Under Lambda, summaries and index writes finish before the container is frozen.
    # Drain first: background work still uses the database's connections.
    app[AFTER_INVOKE] = [app[BACKGROUND].drain, app[DATABASE].after_invoke]
    app.cleanup_ctx.extend([_database, _clients])
    app.on_response_prepare.extend([middlewares.mark_started, middlewares.cors_headers])
    app[DESCRIBED_PATHS] = {}
    for module in (ops, openapi, users, projects, sessions, chat, admin, super_user, manage):
        app.add_routes(module.routes)
        # The modules that describe their own operations (openapi.py describes the rest).
        app[DESCRIBED_PATHS].update(getattr(module, "OPENAPI_PATHS", {}))
    return app


def lambda_app() -> web.Application:
    """The app as Lambda's `_HANDLER` (handler.app.lambda_app) builds it: settings from
    the environment, JSON logs."""
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    return create_app(settings)
