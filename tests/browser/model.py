"""The HuggingFace stand-in, holding its answer mid-stream until the test lets it go.

While the model holds, the page can only show the first words if every layer
between (the service or the Lambda runtime, the Function URL front, the
browser's fetch) passed them on as they came: that is what streaming means,
and it is checked without timing anything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from tests.standins import huggingface as hf


@dataclass
class HeldModel(hf.HuggingFace):
    hold_after: int = 3  # words sent before holding: several deltas, not one
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def first_words(self) -> str:
        return "".join(self.words[: self.hold_after])

    def answer(self) -> str:
        return "".join(self.words)

    async def _stream(
        self, request: web.Request, words: list[str], *, delay: float, main: bool
    ) -> web.StreamResponse:
        if not main:  # titles and summaries answer at once
            return await super()._stream(request, words, delay=delay, main=main)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i, word in enumerate(words):
            if i == self.hold_after:
                await self.release.wait()
            await resp.write(hf._frame(hf._chunk(word)))
        await resp.write(hf._frame("[DONE]"))
        await resp.write_eof()
        return resp
