"""
Translate OpenAI chat completions to Command Code's `POST /alpha/generate` and back.

The endpoint always streams newline-delimited JSON events (no `data:` prefix, no `[DONE]`); a non-streaming call
reads the whole stream and assembles one response through the same event handling as the streaming iterator.
"""

import contextlib
import json
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

import httpx

from litellm.litellm_core_utils.core_helpers import map_finish_reason
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from litellm.llms.base_llm.base_model_iterator import BaseModelResponseIterator
from litellm.llms.base_llm.chat.transformation import BaseConfig, BaseLLMException
from litellm.llms.commandcode.chat.messages import (
    LONE_SURROGATE,
    JsonObject,
    _transform_messages,
    _transform_tools,
    _valid_unicode,
)
from litellm.llms.commandcode.chat.params import SUPPORTED_OPENAI_PARAMS, map_params, request_thread_id
from litellm.llms.commandcode.chat.response import assemble_response, load_event, tool_arguments, usage_from_totals
from litellm.llms.commandcode.common_utils import (
    COMMANDCODE_API_BASE,
    COMMANDCODE_API_BASE_ENV_VAR,
    COMMANDCODE_API_KEY_ENV_VARS,
    COMMANDCODE_DEFAULT_MAX_TOKENS,
    COMMANDCODE_DEFAULT_VERSION,
    COMMANDCODE_GENERATE_PATH,
    COMMANDCODE_VERSION_ENV_VAR,
    COMMANDCODE_VERSION_PARAM,
    PROVIDER,
    CommandCodeError,
    commandcode_model_id,
    get_commandcode_model_info,
    parse_error_body,
    stream_error,
)
from litellm.llms.custom_httpx.http_handler import (
    AsyncHTTPHandler,
    HTTPHandler,
    _get_httpx_client,
    get_async_httpx_client,
)
from litellm.secret_managers.main import get_secret_str
from litellm.types.llms.openai import AllMessageValues
from litellm.types.utils import (
    ChatCompletionDeltaToolCall,
    Delta,
    Function,
    LlmProviders,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    Usage,
)

if TYPE_CHECKING:
    from litellm.litellm_core_utils.litellm_logging import Logging as LiteLLMLoggingObj
    from litellm.litellm_core_utils.tokenizer import Encoding as Tokenizer

# An answer paused by a server-run tool; chat/pause_turn.py continues it. Non-streamed answers carry the raw reason
# in this hidden param, streams on `ModelResponseIterator.raw_finish_reason`.
PAUSE_TURN: Final[str] = "pause_turn"
RAW_FINISH_REASON_KEY: Final[str] = "commandcode_raw_finish_reason"


