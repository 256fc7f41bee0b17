import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import httpx
import pytest

from litellm_commandcode.fake_server import (
    TOOL_ORPHAN_MESSAGE,
    FakeCommandCodeServer,
    expected_answer,
    load_catalog,
    main,
    scenario_names,
)

ROOT: Final = Path(__file__).resolve().parents[2]
THREAD_ID: Final = "6f1c0b9e-3a43-4c5e-9b1d-2f7f6f0c7a11"
OTHER_THREAD_ID: Final = "0b8a1f3e-5c2d-4e6f-8a9b-1c2d3e4f5a6b"
REASONING_MODEL: Final = "deepseek/deepseek-v4-flash"
CACHE_WRITE_MODEL: Final = "claude-haiku-4-5-20251001"
HIDDEN_MODEL: Final = "minimax/minimax-m3-free"
PNG_DATA_URL: Final = "data:image/png;base64,iVBORw0KGgo="
HINT: Final = "Invalid request error. HINT: Validation error: "
READY_RE: Final = re.compile(r"^fake-commandcode listening on http://127\.0\.0\.1:(\d+)$")
WEATHER_TOOL: Final = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "detailed": {"type": "boolean"},
        },
        "required": ["city", "unit", "days"],
    },
}
TOOL_CALL_MESSAGE: Final = {
    "role": "assistant",
    "content": [{"type": "tool-call", "toolCallId": "call_1", "toolName": "get_weather", "input": {"city": "Paris"}}],
}
TOOL_RESULT_MESSAGE: Final = {
    "role": "tool",
    "content": [
        {
            "type": "tool-result",
            "toolCallId": "call_1",
            "toolName": "get_weather",
            "output": {"type": "text", "value": "18C"},
        }
    ],
}
SUFFIX: Final = "This is a deterministic answer from the fake Command Code server."
PARTIAL_TEXT: Final = "You said: hi\nThis is a "


def user(text: str) -> dict[str, object]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def make_body(text: str = "hello there", model: str = REASONING_MODEL, **params: object) -> dict[str, object]:
    base: dict[str, object] = {
        "model": model,
        "messages": [user(text)],
        "tools": [],
        "system": "You are helpful.",
        "max_tokens": 64000,
        "stream": True,
    }
    return {
        "config": {"workingDir": "/tmp", "date": "2026-11-22", "environment": "terminal"},
        "memory": None,
        "taste": None,
        "skills": None,
        "permissionMode": "standard",
        "threadId": THREAD_ID,
        "params": {**base, **params},
    }


def make_headers(key: str = "user_test", thread: str = THREAD_ID, **extra: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {key}",
        "x-command-code-version": "1.64.0",
        "x-session-id": thread,
        **extra,
    }


