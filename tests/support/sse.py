"""A proxy's streamed chat completion (`data: ...` lines) read back: the text, the finish reasons, the error payloads
LiteLLM sends in the stream, and whether it ended with `[DONE]`; or read only in part, by a client about to leave."""

import json
from dataclasses import dataclass
from typing import Final

import httpx


@dataclass(frozen=True)
class Streamed:
    status: int
    content: str
    finish_reasons: list[str]
    errors: list[dict[str, object]]
    done: bool


def parse_sse(status: int, raw: str) -> Streamed:
    content: Final[list[str]] = []
    finish_reasons: Final[list[str]] = []
    errors: Final[list[dict[str, object]]] = []
    done = False
    for line in raw.splitlines():
        if line == "data: [DONE]":
            done = True
        elif line.startswith("data: "):
            payload = json.loads(line.removeprefix("data: "))
            if "error" in payload:
                errors.append(payload["error"])
            for choice in payload.get("choices") or []:
                content.append((choice.get("delta") or {}).get("content") or "")
                if choice.get("finish_reason"):
                    finish_reasons.append(choice["finish_reason"])
    return Streamed(status=status, content="".join(content), finish_reasons=finish_reasons, errors=errors, done=done)


def read_events(response: httpx.Response, count: int) -> None:
    """Reads the stream until `count` `data:` lines came (or it ended), leaving the rest unread."""
    events = 0
    for line in response.iter_lines():
        events += line.startswith("data: ")
        if events >= count:
            return
