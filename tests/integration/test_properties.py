"""Properties of the provider over generated inputs (hypothesis, derandomized, bounded): every valid OpenAI conversation
becomes a body the fake server's validator accepts with nothing lost; any split of a valid event stream assembles to
the same message; arbitrary bytes never raise anything but CommandCodeError. Rows of `scripts/fault-matrix`."""

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import pytest
from fault_matrix import Row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import litellm
import litellm_commandcode
from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig, ModelResponseIterator
from litellm.llms.commandcode.common_utils import CommandCodeError
from litellm.types.utils import ModelResponse, ModelResponseStream
from litellm_commandcode.fake_server import GARBAGE_LINES, FakeHttpError
from litellm_commandcode.fake_server.validation import check_body

VISION_MODEL: Final = "claude-sonnet-4-6"
THREAD_ID: Final = "6f1c0b9e-3a43-4c5e-9b1d-2f7f6f0c7a11"
EXAMPLES: Final = 150
FAULT_MATRIX: Final = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
JsonValue = object
Message = dict[str, object]


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    litellm_commandcode.register()


@pytest.fixture
def row(record_property: object) -> Row:
    return Row(record=record_property)


# ---------------------------------------------------------------------------------------------------------------------
# Conversations
# ---------------------------------------------------------------------------------------------------------------------

texts: Final = st.text(max_size=30)
nonempty_texts: Final = st.text(min_size=1, max_size=30)
names: Final = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,20}", fullmatch=True)
json_values: Final = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)
arguments: Final = st.dictionaries(texts, json_values, max_size=4)
images: Final = st.builds(
    lambda mime, data: f"data:image/{mime};base64,{base64.b64encode(data).decode('ascii')}",
    st.sampled_from(["png", "jpeg", "gif", "webp"]),
    st.binary(min_size=1, max_size=24),
)
text_parts: Final = texts.map(lambda text: {"type": "text", "text": text})
image_parts: Final = images.map(lambda url: {"type": "image_url", "image_url": {"url": url}})
user_contents: Final = texts | st.lists(text_parts | image_parts, min_size=1, max_size=4)
system_contents: Final = nonempty_texts | st.lists(
    nonempty_texts.map(lambda t: {"type": "text", "text": t}), min_size=1
)
tool_contents: Final = texts | st.lists(text_parts, min_size=1, max_size=3)


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: dict[str, object]


@st.composite
def assistant_messages(draw: st.DrawFn, calls: Sequence[Call]) -> Message:
    message: Final[Message] = {"role": "assistant", "content": draw(st.none() | texts)}
    reasoning: Final = draw(st.none() | nonempty_texts)
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in calls
        ]
    return message


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    """A conversation as clients send them: system prompts anywhere, tool results in any order, some missing, some
    late (after another turn), text and images."""
    messages: Final[list[Message]] = [{"role": "user", "content": draw(user_contents)}]
    unanswered: Final[list[Call]] = []
    issued = 0
    for kind in draw(st.lists(st.sampled_from(["user", "system", "assistant", "calls", "results"]), max_size=7)):
        if kind == "user":
            messages.append({"role": "user", "content": draw(user_contents)})
        elif kind == "system":
            messages.append({"role": draw(st.sampled_from(["system", "developer"])), "content": draw(system_contents)})
        elif kind == "assistant":
            messages.append(draw(assistant_messages(())))
        elif kind == "calls":
            count = draw(st.integers(1, 3))
            calls = [Call(f"call_{issued + index}", draw(names), draw(arguments)) for index in range(count)]
            issued += count
            messages.append(draw(assistant_messages(calls)))
            order = draw(st.permutations(calls))
            answered_now = draw(st.lists(st.booleans(), min_size=count, max_size=count))
            for call, answer in zip(order, answered_now, strict=True):
                if answer:
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": draw(tool_contents)})
                else:
                    unanswered.append(call)
        elif unanswered:
            answered = draw(st.permutations(unanswered))
            chosen = answered[: draw(st.integers(0, len(answered)))]
            for call in chosen:
                messages.append({"role": "tool", "tool_call_id": call.id, "content": draw(tool_contents)})
                unanswered.remove(call)
    return messages


