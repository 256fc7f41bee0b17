"""The fake server's second door: Command Code's Provider API, as far as it is known (the "Command Code's Provider API"
section of ``docs/providers/commandcode.md`` says what is known and what is guessed).

``POST /provider/v1/chat/completions`` (OpenAI's Chat Completions schema, every model but Claude) and
``POST /provider/v1/messages`` (Anthropic's Messages schema, Claude models) answer with the same deterministic answers
and play the same scenarios (``[[fake:…]]`` markers, ``x-fake-scenario``, per key) as ``/alpha/generate``: a request
is translated into the generate door's parameters, planned by the same planners, and the planned events are written
back in the door's own shapes (JSON or SSE with usage at the end of every stream), errors in its own envelope.

A key that starts with ``user_cli_only`` has no Provider API access (``403 upgrade_required``), as a plan without
API access; the generate door still serves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from litellm_commandcode.fake_server.answers import answer_seed
from litellm_commandcode.fake_server.catalog import ModelInfo, load_catalog
from litellm_commandcode.fake_server.http_io import HttpRequest
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_int, as_list, canonical, utf8
from litellm_commandcode.fake_server.plans import PLANNERS
from litellm_commandcode.fake_server.protocol import FakeHttpError
from litellm_commandcode.fake_server.replies import (
    Action,
    BodyReply,
    Pause,
    Reply,
    Reset,
    StreamReply,
    Write,
    frame,
    json_reply,
)
from litellm_commandcode.fake_server.scenarios import (
    DEFAULT_SCENARIO,
    Context,
    Scenario,
    check_scenario,
    parse_scenario,
    scenario_spec,
)
from litellm_commandcode.fake_server.state import State
from litellm_commandcode.fake_server.validation import (
    DEFAULT_KEY_PREFIX,
    UNAUTHORIZED_MESSAGE,
    bearer,
    check_images,
    check_params,
    check_tool_pairing,
    loads_or_none,
)

PREFIX: Final = "/provider/v1"
CHAT_PATH: Final = PREFIX + "/chat/completions"
MESSAGES_PATH: Final = PREFIX + "/messages"
CLI_ONLY_KEY_PREFIX: Final = "user_cli_only"
CLAUDE_PREFIX: Final = "claude-"
DEFAULT_MAX_TOKENS: Final = 64000
OPENAI_FINISH: Final = {
    "stop": "stop",
    "length": "length",
    "tool-calls": "tool_calls",
    "content-filter": "content_filter",
}
ANTHROPIC_STOP: Final = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool-calls": "tool_use",
    "content-filter": "refusal",
}
ANTHROPIC_ERROR_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
CONTENT_EVENTS: Final = frozenset({"text-delta", "reasoning-delta", "tool-call"})
FAKE_SIGNATURE: Final = "fake-signature"
EMBEDDED_STATUS_RE: Final = re.compile(r"^\s*([45]\d\d)\b")


@dataclass(frozen=True)
class Door:
    """One Provider API endpoint: how its requests become the generate door's parameters, how answers and errors
    are written back."""

    path: str
    anthropic: bool

    def error_body(self, status: int, code: str, message: str, extra: JsonDict | None = None) -> JsonDict:
        if self.anthropic:
            kind = code if code in ("invalid_request_error", "upgrade_required") else _anthropic_type(status)
            return {"type": "error", "error": {"type": kind, "message": message, **(extra or {})}}
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": code, **(extra or {})}}


CHAT: Final = Door(CHAT_PATH, anthropic=False)
MESSAGES: Final = Door(MESSAGES_PATH, anthropic=True)
DOORS: Final = {CHAT_PATH: CHAT, MESSAGES_PATH: MESSAGES}


def _anthropic_type(status: int) -> str:
    return ANTHROPIC_ERROR_TYPES.get(status, "api_error")


class DoorError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _door_error_reply(door: Door, error: DoorError) -> BodyReply:
    return json_reply(error.status, door.error_body(error.status, error.code, error.message))


# ---------------------------------------------------------------------------------------------------------------------
# Requests → the generate door's parameters
# ---------------------------------------------------------------------------------------------------------------------
def _api_key(door: Door, headers: Mapping[str, str]) -> str | None:
    token = bearer(headers)
    if token is None and door.anthropic:
        token = headers.get("x-api-key", "").strip() or None
    return token


def _check_access(door: Door, headers: Mapping[str, str], keys: frozenset[str] | None) -> None:
    token = _api_key(door, headers)
    accepted = token is not None and (token in keys if keys is not None else token.startswith(DEFAULT_KEY_PREFIX))
    if not accepted:
        raise DoorError(401, "authentication_error", UNAUTHORIZED_MESSAGE)
    if token is not None and token.startswith(CLI_ONLY_KEY_PREFIX):
        raise DoorError(
            403,
            "upgrade_required",
            "The Provider API needs the Pro plan or higher, or the Provider plan. Upgrade at commandcode.ai/pricing.",
        )


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(part.get("text", "")) for part in as_list(content) if isinstance(part, dict))


def _data_url_part(url: str) -> JsonDict:
    mime = url[5:].split(";", 1)[0] if url.startswith("data:") else "image/png"
    return {"type": "image", "image": url, "mimeType": mime}


def _openai_user_parts(content: object) -> list[JsonDict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    parts: list[JsonDict] = []
    for part in as_list(content):
        item = as_dict(part)
        if item.get("type") == "text":
            parts.append({"type": "text", "text": str(item.get("text", ""))})
        elif item.get("type") == "image_url":
            image = item.get("image_url")
            url = as_dict(image).get("url") if isinstance(image, dict) else image
            parts.append(_data_url_part(str(url)))
    return parts


def _arguments(raw: object) -> JsonDict:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(str(raw or "{}"))
    except ValueError as error:
        raise DoorError(400, "invalid_request_error", f"tool call arguments are not JSON: {raw!r:.60}") from error
    return value if isinstance(value, dict) else {}


def _openai_assistant_parts(message: JsonDict) -> list[JsonDict]:
    parts: list[JsonDict] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        parts.append({"type": "reasoning", "text": reasoning})
    text = _text_of(message.get("content"))
    if text:
        parts.append({"type": "text", "text": text})
    for call in as_list(message.get("tool_calls")):
        function = as_dict(as_dict(call).get("function"))
        parts.append(
            {
                "type": "tool-call",
                "toolCallId": str(as_dict(call).get("id")),
                "toolName": str(function.get("name")),
                "input": _arguments(function.get("arguments")),
            }
        )
    return parts


def _tool_names(messages: Iterable[JsonDict]) -> dict[str, str]:
    names: dict[str, str] = {}
    for message in messages:
        for call in as_list(message.get("tool_calls")):
            item = as_dict(call)
            names[str(item.get("id"))] = str(as_dict(item.get("function")).get("name"))
    return names


def _openai_messages(body: JsonDict) -> tuple[str, list[JsonDict]]:
    messages = [as_dict(message) for message in as_list(body.get("messages"))]
    names = _tool_names(messages)
    system: list[str] = []
    wire: list[JsonDict] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(message.get("content")))
        elif role == "user":
            wire.append({"role": "user", "content": _openai_user_parts(message.get("content"))})
        elif role == "assistant":
            wire.append({"role": "assistant", "content": _openai_assistant_parts(message)})
        elif role == "tool":
            call_id = str(message.get("tool_call_id"))
            output = {"type": "text", "value": _text_of(message.get("content"))}
            part = {"type": "tool-result", "toolCallId": call_id, "toolName": names.get(call_id, ""), "output": output}
            wire.append({"role": "tool", "content": [part]})
        else:
            raise DoorError(400, "invalid_request_error", f"Invalid role: {role!r:.40}")
    return "\n\n".join(system), wire


def _openai_tools(body: JsonDict) -> list[JsonDict]:
    tools: list[JsonDict] = []
    for tool in as_list(body.get("tools")):
        function = as_dict(as_dict(tool).get("function"))
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        tools.append(
            {
                "name": str(function.get("name")),
                "description": str(function.get("description", "")),
                "input_schema": schema,
            }
        )
    return tools


def _anthropic_image(block: JsonDict) -> JsonDict:
    source = as_dict(block.get("source"))
    if source.get("type") == "base64":
        mime = str(source.get("media_type", "image/png"))
        return {"type": "image", "image": f"data:{mime};base64,{source.get('data', '')}", "mimeType": mime}
    return _data_url_part(str(source.get("url", "")))


def _anthropic_blocks(content: object) -> list[JsonDict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [as_dict(block) for block in as_list(content)]


def _anthropic_message(role: str, content: object, names: dict[str, str]) -> list[JsonDict]:
    parts: list[JsonDict] = []
    results: list[JsonDict] = []
    for block in _anthropic_blocks(content):
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            parts.append(_anthropic_image(block))
        elif kind == "thinking":
            parts.append({"type": "reasoning", "text": str(block.get("thinking", ""))})
        elif kind == "tool_use":
            names[str(block.get("id"))] = str(block.get("name"))
            call = {"type": "tool-call", "toolCallId": str(block.get("id")), "toolName": str(block.get("name"))}
            parts.append({**call, "input": as_dict(block.get("input"))})
        elif kind == "tool_result":
            call_id = str(block.get("tool_use_id"))
            output = {
                "type": "error-text" if block.get("is_error") else "text",
                "value": _text_of(block.get("content")),
            }
            results.append(
                {"type": "tool-result", "toolCallId": call_id, "toolName": names.get(call_id, ""), "output": output}
            )
    wire: list[JsonDict] = [{"role": "tool", "content": results}] if results else []
    return [*wire, {"role": role, "content": parts}] if parts else wire


def _anthropic_messages(body: JsonDict) -> tuple[str, list[JsonDict]]:
    names: dict[str, str] = {}
    wire: list[JsonDict] = []
    for message in as_list(body.get("messages")):
        item = as_dict(message)
        role = item.get("role")
        if role not in ("user", "assistant"):
            raise DoorError(400, "invalid_request_error", f"messages: Unexpected role {role!r:.40}")
        wire += _anthropic_message(str(role), item.get("content"), names)
    system = body.get("system")
    return (system if isinstance(system, str) else _text_of(system)), wire


def _anthropic_tools(body: JsonDict) -> list[JsonDict]:
    tools: list[JsonDict] = []
    for tool in as_list(body.get("tools")):
        item = as_dict(tool)
        schema = item.get("input_schema") or {"type": "object", "properties": {}}
        tools.append(
            {"name": str(item.get("name")), "description": str(item.get("description", "")), "input_schema": schema}
        )
    return tools


def _model(door: Door, body: JsonDict) -> ModelInfo:
    model_id = body.get("model")
    model = load_catalog().get(model_id) if isinstance(model_id, str) else None
    if model is None:
        code = "invalid_request_error" if door.anthropic else "unsupported_model"
        raise DoorError(400, code, f"Model not supported: {model_id!r:.80}")
    if model.id.startswith(CLAUDE_PREFIX) != door.anthropic:
        other = MESSAGES_PATH if model.id.startswith(CLAUDE_PREFIX) else CHAT_PATH
        raise DoorError(400, "invalid_request_error", f"Model {model.id} is served by {other}, not {door.path}")
    return model


def generate_params(door: Door, body: JsonDict) -> tuple[JsonDict, ModelInfo]:
    """The generate door's `params` for a Provider API request body (the answer and usage are computed on them)."""
    model = _model(door, body)
    system, messages = _anthropic_messages(body) if door.anthropic else _openai_messages(body)
    tools = _anthropic_tools(body) if door.anthropic else _openai_tools(body)
    if door.anthropic and as_dict(body.get("tool_choice")).get("type") == "none":
        tools = []
    if not door.anthropic and body.get("tool_choice") == "none":
        tools = []
    if not messages:
        raise DoorError(400, "invalid_request_error", "messages: at least one message is required")
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens", DEFAULT_MAX_TOKENS))
    params: JsonDict = {"model": model.id, "messages": messages, "tools": tools, "system": system}
    params.update({"max_tokens": max_tokens, "stream": True})
    try:
        check_params(params)
        check_tool_pairing(messages)
        check_images(messages, model)
    except FakeHttpError as error:
        raise DoorError(400, "invalid_request_error", error.message) from error
    return params, model


