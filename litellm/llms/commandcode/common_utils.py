"""
Constants, the error class and the error-envelope parsing shared by the Command Code provider.

Command Code (https://commandcode.ai) serves many coding models behind `POST /alpha/generate`, a
non-OpenAI protocol: a nested request envelope, AI-SDK-style messages and a newline-delimited JSON event stream.
"""

import json
import math
import re
import time
import types
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Final

import httpx
from pydantic import StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError
from typing_extensions import TypedDict

import litellm
from litellm.llms.base_llm.chat.transformation import BaseLLMException
from litellm.types.utils import ModelInfo

PROVIDER: Final[str] = "commandcode"
PROVIDER_PREFIX: Final[str] = "commandcode/"
COMMANDCODE_API_BASE: Final[str] = "https://api.commandcode.ai"
COMMANDCODE_GENERATE_PATH: Final[str] = "/alpha/generate"
COMMANDCODE_PROVIDER_API_DOCS: Final[str] = "https://commandcode.ai/docs/provider-api"
# The second door: Command Code's OpenAI/Anthropic-compatible Provider API, for plans with API access.
COMMANDCODE_PROVIDER_API_PATH: Final[str] = "/provider/v1"
COMMANDCODE_ROUTE_PARAM: Final[str] = "commandcode_route"
COMMANDCODE_ROUTE_ENV_VAR: Final[str] = "COMMANDCODE_ROUTE"
COMMANDCODE_ROUTE_GENERATE: Final[str] = "generate"
COMMANDCODE_ROUTE_PROVIDER_API: Final[str] = "provider_api"
COMMANDCODE_API_KEY_ENV_VARS: Final[tuple[str, ...]] = ("COMMANDCODE_API_KEY", "COMMAND_CODE_API_KEY")
COMMANDCODE_API_BASE_ENV_VAR: Final[str] = "COMMANDCODE_API_BASE"
COMMANDCODE_VERSION_ENV_VAR: Final[str] = "COMMANDCODE_VERSION"
COMMANDCODE_VERSION_PARAM: Final[str] = "commandcode_version"
# The server rejects clients older than a moving minimum; 1.64.0 is the newest official CLI known (November 2026).
COMMANDCODE_DEFAULT_VERSION: Final[str] = "1.64.0"
COMMANDCODE_DEFAULT_MAX_TOKENS: Final[int] = 64000
COMMANDCODE_MAX_TOKENS_LIMIT: Final[int] = 200000
COMMANDCODE_DEFAULT_CONTEXT_WINDOW: Final[int] = 200000
# Largest image accepted, decoded: 5 MiB, the per-image limit of Anthropic's API, the strictest of the providers behind
# Command Code; a larger image is refused with a 400 before anything is sent.
COMMANDCODE_MAX_IMAGE_BYTES: Final[int] = 5 * 1024 * 1024
COMMANDCODE_REASONING_EFFORTS: Final[tuple[str, ...]] = ("low", "medium", "high", "xhigh", "max")
COMMANDCODE_REASONING_DISABLED: Final[frozenset[str]] = frozenset(("none",))
# Level names agents use besides Command Code's own, as the level of Command Code's scale they round to: `minimal`
# (OpenAI, Pi) lies below `low`, `ultra` (Hermes) and `maximum` above `max`.
COMMANDCODE_REASONING_ALIASES: Final[Mapping[str, str]] = types.MappingProxyType(
    {"minimal": "low", "ultra": "max", "maximum": "max"}
)
# Retired ids the official CLI still accepts and rewrites before sending.
COMMANDCODE_RETIRED_MODEL_IDS: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "claude-haiku-4-5": "claude-haiku-4-5-20251001",
        "claude-opus-4-6": "claude-opus-4-7",
        "claude-sonnet-4-5-20250929": "claude-sonnet-4-6",
    }
)


class CommandCodeError(BaseLLMException):
    def __init__(
        self,
        status_code: int,
        message: str,
        headers: dict[str, str] | httpx.Headers | None = None,  # mutable-ok: BaseLLMException header contract
        body: dict[str, object] | None = None,  # mutable-ok: BaseLLMException body contract
    ) -> None:
        super().__init__(status_code=status_code, message=message, headers=headers, body=body)


def bad_request(message: str) -> CommandCodeError:
    return CommandCodeError(status_code=400, message=message)


def commandcode_model_id(model: str) -> str:
    """The id Command Code serves `model` under: without the provider prefix, a retired id as its successor."""
    bare: Final = model.removeprefix(PROVIDER_PREFIX)
    return COMMANDCODE_RETIRED_MODEL_IDS.get(bare, bare)


def get_commandcode_model_info(model: str) -> ModelInfo | None:
    """The cost-map entry of a Command Code model id (generated from the catalog), or None when it is unmapped."""
    try:
        return litellm.get_model_info(f"{PROVIDER_PREFIX}{model}")
    except Exception:  # LiteLLM raises a bare Exception (ModelNotMappedError on newer releases) for unmapped models
        return None


def get_explicit_output_cap(model_info: ModelInfo | None) -> int | None:
    """The model's own output cap. The cost map states the CLI's default request size for models without one."""
    cap: Final = model_info.get("max_output_tokens") if model_info is not None else None
    return cap if cap is not None and cap != COMMANDCODE_DEFAULT_MAX_TOKENS else None


