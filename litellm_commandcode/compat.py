"""Every LiteLLM internal the plug-in patches or relies on, in one list, and the check that runs before it patches
anything.

LiteLLM offers no public way to add a chat provider that runs on its HTTP handler: `CustomLLM` plus
`custom_provider_map` (which the plug-in uses, so that a proxy config can name it) routes a call to the handler's own
methods, without `shared_session`, with a stream that opens lazily (so an error before the first chunk is not raised
by the call), and with LiteLLM's OpenAI-like defaults for the parameters (`get_supported_openai_params` asks
`ProviderConfigManager` for `LlmProviders.CUSTOM`). Checked on every release in `CHECKED_ON`, 1.110.2 included, which
adds no registration point, stream hook or provider-config registry. So each entry of `INTERNALS` says what is done
to it, why, the parameters the plug-in relies on, and the releases it was checked on. A release that renames, removes
or reshapes one makes `register()` (and the proxy's handler import) raise one `IncompatibleLiteLLMError` naming the
release, the piece and what to do, never an `AttributeError` at the first request; `tests/unit/test_compat.py` fails
on it for the installed release, `tests/integration/test_upstream_apply.py` for every release's pristine source, and
a test there fails when registration.py or glue.py touch a private name that is not listed here.
"""

import contextlib
import dataclasses
import importlib
import importlib.metadata
import inspect
from pathlib import Path
from typing import Final, Literal

PROVIDER: Final = "commandcode"
# The dispatch module imports every other module of the provider (both doors, pause_turn continuations).
PROVIDER_MODULE: Final = f"litellm.llms.{PROVIDER}.chat.handler"
# Marks what the plug-in added at run time, so that it is told apart from what LiteLLM ships.
SHIM_FLAG: Final = "_commandcode_runtime_shim"
VERSIONS_FILE: Final = Path(__file__).resolve().parent / "litellm-versions.txt"
# The releases every entry of INTERNALS was checked on (the rows of litellm-versions.txt).
CHECKED_ON: Final = ("1.106.2", "1.108.7", "1.109.3", "1.110.2")
# replaced: the plug-in puts its own in place (same parameters); wrapped: its own calls the original; extended: it
# adds an entry to a LiteLLM registry; called / read: used as it is.
How = Literal["replaced", "wrapped", "extended", "called", "read"]


@dataclasses.dataclass(frozen=True)
class Internal:
    module: str
    attribute: str
    how: How
    why: str
    # The parameters the plug-in relies on; a replacement takes exactly these. None: not a callable.
    params: tuple[str, ...] | None = None
    checked_on: tuple[str, ...] = CHECKED_ON
    # Where an older release keeps the same attribute.
    older_module: str = ""
    # Without it one mapping is lost (the check does not refuse the release); tests still require it.
    optional: bool = False
    # Other private names of the same structure the plug-in touches with it.
    touches: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.module}.{self.attribute}" if self.attribute else self.module


