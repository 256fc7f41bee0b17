"""Conformance with what coding agents (Pi, OpenCode, Cline, Hermes, Claude Code through LiteLLM's Anthropic surface)
send and expect: one section per category of README's "Conformance", through the SDK after
`litellm_commandcode.register()` and through one real proxy process on examples/config.yaml, both against the
in-process fake Command Code server.

Some checks raise a named mismatch (`check(..., Mismatch)`), so that a failure says which property broke."""

import asyncio
import base64
import copy
import json
import os
import secrets
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final, Literal

import httpx
import pytest
import yaml
from fault_matrix import check

import litellm
import litellm_commandcode
from litellm.llms.custom_httpx.http_handler import HTTPHandler
from litellm.types.utils import ModelResponse, ModelResponseStream
from litellm_commandcode.fake_server import (
    CONTEXT_MESSAGE,
    UNICODE_DELTAS,
    UNICODE_SPLIT_TEXT,
    FakeCommandCodeServer,
    expected_answer,
)
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.fake_answers import expected_tokens, number
from tests.proxy_process import ProxyProcess
from tests.support.chat_requests import CONVERSATION, WEATHER_TOOL
from tests.support.fake_stack import (
    generate_body,
    generate_params,
    only_request,
    proxy_http,
    proxy_in_front,
    saw_disconnect,
    upstream_key,
)

ROUTE_ENV: Final = "COMMANDCODE_ROUTE"
WIRE_BODY_ONLY: Final = (
    "checks the /alpha/generate wire body this provider writes; on the Provider API, LiteLLM's OpenAI or Anthropic "
    "transformation writes the body"
)
UTF16_SLICES_ONLY: Final = (
    "the generate door slices strings by UTF-16 code units; LiteLLM's OpenAI and Anthropic stream parsers take the "
    "Provider API's JSON as it is"
)
ROOT: Final = Path(__file__).resolve().parents[2]
CONFIG: Final = ROOT / "examples" / "config.yaml"
COST_MAP: Final = json.loads((ROOT / "model_prices_and_context_window.json").read_text(encoding="utf-8"))
MODEL: Final = "deepseek/deepseek-v4-flash"
VISION_MODEL: Final = "claude-sonnet-4-6"
KEY: Final = "user_conformance"
MASTER_KEY: Final = f"sk-conformance-{secrets.token_hex(8)}"
REQUEST_SECONDS: Final = 30.0
WAIT_SECONDS: Final = 10.0
POLL_SECONDS: Final = 0.01
INCLUDE_USAGE: Final = {"include_usage": True}
FINISH_REASONS: Final = {"stop": "stop", "tool-calls": "tool_calls"}
Mode = Literal["sdk-sync", "sdk-async", "sdk-sync-stream", "sdk-async-stream", "proxy-json", "proxy-stream"]
SDK_MODES: Final[tuple[Mode, ...]] = ("sdk-sync", "sdk-async", "sdk-sync-stream", "sdk-async-stream")
PROXY_MODES: Final[tuple[Mode, ...]] = ("proxy-json", "proxy-stream")
MODES: Final[tuple[Mode, ...]] = (*SDK_MODES, *PROXY_MODES)
STREAM_MODES: Final[tuple[Mode, ...]] = ("sdk-sync-stream", "sdk-async-stream", "proxy-stream")
Messages = list[dict[str, object]]

# 1x1 images written by Pillow and read back by it (a PNG, a baseline JPEG, a GIF87a, a lossless WEBP, a TIFF).
PNG_B64: Final = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGMwTjsDAAI1AWaKkkQyAAAAAElFTkSuQmCC"
JPEG_B64: Final = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBk"
    "eFxlZ2P/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z"
)
GIF_B64: Final = "R0lGODdhAQABAIEAADNmzAAAAAAAAAAAACwAAAAAAQABAAAIBAABBAQAOw=="
WEBP_B64: Final = "UklGRh4AAABXRUJQVlA4TBEAAAAvAAAAAAdQs86Uuf+BiOh/AAA="
TIFF_B64: Final = (
    "SUkqAAgAAAAKAAABBAABAAAAAQAAAAEBBAABAAAAAQAAAAIBAwADAAAAhgAAAAMBAwABAAAAAQAAAAYBAwABAAAAAgAAABEBBAABAAAAjAAAABUB"
    "AwABAAAAAwAAABYBBAABAAAAAQAAABcBBAABAAAAAwAAABwBAwABAAAAAQAAAAAAAAAIAAgACAAzZsw="
)
SVG_B64: Final = base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><rect width="1" height="1" fill="#36c"/></svg>'
).decode("ascii")
IMAGES: Final = {
    "image/png": f"data:image/png;base64,{PNG_B64}",
    "image/jpeg": f"data:image/jpeg;base64,{JPEG_B64}",
    "image/gif": f"data:image/gif;base64,{GIF_B64}",
    "image/webp": f"data:image/webp;base64,{WEBP_B64}",
}
MAX_IMAGE_BYTES: Final = 5 * 1024 * 1024
ACCEPTED_TYPES: Final = "image/gif, image/jpeg, image/png, image/webp"


# ---------------------------------------------------------------------------------------------------------------------
# Named mismatches: a failure says which property broke
# ---------------------------------------------------------------------------------------------------------------------


class Mismatch(AssertionError):
    """A named way for a test to fail: the bugs these tests once caught (reasoning dropped with the finish chunk,
    surrogate halves left apart), should they come back."""


class ReasoningLost(Mismatch):
    pass


class SurrogatesInAnswer(Mismatch):
    pass


class ProxyFailedToEncode(Mismatch):
    pass


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures: the fake Command Code server, the proxy (started once, on first use), a recording fake OpenAI server
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    assert litellm_commandcode.register() is (not litellm_knows_commandcode())


@pytest.fixture(scope="module", autouse=True, params=("generate", "provider_api"))
def route(request: pytest.FixtureRequest) -> Iterator[str]:
    """The door of every test (`COMMANDCODE_ROUTE`, for the SDK here and the proxy's environment): the whole suite
    runs on /alpha/generate and on the Provider API, but the tests marked `generate_only`."""
    chosen: Final = str(request.param)
    before: Final = os.environ.get(ROUTE_ENV)
    os.environ[ROUTE_ENV] = chosen
    yield chosen
    if before is None:
        os.environ.pop(ROUTE_ENV, None)
    else:
        os.environ[ROUTE_ENV] = before


@pytest.fixture(autouse=True)
def door_applies(request: pytest.FixtureRequest, route: str) -> None:
    marker: Final = request.node.get_closest_marker("generate_only")
    if route != "generate" and marker is not None:
        pytest.skip(str(marker.kwargs.get("reason", "checks the /alpha/generate wire body")))


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer) -> None:
    server.reset()


