"""The wire shapes of ``POST /alpha/generate``: the request's message parts, the NDJSON events of an answer
(``start``, ``start-step``, text/reasoning blocks, tool calls, ``finish-step``, ``finish``, ``provider-metadata``), the
usage and cost they carry, in-stream errors and the HTTP error envelope.

The provider reads these events in ``litellm/llms/commandcode/chat/transformation.py``; the user-facing description of
the protocol's errors is the "Errors" section of ``docs/providers/commandcode.md``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from litellm_commandcode.fake_server.catalog import ModelInfo
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_list, canonical, utf8

DOCS_BASE: Final = "https://commandcode.ai/docs/reference/errors/"
WORDS_PER_DELTA: Final = 3
PRICE_UNIT_TOKENS: Final = 1_000_000
COST_QUANTUM: Final = Decimal("1e-10")
DELTA_PIECE_RE: Final = re.compile(r"\S+\s*|\s+")


class FakeHttpError(Exception):
    """An answer that ends the request with an HTTP error envelope."""

    def __init__(self, status: int, code: str, message: str, extra: JsonDict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers: tuple[tuple[str, str], ...] = ()


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


def error_envelope(status: int, code: str, message: str, extra: JsonDict | None = None) -> JsonDict:
    error: JsonDict = {
        "code": code,
        "status": status,
        "message": message,
        "docs": DOCS_BASE + code.lower().replace("_", "-"),
    }
    error.update(extra or {})
    return {"success": False, "error": error}


def message_parts(message: object) -> list[JsonDict]:
    return [part for part in as_list(as_dict(message).get("content")) if isinstance(part, dict)]


def _message_text(message: JsonDict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(str(part.get("text")) for part in message_parts(message) if part.get("type") == "text")


def last_user_text(messages: list[object]) -> str:
    for message in reversed(messages):
        if as_dict(message).get("role") == "user":
            return _message_text(as_dict(message))
    return ""


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


def _text_deltas(text: str) -> list[str]:
    pieces = DELTA_PIECE_RE.findall(text)
    return ["".join(pieces[start : start + WORDS_PER_DELTA]) for start in range(0, len(pieces), WORDS_PER_DELTA)]


def block_events(kind: str, block_id: str, deltas: Sequence[str]) -> list[JsonDict]:
    if not deltas:
        return []
    middle: list[JsonDict] = [{"type": f"{kind}-delta", "id": block_id, "text": delta} for delta in deltas]
    return [{"type": f"{kind}-start", "id": block_id}, *middle, {"type": f"{kind}-end", "id": block_id}]


def _tool_call_events(call: ToolCall) -> list[JsonDict]:
    return [
        {"type": "tool-input-start", "id": call.id, "toolName": call.name},
        {"type": "tool-input-delta", "id": call.id, "delta": canonical(call.input)},
        {"type": "tool-input-end", "id": call.id},
        {"type": "tool-call", "toolCallId": call.id, "toolName": call.name, "input": call.input},
    ]


def head_events(params: JsonDict) -> list[JsonDict]:
    return [{"type": "start"}, start_step(params)]


def start_step(params: JsonDict) -> JsonDict:
    return {"type": "start-step", "request": {"body": dict(params)}, "warnings": []}


def step_events(answer: Answer) -> list[JsonDict]:
    events = block_events("reasoning", "reasoning-0", _text_deltas(answer.reasoning))
    events += block_events("text", "txt-0", _text_deltas(answer.text))
    for call in answer.tool_calls:
        events += _tool_call_events(call)
    return events


def finish_step(answer: Answer, usage: Usage, reasons: tuple[str, str]) -> JsonDict:
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


def finish_tail(answer: Answer) -> list[JsonDict]:
    return [
        {
            "type": "finish",
            "finishReason": answer.finish_reason,
            "rawFinishReason": answer.raw_finish_reason,
            "totalUsage": answer.usage.to_wire(),
        },
        {"type": "provider-metadata", "providerMetadata": {"gateway": {"cost": answer.cost}}},
    ]


def answer_events(answer: Answer, params: JsonDict) -> list[JsonDict]:
    reasons = (answer.finish_reason, answer.raw_finish_reason)
    return [
        *head_events(params),
        *step_events(answer),
        finish_step(answer, answer.usage, reasons),
        *finish_tail(answer),
    ]


def event_line(event: object) -> bytes:
    return utf8(json.dumps(event, ensure_ascii=False, separators=(",", ":"))) + b"\n"


def stream_error(status: int, message: str) -> JsonDict:
    kind = "invalid_request_error" if status < 500 and status not in (408, 429) else "server_error"
    retryable = status in (408, 429) or status >= 500
    return {
        "type": "error",
        "error": {"type": kind, "message": message, "statusCode": status, "isRetryable": retryable},
    }
