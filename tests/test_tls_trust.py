"""The package's hashed CA directory: OpenSSL's own names, and verification intact.

On Lambda the runtime points OpenSSL at the directory build.py makes
(SSL_CERT_DIR, with SSL_CERT_FILE naming no file) before aiohttp is imported.
Proven here through that same code: a server whose CA is in the directory is
accepted, one signed by any other CA is refused.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import sys
from base64 import b64decode
from pathlib import Path

import certifi
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.x509.oid import NameOID

import build
from tests import certificates


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def make_server_cert(ca_key, ca: x509.Certificate, directory: Path) -> ssl.SSLContext:
    key, certificate = certificates.make_server(ca_key, ca, addresses=("127.0.0.1",))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificates.write_server_files(key, certificate, directory))
    return context


def _openssl_hash(pem: bytes) -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to check the hash names (Debian: apt-get install openssl)")
    result = subprocess.run(
        [openssl, "x509", "-noout", "-subject_hash"], input=pem, capture_output=True, check=True
    )
    return result.stdout.decode().strip()


def test_hash_names_are_openssls_for_every_ca_and_awkward_names():
    bundle = Path(certifi.where()).read_bytes()
    pems = [m.group(0) for m in build.PEM_CERT.finditer(bundle)]
    assert len(pems) > 100
    # Case, spacing, several attributes and string types that OpenSSL canonicalises.
    awkward = _name(
        (NameOID.COUNTRY_NAME, "DE"),
        (NameOID.ORGANIZATION_NAME, "  Mixed   CASE\tOrg  "),
        (NameOID.COMMON_NAME, "Ünïcode  Root CA"),
        (NameOID.EMAIL_ADDRESS, "Admin@Example.COM"),
    )
    pems.append(certificates.pem(certificates.make_ca(awkward)[1]))
    for pem in pems:
        der = b64decode(b"".join(pem.splitlines()[1:-1]))
        assert build.subject_hash(der) == _openssl_hash(pem), pem[:200]


def test_same_subject_hashes_get_numbered_files(tmp_path):
    name = _name((NameOID.COMMON_NAME, "Twin CA"))
    first, second = (certificates.pem(certificates.make_ca(name)[1]) for _ in range(2))
    assert build.hashed_ca_directory(first + second + first, tmp_path / "cas") == 2
    stem = _openssl_hash(first)
    assert sorted(p.name for p in (tmp_path / "cas").iterdir()) == [f"{stem}.0", f"{stem}.1"]


CLIENT = """
import asyncio, os, sys
import handler.lambda_runtime.__main__  # what the exec wrapper runs, up to the app
import aiohttp

assert os.environ["SSL_CERT_DIR"].endswith("ca-certificates"), os.environ
assert not os.path.exists(os.environ["SSL_CERT_FILE"])

async def fetch(url):
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(url) as response:
                return str(response.status)
        except aiohttp.ClientConnectorCertificateError:
            return "refused"

async def main():
    print(" ".join([await fetch(url) for url in sys.argv[1:]]))

asyncio.run(main())
"""


async def _https_site(context: ssl.SSLContext) -> tuple[web.AppRunner, str]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    return runner, f"https://localhost:{runner.addresses[0][1]}/"


def _task_root_and_servers(tmp_path: Path) -> tuple[Path, ssl.SSLContext, ssl.SSLContext]:
    """A task root whose CA directory has certifi's CAs plus ours, and two servers:
    one signed by our CA, one by a CA that is nowhere in the directory."""
    trusted_key, trusted = certificates.make_ca(_name((NameOID.COMMON_NAME, "Bench Trusted Root")))
    other_key, other = certificates.make_ca(_name((NameOID.COMMON_NAME, "Unknown Root")))
    task_root = tmp_path / "task"
    bundle = Path(certifi.where()).read_bytes() + certificates.pem(trusted)
    build.hashed_ca_directory(bundle, task_root / build.CA_DIR)
    good = make_server_cert(trusted_key, trusted, tmp_path / "good")
    bad = make_server_cert(other_key, other, tmp_path / "bad")
    return task_root, good, bad


async def test_packaged_trust_accepts_its_cas_and_refuses_others(tmp_path, repo_root):
    task_root, good, bad = _task_root_and_servers(tmp_path)
    runners = []
    try:
        urls = []
        for context in (good, bad):
            runner, url = await _https_site(context)
            runners.append(runner)
            urls.append(url)
        env = {"PATH": "/usr/bin:/bin", "LAMBDA_TASK_ROOT": str(task_root)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLIENT,
            *urls,
            cwd=repo_root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert out.decode().split() == ["200", "refused"]
    finally:
        for runner in runners:
            await runner.cleanup()
