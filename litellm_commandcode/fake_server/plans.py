"""Each scenario's plan: the reply it makes to a valid request, built from the deterministic answer
(:mod:`.answers`) and the protocol's events (:mod:`.protocol`) — HTTP faults, in-stream errors, cut or reset streams,
slow or stalling streams, long streams for benchmarks, Unicode split across writes, malformed lines, multi-step and
paused answers, and a coding agent's turn. :data:`PLANNERS` maps each scenario name to its plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Final

from litellm_commandcode.fake_server.answers import (
    answer_seed,
    answer_usage,
    build_answer,
    estimate_tokens,
    floor_block,
    reasoning_text,
    tool_calls_chars,
    tool_input_for,
)
from litellm_commandcode.fake_server.catalog import ModelInfo
from litellm_commandcode.fake_server.http_io import reason_phrase
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_list, canonical
from litellm_commandcode.fake_server.protocol import (
    Answer,
    FakeHttpError,
    ToolCall,
    answer_events,
    block_events,
    event_line,
    finish_step,
    finish_tail,
    head_events,
    last_user_text,
    message_parts,
    start_step,
    step_events,
    stream_error,
)
from litellm_commandcode.fake_server.replies import (
    Action,
    BodyReply,
    Pause,
    Reply,
    Reset,
    StreamReply,
    Write,
    error_reply,
    event_writes,
    frame,
    stream_reply,
)
from litellm_commandcode.fake_server.scenarios import CONTEXT_MESSAGE, HTTP_FAULTS, Context, param_int, param_seconds
from litellm_commandcode.fake_server.validation import parse_version, upgrade_required

SPLIT_WRITE_PAUSE_SECONDS: Final = 0.02
PARTIAL_DELTAS: Final = 2
GARBAGE_PADDING_BYTES: Final = 1_000_000
NETWORK_LOST_MESSAGE: Final = "Network connection lost."
EMBEDDED_ERROR_MESSAGE: Final = '429 {"error":{"message":"Rate limit exceeded"}}'
NON_JSON_BODY: Final = b"upstream connect error"
STREAM_ERROR_MESSAGES: Final[dict[int, str]] = {
    402: "Insufficient Balance",
    429: "Rate limit exceeded.",
    500: "Internal server error.",
    503: "Service temporarily unavailable.",
}
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


def _burst_stream(ctx: Context, events: Sequence[object]) -> StreamReply:
    """`burst` events per network write (default 1), as a buffering proxy in front of the server delivers them."""
    burst = param_int(ctx, "burst", 1, 1, 100_000)
    lines = [event_line(event) for event in events]
    chunks = (b"".join(lines[start : start + burst]) for start in range(0, len(lines), burst))
    return StreamReply(actions=tuple(Write(frame(chunk)) for chunk in chunks))


def _retry_headers(ctx: Context) -> tuple[tuple[str, str], ...]:
    if "retry_after" not in ctx.scenario.params:
        return ()
    return (("Retry-After", str(param_int(ctx, "retry_after", 0, 0, 86_400))),)


def _plan_http_fault(ctx: Context) -> Reply:
    status, code, template = HTTP_FAULTS[ctx.scenario.name]
    error = FakeHttpError(status, code, template.format(model=ctx.model.id))
    error.headers = _retry_headers(ctx)
    return error_reply(error)


def _plan_http_upgrade(ctx: Context) -> Reply:
    major, minor, _ = parse_version(ctx.version) or (0, 0, 0)
    error = upgrade_required(ctx.version, (major, minor + 1, 0))
    error.headers = _retry_headers(ctx)
    return error_reply(error)


def _plan_http_429(ctx: Context) -> Reply:
    window = ctx.scenario.params.get("window", RATE_LIMIT_WINDOWS[0])
    if window not in RATE_LIMIT_WINDOWS:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Parameter window must be one of {RATE_LIMIT_WINDOWS}")
    reset = int(ctx.now) + param_int(ctx, "reset_in", 3600, 0, 30 * 86_400)
    message = f"Usage limit reached for the {window} window. It resets at {reset} (unix time)."
    error = FakeHttpError(429, "RATE_LIMITED", message, {"rateLimit": {"window": window, "reset": reset}})
    error.headers = _retry_headers(ctx)
    return error_reply(error)


def _plan_http_non_json(ctx: Context) -> Reply:
    status = param_int(ctx, "status", 502, 400, 599)
    return BodyReply(status=status, body=NON_JSON_BODY, content_type="text/plain", headers=_retry_headers(ctx))


def _configured_error(ctx: Context) -> JsonDict:
    status = param_int(ctx, "status", 503, 100, 599)
    default = STREAM_ERROR_MESSAGES.get(status, f"{reason_phrase(status)}.")
    return stream_error(status, ctx.scenario.params.get("message", default))


def _partial(ctx: Context) -> tuple[list[JsonDict], list[JsonDict]]:
    events = answer_events(build_answer(ctx.params, ctx.model, force_text=True), ctx.params)
    seen = 0
    for index, event in enumerate(events):
        seen += event.get("type") == "text-delta"
        if seen == PARTIAL_DELTAS:
            return events[: index + 1], events[index + 1 :]
    return events, []


def _plan_ok(ctx: Context) -> Reply:
    return _burst_stream(ctx, answer_events(build_answer(ctx.params, ctx.model), ctx.params))


def _plan_stream_error_before(ctx: Context) -> Reply:
    return stream_reply([*head_events(ctx.params), _configured_error(ctx)])


def _plan_stream_error_after(ctx: Context) -> Reply:
    return stream_reply([*_partial(ctx)[0], _configured_error(ctx)])


def _plan_stream_error_string(ctx: Context) -> Reply:
    error = {"type": "error", "error": ctx.scenario.params.get("message", NETWORK_LOST_MESSAGE)}
    return stream_reply([*head_events(ctx.params), error])


def _plan_stream_error_embedded(ctx: Context) -> Reply:
    error = {"type": "error", "error": {"type": "server_error", "message": EMBEDDED_ERROR_MESSAGE}}
    return stream_reply([*head_events(ctx.params), error])


def _plan_stream_context(ctx: Context) -> Reply:
    return stream_reply([*head_events(ctx.params), stream_error(400, CONTEXT_MESSAGE)])


def _plan_truncate(ctx: Context) -> Reply:
    return stream_reply(_partial(ctx)[0])


def _plan_reset(ctx: Context) -> Reply:
    return StreamReply(actions=(*event_writes(_partial(ctx)[0]), Reset()))


def _plan_abort(ctx: Context) -> Reply:
    return stream_reply([*_partial(ctx)[0], {"type": "abort"}])


def _plan_finish_reason(ctx: Context) -> Reply:
    reasons = {"length": ("length", "length"), "content_filter": ("content-filter", "content_filter")}
    finish, raw = reasons[ctx.scenario.name]
    answer = replace(build_answer(ctx.params, ctx.model, force_text=True), finish_reason=finish, raw_finish_reason=raw)
    return stream_reply(answer_events(answer, ctx.params))


def _plan_empty(ctx: Context) -> Reply:
    answer = build_answer(ctx.params, ctx.model, force_text=True)
    empty = replace(answer, text="", reasoning="", usage=answer_usage(ctx.model, ctx.params, 0, 0))
    return stream_reply([{"type": "start"}, finish_step(empty, empty.usage, ("stop", "stop")), *finish_tail(empty)])


def _plan_reasoning_only(ctx: Context) -> Reply:
    answer = build_answer(ctx.params, ctx.model, force_text=True)
    reasoning = reasoning_text("text", last_user_text(as_list(ctx.params.get("messages"))))
    only = replace(answer, text="", reasoning=reasoning, usage=answer_usage(ctx.model, ctx.params, 0, len(reasoning)))
    return _burst_stream(ctx, answer_events(only, ctx.params))


def _tool_properties(tool: JsonDict) -> JsonDict:
    return as_dict(as_dict(tool.get("input_schema")).get("properties"))


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
    value = path
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
    spec = as_dict(schema)
    if spec.get("type") != "array":
        return value
    item = as_dict(spec.get("items"))
    item_key = next((name for name in AGENT_PATH_KEYS if name in as_dict(item.get("properties"))), None)
    if item_key is not None:
        return [{item_key: value}]
    return ["bash", "-lc", value] if key == "command" else [value]


def _tool_output_text(message: JsonDict) -> str:
    values = [as_dict(part.get("output")).get("value") for part in message_parts(message)]
    return "\n".join(value if isinstance(value, str) else canonical(value) for value in values)


def _agent_content(ctx: Context, seed: str) -> tuple[str, str, tuple[ToolCall, ...]]:
    messages = as_list(ctx.params.get("messages"))
    last = as_dict(messages[-1]) if messages else {}
    path = ctx.scenario.params.get("read")
    if path and last.get("role") == "tool":
        return AGENT_READ_REPLY.format(text=_tool_output_text(last)), reasoning_text("tool_result", ""), ()
    tools = [tool for tool in as_list(ctx.params.get("tools")) if isinstance(tool, dict)]
    call = _agent_read_call(tools, path, seed) if path and last.get("role") == "user" else None
    if call is not None:
        return "", reasoning_text("tool", call.name), (call,)
    word = ctx.scenario.params.get("reply", "hello")
    return AGENT_REPLY.format(word=word), reasoning_text("text", last_user_text(messages)), ()


def _plan_agent(ctx: Context) -> Reply:
    """A coding agent's turn: `read=PATH` calls the agent's own read tool (or shell tool) for PATH and then answers
    with what the tool returned; otherwise (and for requests without such a tool) the text `reply=WORD` says."""
    seed = answer_seed(ctx.params)
    text, reasoning_hint, calls = _agent_content(ctx, seed)
    answer = build_answer(ctx.params, ctx.model, force_text=True)
    reasoning = reasoning_hint if ctx.model.reasoning else ""
    finish = ("tool-calls", "tool_calls") if calls else ("stop", "stop")
    usage = answer_usage(ctx.model, ctx.params, len(text) + tool_calls_chars(calls), len(reasoning))
    agent = replace(
        answer,
        text=text,
        reasoning=reasoning,
        tool_calls=calls,
        finish_reason=finish[0],
        raw_finish_reason=finish[1],
        usage=usage,
    )
    return _burst_stream(ctx, answer_events(agent, ctx.params))


def _server_tool_events(ctx: Context, seed: str) -> tuple[list[JsonDict], int, int]:
    tool_input: JsonDict = {"query": last_user_text(as_list(ctx.params.get("messages")))[:100]}
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
    call_chars = len(SERVER_TOOL_NAME) + len(canonical(tool_input))
    return [call, result], call_chars, len(canonical([call, result]))


def _plan_multi_step(ctx: Context) -> Reply:
    answer = build_answer(ctx.params, ctx.model, force_text=True)
    tool_events, call_chars, exchange_chars = _server_tool_events(ctx, answer_seed(ctx.params))
    first = answer_usage(ctx.model, ctx.params, call_chars, 0)
    second = replace(
        answer.usage,
        input_tokens=first.input_tokens + estimate_tokens(exchange_chars),
        cache_read_tokens=floor_block(first.input_tokens),
    )
    total = replace(answer, usage=first.plus(second))
    events = [
        *head_events(ctx.params),
        *tool_events,
        finish_step(answer, first, ("tool-calls", "tool_calls")),
        start_step(ctx.params),
        *step_events(answer),
        finish_step(answer, second, ("stop", "stop")),
        *finish_tail(total),
    ]
    return stream_reply(events)


def _delivered(params: JsonDict) -> tuple[JsonDict, str]:
    """A continuation's request without the partial answer it ends with, and that answer's text."""
    messages = as_list(params.get("messages"))
    last = as_dict(messages[-1]) if messages else {}
    if last.get("role") != "assistant":
        return params, ""
    text = "".join(str(part.get("text")) for part in message_parts(last) if part.get("type") == "text")
    return {**params, "messages": messages[:-1]}, text


def pause_turn_answer(params: JsonDict, model: ModelInfo, times: int) -> Answer:
    """One part of an answer that pauses `times` times: the text of the whole answer cut into `times + 1` parts; a
    request that ends with the parts delivered so far (the client's continuation) gets the next one."""
    base, delivered = _delivered(params)
    whole = build_answer(base, model, force_text=True)
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
        usage=answer_usage(model, params, len(parts[done]), len(reasoning)),
    )