def parse_events(payload: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for line in payload.split("\n"):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "type" in event:
            events.append(event)
    return events


def types_of(events: list[dict[str, object]]) -> list[object]:
    return [event["type"] for event in events]


def joined(events: list[dict[str, object]], kind: str) -> str:
    return "".join(str(event["text"]) for event in events if event["type"] == kind)


def only(events: list[dict[str, object]], kind: str) -> dict[str, object]:
    matches = [event for event in events if event["type"] == kind]
    assert len(matches) == 1
    return matches[0]


def tokens(text: str) -> int:
    return -(-len(text) // 4)


def canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def wait_until(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    for _ in range(1000):
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return predicate()


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer) -> None:
    server.reset()


@pytest.fixture
def client(server: FakeCommandCodeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def generate(
    client: httpx.Client, body: object, headers: dict[str, str] | None = None, scenario: str | None = None
) -> httpx.Response:
    sent = make_headers() if headers is None else headers
    if scenario is not None:
        sent = {**sent, "x-fake-scenario": scenario}
    return client.post("/alpha/generate", content=json.dumps(body).encode(), headers=sent)


def assert_error(response: httpx.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "success": False,
        "error": {
            "code": code,
            "status": status,
            "message": message,
            "docs": "https://commandcode.ai/docs/reference/errors/" + code.lower().replace("_", "-"),
        },
    }


def with_params(**params: object) -> dict[str, object]:
    return make_body(**params)


def without(key: str) -> dict[str, object]:
    body = make_body()
    del body[key]
    return body


def without_param(key: str) -> dict[str, object]:
    body = make_body()
    params = body["params"]
    assert isinstance(params, dict)
    del params[key]
    return body


HEADER_CASES: Final = [
    ("no_authorization", {"x-command-code-version": "1.64.0", "x-session-id": THREAD_ID}, 401),
    ("not_a_user_key", make_headers(key="sk-abc"), 401),
    ("basic_scheme", {**make_headers(), "authorization": "Basic user_test"}, 401),
    ("empty_bearer", {**make_headers(), "authorization": "Bearer"}, 401),
]


@pytest.mark.parametrize(("case", "headers", "status"), HEADER_CASES, ids=[case[0] for case in HEADER_CASES])
def test_invalid_bearer_is_rejected_with_401(
    client: httpx.Client, case: str, headers: dict[str, str], status: int
) -> None:
    assert_error(
        generate(client, make_body(), headers), status, "UNAUTHORIZED", "Invalid 'Authorization' header or token."
    )


@pytest.mark.parametrize("version", [None, "0.24.1", "0.99.99", "not-a-version"])
def test_missing_or_stale_version_is_rejected_with_upgrade_required(client: httpx.Client, version: str | None) -> None:
    headers = make_headers()
    if version is None:
        del headers["x-command-code-version"]
    else:
        headers["x-command-code-version"] = version
    shown = version or "none"
    message = (
        f"upgrade_required: Command Code version {shown} is no longer supported; the minimum is 1.0.0. "
        "Run `npm i -g command-code@latest` to upgrade."
    )
    assert_error(generate(client, make_body(), headers), 403, "upgrade_required", message)


def test_auth_is_checked_before_version(client: httpx.Client) -> None:
    headers = make_headers(key="nope")
    del headers["x-command-code-version"]
    assert generate(client, make_body(), headers).status_code == 401


def test_non_json_body_is_rejected(client: httpx.Client) -> None:
    response = client.post("/alpha/generate", content=b"{not json", headers=make_headers())
    assert_error(response, 400, "BAD_REQUEST", HINT + "Malformed JSON in request body")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("config", "object"),
        ("memory", "string"),
        ("taste", "string"),
        ("skills", "string"),
        ("permissionMode", "string"),
        ("params", "object"),
    ],
)
def test_missing_top_level_key_is_rejected(client: httpx.Client, key: str, expected: str) -> None:
    message = f'{HINT}Invalid input: expected {expected}, received undefined at "{key}"'
    assert_error(generate(client, without(key)), 400, "BAD_REQUEST", message)


def test_null_memory_taste_and_skills_are_accepted(client: httpx.Client) -> None:
    assert generate(client, make_body()).status_code == 200


STREAM_TRUE: Final = 'Invalid input: expected true at "params.stream"'
BODY_CASES: Final[list[tuple[str, Callable[[], object], int, str, str]]] = [
    ("stream_false", lambda: with_params(stream=False), 400, "BAD_REQUEST", STREAM_TRUE),
    ("stream_string", lambda: with_params(stream="true"), 400, "BAD_REQUEST", STREAM_TRUE),
    ("stream_missing", lambda: without_param("stream"), 400, "BAD_REQUEST", STREAM_TRUE),
    (
        "thread_v1",
        lambda: {**make_body(), "threadId": "6f1c0b9e-3a43-1c5e-9b1d-2f7f6f0c7a11"},
        400,
        "BAD_REQUEST",
        'Invalid UUID at "threadId"',
    ),
    (
        "thread_missing",
        lambda: without("threadId"),
        400,
        "BAD_REQUEST",
        'Invalid input: expected string, received undefined at "threadId"',
    ),
    (
        "permission_mode",
        lambda: {**make_body(), "permissionMode": "yolo"},
        400,
        "BAD_REQUEST",
        'Invalid option: expected one of "standard"|"auto-accept"|"plan" at "permissionMode"',
    ),
    (
        "model_wrong_case",
        lambda: with_params(model="qwen/qwen3.8-max"),
        403,
        "FORBIDDEN",
        "Model/provider not recognized: qwen/qwen3.8-max",
    ),
    (
        "max_tokens_zero",
        lambda: with_params(max_tokens=0),
        400,
        "BAD_REQUEST",
        'Too small: expected number to be >=1 at "params.max_tokens"',
    ),
    (
        "max_tokens_too_big",
        lambda: with_params(max_tokens=200001),
        400,
        "BAD_REQUEST",
        'Too big: expected number to be <=200000 at "params.max_tokens"',
    ),
    (
        "max_tokens_fraction",
        lambda: with_params(max_tokens=1.5),
        400,
        "BAD_REQUEST",
        'Invalid input: expected int, received number at "params.max_tokens"',
    ),
    (
        "max_tokens_string",
        lambda: with_params(max_tokens="64000"),
        400,
        "BAD_REQUEST",
        'Invalid input: expected number, received string at "params.max_tokens"',
    ),
    (
        "system_object",
        lambda: with_params(system={"text": "x"}),
        400,
        "BAD_REQUEST",
        'Invalid input: expected string, received object at "params.system"',
    ),
    (
        "system_block_type",
        lambda: with_params(system=[{"type": "image", "text": "x"}]),
        400,
        "BAD_REQUEST",
        'Invalid input: expected "text" at "params.system[0].type"',
    ),
    (
        "tools_openai_shape",
        lambda: with_params(tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        400,
        "BAD_REQUEST",
        'Invalid input: expected string, received undefined at "params.tools[0].name"',
    ),
    (
        "tools_schema_missing",
        lambda: with_params(tools=[{"name": "f"}]),
        400,
        "BAD_REQUEST",
        'Invalid input: expected object, received undefined at "params.tools[0].input_schema"',
    ),
    (
        "tools_not_array",
        lambda: with_params(tools={}),
        400,
        "BAD_REQUEST",
        'Invalid input: expected array, received object at "params.tools"',
    ),
    (
        "messages_empty",
        lambda: with_params(messages=[]),
        400,
        "BAD_REQUEST",
        'Too small: expected array to have >=1 items at "params.messages"',
    ),
    (
        "system_role",
        lambda: with_params(messages=[{"role": "system", "content": "be nice"}, user("hi")]),
        400,
        "BAD_REQUEST",
        'Invalid option: expected one of "user"|"assistant"|"tool" at "params.messages[0].role"',
    ),
    (
        "user_tool_call_part",
        lambda: with_params(messages=[{"role": "user", "content": TOOL_CALL_MESSAGE["content"]}]),
        400,
        "BAD_REQUEST",
        'Invalid option: expected one of "text"|"image" at "params.messages[0].content[0].type"',
    ),
    (
        "tool_call_input_string",
        lambda: with_params(
            messages=[
                user("hi"),
                {
                    "role": "assistant",
                    "content": [{"type": "tool-call", "toolCallId": "c", "toolName": "f", "input": '{"a":1}'}],
                },
            ]
        ),
        400,
        "BAD_REQUEST",
        'Invalid input: expected object, received string at "params.messages[1].content[0].input"',
    ),
    (
        "tool_result_output_type",
        lambda: with_params(
            messages=[
                user("hi"),
                TOOL_CALL_MESSAGE,
                {
                    "role": "tool",
                    "content": [
                        {"type": "tool-result", "toolCallId": "call_1", "toolName": "f", "output": {"type": "x"}}
                    ],
                },
            ]
        ),
        400,
        "BAD_REQUEST",
        'Invalid option: expected one of "text"|"error-text"|"json" at "params.messages[2].content[0].output.type"',
    ),
    (
        "image_not_data_url",
        lambda: with_params(
            model=CACHE_WRITE_MODEL,
            messages=[{"role": "user", "content": [{"type": "image", "image": "https://x/y.png", "mimeType": "a"}]}],
        ),
        400,
        "BAD_REQUEST",
        'Invalid input: expected a base64 data URL at "params.messages[0].content[0].image"',
    ),
    (
        "image_to_text_model",
        lambda: with_params(
            messages=[{"role": "user", "content": [{"type": "image", "image": PNG_DATA_URL, "mimeType": "image/png"}]}]
        ),
        400,
        "BAD_REQUEST",
        f"Model {REASONING_MODEL} does not support image input",
    ),
]


@pytest.mark.parametrize(
    ("case", "build", "status", "code", "detail"), BODY_CASES, ids=[case[0] for case in BODY_CASES]
)
def test_invalid_body_is_rejected(
    client: httpx.Client, case: str, build: Callable[[], object], status: int, code: str, detail: str
) -> None:
    message = detail if status == 403 else HINT + detail
    assert_error(generate(client, build()), status, code, message)


def test_session_header_must_equal_thread_id(client: httpx.Client) -> None:
    response = generate(client, make_body(), make_headers(thread=OTHER_THREAD_ID))
    assert_error(response, 400, "BAD_REQUEST", HINT + 'x-session-id header must equal "threadId"')


@pytest.mark.parametrize(
    "messages",
    [
        [user("hi"), TOOL_RESULT_MESSAGE],
        [TOOL_RESULT_MESSAGE],
        [user("hi"), TOOL_CALL_MESSAGE, user("wait"), TOOL_RESULT_MESSAGE],
        [user("hi"), {**TOOL_CALL_MESSAGE, "content": [{**TOOL_CALL_MESSAGE["content"][0], "toolCallId": "other"}]}]
        + [TOOL_RESULT_MESSAGE],
    ],
    ids=["no_call", "first_message", "call_not_immediately_before", "different_id"],
)
def test_orphan_tool_result_is_rejected(client: httpx.Client, messages: list[object]) -> None:
    response = generate(client, make_body(messages=messages))
    assert_error(response, 400, "BAD_REQUEST", TOOL_ORPHAN_MESSAGE)


def test_valid_shapes_are_accepted(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "plain string content"},
        {"role": "assistant", "content": [{"type": "reasoning", "text": "hm"}, {"type": "text", "text": "ok"}]},
        user("next"),
    ]
    system = [{"type": "text", "text": "You are helpful."}]
    assert generate(client, make_body(messages=messages, system=system, max_tokens=200000)).status_code == 200
    image = {"role": "user", "content": [{"type": "image", "image": PNG_DATA_URL, "mimeType": "image/png"}]}
    assert generate(client, make_body(model=CACHE_WRITE_MODEL, messages=[image])).status_code == 200
    assert generate(client, make_body(model=HIDDEN_MODEL)).status_code == 200


def test_models_endpoint_lists_visible_catalog_models(client: httpx.Client) -> None:
    response = client.get("/provider/v1/models")
    visible = [model for model in load_catalog().values() if not model.hidden]
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "list"
    assert len(payload["data"]) == len(visible)
    assert payload["data"][0] == {"id": "claude-sonnet-5", "name": "Claude Sonnet 5", "context_length": 1000000}
    assert HIDDEN_MODEL not in {entry["id"] for entry in payload["data"]}


def test_happy_path_event_sequence_for_reasoning_model(client: httpx.Client) -> None:
    body = make_body("hello there")
    response = generate(client, body)
    events = parse_events(response.text)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    assert types_of(events) == [
        "start",
        "start-step",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        *["text-delta"] * 5,
        "text-end",
        "finish-step",
        "finish",
        "provider-metadata",
    ]
    assert events[1]["request"] == {"body": body["params"]}
    assert joined(events, "reasoning-delta") == "The user wrote 2 words. I will answer briefly."
    assert joined(events, "text-delta") == f"You said: hello there\n{SUFFIX}"
    assert [event["text"] for event in events if event["type"] == "text-delta"][:2] == [
        "You said: hello ",
        "there\nThis is ",
    ]
    assert not any(line.startswith("data:") for line in response.text.splitlines())


def test_happy_path_usage_and_cost_arithmetic(client: httpx.Client) -> None:
    history = [user("first question " * 40), {"role": "assistant", "content": "first answer " * 40}]
    body = make_body(messages=[*history, user("second question")])
    params = body["params"]
    assert isinstance(params, dict)
    events = parse_events(generate(client, body).text)
    finish = only(events, "finish")
    usage = finish["totalUsage"]
    text = f"You said: second question\n{SUFFIX}"
    reasoning = "The user wrote 2 words. I will answer briefly."
    prompt = {"system": params["system"], "messages": params["messages"], "tools": []}
    input_tokens = tokens(canonical(prompt))
    cache_read = tokens(canonical(history)) // 64 * 64
    assert cache_read == 256
    assert usage == {
        "inputTokens": input_tokens,
        "inputTokenDetails": {"noCacheTokens": input_tokens - cache_read, "cacheReadTokens": cache_read},
        "outputTokens": tokens(text) + tokens(reasoning),
        "outputTokenDetails": {"textTokens": tokens(text), "reasoningTokens": tokens(reasoning)},
        "totalTokens": input_tokens + tokens(text) + tokens(reasoning),
        "reasoningTokens": tokens(reasoning),
        "cachedInputTokens": cache_read,
    }
    assert (
        usage["inputTokens"]
        == usage["inputTokenDetails"]["noCacheTokens"] + usage["inputTokenDetails"]["cacheReadTokens"]
    )
    assert only(events, "finish-step")["usage"] == usage
    prices = load_catalog()[REASONING_MODEL].prices
    expected_cost = (
        (input_tokens - cache_read) * Decimal(str(prices["input"]))
        + cache_read * Decimal(str(prices["cache_read"]))
        + usage["outputTokens"] * Decimal(str(prices["output"]))
    ) / 1_000_000
    cost = only(events, "provider-metadata")["providerMetadata"]["gateway"]["cost"]
    assert Decimal(cost) == expected_cost
    assert types_of(events)[-2:] == ["finish", "provider-metadata"]


def test_model_with_cache_write_price_reports_cache_write_and_no_reasoning(client: httpx.Client) -> None:
    events = parse_events(generate(client, make_body(model=CACHE_WRITE_MODEL)).text)
    usage = only(events, "finish")["totalUsage"]
    assert "reasoning-start" not in types_of(events)
    assert usage["inputTokenDetails"] == {
        "noCacheTokens": usage["inputTokens"],
        "cacheReadTokens": 0,
        "cacheWriteTokens": 0,
    }
    assert usage["reasoningTokens"] == 0
    assert only(events, "finish-step")["response"] == {
        "id": expected_answer(make_body(model=CACHE_WRITE_MODEL))["response_id"],
        "modelId": CACHE_WRITE_MODEL,
    }


def test_expected_answer_matches_the_stream(client: httpx.Client) -> None:
    body = make_body("what is up")
    events = parse_events(generate(client, body).text)
    answer = expected_answer(body)
    assert answer["text"] == joined(events, "text-delta")
    assert answer["reasoning"] == joined(events, "reasoning-delta")
    assert answer["tool_calls"] == []
    assert answer["finish_reason"] == only(events, "finish")["finishReason"] == "stop"
    assert answer["raw_finish_reason"] == "stop"
    assert answer["usage"] == only(events, "finish")["totalUsage"]
    assert answer["cost"] == only(events, "provider-metadata")["providerMetadata"]["gateway"]["cost"]


def test_same_request_gives_same_bytes_regardless_of_thread_and_date(client: httpx.Client) -> None:
    first = generate(client, make_body("repeat me"))
    other = {**make_body("repeat me"), "threadId": OTHER_THREAD_ID, "config": {"date": "2030-01-01"}}
    second = generate(client, other, make_headers(thread=OTHER_THREAD_ID))
    different = generate(client, make_body("something else"))
    assert first.content == second.content
    assert first.content != different.content


def test_tools_with_last_user_message_produce_a_tool_call(client: httpx.Client) -> None:
    body = make_body("weather in Paris?", tools=[WEATHER_TOOL])
    events = parse_events(generate(client, body).text)
    call = only(events, "tool-call")
    assert call["toolName"] == "get_weather"
    assert call["input"] == {"city": "Paris", "unit": "celsius", "days": 1}
    assert str(call["toolCallId"]).startswith("call_")
    assert "text-delta" not in types_of(events)
    assert only(events, "finish")["finishReason"] == "tool-calls"
    assert only(events, "finish")["rawFinishReason"] == "tool_calls"
    assert expected_answer(body)["tool_calls"] == [
        {"id": call["toolCallId"], "name": "get_weather", "input": {"city": "Paris", "unit": "celsius", "days": 1}}
    ]


def test_tool_result_is_quoted_in_the_answer(client: httpx.Client) -> None:
    messages = [user("weather in Paris?"), TOOL_CALL_MESSAGE, TOOL_RESULT_MESSAGE]
    events = parse_events(generate(client, make_body(messages=messages, tools=[WEATHER_TOOL])).text)
    assert joined(events, "text-delta") == "The tool returned: 18C."
    assert only(events, "finish")["finishReason"] == "stop"


def test_marker_beats_header_beats_key_beats_default(server: FakeCommandCodeServer, client: httpx.Client) -> None:
    server.set_key_scenario("user_keyed", "http_502")
    keyed = make_headers(key="user_keyed")
    assert generate(client, make_body(), keyed).status_code == 502
    assert generate(client, make_body(), keyed, scenario="http_500").status_code == 500
    assert generate(client, make_body("[[fake:http_503]] hi"), keyed, scenario="http_500").status_code == 503
    assert generate(client, make_body()).status_code == 200
    assert [(record.scenario, record.status) for record in server.requests] == [
        ("http_502", 502),
        ("http_500", 500),
        ("http_503", 503),
        ("ok", 200),
    ]


def test_marker_in_an_earlier_user_message_still_applies(client: httpx.Client) -> None:
    messages = [user("[[fake:http_401]] weather?"), TOOL_CALL_MESSAGE, TOOL_RESULT_MESSAGE]
    assert generate(client, make_body(messages=messages)).status_code == 401


def test_validation_comes_before_the_scenario(client: httpx.Client) -> None:
    response = generate(client, make_body("[[fake:http_503]]", stream=False))
    assert response.status_code == 400


def test_unknown_scenario_or_parameter_is_a_400(server: FakeCommandCodeServer, client: httpx.Client) -> None:
    assert_error(
        generate(client, make_body(), scenario="nope"), 400, "FAKE_BAD_SCENARIO", "Unknown fake scenario: nope"
    )
    response = generate(client, make_body(), scenario="slow delay=5")
    assert_error(response, 400, "FAKE_BAD_SCENARIO", "Unknown parameters for slow: delay")
    with pytest.raises(ValueError, match="Unknown fake scenario: nope"):
        server.set_key_scenario("user_x", "nope")


HTTP_SCENARIOS: Final = [
    (
        "http_400",
        400,
        "BAD_REQUEST",
        HINT + 'Invalid input: expected string, received undefined at "params.messages[0].content"',
    ),
    (
        "http_400_credits",
        400,
        "BAD_REQUEST",
        f"You have insufficient credits to use {REASONING_MODEL}. Add credits at https://commandcode.ai/settings/billing.",
    ),
    ("http_400_proxy", 400, "BAD_REQUEST", "Proxy use detected. This endpoint only serves CLI."),
    ("http_400_context", 400, "BAD_REQUEST", "prompt is too long: 250000 tokens > 200000 maximum"),
    ("http_401", 401, "UNAUTHORIZED", "Invalid 'Authorization' header or token."),
    ("http_403_plan", 403, "FORBIDDEN", f"MODEL_NOT_IN_PLAN: {REASONING_MODEL} is not included in your current plan."),
    ("http_403_model", 403, "FORBIDDEN", f"Model/provider not recognized: {REASONING_MODEL}"),
    (
        "http_403_upgrade",
        403,
        "upgrade_required",
        "upgrade_required: Command Code version 1.64.0 is no longer supported; the minimum is 1.65.0. "
        "Run `npm i -g command-code@latest` to upgrade.",
    ),
    ("http_500", 500, "INTERNAL_SERVER_ERROR", "Internal server error."),
    ("http_502", 502, "BAD_GATEWAY", "Bad gateway: the model provider returned an invalid response."),
    ("http_503", 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable."),
]


@pytest.mark.parametrize(("scenario", "status", "code", "message"), HTTP_SCENARIOS, ids=[c[0] for c in HTTP_SCENARIOS])
def test_http_error_scenarios_use_the_real_envelope(
    client: httpx.Client, scenario: str, status: int, code: str, message: str
) -> None:
    assert_error(generate(client, make_body(), scenario=scenario), status, code, message)


def test_http_429_carries_the_rate_limit_window(client: httpx.Client) -> None:
    before = int(time.time())
    response = generate(client, make_body(), scenario="http_429 reset_in=60 window=weekly retry_after=7")
    error = response.json()["error"]
    assert response.status_code == 429
    assert error["code"] == "RATE_LIMITED"
    assert error["rateLimit"]["window"] == "weekly"
    assert before + 60 <= error["rateLimit"]["reset"] <= int(time.time()) + 60
    assert response.headers["retry-after"] == "7"
    default = generate(client, make_body(), scenario="http_429").json()["error"]["rateLimit"]
    assert default["window"] == "fiveHour"
    assert before + 3600 <= default["reset"] <= int(time.time()) + 3600


def test_http_non_json_answers_plain_text(client: httpx.Client) -> None:
    response = generate(client, make_body(), scenario="http_non_json")
    assert (response.status_code, response.headers["content-type"], response.text) == (
        502,
        "text/plain",
        "upstream connect error",
    )
    assert generate(client, make_body(), scenario="http_non_json status=504").status_code == 504


def test_stream_error_before_content(client: httpx.Client) -> None:
    events = parse_events(generate(client, make_body(), scenario="stream_error_before").text)
    assert types_of(events) == ["start", "start-step", "error"]
    assert events[2]["error"] == {
        "type": "server_error",
        "message": "Service temporarily unavailable.",
        "statusCode": 503,
        "isRetryable": True,
    }
    custom = parse_events(generate(client, make_body(), scenario="stream_error_before status=402").text)
    assert custom[-1]["error"] == {
        "type": "invalid_request_error",
        "message": "Insufficient Balance",
        "statusCode": 402,
        "isRetryable": False,
    }


def test_stream_error_after_some_text(client: httpx.Client) -> None:
    response = generate(client, make_body("hi"), scenario="stream_error_after status=500 message=Boom%20now")
    events = parse_events(response.text)
    assert response.status_code == 200
    assert joined(events, "text-delta") == PARTIAL_TEXT
    assert events[-1] == {
        "type": "error",
        "error": {"type": "server_error", "message": "Boom now", "statusCode": 500, "isRetryable": True},
    }
    assert "finish" not in types_of(events)


def test_stream_error_variants(client: httpx.Client) -> None:
    string_error = parse_events(generate(client, make_body(), scenario="stream_error_string").text)[-1]
    embedded = parse_events(generate(client, make_body(), scenario="stream_error_embedded").text)[-1]
    context = parse_events(generate(client, make_body(), scenario="stream_context").text)[-1]
    assert string_error == {"type": "error", "error": "Network connection lost."}
    assert embedded == {
        "type": "error",
        "error": {"type": "server_error", "message": '429 {"error":{"message":"Rate limit exceeded"}}'},
    }
    assert context["error"] == {
        "type": "invalid_request_error",
        "message": "prompt is too long: 250000 tokens > 200000 maximum",
        "statusCode": 400,
        "isRetryable": False,
    }


def test_truncate_ends_the_body_without_finish(client: httpx.Client) -> None:
    events = parse_events(generate(client, make_body("hi"), scenario="truncate").text)
    assert events[-1] == {"type": "text-delta", "id": "txt-0", "text": "This is a "}
    assert joined(events, "text-delta") == PARTIAL_TEXT
    assert not {"finish", "abort", "error"} & set(types_of(events))


def test_reset_aborts_the_connection_mid_stream(server: FakeCommandCodeServer, client: httpx.Client) -> None:
    received: list[str] = []
    with (
        pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)),
        client.stream(
            "POST", "/alpha/generate", json=make_body("hi"), headers=make_headers(**{"x-fake-scenario": "reset"})
        ) as response,
    ):
        received.extend(response.iter_lines())
    assert joined(parse_events("\n".join(received)), "text-delta") == PARTIAL_TEXT
    assert generate(client, make_body()).status_code == 200
    assert server.requests[0].finished is False
    assert server.disconnects == 0


