"""
One `commandcode/<model>`, two doors: `POST /alpha/generate` (the default, every plan) or the Provider API
(`/provider/v1/chat/completions`, `/provider/v1/messages` for Claude models; plans with API access), chosen per call
by `commandcode_route` or the `COMMANDCODE_ROUTE` environment variable. Both run through LiteLLM's own HTTP handler.
"""

from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, cast

from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from litellm.llms.base_llm.chat.transformation import BaseConfig
from litellm.llms.commandcode.chat.pause_turn import Completion, complete_with_continuations
from litellm.llms.commandcode.chat.provider_api_transformation import provider_api_config
from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig
from litellm.llms.commandcode.common_utils import (
    COMMANDCODE_ROUTE_ENV_VAR,
    COMMANDCODE_ROUTE_GENERATE,
    COMMANDCODE_ROUTE_PARAM,
    COMMANDCODE_ROUTE_PROVIDER_API,
    CommandCodeError,
)
from litellm.secret_managers.main import get_secret_str
from litellm.types.llms.openai import AllMessageValues
from litellm.types.utils import ModelResponse, ModelResponseStream

if TYPE_CHECKING:
    from litellm.llms.custom_httpx.llm_http_handler import BaseLLMHTTPHandler

ROUTES: Final[tuple[str, ...]] = (COMMANDCODE_ROUTE_GENERATE, COMMANDCODE_ROUTE_PROVIDER_API)
JsonObject = dict[str, object]


def commandcode_route(optional_params: Mapping[str, object], litellm_params: Mapping[str, object]) -> str:
    """The door for this call: `commandcode_route` (a call or `litellm_params` key), else `COMMANDCODE_ROUTE`, else
    `generate`."""
    chosen: Final = (
        optional_params.get(COMMANDCODE_ROUTE_PARAM)
        or litellm_params.get(COMMANDCODE_ROUTE_PARAM)
        or get_secret_str(COMMANDCODE_ROUTE_ENV_VAR)
        or COMMANDCODE_ROUTE_GENERATE
    )
    route: Final = str(chosen).strip().lower().replace("-", "_")
    if route not in ROUTES:
        raise CommandCodeError(
            status_code=400,
            message=(
                f"{COMMANDCODE_ROUTE_PARAM} (or {COMMANDCODE_ROUTE_ENV_VAR}) must be one of {', '.join(ROUTES)}, "
                f"got {chosen!r:.60}"
            ),
        )
    return route


def _held_finish(held: ModelResponseStream | None, chunk: object) -> tuple[ModelResponseStream | None, bool]:
    """(the finish chunk held back so far, whether `chunk` goes out now). OpenAI-schema streams end with the finish
    chunk and then a usage chunk without choices; LiteLLM's stream wrapper ends a custom provider's stream at its
    finish reason, so the finish is held back and the usage moved onto it. The Anthropic iterator's empty
    placeholders for SSE `event:` lines (plain dicts) carry nothing and are dropped."""
    if not isinstance(chunk, ModelResponseStream):
        return held, False
    if held is None:
        if chunk.choices and chunk.choices[0].finish_reason:
            return chunk, False
        return None, bool(chunk.choices)
    usage: Final = getattr(chunk, "usage", None)
    if usage is not None:
        held.usage = usage
    return held, False


class _FinishWithUsage:
    """The stream with its finish chunk held back until the usage after it arrives (see `_held_finish`); it shows
    the parser's `raw_finish_reason`, which the continuation of a paused answer reads."""

    def __init__(self, chunks: Iterator[ModelResponseStream]) -> None:
        self.chunks: Final = chunks
        self.iterator: Iterator[ModelResponseStream] | None = None
        self.held: ModelResponseStream | None = None
        self.done = False

    @property
    def raw_finish_reason(self) -> object:
        return getattr(self.chunks, "raw_finish_reason", None)

    def __iter__(self) -> "_FinishWithUsage":
        return self

    def __next__(self) -> ModelResponseStream:
        while not self.done:
            self.iterator = self.iterator or iter(self.chunks)
            try:
                chunk = next(self.iterator)
            except StopIteration:
                self.done = True
                break
            self.held, send = _held_finish(self.held, chunk)
            if send:
                return chunk
        held: Final = self.held
        self.held = None
        if held is None:
            raise StopIteration
        return held

    def close(self) -> None:
        close: Final = getattr(self.chunks, "close", None)
        if callable(close):
            close()