@dataclass(slots=True)
class _ChunkParts:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[ChatCompletionDeltaToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None


class ModelResponseIterator(BaseModelResponseIterator):
    """
    Iterates Command Code's event stream as `ModelResponseStream` chunks.

    Items of `streaming_response` are either `bytes` (raw network reads: split on newlines here) or `str` (complete
    lines, as `httpx.Response.iter_lines()` yields them). The deltas of one item leave merged, as few chunks as
    possible, but a chunk carries one kind of delta only: reasoning, text or tool calls. LiteLLM's bridges to the
    Responses and Anthropic Messages APIs read one kind per chunk and drop the rest.
    """

    def __init__(
        self,
        streaming_response: Iterator[str | bytes] | AsyncIterator[str | bytes] | Iterable[str | bytes],
        sync_stream: bool,
        json_mode: bool | None = False,
    ) -> None:
        super().__init__(streaming_response, sync_stream, json_mode)
        self._buffer = b""
        self._tool_call_index = 0
        self._sync_stream: Final = sync_stream
        self._done = False
        self._ready: Final[deque[ModelResponseStream]] = deque()
        self._response_id: Final = f"chatcmpl-{uuid.uuid4()}"
        self._held_surrogates: Final[dict[str, str]] = {}
        self.raw_finish_reason: str | None = None

    def _apply(self, event: object, parts: _ChunkParts) -> None:
        """One event into `parts`; a delta of another kind than those collected first sends them off as a chunk."""
        if not isinstance(event, dict) or self._done:
            return
        kind: Final = event.get("type")
        if kind == "text-delta" or kind == "reasoning-delta":
            text = event.get("text") or event.get("delta")
            if not isinstance(text, str) or not text:
                return
            if kind == "text-delta":
                if parts.reasoning or parts.tool_calls:
                    self._flush(parts)
                parts.content.append(text)
            else:
                if parts.content or parts.tool_calls:
                    self._flush(parts)
                parts.reasoning.append(text)
        elif kind == "tool-call":
            if parts.content or parts.reasoning:
                self._flush(parts)
            call_id, name, index = event.get("toolCallId"), event.get("toolName"), self._tool_call_index
            self._tool_call_index += 1
            function: Final = Function(name=name if isinstance(name, str) else "", arguments=tool_arguments(event))
            call_id = call_id if isinstance(call_id, str) and call_id else f"call_{index}"
            parts.tool_calls.append(
                ChatCompletionDeltaToolCall(id=call_id, type="function", index=index, function=function)
            )
        elif kind == "finish" or kind == "abort":
            reason, raw_reason = event.get("finishReason"), event.get("rawFinishReason")
            mapped: Final = (
                map_finish_reason(reason.replace("-", "_")) if isinstance(reason, str) and kind == "finish" else "stop"
            )
            parts.finish_reason = "tool_calls" if self._tool_call_index else mapped
            parts.usage = usage_from_totals(event.get("totalUsage") or event.get("usage")) if kind == "finish" else None
            self.raw_finish_reason = raw_reason if isinstance(raw_reason, str) else None
            self._done = True
        elif kind == "error":
            raise stream_error(event.get("error"))

    def _flush(self, parts: _ChunkParts) -> None:
        self._ready.append(self._build(parts))
        parts.content, parts.reasoning, parts.tool_calls = [], [], []

    def _text(self, kind: str, pieces: Sequence[str], last: bool) -> str | None:
        """The text of one chunk. The server slices strings by UTF-16 code units, so one delta may end with the first
        half of a surrogate pair and the next begin with the second (each decoded alone as a lone surrogate): a
        trailing first half waits for the next chunk, halves that meet become their character, and a half that never
        finds its partner becomes U+FFFD."""
        if not self._held_surrogates:  # the common case, on every chunk: nothing carried over
            if not pieces:
                return None
            text = pieces[0] if len(pieces) == 1 else "".join(pieces)
            if text.isascii() or LONE_SURROGATE.search(text) is None:
                return text
        else:
            text = self._held_surrogates.pop(kind, "") + "".join(pieces)
            if LONE_SURROGATE.search(text) is None:
                return text or None
        if not last and "\ud800" <= text[-1] <= "\udbff":
            self._held_surrogates[kind] = text[-1]
            text = text[:-1]
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace") or None

    def _build(self, parts: _ChunkParts) -> ModelResponseStream:
        last: Final = parts.finish_reason is not None
        delta: Final = Delta(
            content=self._text("content", parts.content, last),
            reasoning_content=self._text("reasoning", parts.reasoning, last),
            tool_calls=parts.tool_calls or None,
        )
        chunk: Final = ModelResponseStream(
            id=self._response_id, choices=[StreamingChoices(delta=delta, finish_reason=parts.finish_reason)]
        )
        if parts.usage is not None:
            chunk.usage = parts.usage
        return chunk

    def chunk_parser(self, chunk: JsonObject) -> ModelResponseStream:  # mutable-ok: inherited contract
        parts: Final = _ChunkParts()
        self._apply(chunk, parts)
        return self._build(parts)

    def _parse_lines(self, lines: Iterable[bytes | str]) -> ModelResponseStream | None:
        parts: Final = _ChunkParts()
        for line in lines:
            if line.strip():
                self._apply(load_event(line), parts)
        if parts.content or parts.reasoning or parts.tool_calls or parts.finish_reason:
            self._ready.append(self._build(parts))
        return self._ready.popleft() if self._ready else None

    def _parse_item(self, item: bytes | str) -> ModelResponseStream | None:
        if isinstance(item, str):
            return self._parse_lines(item.split("\n"))
        data: Final = self._buffer + item
        end: Final = data.rfind(b"\n")
        if end < 0:
            self._buffer = data
            return None
        self._buffer = data[end + 1 :]
        return self._parse_lines(data[:end].split(b"\n"))

    def _end_of_stream(self, end: StopIteration | StopAsyncIteration | httpx.TransportError) -> ModelResponseStream:
        """The last chunk once the source has ended (`end` again when none is left), or the error a broken connection
        stands for."""
        if isinstance(end, httpx.TimeoutException):
            raise CommandCodeError(status_code=408, message=f"Command Code stream timed out: {end}") from end
        if isinstance(end, httpx.TransportError):
            raise CommandCodeError(status_code=502, message=f"Command Code connection broke mid-stream: {end}") from end
        tail, self._buffer = self._buffer, b""
        chunk: Final = self._parse_lines((tail,)) if tail.strip() and not self._done else None
        if chunk is not None:
            return chunk
        if not self._done:
            raise CommandCodeError(
                status_code=502, message="Command Code stream ended before completion (no finish event); retry"
            )
        raise end

    def _next_chunk(self) -> ModelResponseStream:
        while not self._ready:
            try:
                item = next(self.response_iterator)
            except (StopIteration, httpx.TransportError) as e:
                return self._end_of_stream(e)
            if (chunk := self._parse_item(item)) is not None:
                return chunk
        return self._ready.popleft()

    async def _anext_chunk(self) -> ModelResponseStream:
        while not self._ready:
            try:
                item = await self.async_response_iterator.__anext__()
            except (StopAsyncIteration, httpx.TransportError) as e:
                return self._end_of_stream(e)
            if (chunk := self._parse_item(item)) is not None:
                return chunk
        return self._ready.popleft()

    def close(self) -> None:
        response: Final = self.http_response
        if response is not None and not response.is_closed:
            response.close()

    def __del__(self) -> None:
        # LiteLLM's sync stream wrapper never closes its stream: a caller that stops reading early would otherwise
        # hold the pooled connection until the garbage collector finds the response.
        if self._sync_stream:
            with contextlib.suppress(Exception):  # a finalizer must not raise
                self.close()

    def __iter__(self) -> "ModelResponseIterator":
        self.response_iterator = iter(self.streaming_response)
        return self

    def __next__(self) -> ModelResponseStream:
        try:
            return self._next_chunk()
        except BaseException:
            self.close()
            raise

    def __aiter__(self) -> "ModelResponseIterator":
        self.async_response_iterator = self.streaming_response.__aiter__()
        return self

    async def __anext__(self) -> ModelResponseStream:
        try:
            return await self._anext_chunk()
        except BaseException:
            await self.aclose()
            raise

    def prime(self) -> None:
        """Read up to the first chunk, so that an error the server sends before any content raises here."""
        self._ready.appendleft(next(iter(self)))

    async def aprime(self) -> None:
        self._ready.appendleft(await self.__aiter__().__anext__())


def _neutral_config() -> JsonObject:
    """What the CLI sends about its working directory, minus everything about this host: a gateway has none."""
    date: Final = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    git: Final = {"isGitRepo": False, "currentBranch": "", "mainBranch": "", "gitStatus": "", "recentCommits": []}
    return {"workingDir": "/tmp", "date": date, "environment": "terminal", "structure": [], **git}


class CommandCodeChatConfig(BaseConfig):
    """`/alpha/generate` as a LiteLLM chat config: parameters by the policy of `chat/params.py`, messages by
    `chat/messages.py`, the answer through `ModelResponseIterator`."""

    @property
    def custom_llm_provider(self) -> str | None:
        return PROVIDER

    @property
    def has_custom_stream_wrapper(self) -> bool:
        return True

    @property
    def supports_stream_param_in_request_body(self) -> bool:
        return False

    @staticmethod
    def get_api_key(api_key: str | None = None) -> str | None:
        return api_key or next((key for env in COMMANDCODE_API_KEY_ENV_VARS if (key := get_secret_str(env))), None)

    @staticmethod
    def get_api_base(api_base: str | None = None) -> str:
        return (api_base or get_secret_str(COMMANDCODE_API_BASE_ENV_VAR) or COMMANDCODE_API_BASE).rstrip("/")

    def get_supported_openai_params(self, model: str) -> list[str]:  # mutable-ok: inherited contract returns a list
        return list(SUPPORTED_OPENAI_PARAMS)

    def map_openai_params(
        self,
        non_default_params: JsonObject,  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        model: str,
        drop_params: bool,
    ) -> JsonObject:  # mutable-ok: inherited contract returns a dict
        return {**optional_params, **map_params(non_default_params, model, drop_params)}

    def validate_environment(
        self,
        headers: dict[str, str],  # mutable-ok: inherited contract
        model: str,
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        api_key: str | None = None,
        api_base: str | None = None,
    ) -> dict[str, str]:  # mutable-ok: inherited contract returns a dict
        final_api_key: Final = self.get_api_key(api_key)
        if not final_api_key:
            raise CommandCodeError(
                status_code=401,
                message=(
                    "Missing Command Code API key: pass api_key=... or set "
                    f"{' or '.join(COMMANDCODE_API_KEY_ENV_VARS)} (keys look like user_...)"
                ),
            )
        caller_headers: Final = {str(name).lower(): value for name, value in (headers or {}).items()}
        version: Final = (
            optional_params.get(COMMANDCODE_VERSION_PARAM)
            or caller_headers.get("x-command-code-version")
            or get_secret_str(COMMANDCODE_VERSION_ENV_VAR)
            or COMMANDCODE_DEFAULT_VERSION
        )
        thread_id: Final = request_thread_id(optional_params, litellm_params, caller_headers)
        return {
            **caller_headers,
            "content-type": "application/json",
            "x-command-code-version": str(version),
            "x-session-id": thread_id,
            "authorization": f"Bearer {final_api_key}",
        }

    def get_complete_url(
        self,
        api_base: str | None,
        api_key: str | None,
        model: str,
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        stream: bool | None = None,
    ) -> str:
        base: Final = self.get_api_base(api_base)
        return base if base.endswith(COMMANDCODE_GENERATE_PATH) else f"{base}{COMMANDCODE_GENERATE_PATH}"

    def transform_request(
        self,
        model: str,
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        headers: dict[str, str],  # mutable-ok: inherited contract
    ) -> JsonObject:  # mutable-ok: inherited contract returns a dict
        model_id: Final = commandcode_model_id(model)
        system, wire_messages = _transform_messages(messages, model_id)
        tools: Final = optional_params.get("tools")
        wire_tools: Final = (
            [] if tools is None or optional_params.get("tool_choice") == "none" else _transform_tools(tools)
        )
        model_info: Final = get_commandcode_model_info(model_id)
        default_max_tokens: Final = model_info.get("max_output_tokens") if model_info is not None else None
        max_tokens: Final = optional_params.get("max_tokens") or default_max_tokens or COMMANDCODE_DEFAULT_MAX_TOKENS
        session_id: Final = (headers or {}).get("x-session-id")
        return {
            "config": _neutral_config(),
            "memory": None,
            "taste": None,
            "skills": None,
            "permissionMode": "standard",
            "threadId": session_id if isinstance(session_id, str) else str(uuid.uuid4()),
            "params": {
                "model": model_id,
                **{key: _valid_unicode(value) for key, value in (("messages", wire_messages), ("tools", wire_tools))},
                "system": _valid_unicode(system),
                "max_tokens": max_tokens,
                **{
                    key: optional_params[key]
                    for key in ("temperature", "reasoning_effort")
                    if optional_params.get(key) is not None
                },
                "stream": True,
            },
        }

    def transform_response(
        self,
        model: str,
        raw_response: httpx.Response,
        model_response: ModelResponse,
        logging_obj: "LiteLLMLoggingObj",
        request_data: JsonObject,  # mutable-ok: inherited contract
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        encoding: "Tokenizer | None",
        api_key: str | None = None,
        json_mode: bool | None = None,
    ) -> ModelResponse:
        logging_obj.post_call(  # type: ignore[no-untyped-call]  # LiteLLM's Logging.post_call is unannotated
            input=messages,
            api_key=api_key,
            original_response=raw_response.text,
            additional_args={"complete_input_dict": request_data},
        )
        events: Final = ModelResponseIterator(streaming_response=(raw_response.content,), sync_stream=True)
        params: Final = request_data.get("params")
        requested: Final = params.get("model") if isinstance(params, Mapping) else None
        assembled: Final = assemble_response(
            events, model_response, requested if isinstance(requested, str) else commandcode_model_id(model)
        )
        assembled._hidden_params[RAW_FINISH_REASON_KEY] = events.raw_finish_reason
        return assembled

    def get_error_class(
        self,
        error_message: str,
        status_code: int,
        headers: dict[str, str] | httpx.Headers,  # mutable-ok: inherited contract
    ) -> BaseLLMException:
        status, message, extra_headers = parse_error_body(error_message, status_code)
        return CommandCodeError(status_code=status, message=message, headers={**dict(headers or {}), **extra_headers})

    def get_model_response_iterator(
        self,
        streaming_response: Iterator[str] | AsyncIterator[str] | ModelResponse,
        sync_stream: bool,
        json_mode: bool | None = False,
    ) -> ModelResponseIterator:
        if isinstance(streaming_response, ModelResponse):
            raise CommandCodeError(status_code=500, message="commandcode cannot stream a finished ModelResponse")
        return ModelResponseIterator(
            streaming_response=streaming_response, sync_stream=sync_stream, json_mode=json_mode
        )

    def _stream_wrapper(
        self,
        response: httpx.Response,
        iterator: ModelResponseIterator,
        model: str,
        custom_llm_provider: str,
        logging_obj: "LiteLLMLoggingObj",
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        data: JsonObject,  # mutable-ok: inherited contract
    ) -> CustomStreamWrapper:
        logging_obj.post_call(  # type: ignore[no-untyped-call]  # LiteLLM's Logging.post_call is unannotated
            input=messages,
            api_key="",
            original_response="first stream response received",
            additional_args={"complete_input_dict": data},
        )
        return CustomStreamWrapper(
            completion_stream=iterator,
            model=model,
            custom_llm_provider=custom_llm_provider,
            logging_obj=logging_obj,
            _response_headers=response.headers,
        )

    def get_sync_custom_stream_wrapper(
        self,
        model: str,
        custom_llm_provider: str,
        logging_obj: "LiteLLMLoggingObj",
        api_base: str,
        headers: dict[str, str],  # mutable-ok: inherited contract
        data: JsonObject,  # mutable-ok: inherited contract
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        client: HTTPHandler | AsyncHTTPHandler | None = None,
        json_mode: bool | None = None,
        signed_json_body: bytes | None = None,
        *,
        litellm_params: Mapping[str, object],
        timeout: float | httpx.Timeout | None = None,
    ) -> CustomStreamWrapper:
        if not isinstance(client, HTTPHandler):
            client = _get_httpx_client(params={"ssl_verify": litellm_params.get("ssl_verify")})
        body: Final = signed_json_body if signed_json_body is not None else json.dumps(data)
        try:
            response: Final = client.post(
                api_base, headers=headers, data=body, stream=True, timeout=timeout, logging_obj=logging_obj
            )
        except httpx.HTTPStatusError as e:
            raise self.get_error_class(e.response.text, e.response.status_code, e.response.headers) from None
        iterator: Final = ModelResponseIterator(streaming_response=response.iter_bytes(), sync_stream=True)
        iterator.http_response = response
        iterator.prime()
        return self._stream_wrapper(response, iterator, model, custom_llm_provider, logging_obj, messages, data)

    async def get_async_custom_stream_wrapper(
        self,
        model: str,
        custom_llm_provider: str,
        logging_obj: "LiteLLMLoggingObj",
        api_base: str,
        headers: dict[str, str],  # mutable-ok: inherited contract
        data: JsonObject,  # mutable-ok: inherited contract
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        client: AsyncHTTPHandler | None = None,
        json_mode: bool | None = None,
        signed_json_body: bytes | None = None,
        *,
        litellm_params: Mapping[str, object],
        timeout: float | httpx.Timeout | None = None,
    ) -> CustomStreamWrapper:
        if not isinstance(client, AsyncHTTPHandler):
            provider = custom_llm_provider if custom_llm_provider in LlmProviders._value2member_map_ else "custom"
            client = get_async_httpx_client(
                llm_provider=LlmProviders(provider), params={"ssl_verify": litellm_params.get("ssl_verify")}
            )
        body: Final = signed_json_body if signed_json_body is not None else json.dumps(data)
        try:
            response: Final = await client.post(
                api_base, headers=headers, data=body, stream=True, timeout=timeout, logging_obj=logging_obj
            )
        except httpx.HTTPStatusError as e:
            raise self.get_error_class(e.response.text, e.response.status_code, e.response.headers) from None
        iterator: Final = ModelResponseIterator(streaming_response=response.aiter_bytes(), sync_stream=False)
        iterator.http_response = response
        await iterator.aprime()
        return self._stream_wrapper(response, iterator, model, custom_llm_provider, logging_obj, messages, data)