# ---------------------------------------------------------------------------------------------------------------------
# Planned events → the door's answers
# ---------------------------------------------------------------------------------------------------------------------
def _payload(data: bytes) -> bytes:
    """The bytes inside one chunked-encoding write."""
    payload = b""
    rest = data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        payload, rest = payload + rest[:size], rest[size + 2 :]
    return payload


def _events_of(lines: Iterable[bytes]) -> list[JsonDict]:
    """The generate door's NDJSON events in complete lines (lines that are not JSON are skipped, as every client of
    that door does)."""
    loaded = (loads_or_none(line.strip()) for line in lines if line.strip())
    return [event for event in loaded if isinstance(event, dict)]


Step = list[JsonDict] | Pause | Reset


def _steps(reply: StreamReply) -> list[Step]:
    """The planned events write by write; a line split across writes (a character cut between two network reads)
    belongs to the write that completes it."""
    steps: list[Step] = []
    held = b""
    for action in reply.actions:
        if not isinstance(action, Write):
            steps.append(action)
            continue
        for _ in range(action.count):
            *lines, held = (held + _payload(action.data)).split(b"\n")
            steps.append(_events_of(lines))
    if held.strip():
        steps.append(_events_of([held]))
    return steps


def _wire_error(event: JsonDict) -> tuple[int, str]:
    """An in-stream error's status (its `statusCode`, a status the message starts with, or 500) and message."""
    error = event.get("error")
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    status = error.get("statusCode") if isinstance(error, dict) else None
    embedded = EMBEDDED_STATUS_RE.match(message)
    if isinstance(status, int):
        return status, message
    return (int(embedded.group(1)) if embedded else 500), message


