"""The LiteLLM SDK (`litellm.completion` / `acompletion`, streaming and not) against the in-process fake Command Code
server, after `litellm_commandcode.register()`: answers, usage and cost exactly as Command Code reported them."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

import pytest

import litellm
import litellm_commandcode
from litellm.exceptions import UnsupportedParamsError
from litellm.llms.commandcode.common_utils import get_commandcode_model_info
from litellm.types.utils import (
    ChatCompletionMessageToolCall,
    LlmProviders,
    Message,
    ModelResponse,
    ModelResponseStream,
    Usage,
)
from litellm_commandcode.fake_server import FakeCommandCodeServer, expected_answer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.fake_answers import expected_tokens
from tests.support.chat_requests import CONVERSATION, WEATHER_TOOL
from tests.support.fake_stack import generate_body, generate_params

NATIVE: Final = litellm_knows_commandcode()
ROOT: Final = Path(__file__).resolve().parents[2]
COST_MAP: Final = json.loads((ROOT / "model_prices_and_context_window.json").read_text(encoding="utf-8"))
MODEL: Final = "deepseek/deepseek-v4-flash"
VISION_MODEL: Final = "claude-sonnet-4-6"
KEY: Final = "user_sdk_test"
PNG: Final = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
FINISH_REASONS: Final = {"stop": "stop", "tool-calls": "tool_calls"}
ROUTES: Final = ("generate", "provider_api")
Mode = Literal["sync", "async", "sync-stream", "async-stream"]
MODES: Final[tuple[Mode, ...]] = ("sync", "async", "sync-stream", "async-stream")
Messages = list[dict[str, object]]


@dataclass(frozen=True)
class Outcome:
    message: Message
    finish_reason: str
    usage: Usage
    cost: float


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    assert litellm_commandcode.register() is (not NATIVE)


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer) -> None:
    server.reset()


@pytest.fixture(autouse=True, params=ROUTES)
def route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs over both doors (`COMMANDCODE_ROUTE`), but those marked `generate_only`: they check the
    `/alpha/generate` wire body, or nothing that depends on the door."""
    chosen: Final = str(request.param)
    if chosen != "generate" and request.node.get_closest_marker("generate_only") is not None:
        pytest.skip("checks the /alpha/generate wire body, or nothing that depends on the door")
    if chosen != "provider_api" and request.node.get_closest_marker("provider_api_only") is not None:
        pytest.skip("checks the Provider API door only")
    monkeypatch.setenv("COMMANDCODE_ROUTE", chosen)
    return chosen


def user(text: str) -> dict[str, object]:
    return {"role": "user", "content": text}


def wire_params(server: FakeCommandCodeServer) -> dict[str, object]:
    """The `/alpha/generate` request's params as the provider sent them (default door only)."""
    assert server.requests[-1].path == "/alpha/generate"
    return generate_params(server.requests[-1])


def last_request(server: FakeCommandCodeServer) -> dict[str, object]:
    body: Final = server.requests[-1].body
    assert isinstance(body, dict)
    return body


def usage_numbers(usage: Usage) -> dict[str, int | None]:
    prompt_details: Final = usage.prompt_tokens_details
    completion_details: Final = usage.completion_tokens_details
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": prompt_details.cached_tokens if prompt_details is not None else None,
        "reasoning_tokens": completion_details.reasoning_tokens if completion_details is not None else None,
    }


def hand_cost(model: str, tokens: Mapping[str, int]) -> Decimal:
    """Cost from the catalog prices in model_prices_and_context_window.json: cached tokens at the cache-read price."""
    entry: Final = COST_MAP[f"commandcode/{model}"]
    fresh: Final = tokens["prompt_tokens"] - tokens["cached_tokens"]
    return (
        fresh * Decimal(str(entry["input_cost_per_token"]))
        + tokens["cached_tokens"] * Decimal(str(entry["cache_read_input_token_cost"]))
        + tokens["completion_tokens"] * Decimal(str(entry["output_cost_per_token"]))
    )


def call_kwargs(model: str, messages: Sequence[Mapping[str, object]], **params: object) -> dict[str, object]:
    return {
        "model": f"commandcode/{model}",
        "messages": list(messages),
        "api_base": params.pop("api_base"),
        "api_key": KEY,
        **params,
    }


def response_outcome(response: object) -> Outcome:
    assert isinstance(response, ModelResponse)
    choice: Final = response.choices[0]
    usage: Final = getattr(response, "usage", None)
    cost: Final = response._hidden_params["response_cost"]
    assert isinstance(usage, Usage)
    assert isinstance(cost, float)
    return Outcome(message=choice.message, finish_reason=choice.finish_reason, usage=usage, cost=cost)


