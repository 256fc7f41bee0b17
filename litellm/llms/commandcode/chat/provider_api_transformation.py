"""
Command Code's Provider API (`{api_base}/provider/v1`), the second door for plans with API access.

`/chat/completions` speaks OpenAI's Chat Completions schema and `/messages` (Claude models) Anthropic's Messages
schema, so both configs reuse LiteLLM's own OpenAI and Anthropic transformations; what is Command Code's own here is
the URL, the key, the model ids and the errors (the same `CommandCodeError`, usage-window 429 included).
"""

import json
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final, cast

import httpx

from litellm.llms.anthropic.chat.transformation import AnthropicConfig
from litellm.llms.base_llm.chat.transformation import BaseConfig, BaseLLMException
from litellm.llms.commandcode.chat.messages import MISSING_TOOL_RESULT, _image_part
from litellm.llms.commandcode.chat.params import THREAD_ID_PARAM
from litellm.llms.commandcode.chat.transformation import RAW_FINISH_REASON_KEY, CommandCodeChatConfig
from litellm.llms.commandcode.common_utils import (
    COMMANDCODE_API_KEY_ENV_VARS,
    COMMANDCODE_PROVIDER_API_PATH,
    COMMANDCODE_ROUTE_ENV_VAR,
    COMMANDCODE_ROUTE_PARAM,
    COMMANDCODE_VERSION_PARAM,
    PROVIDER,
    CommandCodeError,
    commandcode_model_id,
    get_commandcode_model_info,
)
from litellm.llms.commandcode.common_utils import parse_error_body as _parse_error_body
from litellm.llms.openai.chat.gpt_transformation import OpenAIGPTConfig
from litellm.types.llms.openai import AllMessageValues
from litellm.types.utils import ModelResponse, ModelResponseStream

if TYPE_CHECKING:
    from litellm.litellm_core_utils.litellm_logging import Logging as LiteLLMLoggingObj
    from litellm.litellm_core_utils.tokenizer import Encoding as Tokenizer
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator as AnthropicResponseIterator

CHAT_COMPLETIONS_PATH: Final[str] = "/chat/completions"
MESSAGES_PATH: Final[str] = "/messages"
MODELS_PATH: Final[str] = "/models"
# Command Code serves Anthropic models only through `/messages`; every other model only through `/chat/completions`.
MESSAGES_MODEL_PREFIX: Final[str] = "claude-"
ANTHROPIC_VERSION: Final[str] = "2023-06-01"
UPGRADE_REQUIRED: Final[str] = "upgrade_required"
# Parameters of this provider that steer the client and are never part of a Provider API request body.
CLIENT_PARAMS: Final[frozenset[str]] = frozenset((COMMANDCODE_ROUTE_PARAM, COMMANDCODE_VERSION_PARAM, THREAD_ID_PARAM))
JsonObject = dict[str, object]


def provider_api_base(api_base: str | None) -> str:
    """`{api_base}/provider/v1` from the same `api_base` as the default route (a base that already ends with the
    Provider API path is kept)."""
    base: Final = CommandCodeChatConfig.get_api_base(api_base)
    return base if base.endswith(COMMANDCODE_PROVIDER_API_PATH) else f"{base}{COMMANDCODE_PROVIDER_API_PATH}"


def uses_messages_endpoint(model: str) -> bool:
    return commandcode_model_id(model).startswith(MESSAGES_MODEL_PREFIX)


def _client_params_removed(optional_params: Mapping[str, object]) -> JsonObject:
    return {key: value for key, value in optional_params.items() if key not in CLIENT_PARAMS}


def _check_images(messages: Sequence[AllMessageValues], model: str) -> None:
    """The image checks of the default door (vision model, PNG/JPEG/GIF/WebP, 5 MiB), so that a refused image is the
    same 400 on both doors and nothing is sent; http(s) images are left for the server to fetch."""
    for index, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") not in ("user", "tool") or isinstance(content, str) or content is None:
            continue
        for part in cast(Sequence[object], content):
            if not isinstance(part, Mapping) or part.get("type") != "image_url":
                continue
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            remote = isinstance(url, str) and url.startswith(("http://", "https://"))
            info = get_commandcode_model_info(model)
            if remote and (info is None or info.get("supports_vision")):
                continue
            _image_part(part, model, f"messages[{index}]")  # raises for a text-only model before fetching anything