def _first_error_before_content(steps: Sequence[Step]) -> JsonDict | None:
    for step in steps:
        for event in step if isinstance(step, list) else ():
            if event.get("type") in CONTENT_EVENTS:
                return None
            if event.get("type") == "error":
                return event
    return None


def _usage_openai(wire: JsonDict) -> JsonDict:
    details = as_dict(wire.get("inputTokenDetails"))
    output = as_dict(wire.get("outputTokenDetails"))
    prompt, completion = as_int(wire.get("inputTokens"), 0), as_int(wire.get("outputTokens"), 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": as_int(details.get("cacheReadTokens"), 0)},
        "completion_tokens_details": {"reasoning_tokens": as_int(output.get("reasoningTokens"), 0)},
    }


def _usage_anthropic(wire: JsonDict) -> JsonDict:
    details = as_dict(wire.get("inputTokenDetails"))
    cache_read, cache_write = as_int(details.get("cacheReadTokens"), 0), as_int(details.get("cacheWriteTokens"), 0)
    return {
        "input_tokens": as_int(wire.get("inputTokens"), 0) - cache_read - cache_write,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
        "output_tokens": as_int(wire.get("outputTokens"), 0),
    }


@dataclass
class _Collected:
    text: str = ""
    reasoning: str = ""
    calls: tuple[JsonDict, ...] = ()
    finish: JsonDict | None = None
    error: JsonDict | None = None
    aborted: bool = False

    @property
    def ended(self) -> bool:
        return self.finish is not None or self.aborted or self.error is not None

    def add(self, event: JsonDict) -> bool:
        """Takes `event` into the answer; False (and nothing taken) once the answer has ended."""
        if self.ended:
            return False
        kind = event.get("type")
        if kind == "text-delta":
            self.text += str(event.get("text", ""))
        elif kind == "reasoning-delta":
            self.reasoning += str(event.get("text", ""))
        elif kind == "tool-call" and not event.get("providerExecuted"):
            self.calls += (event,)
        elif kind == "finish":
            self.finish = event
        elif kind == "abort":
            self.aborted = True
        elif kind == "error":
            self.error = event
        return True