def proxy_config(workdir: Path) -> Path:
    """examples/config.yaml; without the plug-in's custom_provider_map when LiteLLM ships commandcode itself."""
    if not litellm_knows_commandcode():
        return CONFIG
    config: Final = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config.pop("litellm_settings", None)
    path: Final = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def proxy(
    server: FakeCommandCodeServer, route: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("conformance-proxy")
    with proxy_in_front(
        server,
        workdir,
        proxy_config(workdir),
        COMMANDCODE_ROUTE=route,
        COMMANDCODE_API_KEY=KEY,
        LITELLM_MASTER_KEY=MASTER_KEY,
        # Stock LiteLLM cools a deployment down after some errors; the error cases must not leak into each other.
        DEFAULT_COOLDOWN_TIME_SECONDS="0",
    ) as started:
        yield started


@pytest.fixture
def gateway(request: pytest.FixtureRequest, proxy: ProxyProcess) -> Iterator[httpx.Client]:
    """An HTTP client for the proxy; a failed test gets the proxy's log lines written during it."""
    start: Final = proxy.log_size()
    failures: Final = request.session.testsfailed
    with proxy_http(proxy, MASTER_KEY, REQUEST_SECONDS) as http:
        yield http
    if request.session.testsfailed > failures:
        print(f"---- proxy log ({proxy.log}) during this test ----\n{proxy.log_tail(start)}")


class Gateways:
    """The proxy's client, started only for proxy modes (SDK modes never wait for the proxy)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request

    def __call__(self) -> httpx.Client:
        http: Final = self.request.getfixturevalue("gateway")
        assert isinstance(http, httpx.Client)
        return http


@pytest.fixture
def gateways(request: pytest.FixtureRequest) -> Gateways:
    return Gateways(request)


@dataclass
class OpenAIRecorder:
    """A minimal OpenAI-compatible `POST /v1/chat/completions` on 127.0.0.1 that records every request body and answers
    one fixed, non-streamed completion."""

    url: str
    bodies: list[dict[str, object]] = field(default_factory=list)


OPENAI_ANSWER: Final = "Summary: the weather tool said 18C and light rain."


def openai_handler(recorder: OpenAIRecorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length))
            recorder.bodies.append(body)
            answer = {
                "id": "chatcmpl-recorded",
                "object": "chat.completion",
                "created": 1,
                "model": body.get("model"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": OPENAI_ANSWER}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 40, "completion_tokens": 10, "total_tokens": 50},
            }
            payload = json.dumps(answer).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIRecorder]:
    recorder: Final = OpenAIRecorder(url="")
    httpd: Final = ThreadingHTTPServer(("127.0.0.1", 0), openai_handler(recorder))
    httpd.daemon_threads = True
    thread: Final = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield recorder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(WAIT_SECONDS)


@pytest.fixture
def openai_fake(openai_server: OpenAIRecorder) -> OpenAIRecorder:
    openai_server.bodies.clear()
    return openai_server


# ---------------------------------------------------------------------------------------------------------------------
# Running one request in one mode
# ---------------------------------------------------------------------------------------------------------------------


def user(text: str) -> dict[str, object]:
    return {"role": "user", "content": text}


def marked(scenario: str, text: str = "hello there") -> Messages:
    return [user(f"{text} [[fake:{scenario}]]")]


def sdk_kwargs(
    server: FakeCommandCodeServer, messages: Sequence[Mapping[str, object]], **params: object
) -> dict[str, object]:
    model: Final = params.pop("model", MODEL)
    return {
        "model": f"commandcode/{model}",
        "messages": list(messages),
        "api_base": server.url,
        "api_key": KEY,
        **params,
    }


@dataclass(frozen=True)
class Answer:
    """What a caller got, in one shape for every mode."""

    content: str | None
    reasoning: str | None
    tool_calls: list[tuple[str, str, object]]
    finish_reasons: list[str]
    usage: dict[str, object]
    cost: float | None
    deltas: list[tuple[str, str]] = field(default_factory=list)
    message: dict[str, object] = field(default_factory=dict)
    usage_at: list[int] = field(default_factory=list)
    chunks: int = 0
    response: ModelResponse | None = None


def calls_of(message: Mapping[str, object]) -> list[tuple[str, str, object]]:
    calls: Final = message.get("tool_calls") or []
    assert isinstance(calls, list)
    return [(call["id"], call["function"]["name"], json.loads(call["function"]["arguments"])) for call in calls]


def message_answer(
    message: dict[str, object],
    finish: object,
    usage: dict[str, object],
    cost: float | None,
    response: ModelResponse | None = None,
) -> Answer:
    return Answer(
        content=message.get("content"),  # type: ignore[arg-type]
        reasoning=message.get("reasoning_content"),  # type: ignore[arg-type]
        tool_calls=calls_of(message),
        finish_reasons=[str(finish)],
        usage=usage,
        cost=cost,
        message=message,
        response=response,
    )


def response_answer(response: object) -> Answer:
    assert isinstance(response, ModelResponse)
    choice: Final = response.choices[0]
    usage: Final = getattr(response, "usage", None)
    assert usage is not None
    cost: Final = response._hidden_params["response_cost"]
    return message_answer(choice.message.model_dump(), choice.finish_reason, usage.model_dump(), cost, response)


def chunk_deltas(chunks: Sequence[Mapping[str, object]]) -> list[tuple[str, str]]:
    deltas: Final[list[tuple[str, str]]] = []
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            for kind in ("reasoning_content", "content"):
                if delta.get(kind):
                    deltas.append((kind, delta[kind]))
    return deltas


def finish_reasons_of(chunks: Sequence[Mapping[str, object]]) -> list[str]:
    return [
        str(choice["finish_reason"])
        for chunk in chunks
        for choice in chunk.get("choices") or []
        if choice.get("finish_reason")
    ]


def stream_answer(chunks: list[ModelResponseStream], messages: Messages) -> Answer:
    dumped: Final = [chunk.model_dump() for chunk in chunks]
    usage_at: Final = [index for index, chunk in enumerate(chunks) if getattr(chunk, "usage", None) is not None]
    assembled: Final = litellm.stream_chunk_builder(chunks, messages=messages)
    assert isinstance(assembled, ModelResponse)
    message: Final = assembled.choices[0].message.model_dump()
    last_usage: Final = getattr(chunks[-1], "usage", None)
    usage: Final = last_usage.model_dump() if last_usage is not None else {}
    return Answer(
        content=message.get("content"),
        reasoning=message.get("reasoning_content"),
        tool_calls=calls_of(message),
        finish_reasons=finish_reasons_of(dumped),
        usage=usage,
        cost=usage.get("cost"),  # type: ignore[arg-type]
        deltas=chunk_deltas(dumped),
        message=message,
        usage_at=usage_at,
        chunks=len(chunks),
        response=assembled,
    )


def sse_lines(response: httpx.Response) -> Iterator[str]:
    """The stream's lines, split on "\n" only: httpx's iter_lines also splits on U+2028, which JSON text may hold."""
    pending = b""
    for data in response.iter_bytes():
        *lines, pending = (pending + data).split(b"\n")
        yield from (line.decode("utf-8").rstrip("\r") for line in lines)
    if pending:
        yield pending.decode("utf-8")


def sse_events(response: httpx.Response) -> list[dict[str, object]]:
    events: Final[list[dict[str, object]]] = []
    for line in sse_lines(response):
        if line.startswith("data: ") and line != "data: [DONE]":
            events.append(json.loads(line.removeprefix("data: ")))
    return events


def proxy_stream_answer(events: list[dict[str, object]]) -> Answer:
    errors: Final = [event["error"] for event in events if "error" in event]
    unencodable: Final = [error for error in errors if "surrogates not allowed" in str(error)]
    check(unencodable == [], ProxyFailedToEncode, f"error events in the proxy's stream: {unencodable}")
    assert errors == []
    deltas: Final = chunk_deltas(events)
    content: Final = "".join(text for kind, text in deltas if kind == "content")
    reasoning: Final = "".join(text for kind, text in deltas if kind == "reasoning_content")
    calls: Final = [
        call
        for event in events
        for choice in event.get("choices") or []
        for call in choice["delta"].get("tool_calls") or []
    ]
    usage_at: Final = [index for index, event in enumerate(events) if event.get("usage") is not None]
    usage: Final = events[-1].get("usage") or {}
    assert isinstance(usage, dict)
    return Answer(
        content=content,
        reasoning=reasoning or None,
        tool_calls=calls_of({"tool_calls": calls}),
        finish_reasons=finish_reasons_of(events),
        usage=usage,
        cost=usage.get("cost"),  # type: ignore[arg-type]
        deltas=deltas,
        message={"role": "assistant", "content": content, "reasoning_content": reasoning or None},
        usage_at=usage_at,
        chunks=len(events),
    )


def proxy_body(messages: Messages, model: str, stream: bool, params: Mapping[str, object]) -> dict[str, object]:
    body: Final = {"model": f"commandcode/{model}", "messages": messages, "stream": stream, **params}
    return {**body, "stream_options": INCLUDE_USAGE} if stream else body


def proxy_answer(
    http: httpx.Client, mode: Mode, messages: Messages, model: str, params: Mapping[str, object]
) -> Answer:
    body: Final = proxy_body(messages, model, mode == "proxy-stream", params)
    if mode == "proxy-json":
        response = http.post("/v1/chat/completions", json=body)
        check(response.status_code != 500, ProxyFailedToEncode, f"{response.status_code}: {response.text[:300]}")
        assert response.status_code == 200, response.text
        completion = response.json()
        choice = completion["choices"][0]
        cost = float(response.headers["x-litellm-response-cost"])
        return message_answer(choice["message"], choice["finish_reason"], completion["usage"], cost)
    with http.stream("POST", "/v1/chat/completions", json=body) as streamed:
        assert streamed.status_code == 200, streamed.read()
        return proxy_stream_answer(sse_events(streamed))


async def run(
    mode: Mode,
    server: FakeCommandCodeServer,
    gateways: Gateways,
    messages: Messages,
    model: str = MODEL,
    **params: object,
) -> Answer:
    if mode in PROXY_MODES:
        return proxy_answer(gateways(), mode, messages, model, params)
    kwargs: Final = sdk_kwargs(server, messages, model=model, **params)
    if mode == "sdk-sync":
        return response_answer(litellm.completion(**kwargs))
    if mode == "sdk-async":
        return response_answer(await litellm.acompletion(**kwargs))
    stream_kwargs: Final = {**kwargs, "stream": True, "stream_options": INCLUDE_USAGE}
    if mode == "sdk-sync-stream":
        return stream_answer(list(litellm.completion(**stream_kwargs)), messages)
    stream: Final = await litellm.acompletion(**stream_kwargs)
    return stream_answer([chunk async for chunk in stream], messages)


def wire(server: FakeCommandCodeServer) -> dict[str, object]:
    """The `params` of the one request the fake received."""
    return generate_params(only_request(server))


def fakes_answer(server: FakeCommandCodeServer) -> dict[str, object]:
    record: Final = only_request(server)
    assert record.status == 200
    return expected_answer(generate_body(record))


def tokens_of(usage: Mapping[str, object]) -> dict[str, object]:
    prompt_details: Final = usage.get("prompt_tokens_details") or {}
    completion_details: Final = usage.get("completion_tokens_details") or {}
    assert isinstance(prompt_details, dict) and isinstance(completion_details, dict)
    return {
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "total_tokens": usage.get("total_tokens"),
        "cached_tokens": prompt_details.get("cached_tokens"),
        "reasoning_tokens": completion_details.get("reasoning_tokens"),
    }


def assert_is_the_fakes_answer(answer: Answer, server: FakeCommandCodeServer) -> dict[str, object]:
    expected: Final = fakes_answer(server)
    calls: Final = expected["tool_calls"]
    assert isinstance(calls, list)
    assert (answer.content or "") == expected["text"]
    assert (answer.reasoning or "") == expected["reasoning"]
    assert answer.tool_calls == [(call["id"], call["name"], call["input"]) for call in calls]
    assert answer.finish_reasons == [FINISH_REASONS[str(expected["finish_reason"])]]
    return expected


async def tasks_left_after(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    """The tasks started since `before` that are still running after a bounded wait."""
    deadline: Final = time.monotonic() + WAIT_SECONDS
    left: set[asyncio.Task[object]] = set()
    for _ in range(int(WAIT_SECONDS / POLL_SECONDS) + 1):
        left = {task for task in asyncio.all_tasks() - before if not task.done()}
        if not left or time.monotonic() > deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    return left


# ---------------------------------------------------------------------------------------------------------------------
# 1. Streaming: incremental, in order, exactly the fake's answer
# ---------------------------------------------------------------------------------------------------------------------

QUESTION: Final = "Tell me about retries"
# The fake's first two text deltas (three words each), which `stall_mid` sends before it pauses.
BEFORE_THE_STALL: Final = "You said: Tell me about retries "


def content_prefixes(answer: Answer) -> list[str]:
    """The content the caller had after each content chunk."""
    pieces: Final = [text for kind, text in answer.deltas if kind == "content"]
    return ["".join(pieces[: index + 1]) for index in range(len(pieces))]


@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_stream_arrives_in_several_ordered_chunks_that_reassemble_to_the_fakes_answer(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, marked("stall_mid seconds=1.5", QUESTION))

    expected: Final = assert_is_the_fakes_answer(answer, server)
    kinds: Final = [kind for kind, _ in answer.deltas]
    assert "".join(text for kind, text in answer.deltas if kind == "content") == expected["text"]
    assert "".join(text for kind, text in answer.deltas if kind == "reasoning_content") == expected["reasoning"]
    assert kinds == ["reasoning_content"] * kinds.count("reasoning_content") + ["content"] * kinds.count("content")
    assert kinds.count("content") >= 2
    assert BEFORE_THE_STALL in content_prefixes(answer)
    assert content_prefixes(answer)[-1] == expected["text"]
    assert str(expected["text"]).startswith(BEFORE_THE_STALL)


async def first_content_while_stalled(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> tuple[str, bool | None]:
    """Reads a stream that the fake pauses for 20 s after two text deltas until the content sent before the pause has
    arrived, notes whether the fake had finished by then, and leaves: (content, finished)."""
    messages: Final = marked("stall_mid seconds=20", QUESTION)
    content = ""
    if mode == "proxy-stream":
        body: Final = proxy_body(messages, MODEL, True, {})
        with gateways().stream("POST", "/v1/chat/completions", json=body) as response:
            for line in sse_lines(response):
                event = json.loads(line.removeprefix("data: ")) if line.startswith("data: {") else {}
                content += "".join(text for kind, text in chunk_deltas([event]) if kind == "content")
                if content == BEFORE_THE_STALL:
                    return content, server.requests[0].finished
        return content, None
    if mode == "sdk-sync-stream":
        stream = litellm.completion(**sdk_kwargs(server, messages), stream=True)
        for chunk in stream:
            content += chunk.choices[0].delta.content or ""
            if content == BEFORE_THE_STALL:
                finished = server.requests[0].finished
                del stream  # a sync LiteLLM stream has no close(): dropping it is how a caller leaves
                return content, finished
        return content, None
    astream: Final = await litellm.acompletion(**sdk_kwargs(server, messages), stream=True)
    async for chunk in astream:
        content += chunk.choices[0].delta.content or ""
        if content == BEFORE_THE_STALL:
            finished = server.requests[0].finished
            await astream.aclose()
            return content, finished
    return content, None


@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_the_first_content_reaches_the_caller_while_the_fake_is_still_sending(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    seen: Final = await first_content_while_stalled(mode, server, gateways)

    assert seen == (BEFORE_THE_STALL, False)
    assert await saw_disconnect(server, WAIT_SECONDS, POLL_SECONDS), "the fake never saw its client leave"
    assert [(record.disconnected, record.finished) for record in server.requests] == [(True, False)]


# ---------------------------------------------------------------------------------------------------------------------
# 2. Tokens: exactly what Command Code reported, in every mode; cached tokens counted once
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_usage_is_exactly_commandcodes_and_cached_tokens_are_counted_once(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, CONVERSATION)

    expected: Final = assert_is_the_fakes_answer(answer, server)
    tokens: Final = expected_tokens(expected)
    assert tokens_of(answer.usage) == tokens
    assert tokens["cached_tokens"] == 64
    assert answer.usage["prompt_tokens"] == number(expected["usage"], "inputTokenDetails", "noCacheTokens") + 64
    if mode in STREAM_MODES:
        assert answer.usage_at == [answer.chunks - 1]


ANTHROPIC_HEADERS: Final = {"anthropic-version": "2023-06-01"}


def anthropic_usage(response: httpx.Response, stream: bool) -> dict[str, object]:
    if not stream:
        response.read()
        usage = response.json()["usage"]
        assert isinstance(usage, dict)
        return usage
    deltas: Final = [event for event in sse_events(response) if event.get("type") == "message_delta"]
    assert len(deltas) == 1
    usage_delta: Final = deltas[0]["usage"]
    assert isinstance(usage_delta, dict)
    return usage_delta


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_surface_reports_cache_reads_apart_from_input_tokens(
    stream: bool, server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    body: Final = {
        "model": f"commandcode/{MODEL}",
        "max_tokens": 1024,
        "stream": stream,
        "system": [{"type": "text", "text": str(CONVERSATION[0]["content"])}],
        "messages": [
            {"role": message["role"], "content": [{"type": "text", "text": message["content"]}]}
            for message in CONVERSATION[1:]
        ],
    }

    with gateway.stream("POST", "/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        assert response.status_code == 200, response.read()
        usage: Final = anthropic_usage(response, stream)

    tokens: Final = expected_tokens(fakes_answer(server))
    assert tokens["cached_tokens"] == 64
    assert usage["input_tokens"] == tokens["prompt_tokens"] - tokens["cached_tokens"]
    assert usage["cache_read_input_tokens"] == tokens["cached_tokens"]
    assert usage["output_tokens"] == tokens["completion_tokens"]


# ---------------------------------------------------------------------------------------------------------------------
# 3. Abort: a caller that leaves stops the upstream request, and nothing is left running
# ---------------------------------------------------------------------------------------------------------------------

LONG_STALL: Final = "stall_mid seconds=30"


async def test_cancelling_the_task_mid_stream_closes_the_upstream_request_and_leaves_no_task(
    server: FakeCommandCodeServer,
) -> None:
    before: Final = asyncio.all_tasks()
    got_content: Final = asyncio.Event()

    async def consume() -> None:
        stream = await litellm.acompletion(**sdk_kwargs(server, marked(LONG_STALL)), stream=True)
        async for chunk in stream:
            if chunk.choices[0].delta.content:
                got_content.set()

    task: Final = asyncio.create_task(consume())
    await asyncio.wait_for(got_content.wait(), REQUEST_SECONDS)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await saw_disconnect(server, WAIT_SECONDS, POLL_SECONDS), "the fake never saw its client leave"
    assert [(record.disconnected, record.finished) for record in server.requests] == [(True, False)]
    assert await tasks_left_after(before) == set()


async def test_closing_an_async_stream_early_closes_the_upstream_request_and_leaves_no_task(
    server: FakeCommandCodeServer,
) -> None:
    before: Final = asyncio.all_tasks()
    stream: Final = await litellm.acompletion(**sdk_kwargs(server, marked(LONG_STALL)), stream=True)
    async for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    await stream.aclose()

    assert await saw_disconnect(server, WAIT_SECONDS, POLL_SECONDS), "the fake never saw its client leave"
    assert [(record.disconnected, record.finished) for record in server.requests] == [(True, False)]
    assert await tasks_left_after(before) == set()


def one_connection() -> HTTPHandler:
    return HTTPHandler(client=httpx.Client(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)))


async def test_a_sync_stream_dropped_early_closes_the_upstream_request_and_frees_its_connection(
    server: FakeCommandCodeServer,
) -> None:
    """LiteLLM's sync stream has no close(): a caller stops iterating and drops it. With a pool of one connection, the
    next request only gets through if the dropped stream gave its connection back (else: a pool timeout)."""
    pool: Final = one_connection()
    stream = litellm.completion(**sdk_kwargs(server, marked(LONG_STALL), client=pool, timeout=5), stream=True)
    for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    del stream, chunk

    assert await saw_disconnect(server, WAIT_SECONDS, POLL_SECONDS), "the fake never saw its client leave"
    response: Final = litellm.completion(**sdk_kwargs(server, [user("next one")], client=pool, timeout=5))
    assert response.choices[0].message.content == expected_answer(generate_body(server.requests[1]))["text"]
    assert [(record.disconnected, record.finished) for record in server.requests] == [(True, False), (False, True)]


async def test_a_client_leaving_the_proxy_mid_stream_closes_the_upstream_request(
    server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    body: Final = proxy_body(marked(LONG_STALL), MODEL, True, {})
    with gateway.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        for line in sse_lines(response):
            if line.startswith("data: {") and chunk_deltas([json.loads(line.removeprefix("data: "))]):
                break

    assert await saw_disconnect(server, WAIT_SECONDS, POLL_SECONDS), "the fake never saw its client leave"
    assert [(record.disconnected, record.finished) for record in server.requests] == [(True, False)]


# ---------------------------------------------------------------------------------------------------------------------
# 4. Empty answers: content "" (never None), the right finish_reason, the reasoning kept
# ---------------------------------------------------------------------------------------------------------------------


def empty_params() -> list[object]:
    params: Final[list[object]] = []
    for mode in MODES:
        params.append(pytest.param("empty", mode, id=f"{mode}-empty"))
        if mode in STREAM_MODES:
            # One network write: the answer's reasoning, finish and usage arrive in one read, deterministically.
            params.append(pytest.param("reasoning_only burst=20", mode, id=f"{mode}-reasoning_only"))
        else:
            params.append(pytest.param("reasoning_only", mode, id=f"{mode}-reasoning_only"))
    return params


@pytest.mark.parametrize(("scenario", "mode"), empty_params())
async def test_an_answer_without_text_is_an_empty_string_with_finish_reason_stop(
    scenario: str, mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, marked(scenario, "Think about it"))

    # The fake's `ok` answer to the same request has the same prompt and, for `reasoning_only`, the same reasoning.
    ok: Final = fakes_answer(server)
    reasoning: Final = "" if scenario == "empty" else str(ok["reasoning"])
    completion_tokens: Final = 0 if scenario == "empty" else expected_tokens(ok)["reasoning_tokens"]
    prompt_tokens: Final = expected_tokens(ok)["prompt_tokens"]
    assert answer.content == ""
    assert answer.message["content"] == ""
    assert [text for kind, text in answer.deltas if kind == "content"] == []
    assert answer.finish_reasons == ["stop"]
    assert answer.tool_calls == []
    assert tokens_of(answer.usage)["prompt_tokens"] == prompt_tokens
    assert tokens_of(answer.usage)["completion_tokens"] == completion_tokens
    assert tokens_of(answer.usage)["total_tokens"] == prompt_tokens + completion_tokens
    check(
        (answer.reasoning or "") == reasoning, ReasoningLost, f"reasoning {answer.reasoning!r}, expected {reasoning!r}"
    )
    assert reasoning in ("", f"The user wrote {len(scenario.split()) + 3} words. I will answer briefly.")


# ---------------------------------------------------------------------------------------------------------------------
# 5. Context overflow: ContextWindowExceededError, context_window_fallbacks, pre-call checks
# ---------------------------------------------------------------------------------------------------------------------


async def sdk_error(mode: Mode, kwargs: dict[str, object]) -> BaseException | None:
    """The error of one SDK call in `mode`, raised by the call itself or while iterating the stream."""
    try:
        if mode == "sdk-sync":
            litellm.completion(**kwargs)
        elif mode == "sdk-async":
            await litellm.acompletion(**kwargs)
        elif mode == "sdk-sync-stream":
            list(litellm.completion(**kwargs, stream=True))
        else:
            [chunk async for chunk in await litellm.acompletion(**kwargs, stream=True)]
    except Exception as error:
        return error
    return None


@pytest.mark.parametrize("scenario", ["http_400_context", "stream_context"])
@pytest.mark.parametrize("mode", SDK_MODES)
async def test_prompt_too_long_is_a_context_window_exceeded_error_in_the_sdk(
    mode: Mode, scenario: str, server: FakeCommandCodeServer
) -> None:
    error: Final = await sdk_error(mode, sdk_kwargs(server, marked(scenario)))

    assert type(error) is litellm.ContextWindowExceededError
    assert error.status_code == 400
    assert CONTEXT_MESSAGE in error.message
    assert [record.scenario for record in server.requests] == [scenario]


@pytest.mark.parametrize("scenario", ["http_400_context", "stream_context"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_prompt_too_long_is_a_400_naming_context_window_exceeded_through_the_proxy(
    stream: bool, scenario: str, server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    response: Final = gateway.post("/v1/chat/completions", json=proxy_body(marked(scenario), MODEL, stream, {}))

    assert response.status_code == 400
    error: Final = response.json()["error"]
    assert error["code"] == "400"
    assert error["message"].startswith("litellm.ContextWindowExceededError: ")
    assert CONTEXT_MESSAGE in error["message"]
    assert [record.scenario for record in server.requests] == [scenario]


SMALL_KEY: Final = "user_small_window"
BIG_KEY: Final = "user_big_window"


def deployment(group: str, model: str, key: str, api_base: str, **model_info: object) -> dict[str, object]:
    entry: Final[dict[str, object]] = {
        "model_name": group,
        "litellm_params": {"model": model, "api_base": api_base, "api_key": key},
    }
    return {**entry, "model_info": model_info} if model_info else entry


def keys_of(server: FakeCommandCodeServer) -> list[tuple[str, int]]:
    return [(upstream_key(record), record.status) for record in server.requests]


async def routed(router: litellm.Router, mode: Mode, group: str, messages: Messages) -> Answer:
    kwargs: Final = {"model": group, "messages": messages}
    if mode == "sdk-sync":
        return response_answer(router.completion(**kwargs))
    if mode == "sdk-async":
        return response_answer(await router.acompletion(**kwargs))
    if mode == "sdk-sync-stream":
        return stream_answer(list(router.completion(**kwargs, stream=True, stream_options=INCLUDE_USAGE)), messages)
    stream: Final = await router.acompletion(**kwargs, stream=True, stream_options=INCLUDE_USAGE)
    return stream_answer([chunk async for chunk in stream], messages)


@pytest.mark.parametrize("scenario", ["http_400_context", "stream_context"])
@pytest.mark.parametrize("mode", SDK_MODES)
async def test_context_window_fallbacks_hand_a_too_long_prompt_to_the_bigger_deployment(
    mode: Mode, scenario: str, server: FakeCommandCodeServer, route: str
) -> None:
    router: Final = litellm.Router(
        model_list=[
            deployment("small", f"commandcode/{MODEL}", SMALL_KEY, server.url),
            deployment("big", f"commandcode/{VISION_MODEL}", BIG_KEY, server.url),
        ],
        context_window_fallbacks=[{"small": ["big"]}],
        num_retries=0,
    )
    server.set_key_scenario(SMALL_KEY, scenario)

    answer: Final = await routed(router, mode, "small", [user("Review this whole repository")])

    # The Provider API door answers an error before any content with its HTTP status, not a 200 stream.
    first_status: Final = 400 if scenario == "http_400_context" or route == "provider_api" else 200
    assert keys_of(server) == [(SMALL_KEY, first_status), (BIG_KEY, 200)]
    assert generate_body(server.requests[1])["params"]["model"] == VISION_MODEL  # type: ignore[index]
    expected: Final = expected_answer(generate_body(server.requests[1]))
    assert answer.content == expected["text"]
    assert answer.reasoning == expected["reasoning"]
    assert tokens_of(answer.usage) == expected_tokens(expected)


LONG_PROMPT: Final = "Please review this function carefully and list every bug you find. " * 40
SMALL_WINDOW: Final = 200


@pytest.fixture
def isolated_model_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Router registers each deployment's `model_info` in LiteLLM's global cost map (`max_input_tokens=200` for
    `commandcode/deepseek/...` here): the test works on a copy, so that no other test sees the small window."""
    monkeypatch.setattr(litellm, "model_cost", copy.deepcopy(litellm.model_cost))


@pytest.mark.usefixtures("isolated_model_cost")
async def test_pre_call_checks_skip_a_deployment_whose_context_window_is_too_small(
    server: FakeCommandCodeServer,
) -> None:
    """`order` makes the small deployment the router's first choice: only the pre-call check can skip it."""
    small: Final = deployment("coder", f"commandcode/{MODEL}", SMALL_KEY, server.url, max_input_tokens=SMALL_WINDOW)
    small["litellm_params"]["order"] = 1  # type: ignore[index]
    big: Final = deployment("coder", f"commandcode/{VISION_MODEL}", BIG_KEY, server.url)
    big["litellm_params"]["order"] = 2  # type: ignore[index]
    router: Final = litellm.Router(model_list=[small, big], enable_pre_call_checks=True, num_retries=0)

    long_answer: Final = await router.acompletion(model="coder", messages=[user(LONG_PROMPT)])
    short_answer: Final = await router.acompletion(model="coder", messages=[user("hi")])

    assert keys_of(server) == [(BIG_KEY, 200), (SMALL_KEY, 200)]
    assert long_answer.choices[0].message.content == expected_answer(generate_body(server.requests[0]))["text"]
    assert short_answer.choices[0].message.content == expected_answer(generate_body(server.requests[1]))["text"]


@pytest.mark.usefixtures("isolated_model_cost")
@pytest.mark.parametrize("provider", ["commandcode", "openai"])
async def test_a_prompt_over_every_context_window_fails_before_sending_as_for_a_built_in_provider(
    provider: str, server: FakeCommandCodeServer, openai_fake: OpenAIRecorder
) -> None:
    model: Final = f"commandcode/{MODEL}" if provider == "commandcode" else "openai/gpt-4o-mini"
    api_base: Final = server.url if provider == "commandcode" else openai_fake.url
    router: Final = litellm.Router(
        model_list=[deployment("coder", model, SMALL_KEY, api_base, max_input_tokens=SMALL_WINDOW)],
        enable_pre_call_checks=True,
        num_retries=0,
    )

    with pytest.raises(litellm.ContextWindowExceededError) as raised:
        await router.acompletion(model="coder", messages=[user(LONG_PROMPT)])

    assert raised.value.status_code == 400
    assert "No models have context window large enough for this call" in raised.value.message
    assert f"Model={model}, Max Input Tokens={SMALL_WINDOW}, Got=" in raised.value.message
    assert server.requests == []
    assert openai_fake.bodies == []


# ---------------------------------------------------------------------------------------------------------------------
# 6. Image limits: PNG, JPEG, GIF, WEBP go through as they are; 5 MiB is the limit; the rest is a 400 before sending
# ---------------------------------------------------------------------------------------------------------------------

MAGIC: Final = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
    "image/gif": b"GIF87a",
    "image/webp": b"RIFF",
}