class _RateLimit(TypedDict, total=False):
    reset: StrictInt | StrictFloat
    window: StrictStr


class _ErrorDetail(TypedDict, total=False):
    code: StrictStr
    status: StrictInt
    statusCode: StrictInt
    message: StrictStr
    docs: StrictStr
    rateLimit: _RateLimit


class _ErrorEnvelope(TypedDict, total=False):
    error: _ErrorDetail | StrictStr
    message: StrictStr


_ERROR_ENVELOPE: Final = TypeAdapter(_ErrorEnvelope)
_ERROR_DETAIL_OR_TEXT: Final = TypeAdapter(_ErrorDetail | StrictStr)
EMBEDDED_STATUS_PATTERN: Final = re.compile(r"^\s*(?P<status>[45]\d\d)\b\s*(?P<rest>.*)$", re.DOTALL)


def _error_hint(code: str | None, message: str, rate_limit: _RateLimit | None) -> str:
    lowered: Final = message.lower()
    if code == "upgrade_required" or "upgrade_required" in lowered:
        return (
            " Command Code requires a newer client version: set the "
            f"{COMMANDCODE_VERSION_ENV_VAR} environment variable or pass {COMMANDCODE_VERSION_PARAM}=... "
            f"(the default is {COMMANDCODE_DEFAULT_VERSION})."
        )
    if "proxy use detected" in lowered:
        return (
            " Command Code serves /alpha/generate only to its CLI here; switch this provider to Command Code's "
            "Provider API (/provider/v1, for plans with API access): "
            f"{COMMANDCODE_ROUTE_PARAM}: {COMMANDCODE_ROUTE_PROVIDER_API} in "
            f"litellm_params (or {COMMANDCODE_ROUTE_PARAM}='{COMMANDCODE_ROUTE_PROVIDER_API}' per call), or "
            f"{COMMANDCODE_ROUTE_ENV_VAR}={COMMANDCODE_ROUTE_PROVIDER_API} in the environment; see "
            f"{COMMANDCODE_PROVIDER_API_DOCS}."
        )
    if "insufficient credits" in lowered or "insufficient balance" in lowered:
        return " Your Command Code account is out of credits; top up at https://commandcode.ai."
    reset: Final = rate_limit.get("reset") if rate_limit is not None else None
    if rate_limit is None or reset is None:
        return ""
    when: Final = datetime.fromtimestamp(reset, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f" The {rate_limit.get('window', 'usage')} usage window of your plan is exhausted; it resets at {when}."


def parse_error_body(error_message: str, status_code: int) -> tuple[int, str, dict[str, str]]:
    """(status, message, headers) from an HTTP error body: Command Code's JSON envelope, or raw text."""
    try:
        envelope: Final = _ERROR_ENVELOPE.validate_json(error_message)
    except (ValidationError, TypeError):
        try:
            json.loads(error_message)
        except (json.JSONDecodeError, TypeError):
            text = error_message.strip() if isinstance(error_message, str) else ""
            return status_code, text[:2000] or f"Command Code returned HTTP {status_code} with an empty body", {}
        return status_code, error_message[:2000], {}
    error: Final = envelope.get("error")
    if not isinstance(error, dict):
        return status_code, error or envelope.get("message") or error_message[:2000], {}
    status: Final = error.get("status") or status_code
    code: Final = error.get("code")
    message: Final = error.get("message") or code or f"HTTP {status}"
    rate_limit: Final = error.get("rateLimit")
    reset: Final = rate_limit.get("reset") if rate_limit is not None else None
    docs: Final = error.get("docs")
    prefix: Final = f"{code}: " if code and code not in message else ""
    suffix: Final = f" ({docs})" if docs else ""
    # rounded up: a retry before the reset would fail again
    headers: Final = {"retry-after": str(max(0, math.ceil(reset - time.time())))} if reset is not None else {}
    return status, f"{prefix}{message}{_error_hint(code, message, rate_limit)}{suffix}", headers


def stream_error(error: object) -> CommandCodeError:
    """The error an in-stream `error` event stands for: its statusCode, a status embedded in the message, or 500."""
    try:
        detail: _ErrorDetail | str | None = _ERROR_DETAIL_OR_TEXT.validate_python(error)
    except ValidationError:
        detail = None
    raw_message: Final = detail.get("message") if isinstance(detail, dict) else detail
    message: Final = raw_message or json.dumps(error, default=str)
    status: Final = detail.get("statusCode") if isinstance(detail, dict) else None
    embedded: Final = EMBEDDED_STATUS_PATTERN.match(message)
    if embedded is None:
        return CommandCodeError(status_code=status or 500, message=message)
    embedded_status: Final = status or int(embedded.group("status"))
    rest: Final = embedded.group("rest")
    if not rest.lstrip().startswith("{"):
        return CommandCodeError(status_code=embedded_status, message=message)
    inner_status, inner_message, headers = parse_error_body(rest, embedded_status)
    return CommandCodeError(status_code=status or inner_status, message=inner_message, headers=headers)