def stream_outcome(chunks: list[ModelResponseStream], messages: Sequence[Mapping[str, object]]) -> Outcome:
    with_usage: Final = [index for index, chunk in enumerate(chunks) if getattr(chunk, "usage", None) is not None]
    assert with_usage == [len(chunks) - 1]
    usage: Final = getattr(chunks[-1], "usage", None)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert {chunk.id for chunk in chunks} == {chunks[0].id}
    assert len({chunk.model for chunk in chunks}) == 1 and get_commandcode_model_info(chunks[0].model) is not None
    assembled: Final = litellm.stream_chunk_builder(chunks, messages=list(messages))
    assert isinstance(assembled, ModelResponse)
    choice: Final = assembled.choices[0]
    assert isinstance(usage, Usage)
    cost: Final = getattr(usage, "cost", None)
    assert isinstance(cost, float)
    return Outcome(message=choice.message, finish_reason=choice.finish_reason, usage=usage, cost=cost)


async def complete(
    mode: Mode, server: FakeCommandCodeServer, model: str, messages: Messages, **params: object
) -> Outcome:
    kwargs: Final = call_kwargs(model, messages, api_base=server.url, **params)
    if mode == "sync":
        return response_outcome(litellm.completion(**kwargs))
    if mode == "async":
        return response_outcome(await litellm.acompletion(**kwargs))
    stream_kwargs: Final = {**kwargs, "stream": True, "stream_options": {"include_usage": True}}
    if mode == "sync-stream":
        return stream_outcome(list(litellm.completion(**stream_kwargs)), messages)
    stream: Final = await litellm.acompletion(**stream_kwargs)
    return stream_outcome([chunk async for chunk in stream], messages)


def function_calls(message: Message) -> list[ChatCompletionMessageToolCall]:
    calls: Final = list(message.tool_calls or ())
    assert all(isinstance(call, ChatCompletionMessageToolCall) for call in calls)
    return [call for call in calls if isinstance(call, ChatCompletionMessageToolCall)]


def tool_calls_of(message: Message) -> list[tuple[str, str | None, object]]:
    return [
        (call.id, call.function.name, json.loads(call.function.arguments or "{}")) for call in function_calls(message)
    ]


def assert_matches_the_fake(outcome: Outcome, server: FakeCommandCodeServer, model: str) -> dict[str, int]:
    """The answer, usage and cost equal what the fake sent for the request it recorded; returns the token counts."""
    answer: Final = expected_answer(generate_body(server.requests[-1]))
    tokens: Final = expected_tokens(answer)
    sent_calls: Final = answer["tool_calls"]
    assert isinstance(sent_calls, list)
    assert tool_calls_of(outcome.message) == [(call["id"], call["name"], call["input"]) for call in sent_calls]
    assert outcome.message.content == (answer["text"] or None)
    assert outcome.message.reasoning_content == (answer["reasoning"] or None)
    assert outcome.finish_reason == FINISH_REASONS[str(answer["finish_reason"])]
    assert usage_numbers(outcome.usage) == tokens
    assert outcome.cost == pytest.approx(float(hand_cost(model, tokens)), rel=1e-12, abs=0)
    assert Decimal(str(answer["cost"])) == hand_cost(model, tokens)
    return tokens


@pytest.mark.parametrize("mode", MODES)
async def test_text_answer_reasoning_usage_and_cost_are_commandcodes(mode: Mode, server: FakeCommandCodeServer) -> None:
    outcome: Final = await complete(mode, server, MODEL, [user("hello there")])

    tokens: Final = assert_matches_the_fake(outcome, server, MODEL)
    assert outcome.message.content == (
        "You said: hello there\nThis is a deterministic answer from the fake Command Code server."
    )
    assert outcome.message.reasoning_content == "The user wrote 2 words. I will answer briefly."
    assert tokens["reasoning_tokens"] == 12
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_cached_tokens_of_a_multi_turn_conversation_are_priced_at_the_cache_read_rate(
    mode: Mode, server: FakeCommandCodeServer
) -> None:
    outcome: Final = await complete(mode, server, MODEL, CONVERSATION)

    tokens: Final = assert_matches_the_fake(outcome, server, MODEL)
    assert tokens["cached_tokens"] == 64
    assert tokens["prompt_tokens"] > tokens["cached_tokens"]
    assert outcome.usage.prompt_tokens == tokens["prompt_tokens"]


def assistant_turn(message: Message) -> dict[str, object]:
    """The assistant's tool-call turn as a client sends it back, reasoning included."""
    calls: Final = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments},
        }
        for call in function_calls(message)
    ]
    return {
        "role": "assistant",
        "content": message.content,
        "reasoning_content": message.reasoning_content,
        "tool_calls": calls,
    }


