"""Command line: `python -m handler COMMAND`; `--help` lists the commands."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import ipaddress
import logging
import os
import sys

from handler import admin_cli, dev_database, logs
from handler.db.embedded import EmbeddedPostgresError
from handler.settings import Settings, SettingsError

log = logging.getLogger("handler")


def _listens_on_loopback_only(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name, or "" for every interface
        return False


class CommandError(Exception):
    """The command cannot go on; its message is one line saying what to do."""


def _serve(settings: Settings) -> None:
    from aiohttp import web

    from handler.app import create_app

    # Emulator mode accepts unsigned tokens for any account: only this machine may reach it.
    if settings.firebase_auth_emulator_host and not _listens_on_loopback_only(settings.host):
        raise SettingsError(
            f"HOST: {settings.host!r} is not a loopback address, and "
            "FIREBASE_AUTH_EMULATOR_HOST (emulator mode) lets anyone who reaches the "
            "server sign in as any user; listen on 127.0.0.1 or unset it"
        )
    settings = _with_database(settings)
    address = f"http://{settings.host}:{settings.port}"
    try:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            # Said once the socket is bound, so a taken port is not announced as serving.
            print=lambda _: log.info("serving", extra={"url": address}),
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"serve: {settings.host}:{settings.port} is already in use (another "
                "`make dev`?): stop it, or set PORT to another port"
            ) from None
        raise


def _with_database(settings: Settings) -> Settings:
    """The settings, with the embedded PostgreSQL started when DATABASE_URL is unset."""
    if settings.database_url:
        return settings
    from handler.db import embedded

    log.info("starting the embedded PostgreSQL (the first run creates it: a few seconds)")
    url = embedded.start()
    dev_database.record(url)
    log.info(
        "embedded PostgreSQL started",
        extra={"url": url, "recorded_in": str(dev_database.RECORD)},
    )
    return dataclasses.replace(settings, database_url=url, migrate_on_start=True)


async def _migrate(settings: Settings) -> None:
    from handler.secrets import Secrets

    # The service's own login and TLS: the secret's password, verify-full with the RDS CAs.
    try:
        print(await admin_cli.migrate_database(settings, Secrets(settings)))
    except OSError as exc:  # refused, unknown host, too many connections (DatabaseUnavailable)
        raise CommandError(
            f"migrate: cannot reach the database ({exc.strerror or exc}): check DATABASE_URL, "
            "or unset it to use make dev's embedded PostgreSQL"
        ) from None


def _index_logs(settings: Settings, path: str) -> int:
    from handler.chat import known_logs

    try:
        with open(path, encoding="utf-8") as lines:
            documents = known_logs.parse(lines)
    except (OSError, known_logs.BadLogEntry) as exc:
        print(f"index-logs: {path}: {exc}", file=sys.stderr)
        return 2
    from handler.chat.index import IndexUnavailable

    try:
        loaded = asyncio.run(_load_logs(_with_database(settings), documents))
    except (OSError, IndexUnavailable) as exc:  # connection refused, unknown host, ...
        reason = getattr(exc, "strerror", None) or type(exc.__cause__ or exc).__name__
        raise CommandError(
            f"index-logs: cannot reach the database ({reason}): "
            "check DATABASE_URL, or unset it to use make dev's embedded PostgreSQL"
        ) from None
    print(f"indexed {loaded} known logs")
    return 0


async def _load_logs(settings: Settings, documents: list) -> int:
    import aiohttp

    from handler.background import BackgroundTasks
    from handler.chat import known_logs
    from handler.chat.services import make_services
    from handler.db.pool import Database
    from handler.secrets import Secrets

    secrets = Secrets(settings)
    database = Database(settings, secrets)
    async with aiohttp.ClientSession() as http:
        services = make_services(settings, database, http, BackgroundTasks(), secrets)
        try:
            return await known_logs.load(services, documents)
        finally:
            await services.index.close()
            await database.close()


def _verify(url: str, token: str | None) -> int:
    from handler import verify

    checks = asyncio.run(verify.run(url, token))
    print(verify.table(checks))
    return 0 if all(c.ok for c in checks) else 1


def _emulator_token(uid: str) -> int:
    from handler.auth import emulator

    if emulator.signs_locally(os.environ):
        # `make emulate` verifies signatures as Lambda does, against its local key.
        try:
            print(emulator.signed_token(emulator.LOCAL_PROJECT, uid))
        except emulator.NoLocalKey as exc:
            print(f"emulator-token: {exc}", file=sys.stderr)
            return 2
        return 0
    project = os.environ.get("FIREBASE_PROJECT_ID")
    if not project:
        print("emulator-token: set FIREBASE_PROJECT_ID (the server's)", file=sys.stderr)
        return 2
    print(emulator.emulator_token(project, uid))
    return 0


def _pgadmin_servers(name: str) -> int:
    import json

    from handler.pgadmin import servers_json

    try:
        print(json.dumps(servers_json(json.load(sys.stdin), name), indent=2))
    except (ValueError, KeyError) as exc:
        print(f"pgadmin-servers: {exc}", file=sys.stderr)
        return 2
    return 0


def _command(commands: argparse._SubParsersAction, name: str, summary: str, example: str):
    """A subcommand whose --help says what it does and shows it in use."""
    return commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handler",
        description="The DebugFlow backend's commands. Settings come from the environment "
        "(README.md, Configuration).",
        epilog="example:\n  python -m handler serve          # what make dev runs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(
        commands,
        "serve",
        "run the service on HOST:PORT (the embedded PostgreSQL when DATABASE_URL is unset)",
        "PORT=8081 python -m handler serve",
    )
    _command(
        commands,
        "migrate",
        "apply pending schema migrations to DATABASE_URL, with the service's login and TLS",
        "DATABASE_URL=postgresql://app@db.internal:5432/debugflow python -m handler migrate",
    )
    verify = _command(
        commands,
        "verify",
        "check a deployment: health, database, internet, streaming, and a chat with --token",
        "python -m handler verify https://abc123.lambda-url.eu-west-1.on.aws --token $TOKEN",
    )
    verify.add_argument(
        "url", help="the Function URL (or http://127.0.0.1:9000 under make emulate)"
    )
    verify.add_argument("--token", help="a Firebase ID token: also run one real chat")
    servers = _command(
        commands,
        "pgadmin-servers",
        "print pgAdmin's servers.json from `terraform output -json` on stdin",
        "terraform -chdir=terraform output -json | python -m handler pgadmin-servers",
    )
    servers.add_argument("--name", default="DebugFlow", help="server name shown in pgAdmin")
    logs_parser = _command(
        commands,
        "index-logs",
        "load known logs (JSON Lines) into the vector index; an entry loaded again is replaced",
        "python -m handler index-logs known-logs.jsonl",
    )
    logs_parser.add_argument("file", help="one {title, content, url?, id?} object a line")
    token = _command(
        commands,
        "emulator-token",
        "print a token for trying the API locally: signed with make emulate's local key, or "
        "unsigned for a server with FIREBASE_AUTH_EMULATOR_HOST set (make dev)",
        'TOKEN=$(python -m handler emulator-token) && curl -H "Authorization: Bearer $TOKEN" '
        "localhost:8080/protected",
    )
    token.add_argument("--uid", default="dev-user", help="the user to sign in as")
    admin_cli.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "emulator-token":
        return _emulator_token(args.uid)
    if args.command == "verify":
        return _verify(args.url, args.token)
    if args.command == "pgadmin-servers":
        return _pgadmin_servers(args.name)
    try:
        settings = Settings.from_env()
        logs.configure(settings.log_level)
        if args.command == "serve":
            _serve(settings)
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "index-logs":
            return _index_logs(settings, args.file)
        elif args.command == "admin":
            return admin_cli.run(settings, args)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except EmbeddedPostgresError as exc:
        print(f"embedded PostgreSQL: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
