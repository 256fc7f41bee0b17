import base64
import json
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone

import httpx
import pytest

import litellm
from litellm.exceptions import UnsupportedParamsError
from litellm.llms.commandcode.chat.params import effort_from_thinking, map_reasoning_effort, session_thread_id
from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig, ModelResponseIterator
from litellm.llms.commandcode.common_utils import CommandCodeError
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, HTTPHandler
from litellm.main import base_llm_http_handler
from litellm.types.utils import ModelResponse, ModelResponseStream

MODEL = "deepseek/deepseek-v4-flash"
KEY = "user_test_key_123"
THREAD = "6f1c0b9e-3a43-4c5e-9b1d-2f7f6f0c7a11"
PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PROTOCOL_USAGE = {
    "inputTokens": 16977,
    "inputTokenDetails": {"noCacheTokens": 11601, "cacheReadTokens": 5376, "cacheWriteTokens": 0},
    "outputTokens": 27,
    "outputTokenDetails": {"textTokens": 2, "reasoningTokens": 25},
    "totalTokens": 17004,
    "reasoningTokens": 25,
    "cachedInputTokens": 5376,
}
PROTOCOL_STREAM = [
    {"type": "start"},
    {"type": "start-step", "request": {"body": {"model": "x", "messages": ["large"]}}, "warnings": []},
    {"type": "reasoning-start", "id": "reasoning-0"},
    {"type": "reasoning-delta", "id": "reasoning-0", "text": "Let me think"},
    {"type": "reasoning-end", "id": "reasoning-0"},
    {"type": "text-start", "id": "txt-0"},
    {"type": "text-delta", "id": "txt-0", "text": "Hello"},
    {"type": "text-delta", "id": "txt-0", "text": " there"},
    {"type": "text-end", "id": "txt-0"},
    {
        "type": "finish-step",
        "finishReason": "stop",
        "rawFinishReason": "stop",
        "usage": {"inputTokens": 1, "outputTokens": 1},
        "providerMetadata": {},
        "response": {"id": "r1", "modelId": "deepseek-v4-flash"},
    },
    {"type": "finish", "finishReason": "stop", "rawFinishReason": "stop", "totalUsage": PROTOCOL_USAGE},
    {"type": "provider-metadata", "providerMetadata": {"gateway": {"cost": "0.0026"}}},
]


def ndjson(events: Sequence[object]) -> bytes:
    return b"".join(json.dumps(event).encode() + b"\n" for event in events)


def finish(reason: str = "stop", usage: dict | None = None) -> dict:
    return {"type": "finish", "finishReason": reason, "rawFinishReason": reason, "totalUsage": usage or PROTOCOL_USAGE}


def text_answer(*texts: str) -> list[dict]:
    return [{"type": "start"}, *({"type": "text-delta", "id": "t", "text": text} for text in texts), finish()]


def parse(items: Sequence[bytes | str]) -> list[ModelResponseStream]:
    return list(ModelResponseIterator(streaming_response=iter(items), sync_stream=True))


def assembled(items: Sequence[bytes | str]) -> dict:
    chunks = parse(items)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    calls = [
        (call.index, call.id, call.function.name, call.function.arguments)
        for c in chunks
        for call in c.choices[0].delta.tool_calls or ()
    ]
    finish_reasons = [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason]
    usages = [c.usage for c in chunks if getattr(c, "usage", None) is not None]
    return {"content": content, "reasoning": reasoning, "calls": calls, "finish": finish_reasons, "usages": usages}


def request_body(messages: list, model: str = MODEL, optional_params: dict | None = None) -> dict:
    config = CommandCodeChatConfig()
    headers = config.validate_environment({}, model, messages, optional_params or {}, {}, api_key=KEY)
    return config.transform_request(model, messages, optional_params or {}, {}, headers)


def wire_messages(messages: list, model: str = MODEL) -> list[dict]:
    return request_body(messages, model)["params"]["messages"]


def bad_request(call: Callable[[], object]) -> str:
    with pytest.raises(CommandCodeError) as error:
        call()
    assert error.value.status_code == 400
    return error.value.message


# --- credentials, URL, headers ----------------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("COMMANDCODE_API_KEY", "COMMAND_CODE_API_KEY", "COMMANDCODE_API_BASE", "COMMANDCODE_VERSION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def auth_header(api_key: str | None = None) -> str:
    headers = CommandCodeChatConfig().validate_environment({}, MODEL, [], {}, {}, api_key=api_key)
    return headers["authorization"]


def test_api_key_argument_wins_over_both_environment_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("COMMANDCODE_API_KEY", "user_env_a")
    clean_env.setenv("COMMAND_CODE_API_KEY", "user_env_b")
    assert auth_header("user_arg") == "Bearer user_arg"