def test_garbage_hides_a_valid_answer(client: httpx.Client) -> None:
    body = make_body("hello there")
    response = generate(client, body, scenario="garbage")
    lines = response.text.split("\n")
    events = parse_events(response.text)
    assert len(response.content) > 1_000_000
    assert "" in lines
    assert "not json at all" in lines
    assert any(line.startswith("data: {") for line in lines)
    assert "mystery-event" in types_of(events)
    assert joined(events, "text-delta") == expected_answer(body)["text"]
    assert only(events, "finish")["totalUsage"] == expected_answer(body)["usage"]


def test_abort_ends_with_an_abort_event(client: httpx.Client) -> None:
    events = parse_events(generate(client, make_body("hi"), scenario="abort").text)
    assert events[-1] == {"type": "abort"}
    assert joined(events, "text-delta") == PARTIAL_TEXT


@pytest.mark.parametrize(
    ("scenario", "finish", "raw"),
    [("length", "length", "length"), ("content_filter", "content-filter", "content_filter")],
)
def test_finish_reason_scenarios(client: httpx.Client, scenario: str, finish: str, raw: str) -> None:
    events = parse_events(generate(client, make_body("hi", tools=[WEATHER_TOOL]), scenario=scenario).text)
    assert (only(events, "finish")["finishReason"], only(events, "finish")["rawFinishReason"]) == (finish, raw)
    assert only(events, "finish-step")["finishReason"] == finish
    assert joined(events, "text-delta") == f"You said: hi\n{SUFFIX}"


