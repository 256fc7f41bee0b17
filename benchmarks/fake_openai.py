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
import contextlib
import json
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

HOST: Final = "127.0.0.1"
READY_MESSAGE: Final = "fake-openai listening on http://{host}:{port}"
MARKER_RE: Final = re.compile(r"\[\[fake:([^\]]*)\]\]")
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 16 * 1024 * 1024
IDLE_TIMEOUT_SECONDS: Final = 75.0
STOP_TIMEOUT_SECONDS: Final = 5.0
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

JsonDict = dict[str, object]


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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


def _scenario(spec: str) -> tuple[str, dict[str, str]]:
    tokens: Final = spec.split()
    if not tokens:
        return "ok", {}
    params: Final = dict(token.partition("=")[::2] for token in tokens[1:])
    if tokens[0] not in SCENARIOS:
        raise BadRequest(400, f"unknown fake scenario: {tokens[0]}")
    unknown: Final = sorted(set(params) - SCENARIOS[tokens[0]])
    if unknown:
        raise BadRequest(400, f"unknown parameters for {tokens[0]}: {', '.join(unknown)}")
    return tokens[0], params


def _number(params: Mapping[str, str], name: str, default: float, high: float) -> float:
    raw: Final = params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise BadRequest(400, f"parameter {name} must be a number: {raw}") from error
    return min(max(value, 0.0), high)


def _last_user_text(body: Mapping[str, object]) -> str:
    messages: Final = body.get("messages")
    if not isinstance(messages, list):
        raise BadRequest(400, "messages must be a list")
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _slow_pieces(events: int, reasoning: int) -> tuple[tuple[str, str], ...]:
    """The layout of the fake Command Code server's answer after its first event: start-step, [reasoning-start,
    reasoning deltas, reasoning-end,] text-start, text deltas, text-end, finish-step."""
    idle: Final = (IDLE, "")
    thinking: Final = ((idle, *((REASONING, "x"),) * reasoning, idle)) if reasoning else ()
    return (idle, *thinking, idle, *((CONTENT, "x"),) * events, idle, idle)


def plan_for(body: Mapping[str, object], default_spec: str) -> Plan:
    marker: Final = MARKER_RE.search(_last_user_text(body))
    name, params = _scenario(marker.group(1).strip() if marker else default_spec)
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


def _frame(payload: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(payload), payload)


def stream_writes(body: Mapping[str, object], plan: Plan, response_id: str) -> list[bytes]:
    """The HTTP chunks of an SSE answer: the role chunk, the pieces `plan.burst` per write, then the finish chunk, the
    usage chunk when `stream_options.include_usage`, and `[DONE]` in one last write."""
    created: Final = int(time.time())
    model: Final = str(body.get("model", "gpt-4o-mini"))
    events: Final[dict[tuple[str, str], bytes]] = {}
    writes: Final = [_frame(_sse(_chunk(response_id, created, model, {"role": "assistant", "content": ""}, None)))]
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
            writes.append(_frame(b"".join(batch)))
            batch = []
    if batch:
        writes.append(_frame(b"".join(batch)))
    tail: Final = [_sse(_chunk(response_id, created, model, {}, "stop"))]
    options: Final = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        usage_chunk = {**_chunk(response_id, created, model, {}, None), "choices": [], "usage": _usage(body, plan)}
        tail.append(_sse(usage_chunk))
    tail.append(b"data: [DONE]\n\n")
    writes.append(_frame(b"".join(tail)))
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


def _head(status: int, headers: Sequence[tuple[str, str]]) -> bytes:
    lines: Final = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Server:
    def __init__(self, default_spec: str) -> None:
        _scenario(default_spec)
        self.default_spec = default_spec
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, HOST, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_TIMEOUT_SECONDS)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task: Final = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while await asyncio.wait_for(self._one_request(reader, writer), IDLE_TIMEOUT_SECONDS):
                pass
        except (ConnectionError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except asyncio.LimitOverrunError:
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head: Final = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD_BYTES:
            return False
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = (request_line.split(" ") + ["", "", ""])[:3]
        headers: Final = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        length: Final = int(headers.get("content-length", "0") or "0")
        if length > MAX_BODY_BYTES or "chunked" in headers.get("transfer-encoding", ""):
            await self._send_json(writer, 413, {"error": {"message": "body too large or chunked"}}, keep_alive=False)
            return False
        raw: Final = await reader.readexactly(length) if length else b""
        keep_alive: Final = headers.get("connection", "").lower() != "close"
        path: Final = target.split("?", 1)[0]
        if method == "GET" and path in ("/health", "/v1/models"):
            await self._send_json(writer, 200, {"object": "list", "data": []}, keep_alive)
            return keep_alive
        if method != "POST" or path not in ("/v1/chat/completions", "/chat/completions"):
            await self._send_json(writer, 404, {"error": {"message": f"no route for {method} {path}"}}, keep_alive)
            return keep_alive
        return await self._chat(writer, raw, keep_alive)

    async def _chat(self, writer: asyncio.StreamWriter, raw: bytes, keep_alive: bool) -> bool:
        self.requests += 1
        response_id: Final = f"chatcmpl-fake{self.requests:012d}"
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise BadRequest(400, "the body must be a JSON object")
            plan = plan_for(body, self.default_spec)
        except (ValueError, BadRequest) as error:
            message = error.message if isinstance(error, BadRequest) else f"invalid JSON: {error}"
            await self._send_json(
                writer, 400, {"error": {"message": message, "type": "invalid_request_error"}}, keep_alive
            )
            return keep_alive
        if not body.get("stream"):
            if plan.delay:
                await asyncio.sleep(plan.delay * (len(plan.pieces) + 1))
            await self._send(writer, 200, completion_body(body, plan, response_id), "application/json", keep_alive)
            return keep_alive
        connection: Final = "keep-alive" if keep_alive else "close"
        headers: Final = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", connection),
        ]
        writer.write(_head(200, headers))
        for index, data in enumerate(stream_writes(body, plan, response_id)):
            if plan.delay and index:
                await writer.drain()
                await asyncio.sleep(plan.delay)
            writer.write(data)
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return keep_alive

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, payload: object, keep_alive: bool) -> None:
        await self._send(writer, status, json.dumps(payload).encode(), "application/json", keep_alive)

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str, keep_alive: bool
    ) -> None:
        headers: Final = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "keep-alive" if keep_alive else "close"),
        ]
        writer.write(_head(status, headers) + body)
        await writer.drain()


async def _serve(port: int, scenario: str) -> int:
    server: Final = Server(scenario)
    bound: Final = await server.start(port)
    stop: Final = asyncio.Event()
    loop: Final = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(READY_MESSAGE.format(host=HOST, port=bound), flush=True)
    await stop.wait()
    await server.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(prog="python -m benchmarks.fake_openai", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--scenario", default="ok", help="default scenario, e.g. 'long events=2000 burst=50'")
    args: Final = parser.parse_args(argv)
    try:
        _scenario(args.scenario)
    except BadRequest as error:
        parser.error(error.message)
    return asyncio.run(_serve(args.port, args.scenario))


if __name__ == "__main__":
    sys.exit(main())