def test_commandcode_api_key_wins_over_command_code_api_key(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("COMMANDCODE_API_KEY", "user_env_a")
    clean_env.setenv("COMMAND_CODE_API_KEY", "user_env_b")
    assert auth_header() == "Bearer user_env_a"


def test_command_code_api_key_is_the_last_fallback(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("COMMAND_CODE_API_KEY", "user_env_b")
    assert auth_header() == "Bearer user_env_b"


def test_missing_key_is_an_authentication_error_naming_both_variables(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(CommandCodeError) as error:
        auth_header()
    assert error.value.status_code == 401
    assert "COMMANDCODE_API_KEY" in error.value.message and "COMMAND_CODE_API_KEY" in error.value.message


@pytest.mark.parametrize(
    ("api_base", "env_base", "expected"),
    [
        (None, None, "https://api.commandcode.ai/alpha/generate"),
        ("http://127.0.0.1:9000", None, "http://127.0.0.1:9000/alpha/generate"),
        ("http://127.0.0.1:9000/", None, "http://127.0.0.1:9000/alpha/generate"),
        ("http://127.0.0.1:9000/alpha/generate", None, "http://127.0.0.1:9000/alpha/generate"),
        (None, "http://env.local:1/", "http://env.local:1/alpha/generate"),
        ("http://arg.local", "http://env.local:1", "http://arg.local/alpha/generate"),
    ],
)
def test_complete_url_appends_generate_path_exactly_once(
    clean_env: pytest.MonkeyPatch, api_base: str | None, env_base: str | None, expected: str
) -> None:
    if env_base:
        clean_env.setenv("COMMANDCODE_API_BASE", env_base)
    assert CommandCodeChatConfig().get_complete_url(api_base, KEY, MODEL, {}, {}) == expected


def test_headers_carry_bearer_json_version_and_session_id_equal_to_thread_id(clean_env: pytest.MonkeyPatch) -> None:
    config = CommandCodeChatConfig()
    messages = [{"role": "user", "content": "hi"}]
    headers = config.validate_environment({}, MODEL, messages, {}, {}, api_key=KEY)
    body = config.transform_request(MODEL, messages, {}, {}, headers)
    assert headers == {
        "authorization": f"Bearer {KEY}",
        "content-type": "application/json",
        "x-command-code-version": "1.64.0",
        "x-session-id": body["threadId"],
    }


def test_version_header_comes_from_call_then_environment_then_default(clean_env: pytest.MonkeyPatch) -> None:
    config = CommandCodeChatConfig()
    assert config.validate_environment({}, MODEL, [], {}, {}, KEY)["x-command-code-version"] == "1.64.0"
    clean_env.setenv("COMMANDCODE_VERSION", "1.70.0")
    assert config.validate_environment({}, MODEL, [], {}, {}, KEY)["x-command-code-version"] == "1.70.0"
    per_call = config.validate_environment({}, MODEL, [], {"commandcode_version": "1.80.1"}, {}, KEY)
    assert per_call["x-command-code-version"] == "1.80.1"


def test_caller_headers_are_merged_but_cannot_replace_the_key() -> None:
    headers = CommandCodeChatConfig().validate_environment(
        {"X-Trace": "abc", "Authorization": "Bearer other"}, MODEL, [], {}, {}, api_key=KEY
    )
    assert headers["x-trace"] == "abc"
    assert headers["authorization"] == f"Bearer {KEY}"


def test_client_does_not_imitate_the_official_cli_identity() -> None:
    headers = CommandCodeChatConfig().validate_environment({}, MODEL, [], {}, {}, api_key=KEY)
    assert {"user-agent", "x-cli-environment", "x-project-slug", "x-taste-learning", "traceparent"}.isdisjoint(headers)


# --- parameters -------------------------------------------------------------------------------------------------------


def map_params(params: dict, model: str = MODEL, drop_params: bool = False) -> dict:
    return CommandCodeChatConfig().map_openai_params(params, {}, model, drop_params)


def test_supported_params_are_what_the_wire_honours_plus_what_cannot_change_the_answer() -> None:
    assert CommandCodeChatConfig().get_supported_openai_params(MODEL) == [
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "reasoning_effort",
        "thinking",
        "tools",
        "tool_choice",
        "stream",
        "stream_options",
        "prompt_cache_key",
        "store",
        "prompt_cache_retention",
        "safety_identifier",
        "user",
        "metadata",
        "parallel_tool_calls",
        "service_tier",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "response_format",
    ]


@pytest.mark.parametrize(
    ("param", "neutral", "other"),
    [
        ("top_p", 1, 0.9),
        ("top_p", 1.0, 0),
        ("presence_penalty", 0, 0.5),
        ("frequency_penalty", 0.0, -1),
        ("logprobs", False, True),
        ("response_format", {"type": "text"}, {"type": "json_object"}),
    ],
)
def test_a_param_at_the_value_that_changes_nothing_is_accepted_and_any_other_value_is_unsupported(
    param: str, neutral: object, other: object
) -> None:
    assert map_params({param: neutral}) == {}
    with pytest.raises(UnsupportedParamsError) as error:
        map_params({param: other})
    assert error.value.status_code == 400
    assert f"commandcode cannot honour {param}=" in error.value.message and "drop_params" in error.value.message
    assert map_params({param: other}, drop_params=True) == {}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("store", True),
        ("store", False),
        ("prompt_cache_retention", "24h"),
        ("safety_identifier", "user-123"),
        ("user", "user-123"),
        ("metadata", {"session": "s1"}),
        ("parallel_tool_calls", True),
        ("parallel_tool_calls", False),
        ("service_tier", "priority"),
    ],
)
def test_params_without_effect_on_the_answer_are_accepted_and_never_sent(param: str, value: object) -> None:
    params = map_params({param: value})
    body = request_body([{"role": "user", "content": "hi"}], optional_params=params)
    assert params == {}
    assert set(body["params"]) == {"model", "messages", "tools", "system", "max_tokens", "stream"}


def test_bug2_prompt_cache_key_is_accepted_and_becomes_a_stable_uuid4_thread_id() -> None:
    params = map_params({"prompt_cache_key": "pi-session-42"})
    first = request_body([{"role": "user", "content": "hi"}], optional_params=params)
    second = request_body([{"role": "user", "content": "again"}], optional_params=params)
    other = request_body([{"role": "user", "content": "hi"}], optional_params=map_params({"prompt_cache_key": "x"}))
    assert params == {"prompt_cache_key": "pi-session-42"}
    assert first["threadId"] == second["threadId"] == session_thread_id("pi-session-42")
    assert first["threadId"] == "b56d68ec-238f-40d0-ab5a-0f7d1d5fe38e"  # the same in every process and release
    assert other["threadId"] != first["threadId"]
    assert "prompt_cache_key" not in first["params"]


def test_session_thread_id_has_the_v4_layout_and_keeps_a_key_that_already_has_it() -> None:
    derived = uuid.UUID(session_thread_id("019a4f2c-7d1e-7c3b-9a55-0c2b1d3e4f50"))  # a UUIDv7 (Codex) is hashed
    assert (derived.version, derived.variant) == (4, uuid.RFC_4122)
    assert session_thread_id(THREAD.upper()) == THREAD


def test_litellm_session_id_becomes_the_thread_id_when_there_is_no_prompt_cache_key() -> None:
    config = CommandCodeChatConfig()
    messages = [{"role": "user", "content": "hi"}]
    session = {"litellm_session_id": "claude-code-session-1"}
    headers = config.validate_environment({}, MODEL, messages, {}, session, api_key=KEY)
    keyed = config.validate_environment({}, MODEL, messages, {"prompt_cache_key": "k"}, session, api_key=KEY)
    assert headers["x-session-id"] == session_thread_id("claude-code-session-1")
    assert keyed["x-session-id"] == session_thread_id("k")
    assert config.transform_request(MODEL, messages, {}, session, headers)["threadId"] == headers["x-session-id"]


def test_an_explicit_thread_id_wins_over_the_session() -> None:
    body = request_body(
        [{"role": "user", "content": "hi"}], optional_params={"commandcode_thread_id": THREAD, "prompt_cache_key": "k"}
    )
    assert body["threadId"] == THREAD


@pytest.mark.parametrize(
    ("model", "params", "expected"),
    [
        (MODEL, {"max_tokens": 1000}, 1000),
        (MODEL, {"max_completion_tokens": 2000}, 2000),
        (MODEL, {"max_tokens": 150000}, 150000),
        (MODEL, {"max_tokens": 500000}, 200000),
        ("Qwen/Qwen3.8-27B", {"max_tokens": 50000}, 32768),
        ("z-ai/glm-5.3-flash", {"max_completion_tokens": 140000}, 131072),
        ("some/unknown-model", {"max_tokens": 300000}, 200000),
    ],
)
def test_max_tokens_is_clamped_to_the_explicit_cap_and_the_server_limit(
    model: str, params: dict, expected: int
) -> None:
    assert map_params(params, model) == {"max_tokens": expected}


@pytest.mark.parametrize(("model", "expected"), [(MODEL, 64000), ("Qwen/Qwen3.8-27B", 32768), ("x/unknown", 64000)])
def test_default_max_tokens_is_the_model_cap_else_64000(model: str, expected: int) -> None:
    assert request_body([{"role": "user", "content": "hi"}], model)["params"]["max_tokens"] == expected


@pytest.mark.parametrize("value", [0, -5, "10", 1.5, True])
def test_invalid_max_tokens_is_a_bad_request(value: object) -> None:
    bad_request(lambda: map_params({"max_tokens": value}))


@pytest.mark.parametrize("value", ["hot", None, True, [0.5]])
def test_temperature_that_is_not_a_number_is_a_bad_request(value: object) -> None:
    assert "temperature must be a number" in bad_request(lambda: map_params({"temperature": value}))


def test_temperature_is_passed_through() -> None:
    params = map_params({"temperature": 0.3})
    assert params == {"temperature": 0.3}
    body = request_body([{"role": "user", "content": "hi"}], optional_params=params)
    assert body["params"]["temperature"] == 0.3


@pytest.mark.parametrize(
    ("model", "effort", "expected"),
    [
        (MODEL, "high", "high"),
        (MODEL, "max", "max"),
        (MODEL, "low", "high"),
        (MODEL, "medium", "high"),
        (MODEL, "xhigh", "max"),
        ("deepseek/deepseek-v4-flash-fast", "medium", "high"),
        ("Qwen/Qwen3.8-Max", "high", "xhigh"),
        ("Qwen/Qwen3.8-Max", "max", "xhigh"),
        ("gpt-5.4-mini", "xhigh", "high"),
        ("sakana/fugu-ultra", "low", "high"),
        (MODEL, "none", None),
        (MODEL, "minimal", "high"),
        ("gpt-5.4-mini", "minimal", "low"),
        (MODEL, "ultra", "max"),
        ("gpt-5.4-mini", "ultra", "high"),
        ("Qwen/Qwen3.8-Max", "maximum", "xhigh"),
        ("claude-sonnet-4-6", "ultra", "max"),
        ("moonshotai/Kimi-K2.7-Code", "high", None),
        ("zai-org/GLM-5", "low", None),
        ("zai-org/GLM-5", "ultra", None),
        ("vendor/not-in-catalog", "medium", "medium"),
        ("vendor/not-in-catalog", "ultra", "max"),
        ("vendor/not-in-catalog", "minimal", "low"),
    ],
)
def test_reasoning_effort_maps_to_the_nearest_level_the_model_supports(
    model: str, effort: str, expected: str | None
) -> None:
    assert map_reasoning_effort(effort, model) == expected
    assert map_params({"reasoning_effort": effort}, model).get("reasoning_effort") == expected


def test_reasoning_effort_is_omitted_from_the_wire_when_the_model_has_no_levels() -> None:
    params = map_params({"reasoning_effort": "high"}, "zai-org/GLM-5")
    assert "reasoning_effort" not in request_body([{"role": "user", "content": "x"}], "zai-org/GLM-5", params)["params"]


def test_unknown_reasoning_level_for_a_catalog_model_is_a_bad_request_naming_the_known_ones() -> None:
    message = bad_request(lambda: map_params({"reasoning_effort": "extreme"}))
    assert (
        "'extreme' is not a known level; use one of none, minimal, ultra, maximum, low, medium, high, xhigh, max"
        in (message)
    )


def test_bug6_hermes_ultra_is_the_top_level_of_the_model_never_a_400() -> None:
    assert map_params({"reasoning_effort": "ultra"}) == {"reasoning_effort": "max"}
    assert map_params({"reasoning_effort": "ultra"}, "gpt-5.4-mini") == {"reasoning_effort": "high"}


def test_reasoning_effort_with_a_summary_from_litellms_bridges_is_read_by_its_effort() -> None:
    assert map_params({"reasoning_effort": {"effort": "xhigh", "summary": "detailed"}}) == {"reasoning_effort": "max"}


@pytest.mark.parametrize(
    ("budget", "five_levels", "deepseek"),
    [
        (0, "low", "high"),
        (1023, "low", "high"),
        (1024, "low", "high"),
        (2047, "low", "high"),
        (2048, "medium", "high"),
        (4095, "medium", "high"),
        (4096, "high", "high"),
        (31999, "high", "high"),
    ],
)
def test_thinking_budget_maps_to_a_level_at_litellms_thresholds(budget: int, five_levels: str, deepseek: str) -> None:
    thinking = {"type": "enabled", "budget_tokens": budget}
    assert effort_from_thinking(thinking) == ("minimal" if budget < 1024 else five_levels)
    assert map_params({"thinking": thinking}, "claude-sonnet-4-6") == {"reasoning_effort": five_levels}
    assert map_params({"thinking": thinking}) == {"reasoning_effort": deepseek}


def test_thinking_disabled_sends_no_effort_and_adaptive_is_medium() -> None:
    assert map_params({"thinking": {"type": "disabled"}}, "claude-sonnet-4-6") == {}
    assert map_params({"thinking": {"type": "adaptive"}}, "claude-sonnet-4-6") == {"reasoning_effort": "medium"}


def test_reasoning_effort_wins_over_thinking_as_adaptive_thinking_with_an_effort_arrives() -> None:
    params = {"thinking": {"type": "adaptive"}, "reasoning_effort": "max"}
    assert map_params(params, "claude-sonnet-4-6") == {"reasoning_effort": "max"}
    assert map_params({**params, "reasoning_effort": "max"}, "gpt-5.4-mini") == {"reasoning_effort": "high"}


@pytest.mark.parametrize("thinking", ["on", {"type": "sometimes"}, {"type": "enabled", "budget_tokens": "lots"}])
def test_malformed_thinking_is_a_bad_request(thinking: object) -> None:
    assert "thinking" in bad_request(lambda: map_params({"thinking": thinking}))


def test_tool_choice_auto_keeps_tools_and_none_sends_no_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    messages = [{"role": "user", "content": "hi"}]
    auto = request_body(messages, optional_params=map_params({"tools": tools, "tool_choice": "auto"}))
    none = request_body(messages, optional_params=map_params({"tools": tools, "tool_choice": "none"}))
    assert [tool["name"] for tool in auto["params"]["tools"]] == ["f"]
    assert none["params"]["tools"] == []


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "f"}}])
def test_forced_tool_choice_is_unsupported_unless_params_are_dropped(choice: object) -> None:
    with pytest.raises(UnsupportedParamsError):
        map_params({"tool_choice": choice})
    assert map_params({"tool_choice": choice}, drop_params=True) == {}


