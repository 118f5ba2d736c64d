"""asyncpg's `ssl` argument for DATABASE_SSL, verifying the server when asked.

`verify-ca` and `verify-full` trust only the CAs of DATABASE_SSL_ROOT_CERT or,
unset, AWS's RDS bundle shipped next to this module: rds-global-bundle.pem is
https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem unchanged
(102 self-signed "Amazon RDS ... Root CA" certificates, all regions, valid to
2061 and later; see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html).
To refresh it, download that URL over it.

An RDS Proxy presents an ACM certificate (Amazon Trust Services), not an RDS
one (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.howitworks.html#rds-proxy-security.tls):
DATABASE_SSL_ROOT_CERT then names amazon-root-cas.pem, also shipped here:
the five roots https://www.amazontrust.com/repository/ lists (Amazon Root CA
1-4, Starfield Services Root Certificate Authority - G2), taken from certifi
and checked against the SHA-256 of each public key published there
(tests/test_database_tls.py repeats the check).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

RDS_BUNDLE = Path(__file__).with_name("rds-global-bundle.pem")
AMAZON_ROOT_CAS = Path(__file__).with_name("amazon-root-cas.pem")
VERIFYING = ("verify-ca", "verify-full")


def ssl_option(mode: str, root_cert: str | None) -> ssl.SSLContext | str:
    """The plain modes pass through; the verifying ones get a context of our CAs only."""
    if mode not in VERIFYING:
        return mode
    import ssl

    # With a cafile, create_default_context trusts that file alone, not the system store.
    context = ssl.create_default_context(cafile=root_cert or str(RDS_BUNDLE))
    context.check_hostname = mode == "verify-full"  # verify-ca: any host the CA signed
    return context
