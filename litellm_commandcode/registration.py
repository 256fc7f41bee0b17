"""
Registers the `commandcode` provider in a stock LiteLLM (no source edits), for the SDK and the proxy.

SDK:    import litellm_commandcode; litellm_commandcode.register()
Proxy:  name `litellm_commandcode.proxy.handler` as `custom_handler` under `litellm_settings.custom_provider_map`

The provider's logic lives in `litellm/llms/commandcode/` and runs through LiteLLM's own HTTP handler; this module
only routes to it. Everything here is idempotent, and does nothing when LiteLLM already ships `commandcode`.
"""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Final, Protocol, cast

import httpx

import litellm
import litellm.llms
from litellm._logging import verbose_logger
from litellm.exceptions import ContextWindowExceededError
from litellm.litellm_core_utils.exception_mapping_utils import ExceptionCheckers
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from litellm.llms.base_llm.chat.transformation import BaseLLMException
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, HTTPHandler, get_async_httpx_client
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import (
    Delta,
    LlmProviders,
    LlmProvidersSet,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
)
from litellm.utils import ProviderConfigManager
from litellm_commandcode.catalog import PROVIDER, build_cost_map

_SOURCE_LLMS_DIR: Final = Path(__file__).resolve().parent.parent / "litellm" / "llms"
_SHIM_FLAG: Final = "_commandcode_runtime_shim"
_CONTEXT_WINDOW_PHRASES: Final = ("prompt is too long", "context length", "context window", "too many tokens")


def litellm_knows_commandcode() -> bool:
    """True when the installed LiteLLM ships the provider itself (the upstream change is merged or applied)."""
    member: Final = LlmProviders._value2member_map_.get(PROVIDER)
    return member is not None and not getattr(member, _SHIM_FLAG, False)


def use_provider_source() -> None:
    """Import `litellm.llms.commandcode` from this checkout when the package runs from source (tests, editable
    installs); installed from a wheel, the provider files already sit inside LiteLLM's `litellm/llms/`."""
    if litellm_knows_commandcode() or not (_SOURCE_LLMS_DIR / PROVIDER).is_dir():
        return
    source: Final = str(_SOURCE_LLMS_DIR)
    if source not in litellm.llms.__path__:
        litellm.llms.__path__.insert(0, source)


def _add_llm_providers_member() -> None:
    """`LlmProviders.COMMANDCODE`, as the upstream change adds it. LiteLLM asks `ProviderConfigManager` for a
    provider's supported params and `map_openai_params` only for members of `LlmProviders`/`LlmProvidersSet`; any
    other name gets the OpenAI-like defaults (which reject `reasoning_effort` and silently accept `top_p`)."""
    if PROVIDER not in LlmProviders._value2member_map_:
        member: Final = str.__new__(LlmProviders, PROVIDER)
        member._name_ = "COMMANDCODE"
        member._value_ = PROVIDER
        member.__objclass__ = LlmProviders  # type: ignore[misc]
        member._sort_order_ = len(LlmProviders._member_names_)
        setattr(member, _SHIM_FLAG, True)
        LlmProviders.COMMANDCODE = member  # before _member_map_: EnumType.__setattr__ guards members
        LlmProviders._member_map_["COMMANDCODE"] = member
        LlmProviders._value2member_map_[PROVIDER] = member
        LlmProviders._member_names_.append("COMMANDCODE")
    LlmProvidersSet.add(PROVIDER)


def _add_provider_config() -> None:
    from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig

    if ProviderConfigManager._PROVIDER_CONFIG_MAP is None:
        ProviderConfigManager._PROVIDER_CONFIG_MAP = ProviderConfigManager._build_provider_config_map()
    ProviderConfigManager._PROVIDER_CONFIG_MAP[LlmProviders(PROVIDER)] = (CommandCodeChatConfig, False)


def _add_cost_map() -> None:
    entries: Final = build_cost_map()
    missing: Final = {name: entry for name, entry in entries.items() if name not in litellm.model_cost}
    if missing:
        litellm.register_model(missing)
    litellm.models_by_provider.setdefault(PROVIDER, set()).update(entries)


def register_internals() -> bool:
    """Everything but the `custom_provider_map` entry (the proxy adds that itself). False when LiteLLM ships
    `commandcode`: then there is nothing to do."""
    if litellm_knows_commandcode():
        return False
    use_provider_source()
    _add_llm_providers_member()
    _add_provider_config()
    _add_cost_map()
    for names in (litellm.provider_list, litellm._custom_providers):
        if PROVIDER not in names:
            names.append(PROVIDER)
    return True