@pytest.mark.parametrize("mode", MODES)
async def test_tool_call_round_trip_over_two_turns(mode: Mode, server: FakeCommandCodeServer) -> None:
    question: Final = user("What is the weather in Paris?")

    first: Final = await complete(mode, server, MODEL, [question], tools=[WEATHER_TOOL])

    assert_matches_the_fake(first, server, MODEL)
    assert first.finish_reason == "tool_calls"
    assert first.message.content is None
    [(call_id, name, arguments)] = tool_calls_of(first.message)
    assert (name, arguments) == ("get_weather", {"city": "Paris"})
    tool_result: Final[dict[str, object]] = {"role": "tool", "tool_call_id": call_id, "content": "18C and light rain"}

    second: Final = await complete(
        mode, server, MODEL, [question, assistant_turn(first.message), tool_result], tools=[WEATHER_TOOL]
    )

    assert_matches_the_fake(second, server, MODEL)
    assert second.message.content == "The tool returned: 18C and light rain."
    assert second.finish_reason == "stop"
    assert generate_params(server.requests[-1])["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is the weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "The user needs get_weather. I will call it."},
                {"type": "tool-call", "toolCallId": call_id, "toolName": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": call_id,
                    "toolName": "get_weather",
                    "output": {"type": "text", "value": "18C and light rain"},
                }
            ],
        },
    ]


@pytest.mark.parametrize("mode", ["sync", "async-stream"])
async def test_image_reaches_a_vision_model_as_an_image_part(mode: Mode, server: FakeCommandCodeServer) -> None:
    """On the Provider API door the fake's translation of the Anthropic request gives the same parts."""
    content: Final = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": PNG}},
    ]

    outcome: Final = await complete(mode, server, VISION_MODEL, [{"role": "user", "content": content}])

    assert_matches_the_fake(outcome, server, VISION_MODEL)
    assert generate_params(server.requests[-1])["model"] == VISION_MODEL
    assert generate_params(server.requests[-1])["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "image": PNG, "mimeType": "image/png"},
            ],
        }
    ]
    assert outcome.message.content == (
        "You said: What is in this picture?\nThis is a deterministic answer from the fake Command Code server."
    )


@pytest.mark.parametrize(
    ("model", "effort", "sent"),
    [
        (MODEL, "low", "high"),
        (MODEL, "medium", "high"),
        (MODEL, "high", "high"),
        (MODEL, "xhigh", "max"),
        (MODEL, "max", "max"),
        (MODEL, "minimal", "high"),
        (MODEL, "ultra", "max"),
        (MODEL, "none", None),
        (VISION_MODEL, "medium", "medium"),
    ],
)
def test_reasoning_effort_reaches_the_wire_at_the_models_level_without_allowed_openai_params(
    model: str, effort: str, sent: str | None, server: FakeCommandCodeServer, route: str
) -> None:
    if route == "provider_api" and model == VISION_MODEL:
        pytest.skip("Claude models take Anthropic's thinking parameters on the Provider API (see the next test)")
    litellm.completion(**call_kwargs(model, [user("hi")], api_base=server.url, reasoning_effort=effort))

    sent_body: Final = wire_params(server) if route == "generate" else last_request(server)
    assert sent_body.get("reasoning_effort", None) == sent


@pytest.mark.provider_api_only
def test_reasoning_effort_of_a_claude_model_becomes_anthropics_thinking_on_the_provider_api(
    server: FakeCommandCodeServer,
) -> None:
    litellm.completion(**call_kwargs(VISION_MODEL, [user("hi")], api_base=server.url, reasoning_effort="medium"))

    sent: Final = last_request(server)
    assert server.requests[-1].path == "/provider/v1/messages"
    assert "reasoning_effort" not in sent
    assert sent.get("thinking") is not None or sent.get("output_config") is not None


def test_top_p_is_rejected_before_any_request(server: FakeCommandCodeServer) -> None:
    with pytest.raises(UnsupportedParamsError) as raised:
        litellm.completion(**call_kwargs(MODEL, [user("hi")], api_base=server.url, top_p=0.5))

    assert raised.value.status_code == 400
    assert "top_p" in raised.value.message
    assert server.requests == []


@pytest.mark.generate_only
def test_top_p_is_dropped_with_drop_params(server: FakeCommandCodeServer) -> None:
    response: Final = litellm.completion(
        **call_kwargs(MODEL, [user("hi")], api_base=server.url, top_p=0.5, temperature=0.2, drop_params=True)
    )

    assert response.choices[0].message.content == (
        "You said: hi\nThis is a deterministic answer from the fake Command Code server."
    )
    assert sorted(wire_params(server)) == [
        "max_tokens",
        "messages",
        "model",
        "stream",
        "system",
        "temperature",
        "tools",
    ]
    assert wire_params(server)["temperature"] == 0.2