class _Pairing:
    """Tool results matched to the calls of the assistant message before them, as the default door does it: a call
    without a result gets `MISSING_TOOL_RESULT`, a result without its call (late, twice, compacted away) becomes user
    text. OpenAI-schema servers reject either."""

    def __init__(self) -> None:
        self.out: list[AllMessageValues] = []
        self.names: dict[str, str] = {}
        self.open: dict[str, str] = {}
        self.orphans: list[str] = []

    def close(self) -> None:
        self.out.extend(
            cast(AllMessageValues, {"role": "tool", "tool_call_id": call_id, "content": MISSING_TOOL_RESULT})
            for call_id in self.open
        )
        self.open = {}
        if self.orphans:
            self.out.append(cast(AllMessageValues, {"role": "user", "content": "\n\n".join(self.orphans)}))
            self.orphans = []

    def add(self, message: AllMessageValues) -> None:
        role: Final = message.get("role")
        if role == "tool":
            self.add_tool(message)
            return
        self.close()
        self.out.append(message)
        if role != "assistant":
            return
        calls: Final = message.get("tool_calls") or ()
        for call in cast(Sequence[Mapping[str, object]], calls):
            function = call.get("function")
            name = function.get("name") if isinstance(function, Mapping) else None
            self.open[str(call.get("id"))] = str(name or "")
        self.names.update(self.open)

    def add_tool(self, message: AllMessageValues) -> None:
        call_id: Final = str(message.get("tool_call_id"))
        if self.open.pop(call_id, None) is not None:
            self.out.append(message)
            return
        content: Final = message.get("content")
        text: Final = content if isinstance(content, str) else json.dumps(content)
        name: Final = self.names.get(call_id, "unknown tool")
        self.orphans.append(f"Result of tool call {call_id} ({name}):\n{text}")


def provider_api_messages(messages: Sequence[AllMessageValues], model: str) -> list[AllMessageValues]:
    """The conversation as the Provider API accepts it: images checked, tool calls and results paired."""
    _check_images(messages, commandcode_model_id(model))
    pairing: Final = _Pairing()
    for message in messages:
        pairing.add(message)
    pairing.close()
    return pairing.out


def _api_key_or_raise(api_key: str | None) -> str:
    key: Final = CommandCodeChatConfig.get_api_key(api_key)
    if not key:
        raise CommandCodeError(
            status_code=401,
            message=(
                "Missing Command Code API key: pass api_key=... or set "
                f"{' or '.join(COMMANDCODE_API_KEY_ENV_VARS)} (keys look like user_...)"
            ),
        )
    return key


def _error_object(error_message: str) -> Mapping[str, object] | None:
    try:
        body: Final = json.loads(error_message)
    except (json.JSONDecodeError, TypeError):
        return None
    error: Final = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def provider_api_error(
    error_message: str,
    status_code: int,
    headers: Mapping[str, str] | httpx.Headers | None,
) -> CommandCodeError:
    """`CommandCodeError` from an OpenAI (`{"error": {"message", "type", "code"}}`) or Anthropic (`{"type": "error",
    "error": {"type", "message"}}`) envelope, or from any other body. The fields of a 429 are not documented: a
    Command Code `rateLimit.reset` and a `Retry-After` header both become the error's `retry-after`."""
    caller_headers: Final = {str(name).lower(): str(value) for name, value in dict(headers or {}).items()}
    error: Final = _error_object(error_message)
    if error is None:
        status, message, extra = _parse_error_body(error_message, status_code)
        return CommandCodeError(status_code=status, message=message, headers={**caller_headers, **extra})
    code: Final = error.get("code") if isinstance(error.get("code"), str) else error.get("type")
    message_text: Final = str(error.get("message") or code or f"HTTP {status_code}")
    if code == UPGRADE_REQUIRED or UPGRADE_REQUIRED in message_text.lower():
        return CommandCodeError(
            status_code=status_code,
            message=(
                f"{UPGRADE_REQUIRED}: {message_text} Your Command Code plan has no Provider API access (it needs the "
                "Pro plan or higher, or the Provider plan); the default route (/alpha/generate) serves every plan: "
                f"remove {COMMANDCODE_ROUTE_PARAM} or set {COMMANDCODE_ROUTE_ENV_VAR}=generate."
            ),
            headers=caller_headers,
        )
    normalized: Final = {
        "error": {
            "code": code,
            "status": status_code,
            "message": message_text,
            **({"rateLimit": error["rateLimit"]} if isinstance(error.get("rateLimit"), dict) else {}),
        }
    }
    status, message, extra = _parse_error_body(json.dumps(normalized), status_code)
    return CommandCodeError(status_code=status, message=message, headers={**caller_headers, **extra})


