"""
Translate OpenAI chat completions to Command Code's `POST /alpha/generate` and back.

The endpoint always streams newline-delimited JSON events (no `data:` prefix, no `[DONE]`); a non-streaming call
reads the whole stream and assembles one response through the same event handling as the streaming iterator.
"""

import contextlib
import hashlib
import json
import math
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Final, cast

import httpx

import litellm
from litellm._logging import verbose_logger
from litellm.exceptions import UnsupportedParamsError
from litellm.litellm_core_utils.prompt_templates.image_handling import convert_url_to_base64
from litellm.litellm_core_utils.reasoning_effort_utils import reasoning_effort_from_thinking_budget
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from litellm.llms.base_llm.base_model_iterator import BaseModelResponseIterator
from litellm.llms.base_llm.chat.transformation import BaseConfig, BaseLLMException
from litellm.llms.commandcode.common_utils import (
    COMMANDCODE_API_BASE,
    COMMANDCODE_API_BASE_ENV_VAR,
    COMMANDCODE_API_KEY_ENV_VARS,
    COMMANDCODE_DEFAULT_MAX_TOKENS,
    COMMANDCODE_DEFAULT_VERSION,
    COMMANDCODE_GENERATE_PATH,
    COMMANDCODE_MAX_IMAGE_BYTES,
    COMMANDCODE_MAX_TOKENS_LIMIT,
    COMMANDCODE_MODELS,
    COMMANDCODE_PROVIDER_API_DOCS,
    COMMANDCODE_REASONING_ALIASES,
    COMMANDCODE_REASONING_DISABLED,
    COMMANDCODE_REASONING_EFFORTS,
    COMMANDCODE_RETIRED_MODEL_IDS,
    COMMANDCODE_VERSION_ENV_VAR,
    CommandCodeError,
)
from litellm.llms.custom_httpx.http_handler import (
    AsyncHTTPHandler,
    HTTPHandler,
    _get_httpx_client,
    get_async_httpx_client,
)
from litellm.secret_managers.main import get_secret_str
from litellm.types.llms.openai import AllMessageValues, OpenAIChatCompletionFinishReason
from litellm.types.utils import (
    ChatCompletionDeltaToolCall,
    ChatCompletionMessageToolCall,
    Delta,
    Function,
    LlmProviders,
    Message,
    ModelResponse,
    ModelResponseStream,
    StreamingChoices,
    Usage,
)

if TYPE_CHECKING:
    from litellm.litellm_core_utils.litellm_logging import Logging as LiteLLMLoggingObj
    from litellm.litellm_core_utils.tokenizer import Encoding as Tokenizer

PROVIDER: Final[str] = "commandcode"
PROVIDER_PREFIX: Final[str] = "commandcode/"
VERSION_PARAM: Final[str] = "commandcode_version"
THREAD_ID_PARAM: Final[str] = "commandcode_thread_id"
# Parameters agents send that cannot change the answer Command Code gives: accepted, never sent. `prompt_cache_key`
# (also accepted) names the session and becomes the thread id.
ACCEPTED_WITHOUT_EFFECT: Final[tuple[str, ...]] = (
    "store",
    "prompt_cache_retention",
    "safety_identifier",
    "user",
    "metadata",
    "parallel_tool_calls",
    "service_tier",
)
SESSION_PARAM: Final[str] = "prompt_cache_key"
# Parameters accepted at the one value that asks for what Command Code does anyway (not sent); any other value would
# change the answer and cannot be expressed.
NEUTRAL_VALUES: Final[Mapping[str, object]] = MappingProxyType(
    {"top_p": 1, "presence_penalty": 0, "frequency_penalty": 0, "logprobs": False, "response_format": {"type": "text"}}
)
SUPPORTED_OPENAI_PARAMS: Final[tuple[str, ...]] = (
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "reasoning_effort",
    "thinking",
    "tools",
    "tool_choice",
    "stream",
    "stream_options",
    SESSION_PARAM,
    *ACCEPTED_WITHOUT_EFFECT,
    *NEUTRAL_VALUES,
)
SUPPORTED_IMAGE_TYPES: Final[frozenset[str]] = frozenset(("image/png", "image/jpeg", "image/gif", "image/webp"))
MISSING_TOOL_RESULT: Final[str] = "No result: the tool call did not complete."
FINISH_REASONS: Final[Mapping[str, str]] = {
    "stop": "stop",
    "length": "length",
    "tool-calls": "tool_calls",
    "content-filter": "content_filter",
}
UUID_PATTERN: Final = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE
)
DATA_URL_PATTERN: Final = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[^,]*)?;base64,", re.IGNORECASE)
EMBEDDED_STATUS_PATTERN: Final = re.compile(r"^\s*(?P<status>[45]\d\d)\b\s*(?P<rest>.*)$", re.DOTALL)
JsonObject = dict[str, object]
# A Python str can hold a UTF-16 surrogate only unpaired (JSON's "\ud800" escape decodes to one): not Unicode.
LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _neutral_config() -> JsonObject:
    """What the CLI sends about its working directory, minus everything about this host: a gateway has none."""
    return {
        "workingDir": "/tmp",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "environment": "terminal",
        "structure": [],
        "isGitRepo": False,
        "currentBranch": "",
        "mainBranch": "",
        "gitStatus": "",
        "recentCommits": [],
    }


def _as_mapping(value: object) -> Mapping[str, object] | None:
    return value if isinstance(value, Mapping) else None


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bad_request(message: str) -> CommandCodeError:
    return CommandCodeError(status_code=400, message=message)


# ---------------------------------------------------------------------------------------------------------------------
# Request: OpenAI chat messages -> Command Code messages
# ---------------------------------------------------------------------------------------------------------------------


