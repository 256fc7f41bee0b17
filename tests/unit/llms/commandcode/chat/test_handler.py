import json
from collections.abc import Sequence

import httpx
import pytest

import litellm
from litellm.llms.commandcode.chat.handler import commandcode_completion, commandcode_route
from litellm.llms.commandcode.chat.pause_turn import summed_usage
from litellm.llms.commandcode.common_utils import CommandCodeError
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, HTTPHandler
from litellm.main import base_llm_http_handler
from litellm.types.utils import ModelResponse, ModelResponseStream, Usage

MODEL = "deepseek/deepseek-v4-flash"
KEY = "user_test_key_123"
PARTS = ("Hel", "lo ", "world")


def usage(prompt: int, completion: int) -> dict[str, object]:
    return {"inputTokens": prompt, "outputTokens": completion, "inputTokenDetails": {"cacheReadTokens": 0}}


def answer(text: str, raw_finish_reason: str, tokens: tuple[int, int]) -> bytes:
    events = [
        {"type": "start"},
        {"type": "text-delta", "id": "t", "text": text},
        {"type": "finish", "finishReason": "stop", "rawFinishReason": raw_finish_reason, "totalUsage": usage(*tokens)},
    ]
    return b"".join(json.dumps(event).encode() + b"\n" for event in events)


class Pausing:
    """A /alpha/generate that answers PARTS one request at a time, pausing after all but the last (or after every
    one when `pauses` exceeds them)."""

    def __init__(self, pauses: int) -> None:
        self.pauses = pauses
        self.bodies: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        index = len(self.bodies) - 1
        text = PARTS[index % len(PARTS)]
        reason = "pause_turn" if index < self.pauses else "stop"
        return httpx.Response(200, content=answer(text, reason, (10 + index, 2)))