class _ProviderAPI(BaseConfig):
    """What both Provider API configs share: the provider's name (costs, logging), its errors, and the response with
    the server's own finish reason kept where the continuation of a paused answer (`pause_turn`) looks for it: LiteLLM
    maps a reason it does not know to `stop`. Listed first among the bases, so that `super()` is LiteLLM's config."""

    @staticmethod
    @abstractmethod
    def server_finish_reason(body: object) -> str | None:
        """The finish reason as the server wrote it in a response body."""

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
        # super() is the OpenAI or Anthropic config listed after this class, not BaseConfig's abstract method.
        response: Final = super().transform_response(  # type: ignore[safe-super]
            model,
            raw_response,
            model_response,
            logging_obj,
            request_data,
            messages,
            optional_params,
            litellm_params,
            encoding,
            api_key,
            json_mode,
        )
        response._hidden_params[RAW_FINISH_REASON_KEY] = self.server_finish_reason(_json_body(raw_response))
        return response

    @property
    def custom_llm_provider(self) -> str | None:
        return PROVIDER

    def get_error_class(
        self,
        error_message: str,
        status_code: int,
        headers: dict[str, str] | httpx.Headers,  # mutable-ok: inherited contract
    ) -> BaseLLMException:
        return provider_api_error(error_message, status_code, headers)