def _finish_reason(collected: _Collected, table: Mapping[str, str]) -> str:
    if (
        collected.finish is not None
        and collected.finish.get("rawFinishReason") == "pause_turn"
        and table is ANTHROPIC_STOP
    ):
        return "pause_turn"
    reason = str(collected.finish.get("finishReason")) if collected.finish is not None else "stop"
    return table.get("tool-calls" if collected.calls else reason, table["stop"])


def _openai_body(collected: _Collected, model: str, response_id: str) -> JsonDict:
    message: JsonDict = {"role": "assistant", "content": collected.text or (None if collected.calls else "")}
    if collected.reasoning:
        message["reasoning_content"] = collected.reasoning
    if collected.calls:
        message["tool_calls"] = [_openai_call(call) for call in collected.calls]
    finish = as_dict(collected.finish)
    return {
        "id": f"chatcmpl-{response_id}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(collected, OPENAI_FINISH)}],
        "usage": _usage_openai(as_dict(finish.get("totalUsage"))),
    }


def _openai_call(event: JsonDict) -> JsonDict:
    arguments = canonical(event.get("input") if isinstance(event.get("input"), dict) else {})
    return {
        "id": event.get("toolCallId"),
        "type": "function",
        "function": {"name": event.get("toolName"), "arguments": arguments},
    }


