"""A small fake of OpenAI's `POST /v1/chat/completions` (SSE streaming and JSON), stdlib asyncio, loopback only.

It streams the same content as the fake Command Code server's benchmark scenarios, chosen the same way: a
`[[fake:NAME k=v ...]]` marker in the last user message, else `--scenario`.

    long events=N size=S burst=K   N content chunks of S characters ("x" * S), K chunks per network write
    slow delay_ms=D events=N reasoning=R
                                   the fake Command Code server's `slow` layout (R reasoning chunks, N content
                                   chunks of "x", SSE comments where its events carry no text), D ms before each write
    ok                             a 12-chunk answer

Run `python -m benchmarks.fake_openai --port 0`; it prints `fake-openai listening on http://127.0.0.1:PORT`.
"""

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from litellm_commandcode.fake_server.http_io import (
    DEFAULT_HOST,
    Connection,
    HttpRequest,
    HttpServer,
    serve_until_signal,
)
from litellm_commandcode.fake_server.json_values import JsonDict
from litellm_commandcode.fake_server.protocol import FakeHttpError, last_user_text
from litellm_commandcode.fake_server.replies import Action, BodyReply, Pause, StreamReply, Write, frame
from litellm_commandcode.fake_server.scenarios import check_scenario, directive, number_param, parse_scenario

READY_MESSAGE: Final = "fake-openai listening on http://{host}:{port}"
MAX_EVENTS: Final = 10_000_000
MAX_SIZE: Final = 65_536
MAX_BURST: Final = 100_000
MAX_DELAY_MS: Final = 10_000.0
OK_WORDS: Final = "This is a deterministic answer from the fake OpenAI-compatible server for the benchmark."
SCENARIOS: Final[Mapping[str, frozenset[str]]] = {
    "ok": frozenset(),
    "long": frozenset({"events", "size", "burst"}),
    "slow": frozenset({"delay_ms", "events", "reasoning"}),
}
SSE_CONTENT_TYPE: Final = "text/event-stream; charset=utf-8"


CONTENT: Final = "content"
REASONING: Final = "reasoning"
IDLE: Final = "idle"


@dataclass(frozen=True)
class Plan:
    """What to answer: pieces (kind, text), `burst` pieces per network write, a pause of `delay` seconds before every
    write but the first. An `idle` piece is an SSE comment: a write that carries no chunk, where the Command Code
    stream has an event that carries no text (start-step, text-start, ...)."""

    pieces: tuple[tuple[str, str], ...]
    burst: int
    delay: float

    @property
    def text(self) -> str:
        return "".join(text for kind, text in self.pieces if kind == CONTENT)

    @property
    def tokens(self) -> int:
        return sum(1 for kind, _ in self.pieces if kind != IDLE)


def _scenario(spec: str) -> tuple[str, Mapping[str, str]]:
    scenario: Final = check_scenario(parse_scenario(spec), SCENARIOS)
    return scenario.name, scenario.params


def _number(params: Mapping[str, str], name: str, default: float, high: float) -> float:
    return number_param(params, name, default, 0.0, high)


def _last_user_text(body: Mapping[str, object]) -> str:
    messages: Final = body.get("messages")
    if not isinstance(messages, list):
        raise FakeHttpError(400, "invalid_request_error", "messages must be a list")
    return last_user_text(messages)


def _slow_pieces(events: int, reasoning: int) -> tuple[tuple[str, str], ...]:
    """The layout of the fake Command Code server's answer after its first event: start-step, [reasoning-start,
    reasoning deltas, reasoning-end,] text-start, text deltas, text-end, finish-step."""
    idle: Final = (IDLE, "")
    thinking: Final = ((idle, *((REASONING, "x"),) * reasoning, idle)) if reasoning else ()
    return (idle, *thinking, idle, *((CONTENT, "x"),) * events, idle, idle)


def plan_for(body: Mapping[str, object], default_spec: str) -> Plan:
    name, params = _scenario(directive(_last_user_text(body)) or default_spec)
    if name == "long":
        events = int(_number(params, "events", 1000, MAX_EVENTS))
        size = max(1, int(_number(params, "size", 1, MAX_SIZE)))
        burst = max(1, int(_number(params, "burst", 1, MAX_BURST)))
        return Plan(pieces=((CONTENT, "x" * size),) * events, burst=burst, delay=0.0)
    if name == "slow":
        events = int(_number(params, "events", 12, MAX_EVENTS))
        reasoning = int(_number(params, "reasoning", 0, MAX_EVENTS))
        delay = _number(params, "delay_ms", 50, MAX_DELAY_MS) / 1000
        return Plan(pieces=_slow_pieces(events, reasoning), burst=1, delay=delay)
    words: Final = OK_WORDS.split(" ")
    pieces: Final = tuple((CONTENT, f"{word} " if i < len(words) - 1 else word) for i, word in enumerate(words))
    return Plan(pieces=pieces, burst=1, delay=0.0)