def _text_of(content: object, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence):
        raise _bad_request(f"{where}: content must be a string or a list of text parts, got {type(content).__name__}")
    texts: Final[list[str]] = []
    for part in content:
        part_map = _as_mapping(part)
        text = part_map.get("text") if part_map is not None else None
        if part_map is None or part_map.get("type") not in ("text", "input_text") or not isinstance(text, str):
            raise _bad_request(f"{where}: only text parts are allowed here, got {part!r:.200}")
        texts.append(text)
    return "\n".join(texts)


def _image_part(part: Mapping[str, object], model: str, where: str) -> JsonObject:
    model_info: Final = COMMANDCODE_MODELS.get(model)
    if model_info is not None and not model_info.vision:
        raise _bad_request(
            f"{where}: model {model} does not accept images (text-only); remove the image or pick a vision model"
        )
    image_url: Final = part.get("image_url")
    image_url_map: Final = _as_mapping(image_url)
    url: Final = image_url_map.get("url") if image_url_map is not None else image_url
    if not isinstance(url, str) or not url:
        raise _bad_request(f"{where}: image_url part without a url")
    if url.startswith(("http://", "https://")):
        data_url = convert_url_to_base64(url=url)
    elif url.startswith("data:"):
        data_url = url
    else:
        raise _bad_request(f"{where}: image url must be a data: URL or an http(s) URL, got {url[:40]!r}")
    match: Final = DATA_URL_PATTERN.match(data_url)
    if match is None:
        raise _bad_request(f"{where}: image data URL must be base64-encoded (data:<type>;base64,...)")
    mime_type: Final = match.group("mime").lower()
    if mime_type not in SUPPORTED_IMAGE_TYPES:
        raise _bad_request(
            f"{where}: image type {mime_type} is not supported; use one of {', '.join(sorted(SUPPORTED_IMAGE_TYPES))}"
        )
    payload: Final = data_url[match.end() :].rstrip("=")
    size: Final = len(payload) * 3 // 4  # decoded bytes, without decoding
    if size > COMMANDCODE_MAX_IMAGE_BYTES:
        raise _bad_request(
            f"{where}: image is {size} bytes; Command Code accepts images up to {COMMANDCODE_MAX_IMAGE_BYTES} bytes "
            f"({COMMANDCODE_MAX_IMAGE_BYTES // (1024 * 1024)} MiB)"
        )
    return {"type": "image", "image": data_url, "mimeType": mime_type}


def _user_parts(content: object, model: str, where: str) -> list[JsonObject]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, Sequence):
        raise _bad_request(f"{where}: content must be a string or a list of parts, got {type(content).__name__}")
    parts: Final[list[JsonObject]] = []
    for part in content:
        part_map = _as_mapping(part)
        part_type = part_map.get("type") if part_map is not None else None
        text = part_map.get("text") if part_map is not None else None
        if part_map is not None and part_type in ("text", "input_text") and isinstance(text, str):
            parts.append({"type": "text", "text": text})
        elif part_map is not None and part_type == "image_url":
            parts.append(_image_part(part_map, model, where))
        else:
            raise _bad_request(
                f"{where}: unsupported content part type {part_type!r}; Command Code accepts text and image_url parts"
            )
    return parts


def _tool_call_input(tool_call: Mapping[str, object], where: str) -> tuple[str, str, JsonObject]:
    function: Final = _as_mapping(tool_call.get("function"))
    call_id: Final = tool_call.get("id")
    name: Final = function.get("name") if function is not None else None
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
        raise _bad_request(f"{where}: every tool call needs an id and a function name")
    arguments: Final = function.get("arguments") if function is not None else None
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return call_id, name, {}
    if isinstance(arguments, Mapping):
        return call_id, name, dict(arguments)
    try:
        parsed: object = json.loads(arguments) if isinstance(arguments, str) else None
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise _bad_request(
            f"{where}: arguments of tool call {call_id} ({name}) are not a JSON object: {arguments!r:.200}"
        )
    return call_id, name, parsed


def _reasoning_text(message: Mapping[str, object]) -> str:
    reasoning: Final = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning.strip():
        return reasoning
    blocks: Final = message.get("thinking_blocks")
    if not isinstance(blocks, Sequence):
        return ""
    return "\n".join(
        thinking
        for block in blocks
        if (block_map := _as_mapping(block)) is not None
        and isinstance((thinking := block_map.get("thinking")), str)
        and thinking.strip()
    )


def _assistant_text_parts(content: object, where: str) -> list[JsonObject]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, Sequence):
        raise _bad_request(f"{where}: content must be a string or a list of parts, got {type(content).__name__}")
    parts: Final[list[JsonObject]] = []
    for part in content:
        part_map = _as_mapping(part)
        part_type = part_map.get("type") if part_map is not None else None
        if part_map is None:
            raise _bad_request(f"{where}: content parts must be objects")
        if part_type in ("text", "refusal") and isinstance(text := part_map.get(part_type), str) and text:
            parts.append({"type": "text", "text": text})
        elif part_type == "thinking" and isinstance(thinking := part_map.get("thinking"), str) and thinking.strip():
            parts.append({"type": "reasoning", "text": thinking})
        elif part_type not in ("text", "refusal", "thinking", "redacted_thinking"):
            raise _bad_request(f"{where}: unsupported assistant content part type {part_type!r}")
    return parts


@dataclass
class _ToolBlock:
    """Results collected for the tool calls of the assistant message just emitted."""

    calls: dict[str, str]
    results: list[JsonObject] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)
    followups: list[JsonObject] = field(default_factory=list)