def image_message(*urls: str, text: str = "What is in this picture?") -> Messages:
    parts: Final[list[object]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in urls)
    return [{"role": "user", "content": parts}]


def wire_image(url: str, mime: str) -> dict[str, object]:
    return {"type": "image", "image": url, "mimeType": mime}


def png_of(size: int) -> str:
    """A valid 1x1 PNG of exactly `size` bytes as a data URL: PNG_B64 with a tEXt chunk before its IEND chunk."""
    base: Final = base64.b64decode(PNG_B64)
    end: Final = base.index(b"IEND") - 4
    text: Final = b"Comment\x00" + b"x" * (size - len(base) - 12 - len(b"Comment\x00"))
    chunk: Final = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    image: Final = base[:end] + chunk + base[end:]
    assert len(image) == size
    return "data:image/png;base64," + base64.b64encode(image).decode("ascii")


@pytest.mark.parametrize("mime", list(IMAGES))
@pytest.mark.parametrize("mode", ["sdk-sync", "sdk-async-stream"])
async def test_each_supported_image_type_reaches_the_wire_unchanged(
    mode: Mode, mime: str, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    url: Final = IMAGES[mime]
    assert base64.b64decode(url.split(",", 1)[1]).startswith(MAGIC[mime])

    answer: Final = await run(mode, server, gateways, image_message(url), model=VISION_MODEL)

    assert wire(server)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"}, wire_image(url, mime)]}
    ]
    assert_is_the_fakes_answer(answer, server)