def _usage(body: Mapping[str, object], plan: Plan) -> JsonDict:
    prompt: Final = max(1, len(json.dumps(body.get("messages"))) // 4)
    completion: Final = plan.tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _chunk(response_id: str, created: int, model: str, delta: JsonDict, finish: str | None) -> JsonDict:
    return {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _sse(payload: object) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def stream_writes(body: Mapping[str, object], plan: Plan, response_id: str) -> list[bytes]:
    """The HTTP chunks of an SSE answer: the role chunk, the pieces `plan.burst` per write, then the finish chunk, the
    usage chunk when `stream_options.include_usage`, and `[DONE]` in one last write."""
    created: Final = int(time.time())
    model: Final = str(body.get("model", "gpt-4o-mini"))
    events: Final[dict[tuple[str, str], bytes]] = {}
    writes: Final = [frame(_sse(_chunk(response_id, created, model, {"role": "assistant", "content": ""}, None)))]
    batch: list[bytes] = []
    for piece in plan.pieces:
        event = events.get(piece)
        if event is None:
            kind, text = piece
            delta: JsonDict = {"reasoning_content": text} if kind == REASONING else {"content": text}
            event = b": idle\n\n" if kind == IDLE else _sse(_chunk(response_id, created, model, delta, None))
            events[piece] = event
        batch.append(event)
        if len(batch) == plan.burst:
            writes.append(frame(b"".join(batch)))
            batch = []
    if batch:
        writes.append(frame(b"".join(batch)))
    tail: Final = [_sse(_chunk(response_id, created, model, {}, "stop"))]
    options: Final = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        usage_chunk = {**_chunk(response_id, created, model, {}, None), "choices": [], "usage": _usage(body, plan)}
        tail.append(_sse(usage_chunk))
    tail.append(b"data: [DONE]\n\n")
    writes.append(frame(b"".join(tail)))
    return writes


def completion_body(body: Mapping[str, object], plan: Plan, response_id: str) -> bytes:
    message: Final = {"role": "assistant", "content": plan.text, "refusal": None}
    return json.dumps(
        {
            "id": response_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "gpt-4o-mini")),
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": _usage(body, plan),
        },
        separators=(",", ":"),
    ).encode()


def _error(status: int, message: str) -> BodyReply:
    payload: Final = {"error": {"message": message, "type": "invalid_request_error"}}
    return BodyReply(status=status, body=json.dumps(payload).encode())


def _stream(writes: Sequence[bytes], delay: float) -> StreamReply:
    actions: list[Action] = []
    for index, data in enumerate(writes):
        actions += [Pause(delay), Write(data)] if delay and index else [Write(data)]
    return StreamReply(actions=tuple(actions), content_type=SSE_CONTENT_TYPE)


class Server(HttpServer):
    def __init__(self, default_spec: str) -> None:
        super().__init__()
        _scenario(default_spec)
        self.default_spec = default_spec
        self.requests = 0

    def malformed(self, status: int) -> BodyReply:
        return _error(status, "malformed HTTP request")

    async def dispatch(self, connection: Connection, request: HttpRequest) -> bool:
        if request.method == "GET" and request.path in ("/health", "/v1/models"):
            reply = BodyReply(status=200, body=json.dumps({"object": "list", "data": []}).encode())
        elif request.method != "POST" or request.path not in ("/v1/chat/completions", "/chat/completions"):
            reply = _error(404, f"no route for {request.method} {request.path}")
        else:
            return await self._chat(connection, request)
        await connection.send_body(reply, request.keep_alive)
        return request.keep_alive

    async def _chat(self, connection: Connection, request: HttpRequest) -> bool:
        self.requests += 1
        response_id: Final = f"chatcmpl-fake{self.requests:012d}"
        try:
            body = json.loads(request.body)
            if not isinstance(body, dict):
                raise FakeHttpError(400, "invalid_request_error", "the body must be a JSON object")
            plan = plan_for(body, self.default_spec)
        except (ValueError, FakeHttpError) as error:
            message = error.message if isinstance(error, FakeHttpError) else f"invalid JSON: {error}"
            await connection.send_body(_error(400, message), request.keep_alive)
            return request.keep_alive
        if not body.get("stream"):
            if plan.delay:
                await asyncio.sleep(plan.delay * (len(plan.pieces) + 1))
            await connection.send_body(BodyReply(200, completion_body(body, plan, response_id)), request.keep_alive)
            return request.keep_alive
        reply: Final = _stream(stream_writes(body, plan, response_id), plan.delay)
        return await connection.send_stream(reply, request.keep_alive) and request.keep_alive


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(prog="python -m benchmarks.fake_openai", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--scenario", default="ok", help="default scenario, e.g. 'long events=2000 burst=50'")
    args: Final = parser.parse_args(argv)
    try:
        server: Final = Server(args.scenario)
    except FakeHttpError as error:
        parser.error(error.message)

    def ready(port: int) -> str:
        return READY_MESSAGE.format(host=DEFAULT_HOST, port=port)

    return asyncio.run(serve_until_signal(server, DEFAULT_HOST, args.port, ready))


if __name__ == "__main__":
    sys.exit(main())