@dataclass
class _MessageBuilder:
    model: str
    messages: list[JsonObject] = field(default_factory=list)
    tool_names: dict[str, str] = field(default_factory=dict)
    block: _ToolBlock | None = None
    deferred: list[JsonObject] = field(default_factory=list)

    def append(self, role: str, parts: list[JsonObject]) -> None:
        if not parts:
            return
        last: Final = self.messages[-1] if self.messages else None
        last_content: Final = last.get("content") if last is not None else None
        if last is not None and last.get("role") == role and isinstance(last_content, list):
            last_content.extend(parts)
            return
        self.messages.append({"role": role, "content": parts})

    def close_tool_block(self) -> None:
        block: Final = self.block
        self.block = None
        if block is not None:
            missing: Final = [
                _tool_result(call_id, name, MISSING_TOOL_RESULT)
                for call_id, name in block.calls.items()
                if call_id not in block.answered
            ]
            self.messages.append({"role": "tool", "content": [*block.results, *missing]})
            self.deferred.extend(block.followups)
        deferred: Final = self.deferred
        self.deferred = []
        self.append("user", deferred)

    def add_user(self, content: object, where: str) -> None:
        self.close_tool_block()
        self.append("user", _user_parts(content, self.model, where))

    def add_assistant(self, message: Mapping[str, object], where: str) -> None:
        self.close_tool_block()
        reasoning: Final = _reasoning_text(message)
        parts: Final[list[JsonObject]] = [{"type": "reasoning", "text": reasoning}] if reasoning else []
        parts.extend(_assistant_text_parts(message.get("content"), where))
        raw_calls: Final = message.get("tool_calls") or ()
        if not isinstance(raw_calls, Sequence):
            raise _bad_request(f"{where}: tool_calls must be a list")
        calls: Final[dict[str, str]] = {}
        for raw_call in raw_calls:
            call_map = _as_mapping(raw_call)
            if call_map is None:
                raise _bad_request(f"{where}: every tool call must be an object")
            call_id, name, arguments = _tool_call_input(call_map, where)
            calls[call_id] = name
            parts.append({"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": arguments})
        self.tool_names.update(calls)
        self.append("assistant", parts)
        if calls:
            self.block = _ToolBlock(calls=calls)

    def add_tool(self, message: Mapping[str, object], where: str) -> None:
        call_id: Final = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise _bad_request(f"{where}: a tool message needs the tool_call_id of the call it answers")
        text, images = _tool_output(message.get("content"), self.model, where)
        block: Final = self.block
        if block is None or call_id not in block.calls or call_id in block.answered:
            name = self.tool_names.get(call_id, "unknown tool")
            self.deferred.append({"type": "text", "text": f"Result of tool call {call_id} ({name}):\n{text}"})
            self.deferred.extend(images)
            return
        block.answered.add(call_id)
        block.results.append(_tool_result(call_id, block.calls[call_id], text))
        if images:
            block.followups.extend([{"type": "text", "text": f"Image returned by tool call {call_id}:"}, *images])


def _tool_result(call_id: str, name: str, text: str) -> JsonObject:
    return {"type": "tool-result", "toolCallId": call_id, "toolName": name, "output": {"type": "text", "value": text}}


def _tool_output(content: object, model: str, where: str) -> tuple[str, list[JsonObject]]:
    if content is None or isinstance(content, str):
        return content or "", []
    if not isinstance(content, Sequence):
        raise _bad_request(f"{where}: content must be a string or a list of parts, got {type(content).__name__}")
    parts: Final = _user_parts(content, model, where)
    text: Final = "\n".join(str(part["text"]) for part in parts if part["type"] == "text")
    return text, [part for part in parts if part["type"] == "image"]


def _split_system(messages: Sequence[AllMessageValues]) -> tuple[str, list[tuple[int, Mapping[str, object]]]]:
    system_texts: Final[list[str]] = []
    conversation: Final[list[tuple[int, Mapping[str, object]]]] = []
    for index, message in enumerate(messages):
        message_map = _as_mapping(message)
        if message_map is None:
            raise _bad_request(f"messages[{index}]: every message must be an object")
        if message_map.get("role") in ("system", "developer"):
            text = _text_of(message_map.get("content"), f"messages[{index}]")
            if text:
                system_texts.append(text)
            continue
        conversation.append((index, message_map))
    return "\n\n".join(system_texts), conversation


def _transform_messages(messages: Sequence[AllMessageValues], model: str) -> tuple[str, list[JsonObject]]:
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise _bad_request("messages must be a non-empty list")
    system, conversation = _split_system(messages)
    if not conversation:
        raise _bad_request("messages must contain at least one user, assistant or tool message besides system prompts")
    builder: Final = _MessageBuilder(model=model)
    for index, message in conversation:
        where = f"messages[{index}]"
        role = message.get("role")
        if role == "user":
            builder.add_user(message.get("content"), where)
        elif role == "assistant":
            builder.add_assistant(message, where)
        elif role == "tool":
            builder.add_tool(message, where)
        else:
            raise _bad_request(f"{where}: unsupported role {role!r}; use system, developer, user, assistant or tool")
    builder.close_tool_block()
    return system, builder.messages


