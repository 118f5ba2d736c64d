"""Typed keys for what the application and each request carry."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from handler.auth.identity import User
from handler.auth.tokens import TokenVerifier
from handler.background import BackgroundTasks
from handler.chat.services import ChatServices
from handler.db.pool import Database
from handler.lambda_runtime import contract
from handler.secrets import Secrets
from handler.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
HTTP = web.AppKey("http", aiohttp.ClientSession)
STARTED_AT = web.AppKey("started_at", float)
SECRETS = web.AppKey("secrets", Secrets)
TOKEN_VERIFIER = web.AppKey("token_verifier", TokenVerifier)
BACKGROUND = web.AppKey("background", BackgroundTasks)
CHAT = web.AppKey("chat", ChatServices)

# Set by the Lambda runtime's bridge (and the access log where it is not).
REQUEST_ID = contract.REQUEST_ID
USER = web.RequestKey("user", User)
# Set when the response's headers went out; after that no error response is possible.
RESPONSE_STARTED = web.RequestKey("response_started", bool)
# Epoch milliseconds after which Lambda kills the invocation (unset locally).
DEADLINE_MS = contract.DEADLINE_MS
