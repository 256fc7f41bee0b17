"""The LiteLLM internals the plug-in relies on, in one list, and the check that runs before it patches anything.

A LiteLLM release that renames or removes one of them makes `register()` (and the proxy's handler import) raise one
`IncompatibleLiteLLMError` naming the release, the missing piece and what to do, never an `AttributeError` at the
first request. Each entry is checked on every release in `litellm-versions.txt` by the test command;
`tests/unit/test_compat.py` fails loudly when the installed release lacks one.
"""

import contextlib
import dataclasses
import importlib
import importlib.metadata
import inspect
from pathlib import Path
from typing import Final

PROVIDER: Final = "commandcode"
PROVIDER_MODULE: Final = f"litellm.llms.{PROVIDER}.chat.transformation"
# Marks what the plug-in added at run time, so that it is told apart from what LiteLLM ships.
SHIM_FLAG: Final = "_commandcode_runtime_shim"
VERSIONS_FILE: Final = Path(__file__).resolve().parent / "litellm-versions.txt"


@dataclasses.dataclass(frozen=True)
class Internal:
    module: str
    attribute: str
    why: str
    # Where an older release keeps the same attribute.
    older_module: str = ""
    # Without it one mapping is lost (the check does not refuse the release); tests still require it.
    optional: bool = False

    @property
    def name(self) -> str:
        return f"{self.module}.{self.attribute}" if self.attribute else self.module


MESSAGES_BRIDGE: Final = Internal(
    "litellm.llms.anthropic.messages.adapters.transformation",
    "LiteLLMAnthropicMessagesAdapter.translate_anthropic_to_openai",
    "wrapped so that a bare `output_config.effort` on /v1/messages reaches commandcode as `reasoning_effort`",
    older_module="litellm.llms.anthropic.pass_through.adapters.transformation",
    optional=True,
)
INTERNALS: Final = (
    Internal("litellm.main", "_complete_custom_providers", "replaced so that `commandcode` reaches the HTTP handler"),
    Internal("litellm.main", "base_llm_http_handler.completion", "the HTTP handler every built-in provider runs on"),
    Internal("litellm.main", "_get_encoding", "the tokenizer handed to the HTTP handler"),
    Internal("litellm.types.completion", "CompletionDispatchContext", "what the custom-provider dispatch receives"),
    Internal("litellm.types.utils", "LlmProviders._value2member_map_", "`LlmProviders.COMMANDCODE` is added to it"),
    Internal("litellm.types.utils", "LlmProvidersSet", "LiteLLM maps params only for the providers it lists"),
    Internal("litellm.utils", "ProviderConfigManager._build_provider_config_map", "the provider config is added"),
    Internal("litellm.utils", "custom_llm_setup", "reads `litellm.custom_provider_map` after `register()` edits it"),
    Internal("litellm", "_custom_providers", "custom providers' names, which the dispatch checks"),
    Internal("litellm", "models_by_provider", "lists `commandcode/*` models for the proxy's model list"),
    Internal("litellm", "register_model", "adds the `commandcode/*` cost map entries"),
    Internal(
        "litellm.litellm_core_utils.streaming_handler",
        "CustomStreamWrapper",
        "its `completion_stream` is wrapped: one id, the model and a finish chunk of their own",
    ),
    MESSAGES_BRIDGE,
    Internal(
        "litellm.litellm_core_utils.exception_mapping_utils",
        "ExceptionCheckers.is_error_str_context_window_exceeded",
        "context-window errors become ContextWindowExceededError",
    ),
)
# The dispatch context's fields `registration._complete_commandcode` reads.
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
    """The installed LiteLLM lacks an internal the plug-in needs; nothing was patched."""


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


def _has(internal: Internal) -> bool:
    return resolve(internal) is not None


def _stream_wrapper_takes_completion_stream() -> bool:
    with contextlib.suppress(ImportError, AttributeError, TypeError, ValueError):
        wrapper: Final = importlib.import_module("litellm.litellm_core_utils.streaming_handler").CustomStreamWrapper
        return "completion_stream" in inspect.signature(wrapper.__init__).parameters
    return False


def _missing_dispatch_fields() -> list[str]:
    with contextlib.suppress(ImportError, AttributeError):
        context: Final = importlib.import_module("litellm.types.completion").CompletionDispatchContext
        known: Final = {field.name for field in dataclasses.fields(context)} | set(
            getattr(context, "__annotations__", {})
        )
        return [f"CompletionDispatchContext.{name}" for name in DISPATCH_FIELDS if name not in known]
    return []


def missing_internals(*, optional: bool = False) -> list[str]:
    """Every internal of `INTERNALS` (and dispatch field) the installed LiteLLM lacks, with the reason it is needed;
    the optional ones too when `optional`."""
    missing: Final = [
        f"{internal.name} ({internal.why})"
        for internal in INTERNALS
        if (optional or not internal.optional) and not _has(internal)
    ]
    if not _stream_wrapper_takes_completion_stream():
        missing.append("CustomStreamWrapper(completion_stream=...) (the stream the plug-in wraps)")
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
        raise IncompatibleLiteLLMError(_message("lacks " + "; ".join(missing)))


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