def test_all_four_image_types_in_one_message_reach_the_wire_through_the_proxy(
    server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    body: Final = proxy_body(image_message(*IMAGES.values(), text="Compare these"), VISION_MODEL, False, {})

    response: Final = gateway.post("/v1/chat/completions", json=body)

    assert response.status_code == 200, response.text
    assert wire(server)["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Compare these"}, *(wire_image(url, m) for m, url in IMAGES.items())],
        }
    ]
    assert response.json()["choices"][0]["message"]["content"] == fakes_answer(server)["text"]


def test_an_image_of_exactly_5_mib_goes_through_unchanged(server: FakeCommandCodeServer) -> None:
    url: Final = png_of(MAX_IMAGE_BYTES)

    response: Final = litellm.completion(**sdk_kwargs(server, image_message(url), model=VISION_MODEL))

    assert wire(server)["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is in this picture?"}, wire_image(url, "image/png")],
        }
    ]
    assert response.choices[0].message.content == fakes_answer(server)["text"]


REFUSED_IMAGES: Final = (
    pytest.param(
        MODEL,
        IMAGES["image/png"],
        f"messages[0]: model {MODEL} does not accept images (text-only); remove the image or pick a vision model",
        id="text-only-model",
    ),
    pytest.param(
        VISION_MODEL,
        f"data:image/tiff;base64,{TIFF_B64}",
        f"messages[0]: image type image/tiff is not supported; use one of {ACCEPTED_TYPES}",
        id="tiff",
    ),
    pytest.param(
        VISION_MODEL,
        f"data:image/svg+xml;base64,{SVG_B64}",
        f"messages[0]: image type image/svg+xml is not supported; use one of {ACCEPTED_TYPES}",
        id="svg",
    ),
    pytest.param(
        VISION_MODEL,
        "5 MiB + 1",
        "messages[0]: image is 5242881 bytes; Command Code accepts images up to 5242880 bytes (5 MiB)",
        id="one-byte-over-5-mib",
    ),
)


