"""A PostgreSQL that checks what conftest's cannot: passwords and TLS.

conftest's server (pgserver) trusts every local socket connection, so a wrong
password still gets in, and its build has no TLS at all. This one is the
system's PostgreSQL (Debian's `postgresql` package): it listens on 127.0.0.1
only, requires scram-sha-256 passwords as RDS does, and serves TLS with a
certificate for `localhost` signed by a CA made here.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests import certificates

ADMIN_PASSWORD = "admin-password-of-the-test-server"
SERVER_NAME = "localhost"  # the certificate's only name: 127.0.0.1 does not match it


@dataclass
class TcpPostgres:
    port: int
    ca_file: Path

    def url(self, database: str = "postgres", *, user: str = "postgres", password: str = "") -> str:
        login = f"{user}:{password}" if password else user
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}"

    def admin_url(self, database: str = "postgres") -> str:
        return self.url(database, password=ADMIN_PASSWORD)


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate for `localhost`, server key)."""
    ca_key, ca = certificates.make_ca(certificates.common_name("DebugFlow test CA"))
    key, server = certificates.make_server(ca_key, ca, SERVER_NAME)
    cert_file, key_file = certificates.write_server_files(key, server, directory)
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(certificates.pem(ca))
    return ca_file, cert_file, key_file


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_binaries() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(
            "these tests need a PostgreSQL server built with TLS: apt-get install postgresql"
        )
    return Path(initdb).resolve().parent


def _version(path: str) -> int:
    return int(Path(path).parts[-3])


@dataclass
class Running:
    server: TcpPostgres
    base: Path
    user: str | None
    bindir: Path

    def stop(self) -> None:
        data = self.base / "data"
        _run(self, "pg_ctl", "-D", str(data), "-w", "-m", "fast", "stop")
        shutil.rmtree(self.base)


def _run(running: Running, program: str, *args: str) -> None:
    result = subprocess.run(
        [str(running.bindir / program), *args],
        user=running.user,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        log = running.base / "data" / "log"
        detail = log.read_text() if log.exists() else result.stderr
        raise RuntimeError(f"{program} failed:\n{detail}")


def start() -> Running:
    """Initialise and start a server in a new private folder; stop it with `.stop()`."""
    base = Path(tempfile.mkdtemp(prefix="debugflow-pg-"))
    user = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: Debian's package made the `postgres` user.
        import pwd

        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)  # its own folder: no parent is widened
    running = Running(
        TcpPostgres(port=_free_port(), ca_file=base / "ca.crt"), base, user, server_binaries()
    )
    password_file = base / "admin-password"
    password_file.write_text(ADMIN_PASSWORD)
    _, cert_file, key_file = make_tls_files(base)
    if user is not None:
        for path in (password_file, cert_file, key_file):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    key_file.chmod(0o600)  # PostgreSQL refuses a key others can read
    data = base / "data"
    _run(
        running,
        "initdb",
        "-D",
        str(data),
        "--auth=scram-sha-256",
        "-U",
        "postgres",
        f"--pwfile={password_file}",
    )
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {running.server.port}\n"
            "unix_socket_directories = ''\n"
            f"ssl = on\nssl_cert_file = '{cert_file}'\nssl_key_file = '{key_file}'\n"
        )
    (data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")
    _run(running, "pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"), "start")
    return running
