"""Command line: `python -m handler serve|migrate`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys

from handler import logs
from handler.settings import Settings, SettingsError

log = logging.getLogger("handler")


def _serve(settings: Settings) -> None:
    from aiohttp import web

    from handler.app import build_app

    if not settings.database_url:
        from handler.db import embedded

        url = embedded.start()
        log.info(
            "embedded PostgreSQL started",
            extra={"url": url, "data": str(embedded.DEFAULT_DATA_DIR)},
        )
        settings = dataclasses.replace(settings, database_url=url, migrate_on_start=True)
    log.info("serving", extra={"url": f"http://{settings.host}:{settings.port}"})
    web.run_app(build_app(settings), host=settings.host, port=settings.port, print=None)


async def _migrate(settings: Settings) -> None:
    import asyncpg

    from handler.db.migrate import migrate

    if not settings.database_url:
        raise SettingsError("DATABASE_URL: required by `migrate`")
    conn = await asyncpg.connect(
        settings.database_url, ssl=settings.database_ssl, timeout=settings.database_connect_timeout
    )
    try:
        applied = await migrate(conn)
    finally:
        await conn.close()
    print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handler", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the service on HOST:PORT")
    commands.add_parser("migrate", help="apply pending schema migrations to DATABASE_URL")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        logs.configure(settings.log_level)
        if args.command == "serve":
            _serve(settings)
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