def _context_window_error(error: BaseLLMException, model: str) -> ContextWindowExceededError | None:
    message: Final = str(error.message)
    lowered: Final = message.lower()
    is_overflow: Final = any(phrase in lowered for phrase in _CONTEXT_WINDOW_PHRASES)
    if error.status_code not in (400, 413) or not (
        is_overflow or ExceptionCheckers.is_error_str_context_window_exceeded(message)
    ):
        return None
    return ContextWindowExceededError(
        message=f"CommandcodeException - {message}", model=model, llm_provider=PROVIDER, response=error.response
    )


def _mapped(error: BaseLLMException, model: str) -> Exception:
    context_window: Final = _context_window_error(error, model)
    if context_window is not None:
        return context_window
    try:
        litellm.exception_type(model=model, original_exception=error, custom_llm_provider=PROVIDER)
    except Exception as mapped:  # exception_type always raises the mapped exception
        return mapped
    return error


def _usage_first(chunk: ModelResponseStream) -> Iterator[ModelResponseStream]:
    """The usage on a chunk of its own before the finish chunk: LiteLLM's wrapper for custom providers drops a finish
    chunk that carries no content, usage included, and would then estimate the tokens instead."""
    usage: Final = getattr(chunk, "usage", None)
    if usage is None:
        yield chunk
        return
    usage_chunk: Final = ModelResponseStream(
        id=chunk.id, model=chunk.model, created=chunk.created, choices=[StreamingChoices(index=0, delta=Delta())]
    )
    usage_chunk.usage = usage  # type: ignore[attr-defined]
    del chunk.usage  # type: ignore[attr-defined]
    yield usage_chunk
    yield chunk


