"""A real LiteLLM proxy process started with examples/config.yaml, pointed at the in-process fake Command Code server
and driven by the `openai` SDK: answers, reasoning, tool calls, exact usage and cost, and Command Code's errors as
HTTP statuses."""

import json
import secrets
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Final, cast

import openai
import pytest
import yaml
from openai.types.chat import (
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCall,
    ChatCompletionStreamOptionsParam,
    ChatCompletionToolParam,
)
from openai.types.completion_usage import CompletionUsage

from litellm_commandcode.catalog import build_cost_map
from litellm_commandcode.fake_server import HTTP_FAULTS, FakeCommandCodeServer, expected_answer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.fake_answers import expected_tokens
from tests.proxy_process import ProxyProcess, write_config
from tests.support.chat_requests import CONVERSATION, WEATHER_TOOL
from tests.support.fake_stack import openai_client, proxy_in_front

ROOT: Final = Path(__file__).resolve().parents[2]
CONFIG: Final = ROOT / "examples" / "config.yaml"
COST_MAP: Final = json.loads((ROOT / "model_prices_and_context_window.json").read_text(encoding="utf-8"))
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
WIRE_MODEL: Final = "deepseek/deepseek-v4-flash"
COMMANDCODE_KEY: Final = "user_proxy_test"
MASTER_KEY: Final = f"sk-proxy-test-{secrets.token_hex(8)}"
REQUEST_SECONDS: Final = 30.0
COST_HEADER: Final = "x-litellm-response-cost"
RATE_LIMIT_MESSAGE: Final = "RATE_LIMITED: Usage limit reached for the fiveHour window. It resets at "
ROUTES: Final = ("generate", "provider_api")


def proxy_config(workdir: Path) -> Path:
    """The example config without cooldowns: stock LiteLLM cools the single deployment down for 5 s after a 401 (and
    1.110 ignores `DEFAULT_COOLDOWN_TIME_SECONDS=0`), and the error cases must not leak into each other. For a
    LiteLLM that ships commandcode, also without the plug-in's custom_provider_map."""
    config: Final = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["router_settings"] = {**config.get("router_settings", {}), "disable_cooldowns": True}
    if litellm_knows_commandcode():
        config.pop("litellm_settings", None)
    return write_config(workdir, config)


@pytest.fixture(scope="module", params=ROUTES)
def route(request: pytest.FixtureRequest) -> str:
    """The door every test of this module goes through: one proxy per door, `COMMANDCODE_ROUTE` in its environment."""
    return str(request.param)


@pytest.fixture(scope="module")
def proxy(
    server: FakeCommandCodeServer, route: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("proxy")
    config: Final = proxy_config(workdir)
    env: Final = {"COMMANDCODE_API_KEY": COMMANDCODE_KEY, "LITELLM_MASTER_KEY": MASTER_KEY, "COMMANDCODE_ROUTE": route}
    with proxy_in_front(server, workdir, config, **env) as started:
        yield started


@pytest.fixture(scope="module")
def client(proxy: ProxyProcess) -> Iterator[openai.OpenAI]:
    with openai_client(proxy, MASTER_KEY, REQUEST_SECONDS) as sdk_client:
        yield sdk_client


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer, proxy_log_on_failure: None) -> None:
    """Every test starts with no recorded requests and gets the proxy's log when it fails."""
    server.reset()


def last_answer(server: FakeCommandCodeServer) -> dict[str, object]:
    """The fake's answer to the one request it got, on either door (computed on the generate door's body it stands
    for)."""
    assert len(server.requests) == 1
    body: Final = server.requests[0].generate_body
    assert isinstance(body, dict)
    return expected_answer(body)


def tokens_of(usage: CompletionUsage | None) -> dict[str, int | None]:
    assert usage is not None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None,
        "reasoning_tokens": (
            usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else None
        ),
    }


def hand_cost(tokens: Mapping[str, int]) -> float:
    """Cost from the catalog prices in model_prices_and_context_window.json: cached tokens at the cache-read price."""
    entry: Final = COST_MAP[MODEL]
    fresh: Final = tokens["prompt_tokens"] - tokens["cached_tokens"]
    return float(
        fresh * Decimal(str(entry["input_cost_per_token"]))
        + tokens["cached_tokens"] * Decimal(str(entry["cache_read_input_token_cost"]))
        + tokens["completion_tokens"] * Decimal(str(entry["output_cost_per_token"]))
    )


