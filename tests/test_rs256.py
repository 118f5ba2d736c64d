"""Our RS256 check (handler/auth/rs256.py) against cryptography's and google-auth's."""

import base64
import datetime
import re
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.auth import rs256
from tests.standins.firebase import claims_for, encode, make_key


def _certificate(private, name: str = "test") -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )


@pytest.fixture(scope="module")
def keys():
    """(private key, certificate PEM) of several sizes and exponents."""
    made = []
    for bits, exponent in ((2048, 65537), (3072, 65537), (4096, 3)):
        private = rsa.generate_private_key(public_exponent=exponent, key_size=bits)
        made.append((private, _certificate(private)))
    return made


def _sign(private, message: bytes) -> bytes:
    return private.sign(message, padding.PKCS1v15(), hashes.SHA256())


def test_the_key_read_from_a_certificate_is_cryptographys(keys):
    for private, pem in keys:
        numbers = private.public_key().public_numbers()
        assert rs256.certificate_key(pem) == rs256.PublicKey(numbers.n, numbers.e)


@pytest.mark.filterwarnings("ignore:Parsed a serial number")  # one root has serial 0
def test_every_rsa_root_in_certifi_reads_as_cryptography_reads_it():
    """Real certificates of every shape (v1 without a version field, long names, many
    extensions): the same modulus and exponent, or a refusal for the non-RSA ones."""
    pems = re.findall(
        r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
        Path(certifi.where()).read_text(),
        re.S,
    )
    read = 0
    for pem in pems:
        public = x509.load_pem_x509_certificate(pem.encode()).public_key()
        if isinstance(public, rsa.RSAPublicKey) and public.key_size >= rs256.MIN_BITS:
            numbers = public.public_numbers()
            assert rs256.certificate_key(pem) == rs256.PublicKey(numbers.n, numbers.e)
            read += 1
        else:
            with pytest.raises(ValueError):
                rs256.certificate_key(pem)
    assert read > 50


@settings(max_examples=60, deadline=None)
@given(message=st.binary(max_size=2000), flip=st.integers(min_value=0))
def test_verdicts_match_cryptographys(keys, message, flip):
    for private, pem in keys:
        key = rs256.certificate_key(pem)
        signature = _sign(private, message)
        assert rs256.verify(key, message, signature)
        # Any one bit changed, in the signature or the message, is refused by both.
        bad = bytearray(signature)
        bad[flip % len(bad)] ^= 1 << (flip % 8)
        with pytest.raises(InvalidSignature):
            private.public_key().verify(bytes(bad), message, padding.PKCS1v15(), hashes.SHA256())
        assert not rs256.verify(key, message, bytes(bad))
        assert not rs256.verify(key, message + b"x", signature)


def test_other_keys_other_schemes_and_odd_lengths_are_refused(keys):
    (private, pem), (other, _), _ = keys
    key = rs256.certificate_key(pem)
    message = b"header.payload"
    assert not rs256.verify(key, message, _sign(other, message))
    sha1 = private.sign(message, padding.PKCS1v15(), hashes.SHA1())
    assert not rs256.verify(key, message, sha1)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    assert not rs256.verify(key, message, private.sign(message, pss, hashes.SHA256()))
    signature = _sign(private, message)
    assert not rs256.verify(key, message, signature[1:])
    assert not rs256.verify(key, message, b"\0" + signature)
    assert not rs256.verify(key, message, b"")
    assert not rs256.verify(key, message, key.modulus.to_bytes(key.size, "big"))  # s >= n
    assert not rs256.verify(key, message, bytes(key.size))  # s = 0


def test_certificates_without_an_acceptable_rsa_key_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    elliptic = ec.generate_private_key(ec.SECP256R1())
    good = _certificate(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    der = base64.b64decode("".join(good.strip().splitlines()[1:-1]))

    def pem(data: bytes) -> str:
        body = base64.encodebytes(data).decode()
        return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"

    for bad in (
        _certificate(small),
        _certificate(elliptic),
        "",
        "not a certificate",
        good.replace("-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----"),
        good.replace("M", "*", 1),
        pem(der[: len(der) // 2]),  # truncated
        pem(der[:4]),
        pem(b"\x30\x84\xff\xff\xff\xff"),  # a length past the end
        pem(b"\x30\x00"),
    ):
        with pytest.raises(ValueError):
            rs256.certificate_key(bad)


def test_tokens_agree_with_google_auth():
    """A token google-auth accepts, we accept; one it refuses for its signature, we refuse."""
    signing = make_key("kid-1")
    token = encode({"alg": "RS256", "kid": "kid-1"}, claims_for("alice"), signing)
    key = rs256.certificate_key(signing.certificate_pem)
    signing_input, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    assert google_jwt.decode(token, certs={"kid-1": signing.certificate_pem}, verify=True)
    assert rs256.verify(key, signing_input.encode(), raw)

    forged = token[: len(signing_input) - 2] + "x" + token[len(signing_input) - 1 :]
    with pytest.raises(ValueError):
        google_jwt.decode(forged, certs={"kid-1": signing.certificate_pem}, verify=True)
    assert not rs256.verify(key, forged.rpartition(".")[0].encode(), raw)

    verifier = crypt.RSAVerifier.from_string(signing.certificate_pem)
    assert verifier.verify(signing_input.encode(), raw)
