"""Offline, protocol-faithful fake of Command Code's ``POST /alpha/generate`` (see PROTOCOL.md).

Run ``python -m litellm_commandcode.fake_server --port 0`` or use :class:`FakeCommandCodeServer` in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import signal
import socket
import struct
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from http import HTTPStatus
from types import TracebackType
from typing import Final
from urllib.parse import unquote

from litellm_commandcode import catalog

JsonDict = dict[str, object]

DEFAULT_HOST: Final = "127.0.0.1"
ALLOWED_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_SCENARIO: Final = "ok"
DEFAULT_MIN_VERSION: Final = "1.0.0"
DEFAULT_KEY_PREFIX: Final = "user_"
READY_MESSAGE: Final = "fake-commandcode listening on {url}"
DOCS_BASE: Final = "https://commandcode.ai/docs/reference/errors/"

MAX_SLEEP_SECONDS: Final = 120.0
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 64 * 1024 * 1024
READ_SIZE: Final = 64 * 1024
IDLE_TIMEOUT_SECONDS: Final = 75.0
STOP_TIMEOUT_SECONDS: Final = 5.0
RESET_FLUSH_POLLS: Final = 100
SPLIT_WRITE_PAUSE_SECONDS: Final = 0.02

MAX_TOKENS_LIMIT: Final = 200_000
CACHE_BLOCK_TOKENS: Final = 64
CHARS_PER_TOKEN: Final = 4
WORDS_PER_DELTA: Final = 3
PARTIAL_DELTAS: Final = 2
ECHO_LIMIT: Final = 1000
GARBAGE_PADDING_BYTES: Final = 1_000_000
PRICE_UNIT_TOKENS: Final = 1_000_000
COST_QUANTUM: Final = Decimal("1e-10")

REQUIRED_TOP_LEVEL: Final = ("config", "memory", "taste", "skills", "permissionMode", "params")
TOP_LEVEL_TYPES: Final = {"config": "object", "params": "object"}
PERMISSION_MODES: Final = ("standard", "auto-accept", "plan")
REASONING_EFFORTS: Final = ("low", "medium", "high", "xhigh", "max")
PART_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "user": ("text", "image"),
    "assistant": ("text", "reasoning", "tool-call"),
    "tool": ("tool-result",),
}
TOOL_OUTPUT_TYPES: Final = ("text", "error-text", "json")

UUID4_RE: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
VERSION_RE: Final = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")
DATA_URL_RE: Final = re.compile(r"^data:[\w.+-]+/[\w.+-]+;base64,")
MARKER_RE: Final = re.compile(r"\[\[fake:([^\]]*)\]\]")
LOCATION_RE: Final = re.compile(r"city|location|place|town", re.IGNORECASE)
DELTA_PIECE_RE: Final = re.compile(r"\S+\s*|\s+")

UNAUTHORIZED_MESSAGE: Final = "Invalid 'Authorization' header or token."
TOOL_ORPHAN_MESSAGE: Final = "Messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
VALIDATION_PREFIX: Final = "Invalid request error. HINT: Validation error: "
REPLY_SUFFIX: Final = "This is a deterministic answer from the fake Command Code server."
NETWORK_LOST_MESSAGE: Final = "Network connection lost."
EMBEDDED_ERROR_MESSAGE: Final = '429 {"error":{"message":"Rate limit exceeded"}}'
CONTEXT_MESSAGE: Final = "prompt is too long: 250000 tokens > 200000 maximum"
NON_JSON_BODY: Final = b"upstream connect error"

HTTP_FAULTS: Final[dict[str, tuple[int, str, str]]] = {
    "http_400": (
        400,
        "BAD_REQUEST",
        VALIDATION_PREFIX + 'Invalid input: expected string, received undefined at "params.messages[0].content"',
    ),
    "http_400_credits": (
        400,
        "BAD_REQUEST",
        "You have insufficient credits to use {model}. Add credits at https://commandcode.ai/settings/billing.",
    ),
    "http_400_proxy": (400, "BAD_REQUEST", "Proxy use detected. This endpoint only serves CLI."),
    "http_400_context": (400, "BAD_REQUEST", CONTEXT_MESSAGE),
    "http_401": (401, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE),
    "http_403_plan": (403, "FORBIDDEN", "MODEL_NOT_IN_PLAN: {model} is not included in your current plan."),
    "http_403_model": (403, "FORBIDDEN", "Model/provider not recognized: {model}"),
    "http_500": (500, "INTERNAL_SERVER_ERROR", "Internal server error."),
    "http_502": (502, "BAD_GATEWAY", "Bad gateway: the model provider returned an invalid response."),
    "http_503": (503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable."),
}
STREAM_ERROR_MESSAGES: Final[dict[int, str]] = {
    402: "Insufficient Balance",
    429: "Rate limit exceeded.",
    500: "Internal server error.",
    503: "Service temporarily unavailable.",
}
RETRY_PARAM: Final = frozenset({"retry_after"})
BURST_PARAM: Final = frozenset({"burst"})
SCENARIO_PARAMS: Final[dict[str, frozenset[str]]] = {
    "ok": BURST_PARAM,
    **dict.fromkeys(HTTP_FAULTS, RETRY_PARAM),
    "http_403_upgrade": RETRY_PARAM,
    "http_429": frozenset({"reset_in", "window", "retry_after"}),
    "http_non_json": frozenset({"status", "retry_after"}),
    "stream_error_before": frozenset({"status", "message"}),
    "stream_error_after": frozenset({"status", "message"}),
    "stream_error_string": frozenset({"message"}),
    "stream_error_embedded": frozenset(),
    "stream_context": frozenset(),
    "truncate": frozenset(),
    "reset": frozenset(),
    "garbage": frozenset(),
    "abort": frozenset(),
    "length": frozenset(),
    "content_filter": frozenset(),
    "empty": frozenset(),
    "reasoning_only": BURST_PARAM,
    "multi_step": frozenset(),
    "pause_turn": frozenset({"times"}),
    "slow": frozenset({"delay_ms"}),
    "stall_first": frozenset({"seconds"}),
    "stall_mid": frozenset({"seconds"}),
    "long": frozenset({"events", "size", "burst"}),
    "unicode": frozenset(),
    "unicode_deltas": frozenset(),
    "agent": frozenset({"reply", "read", "burst"}),
}
KNOWN_STATUSES: Final = frozenset(status.value for status in HTTPStatus)
RATE_LIMIT_WINDOWS: Final = ("fiveHour", "weekly", "daily")
GARBAGE_LINES: Final[tuple[bytes, ...]] = (
    b"\n",
    b"not json at all\n",
    b'data: {"type":"text-delta","id":"txt-0","text":"SSE-GHOST"}\n',
    b"event: message\n",
    b'{"type":"mystery-event","payload":{"x":1}}\n',
    b"[1,2,3]\n",
    b'"just a string"\n',
    b": keep-alive\n",
    b'{"no_type":true}\n',
    b"\r\n",
    b'{"type":"response-metadata","id":"meta-0","modelId":"fake"}\n',
    b"data: [DONE]\n",
    b"{broken json\n",
)
UNICODE_DELTAS: Final[tuple[str, ...]] = (
    "Emoji 👋🌍, ",
    "CJK 你好，世界, ",
    "combining e\u0301 and n\u0303, ",
    "separator\u2028inside, ",
    "family 👨\u200d👩\u200d👧, ",
    "split 🎉 done.",
)
UNICODE_SPLIT_CHAR: Final = "🎉"
# Cut inside grapheme clusters and inside the UTF-16 surrogate pair of 🎉 ("\ud83c" "\udf89"): a JavaScript server that
# slices a string by code units writes each half as a JSON escape, and a JavaScript client joins them back into one.
UNICODE_SPLIT_DELTAS: Final[tuple[str, ...]] = (
    "Family 👨\u200d",
    "👩\u200d👧, cafe",
    "\u0301, party \ud83c",
    "\udf89, Hebrew שלו",
    "ם עולם, Arabic مرحبا",
    " بالعالم.",
)
UNICODE_SPLIT_TEXT: Final = "".join(UNICODE_SPLIT_DELTAS).encode("utf-16-le", "surrogatepass").decode("utf-16-le")
AGENT_READ_TOOLS: Final = ("read", "read_file", "read_files", "readfile", "file_read", "view", "read_text_file")
AGENT_SHELL_TOOLS: Final = (
    "bash",
    "shell",
    "exec_command",
    "shell_command",
    "terminal",
    "run_command",
    "run_commands",
    "execute_command",
)
AGENT_PATH_KEYS: Final = ("file_path", "filePath", "path", "absolute_path", "target_file", "file", "filename", "files")
AGENT_COMMAND_KEYS: Final = ("command", "cmd", "commands")
AGENT_REPLY: Final = "The fake server says {word}."
AGENT_READ_REPLY: Final = "The file reads: {text}"
SERVER_TOOL_NAME: Final = "web_search"
SERVER_TOOL_OUTPUT: Final[JsonDict] = {
    "results": [{"title": "Fake search result", "url": "https://example.com/fake"}],
}


class FakeHttpError(Exception):
    """An answer that ends the request with an HTTP error envelope."""

    def __init__(self, status: int, code: str, message: str, extra: JsonDict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers: tuple[tuple[str, str], ...] = ()


class _BadHttp(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _ClientGone(Exception):
    pass


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    input: tuple[str, ...]
    reasoning: bool
    hidden: bool
    context_window: int
    prices: Mapping[str, float | None]


@dataclass(frozen=True)
class Scenario:
    name: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return " ".join([self.name, *(f"{key}={value}" for key, value in self.params.items())])


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    input: JsonDict


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    cache_read_tokens: int
    text_tokens: int
    reasoning_tokens: int
    has_cache_write: bool

    @property
    def output_tokens(self) -> int:
        return self.text_tokens + self.reasoning_tokens

    def plus(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            text_tokens=self.text_tokens + other.text_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            has_cache_write=self.has_cache_write,
        )

    def to_wire(self) -> JsonDict:
        details: JsonDict = {
            "noCacheTokens": self.input_tokens - self.cache_read_tokens,
            "cacheReadTokens": self.cache_read_tokens,
        }
        if self.has_cache_write:
            details["cacheWriteTokens"] = 0
        return {
            "inputTokens": self.input_tokens,
            "inputTokenDetails": details,
            "outputTokens": self.output_tokens,
            "outputTokenDetails": {"textTokens": self.text_tokens, "reasoningTokens": self.reasoning_tokens},
            "totalTokens": self.input_tokens + self.output_tokens,
            "reasoningTokens": self.reasoning_tokens,
            "cachedInputTokens": self.cache_read_tokens,
        }


@dataclass(frozen=True)
class Answer:
    model: ModelInfo
    text: str
    reasoning: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    raw_finish_reason: str
    usage: Usage
    response_id: str

    @property
    def cost(self) -> str:
        return _cost(self.model, self.usage)

    def as_dict(self) -> JsonDict:
        return {
            "model": self.model.id,
            "text": self.text,
            "reasoning": self.reasoning,
            "tool_calls": [{"id": call.id, "name": call.name, "input": call.input} for call in self.tool_calls],
            "finish_reason": self.finish_reason,
            "raw_finish_reason": self.raw_finish_reason,
            "usage": self.usage.to_wire(),
            "cost": self.cost,
            "response_id": self.response_id,
        }


@dataclass(frozen=True)
class _Write:
    data: bytes
    count: int = 1


@dataclass(frozen=True)
class _Pause:
    seconds: float


@dataclass(frozen=True)
class _Reset:
    pass


_Action = _Write | _Pause | _Reset


@dataclass(frozen=True)
class BodyReply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StreamReply:
    actions: tuple[_Action, ...]
    delay_before: float = 0.0
    status: int = 200
    content_type: str = "text/event-stream"


Reply = BodyReply | StreamReply


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        tokens = {token.strip().lower() for token in self.headers.get("connection", "").split(",")}
        if "close" in tokens:
            return False
        return self.version == "HTTP/1.1" or "keep-alive" in tokens


@dataclass
class RequestRecord:
    """One ``/alpha/generate`` request as the fake saw and answered it."""

    connection: int
    headers: dict[str, str]
    body: object | None
    status: int = 0
    scenario: str = ""
    scenario_params: dict[str, str] = field(default_factory=dict)
    disconnected: bool = False
    finished: bool = False
    path: str = "/alpha/generate"
    generate_body: object | None = None

    def summary(self) -> JsonDict:
        return {
            "path": self.path,
            "generate_body": self.generate_body,
            "connection": self.connection,
            "headers": dict(self.headers),
            "body": self.body,
            "status": self.status,
            "scenario": self.scenario,
            "scenario_params": dict(self.scenario_params),
            "disconnected": self.disconnected,
            "finished": self.finished,
        }


@dataclass(frozen=True)
class _Context:
    params: JsonDict
    model: ModelInfo
    scenario: Scenario
    version: str
    now: float


@dataclass
class _Settings:
    default_scenario: str
    keys: frozenset[str] | None
    min_version: tuple[int, int, int]


_MISSING: Final = object()


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, ModelInfo]:
    default_context = _as_int(catalog.load_catalog().get("default_context_window"), 200_000)
    models = (_model_info(_as_dict(entry), default_context) for entry in catalog.catalog_models())
    return {model.id: model for model in models}


def _model_info(entry: JsonDict, default_context: int) -> ModelInfo:
    prices = _as_dict(entry.get("usd_per_million"))
    return ModelInfo(
        id=str(entry.get("id")),
        name=str(entry.get("name")),
        input=tuple(str(kind) for kind in _as_list(entry.get("input"))),
        reasoning=entry.get("reasoning") is True,
        hidden=entry.get("hidden") is True,
        context_window=_as_int(entry.get("context_window"), default_context),
        prices={key: value if isinstance(value, int | float) else None for key, value in prices.items()},
    )


def models_listing() -> JsonDict:
    data: list[object] = [
        {"id": model.id, "name": model.name, "context_length": model.context_window}
        for model in load_catalog().values()
        if not model.hidden
    ]
    return {"object": "list", "data": data}


def _as_dict(value: object) -> JsonDict:
    return value if isinstance(value, dict) else {}


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _as_int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _utf8(text: str) -> bytes:
    """UTF-8, with a lone surrogate (which a JSON request may carry as an escape) written back as the JSON escape
    `\\udXXX`, as the real server's JSON.stringify does; only ever called on JSON text, where that escape is valid."""
    return text.encode("utf-8", "backslashreplace")


