"""Answers that pause, against the fake's `pause_turn times=N` scenario: `rawFinishReason: "pause_turn"` on the default
door, Anthropic's `stop_reason: "pause_turn"` on the Provider API's `/messages` (Claude models). Continued up to 5
times, and the caller gets one answer in every mode, on both doors. `/chat/completions` (OpenAI's schema) has no such
reason: there the fake's paused part is a finished answer."""

from typing import Final

import pytest

import litellm
from litellm.types.utils import ModelResponse, ModelResponseStream
from litellm_commandcode.fake_server import FakeCommandCodeServer, load_catalog, pause_turn_answer
from tests.support.fake_stack import generate_params

MODEL: Final = "deepseek/deepseek-v4-flash"
CLAUDE: Final = "claude-sonnet-4-6"
# (route, model): the default door, and the Provider API's door that can pause (/messages, Claude models).
DOORS: Final = (("generate", MODEL), ("provider_api", CLAUDE))
KEY: Final = "user_pause_test"
MODES: Final = ("sync", "async", "sync-stream", "async-stream")
WHOLE_TEXT: Final = "You said: {question}\nThis is a deterministic answer from the fake Command Code server."
pytestmark = pytest.mark.usefixtures("plugin_registered", "fresh_server_default_route")


async def answer_of(
    mode: str, server: FakeCommandCodeServer, question: str, route: str = "generate", model: str = MODEL
) -> ModelResponse:
    kwargs: Final = {
        "model": f"commandcode/{model}",
        "messages": [{"role": "user", "content": question}],
        "api_base": server.url,
        "api_key": KEY,
        "commandcode_route": route,
    }
    if mode == "sync":
        response = litellm.completion(**kwargs)
        assert isinstance(response, ModelResponse)
        return response
    if mode == "async":
        response = await litellm.acompletion(**kwargs)
        assert isinstance(response, ModelResponse)
        return response
    stream_kwargs: Final = {**kwargs, "stream": True, "stream_options": {"include_usage": True}}
    if mode == "sync-stream":
        chunks = list(litellm.completion(**stream_kwargs))
    else:
        chunks = [chunk async for chunk in await litellm.acompletion(**stream_kwargs)]
    assert_one_seamless_stream(chunks)
    assembled: Final = litellm.stream_chunk_builder(chunks, messages=kwargs["messages"])
    assert isinstance(assembled, ModelResponse)
    return assembled


def assert_one_seamless_stream(chunks: list[ModelResponseStream]) -> None:
    assert len({chunk.id for chunk in chunks}) == 1
    assert [chunk.choices[0].delta.role for chunk in chunks if chunk.choices and chunk.choices[0].delta.role] == [
        "assistant"
    ]
    finishes: Final = [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason]
    assert len(finishes) == 1
    assert [index for index, chunk in enumerate(chunks) if getattr(chunk, "usage", None)] == [len(chunks) - 1]


def summed_tokens(server: FakeCommandCodeServer, times: int, model_id: str = MODEL) -> dict[str, int]:
    """The usage of every request the fake answered, added up (from the generate door's parameters each request
    stands for)."""
    model: Final = load_catalog()[model_id]
    totals: Final = {"prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "reasoning_tokens": 0}
    for record in server.requests:
        usage = pause_turn_answer(generate_params(record), model, times).usage
        totals["prompt_tokens"] += usage.input_tokens
        totals["completion_tokens"] += usage.output_tokens
        totals["cached_tokens"] += usage.cache_read_tokens
        totals["reasoning_tokens"] += usage.reasoning_tokens
    return totals


def tokens_of(response: ModelResponse) -> dict[str, int]:
    usage: Final = response.usage  # type: ignore[attr-defined]
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.prompt_tokens_details.cached_tokens or 0,
        "reasoning_tokens": (usage.completion_tokens_details.reasoning_tokens or 0)
        if usage.completion_tokens_details
        else 0,
    }