class ChatPausing(Pausing):
    """The Provider API's /chat/completions answering PARTS with `finish_reason: "pause_turn"`, which OpenAI's schema
    does not have: a server that sends it anyway gets the same continuations."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/provider/v1/chat/completions"
        body = json.loads(request.content)
        self.bodies.append(body)
        index = len(self.bodies) - 1
        text = PARTS[index % len(PARTS)]
        reason = "pause_turn" if index < self.pauses else "stop"
        tokens = {"prompt_tokens": 10 + index, "completion_tokens": 2, "total_tokens": 12 + index}
        base = {"id": f"chatcmpl-{index}", "created": 0, "model": MODEL}
        if not body.get("stream"):
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": reason}
            return httpx.Response(200, json={**base, "object": "chat.completion", "choices": [choice], "usage": tokens})
        chunks = [
            {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None},
            {"index": 0, "delta": {}, "finish_reason": reason},
        ]
        events = [{**base, "object": "chat.completion.chunk", "choices": [chunk]} for chunk in chunks]
        events.append({**base, "object": "chat.completion.chunk", "choices": [], "usage": tokens})
        sse = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events) + b"data: [DONE]\n\n"
        return httpx.Response(200, content=sse, headers={"content-type": "text/event-stream"})


def call(transport: Pausing, stream: bool, acompletion: bool, **params: object) -> object:
    mock = httpx.MockTransport(transport)
    client = AsyncHTTPHandler(transport=mock) if acompletion else HTTPHandler(client=httpx.Client(transport=mock))
    messages = [{"role": "user", "content": "hi"}]
    logging_obj = litellm.litellm_core_utils.litellm_logging.Logging(
        model=MODEL,
        messages=messages,
        stream=stream,
        call_type="completion",
        start_time=None,
        litellm_call_id="t",
        function_id="t",
    )
    logging_obj.update_environment_variables(model=MODEL, user="", optional_params={}, litellm_params={})
    return commandcode_completion(
        base_llm_http_handler,
        model=MODEL,
        messages=messages,  # type: ignore[arg-type]
        api_base="http://commandcode.test",
        custom_llm_provider="commandcode",
        model_response=ModelResponse(),
        encoding=None,
        logging_obj=logging_obj,
        optional_params={"max_tokens": 100, **params},
        timeout=10.0,
        litellm_params={},
        acompletion=acompletion,
        stream=stream,
        api_key=KEY,
        headers={},
        client=client,
    )


async def outcome(transport: Pausing, mode: str, **params: object) -> tuple[str, str, tuple[int, int]]:
    stream = mode.endswith("stream")
    acompletion = mode.startswith("async")
    result = call(transport, stream, acompletion, **params)
    if acompletion:
        result = await result  # type: ignore[misc]
    if not stream:
        assert isinstance(result, ModelResponse)
        tokens = (result.usage.prompt_tokens, result.usage.completion_tokens)  # type: ignore[attr-defined]
        return str(result.choices[0].message.content), str(result.choices[0].finish_reason), tokens  # type: ignore[union-attr]
    raw = result.completion_stream  # type: ignore[attr-defined]
    chunks: Sequence[ModelResponseStream] = [chunk async for chunk in raw] if acompletion else list(raw)
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices[0].finish_reason]
    usages = [chunk.usage for chunk in chunks if getattr(chunk, "usage", None) is not None]  # type: ignore[attr-defined]
    assert len(finishes) == 1 and len(usages) == 1
    assert len({chunk.id for chunk in chunks}) == 1
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    return text, str(finishes[0]), (usages[0].prompt_tokens, usages[0].completion_tokens)


MODES = ("sync", "async", "sync-stream", "async-stream")


@pytest.mark.parametrize("mode", MODES)
async def test_an_answer_without_pause_is_one_request(mode: str) -> None:
    transport = Pausing(pauses=0)

    assert await outcome(transport, mode) == ("Hel", "stop", (10, 2))
    assert len(transport.bodies) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_paused_parts_are_joined_with_their_usage_summed(mode: str) -> None:
    transport = Pausing(pauses=2)

    assert await outcome(transport, mode) == ("Hello world", "stop", (10 + 11 + 12, 6))
    assert [body["params"]["messages"][-1] for body in transport.bodies[1:]] == [  # type: ignore[index]
        {"role": "assistant", "content": [{"type": "text", "text": "Hel"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello "}]},
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_the_sixth_pause_stops_with_length(mode: str) -> None:
    transport = Pausing(pauses=99)

    text, finish, tokens = await outcome(transport, mode)

    assert len(transport.bodies) == 6
    assert (text, finish) == ("Hello worldHello world", "length")
    assert tokens == (sum(range(10, 16)), 12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pauses", [1, 99])
async def test_a_pause_turn_finish_reason_on_chat_completions_is_continued_the_same_way(mode: str, pauses: int) -> None:
    transport = ChatPausing(pauses=pauses)

    text, finish, tokens = await outcome(transport, mode, commandcode_route="provider_api")

    requests = min(pauses, 5) + 1
    assert len(transport.bodies) == requests
    assert (text, finish) == (("Hello ", "stop") if pauses == 1 else ("Hello worldHello world", "length"))
    assert tokens == (sum(range(10, 10 + requests)), 2 * requests)
    assert transport.bodies[1]["messages"][-1] == {"role": "assistant", "content": "Hel"}


@pytest.mark.parametrize(
    ("param", "env", "route"),
    [
        (None, None, "generate"),
        (None, "provider_api", "provider_api"),
        ("generate", "provider_api", "generate"),
        ("Provider-API", None, "provider_api"),
    ],
)
def test_the_route_is_the_param_else_the_environment_else_generate(
    param: str | None, env: str | None, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv("COMMANDCODE_ROUTE", raising=False)
    else:
        monkeypatch.setenv("COMMANDCODE_ROUTE", env)
    params = {} if param is None else {"commandcode_route": param}

    assert commandcode_route(params, {}) == route


def test_an_unknown_route_is_a_400() -> None:
    with pytest.raises(CommandCodeError) as raised:
        commandcode_route({"commandcode_route": "openai"}, {})

    assert raised.value.status_code == 400


def test_usage_of_two_parts_is_summed_once() -> None:
    first = Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13, prompt_tokens_details={"cached_tokens": 4})
    second = Usage(
        prompt_tokens=20,
        completion_tokens=5,
        total_tokens=25,
        prompt_tokens_details={"cached_tokens": 8},
        completion_tokens_details={"reasoning_tokens": 2},
    )

    total = summed_usage(first, second)

    assert total is not None
    assert (total.prompt_tokens, total.completion_tokens, total.total_tokens) == (30, 8, 38)
    assert total.prompt_tokens_details.cached_tokens == 12  # type: ignore[union-attr]
    assert total.completion_tokens_details.reasoning_tokens == 2  # type: ignore[union-attr]
    assert summed_usage(None, second) is second


def test_usage_of_two_parts_keeps_the_cache_writes_of_both() -> None:
    first = Usage(
        prompt_tokens=100,
        completion_tokens=3,
        total_tokens=103,
        prompt_tokens_details={"cached_tokens": 40, "cache_write_tokens": 50},
        cache_read_input_tokens=40,
        cache_creation_input_tokens=50,
    )
    second = Usage(
        prompt_tokens=120,
        completion_tokens=5,
        total_tokens=125,
        prompt_tokens_details={"cached_tokens": 90, "cache_write_tokens": 7},
        cache_read_input_tokens=90,
        cache_creation_input_tokens=7,
    )

    total = summed_usage(first, second)

    assert total is not None
    assert total.prompt_tokens_details is not None
    assert (total.prompt_tokens_details.cached_tokens, total.prompt_tokens_details.cache_write_tokens) == (130, 57)
    assert (total.cache_read_input_tokens, total.cache_creation_input_tokens) == (130, 57)  # type: ignore[attr-defined]