def test_empty_answer_has_no_output(client: httpx.Client) -> None:
    events = parse_events(generate(client, make_body(), scenario="empty").text)
    assert types_of(events) == ["start", "finish-step", "finish", "provider-metadata"]
    usage = only(events, "finish")["totalUsage"]
    assert (usage["outputTokens"], usage["totalTokens"]) == (0, usage["inputTokens"])


def test_reasoning_only_answer_has_no_text(client: httpx.Client) -> None:
    events = parse_events(generate(client, make_body("a b c", model=CACHE_WRITE_MODEL), scenario="reasoning_only").text)
    assert "text-delta" not in types_of(events)
    assert joined(events, "reasoning-delta") == "The user wrote 3 words. I will answer briefly."
    usage = only(events, "finish")["totalUsage"]
    assert usage["outputTokens"] == usage["reasoningTokens"] == 12


def test_multi_step_total_usage_is_the_sum_of_steps(client: httpx.Client) -> None:
    body = make_body("search this")
    events = parse_events(generate(client, body, scenario="multi_step").text)
    steps = [event for event in events if event["type"] == "finish-step"]
    total = only(events, "finish")["totalUsage"]
    assert types_of(events).count("start-step") == 2
    assert only(events, "tool-call")["providerExecuted"] is True
    assert only(events, "tool-result")["toolCallId"] == only(events, "tool-call")["toolCallId"]
    assert [step["finishReason"] for step in steps] == ["tool-calls", "stop"]
    assert total["inputTokens"] == steps[0]["usage"]["inputTokens"] + steps[1]["usage"]["inputTokens"]
    assert total["outputTokens"] == steps[0]["usage"]["outputTokens"] + steps[1]["usage"]["outputTokens"]
    assert total not in (steps[0]["usage"], steps[1]["usage"])
    assert steps[1]["usage"]["inputTokenDetails"]["cacheReadTokens"] == steps[0]["usage"]["inputTokens"] // 64 * 64
    assert joined(events, "text-delta") == expected_answer(body)["text"]