DISPATCH: Final = Internal(
    "litellm.main",
    "_complete_custom_providers",
    "replaced",
    "`commandcode` goes to glue._complete_commandcode (LiteLLM's HTTP handler); other custom providers as before",
    params=("ctx",),
)
PROVIDER_MODEL_INFO: Final = Internal(
    "litellm.utils",
    "ProviderConfigManager.get_provider_model_info",
    "wrapped",
    "answers `commandcode` with CommandCodeModelInfo, the live model list (`check_provider_endpoint`)",
    params=("model", "provider"),
)
PROVIDER_CONFIGS: Final = Internal(
    "litellm.utils",
    "ProviderConfigManager._build_provider_config_map",
    "extended",
    "`_PROVIDER_CONFIG_MAP` (built by it when still None) gets CommandCodeChatConfig for LlmProviders.COMMANDCODE",
    params=(),
    touches=("_PROVIDER_CONFIG_MAP",),
)
ENUM_MEMBERS: Final = Internal(
    "litellm.types.utils",
    "LlmProviders._value2member_map_",
    "extended",
    "`LlmProviders.COMMANDCODE` (also in `_member_map_`, `_member_names_`): LiteLLM maps params through "
    "ProviderConfigManager only for members",
    touches=("_member_map_", "_member_names_", "_name_", "_value_", "_sort_order_"),
)
PROVIDER_SET: Final = Internal(
    "litellm.types.utils", "LlmProvidersSet", "extended", "LiteLLM maps params only for the providers it lists"
)
CUSTOM_PROVIDERS: Final = Internal(
    "litellm", "_custom_providers", "extended", "custom providers' names, which the dispatch checks"
)
MODELS_BY_PROVIDER: Final = Internal(
    "litellm", "models_by_provider", "extended", "lists `commandcode/*` models for the proxy's model list"
)
STREAM_WRAPPER: Final = Internal(
    "litellm.litellm_core_utils.streaming_handler",
    "CustomStreamWrapper.__init__",
    "wrapped",
    "the `completion_stream` of the wrapper LiteLLM's HTTP handler returns is wrapped: one id, the model, and a "
    "finish chunk of its own (the wrapper drops a custom provider's content-less finish chunk)",
    params=("self", "completion_stream", "model", "logging_obj", "custom_llm_provider"),
)
MESSAGES_BRIDGE: Final = Internal(
    "litellm.llms.anthropic.messages.adapters.transformation",
    "LiteLLMAnthropicMessagesAdapter.translate_anthropic_to_openai",
    "wrapped",
    "a bare `output_config.effort` on /v1/messages reaches commandcode as `reasoning_effort`",
    params=("self", "anthropic_message_request", "custom_llm_provider"),
    older_module="litellm.llms.anthropic.pass_through.adapters.transformation",
    optional=True,
)
INTERNALS: Final = (
    DISPATCH,
    PROVIDER_MODEL_INFO,
    PROVIDER_CONFIGS,
    ENUM_MEMBERS,
    PROVIDER_SET,
    CUSTOM_PROVIDERS,
    MODELS_BY_PROVIDER,
    STREAM_WRAPPER,
    MESSAGES_BRIDGE,
    Internal(
        "litellm.main",
        "base_llm_http_handler.completion",
        "called",
        "the HTTP handler every built-in provider runs on (glue._complete_commandcode, through the provider)",
        params=("model", "messages", "api_base", "custom_llm_provider", "model_response", "encoding", "logging_obj")
        + ("optional_params", "timeout", "litellm_params", "acompletion", "stream", "api_key", "headers", "client")
        + ("provider_config", "shared_session"),
    ),
    Internal("litellm.main", "_get_encoding", "called", "the tokenizer glue._complete_commandcode hands on", params=()),
    Internal(
        "litellm.main", "_dispatch_client_http", "called", "the client glue._complete_commandcode hands on", ("ctx",)
    ),
    Internal(
        "litellm.types.completion", "CompletionDispatchContext", "read", "what the dispatch receives (DISPATCH_FIELDS)"
    ),
    Internal(
        "litellm.types.completion", "_CompletionDispatchResult", "read", "glue._complete_commandcode's return type"
    ),
    Internal(
        "litellm.litellm_core_utils.exception_mapping_utils",
        "ExceptionCheckers.is_error_str_context_window_exceeded",
        "called",
        "context-window errors become ContextWindowExceededError (glue._map_commandcode_exception)",
        params=("error_str",),
    ),
    Internal(
        "litellm.litellm_core_utils.exception_mapping_utils",
        "_ProviderHTTPException",
        "read",
        "glue._map_commandcode_exception's parameter type, as for every `_map_*_exception` there",
    ),
    Internal("litellm.utils", "custom_llm_setup", "called", "reads `litellm.custom_provider_map` after register()", ()),
    Internal("litellm", "register_model", "called", "adds the `commandcode/*` cost map entries", ("model_cost",)),
    Internal("litellm._logging", "verbose_logger", "read", "LiteLLM's logger, as its providers import it"),
)
# The dispatch context's fields glue._complete_commandcode reads.
DISPATCH_FIELDS: Final = (
    "acompletion",
    "api_base",
    "api_key",
    "client",
    "custom_llm_provider",
    "headers",
    "litellm_params",
    "logging",
    "messages",
    "model",
    "model_response",
    "optional_params",
    "shared_session",
    "stream",
    "timeout",
)


class IncompatibleLiteLLMError(RuntimeError):
    """The installed LiteLLM lacks an internal the plug-in needs, or has changed one; nothing was patched."""


def litellm_version() -> str:
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        return importlib.metadata.version("litellm")
    return "(unknown version)"


