"""What a plan returns: a whole body (:class:`BodyReply`) or a stream (:class:`StreamReply`) of actions, each a write
already in HTTP/1.1 chunked encoding, a pause, or a connection reset."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from litellm_commandcode.fake_server.json_values import utf8
from litellm_commandcode.fake_server.protocol import FakeHttpError, error_envelope, event_line


@dataclass(frozen=True)
class Write:
    data: bytes
    count: int = 1


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Reset:
    pass


Action = Write | Pause | Reset


@dataclass(frozen=True)
class BodyReply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StreamReply:
    actions: tuple[Action, ...]
    delay_before: float = 0.0
    status: int = 200
    content_type: str = "text/event-stream"


Reply = BodyReply | StreamReply


def json_reply(status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> BodyReply:
    return BodyReply(
        status=status,
        body=utf8(json.dumps(payload, ensure_ascii=False, separators=(",", ":"))),
        headers=headers,
    )


def error_reply(error: FakeHttpError) -> BodyReply:
    return json_reply(error.status, error_envelope(error.status, error.code, error.message, error.extra), error.headers)


def frame(payload: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(payload), payload)


def event_writes(events: Iterable[object]) -> list[Action]:
    return [Write(frame(event_line(event))) for event in events]


def stream_reply(events: Iterable[object], delay_before: float = 0.0) -> StreamReply:
    return StreamReply(actions=tuple(event_writes(events)), delay_before=delay_before)
