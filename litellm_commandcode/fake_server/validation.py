"""Request checks of ``POST /alpha/generate``, in the order the real service applies them: key, CLI version header,
body envelope, UUID thread id (equal to ``x-session-id``), model, parameters, messages and their parts, tool-call
pairing, image support. A failed check raises :class:`FakeHttpError` with the service's message."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from litellm_commandcode.fake_server.catalog import ModelInfo, load_catalog
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_list
from litellm_commandcode.fake_server.protocol import FakeHttpError, message_parts

DEFAULT_KEY_PREFIX: Final = "user_"
MAX_TOKENS_LIMIT: Final = 200_000
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
UNAUTHORIZED_MESSAGE: Final = "Invalid 'Authorization' header or token."
TOOL_ORPHAN_MESSAGE: Final = "Messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
VALIDATION_PREFIX: Final = "Invalid request error. HINT: Validation error: "
_MISSING: Final = object()


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


def _require_object(container: JsonDict, key: str, path: str) -> JsonDict:
    value = container.get(key, _MISSING)
    if not isinstance(value, dict):
        raise _expected(f"{path}.{key}", "object", value)
    return value


def bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(char.isspace() for char in token):
        return None
    return token


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = VERSION_RE.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _format_version(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def upgrade_required(sent: str, minimum: tuple[int, int, int]) -> FakeHttpError:
    shown = sent.strip() or "none"
    message = (
        f"upgrade_required: Command Code version {shown} is no longer supported; the minimum is "
        f"{_format_version(minimum)}. Run `npm i -g command-code@latest` to upgrade."
    )
    return FakeHttpError(403, "upgrade_required", message)


def check_auth(headers: Mapping[str, str], keys: frozenset[str] | None) -> None:
    token = bearer(headers)
    accepted = token is not None and (token in keys if keys is not None else token.startswith(DEFAULT_KEY_PREFIX))
    if not accepted:
        raise FakeHttpError(401, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE)


def check_version(headers: Mapping[str, str], minimum: tuple[int, int, int]) -> None:
    sent = headers.get("x-command-code-version", "")
    version = parse_version(sent)
    if version is None or version < minimum:
        raise upgrade_required(sent, minimum)


def loads(raw: bytes) -> object:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _bad_request("Malformed JSON in request body") from error


def loads_or_none(raw: bytes) -> object | None:
    try:
        return loads(raw)
    except FakeHttpError:
        return None


def check_body(raw: bytes, headers: Mapping[str, str]) -> tuple[JsonDict, ModelInfo]:
    body = loads(raw)
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
    check_params(params)
    messages = as_list(params.get("messages"))
    check_tool_pairing(messages)
    check_images(messages, model)
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


def check_params(params: JsonDict) -> None:
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
    _require_object(tool, "input_schema", path)


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
    _require_object(part, "input", path)


def _check_tool_result_part(part: JsonDict, path: str) -> None:
    _require_str(part, "toolCallId", path)
    _require_str(part, "toolName", path)
    output = _require_object(part, "output", path)
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


def _tool_call_ids(message: object) -> set[str]:
    if as_dict(message).get("role") != "assistant":
        return set()
    return {str(part.get("toolCallId")) for part in message_parts(message) if part.get("type") == "tool-call"}


def check_tool_pairing(messages: Sequence[object]) -> None:
    for index, message in enumerate(messages):
        if as_dict(message).get("role") != "tool":
            continue
        answered = _tool_call_ids(messages[index - 1]) if index > 0 else set()
        if any(str(part.get("toolCallId")) not in answered for part in message_parts(message)):
            raise FakeHttpError(400, "BAD_REQUEST", TOOL_ORPHAN_MESSAGE)


def check_images(messages: Sequence[object], model: ModelInfo) -> None:
    if "image" in model.input:
        return
    if any(part.get("type") == "image" for message in messages for part in message_parts(message)):
        raise _bad_request(f"Model {model.id} does not support image input")