def _lookup(module: str, attribute: str) -> object | None:
    try:
        found: object = importlib.import_module(module)
    except ImportError:
        return None
    for part in filter(None, attribute.split(".")):
        if not hasattr(found, part):
            return None
        found = getattr(found, part)
    return found


def resolve(internal: Internal, *, owner: bool = False) -> object | None:
    """The internal (or, with `owner`, the object that holds it, to replace it on), from its module or else its older
    module; None when the release has neither."""
    attribute: Final = internal.attribute.rpartition(".")[0] if owner else internal.attribute
    found: Final = _lookup(internal.module, attribute)
    if found is not None or not internal.older_module:
        return found
    return _lookup(internal.older_module, attribute)


def _missing_dispatch_fields() -> list[str]:
    with contextlib.suppress(ImportError, AttributeError):
        context: Final = importlib.import_module("litellm.types.completion").CompletionDispatchContext
        known: Final = {field.name for field in dataclasses.fields(context)} | set(
            getattr(context, "__annotations__", {})
        )
        return [f"CompletionDispatchContext.{name}" for name in DISPATCH_FIELDS if name not in known]
    return []


def _parameters(found: object) -> tuple[str, ...] | None:
    with contextlib.suppress(TypeError, ValueError):
        return tuple(inspect.signature(found).parameters)  # type: ignore[arg-type]
    return None


def changed(internal: Internal) -> str | None:
    """What is wrong with `internal` in the installed LiteLLM (None: it is as the plug-in expects)."""
    found: Final = resolve(internal)
    if found is None:
        return "missing"
    if internal.params is None:
        return None
    parameters: Final = _parameters(found)
    if parameters is None:
        return "no longer a function"
    if internal.how == "replaced" and parameters != internal.params:
        return f"takes ({', '.join(parameters)}), not ({', '.join(internal.params)})"
    lacking: Final = [name for name in internal.params if name not in parameters]
    return f"no parameter {', '.join(lacking)}" if lacking else None


def missing_internals(*, optional: bool = False) -> list[str]:
    """Every internal of `INTERNALS` (and dispatch field) the installed LiteLLM lacks or has reshaped, with the
    reason it is needed; the optional ones too when `optional`."""
    problems: Final = [(internal, changed(internal)) for internal in INTERNALS if optional or not internal.optional]
    missing: Final = [
        f"{internal.name} ({internal.why})" if problem == "missing" else f"{internal.name}: {problem} ({internal.why})"
        for internal, problem in problems
        if problem is not None
    ]
    return [*missing, *(f"{name} (read by the dispatch)" for name in _missing_dispatch_fields())]


def litellm_knows_commandcode() -> bool:
    """True when the installed LiteLLM ships the provider itself (the upstream change is merged or applied)."""
    from litellm.types.utils import LlmProviders

    member: Final = LlmProviders._value2member_map_.get(PROVIDER)
    return member is not None and not getattr(member, SHIM_FLAG, False)


def check_litellm() -> None:
    """Raise `IncompatibleLiteLLMError` when the installed LiteLLM cannot take the plug-in. Patches nothing."""
    missing: Final = missing_internals()
    if missing:
        raise IncompatibleLiteLLMError(_message("lacks or has changed " + "; ".join(missing)))


def check_provider_imports() -> None:
    try:
        importlib.import_module(PROVIDER_MODULE)
    except ImportError as error:
        raise IncompatibleLiteLLMError(_message(f"cannot import the provider ({PROVIDER_MODULE}: {error})")) from error


def tested_releases() -> dict[str, str]:
    """Role (`default`, `oldest`, `newest`) → LiteLLM release, from `litellm-versions.txt`."""
    rows: Final = (line.split("#", 1)[0].split() for line in VERSIONS_FILE.read_text(encoding="utf-8").splitlines())
    return {row[0]: row[1] for row in rows if len(row) >= 3}


def _message(problem: str) -> str:
    releases: Final = tested_releases()
    oldest, newest = releases["oldest"], releases["newest"]
    return (
        f"litellm-commandcode cannot plug into LiteLLM {litellm_version()}: this release {problem}. Nothing was "
        f"patched. Install a LiteLLM release this plug-in was tested with, {oldest} to {newest} "
        f"(`pip install 'litellm>={oldest},<={newest}'`), or a litellm-commandcode release that supports LiteLLM "
        f"{litellm_version()}."
    )
