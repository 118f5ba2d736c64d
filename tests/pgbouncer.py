"""pgbouncer in transaction mode, with its default settings, in front of a PostgreSQL.

The closest local stand-in for RDS Proxy's multiplexing: consecutive
transactions of one client run on whichever server connection is free, and
startup parameters other than a few are refused. The configuration holds only
what is needed (where to listen, whom to let in, the pool mode and size);
every limit (max_client_conn 100, query_wait_timeout 120 s, ...) is pgbouncer's
default. Debian's `pgbouncer` package; `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PROGRAM = "pgbouncer"
# pgbouncer refuses to run as root: it then runs as the user that owns the server's
# socket folder (only that user may enter pgserver's), or as this one.
UNPRIVILEGED = "nobody"
STARTUP_SECONDS = 30


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen
    base: Path

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_address(postgres_url: str) -> tuple[str, int]:
    """(host or socket folder, port) of a libpq URL such as pgserver's socket URL."""
    parts = urlsplit(postgres_url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    return host, parts.port or 5432


def start(postgres_url: str, *, pool_size: int = 10, user: str = "postgres") -> PgBouncer:
    """Start pgbouncer for every database of the server at `postgres_url` (trusted users)."""
    binary = shutil.which(PROGRAM) or shutil.which(PROGRAM, path="/usr/sbin")
    if binary is None:
        raise RuntimeError("these tests need pgbouncer: apt-get install pgbouncer")
    host, port = server_address(postgres_url)
    base = Path(tempfile.mkdtemp(prefix="debugflow-pgbouncer-"))
    listen = _free_port()
    (base / "userlist.txt").write_text(f'"{user}" ""\n')
    (base / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {base / 'userlist.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\n"
    )
    command = [binary, str(base / "pgbouncer.ini")]
    if os.geteuid() == 0:
        owner = Path(host).owner() if host.startswith("/") else UNPRIVILEGED
        for path in (base, *base.iterdir()):
            shutil.chown(path, owner)
        command[1:1] = ["-u", owner]
    log = (base / "pgbouncer.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(listen, process, base)
    try:
        _wait_for_port(listen, process, base / "pgbouncer.log")
    except BaseException:
        bouncer.stop()
        raise
    return bouncer


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    """Until pgbouncer accepts connections (it binds after reading its files)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not listen: {log.read_text()}") from None
            time.sleep(0.02)  # polling a port: there is nothing to wait on instead