def _valid_unicode(value: object) -> object:
    """A copy of `value` with every lone surrogate replaced by U+FFFD: it cannot be encoded as UTF-8 and upstream
    providers reject it, while its neighbours must go through unchanged."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value) if LONE_SURROGATE.search(value) else value
    if isinstance(value, list):
        return [_valid_unicode(item) for item in value]
    if isinstance(value, dict):
        return {_valid_unicode(key): _valid_unicode(item) for key, item in value.items()}
    return value


def _transform_tools(tools: object) -> list[JsonObject]:
    if tools is None:
        return []
    if not isinstance(tools, Sequence):
        raise _bad_request("tools must be a list")
    transformed: Final[list[JsonObject]] = []
    for index, tool in enumerate(tools):
        tool_map = _as_mapping(tool)
        function = _as_mapping(tool_map.get("function")) if tool_map is not None else None
        name = function.get("name") if function is not None else None
        if tool_map is None or tool_map.get("type", "function") != "function" or function is None or not name:
            raise _bad_request(f"tools[{index}]: only function tools with a name are supported")
        parameters = function.get("parameters")
        transformed.append(
            {
                "name": name,
                "description": function.get("description") or "",
                "input_schema": parameters if isinstance(parameters, Mapping) else {"type": "object", "properties": {}},
            }
        )
    return transformed


# ---------------------------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------------------------


def _nearest_effort(effort: str, supported: tuple[str, ...]) -> str:
    """Closest supported level on low < medium < high < xhigh < max; a tie goes to the higher level."""
    rank: Final = COMMANDCODE_REASONING_EFFORTS.index(effort)
    return min(
        supported,
        key=lambda level: (
            abs(COMMANDCODE_REASONING_EFFORTS.index(level) - rank),
            -COMMANDCODE_REASONING_EFFORTS.index(level),
        ),
    )


def map_reasoning_effort(effort: str, model: str) -> str | None:
    """The `reasoning_effort` to send for `model`, or None to send none. `none` sends none; an agent's own name
    (`minimal`, `ultra`, `maximum`) stands for a level of Command Code's scale; a level the model lacks becomes the
    nearest it has, so anything above its top is its top; a model without levels gets none; a model outside the
    catalog gets the level as named."""
    if effort in COMMANDCODE_REASONING_DISABLED:
        return None
    level: Final = COMMANDCODE_REASONING_ALIASES.get(effort, effort)
    model_info: Final = COMMANDCODE_MODELS.get(model)
    if model_info is None:
        return level
    if not model_info.reasoning_efforts:
        return None
    if level in model_info.reasoning_efforts:
        return level
    if level not in COMMANDCODE_REASONING_EFFORTS:
        known: Final = ", ".join(("none", *COMMANDCODE_REASONING_ALIASES, *COMMANDCODE_REASONING_EFFORTS))
        raise _bad_request(f"reasoning_effort {effort!r} is not a known level; use one of {known}")
    return _nearest_effort(level, model_info.reasoning_efforts)


def effort_from_thinking(thinking: object) -> str | None:
    """Anthropic's `thinking` as a `reasoning_effort` (then mapped to the model's levels like any other): `disabled`
    is `none`; `enabled` goes by `budget_tokens` with LiteLLM's own thresholds (reasoning_effort_from_thinking_budget,
    by default: below 1,024 `minimal`, below 2,048 `low`, below 4,096 `medium`, from 4,096 on `high`), so a budget
    gives the same level whichever bridge carried it; `adaptive` leaves the level to `output_config.effort`, which
    LiteLLM's /v1/messages bridge sends as `reasoning_effort`, and is `medium` without one, as in that bridge."""
    thinking_map: Final = _as_mapping(thinking)
    kind: Final = thinking_map.get("type") if thinking_map is not None else None
    if kind == "disabled":
        return "none"
    if kind == "adaptive":
        return "medium"
    if kind != "enabled" or thinking_map is None:
        raise _bad_request(f"thinking must be an object with type enabled, adaptive or disabled, got {thinking!r:.80}")
    budget: Final = thinking_map.get("budget_tokens", 0)
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise _bad_request(f"thinking.budget_tokens must be a number, got {budget!r:.40}")
    return reasoning_effort_from_thinking_budget(int(budget))


