"""Typed, immutable settings read once from the environment.

Every setting has one environment variable; `Settings.from_env` validates all of
them and raises `SettingsError` naming the first bad variable, which the entry
points print as one line before exiting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

FIREBASE_CERTS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
POOLERS = ("none", "transaction")

log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names its variable."""


def _text(raw: str) -> str:
    return raw.strip()


def _optional_text(raw: str) -> str | None:
    return raw.strip() or None


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f"expected an integer, got {raw!r}") from None


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value <= 0:
        raise ValueError("expected a positive integer")
    return value


def _port(raw: str) -> int:
    value = _int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("expected a port number 0-65535")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError("expected a positive number")
    return value


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None
    if value < 0:
        raise ValueError("expected 0 or a positive number")
    return value


def _pem_file(raw: str) -> str | None:
    path = raw.strip()
    if path and not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    return path or None


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return raw

    return parse


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*":
            raise ValueError("a wildcard origin cannot be used with credentials")
        if not origin.startswith(("http://", "https://")):
            raise ValueError(f"origin {origin!r} must start with http:// or https://")
    return origins


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Chat requests allowed per rolling 24 hours, by tier."""

    free: int = 100
    basic: int = 500
    pro: int = 2000
    teams: int = 5000

    def for_tier(self, tier: str) -> int:
        return getattr(self, tier, self.free)

    def __str__(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


DEFAULT_RATE_LIMITS = RateLimits()


def _rate_limits(raw: str) -> RateLimits:
    tiers = {f.name for f in fields(RateLimits)}
    limits: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        tier, sep, number = item.partition("=")
        if not sep or tier.strip() not in tiers:
            raise ValueError(f"expected tier=limit with tiers {', '.join(sorted(tiers))}")
        limits[tier.strip()] = _positive_int(number)
    return RateLimits(**limits)


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value


def _postgres_url(raw: str) -> str | None:
    """A libpq URL; the message never repeats the value (it may hold a password)."""
    value = raw.strip()
    if not value:
        return None
    example = "expected postgresql://user:password@host:5432/database"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (parsing it is the check)
    except ValueError:
        raise ValueError(f"{example} (the URL does not parse)") from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"{example} (the scheme is {parts.scheme or 'missing'!r})")
    return value


# The original DebugFlow's default for both models (backend/src/services/chatService.js).
ORIGINAL_MODEL = "deepseek-ai/DeepSeek-V3.2:fireworks-ai"
# The original's variable names, read when ours are unset (ours win), with a warning.
OLD_NAMES = {"HUGGINGFACE_CHAT_MODEL": "HF_MODEL", "HUGGINGFACE_FAST_MODEL": "HF_FAST_MODEL"}


def _with_old_names(env: Mapping[str, str]) -> Mapping[str, str]:
    renamed = {}
    for old, new in OLD_NAMES.items():
        if old not in env:
            continue
        if new in env:
            log.warning("%s is ignored: %s is set and wins", old, new)
        else:
            log.warning("%s is the original DebugFlow's name; read as %s (rename it)", old, new)
            renamed[new] = env[old]
    return {**env, **renamed} if renamed else env


def _setting(env: str, parse: Callable[[str], Any], default: Any, doc: str) -> Any:
    return field(default=default, metadata={"env": env, "parse": parse, "doc": doc})


@dataclass(frozen=True, slots=True)
class Settings:
    """All configuration of the service; see README's Configuration table."""

    host: str = _setting("HOST", _text, "127.0.0.1", "Address `serve` listens on.")
    port: int = _setting("PORT", _port, 8080, "Port `serve` listens on.")
    log_level: str = _setting(
        "LOG_LEVEL", _choice(("DEBUG", "INFO", "WARNING", "ERROR")), "INFO", "Log level."
    )
    database_url: str | None = _setting(
        "DATABASE_URL",
        _postgres_url,
        None,
        "PostgreSQL URL. Unset: `serve` starts an embedded server under .data/.",
    )
    database_secret_arn: str | None = _setting(
        "DATABASE_SECRET_ARN",
        _optional_text,
        None,
        "Secret with the service's database `username`/`password` (on the stack: its own "
        "DML-only login), read on first connection.",
    )
    database_ssl: str = _setting(
        "DATABASE_SSL",
        _choice(SSL_MODES),
        "prefer",
        "TLS mode for PostgreSQL; `verify-full` (RDS) also checks the server's certificate "
        "and name against DATABASE_SSL_ROOT_CERT.",
    )
    database_ssl_root_cert: str | None = _setting(
        "DATABASE_SSL_ROOT_CERT",
        _pem_file,
        None,
        "CA bundle (PEM) for `verify-ca`/`verify-full`. Unset: AWS's RDS bundle in the package.",
    )
    database_pool_max: int | None = _setting(
        "DATABASE_POOL_MAX",
        _positive_int,
        None,
        "Pool size. Unset: 2 on Lambda (a container serves one request at a time), 10 for `serve`.",
    )
    database_connect_timeout: float = _setting(
        "DATABASE_CONNECT_TIMEOUT", _positive_float, 5.0, "Seconds to connect."
    )
    database_acquire_timeout: float = _setting(
        "DATABASE_ACQUIRE_TIMEOUT",
        _positive_float,
        10.0,
        "Seconds a query waits for a free pooled connection before a 503.",
    )
    database_statement_timeout_ms: int = _setting(
        "DATABASE_STATEMENT_TIMEOUT_MS",
        _positive_int,
        15000,
        "Statement timeout in milliseconds: the server's, sent at connect, with "
        "DATABASE_POOLER=none (behind a pooler: on the database role, docs/deploy.md); "
        "the client cancels a query 1 s past it either way.",
    )
    migrate_on_start: bool = _setting(
        "MIGRATE_ON_START",
        _bool,
        False,
        "Apply pending migrations on first connection (`make dev`); otherwise the service "
        "checks the schema and answers 503 while migrations are missing.",
    )
    # Many containers, one database, a pooler between: docs/deploy.md, "Connection pooling".
    database_pooler: str = _setting(
        "DATABASE_POOLER",
        _choice(POOLERS),
        "none",
        "`transaction` behind a transaction-mode pooler (RDS Proxy, pgbouncer): no statement "
        "cache, no startup parameters; `none` connects to PostgreSQL directly.",
    )
    database_idle_timeout: float | None = _setting(
        "DATABASE_IDLE_TIMEOUT",
        _non_negative_float,
        None,
        "Seconds an unused pooled connection stays open; 0: until the Lambda invocation ends "
        "(a frozen container runs no timer). Unset: 0 on Lambda, 240 for `serve`.",
    )
    # Pasted logs are often tens of kilobytes; 2 MiB takes a 1 MB paste with room for
    # JSON escaping, and stays clear of Lambda's 6 MB invocation payload once the
    # Function URL has escaped the body into its event a second time.
    max_body_bytes: int = _setting(
        "MAX_BODY_BYTES", _positive_int, 2 * 1024 * 1024, "Largest request body; larger gets 413."
    )
    cors_origins: tuple[str, ...] = _setting(
        "CORS_ORIGINS",
        _origins,
        ("http://localhost:3000",),
        "Comma-separated allowed origins (credentials allowed, no wildcard).",
    )
    firebase_project_id: str | None = _setting(
        "FIREBASE_PROJECT_ID",
        _optional_text,
        None,
        "Firebase project whose ID tokens are accepted. Unset: every token is refused.",
    )
    firebase_certs_url: str = _setting(
        "FIREBASE_CERTS_URL", _url, FIREBASE_CERTS_URL, "Google's token-signing certificates."
    )
    firebase_certs_timeout: float = _setting(
        "FIREBASE_CERTS_TIMEOUT",
        _positive_float,
        5.0,
        "Seconds one fetch of the token-signing certificates may take (tests set it short).",
    )
    firebase_auth_emulator_host: str | None = _setting(
        "FIREBASE_AUTH_EMULATOR_HOST",
        _optional_text,
        None,
        "Accept the Auth emulator's unsigned tokens (local only: refused on Lambda and when "
        "HOST is not a loopback address).",
    )
    rate_limits: RateLimits = _setting(  # noqa: RUF009 (RateLimits is frozen)
        "RATE_LIMITS",
        _rate_limits,
        DEFAULT_RATE_LIMITS,
        "Chat requests per rolling 24 h by tier, e.g. `free=100,pro=2000`.",
    )
    hf_api_key: str | None = _setting(
        "HUGGINGFACE_API_KEY",
        _optional_text,
        None,
        "HuggingFace token. Unset: the labelled offline model answers.",
    )
    hf_base_url: str = _setting(
        "HF_BASE_URL", _url, "https://router.huggingface.co", "HuggingFace inference router."
    )
    hf_model: str = _setting(
        "HF_MODEL",
        _text,
        ORIGINAL_MODEL,
        "Model for answers (the original's; HUGGINGFACE_CHAT_MODEL is read too).",
    )
    hf_fast_model: str = _setting(
        "HF_FAST_MODEL",
        _text,
        ORIGINAL_MODEL,
        "Model for titles, summaries, memory suggestions and search decisions "
        "(HUGGINGFACE_FAST_MODEL is read too).",
    )
    hf_fallback_model: str | None = _setting(
        "HF_FALLBACK_MODEL",
        _optional_text,
        "meta-llama/Llama-3.1-8B-Instruct",
        "Model that answers once when HF_MODEL fails before its first token (429, 5xx, "
        "timeout, unreachable); empty: no second attempt.",
    )
    hf_max_output_tokens: int = _setting(
        "HF_MAX_OUTPUT_TOKENS",
        _positive_int,
        65536,
        "Longest answer in tokens (the original's); less when the context window is shorter.",
    )
    hf_context_tokens: int = _setting(
        "HF_CONTEXT_TOKENS",
        _positive_int,
        163840,
        "The chat models' context window in tokens: prompt and answer together (DeepSeek-V3.2's).",
    )
    hf_embed_model: str = _setting(
        "HF_EMBED_MODEL",
        _text,
        "sentence-transformers/all-MiniLM-L6-v2",
        "Feature-extraction model (384 dimensions).",
    )
    hf_connect_timeout: float = _setting(
        "HF_CONNECT_TIMEOUT", _positive_float, 10.0, "Seconds to reach HuggingFace."
    )
    hf_read_timeout: float = _setting(
        "HF_READ_TIMEOUT", _positive_float, 30.0, "Longest silence from the model, in seconds."
    )
    pinecone_api_key: str | None = _setting(
        "PINECONE_API_KEY",
        _optional_text,
        None,
        "Pinecone key. Unset: pgvector in the same PostgreSQL is the index.",
    )
    pinecone_index_host: str | None = _setting(
        "PINECONE_INDEX_HOST", _optional_text, None, "Pinecone index host (data plane URL)."
    )
    tavily_api_key: str | None = _setting(
        "TAVILY_API_KEY",
        _optional_text,
        None,
        "Tavily key: chat may search the web (with the platform's `web_search_enabled` "
        "setting on and a HuggingFace model). Unset: never searches.",
    )
    tavily_base_url: str = _setting(
        "TAVILY_BASE_URL", _url, "https://api.tavily.com", "Tavily's search API."
    )
    tavily_timeout: float = _setting(
        "TAVILY_TIMEOUT",
        _positive_float,
        25.0,
        "Seconds a web search may take; past that the answer goes on without it.",
    )
    context_token_budget: int = _setting(
        "CONTEXT_TOKEN_BUDGET",
        _positive_int,
        6000,
        "Prompt budget in tokens (4 characters each).",
    )
    app_secrets_arn: str | None = _setting(
        "APP_SECRETS_ARN",
        _optional_text,
        None,
        "Secret (JSON) holding HUGGINGFACE_API_KEY, PINECONE_API_KEY, FIREBASE_PROJECT_ID, "
        "TAVILY_API_KEY; read on first use where those variables are unset.",
    )
    secrets_extension_port: int = _setting(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
        _port,
        2773,
        "Port of the AWS Parameters and Secrets Lambda Extension.",
    )
    database_owner_secret_arn: str | None = _setting(
        "DATABASE_OWNER_SECRET_ARN",
        _optional_text,
        None,
        "Secret with the schema owner's `username`/`password` (RDS's master user), for the "
        "migrate step only; requests connect with DATABASE_SECRET_ARN's DML-only login.",
    )
    secrets_manager_endpoint: str | None = _setting(
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        lambda raw: _url(raw) if raw.strip() else None,
        None,
        "Secrets Manager endpoint for the re-read after the database refused a password "
        "(past the extension's cache). Unset: the secret's regional endpoint.",
    )
    on_lambda: bool = _setting(
        "AWS_LAMBDA_RUNTIME_API", lambda raw: bool(raw.strip()), False, "Set by Lambda itself."
    )
    # Metrics (handler/metrics.py): CloudWatch Embedded Metric Format lines on stdout.
    metrics: str = _setting(
        "METRICS",
        _choice(("auto", "emf", "off")),
        "auto",
        "`emf`: write CloudWatch metric lines to stdout; `auto`: only on Lambda.",
    )
    function_name: str = _setting(
        "AWS_LAMBDA_FUNCTION_NAME",
        lambda raw: raw.strip() or "debugflow",
        "debugflow",
        "Set by Lambda itself; the metrics' `Service` dimension.",
    )

    @property
    def database_pool_size(self) -> int:
        """DATABASE_POOL_MAX, or the default for the mode (measured: bench/rest_throughput.py)."""
        if self.database_pool_max is not None:
            return self.database_pool_max
        return 2 if self.on_lambda else 10

    @property
    def database_idle_seconds(self) -> float:
        """DATABASE_IDLE_TIMEOUT, or the default for the mode: a frozen Lambda container would
        keep its connections for as long as it sleeps, so there they go when it idles."""
        if self.database_idle_timeout is not None:
            return self.database_idle_timeout
        return 0.0 if self.on_lambda else 240.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = _with_old_names(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            raw = env.get(name)
            if raw is None or f.name in overrides:
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc}") from None
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.on_lambda and self.firebase_auth_emulator_host:
            raise SettingsError(
                "FIREBASE_AUTH_EMULATOR_HOST: the Auth emulator's unsigned tokens are refused "
                "on Lambda; unset it"
            )
        if self.on_lambda and not self.database_url:
            raise SettingsError("DATABASE_URL: required on Lambda")
        if self.pinecone_api_key and not self.pinecone_index_host:
            raise SettingsError("PINECONE_INDEX_HOST: required when PINECONE_API_KEY is set")
        if self.context_token_budget >= self.hf_context_tokens:
            raise SettingsError(
                "CONTEXT_TOKEN_BUDGET: must be below HF_CONTEXT_TOKENS (the answer needs room)"
            )

    @classmethod
    def documented(cls) -> list[tuple[str, str, str]]:
        """(variable, default, description) for every setting, for the README."""
        return [(f.metadata["env"], _show(f.default), f.metadata["doc"]) for f in fields(cls)]


def _show(default: Any) -> str:
    if default is None:
        return ""
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, tuple):
        return ",".join(default)
    return str(default)
