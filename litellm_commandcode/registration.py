"""
Registers the `commandcode` provider in a stock LiteLLM (no source edits), for the SDK and the proxy.

SDK:    import litellm_commandcode; litellm_commandcode.register()
Proxy:  name `litellm_commandcode.proxy.handler` as `custom_handler` under `litellm_settings.custom_provider_map`

The provider's logic lives in `litellm/llms/commandcode/` and runs through LiteLLM's own HTTP handler; this module
only routes to it. Everything here is idempotent, and does nothing when LiteLLM already ships `commandcode`.
"""

import inspect
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TYPE_CHECKING, Final, cast

import litellm
import litellm.main
from litellm._logging import verbose_logger
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from litellm.llms.base_llm.chat.transformation import BaseLLMException
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import Delta, LlmProviders, LlmProvidersSet, ModelResponseStream, StreamingChoices
from litellm.utils import ProviderConfigManager
from litellm_commandcode.catalog import PROVIDER, build_cost_map
from litellm_commandcode.compat import (
    MESSAGES_BRIDGE,
    SHIM_FLAG,
    check_provider_imports,
    litellm_knows_commandcode,
    resolve,
)
from litellm_commandcode.glue import _complete_commandcode, _map_commandcode_exception

if TYPE_CHECKING:
    from litellm.types.completion import CompletionDispatchContext

# How `exception_type` names the provider in its messages.
EXCEPTION_PROVIDER: Final = "CommandcodeException"


def _mark_shim(shim: object, original: object) -> None:
    """Marks what the plug-in put in place of `original`; `__wrapped__` keeps `inspect.signature` (and so
    `compat.changed`) reading the original's parameters."""
    setattr(shim, SHIM_FLAG, True)
    setattr(shim, "__wrapped__", original)  # noqa: B010


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
        setattr(member, SHIM_FLAG, True)
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


def _bare_effort(request: object, custom_llm_provider: object) -> str | None:
    """`output_config.effort` of a /v1/messages request for commandcode that has no `thinking` beside it."""
    if not isinstance(request, dict) or "thinking" in request:
        return None
    model: Final = request.get("model")
    if custom_llm_provider != PROVIDER and not (isinstance(model, str) and model.startswith(f"{PROVIDER}/")):
        return None
    output_config: Final = request.get("output_config")
    effort: Final = output_config.get("effort") if isinstance(output_config, dict) else None
    return effort if isinstance(effort, str) and effort else None


def _carry_bare_effort_to_commandcode() -> None:
    """LiteLLM's /v1/messages bridge reads `output_config.effort` only beside adaptive `thinking` and drops it when it
    comes alone (Claude Code sends it so): for commandcode it arrives as `reasoning_effort`, as with adaptive thinking.
    Every other provider's request is translated as before."""
    adapter: Final = resolve(MESSAGES_BRIDGE, owner=True)
    original: Final = getattr(adapter, "translate_anthropic_to_openai", None)
    if adapter is None or not callable(original) or getattr(original, SHIM_FLAG, False):
        return

    def translate_anthropic_to_openai(
        self: object, anthropic_message_request: object, *args: object, **kwargs: object
    ) -> tuple[object, object]:
        translated = cast(tuple[object, object], original(self, anthropic_message_request, *args, **kwargs))
        effort = _bare_effort(anthropic_message_request, kwargs.get("custom_llm_provider"))
        request = translated[0]
        if effort is not None and isinstance(request, dict) and "reasoning_effort" not in request:
            request["reasoning_effort"] = effort
        return translated

    _mark_shim(translate_anthropic_to_openai, original)
    adapter.translate_anthropic_to_openai = translate_anthropic_to_openai


def _add_model_info() -> None:
    """`CommandCodeModelInfo` for `ProviderConfigManager.get_provider_model_info`, as the upstream change adds it: with
    `check_provider_endpoint`, the proxy's `/v1/models` lists the live ids for `commandcode/*`."""
    original: Final = ProviderConfigManager.get_provider_model_info
    if getattr(original, SHIM_FLAG, False):
        return

    def get_provider_model_info(model: str | None, provider: LlmProviders) -> object:
        if provider == PROVIDER:
            from litellm.llms.commandcode.model_info import CommandCodeModelInfo

            return CommandCodeModelInfo()
        return original(model=model, provider=provider)

    _mark_shim(get_provider_model_info, original)
    ProviderConfigManager.get_provider_model_info = staticmethod(get_provider_model_info)  # type: ignore[method-assign,assignment]


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
    check_provider_imports()
    _route_to_the_http_handler()
    _add_llm_providers_member()
    _add_provider_config()
    _add_model_info()
    _add_cost_map()
    _carry_bare_effort_to_commandcode()
    for names in (litellm.provider_list, litellm._custom_providers):
        if PROVIDER not in names:
            names.append(PROVIDER)
    return True


def _mapped(error: BaseLLMException, model: str) -> Exception:
    """What upstream's `exception_type` does with a `commandcode` error: `glue._map_commandcode_exception`, then the
    mapping by status. `exception_type` computes the message arguments so (`extra_information` also names the API
    base and the messages there)."""
    try:
        _map_commandcode_exception(
            model=model,
            original_exception=error,
            custom_llm_provider=PROVIDER,
            error_str=str(error.message),
            exception_type=type(error).__name__,
            exception_provider=EXCEPTION_PROVIDER,
            extra_information=f"\nModel: {model}",
        )
        litellm.exception_type(model=model, original_exception=error, custom_llm_provider=PROVIDER)
    except Exception as mapped:  # both raise the mapped exception
        if getattr(mapped, "litellm_response_headers", None) is None:
            # What exception_type sets on what a provider's mapping raises there: the provider's own headers.
            setattr(mapped, "litellm_response_headers", error.headers)  # noqa: B010
        return mapped
    return error