def without_reasoning_tokens(tokens: dict[str, int], route: str) -> dict[str, int]:
    """Anthropic's schema does not report reasoning tokens apart (LiteLLM counts the reasoning text instead)."""
    return {key: value for key, value in tokens.items() if route == "generate" or key != "reasoning_tokens"}


@pytest.mark.parametrize("times", [0, 1, 5])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("route", "model"), DOORS)
async def test_a_paused_answer_is_continued_and_joined_into_one_answer_with_the_usage_summed(
    route: str, model: str, mode: str, times: int, server: FakeCommandCodeServer
) -> None:
    question: Final = f"Search the web [[fake:pause_turn times={times}]]"

    response: Final = await answer_of(mode, server, question, route, model)

    assert len(server.requests) == times + 1
    assert {record.path for record in server.requests} == {
        "/alpha/generate" if route == "generate" else "/provider/v1/messages"
    }
    assert response.choices[0].message.content == WHOLE_TEXT.format(question=question)  # type: ignore[union-attr]
    assert response.choices[0].message.reasoning_content == "The user wrote 5 words. I will answer briefly."  # type: ignore[union-attr]
    assert response.choices[0].finish_reason == "stop"
    tokens: Final = tokens_of(response)
    assert without_reasoning_tokens(tokens, route) == without_reasoning_tokens(
        summed_tokens(server, times, model), route
    )
    assert response.usage.total_tokens == tokens["prompt_tokens"] + tokens["completion_tokens"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_a_continuation_resends_the_request_with_the_partial_answer_appended(
    mode: str, server: FakeCommandCodeServer
) -> None:
    question: Final = "Search the web [[fake:pause_turn times=2]]"

    await answer_of(mode, server, question)

    sent: Final = [record.body["params"]["messages"] for record in server.requests]  # type: ignore[index]
    whole: Final = WHOLE_TEXT.format(question=question)
    first_part: Final = whole[: len(whole) // 3]
    assert sent[0] == [{"role": "user", "content": [{"type": "text", "text": question}]}]
    assert sent[1] == [
        *sent[0],
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "The user wrote 5 words. I will answer briefly."},
                {"type": "text", "text": first_part},
            ],
        },
    ]
    assert sent[2][:-1] == sent[0]
    assert sent[2][-1]["content"][1] == {"type": "text", "text": whole[: 2 * len(whole) // 3]}


@pytest.mark.parametrize("mode", MODES)
async def test_a_continuation_on_messages_ends_with_the_partial_answer_without_trailing_whitespace(
    mode: str, server: FakeCommandCodeServer
) -> None:
    question: Final = "Search the web [[fake:pause_turn times=5]]"

    await answer_of(mode, server, question, "provider_api", CLAUDE)

    sent: Final = [record.body["messages"] for record in server.requests]  # type: ignore[index]
    whole: Final = WHOLE_TEXT.format(question=question)
    assert sent[0] == [{"role": "user", "content": [{"type": "text", "text": question}]}]
    assert [messages[-1] for messages in sent[1:]] == [
        {"role": "assistant", "content": [{"type": "text", "text": whole[: len(whole) * part // 6].rstrip()}]}
        for part in range(1, 6)
    ]
    assert any(whole[: len(whole) * part // 6].endswith(" ") for part in range(1, 6))
    assert all(messages[:-1] == sent[0] for messages in sent[1:])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("route", "model"), DOORS)
async def test_the_sixth_pause_ends_the_answer_with_finish_reason_length_and_what_arrived(
    route: str, model: str, mode: str, server: FakeCommandCodeServer
) -> None:
    question: Final = "Search the web [[fake:pause_turn times=6]]"

    response: Final = await answer_of(mode, server, question, route, model)

    whole: Final = WHOLE_TEXT.format(question=question)
    assert len(server.requests) == 6
    assert response.choices[0].message.content == whole[: len(whole) * 6 // 7]  # type: ignore[union-attr]
    assert response.choices[0].finish_reason == "length"
    assert without_reasoning_tokens(tokens_of(response), route) == without_reasoning_tokens(
        summed_tokens(server, 6, model), route
    )