def _anthropic_body(collected: _Collected, model: str, response_id: str) -> JsonDict:
    content: list[JsonDict] = []
    if collected.reasoning:
        content.append({"type": "thinking", "thinking": collected.reasoning, "signature": FAKE_SIGNATURE})
    if collected.text:
        content.append({"type": "text", "text": collected.text})
    for call in collected.calls:
        content.append(
            {"type": "tool_use", "id": call.get("toolCallId"), "name": call.get("toolName"), "input": call.get("input")}
        )
    finish = as_dict(collected.finish)
    return {
        "id": f"msg_{response_id}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _finish_reason(collected, ANTHROPIC_STOP),
        "stop_sequence": None,
        "usage": _usage_anthropic(as_dict(finish.get("totalUsage"))),
    }


def _whole_answer(door: Door, steps: Sequence[Step], model: str, response_id: str) -> Reply:
    collected = _Collected()
    pauses: list[Action] = []
    for step in steps:
        if isinstance(step, Reset):
            return StreamReply(actions=(*pauses, step))
        if isinstance(step, Pause):
            pauses.append(step)
            continue
        for event in step:
            collected.add(event)
    if collected.error is not None:
        status, message = _wire_error(collected.error)
        return json_reply(status, door.error_body(status, "server_error", message))
    if collected.finish is None and not collected.aborted:
        return json_reply(502, door.error_body(502, "server_error", "Upstream stream ended before completion"))
    body = (_anthropic_body if door.anthropic else _openai_body)(collected, model, response_id)
    payload = json_reply(200, body)
    if not pauses:
        return payload
    return StreamReply(actions=(*pauses, Write(frame(payload.body))), content_type="application/json")


