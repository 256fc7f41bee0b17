"""
Continuations of answers that pause (`rawFinishReason: "pause_turn"` on `/alpha/generate`, `stop_reason: "pause_turn"`
on the Provider API's `/messages`: a server-run tool paused the turn).

The official CLI re-sends the request with the partial answer appended, up to 5 times; so does this module, and the
caller gets one answer: text, reasoning and tool calls joined, the usage of every request summed once, and a stream
with one id, one role and one finish. When the 6th answer pauses too, the answer ends there with `finish_reason`
`length` (an answer cut short by a limit). A paused part that carries tool calls for the caller is not continued:
the caller must run them first, so it ends with `tool_calls`.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, cast

from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from litellm.llms.commandcode.chat.response import usage
from litellm.llms.commandcode.chat.transformation import PAUSE_TURN, RAW_FINISH_REASON_KEY
from litellm.types.llms.openai import (
    AllMessageValues,
    ChatCompletionAssistantMessage,
    OpenAIChatCompletionFinishReason,
)
from litellm.types.utils import (
    ChatCompletionDeltaToolCall,
    ChatCompletionMessageToolCall,
    ModelResponse,
    ModelResponseStream,
    Usage,
)

MAX_CONTINUATIONS: Final[int] = 5
LIMIT_FINISH_REASON: Final[str] = "length"
Completion = Callable[[list[AllMessageValues], ModelResponse], object]


def _tokens(usage: Usage, group: str, name: str) -> int:
    details: Final = getattr(usage, group, None)
    value: Final = getattr(details, name, None) if details is not None else None
    return value if isinstance(value, int) else 0


def summed_usage(first: Usage | None, second: Usage | None) -> Usage | None:
    """The usage of an answer continued after a pause: every count of both parts, cache reads and writes included."""
    if first is None or second is None:
        return second if first is None else first
    prompt: Final = first.prompt_tokens + second.prompt_tokens
    completion: Final = first.completion_tokens + second.completion_tokens
    cached: Final = sum(_tokens(part, "prompt_tokens_details", "cached_tokens") for part in (first, second))
    written: Final = sum(_tokens(part, "prompt_tokens_details", "cache_write_tokens") for part in (first, second))
    reasoning: Final = sum(_tokens(part, "completion_tokens_details", "reasoning_tokens") for part in (first, second))
    return usage(prompt, completion, cached, written, reasoning)


@dataclass
class _Answer:
    """What the parts so far said: the partial assistant message to send back, and the usage so far."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: int = 0
    part_tool_calls: int = 0
    usage: Usage | None = None
    response_id: str | None = None

    def continuation(self, messages: list[AllMessageValues]) -> list[AllMessageValues]:
        partial: Final = ChatCompletionAssistantMessage(role="assistant", content="".join(self.content))
        if self.reasoning:
            partial["reasoning_content"] = "".join(self.reasoning)
        return [*messages, partial]

    def record(self, content: str | None, reasoning: str | None, tool_calls: int) -> None:
        if content:
            self.content.append(content)
        if reasoning:
            self.reasoning.append(reasoning)
        self.part_tool_calls += tool_calls


def _continues(paused: bool, answer: _Answer, continuations: int) -> bool:
    return paused and answer.part_tool_calls == 0 and continuations < MAX_CONTINUATIONS


def _final_finish(paused: bool, answer: _Answer, finish_reason: str) -> str:
    if not paused:
        return finish_reason
    return "tool_calls" if answer.part_tool_calls else LIMIT_FINISH_REASON


# ---------------------------------------------------------------------------------------------------------------------
# Not streamed
# ---------------------------------------------------------------------------------------------------------------------


def _paused_response(response: ModelResponse) -> bool:
    return response._hidden_params.get(RAW_FINISH_REASON_KEY) == PAUSE_TURN