# --- request ----------------------------------------------------------------------------------------------------------


def test_request_matches_the_protocol_example_envelope() -> None:
    body = request_body(
        [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "hello"}],
        optional_params={"commandcode_thread_id": THREAD},
    )
    assert body == {
        "config": {
            "workingDir": "/tmp",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "environment": "terminal",
            "structure": [],
            "isGitRepo": False,
            "currentBranch": "",
            "mainBranch": "",
            "gitStatus": "",
            "recentCommits": [],
        },
        "memory": None,
        "taste": None,
        "skills": None,
        "permissionMode": "standard",
        "threadId": THREAD,
        "params": {
            "model": MODEL,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
            "tools": [],
            "system": "You are helpful.",
            "max_tokens": 64000,
            "stream": True,
        },
    }
    assert list(body) == ["config", "memory", "taste", "skills", "permissionMode", "threadId", "params"]


def test_request_never_carries_host_paths_user_host_or_git_state() -> None:
    wire = json.dumps(request_body([{"role": "user", "content": "hi"}]))
    assert os.getcwd() not in wire
    assert socket.gethostname() not in wire
    assert os.path.expanduser("~") not in wire
    assert ".git" not in wire


def test_each_request_gets_a_fresh_uuid4_thread_id() -> None:
    first = request_body([{"role": "user", "content": "hi"}])["threadId"]
    second = request_body([{"role": "user", "content": "hi"}])["threadId"]
    assert first != second
    assert uuid.UUID(first).version == 4 and uuid.UUID(second).version == 4