def _plan_pause_turn(ctx: Context) -> Reply:
    answer = pause_turn_answer(ctx.params, ctx.model, param_int(ctx, "times", 1, 0, 20))
    return stream_reply(answer_events(answer, ctx.params))


def _plan_slow(ctx: Context) -> Reply:
    delay = param_seconds(ctx, "delay_ms", 50, scale=1000.0)
    writes = event_writes(answer_events(build_answer(ctx.params, ctx.model), ctx.params))
    actions: list[Action] = []
    for write in writes:
        actions += [Pause(delay), write] if actions else [write]
    return StreamReply(actions=tuple(actions))


def _plan_stall_first(ctx: Context) -> Reply:
    events = answer_events(build_answer(ctx.params, ctx.model), ctx.params)
    return stream_reply(events, delay_before=param_seconds(ctx, "seconds", 30))


def _plan_stall_mid(ctx: Context) -> Reply:
    before, after = _partial(ctx)
    pause = Pause(param_seconds(ctx, "seconds", 30))
    return StreamReply(actions=(*event_writes(before), pause, *event_writes(after)))


@lru_cache(maxsize=16)
def _long_burst(size: int, burst: int) -> bytes:
    return frame(event_line({"type": "text-delta", "id": "txt-0", "text": "x" * size}) * burst)