def _finish_alone(chunk: ModelResponseStream) -> tuple[ModelResponseStream, ...]:
    """The finish reason on a chunk of its own, after the delta and the usage that came with it: LiteLLM's stream
    wrapper drops a custom provider's finish chunk that carries no content or tool call whole, so reasoning or usage
    on it would be lost (and the tokens estimated instead)."""
    choice: Final = chunk.choices[0] if chunk.choices else None
    if choice is None or choice.finish_reason is None:
        return (chunk,)
    pieces: Final[list[ModelResponseStream]] = []
    delta: Final = choice.delta
    if delta.content or delta.tool_calls or getattr(delta, "reasoning_content", None):
        pieces.append(
            ModelResponseStream(
                id=chunk.id, model=chunk.model, created=chunk.created, choices=[StreamingChoices(index=0, delta=delta)]
            )
        )
        choice.delta = Delta()
    usage: Final = getattr(chunk, "usage", None)
    if usage is not None:
        usage_chunk = ModelResponseStream(
            id=chunk.id, model=chunk.model, created=chunk.created, choices=[StreamingChoices(index=0, delta=Delta())]
        )
        usage_chunk.usage = usage  # type: ignore[attr-defined]
        del chunk.usage  # type: ignore[attr-defined]
        pieces.append(usage_chunk)
    return (*pieces, chunk)


class _Stamp:
    """What LiteLLM's stream wrapper gives a built-in provider's chunks and not a custom provider's: one id and the
    model on every chunk, and the assistant role on the first delta."""

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


def _sync_chunks(stream: Iterator[ModelResponseStream], model: str) -> Iterator[ModelResponseStream]:
    stamp: Final = _Stamp(model)
    try:
        for chunk in stream:
            yield from map(stamp, _finish_alone(chunk))
    except BaseLLMException as error:
        raise _mapped(error, model) from error
    finally:
        close: Final = getattr(stream, "close", None)
        if callable(close):
            close()


async def _async_chunks(stream: AsyncIterator[ModelResponseStream], model: str) -> AsyncIterator[ModelResponseStream]:
    stamp: Final = _Stamp(model)
    try:
        async for chunk in stream:
            for piece in _finish_alone(chunk):
                yield stamp(piece)
    except BaseLLMException as error:
        raise _mapped(error, model) from error
    finally:
        aclose: Final = getattr(stream, "aclose", None)
        if callable(aclose):
            await aclose()


def _as_builtin_stream(response: object, model: str, *, is_async: bool) -> object:
    """`commandcode` is one of LiteLLM's custom providers here (that is how the proxy config names its handler), and
    LiteLLM's stream wrapper handles their chunks differently from a built-in provider's: this gives them back what
    the built-in path gives. Anything but a stream goes through as it is."""
    if not isinstance(response, CustomStreamWrapper):
        return response
    stream: Final = response.completion_stream
    if is_async:
        response.completion_stream = _async_chunks(cast(AsyncIterator[ModelResponseStream], stream), response.model)
    else:
        response.completion_stream = _sync_chunks(cast(Iterator[ModelResponseStream], stream), response.model)
    return response


async def _mapped_when_awaited(pending: Awaitable[object], model: str) -> object:
    try:
        return _as_builtin_stream(await pending, model, is_async=True)
    except BaseLLMException as error:
        raise _mapped(error, model) from error


def _complete_as_builtin(ctx: "CompletionDispatchContext") -> object:
    """`glue._complete_commandcode`, upstream's dispatch, plus what LiteLLM gives a built-in provider and not a custom
    one: errors mapped as upstream's `exception_type` maps them, and streams as the built-in path shapes them (an
    async stream is opened and its first chunk read before `acompletion` returns)."""
    try:
        response: Final = _complete_commandcode(ctx)
    except BaseLLMException as error:
        raise _mapped(error, ctx.model) from error
    if inspect.isawaitable(response):
        return _mapped_when_awaited(response, ctx.model)
    return _as_builtin_stream(response, ctx.model, is_async=False)


def _route_to_the_http_handler() -> None:
    """Hands LiteLLM's dispatch of custom providers (`main._complete_custom_providers`, which would call the
    `CustomLLM` methods) to `_complete_as_builtin` for `commandcode`; every other provider goes where it went."""
    original: Final = litellm.main._complete_custom_providers
    if getattr(original, SHIM_FLAG, False):
        return

    def complete_custom_providers(ctx: "CompletionDispatchContext") -> object:
        if ctx.custom_llm_provider == PROVIDER:
            return _complete_as_builtin(ctx)
        return original(ctx)

    _mark_shim(complete_custom_providers, original)
    litellm.main._complete_custom_providers = complete_custom_providers


class CommandCodeLLM(CustomLLM):
    """The `custom_handler` a proxy config names (`litellm_commandcode.proxy.handler`): it makes `commandcode` one of
    LiteLLM's custom providers, whose calls `_route_to_the_http_handler` then sends to LiteLLM's HTTP handler with
    `CommandCodeChatConfig`. Its own `CustomLLM` methods are never called."""


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