class _AsyncFinishWithUsage:
    """`_FinishWithUsage` for an async stream."""

    def __init__(self, chunks: AsyncIterator[ModelResponseStream]) -> None:
        self.chunks: Final = chunks
        self.iterator: AsyncIterator[ModelResponseStream] | None = None
        self.held: ModelResponseStream | None = None
        self.done = False

    @property
    def raw_finish_reason(self) -> object:
        return getattr(self.chunks, "raw_finish_reason", None)

    def __aiter__(self) -> "_AsyncFinishWithUsage":
        return self

    async def __anext__(self) -> ModelResponseStream:
        while not self.done:
            self.iterator = self.iterator or aiter(self.chunks)
            try:
                chunk = await anext(self.iterator)
            except StopAsyncIteration:
                self.done = True
                break
            self.held, send = _held_finish(self.held, chunk)
            if send:
                return chunk
        held: Final = self.held
        self.held = None
        if held is None:
            raise StopAsyncIteration
        return held

    async def aclose(self) -> None:
        aclose: Final = getattr(self.chunks, "aclose", None)
        if callable(aclose):
            await aclose()


def _with_usage_on_finish(response: object, is_async: bool) -> object:
    if isinstance(response, CustomStreamWrapper):
        stream: Final = response.completion_stream
        if is_async:
            response.completion_stream = _AsyncFinishWithUsage(cast(AsyncIterator[ModelResponseStream], stream))
        else:
            response.completion_stream = _FinishWithUsage(cast(Iterator[ModelResponseStream], stream))
    return response


async def _awaited_with_usage_on_finish(pending: object) -> object:
    return _with_usage_on_finish(await cast(Awaitable[object], pending), is_async=True)


def commandcode_completion(
    handler: "BaseLLMHTTPHandler",
    *,
    model: str,
    messages: list[AllMessageValues],  # mutable-ok: LiteLLM's handler contract
    model_response: ModelResponse,
    optional_params: JsonObject,  # mutable-ok: LiteLLM's handler contract
    litellm_params: JsonObject,  # mutable-ok: LiteLLM's handler contract
    acompletion: bool,
    stream: bool | None,
    **handler_kwargs: object,
) -> object:
    """What `main.py` calls for `commandcode`: LiteLLM's HTTP handler with the config of the chosen door. An answer
    that pauses (`rawFinishReason: "pause_turn"` on the default door, Anthropic's `stop_reason: "pause_turn"` on the
    Provider API's `/messages`) is continued, as the official CLI does."""
    route: Final = commandcode_route(optional_params, litellm_params)
    params: Final = {key: value for key, value in optional_params.items() if key != COMMANDCODE_ROUTE_PARAM}

    def call(config: BaseConfig) -> Completion:
        def complete(call_messages: list[AllMessageValues], call_response: ModelResponse) -> object:
            return handler.completion(
                model=model,
                messages=call_messages,
                model_response=call_response,
                optional_params=dict(params),
                litellm_params=litellm_params,
                acompletion=acompletion,
                stream=stream,
                provider_config=config,
                **handler_kwargs,  # type: ignore[arg-type]
            )

        return complete

    if route == COMMANDCODE_ROUTE_PROVIDER_API:
        provider_api_call: Final = call(provider_api_config(model))

        def part(call_messages: list[AllMessageValues], call_response: ModelResponse) -> object:
            response = provider_api_call(call_messages, call_response)
            if acompletion:
                return _awaited_with_usage_on_finish(response)
            return _with_usage_on_finish(response, is_async=False)

        return complete_with_continuations(part, messages, model_response, is_async=acompletion, stream=bool(stream))
    return complete_with_continuations(
        call(CommandCodeChatConfig()),  # type: ignore[no-untyped-call]  # BaseConfig.__init__ is unannotated
        messages,
        model_response,
        is_async=acompletion,
        stream=bool(stream),
    )