def _sse(data: object, event: str | None = None) -> bytes:
    """One SSE event. U+2028/U+2029 are escaped (a guess at the real server): httpx's `iter_lines`, which LiteLLM's
    OpenAI and Anthropic stream parsers read, splits lines at them, cutting a raw one's JSON in two."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("\u2028", "\\u2028")
    head = f"event: {event}\n" if event else ""
    return utf8(head + "data: " + text.replace("\u2029", "\\u2029") + "\n\n")


class _OpenAIStream:
    def __init__(self, model: str, response_id: str) -> None:
        self.model, self.id = model, f"chatcmpl-{response_id}"
        self.collected = _Collected()
        self.calls = 0
        self.started = False

    def _chunk(self, delta: JsonDict, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        base = {"id": self.id, "object": "chat.completion.chunk", "created": 0, "model": self.model}
        return _sse({**base, "choices": [choice]})

    def event(self, event: JsonDict) -> bytes:
        if not self.collected.add(event):
            return b""
        kind = event.get("type")
        role: JsonDict = {} if self.started else {"role": "assistant"}
        if kind in ("text-delta", "reasoning-delta"):
            self.started = True
            key = "content" if kind == "text-delta" else "reasoning_content"
            return self._chunk({**role, key: str(event.get("text", ""))})
        if kind == "tool-call" and not event.get("providerExecuted"):
            self.started = True
            call = {"index": self.calls, **_openai_call(event)}
            self.calls += 1
            return self._chunk({**role, "tool_calls": [call]})
        if kind in ("finish", "abort"):
            usage = _usage_openai(as_dict(as_dict(self.collected.finish).get("totalUsage")))
            base = {"id": self.id, "object": "chat.completion.chunk", "created": 0, "model": self.model}
            final = self._chunk(role, _finish_reason(self.collected, OPENAI_FINISH))
            return final + _sse({**base, "choices": [], "usage": usage}) + b"data: [DONE]\n\n"
        if kind == "error":
            status, message = _wire_error(event)
            return _sse({"error": {"message": message, "type": "server_error", "code": status}})
        return b""


class _AnthropicStream:
    def __init__(self, model: str, response_id: str) -> None:
        self.model, self.id = model, f"msg_{response_id}"
        self.collected = _Collected()
        self.index = -1
        self.open: str | None = None
        self.started = False

    def _start(self, kind: str, block: JsonDict) -> bytes:
        out = self._stop()
        if not self.started:
            self.started = True
            message: JsonDict = {
                "id": self.id,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
            out += _sse({"type": "message_start", "message": message}, "message_start")
        self.index += 1
        self.open = kind
        return out + _sse(
            {"type": "content_block_start", "index": self.index, "content_block": block}, "content_block_start"
        )

    def _stop(self) -> bytes:
        if self.open is None:
            return b""
        out = b""
        if self.open == "thinking":
            delta = {"type": "signature_delta", "signature": FAKE_SIGNATURE}
            out += _sse({"type": "content_block_delta", "index": self.index, "delta": delta}, "content_block_delta")
        self.open = None
        return out + _sse({"type": "content_block_stop", "index": self.index}, "content_block_stop")

    def _delta(self, kind: str, delta: JsonDict) -> bytes:
        out = b"" if self.open == kind else self._start(kind, _empty_block(kind))
        return out + _sse({"type": "content_block_delta", "index": self.index, "delta": delta}, "content_block_delta")

    def event(self, event: JsonDict) -> bytes:
        if not self.collected.add(event):
            return b""
        kind = event.get("type")
        if kind == "text-delta":
            return self._delta("text", {"type": "text_delta", "text": str(event.get("text", ""))})
        if kind == "reasoning-delta":
            return self._delta("thinking", {"type": "thinking_delta", "thinking": str(event.get("text", ""))})
        if kind == "tool-call" and not event.get("providerExecuted"):
            block = {"type": "tool_use", "id": event.get("toolCallId"), "name": event.get("toolName"), "input": {}}
            arguments = canonical(event.get("input") if isinstance(event.get("input"), dict) else {})
            delta: JsonDict = {"type": "input_json_delta", "partial_json": arguments}
            out = self._start("tool_use", block)
            out += _sse({"type": "content_block_delta", "index": self.index, "delta": delta}, "content_block_delta")
            return out + self._stop()
        if kind in ("finish", "abort"):
            out = self._stop() if self.started else self._start("text", _empty_block("text")) + self._stop()
            usage = _usage_anthropic(as_dict(as_dict(self.collected.finish).get("totalUsage")))
            delta = {"stop_reason": _finish_reason(self.collected, ANTHROPIC_STOP), "stop_sequence": None}
            out += _sse({"type": "message_delta", "delta": delta, "usage": usage}, "message_delta")
            return out + _sse({"type": "message_stop"}, "message_stop")
        if kind == "error":
            status, message = _wire_error(event)
            return _sse({"type": "error", "error": {"type": _anthropic_type(status), "message": message}}, "error")
        return b""


def _empty_block(kind: str) -> JsonDict:
    if kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "text", "text": ""}


def _streamed_answer(door: Door, steps: Sequence[Step], model: str, response_id: str) -> Reply:
    writer = _AnthropicStream(model, response_id) if door.anthropic else _OpenAIStream(model, response_id)
    actions: list[Action] = []
    for step in steps:
        if not isinstance(step, list):
            actions.append(step)
            continue
        data = b"".join(writer.event(event) for event in step)
        if data:
            actions.append(Write(frame(data)))
    return StreamReply(actions=tuple(actions))


def _translated(door: Door, reply: Reply, body: JsonDict, model: str, response_id: str) -> Reply:
    if isinstance(reply, BodyReply):
        return _translated_error(door, reply)
    steps = _steps(reply)
    early = _first_error_before_content(steps)
    if early is not None:
        status, message = _wire_error(early)
        return json_reply(status, door.error_body(status, "server_error", message))
    answer = _streamed_answer if body.get("stream") is True else _whole_answer
    planned = answer(door, steps, model, response_id)
    if isinstance(planned, StreamReply) and reply.delay_before:
        return StreamReply(planned.actions, reply.delay_before, planned.status, planned.content_type)
    return planned


def _translated_error(door: Door, reply: BodyReply) -> BodyReply:
    envelope = as_dict(loads_or_none(reply.body))
    error = as_dict(envelope.get("error"))
    if not error:
        return reply
    extra: JsonDict = {"rateLimit": error["rateLimit"]} if "rateLimit" in error else {}
    code = str(error.get("code", "server_error"))
    body = door.error_body(reply.status, code, str(error.get("message", "")), extra)
    return json_reply(reply.status, body, reply.headers)


def plan(
    request: HttpRequest, state: State, body: object | None, now: float
) -> tuple[Scenario, Reply, JsonDict | None]:
    """(scenario, reply, the generate door's body it stands for) for a Provider API request."""
    door = DOORS[request.path]
    scenario = Scenario(DEFAULT_SCENARIO)
    try:
        _check_access(door, request.headers, state.settings.keys)
        if not isinstance(body, dict):
            raise DoorError(400, "invalid_request_error", "Malformed JSON in request body")
        params, model = generate_params(door, body)
        generate_body: JsonDict = {"params": params}
        spec = scenario_spec(generate_body, request.headers, state.key_scenarios(), state.settings.default_scenario)
        scenario = parse_scenario(spec)
        context = Context(params, model, check_scenario(scenario), "", now)
        reply = PLANNERS[scenario.name](context)
        response_id = answer_seed(params)[:24]
        return scenario, _translated(door, reply, body, model.id, response_id), generate_body
    except DoorError as error:
        return scenario, _door_error_reply(door, error), None
    except FakeHttpError as error:
        code = "invalid_request_error" if error.status == 400 else error.code
        return scenario, _door_error_reply(door, DoorError(error.status, code, error.message)), None