@pytest.mark.generate_only
@pytest.mark.skipif(NATIVE, reason="LiteLLM ships commandcode: there is nothing to register")
def test_register_is_idempotent(server: FakeCommandCodeServer) -> None:
    member: Final = LlmProviders("commandcode")

    assert litellm_commandcode.register() is True
    assert litellm_commandcode.register() is True

    assert [entry["provider"] for entry in litellm.custom_provider_map].count("commandcode") == 1
    assert litellm.provider_list.count("commandcode") == 1
    assert litellm._custom_providers.count("commandcode") == 1
    assert LlmProviders._member_names_.count("COMMANDCODE") == 1
    assert LlmProviders("commandcode") is member
    response: Final = litellm.completion(**call_kwargs(MODEL, [user("still works")], api_base=server.url))
    assert response.choices[0].message.content.startswith("You said: still works\n")
    assert len(server.requests) == 1


@pytest.mark.generate_only
@pytest.mark.parametrize(
    ("model", "provider"), [("commandcode/deepseek/deepseek-v4-flash", None), (MODEL, "commandcode")]
)
def test_get_model_info_reads_the_commandcode_cost_map_entry(model: str, provider: str | None) -> None:
    entry: Final = COST_MAP["commandcode/deepseek/deepseek-v4-flash"]

    info: Final = litellm.get_model_info(model, custom_llm_provider=provider)

    assert info["key"] == "commandcode/deepseek/deepseek-v4-flash"
    assert info["litellm_provider"] == "commandcode"
    assert info["mode"] == "chat"
    assert info["input_cost_per_token"] == entry["input_cost_per_token"] == 1.5e-07
    assert info["output_cost_per_token"] == entry["output_cost_per_token"] == 6e-07
    assert info["cache_read_input_token_cost"] == entry["cache_read_input_token_cost"] == 3e-09
    assert info["max_input_tokens"] == entry["max_input_tokens"] == 1_000_000
    assert info["max_output_tokens"] == entry["max_output_tokens"] == 64_000
    assert info["supports_reasoning"] is True
    assert info["supports_function_calling"] is True
    assert info["supports_vision"] is False


@pytest.mark.generate_only
@pytest.mark.skipif(not NATIVE, reason="only against a LiteLLM that ships commandcode")
def test_register_is_a_no_op_when_litellm_ships_commandcode() -> None:
    assert litellm_commandcode.register() is False
    assert "commandcode" not in [entry["provider"] for entry in litellm.custom_provider_map]
    assert "commandcode" not in litellm._custom_providers
    assert litellm.get_llm_provider("commandcode/deepseek/deepseek-v4-flash")[:2] == (MODEL, "commandcode")


@pytest.mark.parametrize("scenario", ["http_400_context", "stream_context"])
@pytest.mark.parametrize("stream", [False, True])
def test_context_overflow_is_a_context_window_exceeded_error(
    scenario: str, stream: bool, server: FakeCommandCodeServer
) -> None:
    kwargs: Final = call_kwargs(MODEL, [user(f"long prompt [[fake:{scenario}]]")], api_base=server.url, stream=stream)
    with pytest.raises(litellm.ContextWindowExceededError) as raised:
        litellm.completion(**kwargs)
    assert "prompt is too long" in str(raised.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("scenario", ["http_429 reset_in=120", "stream_error_embedded"])
@pytest.mark.parametrize("mode", MODES)
async def test_a_usage_window_429_is_a_rate_limit_error_from_the_call_itself_with_its_retry_after(
    mode: Mode, scenario: str, server: FakeCommandCodeServer
) -> None:
    kwargs: Final = call_kwargs(MODEL, [user(f"once more [[fake:{scenario}]]")], api_base=server.url)
    stream: Final = mode.endswith("stream")
    with pytest.raises(litellm.RateLimitError) as raised:  # raised by the call: no chunk is ever read
        if mode.startswith("async"):
            await litellm.acompletion(**kwargs, stream=stream)
        else:
            litellm.completion(**kwargs, stream=stream)
    error: Final = raised.value
    assert len(server.requests) == 1
    if scenario.startswith("http_429"):
        assert "Usage limit reached for the fiveHour window" in error.message
        assert (
            error.headers is not None and 119 <= int(error.headers["retry-after"]) <= 120
        )  # whole seconds, rounded up
    else:
        assert "Rate limit exceeded" in error.message
        assert error.headers is None  # this in-stream 429 names no reset time
