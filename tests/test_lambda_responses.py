"""The Function URL prelude and the buffered result, byte for byte."""

import asyncio
import base64
import json
import os

from multidict import CIMultiDict

from handler.lambda_runtime.responses import (
    DELIMITER,
    JOIN_LIMIT,
    BufferedWriter,
    StreamingWriter,
)
from handler.lambda_runtime.runtime_api import SLICE, ResponseStream


class Recorder:
    """Stands in for the Runtime API connection: records each chunk sent."""

    def __init__(self):
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.chunks.append(data)


def _headers() -> CIMultiDict:
    headers = CIMultiDict()
    for name, value in [
        ("Content-Type", "text/event-stream"),
        ("Content-Length", "10"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
        ("Set-Cookie", "a=1; HttpOnly"),
        ("Set-Cookie", "b=2"),
        ("Vary", "Origin"),
        ("Vary", "Accept"),
    ]:
        headers.add(name, value)
    return headers


async def test_prelude_is_single_valued_without_hop_by_hop_headers():
    recorder = Recorder()

    async def open_stream():
        return recorder

    writer = StreamingWriter(open_stream)
    await writer.write_headers("HTTP/1.1 201 Created", _headers())
    writer.send_headers()
    await writer.write(b"data: 1\n\n")
    await writer.write(b"data: 2\n\n")
    await writer.write_eof()
    prelude, first = recorder.chunks[0].split(DELIMITER)
    assert json.loads(prelude) == {
        "statusCode": 201,
        "headers": {"content-type": "text/event-stream", "vary": "Origin, Accept"},
        "cookies": ["a=1; HttpOnly", "b=2"],
    }
    assert b"\0" not in prelude
    assert first == b""  # the prelude went out on its own, before any body
    assert recorder.chunks[1:] == [b"data: 1\n\n", b"data: 2\n\n"]


async def test_empty_body_still_sends_prelude_and_delimiter():
    recorder = Recorder()

    async def open_stream():
        return recorder

    writer = StreamingWriter(open_stream)
    await writer.write_headers("HTTP/1.1 204 No Content", CIMultiDict())
    await writer.write_eof()
    assert recorder.chunks == [b'{"statusCode":204,"headers":{},"cookies":[]}' + DELIMITER]


async def test_buffered_result_text_and_binary():
    text = BufferedWriter()
    await text.write_headers("HTTP/1.1 200 OK", CIMultiDict({"Content-Type": "application/json"}))
    await text.write(b'{"a": 1}')
    await text.write_eof()
    assert text.result() == {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "cookies": [],
        "body": '{"a": 1}',
        "isBase64Encoded": False,
    }
    binary = BufferedWriter()
    await binary.write_headers("HTTP/1.1 200 OK", _headers())
    await binary.write_eof(b"\xff\x00")
    result = binary.result()
    assert result["cookies"] == ["a=1; HttpOnly", "b=2"]
    assert "content-length" not in result["headers"]
    assert result["isBase64Encoded"] is True  # a text type, but not valid UTF-8
    octets = BufferedWriter()
    await octets.write_headers("HTTP/1.1 200 OK", CIMultiDict({"Content-Type": "image/png"}))
    await octets.write_eof(b"\x89PNG")
    assert octets.result()["isBase64Encoded"] is True
    assert base64.b64decode(octets.result()["body"]) == b"\x89PNG"


async def test_a_large_body_is_handed_on_not_copied():
    recorder = Recorder()

    async def open_stream():
        return recorder

    writer = StreamingWriter(open_stream)
    await writer.write_headers("HTTP/1.1 200 OK", CIMultiDict())
    body = b"x" * (JOIN_LIMIT + 1)
    await writer.write_eof(body)
    assert recorder.chunks[0] == b'{"statusCode":200,"headers":{},"cookies":[]}' + DELIMITER
    assert recorder.chunks[1] is body  # the prelude went ahead; the body as it came


async def test_large_chunks_are_framed_whole_on_the_wire():
    received = asyncio.get_running_loop().create_future()

    async def read_all(reader, writer):
        received.set_result(await reader.read())
        writer.close()

    server = await asyncio.start_server(read_all, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    stream = ResponseStream(None, writer)
    parts = [b"small", os.urandom(SLICE * 3 + 7), bytearray(os.urandom(SLICE + 1))]
    for part in parts:
        await stream.write(part)
    writer.close()
    data = await received
    server.close()
    chunks = []
    while data:
        size, _, data = data.partition(b"\r\n")
        chunks.append(data[: int(size, 16)])
        assert data[int(size, 16) : int(size, 16) + 2] == b"\r\n"
        data = data[int(size, 16) + 2 :]
    assert chunks == [bytes(p) for p in parts]
