"""What only the Provider API route has: choosing it, its endpoints and envelopes on the fake's second door, a key
without Provider API access, and the default route's "Proxy use detected" pointing at it."""

import json
from typing import Final

import httpx
import pytest

import litellm
from litellm_commandcode.fake_server import FakeCommandCodeServer

MODEL: Final = "deepseek/deepseek-v4-flash"
CLAUDE: Final = "claude-sonnet-4-6"
KEY: Final = "user_provider_api_test"
CLI_ONLY_KEY: Final = "user_cli_only_test"
ANSWER: Final = "You said: hi\nThis is a deterministic answer from the fake Command Code server."
pytestmark = pytest.mark.usefixtures("plugin_registered", "fresh_server_default_route")


def kwargs(server: FakeCommandCodeServer, model: str = MODEL, text: str = "hi", **extra: object) -> dict[str, object]:
    return {
        "model": f"commandcode/{model}",
        "messages": [{"role": "user", "content": text}],
        "api_base": server.url,
        "api_key": KEY,
        **extra,
    }


@pytest.mark.parametrize(
    ("model", "path"), [(MODEL, "/provider/v1/chat/completions"), (CLAUDE, "/provider/v1/messages")]
)
def test_the_route_param_sends_openai_models_to_chat_completions_and_claude_to_messages(
    model: str, path: str, server: FakeCommandCodeServer
) -> None:
    response: Final = litellm.completion(**kwargs(server, model, commandcode_route="provider_api"))

    assert response.choices[0].message.content == ANSWER
    [record] = server.requests
    assert record.path == path
    assert isinstance(record.body, dict)
    assert record.body["model"] == model
    assert "commandcode_route" not in record.body
    assert record.headers["authorization"] == f"Bearer {KEY}"
    assert "x-command-code-version" not in record.headers


