"""Reading /api/chat's event stream the way a browser does, with arrival times."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Transcript:
    status: int
    headers: Any
    events: list[Any] = field(default_factory=list)  # parsed JSON, or the string "[DONE]"
    times: list[float] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def kinds(self) -> list[str]:
        """A compact view of the sequence: 'content' for every delta, etc."""
        out = []
        for event in self.events:
            if event == "[DONE]":
                out.append("[DONE]")
            elif "status" in event:
                out.append(event["status"])
            else:
                out.append(next(iter(event)))
        return out

    def first(self, key: str) -> Any:
        return next(e[key] for e in self.events if isinstance(e, dict) and key in e)

    def text(self) -> str:
        return "".join(e["content"] for e in self.events if isinstance(e, dict) and "content" in e)


async def read(resp, stop_after_content: int | None = None) -> Transcript:
    transcript = Transcript(resp.status, resp.headers)
    if resp.status != 200:
        transcript.events.append(await resp.json())
        return transcript
    data: list[str] = []
    contents = 0
    while True:
        raw = await resp.content.readline()
        if not raw:
            break
        line = raw.decode().rstrip("\n")
        if line.startswith(":"):
            transcript.comments.append(line[1:].strip())
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            payload = "\n".join(data)
            data = []
            transcript.events.append(payload if payload == "[DONE]" else json.loads(payload))
            transcript.times.append(time.monotonic())
            if isinstance(transcript.events[-1], dict) and "content" in transcript.events[-1]:
                contents += 1
                if stop_after_content is not None and contents >= stop_after_content:
                    resp.close()
                    break
    return transcript


async def chat(api, body: dict[str, Any], uid: str = "alice", **kwargs: Any) -> Transcript:
    resp = await api.call("POST", "/api/chat", uid=uid, json=body)
    return await read(resp, **kwargs)