def session_thread_id(session: str) -> str:
    """A stable thread id for a session key: the key itself when it is already a UUID in the v4 layout, else a UUID
    in that layout (the server accepts no other) made from the SHA-256 of the key, the same for every request."""
    if UUID_PATTERN.match(session) is not None:
        return session.lower()
    digest: Final = hashlib.sha256(f"commandcode-thread:{session}".encode("utf-8", "surrogatepass")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def clamp_max_tokens(value: int, model: str) -> int:
    model_info: Final = COMMANDCODE_MODELS.get(model)
    cap: Final = model_info.max_output_tokens if model_info is not None else None
    return min(value, cap or COMMANDCODE_MAX_TOKENS_LIMIT, COMMANDCODE_MAX_TOKENS_LIMIT)


def default_max_tokens(model: str) -> int:
    model_info: Final = COMMANDCODE_MODELS.get(model)
    cap: Final = model_info.max_output_tokens if model_info is not None else None
    return cap or COMMANDCODE_DEFAULT_MAX_TOKENS


def _unsupported(message: str, model: str, drop_params: bool) -> None:
    if drop_params or litellm.drop_params:
        verbose_logger.debug("commandcode: dropping %s", message)
        return
    raise UnsupportedParamsError(
        message=(
            f"{message}. To send the request without it, set `litellm.drop_params = True` (SDK), `drop_params: true` "
            "under `litellm_settings` (proxy config), or pass drop_params=True with the request."
        ),
        llm_provider=PROVIDER,
        model=model,
        status_code=400,
    )


def _model_id(model: str) -> str:
    bare: Final = model.removeprefix(PROVIDER_PREFIX)
    return COMMANDCODE_RETIRED_MODEL_IDS.get(bare, bare)


# ---------------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------------


def _retry_after_seconds(rate_limit: Mapping[str, object]) -> int | None:
    reset: Final = rate_limit.get("reset")
    if not isinstance(reset, (int, float)) or isinstance(reset, bool):
        return None
    return max(0, math.ceil(reset - time.time()))  # rounded up: a retry before the reset would fail again


def _error_hint(code: object, message: str, rate_limit: Mapping[str, object] | None) -> str:
    lowered: Final = message.lower()
    if code == "upgrade_required" or "upgrade_required" in lowered:
        return (
            " Command Code requires a newer client version: set the "
            f"{COMMANDCODE_VERSION_ENV_VAR} environment variable "
            f"or pass {VERSION_PARAM}=... (the default is {COMMANDCODE_DEFAULT_VERSION})."
        )
    if "proxy use detected" in lowered:
        return (
            " Your plan does not allow /alpha/generate outside the official CLI; use Command Code's OpenAI-compatible "
            f"Provider API instead (model='openai/<model>', api_base='https://api.commandcode.ai/provider/v1'), see "
            f"{COMMANDCODE_PROVIDER_API_DOCS}."
        )
    if "insufficient credits" in lowered or "insufficient balance" in lowered:
        return " Your Command Code account is out of credits; top up at https://commandcode.ai."
    if rate_limit is not None:
        reset = rate_limit.get("reset")
        window = rate_limit.get("window", "usage")
        if isinstance(reset, (int, float)) and not isinstance(reset, bool):
            when = datetime.fromtimestamp(reset, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            return f" The {window} usage window of your plan is exhausted; it resets at {when}."
    return ""


def _parse_error_body(error_message: str, status_code: int) -> tuple[int, str, dict[str, str]]:
    """(status, message, headers) from an HTTP error body: Command Code's JSON envelope, or raw text."""
    try:
        body: Final = json.loads(error_message)
    except (json.JSONDecodeError, TypeError):
        text = error_message.strip() if isinstance(error_message, str) else ""
        return status_code, text[:2000] or f"Command Code returned HTTP {status_code} with an empty body", {}
    envelope: Final = _as_mapping(body)
    error: Final = _as_mapping(envelope.get("error")) if envelope is not None else None
    if error is None:
        plain = envelope.get("error") if envelope is not None else None
        plain_message = plain if isinstance(plain, str) else (envelope.get("message") if envelope is not None else None)
        return status_code, str(plain_message) if plain_message else error_message[:2000], {}
    status: Final = _as_int(error.get("status")) or status_code
    raw_message: Final = error.get("message")
    code: Final = error.get("code")
    message: Final = str(raw_message) if raw_message else str(code or f"HTTP {status}")
    rate_limit: Final = _as_mapping(error.get("rateLimit"))
    retry_after: Final = _retry_after_seconds(rate_limit) if rate_limit is not None else None
    docs: Final = error.get("docs")
    prefix: Final = f"{code}: " if isinstance(code, str) and code and code not in message else ""
    suffix: Final = f" ({docs})" if isinstance(docs, str) and docs else ""
    headers: Final[dict[str, str]] = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return status, f"{prefix}{message}{_error_hint(code, message, rate_limit)}{suffix}", headers


def _stream_error(event: Mapping[str, object]) -> CommandCodeError:
    """The error an in-stream `error` event stands for: its statusCode, a status embedded in the message, or 500."""
    error: Final = event.get("error")
    error_map: Final = _as_mapping(error)
    raw_message: Final = error_map.get("message") if error_map is not None else error
    message: Final = raw_message if isinstance(raw_message, str) and raw_message else json.dumps(error, default=str)
    status: Final = _as_int(error_map.get("statusCode")) if error_map is not None else None
    embedded: Final = EMBEDDED_STATUS_PATTERN.match(message)
    if embedded is None:
        return CommandCodeError(status_code=status or 500, message=message)
    embedded_status: Final = status or int(embedded.group("status"))
    rest: Final = embedded.group("rest")
    if not rest.lstrip().startswith("{"):
        return CommandCodeError(status_code=embedded_status, message=message)
    inner_status, inner_message, headers = _parse_error_body(rest, embedded_status)
    return CommandCodeError(status_code=status or inner_status, message=inner_message, headers=headers)


# ---------------------------------------------------------------------------------------------------------------------
# Response: NDJSON events -> OpenAI chunks
# ---------------------------------------------------------------------------------------------------------------------


def _tool_arguments(event: Mapping[str, object]) -> str:
    raw: Final = event.get("input", event.get("args"))
    value: Final = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if value is None:
        return "{}"
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        return json.dumps(parsed[0] if isinstance(parsed, list) and len(parsed) == 1 else parsed)
    return json.dumps(value)


def usage_from_totals(total: Mapping[str, object]) -> Usage:
    """Usage from `finish.totalUsage`. `inputTokens` already includes cache reads and writes: never add them again."""
    prompt_tokens: Final = _as_int(total.get("inputTokens")) or 0
    completion_tokens: Final = _as_int(total.get("outputTokens")) or 0
    input_details: Final = _as_mapping(total.get("inputTokenDetails")) or {}
    output_details: Final = _as_mapping(total.get("outputTokenDetails")) or {}
    cache_read: Final = _as_int(input_details.get("cacheReadTokens")) or _as_int(total.get("cachedInputTokens")) or 0
    cache_write: Final = _as_int(input_details.get("cacheWriteTokens")) or 0
    reasoning: Final = _as_int(output_details.get("reasoningTokens")) or _as_int(total.get("reasoningTokens"))
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
        prompt_tokens_details={"cached_tokens": cache_read, "cache_write_tokens": cache_write or None},
        completion_tokens_details={"reasoning_tokens": reasoning} if reasoning else None,
        cache_read_input_tokens=cache_read,
        cache_creation_input_tokens=cache_write,
    )


def _load_event(line: bytes | str) -> object:
    try:
        return json.loads(line)
    except UnicodeDecodeError:
        return _load_event(line.decode("utf-8", "replace")) if isinstance(line, bytes) else None
    except (ValueError, RecursionError):
        verbose_logger.debug("commandcode: skipping a line that is not JSON (%d characters)", len(line))
        return None


@dataclass(slots=True)
class _ChunkParts:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[ChatCompletionDeltaToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None

    def is_empty(self) -> bool:
        return not (self.content or self.reasoning or self.tool_calls or self.finish_reason)


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
        self._primed: ModelResponseStream | None = None
        self._ready: Final[deque[ModelResponseStream]] = deque()
        self._response_id: Final = f"chatcmpl-{uuid.uuid4()}"
        self._held_surrogates: Final[dict[str, str]] = {}

    def _flush(self, parts: _ChunkParts) -> None:
        """The deltas collected so far leave as a chunk of their own, before a delta of another kind joins them."""
        self._ready.append(self._build(parts))
        parts.content = []
        parts.reasoning = []
        parts.tool_calls = []

    def _on_text_delta(self, event: Mapping[str, object], parts: _ChunkParts) -> None:
        text: Final = event.get("text") or event.get("delta")
        if isinstance(text, str) and text:
            if parts.reasoning or parts.tool_calls:
                self._flush(parts)
            parts.content.append(text)

    def _on_reasoning_delta(self, event: Mapping[str, object], parts: _ChunkParts) -> None:
        text: Final = event.get("text") or event.get("delta")
        if isinstance(text, str) and text:
            if parts.content or parts.tool_calls:
                self._flush(parts)
            parts.reasoning.append(text)

    def _on_tool_call(self, event: Mapping[str, object], parts: _ChunkParts) -> None:
        if parts.content or parts.reasoning:
            self._flush(parts)
        call_id: Final = event.get("toolCallId")
        name: Final = event.get("toolName")
        index: Final = self._tool_call_index
        self._tool_call_index += 1
        parts.tool_calls.append(
            ChatCompletionDeltaToolCall(
                id=call_id if isinstance(call_id, str) and call_id else f"call_{index}",
                type="function",
                index=index,
                function=Function(name=name if isinstance(name, str) else "", arguments=_tool_arguments(event)),
            )
        )

    def _on_finish(self, event: Mapping[str, object], parts: _ChunkParts) -> None:
        reason: Final = event.get("finishReason")
        mapped: Final = FINISH_REASONS.get(reason, "stop") if isinstance(reason, str) else "stop"
        parts.finish_reason = "tool_calls" if self._tool_call_index else mapped
        totals: Final = _as_mapping(event.get("totalUsage")) or _as_mapping(event.get("usage"))
        parts.usage = usage_from_totals(totals) if totals is not None else None
        self._done = True

    def _on_abort(self, event: Mapping[str, object], parts: _ChunkParts) -> None:
        parts.finish_reason = "tool_calls" if self._tool_call_index else "stop"
        self._done = True

    def _on_error(self, event: Mapping[str, object], parts: _ChunkParts) -> None:
        raise _stream_error(event)

    # Unbound functions, not bound methods: an iterator must not sit in a reference cycle, so that a caller who drops
    # a sync stream early gets its connection back at once (see __del__) instead of whenever the collector runs.
    _EVENT_HANDLERS: ClassVar[
        Mapping[str, Callable[["ModelResponseIterator", Mapping[str, object], _ChunkParts], None]]
    ] = MappingProxyType(
        {
            "text-delta": _on_text_delta,
            "reasoning-delta": _on_reasoning_delta,
            "tool-call": _on_tool_call,
            "finish": _on_finish,
            "abort": _on_abort,
            "error": _on_error,
        }
    )

    def _apply(self, event: object, parts: _ChunkParts) -> None:
        event_map: Final = _as_mapping(event)
        if event_map is None or self._done:
            return
        event_type: Final = event_map.get("type")
        handler: Final = self._EVENT_HANDLERS.get(event_type) if isinstance(event_type, str) else None
        if handler is not None:
            handler(self, event_map, parts)

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
                self._apply(_load_event(line), parts)
        last: Final = None if parts.is_empty() else self._build(parts)
        if not self._ready:
            return last
        if last is not None:
            self._ready.append(last)
        return self._ready.popleft()

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

    def _end_of_stream(self) -> ModelResponseStream | None:
        tail: Final = self._buffer
        self._buffer = b""
        chunk: Final = self._parse_lines((tail,)) if tail.strip() and not self._done else None
        if chunk is None and not self._done:
            raise CommandCodeError(
                status_code=502, message="Command Code stream ended before completion (no finish event); retry"
            )
        return chunk

    def _next_chunk(self) -> ModelResponseStream:
        if self._primed is not None:
            primed: Final = self._primed
            self._primed = None
            return primed
        if self._ready:
            return self._ready.popleft()
        while True:
            try:
                item = next(self.response_iterator)
            except StopIteration:
                last = self._end_of_stream()
                if last is None:
                    raise
                return last
            except httpx.TimeoutException as e:
                raise CommandCodeError(status_code=408, message=f"Command Code stream timed out: {e}") from e
            except httpx.TransportError as e:
                raise CommandCodeError(status_code=502, message=f"Command Code connection broke mid-stream: {e}") from e
            chunk = self._parse_item(item)
            if chunk is not None:
                return chunk

    async def _anext_chunk(self) -> ModelResponseStream:
        if self._primed is not None:
            primed: Final = self._primed
            self._primed = None
            return primed
        if self._ready:
            return self._ready.popleft()
        while True:
            try:
                item = await self.async_response_iterator.__anext__()
            except StopAsyncIteration:
                last = self._end_of_stream()
                if last is None:
                    raise
                return last
            except httpx.TimeoutException as e:
                raise CommandCodeError(status_code=408, message=f"Command Code stream timed out: {e}") from e
            except httpx.TransportError as e:
                raise CommandCodeError(status_code=502, message=f"Command Code connection broke mid-stream: {e}") from e
            chunk = self._parse_item(item)
            if chunk is not None:
                return chunk

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
        iter(self)
        self._primed = next(self)

    async def aprime(self) -> None:
        self.__aiter__()
        self._primed = await self.__anext__()


def _assemble(chunks: Iterable[ModelResponseStream], model_response: ModelResponse, model: str) -> ModelResponse:
    content: Final[list[str]] = []
    reasoning: Final[list[str]] = []
    tool_calls: Final[list[ChatCompletionMessageToolCall]] = []
    finish_reason = "stop"
    usage: Usage | None = None
    for chunk in chunks:
        choice = chunk.choices[0]
        delta = choice.delta
        if delta.content:
            content.append(delta.content)
        reasoning_content = getattr(delta, "reasoning_content", None)
        if reasoning_content:
            reasoning.append(reasoning_content)
        for call in delta.tool_calls or ():
            function_call = cast(ChatCompletionDeltaToolCall, call)  # the iterator builds only function tool calls
            tool_calls.append(
                ChatCompletionMessageToolCall(id=function_call.id, type="function", function=function_call.function)
            )
        finish_reason = choice.finish_reason or finish_reason
        usage = getattr(chunk, "usage", None) or usage
    model_response.choices[0].message = Message(  # rebind-ok: ModelResponse populated in place per contract
        content="".join(content) if content or not tool_calls else None,
        role="assistant",
        reasoning_content="".join(reasoning) if reasoning else None,
        tool_calls=tool_calls or None,
    )
    # Chunk finish reasons already went through map_finish_reason; newer LiteLLM declares them as plain str.
    model_response.choices[0].finish_reason = cast(  # rebind-ok: same contract
        OpenAIChatCompletionFinishReason, finish_reason
    )
    model_response.created = int(time.time())  # rebind-ok: same contract
    model_response.model = model  # rebind-ok: same contract
    if usage is not None:
        # ModelResponse carries `usage` as an undeclared pydantic extra field.
        model_response.usage = usage  # type: ignore[attr-defined]
    return model_response


class CommandCodeChatConfig(BaseConfig):
    """
    `reasoning_effort` is sent only at a level the model supports (`map_reasoning_effort`): `none` sends none, agents'
    names (`minimal`, `ultra`) count as levels, a level the model lacks becomes the nearest level it has on
    low < medium < high < xhigh < max (a tie goes to the higher level). Anthropic's `thinking` becomes an effort first
    (`effort_from_thinking`: `budget_tokens` by LiteLLM's thresholds 1,024 / 2,048 / 4,096); `reasoning_effort` wins.
    Parameters that cannot change the answer are accepted and not sent (`ACCEPTED_WITHOUT_EFFECT`); `prompt_cache_key`
    or LiteLLM's session id makes one stable thread per session.
    """

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
        return api_key or next(
            (key for env_var in COMMANDCODE_API_KEY_ENV_VARS if (key := get_secret_str(env_var))),
            None,
        )

    @staticmethod
    def get_api_base(api_base: str | None = None) -> str:
        return (api_base or get_secret_str(COMMANDCODE_API_BASE_ENV_VAR) or COMMANDCODE_API_BASE).rstrip("/")

    def get_supported_openai_params(self, model: str) -> list[str]:  # mutable-ok: inherited contract returns a list
        return list(SUPPORTED_OPENAI_PARAMS)

    def _map_param(self, param: str, value: object, model: str, drop_params: bool) -> tuple[str, object] | None:
        if param in ("max_tokens", "max_completion_tokens"):
            tokens = _as_int(value)
            if tokens is None or tokens < 1:
                raise _bad_request(f"{param} must be a positive integer, got {value!r}")
            return "max_tokens", clamp_max_tokens(tokens, _model_id(model))
        if param == "reasoning_effort":
            value_map = _as_mapping(value)  # {"effort": ..., "summary": ...} from LiteLLM's bridges
            level = value_map.get("effort") if value_map is not None else value
            if not isinstance(level, str):
                raise _bad_request(f"reasoning_effort must be a string, got {value!r}")
            effort = map_reasoning_effort(level, _model_id(model))
            return ("reasoning_effort", effort) if effort is not None else None
        if param == "tool_choice":
            mode = value if isinstance(value, str) else None
            if mode in ("auto", "none"):
                return "tool_choice", mode
            _unsupported(
                f"commandcode does not support tool_choice={value!r} (only 'auto' and 'none')", model, drop_params
            )
            return None
        if param == "temperature" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _bad_request(f"temperature must be a number, got {value!r:.60}")
        if param in ("temperature", "tools", "stream", "stream_options"):
            return param, value
        if param == SESSION_PARAM and isinstance(value, str) and value:
            return param, value
        if param in NEUTRAL_VALUES and value != NEUTRAL_VALUES[param]:
            _unsupported(
                f"commandcode cannot honour {param}={value!r:.60} (only {NEUTRAL_VALUES[param]!r}, which changes "
                "nothing, is accepted)",
                model,
                drop_params,
            )
        return None

    def map_openai_params(
        self,
        non_default_params: JsonObject,  # mutable-ok: inherited contract
        optional_params: JsonObject,  # mutable-ok: inherited contract
        model: str,
        drop_params: bool,
    ) -> JsonObject:  # mutable-ok: inherited contract returns a dict
        params: Final = {name: value for name, value in non_default_params.items() if name != "thinking"}
        if "thinking" in non_default_params and "reasoning_effort" not in params:
            params["reasoning_effort"] = effort_from_thinking(non_default_params["thinking"])
        mapped: Final = {
            translated[0]: translated[1]
            for param, value in params.items()
            if (translated := self._map_param(param, value, model, drop_params)) is not None
        }
        return {**optional_params, **mapped}

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
            optional_params.get(VERSION_PARAM)
            or caller_headers.get("x-command-code-version")
            or get_secret_str(COMMANDCODE_VERSION_ENV_VAR)
            or COMMANDCODE_DEFAULT_VERSION
        )
        thread_id: Final = self._thread_id(
            optional_params.get(THREAD_ID_PARAM) or caller_headers.get("x-session-id"),
            optional_params.get(SESSION_PARAM) or (litellm_params or {}).get("litellm_session_id"),
        )
        return {
            **caller_headers,
            "content-type": "application/json",
            "x-command-code-version": str(version),
            "x-session-id": thread_id,
            "authorization": f"Bearer {final_api_key}",
        }

    @staticmethod
    def _thread_id(candidate: object, session: object) -> str:
        """The caller's own thread id, else one derived from the session (`prompt_cache_key`, else LiteLLM's
        `litellm_session_id`), else a fresh one: one agent session is one Command Code thread."""
        if candidate is None:
            return session_thread_id(session) if isinstance(session, str) and session else str(uuid.uuid4())
        if not isinstance(candidate, str) or UUID_PATTERN.match(candidate) is None:
            raise _bad_request(f"{THREAD_ID_PARAM} must be a UUID (version 4 layout), got {candidate!r:.60}")
        return candidate.lower()

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
        model_id: Final = _model_id(model)
        system, wire_messages = _transform_messages(messages, model_id)
        tool_choice: Final = optional_params.get("tool_choice")
        tools: Final = [] if tool_choice == "none" else _transform_tools(optional_params.get("tools"))
        payload: Final = {
            key: _valid_unicode(value)
            for key, value in (("messages", wire_messages), ("tools", tools), ("system", system))
        }
        max_tokens: Final = _as_int(optional_params.get("max_tokens")) or default_max_tokens(model_id)
        optional: Final = {
            key: optional_params[key]
            for key in ("temperature", "reasoning_effort")
            if optional_params.get(key) is not None
        }
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
                **payload,
                "max_tokens": max_tokens,
                **optional,
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
        # LiteLLM's Logging.post_call has no annotations, so strict mypy rejects any call to it.
        logging_obj.post_call(  # type: ignore[no-untyped-call]
            input=messages, api_key=api_key, original_response=raw_response.text
        )
        events: Final = ModelResponseIterator(streaming_response=(raw_response.content,), sync_stream=True)
        params: Final = _as_mapping(request_data.get("params"))
        requested: Final = params.get("model") if params is not None else None
        return _assemble(events, model_response, requested if isinstance(requested, str) else _model_id(model))

    def get_error_class(
        self,
        error_message: str,
        status_code: int,
        headers: dict[str, str] | httpx.Headers,  # mutable-ok: inherited contract
    ) -> BaseLLMException:
        status, message, extra_headers = _parse_error_body(error_message, status_code)
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

    def _request_body(self, data: Mapping[str, object], signed_json_body: bytes | None) -> bytes | str:
        return signed_json_body if signed_json_body is not None else json.dumps(data)

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
        http_client: Final = client if isinstance(client, HTTPHandler) else _get_httpx_client()
        try:
            response: Final = http_client.post(
                api_base,
                headers=headers,
                data=self._request_body(data, signed_json_body),
                stream=True,
                timeout=timeout,
                logging_obj=logging_obj,
            )
        except httpx.HTTPStatusError as e:
            raise self.get_error_class(e.response.text, e.response.status_code, e.response.headers) from None
        iterator: Final = ModelResponseIterator(streaming_response=response.iter_bytes(), sync_stream=True)
        iterator.http_response = response
        iterator.prime()
        # Logging.post_call is unannotated in LiteLLM.
        logging_obj.post_call(  # type: ignore[no-untyped-call]
            input=messages, api_key="", original_response="first stream response received"
        )
        return CustomStreamWrapper(
            completion_stream=iterator,
            model=model,
            custom_llm_provider=custom_llm_provider,
            logging_obj=logging_obj,
            _response_headers=response.headers,
        )

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
        http_client: Final = client if isinstance(client, AsyncHTTPHandler) else _async_client(custom_llm_provider)
        try:
            response: Final = await http_client.post(
                api_base,
                headers=headers,
                data=self._request_body(data, signed_json_body),
                stream=True,
                timeout=timeout,
                logging_obj=logging_obj,
            )
        except httpx.HTTPStatusError as e:
            raise self.get_error_class(e.response.text, e.response.status_code, e.response.headers) from None
        iterator: Final = ModelResponseIterator(streaming_response=response.aiter_bytes(), sync_stream=False)
        iterator.http_response = response
        await iterator.aprime()
        # Logging.post_call is unannotated in LiteLLM.
        logging_obj.post_call(  # type: ignore[no-untyped-call]
            input=messages, api_key="", original_response="first stream response received"
        )
        return CustomStreamWrapper(
            completion_stream=iterator,
            model=model,
            custom_llm_provider=custom_llm_provider,
            logging_obj=logging_obj,
            _response_headers=response.headers,
        )


def _async_client(custom_llm_provider: str) -> AsyncHTTPHandler:
    try:
        provider = LlmProviders(custom_llm_provider)
    except ValueError:
        provider = LlmProviders.CUSTOM
    return get_async_httpx_client(llm_provider=provider)