def test_caller_thread_id_must_be_a_uuid() -> None:
    assert "commandcode_thread_id" in bad_request(
        lambda: request_body([{"role": "user", "content": "hi"}], optional_params={"commandcode_thread_id": "t-1"})
    )


def test_stream_is_always_true_inside_params_and_absent_at_top_level() -> None:
    body = request_body([{"role": "user", "content": "hi"}], optional_params={"stream": False})
    assert body["params"]["stream"] is True
    assert "stream" not in body
    assert CommandCodeChatConfig().supports_stream_param_in_request_body is False


def test_system_and_developer_messages_anywhere_join_into_params_system() -> None:
    body = request_body(
        [
            {"role": "system", "content": "Rule one."},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Rule two."}]},
            {"role": "assistant", "content": "hello"},
            {"role": "system", "content": "Rule three."},
            {"role": "user", "content": "again"},
        ]
    )
    assert body["params"]["system"] == "Rule one.\n\nRule two.\n\nRule three."
    assert [message["role"] for message in body["params"]["messages"]] == ["user", "assistant", "user"]


def test_user_text_and_data_url_image_parts() -> None:
    messages = wire_messages(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}},
                ],
            }
        ],
        model="claude-sonnet-4-6",
    )
    assert messages == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image", "image": PNG, "mimeType": "image/png"},
            ],
        }
    ]


def test_http_image_url_is_fetched_and_inlined(monkeypatch: pytest.MonkeyPatch) -> None:
    png_bytes = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    fetched: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, content=png_bytes, headers={"content-type": "image/png"})

    monkeypatch.setattr(
        litellm, "module_level_client", HTTPHandler(client=httpx.Client(transport=httpx.MockTransport(serve)))
    )
    url = "https://93.184.216.34/cat-commandcode-test.png"
    part = wire_messages([{"role": "user", "content": [{"type": "image_url", "image_url": url}]}], "gpt-5.5")[0][
        "content"
    ][0]
    assert fetched == [url]
    assert part == {
        "type": "image",
        "image": "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA",
        "mimeType": "image/png",
    }


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "f1"}},
        {"type": "image_url", "image_url": {"url": "ftp://host/x.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}},
    ],
)
def test_unsupported_user_parts_are_a_clear_bad_request(part: dict) -> None:
    message = bad_request(lambda: wire_messages([{"role": "user", "content": [part]}], "claude-sonnet-4-6"))
    assert message.startswith("messages[0]: ")


@pytest.mark.parametrize(("decoded_bytes", "accepted"), [(5 * 1024 * 1024, True), (5 * 1024 * 1024 + 1, False)])
def test_image_up_to_five_mib_goes_through_and_a_larger_one_is_a_bad_request(
    decoded_bytes: int, accepted: bool
) -> None:
    url = "data:image/jpeg;base64," + base64.b64encode(b"\xff" * decoded_bytes).decode("ascii")
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    if accepted:
        assert wire_messages(messages, "claude-sonnet-4-6")[0]["content"] == [
            {"type": "image", "image": url, "mimeType": "image/jpeg"}
        ]
    else:
        message = bad_request(lambda: wire_messages(messages, "claude-sonnet-4-6"))
        assert message == (
            "messages[0]: image is 5242881 bytes; Command Code accepts images up to 5242880 bytes (5 MiB)"
        )


def test_lone_surrogates_become_replacement_characters_and_their_neighbours_stay_exact() -> None:
    weather_tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    body = request_body(
        [
            {"role": "system", "content": "Rules \udc00 stay."},
            {"role": "user", "content": "a\ud800b 😀 e\u0301 日本"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q\\ud83d": "x\\udfff\\ud83d\\ude00"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "found \ud83d"},
        ],
        optional_params={"tools": [weather_tool]},
    )
    params = body["params"]
    assert params["system"] == "Rules \ufffd stay."
    assert params["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a\ufffdb 😀 e\u0301 日本"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool-call", "toolCallId": "call_1", "toolName": "lookup", "input": {"q\ufffd": "x\ufffd😀"}}
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": "call_1",
                    "toolName": "lookup",
                    "output": {"type": "text", "value": "found \ufffd"},
                }
            ],
        },
    ]
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # raises UnicodeEncodeError on any lone surrogate left


def test_image_to_a_text_only_model_is_a_bad_request_not_dropped() -> None:
    message = bad_request(
        lambda: wire_messages([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}])
    )
    assert f"model {MODEL} does not accept images" in message


def test_assistant_reasoning_precedes_text_and_tool_calls_carry_parsed_input() -> None:
    messages = wire_messages(
        [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "reasoning_content": "Need the tool.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        ]
    )
    assert messages[1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "Need the tool."},
                {"type": "text", "text": "Checking."},
                {"type": "tool-call", "toolCallId": "call_1", "toolName": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": "call_1",
                    "toolName": "get_weather",
                    "output": {"type": "text", "value": "18C"},
                }
            ],
        },
    ]


