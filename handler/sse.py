"""Server-sent events, both ways: our encoder and a parser for the model's stream."""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from aiohttp import web

DONE = "[DONE]"


def encode_data(data: str) -> bytes:
    """One event: every line of `data` as its own `data:` line, then a blank line."""
    return ("".join(f"data: {line}\n" for line in data.split("\n")) + "\n").encode()


def encode_comment(text: str) -> bytes:
    return "".join(f": {line}\n" for line in text.split("\n")).encode() + b"\n"


class EventStream:
    """Writes events to a prepared response; each write reaches the socket at once."""

    def __init__(self, response: web.StreamResponse) -> None:
        self._response = response

    async def send(self, event: dict[str, Any]) -> None:
        await self._response.write(encode_data(json.dumps(event, ensure_ascii=False)))

    async def comment(self, text: str) -> None:
        await self._response.write(encode_comment(text))

    async def done(self) -> None:
        await self._response.write(encode_data(DONE))


async def parse(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """The `data` of each event in a byte stream, however it was split into chunks.

    Lines may end in LF, CRLF or CR (also split across chunks, as may UTF-8
    characters); comments and other fields are skipped; several `data:` lines
    of one event are joined with newlines.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    data: list[str] = []
    async for chunk in chunks:
        buffer += decoder.decode(chunk)
        # A trailing CR may be the first half of a CRLF: wait for the next chunk.
        complete, held = (buffer[:-1], "\r") if buffer.endswith("\r") else (buffer, "")
        *lines, rest = complete.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        buffer = rest + held
        for line in lines:
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
            elif line.startswith("data:"):
                data.append(_field_value(line))
    buffer += decoder.decode(b"", final=True)
    if buffer.rstrip("\r").startswith("data:"):
        data.append(_field_value(buffer.rstrip("\r")))
    if data:
        yield "\n".join(data)


def _field_value(line: str) -> str:
    value = line[5:]
    return value[1:] if value.startswith(" ") else value