def test_the_environment_variable_chooses_the_route_and_the_param_overrides_it(
    server: FakeCommandCodeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMANDCODE_ROUTE", "provider_api")
    litellm.completion(**kwargs(server))
    litellm.completion(**kwargs(server, commandcode_route="generate"))

    assert [record.path for record in server.requests] == ["/provider/v1/chat/completions", "/alpha/generate"]


def test_an_unknown_route_is_a_400_naming_the_setting_and_nothing_is_sent(server: FakeCommandCodeServer) -> None:
    with pytest.raises(litellm.BadRequestError) as raised:
        litellm.completion(**kwargs(server, commandcode_route="openai"))

    assert "commandcode_route (or COMMANDCODE_ROUTE) must be one of generate, provider_api" in raised.value.message
    assert server.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_a_key_without_provider_api_access_gets_a_403_that_points_back_to_the_default_route(
    stream: bool, server: FakeCommandCodeServer
) -> None:
    call: Final = {**kwargs(server, commandcode_route="provider_api", stream=stream), "api_key": CLI_ONLY_KEY}
    with pytest.raises(litellm.PermissionDeniedError) as raised:
        litellm.completion(**call)

    assert raised.value.status_code == 403
    assert "upgrade_required" in raised.value.message
    assert "remove commandcode_route or set COMMANDCODE_ROUTE=generate" in raised.value.message
    generate: Final = litellm.completion(**{**call, "commandcode_route": "generate", "stream": False})
    assert generate.choices[0].message.content == ANSWER


def test_proxy_use_detected_names_the_setting_that_switches_to_the_provider_api(
    server: FakeCommandCodeServer,
) -> None:
    with pytest.raises(litellm.BadRequestError) as raised:
        litellm.completion(**kwargs(server, text="hi [[fake:http_400_proxy]]"))

    message: Final = raised.value.message
    assert "Proxy use detected. This endpoint only serves CLI." in message
    assert "commandcode_route: provider_api in litellm_params" in message
    assert "COMMANDCODE_ROUTE=provider_api in the environment" in message


@pytest.mark.parametrize("stream", [False, True])
def test_a_usage_window_429_on_the_provider_api_carries_retry_after(
    stream: bool, server: FakeCommandCodeServer
) -> None:
    with pytest.raises(litellm.RateLimitError) as raised:
        litellm.completion(
            **kwargs(server, text="hi [[fake:http_429 reset_in=90]]", commandcode_route="provider_api", stream=stream)
        )

    assert "Usage limit reached for the fiveHour window" in raised.value.message
    assert raised.value.headers is not None and 89 <= int(raised.value.headers["retry-after"]) <= 90


def test_a_history_with_unanswered_and_orphan_tool_calls_is_paired_before_it_is_sent(
    server: FakeCommandCodeServer,
) -> None:
    call: Final = {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages: Final = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "user", "content": "Never mind, say hi"},
        {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
    ]

    litellm.completion(**{**kwargs(server, commandcode_route="provider_api"), "messages": messages})

    [record] = server.requests
    assert record.status == 200
    assert isinstance(record.body, dict)
    assert [(m["role"], m.get("content")) for m in record.body["messages"]] == [
        ("user", "Weather?"),
        ("assistant", None),
        ("tool", "No result: the tool call did not complete."),
        ("user", "Never mind, say hi"),
        ("user", "Result of tool call call_a (get_weather):\n18C"),
    ]


def test_the_fake_door_refuses_a_model_sent_to_the_wrong_endpoint_in_each_envelope(
    server: FakeCommandCodeServer,
) -> None:
    auth: Final = {"authorization": f"Bearer {KEY}"}
    body: Final = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
    with httpx.Client(base_url=server.url, headers=auth, timeout=10) as http:
        chat = http.post("/provider/v1/chat/completions", json={**body, "model": CLAUDE})
        messages = http.post("/provider/v1/messages", json={**body, "model": MODEL})
        unknown = http.post("/provider/v1/chat/completions", json={**body, "model": "nope/nope"})
        models = http.get("/provider/v1/models")

    assert chat.status_code == messages.status_code == unknown.status_code == 400
    assert chat.json()["error"]["type"] == "invalid_request_error"
    assert "served by /provider/v1/messages" in chat.json()["error"]["message"]
    assert messages.json()["type"] == "error"
    assert messages.json()["error"]["type"] == "invalid_request_error"
    assert unknown.json()["error"]["code"] == "unsupported_model"
    assert models.status_code == 200
    assert MODEL in [entry["id"] for entry in models.json()["data"]]


def sse_data(text: str) -> list[dict[str, object]]:
    lines: Final = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]" or not lines[-1].startswith("[")
    return [json.loads(line) for line in lines if line != "[DONE]"]


def test_the_fake_chat_completions_stream_ends_with_a_finish_chunk_a_usage_chunk_and_done(
    server: FakeCommandCodeServer,
) -> None:
    body: Final = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {KEY}"}, timeout=10) as http:
        response = http.post("/provider/v1/chat/completions", json=body)

    assert response.headers["content-type"] == "text/event-stream"
    assert response.text.rstrip().endswith("data: [DONE]")
    chunks: Final = sse_data(response.text)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"  # type: ignore[index]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1]) == ANSWER  # type: ignore[index,union-attr]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"  # type: ignore[index]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0  # type: ignore[index]


def test_the_fake_messages_stream_has_anthropics_events_with_usage_in_message_delta(
    server: FakeCommandCodeServer,
) -> None:
    body: Final = {"model": CLAUDE, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.Client(base_url=server.url, headers={"x-api-key": KEY}, timeout=10) as http:
        response = http.post("/provider/v1/messages", json=body)

    events: Final = [line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-2:] == ["message_delta", "message_stop"]
    data: Final = sse_data(response.text)
    [delta] = [event for event in data if event["type"] == "message_delta"]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert set(delta["usage"]) == {  # type: ignore[arg-type]
        "input_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "output_tokens",
    }
    text: Final = "".join(
        str(event["delta"]["text"])  # type: ignore[index]
        for event in data
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta"  # type: ignore[index]
    )
    assert text == ANSWER
