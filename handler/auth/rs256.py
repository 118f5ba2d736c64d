"""RS256 signatures (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 section 8.2.2),
checked against the RSA key of an X.509 certificate, as Google publishes the
keys that sign Firebase ID tokens.

Why not a library: google-auth checks through cryptography, and importing them
(x509 and the OpenSSL bindings) was most of what a cold container's first
signed-in request paid over its /health (bench/first_chat.py). Checking a
signature needs only the public key: one modular exponentiation, then the
comparison the RFC prescribes, of the whole recovered block against the one
expected. Nothing in the recovered block is parsed: lenient parsing there is
how PKCS#1 v1.5 signatures have been forged. tests/test_rs256.py holds it to
cryptography's and google-auth's verdicts.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from dataclasses import dataclass

from handler import der

# Google's keys are 2048-bit. Shorter ones are weak; longer ones, and exponents past
# 32 bits, would make each check slow (a 16,384-bit key with a huge exponent: 16 s).
MIN_BITS, MAX_BITS, MAX_EXPONENT_BITS = 2048, 4096, 32
_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # OID 1.2.840.113549.1.1.1
# DER of DigestInfo{sha256, NULL} up to the digest (RFC 8017 section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_BEGIN, _END = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"


@dataclass(frozen=True)
class PublicKey:
    modulus: int
    exponent: int

    @property
    def size(self) -> int:
        """The modulus, and so every signature, in bytes."""
        return (self.modulus.bit_length() + 7) // 8


@functools.lru_cache(maxsize=16)  # Google publishes two or three keys at a time
def certificate_key(pem: str) -> PublicKey:
    """The RSA public key of a PEM certificate; ValueError if it holds none we accept."""
    lines = pem.strip().splitlines()
    if len(lines) < 3 or lines[0].strip() != _BEGIN or lines[-1].strip() != _END:
        raise ValueError("not a PEM certificate")
    try:
        data = base64.b64decode("".join(line.strip() for line in lines[1:-1]), validate=True)
    except binascii.Error as exc:
        raise ValueError("not a PEM certificate") from exc
    tag, _, start, end = der.certificate_fields(data)[5]
    if tag != der.SEQUENCE:
        raise ValueError("no subject public key")
    algorithm, key_bits = _exactly(2, der.children(data, start, end))
    if algorithm[0] != der.SEQUENCE or key_bits[0] != der.BIT_STRING:
        raise ValueError("no subject public key")
    identifier = der.children(data, algorithm[2], algorithm[3])
    if not identifier or identifier[0][0] != der.OID:
        raise ValueError("not an RSA key")
    oid = identifier[0]
    if data[oid[2] : oid[3]] != _RSA_ENCRYPTION:
        raise ValueError("not an RSA key")
    if key_bits[2] == key_bits[3] or data[key_bits[2]] != 0:  # a whole number of bytes
        raise ValueError("malformed RSA key")
    (sequence,) = _exactly(1, der.children(data, key_bits[2] + 1, key_bits[3]))
    if sequence[0] != der.SEQUENCE:
        raise ValueError("malformed RSA key")
    modulus, exponent = (
        _integer(data, field) for field in _exactly(2, der.children(data, *sequence[2:]))
    )
    if (
        not MIN_BITS <= modulus.bit_length() <= MAX_BITS
        or not 3 <= exponent < modulus
        or exponent.bit_length() > MAX_EXPONENT_BITS
        or exponent % 2 == 0
    ):
        raise ValueError("unacceptable RSA key")
    return PublicKey(modulus, exponent)


def verify(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is the key's RS256 signature of `message`."""
    size = key.size
    if len(signature) != size:
        return False
    value = int.from_bytes(signature, "big")
    if value >= key.modulus:
        return False
    recovered = pow(value, key.exponent, key.modulus).to_bytes(size, "big")
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(recovered, expected)


def _exactly(count: int, fields: list) -> list:
    if len(fields) != count:
        raise ValueError("malformed RSA key")
    return fields


def _integer(data: bytes, field: tuple[int, int, int, int]) -> int:
    tag, _, start, end = field
    if tag != der.INTEGER or start == end:
        raise ValueError("malformed RSA key")
    return int.from_bytes(data[start:end], "big", signed=True)