@pytest.mark.parametrize(("model", "url", "message"), REFUSED_IMAGES)
@pytest.mark.parametrize("where", ["sdk", "proxy-json", "proxy-stream"])
def test_a_refused_image_is_a_clear_400_and_nothing_is_sent(
    where: str, model: str, url: str, message: str, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    messages: Final = image_message(png_of(MAX_IMAGE_BYTES + 1) if url == "5 MiB + 1" else url)

    if where == "sdk":
        with pytest.raises(litellm.BadRequestError) as raised:
            litellm.completion(**sdk_kwargs(server, messages, model=model))
        assert raised.value.status_code == 400
        assert raised.value.message.endswith(f"CommandcodeException - {message}")
    else:
        body = proxy_body(messages, model, where == "proxy-stream", {})
        response = gateways().post("/v1/chat/completions", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "400"
        assert f"litellm.BadRequestError: CommandcodeException - {message}" in response.json()["error"]["message"]
    assert server.requests == []


# ---------------------------------------------------------------------------------------------------------------------
# 7. Unicode: everywhere in a conversation; lone surrogates; characters split across network reads and across deltas
# ---------------------------------------------------------------------------------------------------------------------

LONE_SURROGATE_CONVERSATION: Final[Messages] = [
    {"role": "system", "content": "Rules 📏: answer in 中文 or עברית, keep cafe\u0301 as is. Broken \udc00 here."},
    {"role": "user", "content": "Find the family 👨\u200d👩\u200d👧 photos in 東京 \ud800 please"},
    {
        "role": "assistant",
        "content": "Searching… \u202bمرحبا\u202c",
        "tool_calls": [
            {
                "id": "call_unicode",
                "type": "function",
                "function": {"name": "search", "arguments": '{"query": "東京 👋 \\ud83d", "lang": "ar مرحبا\\udfff"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_unicode", "content": "٣ results \ud83d: 🎉 ñ"},
    {"role": "user", "content": "Thanks 🙏 \ud800 — שלום עולם, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, e\u0301"},
]
LAST_USER_ON_THE_WIRE: Final = "Thanks 🙏 \ufffd — שלום עולם, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, e\u0301"
UNICODE_WIRE: Final = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "Find the family 👨\u200d👩\u200d👧 photos in 東京 \ufffd please"}],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Searching… \u202bمرحبا\u202c"},
            {
                "type": "tool-call",
                "toolCallId": "call_unicode",
                "toolName": "search",
                "input": {"query": "東京 👋 \ufffd", "lang": "ar مرحبا\ufffd"},
            },
        ],
    },
    {
        "role": "tool",
        "content": [
            {
                "type": "tool-result",
                "toolCallId": "call_unicode",
                "toolName": "search",
                "output": {"type": "text", "value": "٣ results \ufffd: 🎉 ñ"},
            }
        ],
    },
    {"role": "user", "content": [{"type": "text", "text": LAST_USER_ON_THE_WIRE}]},
]


@pytest.mark.generate_only(reason=WIRE_BODY_ONLY)
@pytest.mark.parametrize("mode", SDK_MODES)
async def test_unicode_everywhere_reaches_the_wire_exactly_and_lone_surrogates_as_replacement_characters(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, LONE_SURROGATE_CONVERSATION)

    params: Final = wire(server)
    assert params["system"] == "Rules 📏: answer in 中文 or עברית, keep cafe\u0301 as is. Broken \ufffd here."
    assert params["messages"] == UNICODE_WIRE
    assert (
        answer.content
        == f"You said: {LAST_USER_ON_THE_WIRE}\nThis is a deterministic answer from the fake Command Code server."
    )
    assert_is_the_fakes_answer(answer, server)


# The same conversation without lone surrogates, as raw JSON with \u escapes (surrogate pairs for astral characters).
ESCAPED_CONVERSATION: Final = (
    r'[{"role":"system","content":"Rules \ud83d\udccf: answer in \u4e2d\u6587 or \u05e2\u05d1\u05e8\u05d9\u05ea"},'
    r'{"role":"user","content":"Find \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67 in \u6771\u4eac"},'
    r'{"role":"assistant","content":"Searching\u2026 \u202b\u0645\u0631\u062d\u0628\u0627\u202c","tool_calls":'
    r'[{"id":"call_unicode","type":"function","function":{"name":"search","arguments":'
    r'"{\"query\": \"\u6771\u4eac \ud83d\udc4b\"}"}}]},'
    r'{"role":"tool","tool_call_id":"call_unicode","content":"\u0663 results: \ud83c\udf89 n\u0303"},'
    r'{"role":"user","content":"Thanks \ud83d\ude4f \u2014 \u05e9\u05dc\u05d5\u05dd, e\u0301"}]'
)
ESCAPED_WIRE: Final = [
    {"role": "user", "content": [{"type": "text", "text": "Find 👨\u200d👩\u200d👧 in 東京"}]},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Searching… \u202bمرحبا\u202c"},
            {"type": "tool-call", "toolCallId": "call_unicode", "toolName": "search", "input": {"query": "東京 👋"}},
        ],
    },
    {
        "role": "tool",
        "content": [
            {
                "type": "tool-result",
                "toolCallId": "call_unicode",
                "toolName": "search",
                "output": {"type": "text", "value": "٣ results: 🎉 n\u0303"},
            }
        ],
    },
    {"role": "user", "content": [{"type": "text", "text": "Thanks 🙏 — שלום, e\u0301"}]},
]