def tools_for(messages: Sequence[Message]) -> list[dict[str, object]]:
    names_used: Final = sorted(
        {
            str(call["function"]["name"])  # type: ignore[index]
            for message in messages
            for call in message.get("tool_calls", ())  # type: ignore[attr-defined]
        }
    )
    return [
        {
            "type": "function",
            "function": {"name": name, "description": f"tool {name}", "parameters": {"type": "object"}},
        }
        for name in names_used
    ]


def content_texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [str(part["text"]) for part in content if part.get("type") == "text"]
    return []


def wire_parts(messages: Iterable[object], role: str, kind: str) -> list[dict[str, object]]:
    return [
        part
        for message in messages
        if isinstance(message, dict) and message.get("role") == role
        for part in message.get("content", ())
        if isinstance(part, dict) and part.get("type") == kind
    ]


def lost_content(messages: Sequence[Message], params: dict[str, object]) -> list[str]:
    """Every text, image, reasoning, tool-call argument and tool result of the input, looked up in the wire params."""
    wire: Final = params["messages"]
    assert isinstance(wire, list)
    system: Final = str(params.get("system") or "")
    user_texts: Final = [str(part["text"]) for part in wire_parts(wire, "user", "text")]
    images_sent: Final = {str(part["image"]) for part in wire_parts(wire, "user", "image")}
    assistant_texts: Final = [str(part["text"]) for part in wire_parts(wire, "assistant", "text")]
    reasoning_texts: Final = [str(part["text"]) for part in wire_parts(wire, "assistant", "reasoning")]
    calls_sent: Final = {
        str(part["toolCallId"]): (part["toolName"], part["input"])
        for part in wire_parts(wire, "assistant", "tool-call")
    }
    results_sent: Final = {str(part["toolCallId"]): part["output"] for part in wire_parts(wire, "tool", "tool-result")}
    lost: Final[list[str]] = []
    for index, message in enumerate(messages):
        role = message["role"]
        content = message.get("content")
        if role in ("system", "developer"):
            lost += [f"{index}: system {text!r}" for text in content_texts(content) if text and text not in system]
        elif role == "user":
            lost += [f"{index}: user text {text!r}" for text in content_texts(content) if text not in user_texts]
            for part in content if isinstance(content, list) else ():
                url = part.get("image_url", {}).get("url") if part.get("type") == "image_url" else None
                if url is not None and url not in images_sent:
                    lost.append(f"{index}: image {url[:40]}")
        elif role == "assistant":
            lost += [f"{index}: assistant {t!r}" for t in content_texts(content) if t and t not in assistant_texts]
            reasoning = message.get("reasoning_content")
            if reasoning and reasoning not in reasoning_texts:
                lost.append(f"{index}: reasoning {reasoning!r}")
            for call in message.get("tool_calls", ()):  # type: ignore[attr-defined]
                function = call["function"]
                sent = (function["name"], json.loads(function["arguments"]))
                if calls_sent.get(call["id"]) != sent:
                    lost.append(f"{index}: tool call {call['id']} {sent!r} became {calls_sent.get(call['id'])!r}")
        else:
            text = "\n".join(content_texts(content))
            result = results_sent.get(str(message["tool_call_id"]))
            as_result = result == {"type": "text", "value": text}
            if not as_result and not any(text in user_text for user_text in user_texts):
                lost.append(f"{index}: tool result {message['tool_call_id']} {text!r}")
    return lost


def test_every_valid_conversation_becomes_a_valid_body_with_nothing_lost(row: Row) -> None:
    row.expect(
        f"{EXAMPLES} generated conversations (text, images, tool calls and results in any order) → bodies the fake's "
        "validator accepts; every text, image, reasoning, tool-call argument and tool result is in the body"
    )
    seen: Final = Counter[str]()

    @FAULT_MATRIX
    @given(conversations())
    def transforms(messages: list[Message]) -> None:
        tools: Final = tools_for(messages)
        body: Final = CommandCodeChatConfig().transform_request(
            f"commandcode/{VISION_MODEL}",
            json.loads(json.dumps(messages)),
            {"tools": tools} if tools else {},
            {},
            {"x-session-id": THREAD_ID},
        )
        try:
            params, _ = check_body(json.dumps(body).encode("utf-8"), {"x-session-id": THREAD_ID})
        except FakeHttpError as error:
            raise AssertionError(f"the fake rejects the body: {error.status} {error.message}") from error
        assert lost_content(messages, params) == []
        seen["examples"] += 1
        seen["tool calls"] += sum(len(m.get("tool_calls", ())) for m in messages)  # type: ignore[arg-type]
        seen["tool results"] += sum(m["role"] == "tool" for m in messages)
        seen["images"] += sum(json.dumps(m).count('"image_url"') for m in messages)

    transforms()

    row.observe(
        f"{seen['examples']} conversations ({seen['tool calls']} tool calls, {seen['tool results']} tool results, "
        f"{seen['images']} images): all accepted, nothing lost"
    )
    assert seen["examples"] == EXAMPLES