def extra(value: object, name: str) -> object:
    """A field LiteLLM adds beyond the OpenAI schema (`reasoning_content`, `usage.cost`)."""
    return getattr(value, name, None)


def stream_chunks(
    client: openai.OpenAI,
    messages: list[ChatCompletionMessageParam],
    tools: list[ChatCompletionToolParam] | None = None,
) -> list[ChatCompletionChunk]:
    usage: Final[ChatCompletionStreamOptionsParam] = {"include_usage": True}
    completions: Final = client.chat.completions
    stream: Final = (
        completions.create(model=MODEL, messages=messages, stream=True, stream_options=usage)
        if tools is None
        else completions.create(model=MODEL, messages=messages, tools=tools, stream=True, stream_options=usage)
    )
    with stream:
        return list(stream)


def joined(chunks: list[ChatCompletionChunk], field: str) -> str:
    pieces: Final = [extra(choice.delta, field) for chunk in chunks for choice in chunk.choices]
    return "".join(piece for piece in pieces if isinstance(piece, str))


def test_models_endpoint_lists_every_commandcode_model(client: openai.OpenAI) -> None:
    ids: Final = [model.id for model in client.models.list().data]

    assert MODEL in ids
    assert sorted(ids) == sorted(build_cost_map())  # each once: no explicit entry beside the wildcard's expansion