@pytest.mark.parametrize(
    "assistant",
    [
        {"role": "assistant", "content": "Hi.", "reasoning_content": " "},
        {"role": "assistant", "content": "Hi.", "reasoning_content": "\n\t"},
        {"role": "assistant", "content": "Hi.", "thinking_blocks": [{"type": "thinking", "thinking": " "}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "  "}, {"type": "text", "text": "Hi."}]},
    ],
)
def test_whitespace_only_reasoning_from_hermes_and_opencode_sends_no_reasoning_part(assistant: dict) -> None:
    messages = wire_messages([{"role": "user", "content": "q"}, assistant, {"role": "user", "content": "next"}])
    assert messages[1] == {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]}


def test_thinking_blocks_become_a_reasoning_part() -> None:
    messages = wire_messages(
        [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": "a",
                "thinking_blocks": [{"type": "thinking", "thinking": "hmm", "signature": "sig=="}],
            },
        ]
    )
    assert messages[1]["content"] == [{"type": "reasoning", "text": "hmm"}, {"type": "text", "text": "a"}]


@pytest.mark.parametrize("arguments", ["not json", "[1, 2]", '"text"'])
def test_tool_call_arguments_that_are_not_a_json_object_are_a_bad_request_naming_the_call(arguments: str) -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": arguments}}
    message = bad_request(
        lambda: wire_messages([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}])
    )
    assert "call_9" in message and "(f)" in message


def test_empty_tool_call_arguments_mean_an_empty_object() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": ""}}
    messages = wire_messages(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "noon"},
        ]
    )
    assert messages[1]["content"][0]["input"] == {}


def test_consecutive_same_role_messages_are_merged() -> None:
    messages = wire_messages(
        [
            {"role": "user", "content": "one"},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": "four"},
        ]
    )
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "four"}]},
    ]


def tool_call(call_id: str, name: str = "f") -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def test_tool_call_without_result_gets_a_synthetic_result() -> None:
    messages = wire_messages(
        [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [tool_call("call_a"), tool_call("call_b", "g")]},
            {"role": "tool", "tool_call_id": "call_b", "content": "B"},
            {"role": "user", "content": "next"},
        ]
    )
    assert messages[2] == {
        "role": "tool",
        "content": [
            {"type": "tool-result", "toolCallId": "call_b", "toolName": "g", "output": {"type": "text", "value": "B"}},
            {
                "type": "tool-result",
                "toolCallId": "call_a",
                "toolName": "f",
                "output": {"type": "text", "value": "No result: the tool call did not complete."},
            },
        ],
    }
    assert messages[3] == {"role": "user", "content": [{"type": "text", "text": "next"}]}


def test_orphan_and_duplicate_tool_results_are_kept_as_user_text() -> None:
    messages = wire_messages(
        [
            {"role": "user", "content": "go"},
            {"role": "tool", "tool_call_id": "call_zz", "content": "stray"},
            {"role": "assistant", "tool_calls": [tool_call("call_a")]},
            {"role": "tool", "tool_call_id": "call_a", "content": "A"},
            {"role": "tool", "tool_call_id": "call_a", "content": "A again"},
        ]
    )
    assert messages[0] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "go"},
            {"type": "text", "text": "Result of tool call call_zz (unknown tool):\nstray"},
        ],
    }
    assert [part["toolCallId"] for part in messages[2]["content"]] == ["call_a"]
    assert messages[3] == {
        "role": "user",
        "content": [{"type": "text", "text": "Result of tool call call_a (f):\nA again"}],
    }


def test_late_tool_result_after_a_user_turn_is_kept_as_user_text() -> None:
    messages = wire_messages(
        [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [tool_call("call_a")]},
            {"role": "user", "content": "hurry"},
            {"role": "tool", "tool_call_id": "call_a", "content": "late"},
        ]
    )
    assert messages[2]["content"][0]["output"]["value"] == "No result: the tool call did not complete."
    assert messages[3] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "hurry"},
            {"type": "text", "text": "Result of tool call call_a (f):\nlate"},
        ],
    }


def test_image_in_a_tool_result_follows_in_a_user_part() -> None:
    messages = wire_messages(
        [
            {"role": "user", "content": "screenshot"},
            {"role": "assistant", "tool_calls": [tool_call("call_s", "screenshot")]},
            {
                "role": "tool",
                "tool_call_id": "call_s",
                "content": [{"type": "text", "text": "done"}, {"type": "image_url", "image_url": {"url": PNG}}],
            },
        ],
        model="claude-sonnet-4-6",
    )
    assert messages[2]["content"][0]["output"] == {"type": "text", "value": "done"}
    assert messages[3] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Image returned by tool call call_s:"},
            {"type": "image", "image": PNG, "mimeType": "image/png"},
        ],
    }


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "non-empty"),
        ([{"role": "system", "content": "only"}], "at least one"),
        ([{"role": "wizard", "content": "x"}], "unsupported role 'wizard'"),
        ([{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}], "tool_call_id"),
        ([{"role": "user", "content": 42}], "content must be"),
        (["not a message"], "must be an object"),
    ],
)
def test_malformed_conversations_are_a_clear_bad_request(messages: list, fragment: str) -> None:
    assert fragment in bad_request(lambda: wire_messages(messages))


def test_tools_use_input_schema_and_a_missing_schema_is_an_empty_object() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather by city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        },
        {"type": "function", "function": {"name": "now"}},
    ]
    body = request_body([{"role": "user", "content": "x"}], optional_params={"tools": tools})
    assert body["params"]["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
        {"name": "now", "description": "", "input_schema": {"type": "object", "properties": {}}},
    ]


def test_retired_model_ids_are_rewritten_like_the_official_client() -> None:
    assert request_body([{"role": "user", "content": "x"}], "claude-opus-4-6")["params"]["model"] == "claude-opus-4-7"


# --- stream -----------------------------------------------------------------------------------------------------------


def test_protocol_example_stream_yields_reasoning_text_finish_and_usage() -> None:
    result = assembled([ndjson(PROTOCOL_STREAM)])
    assert result["content"] == "Hello there"
    assert result["reasoning"] == "Let me think"
    assert result["finish"] == ["stop"]
    usage = result["usages"][0]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (16977, 27, 17004)
    assert usage.prompt_tokens_details.cached_tokens == 5376
    assert usage.completion_tokens_details.reasoning_tokens == 25


def test_cached_tokens_are_not_added_twice_to_prompt_tokens() -> None:
    usage = assembled([ndjson(PROTOCOL_STREAM)])["usages"][0]
    assert usage.prompt_tokens == 16977
    assert usage.prompt_tokens != 16977 + 5376


def test_cache_writes_map_to_cache_creation_input_tokens() -> None:
    totals = {
        "inputTokens": 1000,
        "inputTokenDetails": {"noCacheTokens": 100, "cacheReadTokens": 600, "cacheWriteTokens": 300},
        "outputTokens": 10,
    }
    usage = assembled([ndjson([finish(usage=totals)])])["usages"][0]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1000, 10, 1010)
    assert usage.prompt_tokens_details.cached_tokens == 600
    assert usage.cache_creation_input_tokens == 300
    assert usage.completion_tokens_details is None


