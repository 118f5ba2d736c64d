"""The service's own database login: rows yes, schema no.

Run by the migrate step, as the owner (RDS's master user), after the
migrations: it creates the login role if needed, sets its password, and grants
it exactly what requests need, which is SELECT, INSERT, UPDATE and DELETE on
the application's tables (only SELECT on schema_migrations) and the sequences
behind identity columns. It owns nothing, so PostgreSQL refuses it every
CREATE, ALTER and DROP, and it may not create temporary tables (which would
also pin an RDS Proxy connection). Running it again re-grants tables added by
newer migrations and sets the password again (after it was rotated).

The password travels as a SCRAM-SHA-256 verifier computed here, the way libpq's
PQencryptPasswordConn does (RFC 5802, RFC 7677): the plain password never
reaches the server, so no server log can show it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
DML = "SELECT, INSERT, UPDATE, DELETE"


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """What PostgreSQL stores for a scram-sha-256 password."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


async def ensure_app_role(conn: asyncpg.Connection, username: str, password: str) -> None:
    """Create or update `username` as the service's login, in one transaction."""
    if not password:
        raise ValueError("the service's login has an empty password")
    async with conn.transaction():
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", username)
        verb = "ALTER" if exists else "CREATE"
        statements = [
            # %I and %L quote the name and the verifier as PostgreSQL itself would.
            await conn.fetchval(
                "SELECT format('%s ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text, $3::text)",
                verb,
                username,
                scram_verifier(password),
            ),
            await conn.fetchval(
                "SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), $1::text)",
                username,
            ),
            await conn.fetchval(
                "SELECT format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, %I', "
                "current_database(), $1::text)",
                username,
            ),
        ]
        for statement in statements:
            await conn.execute(statement)
        role = await conn.fetchval("SELECT quote_ident($1)", username)
        await conn.execute(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role}")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await conn.execute(f"GRANT {DML} ON ALL TABLES IN SCHEMA public TO {role}")
        await conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM {role}")
        await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        # A role made by someone else may carry more than a login (CREATE ROLE's defaults
        # carry none); only a superuser could take it away, so refuse to go on.
        powers = await conn.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles"
            " WHERE rolname = $1",
            username,
        )
        granted = [name.removeprefix("rol") for name, value in powers.items() if value]
        if granted:
            raise PermissionError(
                f"role {username} may {', '.join(granted)}: give the service a role without"
            )
