"""DER, the binary form of X.509 certificates, read one element at a time.

Only what its two readers need: the public key of Google's token-signing
certificates (handler/auth/rs256.py) and the subject names of the CAs the
build installs (build.py, which also encodes their canonical form). Malformed
input raises ValueError.
"""

from __future__ import annotations

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BIT_STRING = 0x03
OID = 0x06
CONTEXT_0 = 0xA0  # [0] EXPLICIT: a certificate's version


def element(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at `at`."""
    if at + 2 > len(data):
        raise ValueError("DER: truncated")
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or at + count > len(data):
            raise ValueError("DER: bad length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise ValueError("DER: truncated")
    return tag, at, at + length


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, end) of each element between start and end."""
    found = []
    while start < end:
        tag, content, after = element(data, start)
        if after > end:
            raise ValueError("DER: an element overruns its parent")
        found.append((tag, start, content, after))
        start = after
    return found


def certificate_fields(data: bytes) -> list[tuple[int, int, int, int]]:
    """The TBSCertificate's fields after the version: serial number, signature
    algorithm, issuer, validity, subject, subject public key info, then extensions."""
    tag, start, end = element(data, 0)
    if tag != SEQUENCE:
        raise ValueError("DER: not a certificate")
    tag, start, end = element(data, start)
    if tag != SEQUENCE:
        raise ValueError("DER: not a certificate")
    fields = children(data, start, end)
    if fields and fields[0][0] == CONTEXT_0:
        fields = fields[1:]
    if len(fields) < 6:
        raise ValueError("DER: not a certificate")
    return fields


def encoded(tag: int, content: bytes) -> bytes:
    """The element of this tag holding `content`, its length in DER's shortest form."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content