def test_slow_spaces_events_out(client: httpx.Client) -> None:
    started = time.monotonic()
    events = parse_events(generate(client, make_body(model=CACHE_WRITE_MODEL), scenario="slow delay_ms=20").text)
    assert time.monotonic() - started >= 0.02 * (len(events) - 1)
    assert types_of(events)[-1] == "provider-metadata"


def test_stall_first_delays_the_headers(client: httpx.Client) -> None:
    started = time.monotonic()
    response = generate(client, make_body(), scenario="stall_first seconds=0.3")
    assert time.monotonic() - started >= 0.3
    assert types_of(parse_events(response.text))[-1] == "provider-metadata"


def test_stall_first_is_cancelled_when_the_client_times_out(server: FakeCommandCodeServer) -> None:
    with httpx.Client(base_url=server.url, timeout=0.2) as http, pytest.raises(httpx.ReadTimeout):
        generate(http, make_body(), scenario="stall_first seconds=100")
    assert wait_until(lambda: server.disconnects == 1, 2.0)
    assert server.requests[0].disconnected is True


def test_stall_mid_pauses_after_some_text(server: FakeCommandCodeServer) -> None:
    lines: list[str] = []
    with httpx.Client(base_url=server.url, timeout=0.3) as http:
        headers = make_headers(**{"x-fake-scenario": "stall_mid seconds=5"})
        stream = http.stream("POST", "/alpha/generate", json=make_body("hi"), headers=headers)
        with pytest.raises(httpx.ReadTimeout), stream as response:
            lines.extend(response.iter_lines())
    assert joined(parse_events("\n".join(lines)), "text-delta") == PARTIAL_TEXT