def test_chat_answer_has_reasoning_exact_usage_and_the_cost_header(
    client: openai.OpenAI, server: FakeCommandCodeServer
) -> None:
    raw: Final = client.chat.completions.with_raw_response.create(model=MODEL, messages=CONVERSATION)
    completion: Final = raw.parse()

    answer: Final = last_answer(server)
    tokens: Final = expected_tokens(answer)
    message: Final = completion.choices[0].message
    assert message.content == answer["text"]
    assert (
        extra(message, "reasoning_content") == answer["reasoning"] == "The user wrote 7 words. I will answer briefly."
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == MODEL
    assert tokens_of(completion.usage) == tokens
    assert tokens["cached_tokens"] == 64
    assert float(raw.headers[COST_HEADER]) == pytest.approx(hand_cost(tokens), rel=1e-12, abs=0)


def test_streamed_answer_has_reasoning_deltas_and_exact_usage_in_the_last_chunk(
    client: openai.OpenAI, server: FakeCommandCodeServer
) -> None:
    chunks: Final = stream_chunks(client, CONVERSATION)

    answer: Final = last_answer(server)
    tokens: Final = expected_tokens(answer)
    assert joined(chunks, "content") == answer["text"]
    assert joined(chunks, "reasoning_content") == answer["reasoning"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason] == ["stop"]
    assert [index for index, chunk in enumerate(chunks) if chunk.usage is not None] == [len(chunks) - 1]
    assert tokens_of(chunks[-1].usage) == tokens
    assert extra(chunks[-1].usage, "cost") == pytest.approx(hand_cost(tokens), rel=1e-12, abs=0)
    assert {chunk.model for chunk in chunks} == {MODEL}


def test_stream_is_incremental_with_reasoning_before_the_answer(
    client: openai.OpenAI, server: FakeCommandCodeServer
) -> None:
    chunks: Final = stream_chunks(client, [{"role": "user", "content": "Tell me a story [[fake:slow delay_ms=50]]"}])

    answer: Final = last_answer(server)
    deltas: Final = [choice.delta for chunk in chunks for choice in chunk.choices]
    reasoning_at: Final = [index for index, delta in enumerate(deltas) if extra(delta, "reasoning_content")]
    content_at: Final = [index for index, delta in enumerate(deltas) if delta.content]
    assert joined(chunks, "content") == answer["text"]
    assert joined(chunks, "reasoning_content") == answer["reasoning"]
    assert len(reasoning_at) >= 2
    assert len(content_at) >= 2
    assert max(reasoning_at) < min(content_at)


def sent_tool_call(answer: Mapping[str, object]) -> tuple[str, str, object]:
    """The one tool call the fake sent: (id, name, input)."""
    calls: Final = answer["tool_calls"]
    assert isinstance(calls, list)
    assert len(calls) == 1
    call: Final = calls[0]
    assert isinstance(call, dict)
    return str(call["id"]), str(call["name"]), call["input"]


def function_calls(message: ChatCompletionMessage) -> list[tuple[str, str, object]]:
    calls: Final = list(message.tool_calls or ())
    assert all(isinstance(call, ChatCompletionMessageToolCall) for call in calls)
    return [
        (call.id, call.function.name, json.loads(call.function.arguments))
        for call in calls
        if isinstance(call, ChatCompletionMessageToolCall)
    ]


def assistant_turn(message: ChatCompletionMessage) -> ChatCompletionMessageParam:
    """The assistant's tool-call turn as a client sends it back, reasoning included."""
    calls: Final = [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        for call_id, name, arguments in function_calls(message)
    ]
    turn: Final = {
        "role": "assistant",
        "content": message.content,
        "reasoning_content": extra(message, "reasoning_content"),
        "tool_calls": calls,
    }
    return cast(ChatCompletionMessageParam, turn)


def test_tool_call_round_trip(client: openai.OpenAI, server: FakeCommandCodeServer) -> None:
    question: Final[ChatCompletionMessageParam] = {"role": "user", "content": "What is the weather in Paris?"}

    first: Final = client.chat.completions.create(model=MODEL, messages=[question], tools=[WEATHER_TOOL])

    first_answer: Final = last_answer(server)
    call_id, name, arguments = sent_tool_call(first_answer)
    assert (name, arguments) == ("get_weather", {"city": "Paris"})
    assert function_calls(first.choices[0].message) == [(call_id, "get_weather", {"city": "Paris"})]
    assert first.choices[0].finish_reason == "tool_calls"
    assert tokens_of(first.usage) == expected_tokens(first_answer)
    server.reset()
    tool: Final[ChatCompletionMessageParam] = {"role": "tool", "tool_call_id": call_id, "content": "18C and light rain"}

    second: Final = client.chat.completions.create(
        model=MODEL, messages=[question, assistant_turn(first.choices[0].message), tool], tools=[WEATHER_TOOL]
    )

    assert second.choices[0].message.content == "The tool returned: 18C and light rain."
    assert second.choices[0].finish_reason == "stop"
    assert tokens_of(second.usage) == expected_tokens(last_answer(server))


def test_streamed_tool_call(client: openai.OpenAI, server: FakeCommandCodeServer) -> None:
    chunks: Final = stream_chunks(
        client, [{"role": "user", "content": "What is the weather in Paris?"}], tools=[WEATHER_TOOL]
    )

    answer: Final = last_answer(server)
    call_id, _, _ = sent_tool_call(answer)
    calls: Final = [call for chunk in chunks for choice in chunk.choices for call in choice.delta.tool_calls or ()]
    [call] = calls
    assert call.function is not None
    assert (call.index, call.id, call.function.name) == (0, call_id, "get_weather")
    assert json.loads(call.function.arguments or "null") == {"city": "Paris"}
    assert [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason] == [
        "tool_calls"
    ]
    assert tokens_of(chunks[-1].usage) == expected_tokens(answer)


# A usage window that resets now: examples/config.yaml cools a deployment down on a 429 until its reset, and a
# Retry-After of 0 s starts no cooldown, so that the cases stay independent (tests/integration/test_retries.py has the
# cooldown).
ERRORS: Final = [
    ("http_401", 401, openai.AuthenticationError, HTTP_FAULTS["http_401"][2]),
    ("http_403_model", 403, openai.PermissionDeniedError, f"Model/provider not recognized: {WIRE_MODEL}"),
    ("http_400", 400, openai.BadRequestError, HTTP_FAULTS["http_400"][2]),
    ("http_429 reset_in=0", 429, openai.RateLimitError, RATE_LIMIT_MESSAGE),
    ("http_503", 503, openai.InternalServerError, HTTP_FAULTS["http_503"][2]),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("scenario", "status", "error_class", "commandcode_message"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_commandcode_errors_arrive_as_http_statuses_with_commandcodes_message(
    client: openai.OpenAI,
    server: FakeCommandCodeServer,
    scenario: str,
    status: int,
    error_class: type[openai.APIStatusError],
    commandcode_message: str,
    stream: bool,
) -> None:
    messages: Final[list[ChatCompletionMessageParam]] = [{"role": "user", "content": f"hi [[fake:{scenario}]]"}]

    with pytest.raises(openai.APIStatusError) as raised:
        # num_retries=0: one Command Code answer per case (the proxy would retry a 429 or a 503 after a backoff).
        client.chat.completions.create(model=MODEL, messages=messages, stream=stream, extra_body={"num_retries": 0})

    error: Final = raised.value
    assert type(error) is error_class
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert error.body["code"] == str(status)
    assert commandcode_message in str(error.body["message"])
    assert [record.status for record in server.requests] == [status]
