import json
import time

import httpx
import pytest

from litellm.llms.commandcode.chat.provider_api_transformation import (
    CommandCodeProviderAPIChatConfig,
    CommandCodeProviderAPIMessagesConfig,
    provider_api_config,
    provider_api_error,
    provider_api_messages,
)
from litellm.llms.commandcode.common_utils import CommandCodeError

KEY = "user_test_key_123"
PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize(
    ("model", "config_class"),
    [
        ("deepseek/deepseek-v4-flash", CommandCodeProviderAPIChatConfig),
        ("commandcode/claude-sonnet-4-6", CommandCodeProviderAPIMessagesConfig),
        ("claude-haiku-4-5", CommandCodeProviderAPIMessagesConfig),
        ("gpt-5.5", CommandCodeProviderAPIChatConfig),
    ],
)
def test_claude_models_go_to_messages_and_every_other_model_to_chat_completions(model: str, config_class: type) -> None:
    assert type(provider_api_config(model)) is config_class


@pytest.mark.parametrize(
    ("api_base", "url"),
    [
        ("https://api.commandcode.ai", "https://api.commandcode.ai/provider/v1/chat/completions"),
        ("http://fake:1/", "http://fake:1/provider/v1/chat/completions"),
        ("http://fake:1/provider/v1", "http://fake:1/provider/v1/chat/completions"),
    ],
)
def test_the_chat_completions_url_is_the_provider_api_path_under_the_same_api_base(api_base: str, url: str) -> None:
    assert CommandCodeProviderAPIChatConfig().get_complete_url(api_base, KEY, "m", {}, {}) == url
    messages_url = CommandCodeProviderAPIMessagesConfig().get_complete_url(api_base, KEY, "m", {}, {})
    assert messages_url == url.replace("/chat/completions", "/messages")


def test_the_key_is_a_bearer_token_and_also_x_api_key_on_messages() -> None:
    chat = CommandCodeProviderAPIChatConfig().validate_environment({"X-Trace": "1"}, "m", [], {}, {}, api_key=KEY)
    messages = CommandCodeProviderAPIMessagesConfig().validate_environment({}, "claude-sonnet-4-6", [], {}, {}, KEY)

    assert chat == {"x-trace": "1", "content-type": "application/json", "authorization": f"Bearer {KEY}"}
    assert messages["authorization"] == f"Bearer {KEY}"
    assert messages["x-api-key"] == KEY
    assert messages["anthropic-version"] == "2023-06-01"
    assert "x-command-code-version" not in chat and "x-command-code-version" not in messages


def test_a_missing_key_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMMANDCODE_API_KEY", raising=False)
    monkeypatch.delenv("COMMAND_CODE_API_KEY", raising=False)

    with pytest.raises(CommandCodeError) as raised:
        CommandCodeProviderAPIChatConfig().validate_environment({}, "m", [], {}, {}, api_key=None)

    assert raised.value.status_code == 401


def test_the_chat_body_has_the_current_model_id_and_none_of_the_clients_own_parameters() -> None:
    body = CommandCodeProviderAPIChatConfig().transform_request(
        "claude-sonnet-4-5-20250929",
        [{"role": "user", "content": "hi"}],
        {"max_tokens": 10, "commandcode_route": "provider_api", "commandcode_version": "1.0.0"},
        {},
        {},
    )

    assert body == {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}


def test_the_messages_body_maps_tools_and_reasoning_effort_the_anthropic_way() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}

    body = CommandCodeProviderAPIMessagesConfig().transform_request(
        "claude-sonnet-4-6",
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        {"max_tokens": 4000, "tools": [tool], "reasoning_effort": "medium", "commandcode_route": "provider_api"},
        {},
        {},
    )

    assert body["model"] == "claude-sonnet-4-6"
    assert body["max_tokens"] == 4000
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}, "type": "custom"}]
    assert "reasoning_effort" not in body and "commandcode_route" not in body
    assert body.get("thinking") is not None or body.get("output_config") is not None


def test_tool_calls_and_results_are_paired_as_on_the_default_route() -> None:
    call = {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_z", "content": "orphan"},
        {"role": "user", "content": "next"},
    ]

    paired = provider_api_messages(messages, "deepseek/deepseek-v4-flash")  # type: ignore[arg-type]

    assert paired == [
        messages[0],
        messages[1],
        {"role": "tool", "tool_call_id": "call_a", "content": "No result: the tool call did not complete."},
        {"role": "user", "content": "Result of tool call call_z (unknown tool):\norphan"},
        messages[3],
    ]


def test_an_image_for_a_text_only_model_is_refused_before_anything_is_sent() -> None:
    content = [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": PNG}}]

    with pytest.raises(CommandCodeError) as raised:
        provider_api_messages([{"role": "user", "content": content}], "deepseek/deepseek-v4-flash")  # type: ignore[list-item]

    assert raised.value.status_code == 400
    assert "does not accept images" in raised.value.message
    assert provider_api_messages([{"role": "user", "content": content}], "claude-sonnet-4-6")[0]["content"] == content  # type: ignore[list-item]


def test_an_openai_envelope_429_with_a_reset_becomes_retry_after() -> None:
    reset = int(time.time()) + 120
    body = {"error": {"message": "Usage limit reached", "type": "rate_limit_error", "code": "RATE_LIMITED"}}
    body["error"]["rateLimit"] = {"window": "fiveHour", "reset": reset}  # type: ignore[index]

    error = provider_api_error(json.dumps(body), 429, httpx.Headers({}))

    assert error.status_code == 429
    assert error.message.startswith("RATE_LIMITED: Usage limit reached The fiveHour usage window of your plan")
    assert 119 <= int(error.headers["retry-after"]) <= 120  # type: ignore[index]


def test_a_retry_after_header_is_kept() -> None:
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}

    error = provider_api_error(json.dumps(body), 429, httpx.Headers({"Retry-After": "7"}))

    assert (error.status_code, error.message) == (429, "rate_limit_error: slow down")
    assert error.headers["retry-after"] == "7"  # type: ignore[index]


def test_upgrade_required_on_the_provider_api_points_back_to_the_default_route() -> None:
    body = {"error": {"message": "Needs the Pro plan.", "type": "invalid_request_error", "code": "upgrade_required"}}

    error = provider_api_error(json.dumps(body), 403, None)

    assert error.status_code == 403
    assert error.message == (
        "upgrade_required: Needs the Pro plan. Your Command Code plan has no Provider API access (it needs the Pro "
        "plan or higher, or the Provider plan); the default route (/alpha/generate) serves every plan: remove "
        "commandcode_route or set COMMANDCODE_ROUTE=generate."
    )


def test_a_body_that_is_not_json_keeps_its_status_and_text() -> None:
    error = provider_api_error("upstream connect error", 502, None)

    assert (error.status_code, error.message) == (502, "upstream connect error")
