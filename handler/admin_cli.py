"""Operators' commands on the database: `python -m handler admin grant ROLE UID`
sets a role, and `migrate_database` is what `python -m handler migrate` runs.

Both run here on the command line and, unchanged, inside the deployed function
when a management event asks for them (routes/manage.py, `make admin`).

A grant is how the first super user is made (over HTTP only the super user's
own transfer makes another). It connects like the service itself
(DATABASE_URL, DATABASE_SSL, DATABASE_SECRET_ARN). There is one super user at
a time: granting super_user to another account needs `--replace`, which makes
the current one an admin in the same transaction. Every grant is audited with
the actor `operator`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import sys
from typing import TYPE_CHECKING

from handler import dev_database
from handler.roles import ROLES, SUPER_USER
from handler.settings import Settings, SettingsError

if TYPE_CHECKING:
    import asyncpg

    from handler.secrets import Secrets


class GrantRefused(Exception):
    """The grant was not made; the message says why."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    admin = commands.add_parser(
        "admin",
        help="operators' tasks on DATABASE_URL, or make dev's database (roles)",
        description="Operators' tasks on the database DATABASE_URL names; when it is unset, "
        f"on the one a running `make dev` in this folder recorded in {dev_database.RECORD}.",
    )
    tasks = admin.add_subparsers(dest="task", required=True)
    grant = tasks.add_parser(
        "grant",
        help="give a signed-in-once user a role: user, admin or super_user",
        description="Give a user who signed in once a role: user, admin or super_user. "
        "The only way to make the first super user; audited. The database: DATABASE_URL, or "
        f"when it is unset the one a running `make dev` in this folder recorded in "
        f"{dev_database.RECORD} (mode 0600).",
        epilog="example:\n"
        "  python -m handler admin grant super_user k3Jf9sQ2xYbA   # beside make dev\n"
        "  DATABASE_URL=postgresql://app@db.internal/debugflow "
        "python -m handler admin grant admin k3Jf9sQ2xYbA",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    grant.add_argument("role", choices=ROLES)
    grant.add_argument("uid", help="the user's Firebase uid (see /api/user/profile/full `id`)")
    grant.add_argument(
        "--replace",
        action="store_true",
        help="super_user only: the current super user becomes an admin",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        print(asyncio.run(_grant_with_settings(settings, args.role, args.uid, args.replace)))
    except GrantRefused as exc:
        print(f"admin grant: {exc}", file=sys.stderr)
        return 1
    return 0


async def _grant_with_settings(settings: Settings, role: str, uid: str, replace: bool) -> str:
    from handler.db.pool import Database
    from handler.secrets import Secrets

    url = None
    if not settings.database_url:
        url = dev_database.recorded()
        if url is None:
            raise GrantRefused(
                f"DATABASE_URL is not set, and no `make dev` recorded its database in "
                f"{dev_database.RECORD} here: which database?"
            )
        settings = dataclasses.replace(settings, database_url=url)
    database = Database(settings, Secrets(settings))
    try:
        return await grant(await database.pool(), role, uid, replace=replace)
    except OSError as exc:  # refused, unknown host, ...
        where = "DATABASE_URL" if url is None else f"{dev_database.RECORD} (is make dev running?)"
        raise GrantRefused(f"cannot reach the database of {where}: {exc}") from None
    finally:
        await database.close()


async def migrate_database(settings: Settings, secrets: Secrets) -> str:
    """Apply pending migrations over a connection of its own, then keep the service's
    login in step with the schema; says what was applied.

    With DATABASE_OWNER_SECRET_ARN (the stack sets it), the migrations run as the schema
    owner and the service's own login (DATABASE_SECRET_ARN) is created or updated with DML
    only; without it, they run with the service's login, as `make dev` does.
    """
    from handler.db.app_role import ensure_app_role
    from handler.db.connect import Connector
    from handler.db.migrate import migrate

    if not settings.database_url:
        raise SettingsError("DATABASE_URL: required by `migrate`")
    owner = await secrets.owner_credentials()
    connect = Connector(settings, secrets, login=owner)
    conn = await connect(settings.database_url, timeout=settings.database_connect_timeout)
    try:
        applied = await migrate(conn)
        login = await secrets.database_credentials() if owner else None
        if owner and login and login[0] != owner[0]:
            await ensure_app_role(conn, *login)
    finally:
        await conn.close()
    return f"applied: {', '.join(applied)}" if applied else "schema is up to date"


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "unknown"


async def grant(
    pool: asyncpg.Pool,
    role: str,
    uid: str,
    *,
    replace: bool = False,
    via: dict[str, str] | None = None,
) -> str:
    """Give `uid` the role, audited; returns what was done, or raises GrantRefused.

    `via` says where the command came from, for the audit entry (default: this
    machine's command line and login name).
    """
    import asyncpg

    from handler.store import admin as store
    from handler.store import audit

    if role not in ROLES:
        raise GrantRefused(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    details = via or {"via": "cli", "operator": _operator()}
    try:
        async with pool.acquire() as conn, conn.transaction():
            target = await store.locked_user(conn, uid)
            if target is None:
                raise GrantRefused(
                    f"no user {uid!r}: they must sign in once (the row is made then)"
                )
            if role == SUPER_USER and target["role"] != SUPER_USER:
                current = await store.locked_super_user(conn)
                if current is not None:
                    if not replace:
                        raise GrantRefused(
                            f"{current['email'] or current['id']} is the super user; "
                            "pass --replace to make them an admin and hand over"
                        )
                    await store.set_role(conn, current["id"], "admin")
                    await audit.record(
                        conn,
                        None,
                        audit.ROLE_CHANGED,
                        current["id"],
                        {"from": SUPER_USER, "to": "admin", "replaced_by": uid, **details},
                    )
            await store.set_role(conn, uid, role)
            await audit.record(
                conn, None, audit.ROLE_CHANGED, uid, {"from": target["role"], "to": role, **details}
            )
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError, asyncpg.CheckViolationError):
        raise GrantRefused(
            "the database schema is older than this code: run `python -m handler migrate` first"
        ) from None
    except asyncpg.UniqueViolationError:  # another grant made a super user meanwhile
        raise GrantRefused("another super user was made at the same time; try again") from None
    return f"{target['email'] or uid} ({uid}) is now {role} (was {target['role']})"