class _Stamp:
    """What LiteLLM's own stream wrapper gives every chunk and its custom-provider path does not: one id and the model
    on every chunk, and the assistant role on the first delta."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id: str | None = None

    def __call__(self, chunk: ModelResponseStream) -> ModelResponseStream:
        if self.id is None:
            self.id = chunk.id
            if chunk.choices and getattr(chunk.choices[0].delta, "role", None) is None:
                chunk.choices[0].delta.role = "assistant"
        chunk.id = self.id
        chunk.model = self.model
        return chunk


def _sync_chunks(inner: CustomStreamWrapper) -> Iterator[ModelResponseStream]:
    stream: Final = cast(Iterator[ModelResponseStream], inner.completion_stream)
    stamp: Final = _Stamp(inner.model)
    try:
        for chunk in stream:
            yield from map(stamp, _usage_first(chunk))
    except BaseLLMException as error:
        raise _mapped(error, inner.model) from error
    finally:
        close: Final = getattr(stream, "close", None)
        if callable(close):
            close()


async def _async_chunks(inner: CustomStreamWrapper) -> AsyncIterator[ModelResponseStream]:
    stream: Final = cast(AsyncIterator[ModelResponseStream], inner.completion_stream)
    stamp: Final = _Stamp(inner.model)
    try:
        async for chunk in stream:
            for piece in _usage_first(chunk):
                yield stamp(piece)
    except BaseLLMException as error:
        raise _mapped(error, inner.model) from error
    finally:
        await inner.aclose()


class _HandlerCall(Protocol):
    def __call__(self, *, acompletion: bool, stream: bool, client: HTTPHandler | AsyncHTTPHandler | None) -> object: ...


class CommandCodeLLM(CustomLLM):
    """Routes LiteLLM's custom-provider calls to LiteLLM's own HTTP handler with `CommandCodeChatConfig`: the call
    the upstream `main.completion` branch makes."""

    @staticmethod
    def _call(
        model: str,
        messages: list[object],
        api_base: str | None,
        model_response: ModelResponse,
        encoding: object,
        api_key: str | None,
        logging_obj: object,
        optional_params: dict[str, object],
        litellm_params: Mapping[str, object] | None,
        headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | None,
    ) -> _HandlerCall:
        from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig

        def call(*, acompletion: bool, stream: bool, client: HTTPHandler | AsyncHTTPHandler | None) -> object:
            try:
                return litellm.main.base_llm_http_handler.completion(
                    model=model,
                    messages=messages,  # type: ignore[arg-type]
                    api_base=api_base,
                    custom_llm_provider=PROVIDER,
                    model_response=model_response,
                    encoding=encoding,  # type: ignore[arg-type]
                    logging_obj=logging_obj,  # type: ignore[arg-type]
                    optional_params=optional_params,
                    timeout=timeout if timeout is not None else 600.0,
                    litellm_params=dict(litellm_params or {}),
                    acompletion=acompletion,
                    stream=stream,
                    api_key=api_key,
                    headers=dict(headers or {}),
                    client=client,
                    provider_config=CommandCodeChatConfig(),
                )
            except BaseLLMException as error:
                raise _mapped(error, model) from error

        return call

    @staticmethod
    def _async_client(client: object, litellm_params: Mapping[str, object] | None) -> AsyncHTTPHandler:
        if isinstance(client, AsyncHTTPHandler):
            return client
        return get_async_httpx_client(
            llm_provider=LlmProviders(PROVIDER), params={"ssl_verify": (litellm_params or {}).get("ssl_verify")}
        )

    def completion(  # type: ignore[override]
        self,
        model: str,
        messages: list[object],
        api_base: str | None,
        custom_prompt_dict: dict[str, object],
        model_response: ModelResponse,
        print_verbose: Callable[..., object],
        encoding: object,
        api_key: str | None,
        logging_obj: object,
        optional_params: dict[str, object],
        acompletion: bool | None = None,
        litellm_params: dict[str, object] | None = None,
        logger_fn: object = None,
        headers: dict[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: HTTPHandler | None = None,
    ) -> ModelResponse:
        call: Final = self._call(
            model, messages, api_base, model_response, encoding, api_key, logging_obj, optional_params,
            litellm_params, headers, timeout,
        )  # fmt: skip
        sync_client: Final = client if isinstance(client, HTTPHandler) else None
        return cast(ModelResponse, call(acompletion=False, stream=False, client=sync_client))

    async def acompletion(  # type: ignore[override]
        self,
        model: str,
        messages: list[object],
        api_base: str | None,
        custom_prompt_dict: dict[str, object],
        model_response: ModelResponse,
        print_verbose: Callable[..., object],
        encoding: object,
        api_key: str | None,
        logging_obj: object,
        optional_params: dict[str, object],
        acompletion: bool | None = None,
        litellm_params: dict[str, object] | None = None,
        logger_fn: object = None,
        headers: dict[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: AsyncHTTPHandler | None = None,
    ) -> ModelResponse:
        call: Final = self._call(
            model, messages, api_base, model_response, encoding, api_key, logging_obj, optional_params,
            litellm_params, headers, timeout,
        )  # fmt: skip
        pending: Final = call(acompletion=True, stream=False, client=self._async_client(client, litellm_params))
        try:
            return await cast(Awaitable[ModelResponse], pending)
        except BaseLLMException as error:
            raise _mapped(error, model) from error

    def streaming(  # type: ignore[override]
        self,
        model: str,
        messages: list[object],
        api_base: str | None,
        custom_prompt_dict: dict[str, object],
        model_response: ModelResponse,
        print_verbose: Callable[..., object],
        encoding: object,
        api_key: str | None,
        logging_obj: object,
        optional_params: dict[str, object],
        acompletion: bool | None = None,
        litellm_params: dict[str, object] | None = None,
        logger_fn: object = None,
        headers: dict[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: HTTPHandler | None = None,
    ) -> Iterator[ModelResponseStream]:
        call: Final = self._call(
            model, messages, api_base, model_response, encoding, api_key, logging_obj, optional_params,
            litellm_params, headers, timeout,
        )  # fmt: skip
        sync_client: Final = client if isinstance(client, HTTPHandler) else None
        inner: Final = cast(CustomStreamWrapper, call(acompletion=False, stream=True, client=sync_client))
        return _sync_chunks(inner)

    async def astreaming(  # type: ignore[override]
        self,
        model: str,
        messages: list[object],
        api_base: str | None,
        custom_prompt_dict: dict[str, object],
        model_response: ModelResponse,
        print_verbose: Callable[..., object],
        encoding: object,
        api_key: str | None,
        logging_obj: object,
        optional_params: dict[str, object],
        acompletion: bool | None = None,
        litellm_params: dict[str, object] | None = None,
        logger_fn: object = None,
        headers: dict[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: AsyncHTTPHandler | None = None,
    ) -> AsyncIterator[ModelResponseStream]:
        # LiteLLM calls astreaming() synchronously and wraps the async generator: the request starts on the first
        # __anext__, so an error the server sends before any content surfaces there.
        call: Final = self._call(
            model, messages, api_base, model_response, encoding, api_key, logging_obj, optional_params,
            litellm_params, headers, timeout,
        )  # fmt: skip
        pending: Final = call(acompletion=True, stream=True, client=self._async_client(client, litellm_params))
        try:
            inner: Final = await cast(Awaitable[CustomStreamWrapper], pending)
        except BaseLLMException as error:
            raise _mapped(error, model) from error
        async with contextlib.aclosing(_async_chunks(inner)) as chunks:
            async for chunk in chunks:
                yield chunk


handler: Final = CommandCodeLLM()


def register() -> bool:
    """Register `commandcode` with the SDK. Idempotent; returns False (and does nothing) when LiteLLM already ships
    the provider."""
    if not register_internals():
        verbose_logger.debug("commandcode: LiteLLM ships the provider; nothing to register")
        return False
    litellm.custom_provider_map = [
        *(item for item in litellm.custom_provider_map if item.get("provider") != PROVIDER),
        {"provider": PROVIDER, "custom_handler": handler},
    ]
    litellm.utils.custom_llm_setup()
    return True
