"""The deterministic answer to a valid request: echoed text or a call of the first tool (arguments made from its
schema), reasoning for reasoning models, usage estimated from the request's size (4 characters a token, cache reads in
64-token blocks) and its cost. The ``ok`` scenario streams this answer; the others reshape it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final

from litellm_commandcode.fake_server.catalog import ModelInfo, load_catalog
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_list, canonical, utf8
from litellm_commandcode.fake_server.protocol import Answer, ToolCall, Usage, last_user_text, message_parts

CACHE_BLOCK_TOKENS: Final = 64
CHARS_PER_TOKEN: Final = 4
ECHO_LIMIT: Final = 1000
LOCATION_RE: Final = re.compile(r"city|location|place|town", re.IGNORECASE)
REPLY_SUFFIX: Final = "This is a deterministic answer from the fake Command Code server."


def estimate_tokens(length: int) -> int:
    return -(-length // CHARS_PER_TOKEN)


def floor_block(tokens: int) -> int:
    return tokens // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS


def _digest(value: object) -> str:
    return hashlib.sha256(utf8(canonical(value))).hexdigest()


def _prompt(params: JsonDict) -> JsonDict:
    return {"system": params.get("system"), "messages": params.get("messages"), "tools": params.get("tools") or []}


def _input_usage(params: JsonDict) -> tuple[int, int]:
    messages = as_list(params.get("messages"))
    input_tokens = estimate_tokens(len(canonical(_prompt(params))))
    if len(messages) < 2:
        return input_tokens, 0
    return input_tokens, floor_block(estimate_tokens(len(canonical(messages[:-1]))))


def answer_usage(model: ModelInfo, params: JsonDict, output_chars: int, reasoning_chars: int) -> Usage:
    input_tokens, cache_read = _input_usage(params)
    return Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        text_tokens=estimate_tokens(output_chars),
        reasoning_tokens=estimate_tokens(reasoning_chars),
        has_cache_write=model.prices.get("cache_write") is not None,
    )


def _schema_value(name: str, schema: object, depth: int) -> object:
    spec = as_dict(schema)
    options = as_list(spec.get("enum"))
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
    properties = as_dict(schema.get("properties"))
    required = [key for key in as_list(schema.get("required")) if isinstance(key, str)]
    return {key: _schema_value(key, properties.get(key), depth) for key in required}


def tool_input_for(schema: object) -> JsonDict:
    return _object_value(as_dict(schema), 0)


def _tool_result_text(message: JsonDict) -> str:
    values: list[str] = []
    for part in message_parts(message):
        value = as_dict(part.get("output")).get("value")
        values.append(value if isinstance(value, str) else canonical(value))
    return f"The tool returned: {'; '.join(values)}."


def _echo_text(user_text: str) -> str:
    return f"You said: {user_text[:ECHO_LIMIT]}\n{REPLY_SUFFIX}"


def reasoning_text(kind: str, detail: str) -> str:
    if kind == "tool":
        return f"The user needs {detail}. I will call it."
    if kind == "tool_result":
        return "The tool has answered. I will report its result."
    count = len(detail.split())
    return f"The user wrote {count} word{'' if count == 1 else 's'}. I will answer briefly."


def _content(params: JsonDict, seed: str, force_text: bool) -> tuple[str, str, tuple[ToolCall, ...]]:
    messages = as_list(params.get("messages"))
    tools = [tool for tool in as_list(params.get("tools")) if isinstance(tool, dict)]
    last = as_dict(messages[-1]) if messages else {}
    if tools and last.get("role") == "user" and not force_text:
        name = str(tools[0].get("name"))
        call = ToolCall(id=f"call_{seed[24:48]}", name=name, input=tool_input_for(tools[0].get("input_schema")))
        return "", reasoning_text("tool", name), (call,)
    if last.get("role") == "tool":
        return _tool_result_text(last), reasoning_text("tool_result", ""), ()
    user_text = last_user_text(messages)
    return _echo_text(user_text), reasoning_text("text", user_text), ()


def tool_calls_chars(calls: Iterable[ToolCall]) -> int:
    return sum(len(call.name) + len(canonical(call.input)) for call in calls)


def answer_seed(params: JsonDict) -> str:
    return _digest({"model": params.get("model"), **_prompt(params)})


def build_answer(params: JsonDict, model: ModelInfo, force_text: bool = False) -> Answer:
    seed = answer_seed(params)
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
        usage=answer_usage(model, params, len(text) + tool_calls_chars(calls), len(reasoning)),
        response_id=f"resp_{seed[:24]}",
    )


def expected_answer(body: JsonDict) -> JsonDict:
    """The deterministic ``ok`` answer to a valid request body: text, reasoning, tool_calls, finish, usage, cost."""
    params = as_dict(body.get("params"))
    model = load_catalog().get(str(params.get("model")))
    if model is None:
        raise ValueError(f"unknown model: {params.get('model')}")
    return build_answer(params, model).as_dict()