def _plan_long(ctx: Context) -> Reply:
    events = param_int(ctx, "events", 1000, 0, 10_000_000)
    size = param_int(ctx, "size", 1, 1, 65_536)
    burst = param_int(ctx, "burst", 1, 1, 100_000)
    answer = replace(
        build_answer(ctx.params, ctx.model, force_text=True),
        text="",
        reasoning="",
        usage=answer_usage(ctx.model, ctx.params, events * size, 0),
    )
    body: list[Action] = [Write(_long_burst(size, burst), events // burst)]
    if events % burst:
        body.append(Write(_long_burst(size, events % burst)))
    head = event_writes([*head_events(ctx.params), {"type": "text-start", "id": "txt-0"}])
    tail_events = [{"type": "text-end", "id": "txt-0"}, finish_step(answer, answer.usage, ("stop", "stop"))]
    tail = event_writes([*tail_events, *finish_tail(answer)])
    return StreamReply(actions=(*head, *body, *tail))


def _split_line(line: bytes, marker: str) -> list[Action]:
    cut = line.index(marker.encode("utf-8")) + 2
    return [Write(frame(line[:cut])), Pause(SPLIT_WRITE_PAUSE_SECONDS), Write(frame(line[cut:]))]


def _plan_unicode(ctx: Context) -> Reply:
    text = "".join(UNICODE_DELTAS)
    answer = replace(
        build_answer(ctx.params, ctx.model, force_text=True),
        text=text,
        reasoning="",
        usage=answer_usage(ctx.model, ctx.params, len(text), 0),
    )
    actions: list[Action] = []
    for event in answer_events(answer, ctx.params):
        line = event_line(event)
        split = event.get("type") == "text-delta" and UNICODE_SPLIT_CHAR in str(event.get("text"))
        actions += _split_line(line, UNICODE_SPLIT_CHAR) if split else [Write(frame(line))]
    return StreamReply(actions=tuple(actions))


def _plan_unicode_deltas(ctx: Context) -> Reply:
    answer = replace(
        build_answer(ctx.params, ctx.model, force_text=True),
        text=UNICODE_SPLIT_TEXT,
        reasoning="",
        usage=answer_usage(ctx.model, ctx.params, len(UNICODE_SPLIT_TEXT), 0),
    )
    events = [
        *head_events(ctx.params),
        *block_events("text", "txt-0", UNICODE_SPLIT_DELTAS),
        finish_step(answer, answer.usage, ("stop", "stop")),
        *finish_tail(answer),
    ]
    return stream_reply(events)


def _garbage_line(event: JsonDict, params: JsonDict) -> bytes:
    if event.get("type") == "start-step":
        padded = {**params, "padding": "x" * GARBAGE_PADDING_BYTES}
        return event_line({**event, "request": {"body": padded}})
    if event.get("type") == "text-end":
        return event_line(event)[:-1] + b"\r\n"
    return event_line(event)


def _plan_garbage(ctx: Context) -> Reply:
    events = answer_events(build_answer(ctx.params, ctx.model), ctx.params)
    actions: list[Action] = []
    for index, event in enumerate(events):
        line = _garbage_line(event, ctx.params)
        noise = GARBAGE_LINES[index % len(GARBAGE_LINES)]
        if event.get("type") == "finish-step":
            half = len(line) // 2
            actions += [Write(frame(noise + line[:half])), Write(frame(line[half:]))]
            continue
        actions.append(Write(frame(noise + line)))
    actions.append(Write(frame(b"".join(GARBAGE_LINES))))
    return StreamReply(actions=tuple(actions))


PLANNERS: Final[dict[str, Callable[[Context], Reply]]] = {
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