class CommandCodeProviderAPIChatConfig(_ProviderAPI, OpenAIGPTConfig):
    """`POST {api_base}/provider/v1/chat/completions`: OpenAI's schema, LiteLLM's OpenAI transformation. OpenAI's
    schema has no `pause_turn`; one that arrives anyway is continued too."""

    @staticmethod
    def server_finish_reason(body: object) -> str | None:
        return openai_finish_reason(body)

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
        return {
            **{str(name).lower(): value for name, value in (headers or {}).items()},
            "content-type": "application/json",
            "authorization": f"Bearer {_api_key_or_raise(api_key)}",
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
        return f"{provider_api_base(api_base)}{CHAT_COMPLETIONS_PATH}"

    def transform_request(
        self,
        model: str,
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        headers: dict[str, str],  # mutable-ok: inherited contract
    ) -> JsonObject:  # mutable-ok: inherited contract returns a dict
        request: Final[JsonObject] = super().transform_request(
            commandcode_model_id(model),
            provider_api_messages(messages, model),
            _client_params_removed(optional_params),
            litellm_params,
            headers,
        )
        return request

    async def async_transform_request(
        self,
        model: str,
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        headers: dict[str, str],  # mutable-ok: inherited contract
    ) -> JsonObject:  # mutable-ok: inherited contract returns a dict
        request: Final[JsonObject] = await super().async_transform_request(
            commandcode_model_id(model),
            provider_api_messages(messages, model),
            _client_params_removed(optional_params),
            litellm_params,
            headers,
        )
        return request

    def get_model_response_iterator(
        self,
        streaming_response: Iterator[str] | AsyncIterator[str] | ModelResponse,
        sync_stream: bool,
        json_mode: bool | None = False,
    ) -> object:
        return _openai_iterator(streaming_response, sync_stream, bool(json_mode))


class CommandCodeProviderAPIMessagesConfig(_ProviderAPI, AnthropicConfig):
    """`POST {api_base}/provider/v1/messages` for Claude models: Anthropic's schema, LiteLLM's Anthropic
    transformation. The key goes as `Authorization: Bearer` (what every Provider API route takes) and as `x-api-key`."""

    @staticmethod
    def server_finish_reason(body: object) -> str | None:
        return anthropic_stop_reason(body)

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
        key: Final = _api_key_or_raise(api_key)
        return {
            **{str(name).lower(): value for name, value in (headers or {}).items()},
            "content-type": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
            "x-api-key": key,
            "authorization": f"Bearer {key}",
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
        return f"{provider_api_base(api_base)}{MESSAGES_PATH}"

    def _anthropic_params(self, model: str, optional_params: Mapping[str, object]) -> JsonObject:
        """The OpenAI parameters this provider accepted, mapped by LiteLLM's Anthropic config (tools, tool_choice,
        max_tokens, reasoning_effort → thinking) as `litellm.completion` maps them for `anthropic/`."""
        params: Final = _client_params_removed(optional_params)
        stream: Final = params.pop("stream", None)
        params.pop("stream_options", None)
        mapped: Final[JsonObject] = self.map_openai_params(params, {}, commandcode_model_id(model), drop_params=False)
        return {**mapped, **({"stream": stream} if stream is not None else {})}

    def transform_request(
        self,
        model: str,
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        headers: dict[str, str],  # mutable-ok: inherited contract
    ) -> JsonObject:  # mutable-ok: inherited contract returns a dict
        request: Final[JsonObject] = super().transform_request(
            commandcode_model_id(model),
            provider_api_messages(messages, model),
            self._anthropic_params(model, optional_params),
            litellm_params,
            headers,
        )
        return request

    async def async_transform_request(
        self,
        model: str,
        messages: list[AllMessageValues],  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        litellm_params: JsonObject,  # mutable-ok: inherited contract
        headers: dict[str, object],  # mutable-ok: inherited contract
    ) -> JsonObject:  # mutable-ok: inherited contract returns a dict
        request: Final[JsonObject] = await super().async_transform_request(
            commandcode_model_id(model),
            provider_api_messages(messages, model),
            self._anthropic_params(model, optional_params),
            litellm_params,
            headers,
        )
        return request

    def get_model_response_iterator(
        self,
        streaming_response: Iterator[str] | AsyncIterator[str] | ModelResponse,
        sync_stream: bool,
        json_mode: bool | None = False,
    ) -> "AnthropicResponseIterator":
        return _anthropic_iterator(streaming_response, sync_stream, bool(json_mode))


def _json_body(raw_response: httpx.Response) -> object:
    try:
        return raw_response.json()
    except ValueError:
        return None


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def anthropic_stop_reason(body: object) -> str | None:
    """`stop_reason` of an Anthropic message, or of a stream's `message_delta` event's `delta`."""
    return _text_or_none(body.get("stop_reason")) if isinstance(body, dict) else None


def openai_finish_reason(body: object) -> str | None:
    """The first choice's `finish_reason` of an OpenAI chat completion or chunk."""
    choices: Final = body.get("choices") if isinstance(body, dict) else None
    first: Final = choices[0] if isinstance(choices, list) and choices else None
    return _text_or_none(first.get("finish_reason")) if isinstance(first, dict) else None


def _openai_iterator(
    streaming_response: Iterator[str] | AsyncIterator[str] | ModelResponse, sync_stream: bool, json_mode: bool
) -> object:
    """LiteLLM's OpenAI stream parser that also keeps the server's own `finish_reason` as `raw_finish_reason`."""
    from litellm.llms.openai.chat.gpt_transformation import OpenAIChatCompletionStreamingHandler

    class FinishReasonIterator(OpenAIChatCompletionStreamingHandler):
        raw_finish_reason: str | None = None

        def chunk_parser(self, chunk: JsonObject) -> ModelResponseStream:  # mutable-ok: inherited contract
            self.raw_finish_reason = openai_finish_reason(chunk) or self.raw_finish_reason
            parsed: Final[ModelResponseStream] = super().chunk_parser(chunk)
            return parsed

    return FinishReasonIterator(streaming_response=streaming_response, sync_stream=sync_stream, json_mode=json_mode)


def _anthropic_iterator(
    streaming_response: Iterator[str] | AsyncIterator[str] | ModelResponse, sync_stream: bool, json_mode: bool
) -> "AnthropicResponseIterator":
    """LiteLLM's Anthropic stream parser that also keeps the `stop_reason` of `message_delta` as `raw_finish_reason`
    (what the continuation of a paused answer reads, as on the default door's stream)."""
    from litellm.llms.anthropic.chat.handler import ModelResponseIterator as AnthropicResponseIterator

    class StopReasonIterator(AnthropicResponseIterator):
        raw_finish_reason: str | None = None

        def chunk_parser(self, chunk: JsonObject) -> ModelResponseStream:  # mutable-ok: inherited contract
            if chunk.get("type") == "message_delta":
                self.raw_finish_reason = anthropic_stop_reason(chunk.get("delta"))
            parsed: Final[ModelResponseStream] = super().chunk_parser(chunk)
            return parsed

    return StopReasonIterator(streaming_response=streaming_response, sync_stream=sync_stream, json_mode=json_mode)


def provider_api_config(model: str) -> BaseConfig:
    """The Provider API endpoint's config for `model`: `/messages` for Claude models, `/chat/completions` else."""
    if uses_messages_endpoint(model):
        return CommandCodeProviderAPIMessagesConfig()
    return CommandCodeProviderAPIChatConfig()