def test_null_counts_in_the_usage_count_as_absent_and_keep_the_others() -> None:
    totals = {
        "inputTokens": 1000,
        "inputTokenDetails": {"cacheReadTokens": 600, "cacheWriteTokens": None},
        "outputTokens": 10,
        "outputTokenDetails": None,
        "reasoningTokens": None,
    }
    usage = assembled([ndjson([finish(usage=totals)])])["usages"][0]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1000, 10, 1010)
    assert usage.prompt_tokens_details.cached_tokens == 600
    assert usage.cache_creation_input_tokens == 0
    assert usage.completion_tokens_details is None


def test_deltas_of_one_kind_in_one_read_leave_as_one_chunk() -> None:
    chunks = parse([ndjson(text_answer("a", "b", "c"))])
    assert len(chunks) == 1
    assert chunks[0].choices[0].delta.content == "abc"
    assert chunks[0].choices[0].finish_reason == "stop"


def chunk_kinds(chunks: Sequence[ModelResponseStream]) -> list[tuple[str | None, str | None, list[str], str | None]]:
    return [
        (
            chunk.choices[0].delta.content,
            getattr(chunk.choices[0].delta, "reasoning_content", None),
            [call.function.name for call in chunk.choices[0].delta.tool_calls or ()],
            chunk.choices[0].finish_reason,
        )
        for chunk in chunks
    ]


def test_bug4_a_read_with_reasoning_text_and_tool_calls_leaves_one_chunk_per_kind() -> None:
    def call(name: str) -> dict:
        return {"type": "tool-call", "toolCallId": f"call_{name}", "toolName": name, "input": {}}

    events = [
        {"type": "reasoning-delta", "id": "r", "text": "think "},
        {"type": "reasoning-delta", "id": "r", "text": "more"},
        {"type": "text-delta", "id": "t", "text": "Hel"},
        {"type": "text-delta", "id": "t", "text": "lo"},
        call("read"),
        call("grep"),
        {"type": "text-delta", "id": "t", "text": "!"},
        {"type": "reasoning-delta", "id": "r", "text": "again"},
        finish("tool-calls"),
    ]
    assert chunk_kinds(parse([ndjson(events)])) == [
        (None, "think more", [], None),
        ("Hello", None, [], None),
        (None, None, ["read", "grep"], None),
        ("!", None, [], None),
        (None, "again", [], "tool_calls"),
    ]


def test_one_kind_per_chunk_holds_for_complete_lines_too() -> None:
    events = [{"type": "reasoning-delta", "id": "r", "text": "a"}, {"type": "text-delta", "id": "t", "text": "b"}]
    assert chunk_kinds(parse(["\n".join(json.dumps(event) for event in [*events, finish()])])) == [
        (None, "a", [], None),
        ("b", None, [], "stop"),
    ]


def test_a_surrogate_half_held_back_at_a_kind_change_meets_its_partner_in_the_next_chunk_of_its_kind() -> None:
    events = [
        {"type": "reasoning-delta", "id": "r", "text": "x\ud83c"},
        {"type": "text-delta", "id": "t", "text": "y"},
    ]
    tail = [{"type": "reasoning-delta", "id": "r", "text": "\udf89"}, finish()]
    assert chunk_kinds(parse([ndjson(events), ndjson(tail)])) == [
        (None, "x", [], None),
        ("y", None, [], None),
        (None, "\U0001f389", [], "stop"),
    ]


def test_every_chunk_of_one_answer_carries_the_same_id() -> None:
    chunks = parse([ndjson([event]) for event in text_answer("a", "b", "c")])
    assert len(chunks) == 4
    assert {chunk.id for chunk in chunks} == {chunks[0].id}
    assert chunks[0].id.startswith("chatcmpl-")


def test_lines_from_iter_lines_are_parsed_one_by_one() -> None:
    lines = [json.dumps(event) for event in text_answer("a", "b")]
    assert [c.choices[0].delta.content for c in parse(lines)] == ["a", "b", None]


@pytest.mark.parametrize(
    ("raw_input", "arguments"),
    [
        ({"city": "Paris"}, '{"city": "Paris"}'),
        ('{"city": "Paris"}', '{"city": "Paris"}'),
        ([{"city": "Paris"}], '{"city": "Paris"}'),
        ('[{"city": "Paris"}]', '{"city": "Paris"}'),
        (None, "{}"),
    ],
)
def test_tool_call_input_is_coerced_to_a_json_object_string(raw_input: object, arguments: str) -> None:
    events = [{"type": "tool-call", "toolCallId": "c1", "toolName": "w", "input": raw_input}, finish("tool-calls")]
    assert assembled([ndjson(events)])["calls"] == [(0, "c1", "w", arguments)]


def test_legacy_args_field_is_read_when_input_is_absent() -> None:
    events = [{"type": "tool-call", "toolCallId": "c1", "toolName": "w", "args": {"a": 1}}, finish("tool-calls")]
    assert assembled([ndjson(events)])["calls"] == [(0, "c1", "w", '{"a": 1}')]


def test_tool_calls_are_indexed_in_arrival_order_and_server_tool_results_ignored() -> None:
    events = [
        {"type": "tool-call", "toolCallId": "c1", "toolName": "a", "input": {}},
        {
            "type": "tool-result",
            "toolCallId": "srv",
            "toolName": "web_search",
            "output": {"type": "text", "value": "x"},
        },
        {"type": "tool-call", "toolCallId": "c2", "toolName": "b", "input": {"k": "v"}},
        finish("stop"),
    ]
    result = assembled([ndjson(events[:2]), ndjson(events[2:])])
    assert result["calls"] == [(0, "c1", "a", "{}"), (1, "c2", "b", '{"k": "v"}')]
    assert result["finish"] == ["tool_calls"]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool-calls", "tool_calls"),
        ("content-filter", "content_filter"),
        ("error", "stop"),
        ("other", "stop"),
        ("unknown", "stop"),
    ],
)
def test_finish_reasons_map_to_openai(reason: str, expected: str) -> None:
    assert assembled([ndjson([finish(reason)])])["finish"] == [expected]


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (
            {
                "type": "server_error",
                "message": "Service temporarily unavailable.",
                "statusCode": 503,
                "isRetryable": True,
            },
            503,
            "Service temporarily unavailable.",
        ),
        ({"type": "server_error", "message": "Insufficient Balance", "statusCode": 402}, 402, "Insufficient Balance"),
        ("Network connection lost.", 500, "Network connection lost."),
        ({"message": "boom"}, 500, "boom"),
        ('429 {"error":{"message":"Rate limit exceeded"}}', 429, "Rate limit exceeded"),
        ({"message": "503 upstream overloaded"}, 503, "503 upstream overloaded"),
    ],
)
def test_error_events_raise_commandcode_error_with_their_status(error: object, status: int, message: str) -> None:
    with pytest.raises(CommandCodeError) as raised:
        parse(
            [
                ndjson([{"type": "start"}, {"type": "text-delta", "text": "partial"}]),
                ndjson([{"type": "error", "error": error}]),
            ]
        )
    assert (raised.value.status_code, raised.value.message) == (status, message)