def test_long_stream_is_fast_and_complete(client: httpx.Client) -> None:
    started = time.monotonic()
    response = generate(client, make_body(), scenario="long events=20000 burst=100")
    events = parse_events(response.text)
    assert time.monotonic() - started < 3.0
    assert types_of(events).count("text-delta") == 20000
    assert joined(events, "text-delta") == "x" * 20000
    assert only(events, "finish")["totalUsage"]["outputTokens"] == 5000
    sized = parse_events(generate(client, make_body(), scenario="long events=3 size=5 burst=2").text)
    assert joined(sized, "text-delta") == "x" * 15


def raw_exchange(url: str, request: bytes, timeout: float = 5.0) -> bytes:
    parts = urlsplit(url)
    received = bytearray()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        for _ in range(100_000):
            data = sock.recv(65536)
            if not data:
                break
            received += data
    return bytes(received)


def raw_request(body: object, headers: dict[str, str]) -> bytes:
    payload = json.dumps(body).encode()
    lines = [
        "POST /alpha/generate HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def chunks_of(response: bytes) -> list[bytes]:
    rest = response.split(b"\r\n\r\n", 1)[1]
    chunks: list[bytes] = []
    for _ in range(100_000):
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        rest = rest[size + 2 :]
    raise AssertionError("too many chunks")


def test_unicode_survives_split_writes(server: FakeCommandCodeServer) -> None:
    request = raw_request(make_body(), make_headers(**{"x-fake-scenario": "unicode"}))
    response = raw_exchange(server.url, request)
    chunks = chunks_of(response)
    split_chunks = [chunk for chunk in chunks if not chunk.endswith(b"\n")]
    assert len(split_chunks) == 1
    with pytest.raises(UnicodeDecodeError):
        split_chunks[0].decode("utf-8")
    payload = b"".join(chunks)
    assert "\u2028".encode() in payload
    text = joined(parse_events(payload.decode("utf-8")), "text-delta")
    assert text == "Emoji 👋🌍, CJK 你好，世界, combining e\u0301 and n\u0303, separator\u2028inside, " + (
        "family 👨\u200d👩\u200d👧, split 🎉 done."
    )


def test_unicode_deltas_cut_grapheme_clusters_and_a_surrogate_pair_between_events(
    server: FakeCommandCodeServer,
) -> None:
    response = raw_exchange(server.url, raw_request(make_body(), make_headers(**{"x-fake-scenario": "unicode_deltas"})))
    payload = b"".join(chunks_of(response))
    events = parse_events(payload.decode("utf-8"))
    deltas = [event["text"] for event in events if event["type"] == "text-delta"]
    assert b'party \\ud83c"}\n' in payload
    assert b'{"type":"text-delta","id":"txt-0","text":"\\udf89, Hebrew' in payload
    assert deltas == [
        "Family 👨\u200d",
        "👩\u200d👧, cafe",
        "\u0301, party \ud83c",
        "\udf89, Hebrew שלו",
        "ם עולם, Arabic مرحبا",
        " بالعالم.",
    ]
    text = "".join(str(delta) for delta in deltas).encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    assert text == "Family 👨\u200d👩\u200d👧, cafe\u0301, party 🎉, Hebrew שלום עולם, Arabic مرحبا بالعالم."
    assert only(events, "finish")["totalUsage"]["outputTokens"] == tokens(text)


@pytest.mark.parametrize(
    ("scenario", "burst", "events", "writes"), [("ok", 100, 17, 1), ("ok", 4, 17, 5), ("reasoning_only", 3, 10, 4)]
)
def test_burst_sends_several_events_per_network_write_with_the_same_bytes(
    server: FakeCommandCodeServer, scenario: str, burst: int, events: int, writes: int
) -> None:
    body = make_body("hello there")
    one_by_one = chunks_of(raw_exchange(server.url, raw_request(body, make_headers(**{"x-fake-scenario": scenario}))))
    spec = f"{scenario} burst={burst}"
    bursts = chunks_of(raw_exchange(server.url, raw_request(body, make_headers(**{"x-fake-scenario": spec}))))
    assert len(one_by_one) == events
    assert [chunk.count(b"\n") for chunk in bursts] == [burst] * (writes - 1) + [events - burst * (writes - 1)]
    assert b"".join(bursts) == b"".join(one_by_one)


def test_connection_close_is_honoured(server: FakeCommandCodeServer) -> None:
    response = raw_exchange(server.url, raw_request(make_body(), make_headers()))
    assert b"\r\nConnection: close\r\n" in response.split(b"\r\n\r\n", 1)[0]
    assert response.endswith(b"0\r\n\r\n")


def test_keep_alive_reuses_one_connection(server: FakeCommandCodeServer, client: httpx.Client) -> None:
    assert generate(client, make_body()).status_code == 200
    assert generate(client, make_body(), scenario="http_503").status_code == 503
    assert generate(client, make_body(), scenario="long events=10").status_code == 200
    connections = {record.connection for record in server.requests}
    assert len(server.requests) == 3
    assert len(connections) == 1


def test_chunked_request_body_is_read(client: httpx.Client) -> None:
    payload = json.dumps(make_body("chunked")).encode()
    response = client.post("/alpha/generate", content=iter([payload[:50], payload[50:]]), headers=make_headers())
    assert joined(parse_events(response.text), "text-delta") == f"You said: chunked\n{SUFFIX}"


def test_client_leaving_a_slow_stream_is_detected(server: FakeCommandCodeServer, client: httpx.Client) -> None:
    with client.stream(
        "POST", "/alpha/generate", json=make_body(), headers=make_headers(**{"x-fake-scenario": "slow delay_ms=300"})
    ) as response:
        first = next(response.iter_lines())
    assert json.loads(first) == {"type": "start"}
    assert wait_until(lambda: server.disconnects == 1, 2.0)
    record = server.requests[0]
    assert (record.status, record.scenario, record.disconnected, record.finished) == (200, "slow", True, False)


def test_request_records_keep_headers_and_body(server: FakeCommandCodeServer, client: httpx.Client) -> None:
    body = make_body()
    generate(client, body, scenario="http_503 retry_after=2")
    record = server.requests[0]
    assert record.body == body
    assert record.headers["x-session-id"] == THREAD_ID
    assert record.headers["authorization"] == "Bearer user_test"
    assert (record.status, record.scenario, record.scenario_params) == (503, "http_503", {"retry_after": "2"})
    broken = client.post("/alpha/generate", content=b"nope", headers=make_headers())
    assert broken.status_code == 400
    assert server.requests[1].body is None


def test_http_config_and_requests_endpoints(server: FakeCommandCodeServer, client: httpx.Client) -> None:
    configured = client.post("/_fake/config", json={"keys": {"user_a": "http_503"}})
    assert configured.json() == {"ok": True, "keys": {"user_a": "http_503"}, "default": "ok"}
    assert generate(client, make_body(), make_headers(key="user_a")).status_code == 503
    assert generate(client, make_body(), make_headers(key="user_b")).status_code == 200
    summary = client.get("/_fake/requests").json()
    assert [(item["status"], item["scenario"]) for item in summary["requests"]] == [(503, "http_503"), (200, "ok")]
    assert summary["disconnects"] == 0
    bad = client.post("/_fake/config", json={"keys": {"user_a": "nope"}})
    assert bad.status_code == 400
    assert client.post("/_fake/config", json={"default": "http_500"}).json()["default"] == "http_500"
    assert generate(client, make_body(), make_headers(key="user_b")).status_code == 500
    assert client.post("/_fake/reset").json() == {"ok": True}
    assert client.get("/_fake/requests").json() == {"requests": [], "disconnects": 0}
    assert generate(client, make_body(), make_headers(key="user_a")).status_code == 200
    assert client.get("/nowhere").status_code == 404


def test_constructor_options(server: FakeCommandCodeServer) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeCommandCodeServer(host="0.0.0.0")
    fake = FakeCommandCodeServer(scenario="http_500", keys=["user_only"], min_version="2.0.0")
    with fake, httpx.Client(base_url=fake.url, timeout=5) as http:
        assert generate(http, make_body(), make_headers(key="user_other")).status_code == 401
        assert generate(http, make_body(), make_headers(key="user_only")).status_code == 403
        newer = {**make_headers(key="user_only"), "x-command-code-version": "2.0.1"}
        assert generate(http, make_body(), newer).status_code == 500
    assert "ok" in scenario_names()


def test_stop_cancels_a_stalled_answer() -> None:
    fake = FakeCommandCodeServer(scenario="stall_first seconds=100").start()
    errors: queue.Queue[BaseException | None] = queue.Queue()

    def call() -> None:
        try:
            with httpx.Client(base_url=fake.url, timeout=10) as http:
                generate(http, make_body())
            errors.put(None)
        except httpx.HTTPError as error:
            errors.put(error)

    worker = threading.Thread(target=call, daemon=True)
    try:
        worker.start()
        assert wait_until(lambda: len(fake.requests) == 1, 2.0)
    finally:
        started = time.monotonic()
        fake.stop()
    worker.join(5)
    assert time.monotonic() - started < 3.0
    assert isinstance(errors.get(timeout=1), httpx.HTTPError)


def test_cli_usage_errors_exit_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--host", "0.0.0.0"])
    assert exit_info.value.code == 2
    assert "loopback" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--scenario", "nope"])


def read_line(process: subprocess.Popen[str], seconds: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    return lines.get(timeout=seconds)


def test_cli_prints_ready_line_and_serves_until_sigterm() -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "litellm_commandcode.fake_server", "--port", "0", "--keys", "user_cli,user_b"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = read_line(process, 20.0).rstrip("\n")
        match = READY_RE.match(ready)
        assert match is not None, ready
        url = f"http://127.0.0.1:{match.group(1)}"
        with httpx.Client(base_url=url, timeout=5) as http:
            assert http.post("/_fake/config", json={"keys": {"user_cli": "http_503"}}).status_code == 200
            assert generate(http, make_body(), make_headers(key="user_cli")).status_code == 503
            assert generate(http, make_body(), make_headers(key="user_b")).status_code == 200
            assert generate(http, make_body(), make_headers(key="user_c")).status_code == 401
            summary = http.get("/_fake/requests").json()
        assert [item["status"] for item in summary["requests"]] == [503, 200, 401]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


AGENT_TOOLS: Final = [
    {"name": "Task", "input_schema": {"type": "object", "properties": {"prompt": {"type": "string"}}}},
    {
        "name": "Bash",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    },
    {
        "name": "Read",
        "input_schema": {
            "type": "object",
            "properties": {"file_path": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["file_path"],
        },
    },
]
CODEX_SHELL: Final = {
    "name": "shell",
    "input_schema": {
        "type": "object",
        "properties": {"command": {"type": "array", "items": {"type": "string"}}, "workdir": {"type": "string"}},
        "required": ["command"],
    },
}


def agent_call(client: httpx.Client, tools: list[object], marker: str) -> dict[str, object]:
    events = parse_events(generate(client, make_body(f"{marker} read it", tools=tools)).text)
    return only(events, "tool-call")


def test_agent_scenario_calls_the_agents_read_tool_by_name_with_the_path(client: httpx.Client) -> None:
    call = agent_call(client, list(AGENT_TOOLS), "[[fake:agent read=/work/notes.txt]]")
    assert (call["toolName"], call["input"]) == ("Read", {"file_path": "/work/notes.txt"})


def test_agent_scenario_falls_back_to_the_shell_tool_string_or_argv(client: httpx.Client) -> None:
    call = agent_call(client, list(AGENT_TOOLS[:2]), "[[fake:agent read=/w/n.txt]]")
    assert (call["toolName"], call["input"]) == ("Bash", {"command": "cat /w/n.txt"})
    call = agent_call(client, [CODEX_SHELL], "[[fake:agent read=/w/n.txt]]")
    assert (call["toolName"], call["input"]) == ("shell", {"command": ["bash", "-lc", "cat /w/n.txt"]})


def test_agent_scenario_answers_with_the_tool_result_then_with_its_reply_word(client: httpx.Client) -> None:
    call = {"type": "tool-call", "toolCallId": "call_9", "toolName": "Read", "input": {"file_path": "/n"}}
    result = {
        "type": "tool-result",
        "toolCallId": "call_9",
        "toolName": "Read",
        "output": {"type": "text", "value": "1\tsecret-42"},
    }
    messages = [
        user("[[fake:agent read=/n]] go"),
        {"role": "assistant", "content": [call]},
        {"role": "tool", "content": [result]},
    ]
    events = parse_events(generate(client, make_body(tools=list(AGENT_TOOLS), messages=messages)).text)
    assert joined(events, "text-delta") == "The file reads: 1\tsecret-42"
    assert only(events, "finish")["finishReason"] == "stop"
    events = parse_events(generate(client, make_body("[[fake:agent reply=w-7]] hi", tools=list(AGENT_TOOLS))).text)
    assert joined(events, "text-delta") == "The fake server says w-7."
    assert joined(events, "reasoning-delta") == "The user wrote 3 words. I will answer briefly."
    assert "tool-call" not in types_of(events)


def test_agent_scenario_without_a_read_or_shell_tool_answers_in_text(client: httpx.Client) -> None:
    events = parse_events(generate(client, make_body("[[fake:agent read=/n reply=t]] x", tools=[WEATHER_TOOL])).text)
    assert joined(events, "text-delta") == "The fake server says t."


def test_agent_scenario_fills_list_shaped_path_and_command_properties(client: httpx.Client) -> None:
    files = {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}}}}
    read_files = {"name": "read_files", "input_schema": {"type": "object", "properties": {"files": files}}}
    call = agent_call(client, [read_files], "[[fake:agent read=/w/n.txt]]")
    assert (call["toolName"], call["input"]) == ("read_files", {"files": [{"path": "/w/n.txt"}]})
    commands = {"type": "array", "items": {"type": "string"}}
    run = {"name": "run_commands", "input_schema": {"type": "object", "properties": {"commands": commands}}}
    call = agent_call(client, [run], "[[fake:agent read=/w/n.txt]]")
    assert (call["toolName"], call["input"]) == ("run_commands", {"commands": ["cat /w/n.txt"]})