# ---------------------------------------------------------------------------------------------------------------------
# Event streams
# ---------------------------------------------------------------------------------------------------------------------

# Text with multi-byte characters, so that splits fall inside UTF-8 sequences.
delta_texts: Final = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs", "So"]))


@dataclass(frozen=True)
class Stream:
    raw: bytes
    text: str
    reasoning: str
    calls: tuple[tuple[str, str, object], ...]
    prompt_tokens: int
    completion_tokens: int


def event_line(event: dict[str, object], crlf: bool) -> bytes:
    line: Final = json.dumps(event, ensure_ascii=False).encode("utf-8")
    return line + (b"\r\n" if crlf else b"\n")


@st.composite
def event_streams(draw: st.DrawFn) -> Stream:
    reasoning: Final = draw(st.lists(delta_texts.filter(bool), max_size=4))
    text: Final = draw(st.lists(delta_texts.filter(bool), max_size=6))
    calls: Final = [(f"call_{index}", draw(names), draw(arguments)) for index in range(draw(st.integers(0, 2)))]
    prompt_tokens, completion_tokens = draw(st.integers(0, 10**6)), draw(st.integers(0, 10**5))
    usage: Final = {"inputTokens": prompt_tokens, "outputTokens": completion_tokens}
    events: Final[list[dict[str, object]]] = [
        {"type": "start"},
        {"type": "start-step", "request": {"body": {"padding": "x" * draw(st.integers(0, 5000))}}, "warnings": []},
        *({"type": "reasoning-delta", "id": "r-0", "text": piece} for piece in reasoning),
        *({"type": "text-delta", "id": "t-0", "text": piece} for piece in text),
        *(
            {"type": "tool-call", "toolCallId": call_id, "toolName": name, "input": value}
            for call_id, name, value in calls
        ),
        {"type": "finish-step", "finishReason": "stop", "usage": usage},
        {"type": "finish", "finishReason": "tool-calls" if calls else "stop", "totalUsage": usage},
        {"type": "provider-metadata", "providerMetadata": {"gateway": {"cost": "0.001"}}},
    ]
    lines: Final[list[bytes]] = []
    for event in events:
        lines += draw(st.lists(st.sampled_from(GARBAGE_LINES), max_size=1))
        lines.append(event_line(event, draw(st.booleans())))
    return Stream(
        raw=b"".join(lines),
        text="".join(text),
        reasoning="".join(reasoning),
        calls=tuple(calls),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


def split(raw: bytes, cuts: Iterable[int]) -> list[bytes]:
    points: Final = sorted({min(cut, len(raw)) for cut in cuts})
    return [raw[start:end] for start, end in zip([0, *points], [*points, len(raw)], strict=True)]


def sync_chunks(pieces: Sequence[bytes]) -> list[ModelResponseStream]:
    return list(ModelResponseIterator(streaming_response=iter(pieces), sync_stream=True))


async def _pieces(pieces: Sequence[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def async_chunks(pieces: Sequence[bytes]) -> list[ModelResponseStream]:
    async def collect() -> list[ModelResponseStream]:
        return [chunk async for chunk in ModelResponseIterator(streaming_response=_pieces(pieces), sync_stream=False)]

    return asyncio.run(collect())


@dataclass(frozen=True)
class Assembled:
    text: str
    reasoning: str
    calls: tuple[tuple[str, str, object], ...]
    finish_reason: str
    usage: tuple[int, int]


def assemble(chunks: list[ModelResponseStream]) -> Assembled:
    response: Final = litellm.stream_chunk_builder(chunks)
    assert isinstance(response, ModelResponse)
    message: Final = response.choices[0].message  # type: ignore[union-attr]
    calls: Final = tuple(
        (call.id, call.function.name, json.loads(call.function.arguments)) for call in message.tool_calls or ()
    )
    usage: Final = getattr(response, "usage", None)
    return Assembled(
        text=message.content or "",
        reasoning=getattr(message, "reasoning_content", None) or "",
        calls=calls,
        finish_reason=str(response.choices[0].finish_reason),
        usage=(usage.prompt_tokens, usage.completion_tokens) if usage is not None else (-1, -1),
    )


def test_any_split_of_a_valid_event_stream_assembles_to_the_same_message(row: Row) -> None:
    row.expect(
        f"{EXAMPLES} generated streams (multi-byte text, CRLF and garbage lines), each cut at arbitrary byte offsets, "
        "sync and async: stream_chunk_builder gives the same text, reasoning, tool calls, finish reason and usage"
    )
    seen: Final = Counter[str]()

    @FAULT_MATRIX
    @given(event_streams(), st.lists(st.integers(0, 20_000), max_size=12))
    def assembles(stream: Stream, cuts: list[int]) -> None:
        expected: Final = Assembled(
            text=stream.text,
            reasoning=stream.reasoning,
            calls=stream.calls,
            finish_reason="tool_calls" if stream.calls else "stop",
            usage=(stream.prompt_tokens, stream.completion_tokens),
        )
        pieces: Final = split(stream.raw, cuts)

        assert assemble(sync_chunks([stream.raw])) == expected
        assert assemble(sync_chunks(pieces)) == expected
        assert assemble(async_chunks(pieces)) == expected
        seen["examples"] += 1
        seen["pieces"] += len(pieces)

    assembles()

    row.observe(f"{seen['examples']} streams in {seen['pieces']} pieces: every split assembled to the same message")
    assert seen["examples"] == EXAMPLES


# ---------------------------------------------------------------------------------------------------------------------
# Arbitrary bytes
# ---------------------------------------------------------------------------------------------------------------------

EVENT_TYPES: Final = ("text-delta", "reasoning-delta", "tool-call", "finish", "abort", "error", "finish-step", "start")
EVENT_KEYS: Final = ("text", "delta", "toolCallId", "toolName", "input", "args", "finishReason", "totalUsage", "error")
fuzzed_events: Final = st.builds(
    lambda kind, fields: json.dumps({**fields, "type": kind}).encode("utf-8"),
    st.sampled_from(EVENT_TYPES) | json_values,
    st.dictionaries(st.sampled_from(EVENT_KEYS), json_values, max_size=5),
)
fuzzed_lines: Final = st.lists(fuzzed_events | st.binary(max_size=40) | st.sampled_from(GARBAGE_LINES), max_size=10)


def drain(chunks: Iterator[ModelResponseStream]) -> str:
    try:
        count = sum(1 for _ in chunks)
    except CommandCodeError as error:
        return f"CommandCodeError {error.status_code}"
    return f"{count} chunks"


async def adrain(pieces: Sequence[bytes]) -> str:
    count = 0
    try:
        async for _ in ModelResponseIterator(streaming_response=_pieces(pieces), sync_stream=False):
            count += 1
    except CommandCodeError as error:
        return f"CommandCodeError {error.status_code}"
    return f"{count} chunks"


def test_arbitrary_bytes_raise_nothing_but_commandcode_error(row: Row) -> None:
    row.expect(
        f"{EXAMPLES * 2} generated byte streams (random bytes, garbage lines, events of every type with random "
        "fields), "
        "cut anywhere, sync and async: chunks or CommandCodeError, never another exception"
    )
    outcomes: Final = Counter[str]()

    @settings(FAULT_MATRIX, max_examples=EXAMPLES * 2)
    @given(fuzzed_lines, st.lists(st.integers(0, 2_000), max_size=6))
    def never_crashes(lines: list[bytes], cuts: list[int]) -> None:
        pieces: Final = split(b"\n".join(lines), cuts)
        sync_outcome: Final = drain(iter(ModelResponseIterator(streaming_response=iter(pieces), sync_stream=True)))
        async_outcome: Final = asyncio.run(adrain(pieces))
        assert sync_outcome == async_outcome
        outcomes["chunks" if sync_outcome.endswith("chunks") else sync_outcome] += 1

    never_crashes()

    row.observe(f"outcomes: {dict(sorted(outcomes.items()))}")
    assert sum(outcomes.values()) == EXAMPLES * 2