def test_stream_without_finish_is_a_502_not_a_normal_stop() -> None:
    with pytest.raises(CommandCodeError) as raised:
        parse([ndjson([{"type": "start"}, {"type": "text-delta", "text": "cut"}])])
    assert raised.value.status_code == 502
    assert "ended before completion" in raised.value.message


def test_abort_ends_the_answer_without_error() -> None:
    result = assembled([ndjson([{"type": "text-delta", "text": "part"}, {"type": "abort"}])])
    assert (result["content"], result["finish"], result["usages"]) == ("part", ["stop"], [])


def test_blank_lines_garbage_unknown_events_and_metadata_after_finish_are_not_fatal() -> None:
    body = (
        b"\n\n"
        + b"not json at all\n"
        + b'data: {"type":"text-delta","text":"sse"}\n'
        + ndjson([{"type": "mystery-event", "x": 1}, {"type": "start-step", "request": {"body": "x" * 100000}}])
        + b"\xff\xfe garbage bytes\n"
        + ndjson(
            [{"type": "text-delta", "text": "ok"}, finish(), {"type": "provider-metadata", "providerMetadata": {}}]
        )
        + b"trailing garbage after finish"
    )
    result = assembled([body])
    assert (result["content"], result["finish"]) == ("ok", ["stop"])


def test_events_split_at_every_byte_boundary_reassemble_identically() -> None:
    body = ndjson(
        [
            *PROTOCOL_STREAM[:8],
            {"type": "text-delta", "id": "t", "text": "é 漢字 👍"},
            {"type": "tool-call", "toolCallId": "c1", "toolName": "w", "input": {"q": "ü"}},
            *PROTOCOL_STREAM[9:],
        ]
    )
    expected = assembled([body])
    assert expected["content"] == "Hello thereé 漢字 👍"
    for cut in range(1, len(body)):
        assert assembled([body[:cut], body[cut:]]) == expected, cut


def test_multibyte_characters_split_across_reads_reassemble_exactly() -> None:
    line = json.dumps({"type": "text-delta", "text": "a👍b\u2028c"}, ensure_ascii=False).encode() + b"\n"
    cut = line.index("👍".encode()) + 2
    result = assembled([line[:cut], line[cut:], ndjson([finish()])])
    assert result["content"] == "a👍b\u2028c"


def test_stream_chunk_builder_reassembles_the_stream() -> None:
    events = [
        {"type": "reasoning-delta", "text": "think "},
        {"type": "reasoning-delta", "text": "hard"},
        {"type": "text-delta", "text": "Hi"},
        {"type": "text-delta", "text": "!"},
        {"type": "tool-call", "toolCallId": "call_1", "toolName": "w", "input": {"city": "Paris"}},
        finish("tool-calls"),
    ]
    chunks = parse([ndjson([event]) for event in events])
    built = litellm.stream_chunk_builder(chunks)
    message = built.choices[0].message
    assert message.content == "Hi!"
    assert message.reasoning_content == "think hard"
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("call_1", "w", '{"city": "Paris"}')
    ]
    assert built.choices[0].finish_reason == "tool_calls"
    assert (built.usage.prompt_tokens, built.usage.completion_tokens) == (16977, 27)


# --- whole answers ----------------------------------------------------------------------------------------------------


def transform(body: bytes, request_model: str = MODEL) -> ModelResponse:
    config = CommandCodeChatConfig()
    logging_obj = litellm.litellm_core_utils.litellm_logging.Logging(
        model=MODEL,
        messages=[],
        stream=False,
        call_type="completion",
        start_time=None,
        litellm_call_id="t",
        function_id="t",
    )
    return config.transform_response(
        model=MODEL,
        raw_response=httpx.Response(200, content=body),
        model_response=ModelResponse(),
        logging_obj=logging_obj,
        request_data={"params": {"model": request_model}},
        messages=[],
        optional_params={},
        litellm_params={},
        encoding=None,
    )


def test_whole_answer_is_assembled_from_the_same_events() -> None:
    response = transform(ndjson(PROTOCOL_STREAM))
    message = response.choices[0].message
    assert (message.content, message.reasoning_content, message.tool_calls) == ("Hello there", "Let me think", None)
    assert response.choices[0].finish_reason == "stop"
    assert response.model == MODEL
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (
        16977,
        27,
        17004,
    )
    assert response.usage.prompt_tokens_details.cached_tokens == 5376


def test_whole_answer_with_tool_calls_has_no_text_content() -> None:
    events = [
        {"type": "tool-call", "toolCallId": "c1", "toolName": "w", "input": {"city": "Paris"}},
        finish("tool-calls"),
    ]
    response = transform(ndjson(events))
    message = response.choices[0].message
    assert message.content is None
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("c1", "w", '{"city": "Paris"}')
    ]
    assert response.choices[0].finish_reason == "tool_calls"


def test_empty_whole_answer_is_an_empty_string_not_none() -> None:
    response = transform(ndjson([{"type": "start"}, finish()]))
    assert response.choices[0].message.content == ""
    assert response.choices[0].finish_reason == "stop"


def test_whole_answer_truncated_or_with_error_raises() -> None:
    with pytest.raises(CommandCodeError) as truncated:
        transform(ndjson([{"type": "text-delta", "text": "partial"}]))
    with pytest.raises(CommandCodeError) as errored:
        transform(
            ndjson(
                [
                    {"type": "text-delta", "text": "partial"},
                    {"type": "error", "error": {"message": "x", "statusCode": 503}},
                ]
            )
        )
    assert (truncated.value.status_code, errored.value.status_code) == (502, 503)


# --- HTTP errors ------------------------------------------------------------------------------------------------------


def error_class(body: str, status: int) -> CommandCodeError:
    error = CommandCodeChatConfig().get_error_class(body, status, {})
    assert isinstance(error, CommandCodeError)
    return error


def envelope(status: int, code: str, message: str, **extra: object) -> str:
    return json.dumps({"success": False, "error": {"code": code, "status": status, "message": message, **extra}})


def test_error_envelope_gives_status_and_message() -> None:
    error = error_class(
        envelope(401, "UNAUTHORIZED", "Invalid 'Authorization' header or token.", docs="https://commandcode.ai/docs/e"),
        401,
    )
    assert error.status_code == 401
    assert error.message == "UNAUTHORIZED: Invalid 'Authorization' header or token. (https://commandcode.ai/docs/e)"


