"""
Command Code's answer as LiteLLM values: one NDJSON event line, a tool call's arguments, the usage totals of the
`finish` event (validated through typed models), and a whole answer's chunks as one `ModelResponse`.
"""

import json
import time
from collections.abc import Iterable, Mapping
from typing import Final, cast

from pydantic import StrictInt, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from litellm._logging import verbose_logger
from litellm.litellm_core_utils.core_helpers import map_finish_reason
from litellm.types.utils import (
    ChatCompletionDeltaToolCall,
    ChatCompletionMessageToolCall,
    Message,
    ModelResponse,
    ModelResponseStream,
    Usage,
)


class _TokenDetails(TypedDict, total=False):
    cacheReadTokens: StrictInt | None
    cacheWriteTokens: StrictInt | None
    reasoningTokens: StrictInt | None


class _TotalUsage(TypedDict, total=False):
    """`finish.totalUsage`. `inputTokens` already includes cache reads and writes; a count may be absent or null."""

    inputTokens: StrictInt | None
    outputTokens: StrictInt | None
    cachedInputTokens: StrictInt | None
    reasoningTokens: StrictInt | None
    inputTokenDetails: _TokenDetails | None
    outputTokenDetails: _TokenDetails | None


_TOTAL_USAGE: Final = TypeAdapter(_TotalUsage)


def tool_arguments(event: Mapping[str, object]) -> str:
    """A tool call's `input` (or `args`) as its arguments string: JSON re-serialized, a one-element list as its
    element, `{}` for none."""
    raw: Final = event.get("input", event.get("args"))
    value: Final = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if value is None:
        return "{}"
    if not isinstance(value, str):
        return json.dumps(value)
    try:
        parsed: Final = json.loads(value)
    except json.JSONDecodeError:
        return value
    return json.dumps(parsed[0] if isinstance(parsed, list) and len(parsed) == 1 else parsed)


def usage_from_totals(totals: object) -> Usage | None:
    """The `finish` event's usage totals as LiteLLM's `Usage`, cache reads and writes included; None when malformed."""
    try:
        total: Final = _TOTAL_USAGE.validate_python(totals)
    except ValidationError:
        return None
    prompt_tokens: Final = total.get("inputTokens") or 0
    completion_tokens: Final = total.get("outputTokens") or 0
    inputs: Final = total.get("inputTokenDetails") or {}
    cache_read: Final = inputs.get("cacheReadTokens") or total.get("cachedInputTokens") or 0
    cache_write: Final = inputs.get("cacheWriteTokens") or 0
    outputs: Final = total.get("outputTokenDetails") or {}
    reasoning: Final = outputs.get("reasoningTokens") or total.get("reasoningTokens")
    return usage(prompt_tokens, completion_tokens, cache_read, cache_write, reasoning)


def usage(prompt: int, completion: int, cache_read: int, cache_write: int, reasoning: int | None) -> Usage:
    """LiteLLM's `Usage` from Command Code's counts; `prompt` already includes the cache reads and writes."""
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details={"cached_tokens": cache_read, "cache_write_tokens": cache_write or None},
        completion_tokens_details={"reasoning_tokens": reasoning} if reasoning else None,
        cache_read_input_tokens=cache_read,
        cache_creation_input_tokens=cache_write,
    )


def load_event(line: bytes | str) -> object:
    """One NDJSON line as JSON (invalid UTF-8 replaced); None, logged, for a line that is not JSON."""
    try:
        return json.loads(line)
    except UnicodeDecodeError:
        return load_event(line.decode("utf-8", "replace")) if isinstance(line, bytes) else None
    except (ValueError, RecursionError):
        verbose_logger.debug("commandcode: skipping a line that is not JSON (%d characters)", len(line))
        return None


def assemble_response(
    chunks: Iterable[ModelResponseStream], model_response: ModelResponse, model: str
) -> ModelResponse:
    """A whole answer's chunks as one response, written into `model_response` as LiteLLM's handler expects."""
    content: Final[list[str]] = []
    reasoning: Final[list[str]] = []
    tool_calls: Final[list[ChatCompletionMessageToolCall]] = []
    finish_reason = "stop"
    usage: Usage | None = None
    for chunk in chunks:
        delta = chunk.choices[0].delta
        if delta.content:
            content.append(delta.content)
        if reasoning_content := getattr(delta, "reasoning_content", None):
            reasoning.append(reasoning_content)
        tool_calls.extend(
            ChatCompletionMessageToolCall(id=call.id, type="function", function=call.function)
            for call in cast(list[ChatCompletionDeltaToolCall], delta.tool_calls or [])
        )
        finish_reason = chunk.choices[0].finish_reason or finish_reason
        usage = getattr(chunk, "usage", None) or usage
    choice: Final = model_response.choices[0]
    choice.message = Message(  # rebind-ok: ModelResponse populated in place per contract
        content="".join(content) if content or not tool_calls else None,
        role="assistant",
        reasoning_content="".join(reasoning) if reasoning else None,
        tool_calls=tool_calls or None,
    )
    choice.finish_reason = map_finish_reason(finish_reason)  # rebind-ok: same contract
    model_response.created = int(time.time())  # rebind-ok: same contract
    model_response.model = model  # rebind-ok: same contract
    if usage is not None:
        model_response.usage = usage  # type: ignore[attr-defined]  # an undeclared pydantic extra field
    return model_response