def _record_response(answer: _Answer, response: ModelResponse) -> list[ChatCompletionMessageToolCall]:
    message: Final = response.choices[0].message
    calls: Final = [call for call in message.tool_calls or () if isinstance(call, ChatCompletionMessageToolCall)]
    answer.part_tool_calls = 0
    answer.record(message.content, getattr(message, "reasoning_content", None), len(calls))
    answer.usage = summed_usage(answer.usage, getattr(response, "usage", None))
    return calls


def _joined_response(first: ModelResponse, answer: _Answer, last: ModelResponse, paused: bool) -> ModelResponse:
    calls: Final = last.choices[0].message.tool_calls
    message: Final = first.choices[0].message
    message.content = "".join(answer.content) if answer.content or not calls else None
    message.reasoning_content = "".join(answer.reasoning) if answer.reasoning else None
    message.tool_calls = calls
    finish: Final = _final_finish(paused, answer, str(last.choices[0].finish_reason))
    # rebind-ok: the response LiteLLM returns, populated in place
    first.choices[0].finish_reason = cast(OpenAIChatCompletionFinishReason, finish)
    first.usage = answer.usage  # type: ignore[attr-defined]  # an undeclared pydantic extra field
    return first


def _join_sync(call: Completion, messages: list[AllMessageValues], model_response: ModelResponse) -> ModelResponse:
    first: Final = cast(ModelResponse, call(messages, model_response))
    if not _paused_response(first):
        return first
    answer: Final = _Answer()
    response = first
    for continuation in range(MAX_CONTINUATIONS + 1):
        _record_response(answer, response)
        paused = _paused_response(response)
        if not _continues(paused, answer, continuation):
            return _joined_response(first, answer, response, paused)
        response = cast(ModelResponse, call(answer.continuation(messages), ModelResponse()))
    return first  # unreachable: the last round never continues


async def _join_async(
    call: Completion, messages: list[AllMessageValues], model_response: ModelResponse
) -> ModelResponse:
    first: Final = cast(ModelResponse, await cast(Awaitable[object], call(messages, model_response)))
    if not _paused_response(first):
        return first
    answer: Final = _Answer()
    response = first
    for continuation in range(MAX_CONTINUATIONS + 1):
        _record_response(answer, response)
        paused = _paused_response(response)
        if not _continues(paused, answer, continuation):
            return _joined_response(first, answer, response, paused)
        response = cast(
            ModelResponse, await cast(Awaitable[object], call(answer.continuation(messages), ModelResponse()))
        )
    return first  # unreachable: the last round never continues


# ---------------------------------------------------------------------------------------------------------------------
# Streamed
# ---------------------------------------------------------------------------------------------------------------------


def _seamless(
    answer: _Answer, chunk: ModelResponseStream, paused: bool, continuation: int
) -> ModelResponseStream | None:
    """The chunk as part of one answer: the first part's id, tool-call indexes counted across parts, and a paused
    part's finish and usage held back (the usage is added to the final chunk's)."""
    if answer.response_id is None:
        answer.response_id = chunk.id
    chunk.id = answer.response_id
    choice: Final = chunk.choices[0] if chunk.choices else None
    if choice is None:
        return chunk
    delta: Final = choice.delta
    calls: Final = [call for call in delta.tool_calls or () if isinstance(call, ChatCompletionDeltaToolCall)]
    for call in calls:
        call.index = call.index + answer.tool_calls
    answer.record(delta.content, getattr(delta, "reasoning_content", None), len(calls))
    if choice.finish_reason is None:
        return chunk
    usage: Final = getattr(chunk, "usage", None)
    answer.usage = summed_usage(answer.usage, usage)
    if _continues(paused, answer, continuation):
        choice.finish_reason = None  # type: ignore[assignment]  # StreamingChoices takes None, its annotation not
        if usage is not None:
            del chunk.usage
        return chunk if delta.content or delta.tool_calls or getattr(delta, "reasoning_content", None) else None
    choice.finish_reason = cast(OpenAIChatCompletionFinishReason, _final_finish(paused, answer, choice.finish_reason))
    if continuation and answer.usage is not None:
        chunk.usage = answer.usage
    return chunk


