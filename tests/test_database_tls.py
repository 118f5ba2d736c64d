"""DATABASE_SSL=verify-full/verify-ca against a real PostgreSQL serving TLS.

The server's certificate names `localhost` and is signed by a CA made for the
test: the right CA and name connect; the RDS bundle (another CA) and a name
the certificate does not carry are refused before any password is sent.
"""

import hashlib
import re
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from handler.db.pool import Database
from handler.db.tls import AMAZON_ROOT_CAS, RDS_BUNDLE, ssl_option
from handler.secrets import Secrets
from handler.settings import Settings, SettingsError
from tests.tcp_postgres import ADMIN_PASSWORD, start

# https://www.amazontrust.com/repository/: "SHA-256 Hash of Subject Public Key Information".
AMAZON_ROOTS = {
    "Amazon Root CA 1": "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2",
    "Amazon Root CA 2": "7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461",
    "Amazon Root CA 3": "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9",
    "Amazon Root CA 4": "f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5",
    "Starfield Services Root Certificate Authority - G2": (
        "2b071c59a0a0ae76b0eadb2bad23bad4580b69c3601b630c2eaf0613afa83f92"
    ),
}

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
            {},
            database_url=url,
            database_ssl=mode,
            database_ssl_root_cert=root_cert,
            migrate_on_start=True,  # an empty database: a container would refuse it
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


def test_the_shipped_proxy_roots_are_amazons_five():
    """Exactly the roots Amazon Trust Services lists, each key as published there."""
    certificates = x509.load_pem_x509_certificates(AMAZON_ROOT_CAS.read_bytes())
    found = {}
    for certificate in certificates:
        (name,) = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        key = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        found[name.value] = hashlib.sha256(key).hexdigest()
        assert certificate.issuer == certificate.subject
        assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert found == AMAZON_ROOTS
    context = ssl_option("verify-full", str(AMAZON_ROOT_CAS))
    assert context.cert_store_stats()["x509_ca"] == 5 and context.check_hostname


async def test_verify_full_through_amazons_roots_refuses_another_ca(connect):
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        await connect("localhost", "verify-full", str(AMAZON_ROOT_CAS))


def test_terraform_points_the_proxy_path_at_the_shipped_roots(repo_root):
    """The function's DATABASE_SSL_ROOT_CERT is the file's place in the package (/var/task)."""
    main = (repo_root / "terraform" / "main.tf").read_text()
    (path,) = re.findall(r'"/var/task/(handler/db/[^"]+)"', main)
    assert repo_root / path == AMAZON_ROOT_CAS
    assert re.search(r'DATABASE_SSL\s+=\s+"verify-full"', main)