def _tokens(length: int) -> int:
    return -(-length // CHARS_PER_TOKEN)


def _floor_block(tokens: int) -> int:
    return tokens // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS


def _digest(value: object) -> str:
    return hashlib.sha256(_utf8(_canonical(value))).hexdigest()


def error_envelope(status: int, code: str, message: str, extra: JsonDict | None = None) -> JsonDict:
    error: JsonDict = {
        "code": code,
        "status": status,
        "message": message,
        "docs": DOCS_BASE + code.lower().replace("_", "-"),
    }
    error.update(extra or {})
    return {"success": False, "error": error}


def _json_reply(status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()) -> BodyReply:
    return BodyReply(
        status=status,
        body=_utf8(json.dumps(payload, ensure_ascii=False, separators=(",", ":"))),
        headers=headers,
    )


def _error_reply(error: FakeHttpError) -> BodyReply:
    return _json_reply(
        error.status, error_envelope(error.status, error.code, error.message, error.extra), error.headers
    )


def _bad_request(detail: str) -> FakeHttpError:
    return FakeHttpError(400, "BAD_REQUEST", VALIDATION_PREFIX + detail)


def _type_name(value: object) -> str:
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _expected(path: str, expected: str, value: object) -> FakeHttpError:
    location = f' at "{path}"' if path else ""
    return _bad_request(f"Invalid input: expected {expected}, received {_type_name(value)}{location}")


def _options(path: str, options: Iterable[str]) -> FakeHttpError:
    choices = "|".join(f'"{option}"' for option in options)
    return _bad_request(f'Invalid option: expected one of {choices} at "{path}"')


def _require_str(container: JsonDict, key: str, path: str) -> str:
    value = container.get(key, _MISSING)
    if not isinstance(value, str):
        raise _expected(f"{path}.{key}", "string", value)
    return value


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(char.isspace() for char in token):
        return None
    return token


def _parse_version(text: str) -> tuple[int, int, int] | None:
    match = VERSION_RE.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _format_version(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def _upgrade_required(sent: str, minimum: tuple[int, int, int]) -> FakeHttpError:
    shown = sent.strip() or "none"
    message = (
        f"upgrade_required: Command Code version {shown} is no longer supported; the minimum is "
        f"{_format_version(minimum)}. Run `npm i -g command-code@latest` to upgrade."
    )
    return FakeHttpError(403, "upgrade_required", message)


def _check_auth(headers: Mapping[str, str], keys: frozenset[str] | None) -> None:
    token = _bearer(headers)
    accepted = token is not None and (token in keys if keys is not None else token.startswith(DEFAULT_KEY_PREFIX))
    if not accepted:
        raise FakeHttpError(401, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE)


def _check_version(headers: Mapping[str, str], minimum: tuple[int, int, int]) -> None:
    sent = headers.get("x-command-code-version", "")
    version = _parse_version(sent)
    if version is None or version < minimum:
        raise _upgrade_required(sent, minimum)


def _loads(raw: bytes) -> object:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _bad_request("Malformed JSON in request body") from error


def _loads_or_none(raw: bytes) -> object | None:
    try:
        return _loads(raw)
    except FakeHttpError:
        return None


def _check_body(raw: bytes, headers: Mapping[str, str]) -> tuple[JsonDict, ModelInfo]:
    body = _loads(raw)
    if not isinstance(body, dict):
        raise _expected("", "object", body)
    _check_top_level(body)
    params = body["params"]
    if not isinstance(params, dict):
        raise _expected("params", "object", params)
    _check_stream(params)
    _check_thread(body, headers)
    if body["permissionMode"] not in PERMISSION_MODES:
        raise _options("permissionMode", PERMISSION_MODES)
    model = _check_model(params)
    _check_params(params)
    messages = _as_list(params.get("messages"))
    _check_tool_pairing(messages)
    _check_images(messages, model)
    return params, model


def _check_top_level(body: JsonDict) -> None:
    for key in REQUIRED_TOP_LEVEL:
        value = body.get(key, _MISSING)
        expected = TOP_LEVEL_TYPES.get(key, "string")
        if value is _MISSING or (expected == "object" and not isinstance(value, dict)):
            raise _expected(key, expected, value)
    if not isinstance(body["permissionMode"], str):
        raise _expected("permissionMode", "string", body["permissionMode"])


def _check_stream(params: JsonDict) -> None:
    if params.get("stream", _MISSING) is not True:
        raise _bad_request('Invalid input: expected true at "params.stream"')


def _check_thread(body: JsonDict, headers: Mapping[str, str]) -> None:
    thread = body.get("threadId", _MISSING)
    if not isinstance(thread, str):
        raise _expected("threadId", "string", thread)
    if UUID4_RE.match(thread) is None:
        raise _bad_request('Invalid UUID at "threadId"')
    if headers.get("x-session-id") != thread:
        raise _bad_request('x-session-id header must equal "threadId"')


def _check_model(params: JsonDict) -> ModelInfo:
    model_id = params.get("model", _MISSING)
    if not isinstance(model_id, str):
        raise _expected("params.model", "string", model_id)
    model = load_catalog().get(model_id)
    if model is None:
        raise FakeHttpError(403, "FORBIDDEN", f"Model/provider not recognized: {model_id}")
    return model


def _check_params(params: JsonDict) -> None:
    _check_max_tokens(params.get("max_tokens", _MISSING))
    _check_optional_params(params)
    _check_system(params.get("system", _MISSING))
    _check_tools(params.get("tools", _MISSING))
    _check_messages(params.get("messages", _MISSING))


def _check_max_tokens(value: object) -> None:
    path = "params.max_tokens"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _expected(path, "number", value)
    if isinstance(value, float) and not value.is_integer():
        raise _expected(path, "int", value)
    if value < 1:
        raise _bad_request(f'Too small: expected number to be >=1 at "{path}"')
    if value > MAX_TOKENS_LIMIT:
        raise _bad_request(f'Too big: expected number to be <={MAX_TOKENS_LIMIT} at "{path}"')


def _check_optional_params(params: JsonDict) -> None:
    temperature = params.get("temperature", _MISSING)
    if temperature is not _MISSING and (isinstance(temperature, bool) or not isinstance(temperature, int | float)):
        raise _expected("params.temperature", "number", temperature)
    effort = params.get("reasoning_effort", _MISSING)
    if effort is not _MISSING and effort not in REASONING_EFFORTS:
        raise _options("params.reasoning_effort", REASONING_EFFORTS)


def _check_system(value: object) -> None:
    if value is _MISSING or isinstance(value, str):
        return
    if not isinstance(value, list):
        raise _expected("params.system", "string", value)
    for index, block in enumerate(value):
        path = f"params.system[{index}]"
        if not isinstance(block, dict):
            raise _expected(path, "object", block)
        if block.get("type") != "text":
            raise _bad_request(f'Invalid input: expected "text" at "{path}.type"')
        _require_str(block, "text", path)


def _check_tools(value: object) -> None:
    if value is _MISSING:
        return
    if not isinstance(value, list):
        raise _expected("params.tools", "array", value)
    for index, tool in enumerate(value):
        _check_tool(tool, f"params.tools[{index}]")


def _check_tool(tool: object, path: str) -> None:
    if not isinstance(tool, dict):
        raise _expected(path, "object", tool)
    _require_str(tool, "name", path)
    description = tool.get("description", _MISSING)
    if description is not _MISSING and not isinstance(description, str):
        raise _expected(f"{path}.description", "string", description)
    schema = tool.get("input_schema", _MISSING)
    if not isinstance(schema, dict):
        raise _expected(f"{path}.input_schema", "object", schema)


def _check_messages(value: object) -> None:
    path = "params.messages"
    if not isinstance(value, list):
        raise _expected(path, "array", value)
    if not value:
        raise _bad_request(f'Too small: expected array to have >=1 items at "{path}"')
    for index, message in enumerate(value):
        _check_message(message, f"{path}[{index}]")


def _check_message(message: object, path: str) -> None:
    if not isinstance(message, dict):
        raise _expected(path, "object", message)
    role = message.get("role", _MISSING)
    if not isinstance(role, str) or role not in PART_TYPES:
        raise _options(f"{path}.role", PART_TYPES)
    content = message.get("content", _MISSING)
    if isinstance(content, str) and role != "tool":
        return
    if not isinstance(content, list):
        raise _expected(f"{path}.content", "array", content)
    for index, part in enumerate(content):
        _check_part(part, role, f"{path}.content[{index}]")


def _check_part(part: object, role: str, path: str) -> None:
    if not isinstance(part, dict):
        raise _expected(path, "object", part)
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in PART_TYPES[role]:
        raise _options(f"{path}.type", PART_TYPES[role])
    PART_CHECKS[kind](part, path)


def _check_text_part(part: JsonDict, path: str) -> None:
    _require_str(part, "text", path)


def _check_image_part(part: JsonDict, path: str) -> None:
    if DATA_URL_RE.match(_require_str(part, "image", path)) is None:
        raise _bad_request(f'Invalid input: expected a base64 data URL at "{path}.image"')
    _require_str(part, "mimeType", path)


def _check_tool_call_part(part: JsonDict, path: str) -> None:
    _require_str(part, "toolCallId", path)
    _require_str(part, "toolName", path)
    value = part.get("input", _MISSING)
    if not isinstance(value, dict):
        raise _expected(f"{path}.input", "object", value)


def _check_tool_result_part(part: JsonDict, path: str) -> None:
    _require_str(part, "toolCallId", path)
    _require_str(part, "toolName", path)
    output = part.get("output", _MISSING)
    if not isinstance(output, dict):
        raise _expected(f"{path}.output", "object", output)
    kind = output.get("type")
    if not isinstance(kind, str) or kind not in TOOL_OUTPUT_TYPES:
        raise _options(f"{path}.output.type", TOOL_OUTPUT_TYPES)
    if kind == "json":
        if "value" not in output:
            raise _expected(f"{path}.output.value", "json", _MISSING)
        return
    _require_str(output, "value", f"{path}.output")


PART_CHECKS: Final[dict[str, Callable[[JsonDict, str], None]]] = {
    "text": _check_text_part,
    "reasoning": _check_text_part,
    "image": _check_image_part,
    "tool-call": _check_tool_call_part,
    "tool-result": _check_tool_result_part,
}


def _parts(message: object) -> list[JsonDict]:
    return [part for part in _as_list(_as_dict(message).get("content")) if isinstance(part, dict)]


def _tool_call_ids(message: object) -> set[str]:
    if _as_dict(message).get("role") != "assistant":
        return set()
    return {str(part.get("toolCallId")) for part in _parts(message) if part.get("type") == "tool-call"}


def _check_tool_pairing(messages: list[object]) -> None:
    for index, message in enumerate(messages):
        if _as_dict(message).get("role") != "tool":
            continue
        answered = _tool_call_ids(messages[index - 1]) if index > 0 else set()
        if any(str(part.get("toolCallId")) not in answered for part in _parts(message)):
            raise FakeHttpError(400, "BAD_REQUEST", TOOL_ORPHAN_MESSAGE)


def _check_images(messages: list[object], model: ModelInfo) -> None:
    if "image" in model.input:
        return
    if any(part.get("type") == "image" for message in messages for part in _parts(message)):
        raise _bad_request(f"Model {model.id} does not support image input")


def parse_scenario(spec: str) -> Scenario:
    tokens = spec.split()
    if not tokens:
        return Scenario(DEFAULT_SCENARIO)
    params: dict[str, str] = {}
    for token in tokens[1:]:
        key, _, value = token.partition("=")
        params[key] = unquote(value)
    return Scenario(tokens[0], params)


def check_scenario(scenario: Scenario) -> Scenario:
    allowed = SCENARIO_PARAMS.get(scenario.name)
    if allowed is None:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Unknown fake scenario: {scenario.name}")
    unknown = sorted(set(scenario.params) - allowed)
    if unknown:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Unknown parameters for {scenario.name}: {', '.join(unknown)}")
    return scenario


def validate_scenario_spec(spec: str) -> str:
    try:
        return check_scenario(parse_scenario(spec)).spec
    except FakeHttpError as error:
        raise ValueError(error.message) from error


def scenario_names() -> tuple[str, ...]:
    return tuple(SCENARIO_PARAMS)


def _message_text(message: JsonDict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(str(part.get("text")) for part in _parts(message) if part.get("type") == "text")


def _last_user_text(messages: list[object]) -> str:
    for message in reversed(messages):
        if _as_dict(message).get("role") == "user":
            return _message_text(_as_dict(message))
    return ""


def _marker_spec(body: object) -> str | None:
    messages = _as_list(_as_dict(_as_dict(body).get("params")).get("messages"))
    match = MARKER_RE.search(_last_user_text(messages))
    return match.group(1).strip() if match else None


def _scenario_spec(body: object, headers: Mapping[str, str], key_scenarios: Mapping[str, str], default: str) -> str:
    marker = _marker_spec(body)
    if marker:
        return marker
    header = headers.get("x-fake-scenario", "").strip()
    if header:
        return header
    token = _bearer(headers)
    return key_scenarios.get(token or "", "") or default


def _prompt(params: JsonDict) -> JsonDict:
    return {"system": params.get("system"), "messages": params.get("messages"), "tools": params.get("tools") or []}


def _input_usage(params: JsonDict) -> tuple[int, int]:
    messages = _as_list(params.get("messages"))
    input_tokens = _tokens(len(_canonical(_prompt(params))))
    if len(messages) < 2:
        return input_tokens, 0
    return input_tokens, _floor_block(_tokens(len(_canonical(messages[:-1]))))


def _usage(model: ModelInfo, params: JsonDict, output_chars: int, reasoning_chars: int) -> Usage:
    input_tokens, cache_read = _input_usage(params)
    return Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        text_tokens=_tokens(output_chars),
        reasoning_tokens=_tokens(reasoning_chars),
        has_cache_write=model.prices.get("cache_write") is not None,
    )


def _price(model: ModelInfo, name: str, fallback: str | None = None) -> Decimal:
    value = model.prices.get(name)
    if value is None and fallback is not None:
        value = model.prices.get(fallback)
    return Decimal(str(value)) if value is not None else Decimal(0)


def _cost(model: ModelInfo, usage: Usage) -> str:
    no_cache = usage.input_tokens - usage.cache_read_tokens
    amount = (
        no_cache * _price(model, "input")
        + usage.cache_read_tokens * _price(model, "cache_read", "input")
        + usage.output_tokens * _price(model, "output")
    ) / PRICE_UNIT_TOKENS
    return format(amount.quantize(COST_QUANTUM).normalize(), "f")


def _schema_value(name: str, schema: object, depth: int) -> object:
    spec = _as_dict(schema)
    options = _as_list(spec.get("enum"))
    if options:
        return options[0]
    if "const" in spec:
        return spec["const"]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if kind == "object" or (kind is None and "properties" in spec):
        return _object_value(spec, depth + 1)
    simple: dict[object, object] = {"integer": 1, "number": 1, "boolean": True, "array": [], "null": None}
    if kind in simple:
        return simple[kind]
    return "Paris" if LOCATION_RE.search(name) else "example"


def _object_value(schema: JsonDict, depth: int) -> JsonDict:
    if depth > 5:
        return {}
    properties = _as_dict(schema.get("properties"))
    required = [key for key in _as_list(schema.get("required")) if isinstance(key, str)]
    return {key: _schema_value(key, properties.get(key), depth) for key in required}


def tool_input_for(schema: object) -> JsonDict:
    return _object_value(_as_dict(schema), 0)


def _tool_result_text(message: JsonDict) -> str:
    values: list[str] = []
    for part in _parts(message):
        value = _as_dict(part.get("output")).get("value")
        values.append(value if isinstance(value, str) else _canonical(value))
    return f"The tool returned: {'; '.join(values)}."


def _echo_text(user_text: str) -> str:
    return f"You said: {user_text[:ECHO_LIMIT]}\n{REPLY_SUFFIX}"


def _reasoning_text(kind: str, detail: str) -> str:
    if kind == "tool":
        return f"The user needs {detail}. I will call it."
    if kind == "tool_result":
        return "The tool has answered. I will report its result."
    count = len(detail.split())
    return f"The user wrote {count} word{'' if count == 1 else 's'}. I will answer briefly."


def _content(params: JsonDict, seed: str, force_text: bool) -> tuple[str, str, tuple[ToolCall, ...]]:
    messages = _as_list(params.get("messages"))
    tools = [tool for tool in _as_list(params.get("tools")) if isinstance(tool, dict)]
    last = _as_dict(messages[-1]) if messages else {}
    if tools and last.get("role") == "user" and not force_text:
        name = str(tools[0].get("name"))
        call = ToolCall(id=f"call_{seed[24:48]}", name=name, input=tool_input_for(tools[0].get("input_schema")))
        return "", _reasoning_text("tool", name), (call,)
    if last.get("role") == "tool":
        return _tool_result_text(last), _reasoning_text("tool_result", ""), ()
    user_text = _last_user_text(messages)
    return _echo_text(user_text), _reasoning_text("text", user_text), ()


def _tool_calls_chars(calls: Iterable[ToolCall]) -> int:
    return sum(len(call.name) + len(_canonical(call.input)) for call in calls)


def _seed(params: JsonDict) -> str:
    return _digest({"model": params.get("model"), **_prompt(params)})


def _build_answer(params: JsonDict, model: ModelInfo, force_text: bool = False) -> Answer:
    seed = _seed(params)
    text, reasoning_hint, calls = _content(params, seed, force_text)
    reasoning = reasoning_hint if model.reasoning else ""
    finish = ("tool-calls", "tool_calls") if calls else ("stop", "stop")
    return Answer(
        model=model,
        text=text,
        reasoning=reasoning,
        tool_calls=calls,
        finish_reason=finish[0],
        raw_finish_reason=finish[1],
        usage=_usage(model, params, len(text) + _tool_calls_chars(calls), len(reasoning)),
        response_id=f"resp_{seed[:24]}",
    )


def expected_answer(body: JsonDict) -> JsonDict:
    """The deterministic ``ok`` answer to a valid request body: text, reasoning, tool_calls, finish, usage, cost."""
    params = _as_dict(body.get("params"))
    model = load_catalog().get(str(params.get("model")))
    if model is None:
        raise ValueError(f"unknown model: {params.get('model')}")
    return _build_answer(params, model).as_dict()


def _text_deltas(text: str) -> list[str]:
    pieces = DELTA_PIECE_RE.findall(text)
    return ["".join(pieces[start : start + WORDS_PER_DELTA]) for start in range(0, len(pieces), WORDS_PER_DELTA)]


def _block_events(kind: str, block_id: str, deltas: Sequence[str]) -> list[JsonDict]:
    if not deltas:
        return []
    middle: list[JsonDict] = [{"type": f"{kind}-delta", "id": block_id, "text": delta} for delta in deltas]
    return [{"type": f"{kind}-start", "id": block_id}, *middle, {"type": f"{kind}-end", "id": block_id}]


def _tool_call_events(call: ToolCall) -> list[JsonDict]:
    return [
        {"type": "tool-input-start", "id": call.id, "toolName": call.name},
        {"type": "tool-input-delta", "id": call.id, "delta": _canonical(call.input)},
        {"type": "tool-input-end", "id": call.id},
        {"type": "tool-call", "toolCallId": call.id, "toolName": call.name, "input": call.input},
    ]


def _head_events(params: JsonDict) -> list[JsonDict]:
    return [{"type": "start"}, _start_step(params)]


def _start_step(params: JsonDict) -> JsonDict:
    return {"type": "start-step", "request": {"body": dict(params)}, "warnings": []}


def _step_events(answer: Answer) -> list[JsonDict]:
    events = _block_events("reasoning", "reasoning-0", _text_deltas(answer.reasoning))
    events += _block_events("text", "txt-0", _text_deltas(answer.text))
    for call in answer.tool_calls:
        events += _tool_call_events(call)
    return events


def _finish_step(answer: Answer, usage: Usage, reasons: tuple[str, str]) -> JsonDict:
    metadata = {
        "gateway": {
            "routing": {"originalModelId": answer.model.id, "resolvedProvider": "fake-commandcode"},
            "cost": _cost(answer.model, usage),
        }
    }
    return {
        "type": "finish-step",
        "finishReason": reasons[0],
        "rawFinishReason": reasons[1],
        "usage": usage.to_wire(),
        "providerMetadata": metadata,
        "response": {"id": answer.response_id, "modelId": answer.model.id},
    }


def _finish_tail(answer: Answer) -> list[JsonDict]:
    return [
        {
            "type": "finish",
            "finishReason": answer.finish_reason,
            "rawFinishReason": answer.raw_finish_reason,
            "totalUsage": answer.usage.to_wire(),
        },
        {"type": "provider-metadata", "providerMetadata": {"gateway": {"cost": answer.cost}}},
    ]


def _answer_events(answer: Answer, params: JsonDict) -> list[JsonDict]:
    reasons = (answer.finish_reason, answer.raw_finish_reason)
    return [
        *_head_events(params),
        *_step_events(answer),
        _finish_step(answer, answer.usage, reasons),
        *_finish_tail(answer),
    ]


def _event_line(event: object) -> bytes:
    return _utf8(json.dumps(event, ensure_ascii=False, separators=(",", ":"))) + b"\n"


def _frame(payload: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(payload), payload)


def _writes(events: Iterable[object]) -> list[_Action]:
    return [_Write(_frame(_event_line(event))) for event in events]


def _stream(events: Iterable[object], delay_before: float = 0.0) -> StreamReply:
    return StreamReply(actions=tuple(_writes(events)), delay_before=delay_before)


def _burst_stream(ctx: _Context, events: Sequence[object]) -> StreamReply:
    """`burst` events per network write (default 1), as a buffering proxy in front of the server delivers them."""
    burst = _param_int(ctx, "burst", 1, 1, 100_000)
    lines = [_event_line(event) for event in events]
    chunks = (b"".join(lines[start : start + burst]) for start in range(0, len(lines), burst))
    return StreamReply(actions=tuple(_Write(_frame(chunk)) for chunk in chunks))


def _param_number(ctx: _Context, name: str, default: float, low: float, high: float) -> float:
    raw = ctx.scenario.params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Parameter {name} must be a number: {raw}") from error
    if value != value:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Parameter {name} must be a number: {raw}")
    return min(max(value, low), high)


def _param_int(ctx: _Context, name: str, default: int, low: int, high: int) -> int:
    return int(_param_number(ctx, name, default, low, high))


def _param_seconds(ctx: _Context, name: str, default: float, scale: float = 1.0) -> float:
    return _param_number(ctx, name, default, 0.0, MAX_SLEEP_SECONDS * scale) / scale


def _retry_headers(ctx: _Context) -> tuple[tuple[str, str], ...]:
    if "retry_after" not in ctx.scenario.params:
        return ()
    return (("Retry-After", str(_param_int(ctx, "retry_after", 0, 0, 86_400))),)


def _plan_http_fault(ctx: _Context) -> Reply:
    status, code, template = HTTP_FAULTS[ctx.scenario.name]
    error = FakeHttpError(status, code, template.format(model=ctx.model.id))
    error.headers = _retry_headers(ctx)
    return _error_reply(error)


def _plan_http_upgrade(ctx: _Context) -> Reply:
    major, minor, _ = _parse_version(ctx.version) or (0, 0, 0)
    error = _upgrade_required(ctx.version, (major, minor + 1, 0))
    error.headers = _retry_headers(ctx)
    return _error_reply(error)


def _plan_http_429(ctx: _Context) -> Reply:
    window = ctx.scenario.params.get("window", RATE_LIMIT_WINDOWS[0])
    if window not in RATE_LIMIT_WINDOWS:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Parameter window must be one of {RATE_LIMIT_WINDOWS}")
    reset = int(ctx.now) + _param_int(ctx, "reset_in", 3600, 0, 30 * 86_400)
    message = f"Usage limit reached for the {window} window. It resets at {reset} (unix time)."
    error = FakeHttpError(429, "RATE_LIMITED", message, {"rateLimit": {"window": window, "reset": reset}})
    error.headers = _retry_headers(ctx)
    return _error_reply(error)


def _plan_http_non_json(ctx: _Context) -> Reply:
    status = _param_int(ctx, "status", 502, 400, 599)
    return BodyReply(status=status, body=NON_JSON_BODY, content_type="text/plain", headers=_retry_headers(ctx))


def _stream_error(status: int, message: str) -> JsonDict:
    kind = "invalid_request_error" if status < 500 and status not in (408, 429) else "server_error"
    retryable = status in (408, 429) or status >= 500
    return {
        "type": "error",
        "error": {"type": kind, "message": message, "statusCode": status, "isRetryable": retryable},
    }


def _configured_error(ctx: _Context) -> JsonDict:
    status = _param_int(ctx, "status", 503, 100, 599)
    default = STREAM_ERROR_MESSAGES.get(status, f"{_reason(status)}.")
    return _stream_error(status, ctx.scenario.params.get("message", default))


def _partial(ctx: _Context) -> tuple[list[JsonDict], list[JsonDict]]:
    events = _answer_events(_build_answer(ctx.params, ctx.model, force_text=True), ctx.params)
    seen = 0
    for index, event in enumerate(events):
        seen += event.get("type") == "text-delta"
        if seen == PARTIAL_DELTAS:
            return events[: index + 1], events[index + 1 :]
    return events, []


def _plan_ok(ctx: _Context) -> Reply:
    return _burst_stream(ctx, _answer_events(_build_answer(ctx.params, ctx.model), ctx.params))


def _plan_stream_error_before(ctx: _Context) -> Reply:
    return _stream([*_head_events(ctx.params), _configured_error(ctx)])


def _plan_stream_error_after(ctx: _Context) -> Reply:
    return _stream([*_partial(ctx)[0], _configured_error(ctx)])


def _plan_stream_error_string(ctx: _Context) -> Reply:
    error = {"type": "error", "error": ctx.scenario.params.get("message", NETWORK_LOST_MESSAGE)}
    return _stream([*_head_events(ctx.params), error])


def _plan_stream_error_embedded(ctx: _Context) -> Reply:
    error = {"type": "error", "error": {"type": "server_error", "message": EMBEDDED_ERROR_MESSAGE}}
    return _stream([*_head_events(ctx.params), error])


def _plan_stream_context(ctx: _Context) -> Reply:
    return _stream([*_head_events(ctx.params), _stream_error(400, CONTEXT_MESSAGE)])


def _plan_truncate(ctx: _Context) -> Reply:
    return _stream(_partial(ctx)[0])


def _plan_reset(ctx: _Context) -> Reply:
    return StreamReply(actions=(*_writes(_partial(ctx)[0]), _Reset()))


def _plan_abort(ctx: _Context) -> Reply:
    return _stream([*_partial(ctx)[0], {"type": "abort"}])


def _plan_finish_reason(ctx: _Context) -> Reply:
    reasons = {"length": ("length", "length"), "content_filter": ("content-filter", "content_filter")}
    finish, raw = reasons[ctx.scenario.name]
    answer = replace(_build_answer(ctx.params, ctx.model, force_text=True), finish_reason=finish, raw_finish_reason=raw)
    return _stream(_answer_events(answer, ctx.params))


def _plan_empty(ctx: _Context) -> Reply:
    answer = _build_answer(ctx.params, ctx.model, force_text=True)
    empty = replace(answer, text="", reasoning="", usage=_usage(ctx.model, ctx.params, 0, 0))
    return _stream([{"type": "start"}, _finish_step(empty, empty.usage, ("stop", "stop")), *_finish_tail(empty)])


def _plan_reasoning_only(ctx: _Context) -> Reply:
    answer = _build_answer(ctx.params, ctx.model, force_text=True)
    reasoning = _reasoning_text("text", _last_user_text(_as_list(ctx.params.get("messages"))))
    only = replace(answer, text="", reasoning=reasoning, usage=_usage(ctx.model, ctx.params, 0, len(reasoning)))
    return _burst_stream(ctx, _answer_events(only, ctx.params))


def _tool_properties(tool: JsonDict) -> JsonDict:
    return _as_dict(_as_dict(tool.get("input_schema")).get("properties"))


def _agent_tool(tools: Sequence[JsonDict], names: Sequence[str], keys: Sequence[str]) -> tuple[JsonDict, str] | None:
    for name in names:
        for tool in tools:
            key = next((key for key in keys if key in _tool_properties(tool)), None)
            if str(tool.get("name")).lower() == name and key is not None:
                return tool, key
    return None


def _agent_read_call(tools: Sequence[JsonDict], path: str, seed: str) -> ToolCall | None:
    """A call of the agent's own file-reading tool for `path`, or of its shell tool (`cat PATH`) when it has none."""
    found = _agent_tool(tools, AGENT_READ_TOOLS, AGENT_PATH_KEYS)
    value: object = path
    if found is None:
        found = _agent_tool(tools, AGENT_SHELL_TOOLS, AGENT_COMMAND_KEYS)
        if found is None:
            return None
        value = f"cat {path}"
    tool, key = found
    arguments = {**tool_input_for(tool.get("input_schema")), key: _agent_value(key, _tool_properties(tool)[key], value)}
    return ToolCall(id=f"call_{seed[24:48]}", name=str(tool.get("name")), input=arguments)


def _agent_value(key: str, schema: object, value: str) -> object:
    """`value` in the shape the property takes: a string, a list of them (a command as argv), or a list of objects
    that each name it (`files: [{"path": ...}]`)."""
    spec = _as_dict(schema)
    if spec.get("type") != "array":
        return value
    item = _as_dict(spec.get("items"))
    item_key = next((name for name in AGENT_PATH_KEYS if name in _as_dict(item.get("properties"))), None)
    if item_key is not None:
        return [{item_key: value}]
    return ["bash", "-lc", value] if key == "command" else [value]


def _tool_output_text(message: JsonDict) -> str:
    values = [_as_dict(part.get("output")).get("value") for part in _parts(message)]
    return "\n".join(value if isinstance(value, str) else _canonical(value) for value in values)


def _agent_content(ctx: _Context, seed: str) -> tuple[str, str, tuple[ToolCall, ...]]:
    messages = _as_list(ctx.params.get("messages"))
    last = _as_dict(messages[-1]) if messages else {}
    path = ctx.scenario.params.get("read")
    if path and last.get("role") == "tool":
        return AGENT_READ_REPLY.format(text=_tool_output_text(last)), _reasoning_text("tool_result", ""), ()
    tools = [tool for tool in _as_list(ctx.params.get("tools")) if isinstance(tool, dict)]
    call = _agent_read_call(tools, path, seed) if path and last.get("role") == "user" else None
    if call is not None:
        return "", _reasoning_text("tool", call.name), (call,)
    word = ctx.scenario.params.get("reply", "hello")
    return AGENT_REPLY.format(word=word), _reasoning_text("text", _last_user_text(messages)), ()


def _plan_agent(ctx: _Context) -> Reply:
    """A coding agent's turn: `read=PATH` calls the agent's own read tool (or shell tool) for PATH and then answers
    with what the tool returned; otherwise (and for requests without such a tool) the text `reply=WORD` says."""
    seed = _seed(ctx.params)
    text, reasoning_hint, calls = _agent_content(ctx, seed)
    answer = _build_answer(ctx.params, ctx.model, force_text=True)
    reasoning = reasoning_hint if ctx.model.reasoning else ""
    finish = ("tool-calls", "tool_calls") if calls else ("stop", "stop")
    usage = _usage(ctx.model, ctx.params, len(text) + _tool_calls_chars(calls), len(reasoning))
    agent = replace(
        answer,
        text=text,
        reasoning=reasoning,
        tool_calls=calls,
        finish_reason=finish[0],
        raw_finish_reason=finish[1],
        usage=usage,
    )
    return _burst_stream(ctx, _answer_events(agent, ctx.params))


def _server_tool_events(ctx: _Context, seed: str) -> tuple[list[JsonDict], int, int]:
    tool_input: JsonDict = {"query": _last_user_text(_as_list(ctx.params.get("messages")))[:100]}
    call_id = f"srvtoolu_{seed[48:64]}"
    call: JsonDict = {
        "type": "tool-call",
        "toolCallId": call_id,
        "toolName": SERVER_TOOL_NAME,
        "input": tool_input,
        "providerExecuted": True,
    }
    result: JsonDict = {
        "type": "tool-result",
        "toolCallId": call_id,
        "toolName": SERVER_TOOL_NAME,
        "output": SERVER_TOOL_OUTPUT,
        "providerExecuted": True,
    }
    call_chars = len(SERVER_TOOL_NAME) + len(_canonical(tool_input))
    return [call, result], call_chars, len(_canonical([call, result]))


def _plan_multi_step(ctx: _Context) -> Reply:
    answer = _build_answer(ctx.params, ctx.model, force_text=True)
    tool_events, call_chars, exchange_chars = _server_tool_events(ctx, _seed(ctx.params))
    first = _usage(ctx.model, ctx.params, call_chars, 0)
    second = replace(
        answer.usage,
        input_tokens=first.input_tokens + _tokens(exchange_chars),
        cache_read_tokens=_floor_block(first.input_tokens),
    )
    total = replace(answer, usage=first.plus(second))
    events = [
        *_head_events(ctx.params),
        *tool_events,
        _finish_step(answer, first, ("tool-calls", "tool_calls")),
        _start_step(ctx.params),
        *_step_events(answer),
        _finish_step(answer, second, ("stop", "stop")),
        *_finish_tail(total),
    ]
    return _stream(events)


def _delivered(params: JsonDict) -> tuple[JsonDict, str]:
    """A continuation's request without the partial answer it ends with, and that answer's text."""
    messages = _as_list(params.get("messages"))
    last = _as_dict(messages[-1]) if messages else {}
    if last.get("role") != "assistant":
        return params, ""
    text = "".join(str(part.get("text")) for part in _parts(last) if part.get("type") == "text")
    return {**params, "messages": messages[:-1]}, text


def pause_turn_answer(params: JsonDict, model: ModelInfo, times: int) -> Answer:
    """One part of an answer that pauses `times` times: the text of the whole answer cut into `times + 1` parts; a
    request that ends with the parts delivered so far (the client's continuation) gets the next one."""
    base, delivered = _delivered(params)
    whole = _build_answer(base, model, force_text=True)
    cuts = [len(whole.text) * index // (times + 1) for index in range(times + 2)]
    parts = [whole.text[start:end] for start, end in zip(cuts, cuts[1:], strict=False)]
    # Anthropic's Messages API refuses a final assistant turn that ends with whitespace, so clients strip it there
    # (LiteLLM does): the parts delivered so far may arrive without their trailing whitespace.
    done = next(
        (
            count
            for count in range(len(parts))
            if delivered in ("".join(parts[:count]), "".join(parts[:count]).rstrip())
        ),
        None,
    )
    if done is None:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", "The continuation does not end with the parts delivered so far")
    reasoning = whole.reasoning if done == 0 else ""
    return replace(
        whole,
        text=parts[done],
        reasoning=reasoning,
        raw_finish_reason="pause_turn" if done < times else "stop",
        usage=_usage(model, params, len(parts[done]), len(reasoning)),
    )


def _plan_pause_turn(ctx: _Context) -> Reply:
    answer = pause_turn_answer(ctx.params, ctx.model, _param_int(ctx, "times", 1, 0, 20))
    return _stream(_answer_events(answer, ctx.params))


def _plan_slow(ctx: _Context) -> Reply:
    delay = _param_seconds(ctx, "delay_ms", 50, scale=1000.0)
    writes = _writes(_answer_events(_build_answer(ctx.params, ctx.model), ctx.params))
    actions: list[_Action] = []
    for write in writes:
        actions += [_Pause(delay), write] if actions else [write]
    return StreamReply(actions=tuple(actions))


def _plan_stall_first(ctx: _Context) -> Reply:
    events = _answer_events(_build_answer(ctx.params, ctx.model), ctx.params)
    return _stream(events, delay_before=_param_seconds(ctx, "seconds", 30))


def _plan_stall_mid(ctx: _Context) -> Reply:
    before, after = _partial(ctx)
    pause = _Pause(_param_seconds(ctx, "seconds", 30))
    return StreamReply(actions=(*_writes(before), pause, *_writes(after)))


@lru_cache(maxsize=16)
def _long_burst(size: int, burst: int) -> bytes:
    return _frame(_event_line({"type": "text-delta", "id": "txt-0", "text": "x" * size}) * burst)


def _plan_long(ctx: _Context) -> Reply:
    events = _param_int(ctx, "events", 1000, 0, 10_000_000)
    size = _param_int(ctx, "size", 1, 1, 65_536)
    burst = _param_int(ctx, "burst", 1, 1, 100_000)
    answer = replace(
        _build_answer(ctx.params, ctx.model, force_text=True),
        text="",
        reasoning="",
        usage=_usage(ctx.model, ctx.params, events * size, 0),
    )
    body: list[_Action] = [_Write(_long_burst(size, burst), events // burst)]
    if events % burst:
        body.append(_Write(_long_burst(size, events % burst)))
    head = _writes([*_head_events(ctx.params), {"type": "text-start", "id": "txt-0"}])
    tail_events = [{"type": "text-end", "id": "txt-0"}, _finish_step(answer, answer.usage, ("stop", "stop"))]
    tail = _writes([*tail_events, *_finish_tail(answer)])
    return StreamReply(actions=(*head, *body, *tail))


def _split_line(line: bytes, marker: str) -> list[_Action]:
    cut = line.index(marker.encode("utf-8")) + 2
    return [_Write(_frame(line[:cut])), _Pause(SPLIT_WRITE_PAUSE_SECONDS), _Write(_frame(line[cut:]))]


def _plan_unicode(ctx: _Context) -> Reply:
    text = "".join(UNICODE_DELTAS)
    answer = replace(
        _build_answer(ctx.params, ctx.model, force_text=True),
        text=text,
        reasoning="",
        usage=_usage(ctx.model, ctx.params, len(text), 0),
    )
    actions: list[_Action] = []
    for event in _answer_events(answer, ctx.params):
        line = _event_line(event)
        split = event.get("type") == "text-delta" and UNICODE_SPLIT_CHAR in str(event.get("text"))
        actions += _split_line(line, UNICODE_SPLIT_CHAR) if split else [_Write(_frame(line))]
    return StreamReply(actions=tuple(actions))


def _plan_unicode_deltas(ctx: _Context) -> Reply:
    answer = replace(
        _build_answer(ctx.params, ctx.model, force_text=True),
        text=UNICODE_SPLIT_TEXT,
        reasoning="",
        usage=_usage(ctx.model, ctx.params, len(UNICODE_SPLIT_TEXT), 0),
    )
    events = [
        *_head_events(ctx.params),
        *_block_events("text", "txt-0", UNICODE_SPLIT_DELTAS),
        _finish_step(answer, answer.usage, ("stop", "stop")),
        *_finish_tail(answer),
    ]
    return _stream(events)


def _garbage_line(event: JsonDict, params: JsonDict) -> bytes:
    if event.get("type") == "start-step":
        padded = {**params, "padding": "x" * GARBAGE_PADDING_BYTES}
        return _event_line({**event, "request": {"body": padded}})
    if event.get("type") == "text-end":
        return _event_line(event)[:-1] + b"\r\n"
    return _event_line(event)


def _plan_garbage(ctx: _Context) -> Reply:
    events = _answer_events(_build_answer(ctx.params, ctx.model), ctx.params)
    actions: list[_Action] = []
    for index, event in enumerate(events):
        line = _garbage_line(event, ctx.params)
        noise = GARBAGE_LINES[index % len(GARBAGE_LINES)]
        if event.get("type") == "finish-step":
            half = len(line) // 2
            actions += [_Write(_frame(noise + line[:half])), _Write(_frame(line[half:]))]
            continue
        actions.append(_Write(_frame(noise + line)))
    actions.append(_Write(_frame(b"".join(GARBAGE_LINES))))
    return StreamReply(actions=tuple(actions))


PLANNERS: Final[dict[str, Callable[[_Context], Reply]]] = {
    "ok": _plan_ok,
    **dict.fromkeys(HTTP_FAULTS, _plan_http_fault),
    "http_403_upgrade": _plan_http_upgrade,
    "http_429": _plan_http_429,
    "http_non_json": _plan_http_non_json,
    "stream_error_before": _plan_stream_error_before,
    "stream_error_after": _plan_stream_error_after,
    "stream_error_string": _plan_stream_error_string,
    "stream_error_embedded": _plan_stream_error_embedded,
    "stream_context": _plan_stream_context,
    "truncate": _plan_truncate,
    "reset": _plan_reset,
    "garbage": _plan_garbage,
    "abort": _plan_abort,
    "length": _plan_finish_reason,
    "content_filter": _plan_finish_reason,
    "empty": _plan_empty,
    "reasoning_only": _plan_reasoning_only,
    "multi_step": _plan_multi_step,
    "pause_turn": _plan_pause_turn,
    "slow": _plan_slow,
    "stall_first": _plan_stall_first,
    "stall_mid": _plan_stall_mid,
    "long": _plan_long,
    "unicode": _plan_unicode,
    "unicode_deltas": _plan_unicode_deltas,
    "agent": _plan_agent,
}


class _State:
    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self._initial_default = settings.default_scenario
        self._lock = threading.Lock()
        self._key_scenarios: dict[str, str] = {}
        self._records: list[RequestRecord] = []
        self._disconnects = 0
        self._connections = itertools.count(1)
        self.models: JsonDict | None = None  # the live list GET /provider/v1/models answers, when set

    def next_connection(self) -> int:
        with self._lock:
            return next(self._connections)

    def add_record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def count_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1

    @property
    def disconnects(self) -> int:
        with self._lock:
            return self._disconnects

    def key_scenarios(self) -> dict[str, str]:
        with self._lock:
            return dict(self._key_scenarios)

    def set_key_scenario(self, key: str, spec: str | None) -> None:
        checked = validate_scenario_spec(spec) if spec is not None else None
        with self._lock:
            if checked is None:
                self._key_scenarios.pop(key, None)
            else:
                self._key_scenarios[key] = checked

    def set_default_scenario(self, spec: str) -> None:
        self.settings.default_scenario = validate_scenario_spec(spec)

    def reset(self) -> None:
        with self._lock:
            self._key_scenarios.clear()
            self._records.clear()
            self._disconnects = 0
            self.models = None
            self.settings.default_scenario = self._initial_default


def _plan_generate(request: HttpRequest, state: _State, body: object | None, now: float) -> tuple[Scenario, Reply]:
    spec = _scenario_spec(body, request.headers, state.key_scenarios(), state.settings.default_scenario)
    scenario = parse_scenario(spec)
    try:
        _check_auth(request.headers, state.settings.keys)
        _check_version(request.headers, state.settings.min_version)
        params, model = _check_body(request.body, request.headers)
        context = _Context(
            params, model, check_scenario(scenario), request.headers.get("x-command-code-version", ""), now
        )
        return scenario, PLANNERS[scenario.name](context)
    except FakeHttpError as error:
        return scenario, _error_reply(error)


_Planner = Callable[[HttpRequest, _State, object | None, float], tuple[Scenario, Reply, JsonDict | None]]


def _provider_api() -> types.ModuleType:
    """The Provider API door (`fake_provider_api`), which builds on this module."""
    from litellm_commandcode import fake_provider_api

    return fake_provider_api


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise _BadHttp(400)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, separator, value = line.partition(":")
        key = name.strip().lower()
        if not separator or not key or key != name.lower():
            raise _BadHttp(400)
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return parts[0], parts[1], parts[2], headers


def _reason(status: int) -> str:
    return HTTPStatus(status).phrase if status in KNOWN_STATUSES else "Unknown"


def _response_head(status: int, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _connection_header(keep_alive: bool) -> tuple[str, str]:
    return ("Connection", "keep-alive" if keep_alive else "close")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        self.reader = reader
        self.writer = writer
        self.number = number
        self._buffer = bytearray()

    async def _fill(self) -> bool:
        try:
            data = await self.reader.read(READ_SIZE)
        except (ConnectionError, OSError):
            return False
        self._buffer += data
        return bool(data)

    async def _read_until(self, separator: bytes, limit: int) -> bytes:
        while (index := self._buffer.find(separator)) < 0:
            if len(self._buffer) > limit:
                raise _BadHttp(431 if separator == b"\r\n\r\n" else 400)
            if not await self._fill():
                raise _ClientGone()
        data = bytes(self._buffer[:index])
        del self._buffer[: index + len(separator)]
        return data

    async def _read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill():
                raise _ClientGone()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def read_request(self) -> HttpRequest:
        while self._buffer.startswith(b"\r\n"):
            del self._buffer[:2]
        method, target, version, headers = _parse_head(await self._read_until(b"\r\n\r\n", MAX_HEAD_BYTES))
        if headers.get("expect", "").lower() == "100-continue":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await self._read_body(headers)
        return HttpRequest(method=method, target=target, version=version, headers=headers, body=body)

    async def _read_body(self, headers: Mapping[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await self._read_chunked()
        length_text = headers.get("content-length", "0").strip()
        if not length_text.isdigit():
            raise _BadHttp(400)
        if int(length_text) > MAX_BODY_BYTES:
            raise _BadHttp(413)
        return await self._read_exact(int(length_text))

    async def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_text = (await self._read_until(b"\r\n", MAX_HEAD_BYTES)).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as error:
                raise _BadHttp(400) from error
            if size == 0:
                while await self._read_until(b"\r\n", MAX_HEAD_BYTES):
                    pass
                return bytes(body)
            body += await self._read_exact(size)
            await self._read_exact(2)
            if len(body) > MAX_BODY_BYTES:
                raise _BadHttp(413)

    async def watch_eof(self) -> None:
        while await self._fill():
            pass

    async def send_body(self, reply: BodyReply, keep_alive: bool, extra: Sequence[tuple[str, str]] = ()) -> None:
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            _connection_header(keep_alive),
            *reply.headers,
            *extra,
        ]
        self.writer.write(_response_head(reply.status, headers) + reply.body)
        await self.writer.drain()

    async def send_stream(self, reply: StreamReply, keep_alive: bool, record: RequestRecord) -> bool:
        if reply.delay_before:
            await asyncio.sleep(reply.delay_before)
        headers = [
            ("Content-Type", reply.content_type),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
            _connection_header(keep_alive),
            ("x-fake-scenario", record.scenario),
        ]
        self.writer.write(_response_head(reply.status, headers))
        for action in reply.actions:
            if not await self._perform(action):
                return False
        record.finished = True  # before the last write: a client that has read it may look at the record at once
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()
        return True

    async def _perform(self, action: _Action) -> bool:
        if isinstance(action, _Pause):
            await asyncio.sleep(action.seconds)
            return True
        if isinstance(action, _Reset):
            await self._abort()
            return False
        for _ in range(action.count):
            self.writer.write(action.data)
            await self.writer.drain()
        return True

    async def _abort(self) -> None:
        await self.writer.drain()
        transport = self.writer.transport
        for _ in range(RESET_FLUSH_POLLS):
            if transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.01)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def close(self) -> None:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            self.writer.close()


class _App:
    def __init__(self, state: _State) -> None:
        self.state = state
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        bind = DEFAULT_HOST if host == "localhost" else host
        self._server = await asyncio.start_server(self._serve, bind, port)
        address = self._server.sockets[0].getsockname()
        return int(address[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_TIMEOUT_SECONDS)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), STOP_TIMEOUT_SECONDS)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = _Connection(reader, writer, self.state.next_connection())
        try:
            await self._request_loop(connection)
        except (_ClientGone, ConnectionError, OSError, asyncio.TimeoutError, asyncio.CancelledError):
            pass
        finally:
            connection.close()
            if task is not None:
                self._tasks.discard(task)

    async def _request_loop(self, connection: _Connection) -> None:
        while True:
            try:
                request = await asyncio.wait_for(connection.read_request(), IDLE_TIMEOUT_SECONDS)
            except _BadHttp as error:
                reply = _json_reply(
                    error.status, error_envelope(error.status, "BAD_REQUEST", "Malformed HTTP request.")
                )
                await connection.send_body(reply, keep_alive=False)
                return
            if not await self._dispatch(connection, request):
                return

    async def _dispatch(self, connection: _Connection, request: HttpRequest) -> bool:
        if request.path == "/alpha/generate" and request.method == "POST":
            return await self._generate(connection, request)
        if request.path in _provider_api().DOORS and request.method == "POST":
            return await self._generate(connection, request, _provider_api().plan)
        reply = self._route(request)
        await connection.send_body(reply, request.keep_alive)
        return request.keep_alive

    def _route(self, request: HttpRequest) -> BodyReply:
        routes: dict[tuple[str, str], Callable[[HttpRequest], BodyReply]] = {
            ("GET", "/provider/v1/models"): lambda _: _json_reply(200, self.state.models or models_listing()),
            ("GET", "/_fake/requests"): lambda _: self._requests_reply(),
            ("POST", "/_fake/config"): self._config_reply,
            ("POST", "/_fake/reset"): lambda _: self._reset_reply(),
            ("GET", "/_fake/health"): lambda _: _json_reply(200, {"ok": True}),
        }
        handler = routes.get((request.method, request.path))
        if handler is not None:
            return handler(request)
        known = {path for _, path in routes} | {"/alpha/generate", *_provider_api().DOORS}
        status, code = (405, "METHOD_NOT_ALLOWED") if request.path in known else (404, "NOT_FOUND")
        return _json_reply(status, error_envelope(status, code, f"No route for {request.method} {request.path}"))

    def _requests_reply(self) -> BodyReply:
        records: list[object] = [record.summary() for record in self.state.records()]
        return _json_reply(200, {"requests": records, "disconnects": self.state.disconnects})

    def _reset_reply(self) -> BodyReply:
        self.state.reset()
        return _json_reply(200, {"ok": True})

    def _config_reply(self, request: HttpRequest) -> BodyReply:
        try:
            config = _as_dict(_loads(request.body))
            for key, spec in _as_dict(config.get("keys")).items():
                self.state.set_key_scenario(key, None if spec is None else str(spec))
            if "default" in config:
                self.state.set_default_scenario(str(config["default"]))
            if "models" in config:
                self.state.models = {"object": "list", "data": _as_list(config["models"])} if config["models"] else None
        except (FakeHttpError, ValueError) as error:
            return _json_reply(400, error_envelope(400, "FAKE_BAD_CONFIG", str(error)))
        payload = {"ok": True, "keys": self.state.key_scenarios(), "default": self.state.settings.default_scenario}
        return _json_reply(200, payload)

    async def _generate(self, connection: _Connection, request: HttpRequest, planner: _Planner | None = None) -> bool:
        body = _loads_or_none(request.body)
        record = RequestRecord(connection=connection.number, headers=dict(request.headers), body=body)
        record.path = request.path
        self.state.add_record(record)
        if planner is None:
            scenario, reply = _plan_generate(request, self.state, body, time.time())
            record.generate_body = body
        else:
            scenario, reply, record.generate_body = planner(request, self.state, body, time.time())
        record.scenario, record.scenario_params = scenario.name, dict(scenario.params)
        record.status = reply.status
        if isinstance(reply, BodyReply):
            # Marked before the write: a client that has read the body may look at the record at once.
            record.finished = True
            await connection.send_body(reply, request.keep_alive, (("x-fake-scenario", scenario.name),))
            return request.keep_alive
        return await self._stream(connection, request, reply, record)

    async def _stream(
        self, connection: _Connection, request: HttpRequest, reply: StreamReply, record: RequestRecord
    ) -> bool:
        sender = asyncio.ensure_future(connection.send_stream(reply, request.keep_alive, record))
        watcher = asyncio.ensure_future(connection.watch_eof())
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
            await asyncio.gather(sender, watcher, return_exceptions=True)
        completed = _sender_result(sender)
        if completed is None:
            record.disconnected = True
            self.state.count_disconnect()
            return False
        return completed and request.keep_alive


def _sender_result(sender: asyncio.Future[bool]) -> bool | None:
    if sender.cancelled():
        return None
    error = sender.exception()
    if error is None:
        return sender.result()
    if isinstance(error, ConnectionError | OSError):
        return None
    raise error


def _format_url(host: str, port: int) -> str:
    shown = DEFAULT_HOST if host == "localhost" else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _settings(scenario: str, keys: Iterable[str] | None, min_version: str) -> _Settings:
    version = _parse_version(min_version)
    if version is None:
        raise ValueError(f"min_version must look like 1.2.3: {min_version!r}")
    accepted = frozenset(keys) if keys is not None else None
    return _Settings(default_scenario=validate_scenario_spec(scenario), keys=accepted, min_version=version)


def _check_host(host: str) -> str:
    if host not in ALLOWED_HOSTS:
        raise ValueError(f"the fake server only binds to loopback ({', '.join(sorted(ALLOWED_HOSTS))}), not {host!r}")
    return host


class FakeCommandCodeServer:
    """The fake server on its own event loop in a daemon thread; a context manager."""

    def __init__(
        self,
        port: int = 0,
        scenario: str = DEFAULT_SCENARIO,
        keys: Iterable[str] | None = None,
        *,
        min_version: str = DEFAULT_MIN_VERSION,
        host: str = DEFAULT_HOST,
    ) -> None:
        self.host = _check_host(host)
        self.port = port
        self._state = _State(_settings(scenario, keys, min_version))
        self._app = _App(self._state)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return _format_url(self.host, self.port)

    @property
    def requests(self) -> list[RequestRecord]:
        return self._state.records()

    @property
    def disconnects(self) -> int:
        return self._state.disconnects

    def set_key_scenario(self, key: str, scenario: str | None) -> None:
        self._state.set_key_scenario(key, scenario)

    def set_default_scenario(self, scenario: str) -> None:
        self._state.set_default_scenario(scenario)

    def reset(self) -> None:
        self._state.reset()

    def start(self) -> FakeCommandCodeServer:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-commandcode", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self.port = asyncio.run_coroutine_threadsafe(self._app.start(self.host, self.port), loop).result(10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._app.close(), loop).result(STOP_TIMEOUT_SECONDS * 2)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_SECONDS)
        if not thread.is_alive():
            loop.close()
        self._loop, self._thread = None, None

    def __enter__(self) -> FakeCommandCodeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m litellm_commandcode.fake_server", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="127.0.0.1 (default), localhost or ::1")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, help="default scenario, e.g. 'slow delay_ms=20'")
    parser.add_argument("--keys", default=None, help="comma-separated accepted keys (default: any user_* key)")
    parser.add_argument("--min-version", default=DEFAULT_MIN_VERSION, help="minimum x-command-code-version")
    args = parser.parse_args(argv)
    try:
        _check_host(args.host)
        keys = None if args.keys is None else [key.strip() for key in args.keys.split(",") if key.strip()]
        args.settings = _settings(args.scenario, keys, args.min_version)
    except ValueError as error:
        parser.error(str(error))
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    return args


async def _serve_cli(args: argparse.Namespace) -> int:
    app = _App(_State(args.settings))
    port = await app.start(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(READY_MESSAGE.format(url=_format_url(args.host, port)), flush=True)
    await stop.wait()
    await app.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(_serve_cli(_parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