def raw_chat(messages_json: str, stream: bool) -> bytes:
    head: Final = f'{{"model":"commandcode/{MODEL}","stream":{json.dumps(stream)},"messages":'
    return (head + messages_json + "}").encode("ascii")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_escaped_unicode_sent_as_raw_json_through_the_proxy_reaches_the_wire_exactly(
    stream: bool, server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    headers: Final = {"Content-Type": "application/json"}
    with gateway.stream(
        "POST", "/v1/chat/completions", content=raw_chat(ESCAPED_CONVERSATION, stream), headers=headers
    ) as response:
        assert response.status_code == 200, response.read()
        answer = proxy_stream_answer(sse_events(response)) if stream else None
        if answer is None:
            response.read()
            content = response.json()["choices"][0]["message"]["content"]
        else:
            content = answer.content

    params: Final = wire(server)
    assert params["system"] == "Rules 📏: answer in 中文 or עברית"
    assert params["messages"] == ESCAPED_WIRE
    assert (
        content
        == "You said: Thanks 🙏 — שלום, e\u0301\nThis is a deterministic answer from the fake Command Code server."
    )


LONE_SURROGATE_PLACES: Final = {
    "system": r'[{"role":"system","content":"Broken \udc00 here"},{"role":"user","content":"hi"}]',
    "user": r'[{"role":"user","content":"a\ud800b"}]',
    "assistant": (
        r'[{"role":"user","content":"hi"},{"role":"assistant","content":"x\ud800"},'
        r'{"role":"user","content":"go"}]'
    ),
    "tool": (
        r'[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1",'
        r'"type":"function","function":{"name":"search","arguments":"{}"}}]},'
        r'{"role":"tool","tool_call_id":"call_1","content":"found \ud83d"}]'
    ),
}


@pytest.mark.parametrize("place", list(LONE_SURROGATE_PLACES))
def test_lone_surrogate_escapes_through_the_proxy_get_litellms_clear_400_and_nothing_is_sent(
    place: str, server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    """Stock LiteLLM's proxy reads request bodies in litellm/proxy/common_utils/http_parsing_utils.py:read_request_body
    and answers a lone surrogate escape with a 400 before any provider runs (the SDK path replaces them with U+FFFD,
    see above). The proxy keeps serving."""
    headers: Final = {"Content-Type": "application/json"}

    refused: Final = gateway.post(
        "/v1/chat/completions", content=raw_chat(LONE_SURROGATE_PLACES[place], False), headers=headers
    )
    served: Final = gateway.post("/v1/chat/completions", json=proxy_body([user("still there?")], MODEL, False, {}))

    assert refused.status_code == 400
    error: Final = refused.json()["error"]
    assert error["message"].startswith("Invalid JSON payload: ")
    assert "surrogate" in error["message"]
    assert (error["code"], error["param"]) == ("400", "request_body")
    assert served.status_code == 200
    assert [record.scenario for record in server.requests] == ["ok"]


ESCAPED_IN_ARGUMENTS: Final = (
    r'[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1",'
    r'"type":"function","function":{"name":"search","arguments":"{\"q\": \"x\\udfff y\"}"}}]},'
    r'{"role":"tool","tool_call_id":"call_1","content":"ok"}]'
)


@pytest.mark.generate_only(reason=WIRE_BODY_ONLY)
def test_a_lone_surrogate_escaped_inside_tool_arguments_reaches_the_wire_as_a_replacement_character(
    server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    """The arguments are a JSON string inside the JSON body: the proxy's parser sees an escaped backslash, the provider
    decodes the arguments and replaces the lone surrogate."""
    headers: Final = {"Content-Type": "application/json"}

    response: Final = gateway.post(
        "/v1/chat/completions", content=raw_chat(ESCAPED_IN_ARGUMENTS, False), headers=headers
    )

    assert response.status_code == 200, response.text
    assert wire(server)["messages"][1] == {  # type: ignore[index]
        "role": "assistant",
        "content": [{"type": "tool-call", "toolCallId": "call_1", "toolName": "search", "input": {"q": "x\ufffd y"}}],
    }
    assert response.json()["choices"][0]["message"]["content"] == fakes_answer(server)["text"]


@pytest.mark.parametrize("mode", MODES)
async def test_characters_split_across_network_reads_reassemble_exactly(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, marked("unicode"))

    assert answer.content == "".join(UNICODE_DELTAS)
    assert answer.content == (
        "Emoji 👋🌍, CJK 你好，世界, combining e\u0301 and n\u0303, separator\u2028inside, "
        "family 👨\u200d👩\u200d👧, split 🎉 done."
    )
    assert answer.finish_reasons == ["stop"]


@pytest.mark.generate_only(reason=UTF16_SLICES_ONLY)
@pytest.mark.parametrize("mode", MODES)
async def test_characters_split_across_deltas_reassemble_exactly(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, marked("unicode_deltas"))

    content: Final = answer.content or ""
    lone: Final = [char for char in content if "\ud800" <= char <= "\udfff"]
    check(lone == [], SurrogatesInAnswer, f"lone surrogates in the answer: {[hex(ord(char)) for char in lone]}")
    assert content == UNICODE_SPLIT_TEXT
    assert content == "Family 👨\u200d👩\u200d👧, cafe\u0301, party 🎉, Hebrew שלום עולם, Arabic مرحبا بالعالم."
    assert answer.finish_reasons == ["stop"]


# ---------------------------------------------------------------------------------------------------------------------
# 8. Tool calls without a result: sent in a form the server accepts, nothing silently lost
# ---------------------------------------------------------------------------------------------------------------------

MISSING_RESULT: Final = "No result: the tool call did not complete."
RUN_TESTS_TOOL: Final = {
    "type": "function",
    "function": {"name": "run_tests", "description": "Run the test suite.", "parameters": {"type": "object"}},
}
AGENT_TOOLS: Final = [WEATHER_TOOL, RUN_TESTS_TOOL]


def call(call_id: str, name: str, arguments: Mapping[str, object]) -> dict[str, object]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def tool_result(call_id: str, content: object) -> dict[str, object]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def wire_text(*texts: str) -> list[dict[str, object]]:
    return [{"type": "text", "text": text} for text in texts]


def wire_call(call_id: str, name: str, arguments: Mapping[str, object]) -> dict[str, object]:
    return {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": dict(arguments)}


def wire_result(call_id: str, name: str, value: str) -> dict[str, object]:
    return {"type": "tool-result", "toolCallId": call_id, "toolName": name, "output": {"type": "text", "value": value}}


PARIS: Final = {"city": "Paris"}
ROME: Final = {"city": "Rome"}
HISTORIES: Final = {
    "a-parallel-call-never-answered": (
        [
            user("Check the weather in Paris and Rome"),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [call("call_paris", "get_weather", PARIS), call("call_rome", "get_weather", ROME)],
            },
            tool_result("call_rome", "22C, sunny"),
            user("Paris timed out, go on"),
        ],
        [
            {"role": "user", "content": wire_text("Check the weather in Paris and Rome")},
            {
                "role": "assistant",
                "content": [wire_call("call_paris", "get_weather", PARIS), wire_call("call_rome", "get_weather", ROME)],
            },
            {
                "role": "tool",
                "content": [
                    wire_result("call_rome", "get_weather", "22C, sunny"),
                    wire_result("call_paris", "get_weather", MISSING_RESULT),
                ],
            },
            {"role": "user", "content": wire_text("Paris timed out, go on")},
        ],
    ),
    "a-cancelled-call-then-a-new-request": (
        [
            user("Run the tests"),
            {"role": "assistant", "content": "Running them.", "tool_calls": [call("call_tests", "run_tests", {})]},
            user("Stop, just tell me the weather in Paris"),
        ],
        [
            {"role": "user", "content": wire_text("Run the tests")},
            {"role": "assistant", "content": [*wire_text("Running them."), wire_call("call_tests", "run_tests", {})]},
            {"role": "tool", "content": [wire_result("call_tests", "run_tests", MISSING_RESULT)]},
            {"role": "user", "content": wire_text("Stop, just tell me the weather in Paris")},
        ],
    ),
    "the-history-ends-with-the-call": (
        [
            user("Run the tests"),
            {"role": "assistant", "content": None, "tool_calls": [call("call_tests", "run_tests", {})]},
        ],
        [
            {"role": "user", "content": wire_text("Run the tests")},
            {"role": "assistant", "content": [wire_call("call_tests", "run_tests", {})]},
            {"role": "tool", "content": [wire_result("call_tests", "run_tests", MISSING_RESULT)]},
        ],
    ),
    "a-result-after-the-next-user-message": (
        [
            user("Run the tests"),
            {"role": "assistant", "content": None, "tool_calls": [call("call_tests", "run_tests", {})]},
            user("Hurry up"),
            tool_result("call_tests", "3 passed"),
        ],
        [
            {"role": "user", "content": wire_text("Run the tests")},
            {"role": "assistant", "content": [wire_call("call_tests", "run_tests", {})]},
            {"role": "tool", "content": [wire_result("call_tests", "run_tests", MISSING_RESULT)]},
            {"role": "user", "content": wire_text("Hurry up", "Result of tool call call_tests (run_tests):\n3 passed")},
        ],
    ),
    "a-result-sent-twice": (
        [
            user("Weather in Paris?"),
            {"role": "assistant", "content": None, "tool_calls": [call("call_paris", "get_weather", PARIS)]},
            tool_result("call_paris", "18C"),
            tool_result("call_paris", "18C (retried)"),
        ],
        [
            {"role": "user", "content": wire_text("Weather in Paris?")},
            {"role": "assistant", "content": [wire_call("call_paris", "get_weather", PARIS)]},
            {"role": "tool", "content": [wire_result("call_paris", "get_weather", "18C")]},
            {"role": "user", "content": wire_text("Result of tool call call_paris (get_weather):\n18C (retried)")},
        ],
    ),
    "a-result-whose-call-was-compacted-away": (
        [user("Continue the refactoring"), tool_result("call_gone", "def f(): ..."), user("What next?")],
        [
            {
                "role": "user",
                "content": wire_text(
                    "Continue the refactoring",
                    "Result of tool call call_gone (unknown tool):\ndef f(): ...",
                    "What next?",
                ),
            },
        ],
    ),
}


@pytest.mark.generate_only(reason=WIRE_BODY_ONLY)
@pytest.mark.parametrize("history", list(HISTORIES))
@pytest.mark.parametrize("mode", ["sdk-sync", "sdk-async-stream", "proxy-json"])
async def test_a_tool_call_without_its_result_is_sent_in_a_form_the_server_accepts_and_nothing_is_lost(
    mode: Mode, history: str, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    messages, expected_wire = HISTORIES[history]

    answer: Final = await run(mode, server, gateways, messages, tools=AGENT_TOOLS)

    assert [record.status for record in server.requests] == [200]
    assert wire(server)["messages"] == expected_wire
    assert_is_the_fakes_answer(answer, server)


# ---------------------------------------------------------------------------------------------------------------------
# 9. Images in tool results: the image follows the tool results in a user message
# ---------------------------------------------------------------------------------------------------------------------

SCREENSHOT_TOOL: Final = {
    "type": "function",
    "function": {
        "name": "screenshot",
        "description": "Screenshot of a page.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
}
SCREENSHOT_ID: Final = "toolu_01A09q90qw90lq917835lq9"
SCREENSHOT_WIRE: Final = [
    {"role": "user", "content": wire_text("Take a screenshot of the login page")},
    {
        "role": "assistant",
        "content": [*wire_text("I'll take it."), wire_call(SCREENSHOT_ID, "screenshot", {"path": "/login"})],
    },
    {"role": "tool", "content": [wire_result(SCREENSHOT_ID, "screenshot", "Captured /login")]},
    {
        "role": "user",
        "content": [
            *wire_text(f"Image returned by tool call {SCREENSHOT_ID}:"),
            wire_image(IMAGES["image/png"], "image/png"),
        ],
    },
]


@pytest.mark.generate_only(reason=WIRE_BODY_ONLY)
@pytest.mark.parametrize("mode", ["sdk-sync", "sdk-async-stream", "proxy-json", "proxy-stream"])
async def test_an_image_in_an_openai_tool_result_reaches_the_wire_after_the_tool_results(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    messages: Final[Messages] = [
        user("Take a screenshot of the login page"),
        {
            "role": "assistant",
            "content": "I'll take it.",
            "tool_calls": [call(SCREENSHOT_ID, "screenshot", {"path": "/login"})],
        },
        tool_result(
            SCREENSHOT_ID,
            [
                {"type": "text", "text": "Captured /login"},
                {"type": "image_url", "image_url": {"url": IMAGES["image/png"]}},
            ],
        ),
    ]

    answer: Final = await run(mode, server, gateways, messages, model=VISION_MODEL, tools=[SCREENSHOT_TOOL])

    assert wire(server)["messages"] == SCREENSHOT_WIRE
    assert_is_the_fakes_answer(answer, server)


@pytest.mark.generate_only(reason=WIRE_BODY_ONLY)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_image_in_an_anthropic_tool_result_block_reaches_the_wire_after_the_tool_results(
    stream: bool, server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    """Claude Code through the proxy's Anthropic surface: a `tool_result` block whose content holds an image block."""
    body: Final = {
        "model": f"commandcode/{VISION_MODEL}",
        "max_tokens": 4096,
        "stream": stream,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "tools": [
            {
                "name": "screenshot",
                "description": "Screenshot of a page.",
                "input_schema": SCREENSHOT_TOOL["function"]["parameters"],
            }
        ],  # type: ignore[index]
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Take a screenshot of the login page"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "I'll take it."},
                    {"type": "tool_use", "id": SCREENSHOT_ID, "name": "screenshot", "input": {"path": "/login"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": SCREENSHOT_ID,
                        "content": [
                            {"type": "text", "text": "Captured /login"},
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                        ],
                    }
                ],
            },
        ],
    }

    with gateway.stream("POST", "/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        assert response.status_code == 200, response.read()
        if stream:
            kinds = [event.get("type") for event in sse_events(response)]
        else:
            response.read()
            kinds = [response.json()["type"]]

    params: Final = wire(server)
    assert params["system"] == "You are Claude Code."
    assert params["messages"] == SCREENSHOT_WIRE
    assert kinds[0] in ("message", "message_start")
    assert kinds[-1] in ("message", "message_stop")


# ---------------------------------------------------------------------------------------------------------------------
# 10. Total tokens and cost: total = prompt + completion; the cost is the catalog price of exactly those tokens
# ---------------------------------------------------------------------------------------------------------------------


def hand_cost(model: str, tokens: Mapping[str, int]) -> Decimal:
    """Cost from the prices in model_prices_and_context_window.json: cached tokens at the cache-read price."""
    entry: Final = COST_MAP[f"commandcode/{model}"]
    fresh: Final = tokens["prompt_tokens"] - tokens["cached_tokens"]
    return (
        fresh * Decimal(str(entry["input_cost_per_token"]))
        + tokens["cached_tokens"] * Decimal(str(entry["cache_read_input_token_cost"]))
        + tokens["completion_tokens"] * Decimal(str(entry["output_cost_per_token"]))
    )


def same_cost(reported: object, expected: Decimal) -> bool:
    assert isinstance(reported, float)
    return abs(Decimal(repr(reported)) - expected) <= expected * Decimal("1e-12")


@pytest.mark.parametrize("model", [MODEL, VISION_MODEL])
@pytest.mark.parametrize("mode", MODES)
async def test_total_tokens_are_the_sum_and_the_cost_is_the_catalog_price_of_exactly_those_tokens(
    mode: Mode, model: str, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, CONVERSATION, model=model)

    tokens: Final = expected_tokens(assert_is_the_fakes_answer(answer, server))
    usage: Final = tokens_of(answer.usage)
    assert usage["total_tokens"] == number(usage, "prompt_tokens") + number(usage, "completion_tokens")
    assert usage == tokens
    expected_cost: Final = hand_cost(model, tokens)
    assert same_cost(answer.cost, expected_cost), (answer.cost, expected_cost)
    if mode in SDK_MODES:
        recomputed = litellm.completion_cost(completion_response=answer.response, model=f"commandcode/{model}")
        assert same_cost(recomputed, expected_cost), (recomputed, expected_cost)


# ---------------------------------------------------------------------------------------------------------------------
# 11. Cross-provider handoff: other providers' conversations continue on commandcode/..., and the reverse
# ---------------------------------------------------------------------------------------------------------------------

LONG_CALL_ID: Final = "call_" + "a1B2-c3D4_" * 20
READ_FILE_TOOL: Final = {
    "type": "function",
    "function": {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}},
}
EDIT_FILE_TOOL: Final = {"type": "function", "function": {"name": "edit_file", "parameters": {"type": "object"}}}
CODING_TOOLS: Final = [READ_FILE_TOOL, EDIT_FILE_TOOL, RUN_TESTS_TOOL]
# As Pi, OpenCode, Cline and Hermes resend it after other models answered: an Anthropic turn (thinking blocks with
# signatures, a toolu_ id), an OpenAI Responses-style fc_ id, a very long id with dashes, reasoning_content from a
# DeepSeek-style model, OpenAI message dumps (refusal/audio/annotations None), `name` fields, three system prompts.
HANDOFF: Final[Messages] = [
    {"role": "system", "content": "You are Pi, a coding agent."},
    {"role": "user", "content": "Fix the failing test in tests/test_app.py", "name": "alice"},
    {"role": "system", "content": "The repository uses pytest."},
    {
        "role": "assistant",
        "content": "Let me read it.",
        "thinking_blocks": [
            {"type": "thinking", "thinking": "I should read the test file first.", "signature": "EqQBCkYIARgCKkBsig=="},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4="},
        ],
        "tool_calls": [call("toolu_01A09q90qw90lq917835lq9", "read_file", {"path": "tests/test_app.py"})],
    },
    {
        "role": "tool",
        "tool_call_id": "toolu_01A09q90qw90lq917835lq9",
        "name": "read_file",
        "content": "assert add(1, 2) == 4",
    },
    {
        "role": "assistant",
        "content": None,
        "reasoning_content": "The expected value is wrong.",
        "refusal": None,
        "audio": None,
        "function_call": None,
        "annotations": [],
        "tool_calls": [
            {**call("fc_68b1c2d3e4f5a6b7", "edit_file", {"path": "tests/test_app.py", "new": "== 3"}), "index": 0},
            {**call(LONG_CALL_ID, "run_tests", {}), "index": 1},
        ],
    },
    tool_result("fc_68b1c2d3e4f5a6b7", "edited"),
    tool_result(LONG_CALL_ID, "1 passed"),
    {"role": "developer", "content": "Answer briefly."},
    {"role": "user", "content": "Great, summarize.", "name": "alice"},
]
HANDOFF_SYSTEM: Final = "You are Pi, a coding agent.\n\nThe repository uses pytest.\n\nAnswer briefly."
HANDOFF_WIRE: Final = [
    {"role": "user", "content": wire_text("Fix the failing test in tests/test_app.py")},
    {
        "role": "assistant",
        "content": [
            {"type": "reasoning", "text": "I should read the test file first."},
            *wire_text("Let me read it."),
            wire_call("toolu_01A09q90qw90lq917835lq9", "read_file", {"path": "tests/test_app.py"}),
        ],
    },
    {"role": "tool", "content": [wire_result("toolu_01A09q90qw90lq917835lq9", "read_file", "assert add(1, 2) == 4")]},
    {
        "role": "assistant",
        "content": [
            {"type": "reasoning", "text": "The expected value is wrong."},
            wire_call("fc_68b1c2d3e4f5a6b7", "edit_file", {"path": "tests/test_app.py", "new": "== 3"}),
            wire_call(LONG_CALL_ID, "run_tests", {}),
        ],
    },
    {
        "role": "tool",
        "content": [
            wire_result("fc_68b1c2d3e4f5a6b7", "edit_file", "edited"),
            wire_result(LONG_CALL_ID, "run_tests", "1 passed"),
        ],
    },
    {"role": "user", "content": wire_text("Great, summarize.")},
]


@pytest.mark.generate_only(reason=WIRE_BODY_ONLY)
@pytest.mark.parametrize("mode", ["sdk-sync", "sdk-async-stream", "proxy-json", "proxy-stream"])
async def test_a_conversation_from_other_providers_continues_on_commandcode_with_the_exact_wire_body(
    mode: Mode, server: FakeCommandCodeServer, gateways: Gateways
) -> None:
    answer: Final = await run(mode, server, gateways, HANDOFF, tools=CODING_TOOLS)

    assert [record.status for record in server.requests] == [200]
    params: Final = wire(server)
    assert params["system"] == HANDOFF_SYSTEM
    assert params["messages"] == HANDOFF_WIRE
    assert [tool["name"] for tool in params["tools"]] == ["read_file", "edit_file", "run_tests"]  # type: ignore[union-attr]
    assert_is_the_fakes_answer(answer, server)


@pytest.mark.generate_only(reason=WIRE_BODY_ONLY)
def test_a_claude_code_conversation_through_the_anthropic_surface_continues_on_commandcode(
    server: FakeCommandCodeServer, gateway: httpx.Client
) -> None:
    body: Final = {
        "model": f"commandcode/{VISION_MODEL}",
        "max_tokens": 4096,
        "system": [
            {"type": "text", "text": "You are Claude Code."},
            {"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}},
        ],
        "tools": [
            {
                "name": "Bash",
                "description": "Run a command",
                "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
            }
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Run the tests"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "I will run pytest.", "signature": "EqQBCkYIARgCKkBsigXYZ=="},
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4="},
                    {"type": "text", "text": "Running."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "Bash",
                        "input": {"command": "pytest -q"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "3 passed"},
                    {"type": "text", "text": "Thanks, summarize."},
                ],
            },
        ],
    }

    response: Final = gateway.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)

    assert response.status_code == 200, response.text
    params: Final = wire(server)
    assert params["system"] == "You are Claude Code.\nBe terse."
    assert params["messages"] == [
        {"role": "user", "content": wire_text("Run the tests")},
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "I will run pytest."},
                *wire_text("Running."),
                wire_call("toolu_01A09q90qw90lq917835lq9", "Bash", {"command": "pytest -q"}),
            ],
        },
        {"role": "tool", "content": [wire_result("toolu_01A09q90qw90lq917835lq9", "Bash", "3 passed")]},
        {"role": "user", "content": wire_text("Thanks, summarize.")},
    ]
    assert response.json()["type"] == "message"


def commandcode_turn(
    where: str, server: FakeCommandCodeServer, gateways: Gateways, messages: Messages
) -> dict[str, object]:
    """One commandcode answer as the client got it and would resend it: `message.model_dump()` or the proxy's JSON."""
    if where == "sdk":
        response = litellm.completion(**sdk_kwargs(server, messages, tools=[WEATHER_TOOL]))
        return response.choices[0].message.model_dump()
    completion = gateways().post(
        "/v1/chat/completions", json=proxy_body(messages, MODEL, False, {"tools": [WEATHER_TOOL]})
    )
    assert completion.status_code == 200, completion.text
    message = completion.json()["choices"][0]["message"]
    assert isinstance(message, dict)
    return message


@pytest.mark.parametrize("where", ["sdk", "proxy"])
def test_a_conversation_from_commandcode_continues_on_openai_with_its_tool_calls_and_results(
    where: str, server: FakeCommandCodeServer, gateways: Gateways, openai_fake: OpenAIRecorder
) -> None:
    question: Final = user("What is the weather in Paris?")
    calling: Final = commandcode_turn(where, server, gateways, [question])
    [(call_id, name, arguments)] = calls_of(calling)
    assert (name, arguments) == ("get_weather", {"city": "Paris"})
    assert calling["reasoning_content"] == "The user needs get_weather. I will call it."
    result: Final = tool_result(call_id, "18C and light rain")
    answering: Final = commandcode_turn(where, server, gateways, [question, calling, result])
    assert answering["content"] == "The tool returned: 18C and light rain."
    history: Final = [question, calling, result, answering, user("Summarize in one line.")]

    response: Final = litellm.completion(
        model="openai/gpt-4o-mini", messages=history, tools=[WEATHER_TOOL], api_base=openai_fake.url, api_key="sk-fake"
    )

    assert response.choices[0].message.content == OPENAI_ANSWER
    [sent] = openai_fake.bodies
    messages: Final = sent["messages"]
    assert isinstance(messages, list)
    assert [message["role"] for message in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[0] == {"role": "user", "content": "What is the weather in Paris?"}
    [sent_call] = messages[1]["tool_calls"]
    assert (sent_call["id"], sent_call["type"], sent_call["function"]["name"]) == (call_id, "function", "get_weather")
    assert json.loads(sent_call["function"]["arguments"]) == {"city": "Paris"}
    assert messages[2] == {"role": "tool", "tool_call_id": call_id, "content": "18C and light rain"}
    assert messages[3]["content"] == "The tool returned: 18C and light rain."
    assert messages[4] == {"role": "user", "content": "Summarize in one line."}
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["get_weather"]  # type: ignore[union-attr]
    assert [record.status for record in server.requests] == [200, 200]
