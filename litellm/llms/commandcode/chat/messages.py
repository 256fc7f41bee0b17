"""
OpenAI chat messages as Command Code's AI-SDK-style messages (`params.messages`, `params.system`, `params.tools`).

Command Code wants every tool call answered right after its assistant message, images inline as base64 data URLs
(PNG, JPEG, GIF or WebP up to 5 MiB, to vision models only) and tool schemas in Anthropic's `input_schema` shape.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, cast

from litellm.exceptions import ImageFetchError
from litellm.litellm_core_utils.prompt_templates.common_utils import sanitize_input_schema_for_anthropic
from litellm.litellm_core_utils.prompt_templates.factory import convert_to_anthropic_image_obj
from litellm.llms.commandcode.common_utils import (
    COMMANDCODE_MAX_IMAGE_BYTES,
    bad_request,
    get_commandcode_model_info,
)
from litellm.types.llms.openai import AllMessageValues

SUPPORTED_IMAGE_TYPES: Final[frozenset[str]] = frozenset(("image/png", "image/jpeg", "image/gif", "image/webp"))
TEXT_PART_TYPES: Final[tuple[str, ...]] = ("text", "input_text")
MISSING_TOOL_RESULT: Final[str] = "No result: the tool call did not complete."
JsonObject = dict[str, object]
# A Python str can hold a UTF-16 surrogate only unpaired (JSON's "\ud800" escape decodes to one): not Unicode.
LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _parts(content: object, where: str) -> Sequence[Mapping[str, object]]:
    if not isinstance(content, Sequence) or isinstance(content, str):
        raise bad_request(f"{where}: content must be a string or a list of parts, got {type(content).__name__}")
    if not all(isinstance(part, Mapping) for part in content):
        raise bad_request(f"{where}: content parts must be objects")
    return cast(Sequence[Mapping[str, object]], content)


def _text_of(content: object, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    texts: Final = [
        part.get("text") if part.get("type") in TEXT_PART_TYPES else None for part in _parts(content, where)
    ]
    if not all(isinstance(text, str) for text in texts):
        raise bad_request(f"{where}: only text parts are allowed here")
    return "\n".join(cast(list[str], texts))


def _image_part(part: Mapping[str, object], model: str, where: str) -> JsonObject:
    model_info: Final = get_commandcode_model_info(model)
    if model_info is not None and not model_info.get("supports_vision"):
        raise bad_request(
            f"{where}: model {model} does not accept images (text-only); remove the image or pick a vision model"
        )
    image_url: Final = part.get("image_url")
    url: Final = image_url.get("url") if isinstance(image_url, Mapping) else image_url
    if not isinstance(url, str) or not url.startswith(("data:", "http://", "https://")):
        raise bad_request(f"{where}: image url must be a data: URL or an http(s) URL, got {str(url)[:40]!r}")
    try:
        image: Final = convert_to_anthropic_image_obj(url, format=None)
    except ImageFetchError:
        raise
    except Exception as e:
        raise bad_request(f"{where}: image data URL must be base64-encoded (data:<type>;base64,...): {e}") from e
    mime_type: Final = image["media_type"].split(";")[0].lower()
    if mime_type not in SUPPORTED_IMAGE_TYPES:
        raise bad_request(
            f"{where}: image type {mime_type} is not supported; use one of {', '.join(sorted(SUPPORTED_IMAGE_TYPES))}"
        )
    size: Final = len(image["data"].rstrip("=")) * 3 // 4  # decoded bytes, without decoding
    if size > COMMANDCODE_MAX_IMAGE_BYTES:
        raise bad_request(
            f"{where}: image is {size} bytes; Command Code accepts images up to {COMMANDCODE_MAX_IMAGE_BYTES} bytes "
            f"({COMMANDCODE_MAX_IMAGE_BYTES // (1024 * 1024)} MiB)"
        )
    data_url: Final = url if url.startswith("data:") else f"data:{image['media_type']};base64,{image['data']}"
    return {"type": "image", "image": data_url, "mimeType": mime_type}


def _user_parts(content: object, model: str, where: str) -> list[JsonObject]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    parts: Final[list[JsonObject]] = []
    for part in _parts(content, where):
        part_type, text = part.get("type"), part.get("text")
        if part_type in TEXT_PART_TYPES and isinstance(text, str):
            parts.append({"type": "text", "text": text})
        elif part_type == "image_url":
            parts.append(_image_part(part, model, where))
        else:
            raise bad_request(
                f"{where}: unsupported content part type {part_type!r}; Command Code accepts text and image_url parts"
            )
    return parts


def _assistant_parts(message: Mapping[str, object], where: str) -> list[JsonObject]:
    reasoning: object = message.get("reasoning_content")
    if not isinstance(reasoning, str) or not reasoning.strip():
        blocks: Final = message.get("thinking_blocks")
        thinking = (
            [block.get("thinking") for block in blocks if isinstance(block, Mapping)]
            if isinstance(blocks, Sequence)
            else []
        )
        reasoning = "\n".join(text for text in thinking if isinstance(text, str) and text.strip())
    parts: Final[list[JsonObject]] = [{"type": "reasoning", "text": reasoning}] if reasoning else []
    content: Final = message.get("content")
    if isinstance(content, str) and content:
        return [*parts, {"type": "text", "text": content}]
    for part in _parts(content, where) if content else ():
        part_type = part.get("type")
        if part_type in ("text", "refusal") and isinstance(text := part.get(part_type), str) and text:
            parts.append({"type": "text", "text": text})
        elif (
            part_type == "thinking" and isinstance(thinking_text := part.get("thinking"), str) and thinking_text.strip()
        ):
            parts.append({"type": "reasoning", "text": thinking_text})
        elif part_type not in ("text", "refusal", "thinking", "redacted_thinking"):
            raise bad_request(f"{where}: unsupported assistant content part type {part_type!r}")
    return parts


def _tool_call_input(tool_call: object, where: str) -> tuple[str, str, JsonObject]:
    function: Final = tool_call.get("function") if isinstance(tool_call, Mapping) else None
    call_id: Final = tool_call.get("id") if isinstance(tool_call, Mapping) else None
    name: Final = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
        raise bad_request(f"{where}: every tool call needs an id and a function name")
    arguments: Final = cast(Mapping[str, object], function).get("arguments")
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return call_id, name, {}
    if isinstance(arguments, Mapping):
        return call_id, name, dict(arguments)
    try:
        parsed: object = json.loads(arguments) if isinstance(arguments, str) else None
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise bad_request(
            f"{where}: arguments of tool call {call_id} ({name}) are not a JSON object: {arguments!r:.200}"
        )
    return call_id, name, parsed


def _tool_result(call_id: str, name: str, text: str) -> JsonObject:
    return {"type": "tool-result", "toolCallId": call_id, "toolName": name, "output": {"type": "text", "value": text}}


@dataclass
class _ToolBlock:
    """Results collected for the tool calls of the assistant message just emitted."""

    calls: dict[str, str]
    results: list[JsonObject] = field(default_factory=list)
    followups: list[JsonObject] = field(default_factory=list)


@dataclass
class _MessageBuilder:
    """Command Code wants every tool call answered right after its assistant message: a missing result becomes
    `MISSING_TOOL_RESULT`, a late, duplicate or orphan one user text after the block."""

    model: str
    messages: list[JsonObject] = field(default_factory=list)
    tool_names: dict[str, str] = field(default_factory=dict)
    block: _ToolBlock | None = None
    deferred: list[JsonObject] = field(default_factory=list)

    def append(self, role: str, parts: list[JsonObject]) -> None:
        last: Final = self.messages[-1] if self.messages else None
        if not parts:
            return
        if last is not None and last["role"] == role:
            cast(list[JsonObject], last["content"]).extend(parts)
            return
        self.messages.append({"role": role, "content": parts})

    def close_tool_block(self) -> None:
        block, self.block = self.block, None
        if block is not None:
            answered: Final = {result["toolCallId"] for result in block.results}
            missing: Final = [
                _tool_result(i, name, MISSING_TOOL_RESULT) for i, name in block.calls.items() if i not in answered
            ]
            self.messages.append({"role": "tool", "content": [*block.results, *missing]})
            self.deferred.extend(block.followups)
        deferred, self.deferred = self.deferred, []
        self.append("user", deferred)

    def add(self, message: Mapping[str, object], where: str) -> None:
        role: Final = message.get("role")
        if role == "tool":
            return self.add_tool(message, where)
        self.close_tool_block()
        if role == "user":
            return self.append("user", _user_parts(message.get("content"), self.model, where))
        if role != "assistant":
            raise bad_request(f"{where}: unsupported role {role!r}; use system, developer, user, assistant or tool")
        parts: Final = _assistant_parts(message, where)
        raw_calls: Final = message.get("tool_calls") or ()
        if not isinstance(raw_calls, Sequence):
            raise bad_request(f"{where}: tool_calls must be a list")
        inputs: Final = [_tool_call_input(raw_call, where) for raw_call in raw_calls]
        calls: Final = {call_id: name for call_id, name, _ in inputs}
        parts.extend({"type": "tool-call", "toolCallId": i, "toolName": n, "input": args} for i, n, args in inputs)
        self.tool_names.update(calls)
        self.append("assistant", parts)
        self.block = _ToolBlock(calls=calls) if calls else None

    def add_tool(self, message: Mapping[str, object], where: str) -> None:
        call_id: Final = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise bad_request(f"{where}: a tool message needs the tool_call_id of the call it answers")
        content: Final = message.get("content")
        parts: Final = _user_parts(content, self.model, where) if content else []
        text: Final = "\n".join(str(part["text"]) for part in parts if part["type"] == "text")
        images: Final = [part for part in parts if part["type"] == "image"]
        block: Final = self.block
        if block is None or call_id not in block.calls or any(r["toolCallId"] == call_id for r in block.results):
            name = self.tool_names.get(call_id, "unknown tool")
            self.deferred.extend(
                [{"type": "text", "text": f"Result of tool call {call_id} ({name}):\n{text}"}, *images]
            )
            return
        block.results.append(_tool_result(call_id, block.calls[call_id], text))
        if images:
            block.followups.extend([{"type": "text", "text": f"Image returned by tool call {call_id}:"}, *images])


def _transform_messages(messages: Sequence[AllMessageValues], model: str) -> tuple[str, list[JsonObject]]:
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise bad_request("messages must be a non-empty list")
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise bad_request(f"messages[{index}]: every message must be an object")
    if all(message.get("role") in ("system", "developer") for message in messages):
        raise bad_request("messages must contain at least one user, assistant or tool message besides system prompts")
    system: Final = [
        text
        for index, message in enumerate(messages)
        if message.get("role") in ("system", "developer")
        and (text := _text_of(message.get("content"), f"messages[{index}]"))
    ]
    builder: Final = _MessageBuilder(model=model)
    for index, message in enumerate(messages):
        if message.get("role") not in ("system", "developer"):
            builder.add(message, f"messages[{index}]")
    builder.close_tool_block()
    return "\n\n".join(system), builder.messages


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
    if not isinstance(tools, Sequence):
        raise bad_request("tools must be a list")
    transformed: Final[list[JsonObject]] = []
    for index, tool in enumerate(tools):
        function = (
            tool.get("function") if isinstance(tool, Mapping) and tool.get("type", "function") == "function" else None
        )
        if not isinstance(function, Mapping) or not function.get("name"):
            raise bad_request(f"tools[{index}]: only function tools with a name are supported")
        parameters = function.get("parameters")
        schema = sanitize_input_schema_for_anthropic(dict(parameters) if isinstance(parameters, Mapping) else {})
        transformed.append(
            {"name": function["name"], "description": function.get("description") or "", "input_schema": schema}
        )
    return transformed