def _paused_stream(stream: object) -> bool:
    return getattr(stream, "raw_finish_reason", None) == PAUSE_TURN


def _close(stream: object) -> None:
    close: Final = getattr(stream, "close", None)
    if callable(close):
        close()


def _sync_parts(
    first: Iterator[ModelResponseStream], call: Completion, messages: list[AllMessageValues]
) -> Iterator[ModelResponseStream]:
    answer: Final = _Answer()
    stream = first
    try:
        for continuation in range(MAX_CONTINUATIONS + 1):
            answer.part_tool_calls = 0
            continues = False
            for chunk in stream:
                paused = bool(chunk.choices) and chunk.choices[0].finish_reason is not None and _paused_stream(stream)
                out = _seamless(answer, chunk, paused, continuation)
                continues = continues or (paused and _continues(True, answer, continuation))
                if out is not None:
                    yield out
            answer.tool_calls += answer.part_tool_calls
            if not continues:
                return
            _close(stream)
            follow_up = call(answer.continuation(messages), ModelResponse())
            stream = cast(CustomStreamWrapper, follow_up).completion_stream
    finally:
        _close(stream)


async def _aclose(stream: object) -> None:
    aclose: Final = getattr(stream, "aclose", None)
    if callable(aclose):
        await aclose()


async def _async_parts(
    first: AsyncIterator[ModelResponseStream], call: Completion, messages: list[AllMessageValues]
) -> AsyncIterator[ModelResponseStream]:
    answer: Final = _Answer()
    stream = first
    try:
        for continuation in range(MAX_CONTINUATIONS + 1):
            answer.part_tool_calls = 0
            continues = False
            async for chunk in stream:
                paused = bool(chunk.choices) and chunk.choices[0].finish_reason is not None and _paused_stream(stream)
                out = _seamless(answer, chunk, paused, continuation)
                continues = continues or (paused and _continues(True, answer, continuation))
                if out is not None:
                    yield out
            answer.tool_calls += answer.part_tool_calls
            if not continues:
                return
            await _aclose(stream)
            follow_up = await cast(Awaitable[object], call(answer.continuation(messages), ModelResponse()))
            stream = cast(CustomStreamWrapper, follow_up).completion_stream
    finally:
        await _aclose(stream)


def _joined_stream(wrapper: object, call: Completion, messages: list[AllMessageValues], is_async: bool) -> object:
    if not isinstance(wrapper, CustomStreamWrapper):
        return wrapper
    stream: Final = wrapper.completion_stream
    if is_async:
        wrapper.completion_stream = _async_parts(cast(AsyncIterator[ModelResponseStream], stream), call, messages)
    else:
        wrapper.completion_stream = _sync_parts(cast(Iterator[ModelResponseStream], stream), call, messages)
    return wrapper


async def _async_stream(call: Completion, messages: list[AllMessageValues], model_response: ModelResponse) -> object:
    wrapper: Final = await cast(Awaitable[object], call(messages, model_response))
    return _joined_stream(wrapper, call, messages, is_async=True)


def complete_with_continuations(
    call: Completion,
    messages: list[AllMessageValues],
    model_response: ModelResponse,
    *,
    is_async: bool,
    stream: bool,
) -> object:
    """`call(messages, model_response)` (LiteLLM's handler with the chosen door's config), continued while the
    answer pauses; a coroutine when `is_async`, as the handler's own result is."""
    if stream:
        if is_async:
            return _async_stream(call, messages, model_response)
        return _joined_stream(call(messages, model_response), call, messages, is_async=False)
    if is_async:
        return _join_async(call, messages, model_response)
    return _join_sync(call, messages, model_response)
