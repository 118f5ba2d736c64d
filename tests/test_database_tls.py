"""DATABASE_SSL=verify-full/verify-ca against a real PostgreSQL serving TLS.

The server's certificate names `localhost` and is signed by a CA made for the
test: the right CA and name connect; the RDS bundle (another CA) and a name
the certificate does not carry are refused before any password is sent.
"""

import ssl

import pytest
from cryptography import x509

from handler.db.pool import Database
from handler.db.tls import RDS_BUNDLE, ssl_option
from handler.secrets import Secrets
from handler.settings import Settings, SettingsError
from tests.tcp_postgres import ADMIN_PASSWORD, start

IN_TLS = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="module")
def server():
    running = start()
    yield running.server
    running.stop()


@pytest.fixture
async def connect(server):
    """Open the app's pool to `host` with a TLS mode and CA file; answer whether TLS is on."""
    databases: list[Database] = []

    async def run(host: str, mode: str, root_cert: str | None) -> bool:
        url = f"postgresql://postgres:{ADMIN_PASSWORD}@{host}:{server.port}/postgres"
        settings = Settings.from_env(
            {}, database_url=url, database_ssl=mode, database_ssl_root_cert=root_cert
        )
        database = Database(settings, Secrets(settings))
        databases.append(database)
        return await (await database.pool()).fetchval(IN_TLS)

    yield run
    for database in databases:
        await database.close()


async def test_verify_full_with_the_servers_ca_connects(connect, server):
    assert await connect("localhost", "verify-full", str(server.ca_file)) is True


async def test_verify_full_refuses_a_server_the_rds_bundle_did_not_sign(connect):
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        await connect("localhost", "verify-full", None)  # None: the shipped RDS bundle


async def test_verify_full_refuses_a_name_the_certificate_does_not_carry(connect, server):
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        await connect("127.0.0.1", "verify-full", str(server.ca_file))


async def test_verify_ca_checks_the_ca_but_not_the_name(connect, server):
    assert await connect("127.0.0.1", "verify-ca", str(server.ca_file)) is True
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect("127.0.0.1", "verify-ca", None)


async def test_require_encrypts_without_verifying(connect):
    assert await connect("127.0.0.1", "require", None) is True


def test_the_shipped_bundle_is_awss_rds_root_cas():
    certificates = x509.load_pem_x509_certificates(RDS_BUNDLE.read_bytes())
    assert len(certificates) > 50
    for certificate in certificates:
        subject = certificate.subject.rfc4514_string()
        assert "Amazon RDS" in subject and certificate.issuer == certificate.subject, subject
        assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    context = ssl_option("verify-full", None)
    assert context.cert_store_stats()["x509_ca"] == len(certificates)  # nothing else trusted
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED


def test_plain_modes_pass_through_to_asyncpg():
    for mode in ("disable", "prefer", "require"):
        assert ssl_option(mode, None) == mode


def test_a_missing_root_cert_file_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="DATABASE_SSL_ROOT_CERT: no such file"):
        Settings.from_env({"DATABASE_SSL_ROOT_CERT": str(tmp_path / "nope.pem")})