def test_non_json_error_body_is_kept_as_raw_text() -> None:
    error = error_class("upstream connect error", 502)
    assert (error.status_code, error.message) == (502, "upstream connect error")
    assert error_class("", 503).message == "Command Code returned HTTP 503 with an empty body"


def test_upgrade_required_names_the_version_setting() -> None:
    error = error_class(envelope(403, "upgrade_required", "Please upgrade your CLI"), 403)
    assert error.status_code == 403
    assert "COMMANDCODE_VERSION" in error.message and "commandcode_version" in error.message


def test_proxy_use_detected_points_to_the_provider_api() -> None:
    error = error_class(envelope(400, "BAD_REQUEST", "Proxy use detected. This endpoint only serves CLI."), 400)
    assert "Provider API" in error.message and "/provider/v1" in error.message


def test_usage_window_429_says_when_it_resets_and_sets_retry_after() -> None:
    reset = int(datetime.now(timezone.utc).timestamp()) + 3600
    error = error_class(
        envelope(429, "RATE_LIMITED", "Usage limit reached", rateLimit={"window": "fiveHour", "reset": reset}), 429
    )
    when = datetime.fromtimestamp(reset, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert error.status_code == 429
    assert f"fiveHour usage window of your plan is exhausted; it resets at {when}" in error.message
    assert 3590 <= int(error.headers["retry-after"]) <= 3600


# --- LiteLLM's own HTTP handler, end to end ---------------------------------------------------------------------------


class Recorder:
    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body = body
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, content=self.body, headers={"content-type": "text/event-stream"})


def handler_call(recorder: Recorder, stream: bool, acompletion: bool, api_key: str | None = KEY) -> object:
    transport = httpx.MockTransport(recorder)
    client = (
        AsyncHTTPHandler(transport=transport) if acompletion else HTTPHandler(client=httpx.Client(transport=transport))
    )
    messages = [{"role": "user", "content": "hi"}]
    logging_obj = litellm.litellm_core_utils.litellm_logging.Logging(
        model=MODEL,
        messages=messages,
        stream=stream,
        call_type="completion",
        start_time=None,
        litellm_call_id="t",
        function_id="t",
    )
    logging_obj.update_environment_variables(model=MODEL, user="", optional_params={}, litellm_params={})
    return base_llm_http_handler.completion(
        model=MODEL,
        messages=messages,
        api_base="http://commandcode.test",
        custom_llm_provider="commandcode",
        model_response=ModelResponse(),
        encoding=None,
        logging_obj=logging_obj,
        optional_params={"max_tokens": 100},
        timeout=10.0,
        litellm_params={},
        acompletion=acompletion,
        stream=stream,
        api_key=api_key,
        headers={},
        client=client,
        provider_config=CommandCodeChatConfig(),
    )


def check_wire(recorder: Recorder) -> None:
    assert len(recorder.requests) == 1
    request = recorder.requests[0]
    body = json.loads(request.content)
    assert str(request.url) == "http://commandcode.test/alpha/generate"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-session-id"] == body["threadId"]
    assert body["params"]["max_tokens"] == 100 and body["params"]["stream"] is True and "stream" not in body


def streamed_text(chunks: Iterator[ModelResponseStream]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)


def test_http_handler_sync_non_streaming() -> None:
    recorder = Recorder(ndjson(PROTOCOL_STREAM))
    response = handler_call(recorder, stream=False, acompletion=False)
    check_wire(recorder)
    assert response.choices[0].message.content == "Hello there"
    assert response.usage.total_tokens == 17004


def test_http_handler_sync_streaming() -> None:
    recorder = Recorder(ndjson(PROTOCOL_STREAM))
    stream = handler_call(recorder, stream=True, acompletion=False)
    check_wire(recorder)
    assert streamed_text(stream) == "Hello there"


async def test_http_handler_async_non_streaming() -> None:
    recorder = Recorder(ndjson(PROTOCOL_STREAM))
    response = await handler_call(recorder, stream=False, acompletion=True)
    check_wire(recorder)
    assert response.choices[0].message.reasoning_content == "Let me think"


async def test_http_handler_async_streaming() -> None:
    recorder = Recorder(ndjson(PROTOCOL_STREAM))
    stream = await handler_call(recorder, stream=True, acompletion=True)
    check_wire(recorder)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "Hello there"


def test_error_before_content_raises_from_the_call_itself_when_streaming() -> None:
    recorder = Recorder(ndjson([{"type": "start"}, {"type": "error", "error": {"message": "busy", "statusCode": 503}}]))
    with pytest.raises(CommandCodeError) as raised:
        handler_call(recorder, stream=True, acompletion=False)
    assert (raised.value.status_code, raised.value.message) == (503, "busy")


async def test_async_error_before_content_raises_from_the_call_itself_when_streaming() -> None:
    recorder = Recorder(ndjson([{"type": "start"}, {"type": "error", "error": "Network connection lost."}]))
    with pytest.raises(CommandCodeError) as raised:
        await handler_call(recorder, stream=True, acompletion=True)
    assert raised.value.status_code == 500


def test_http_error_status_reaches_the_caller_through_the_handler() -> None:
    recorder = Recorder(envelope(403, "FORBIDDEN", "Model/provider not recognized: x").encode(), status=403)
    for stream in (False, True):
        with pytest.raises(CommandCodeError) as raised:
            handler_call(recorder, stream=stream, acompletion=False)
        assert raised.value.status_code == 403
        assert re.search(r"Model/provider not recognized: x", raised.value.message)


def test_missing_key_fails_before_any_network_traffic(clean_env: pytest.MonkeyPatch) -> None:
    recorder = Recorder(ndjson(PROTOCOL_STREAM))
    with pytest.raises(CommandCodeError) as raised:
        handler_call(recorder, stream=False, acompletion=False, api_key=None)
    assert raised.value.status_code == 401
    assert recorder.requests == []


def test_a_surrogate_pair_cut_between_deltas_becomes_its_character_and_an_unpaired_half_a_replacement() -> None:
    events = [
        {"type": "start"},
        {"type": "text-delta", "id": "t", "text": "party \ud83c"},
        {"type": "reasoning-delta", "id": "r", "text": "x\udc00y \ud83d"},
        {"type": "text-delta", "id": "t", "text": "\udf89 done \ud83d"},
        finish(),
    ]
    one_event_per_read = [ndjson([event]) for event in events]

    chunks = parse(one_event_per_read)

    texts = [(c.choices[0].delta.content, getattr(c.choices[0].delta, "reasoning_content", None)) for c in chunks]
    assert texts == [("party ", None), (None, "x\ufffdy "), ("🎉 done ", None), ("\ufffd", "\ufffd")]
    assert assembled([ndjson(events)])["content"] == "party 🎉 done \ufffd"
