"""Our RS256 check (handler/auth/rs256.py) against cryptography's and google-auth's."""

import base64
import hashlib
import re
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from google.auth import crypt
from google.auth import jwt as google_jwt
from hypothesis import given, settings
from hypothesis import strategies as st

from handler import der
from handler.auth import rs256
from tests.standins.firebase import certificate_pem, claims_for, encode, make_key


@pytest.fixture(scope="module")
def keys():
    """(private key, certificate PEM) of several sizes and exponents."""
    made = []
    for bits, exponent in ((2048, 65537), (3072, 65537), (4096, 3)):
        private = rsa.generate_private_key(public_exponent=exponent, key_size=bits)
        made.append((private, certificate_pem(private)))
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
        if isinstance(public, rsa.RSAPublicKey) and (
            rs256.MIN_BITS <= public.key_size <= rs256.MAX_BITS
        ):
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
    good = certificate_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    data = _der_of(good)

    for bad in (
        certificate_pem(small),
        certificate_pem(elliptic),
        "",
        "not a certificate",
        good.replace("-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----"),
        good.replace("M", "*", 1),
        _pem_of(data[: len(data) // 2]),  # truncated
        _pem_of(data[:4]),
        _pem_of(b"\x30\x84\xff\xff\xff\xff"),  # a length past the end
        _pem_of(b"\x30\x00"),
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


def _der_of(pem: str) -> bytes:
    return base64.b64decode("".join(pem.strip().splitlines()[1:-1]))


def _pem_of(data: bytes) -> str:
    body = base64.encodebytes(data).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def _rebuilt(pem: str, tbs_fields) -> str:
    """The certificate with its TBSCertificate's fields replaced (signature left stale:
    nothing here checks it)."""
    data = _der_of(pem)
    _, start, end = der.element(data, 0)
    (_, tbs_at, _, _), *rest = der.children(data, start, end)
    tbs = der.encoded(der.SEQUENCE, b"".join(tbs_fields(data, tbs_at)))
    return _pem_of(der.encoded(der.SEQUENCE, tbs + b"".join(data[s:e] for _, s, _, e in rest)))


def test_a_version_1_certificate_reads_the_right_field(keys):
    """No [0] version field, no extensions: the key is still the sixth field."""
    private, pem = keys[0]

    def version_1(data, tbs_at):
        _, start, end = der.element(data, tbs_at)
        return [data[s:e] for tag, s, _, e in der.children(data, start, end) if tag < 0xA0]

    v1 = _rebuilt(pem, version_1)
    assert x509.load_pem_x509_certificate(v1.encode()).version == x509.Version.v1
    numbers = private.public_key().public_numbers()
    assert rs256.certificate_key(v1) == rs256.PublicKey(numbers.n, numbers.e)


def test_an_empty_algorithm_identifier_is_a_refusal_not_a_crash(keys):
    def empty_algorithm(data, tbs_at):
        _, start, end = der.element(data, tbs_at)
        fields = [data[s:e] for _, s, _, e in der.children(data, start, end)]
        spki = der.certificate_fields(data)[5]
        _, key_bits = der.children(data, spki[2], spki[3])
        emptied = der.encoded(der.SEQUENCE, b"\x30\x00" + data[key_bits[1] : key_bits[3]])
        return [emptied if f == data[spki[1] : spki[3]] else f for f in fields]

    with pytest.raises(ValueError, match="not an RSA key"):
        rs256.certificate_key(_rebuilt(keys[0][1], empty_algorithm))


def test_keys_past_4096_bits_and_32_bit_exponents_are_refused(keys):
    """Each check's cost grows with both: such a published key is refused."""
    signer = keys[0][0]
    for exponent, bits in ((65537, 8192), ((1 << 40) + 1, 2048)):
        public = rsa.RSAPublicNumbers(exponent, (1 << (bits - 1)) | 1).public_key()
        with pytest.raises(ValueError, match="unacceptable"):
            rs256.certificate_key(certificate_pem(signer, public))


def _ceiling_cube_root(x: int) -> int:
    low, high = 0, 1 << (x.bit_length() // 3 + 2)
    while low < high:
        middle = (low + high) // 2
        if middle**3 < x:
            low = middle + 1
        else:
            high = middle
    return low


def test_bleichenbachers_forgery_is_refused(keys):
    """e=3: a cube root of a well-formed prefix followed by garbage. A check that
    parses the block and stops after the digest accepts it (CVE-2006-4339)."""
    key = rs256.certificate_key(keys[2][1])
    assert key.exponent == 3
    message = b"header.payload"
    prefix = (
        b"\x00\x01"
        + b"\xff" * 8
        + b"\x00"
        + rs256._SHA256_DIGEST_INFO
        + hashlib.sha256(message).digest()
    )
    forged = _ceiling_cube_root(int.from_bytes(prefix, "big") << (8 * (key.size - len(prefix))))
    assert pow(forged, 3).to_bytes(key.size, "big").startswith(prefix)  # a real forgery
    assert not rs256.verify(key, message, forged.to_bytes(key.size, "big"))


def test_a_block_that_only_ends_in_the_digest_is_refused(keys):
    """e=3: s with s^3 = the digest mod 2^256. A check of the block's tail accepts it."""
    key = rs256.certificate_key(keys[2][1])
    message = next(m for m in (b"m%d" % i for i in range(99)) if hashlib.sha256(m).digest()[-1] & 1)
    digest = int.from_bytes(hashlib.sha256(message).digest(), "big")
    forged = pow(digest, pow(3, -1, 1 << 255), 1 << 256)
    assert pow(forged, 3, key.modulus) % (1 << 256) == digest  # a real forgery
    assert not rs256.verify(key, message, forged.to_bytes(key.size, "big"))
