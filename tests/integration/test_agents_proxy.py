"""What coding agents send through a LiteLLM proxy on examples/config.yaml, read where it lands: in the requests the
fake Command Code server received. One test per bug of issue 12's "Why" list (named `test_bugN_…`), and the parameter
policy, reasoning levels, stream shape and discovery that fix them."""

import json
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import anthropic
import httpx
import openai
import pytest

from litellm.llms.commandcode.chat.params import session_thread_id
from litellm_commandcode.catalog import build_cost_map
from litellm_commandcode.fake_server import FakeCommandCodeServer, RequestRecord, expected_answer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ProxyProcess, write_config
from tests.support.fake_stack import openai_client, proxy_in_front

ROOT: Final = Path(__file__).resolve().parents[2]
COST_MAP: Final = build_cost_map()
CONFIG: Final = ROOT / "examples" / "config.yaml"
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
KEY: Final = "user_agents"
MASTER_KEY: Final = f"sk-agents-{secrets.token_hex(8)}"
REQUEST_SECONDS: Final = 30.0
WIRE_PARAMS: Final = {"model", "messages", "tools", "system", "max_tokens", "stream"}
ANTHROPIC_HEADERS: Final = {"x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01"}
READ_TOOL: Final = {
    "type": "function",
    "function": {
        "name": "read",
        "description": "Read a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
}


def config_path(workdir: Path) -> Path:
    """examples/config.yaml; without the plug-in's custom_provider_map on a LiteLLM that ships commandcode."""
    if not litellm_knows_commandcode():
        return CONFIG
    import yaml

    config: Final = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config.pop("litellm_settings", None)
    return write_config(workdir, config)


@pytest.fixture(scope="module")
def proxy(server: FakeCommandCodeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("agents-proxy")
    config: Final = config_path(workdir)
    with proxy_in_front(server, workdir, config, COMMANDCODE_API_KEY=KEY, LITELLM_MASTER_KEY=MASTER_KEY) as started:
        yield started


@pytest.fixture(scope="module")
def client(proxy: ProxyProcess) -> Iterator[openai.OpenAI]:
    with openai_client(proxy, MASTER_KEY, REQUEST_SECONDS) as sdk_client:
        yield sdk_client


@pytest.fixture(scope="module")
def gateway(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=proxy.url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=REQUEST_SECONDS
    ) as http:
        yield http


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer, proxy_log_on_failure: None) -> None:
    server.reset()


def only_request(server: FakeCommandCodeServer) -> RequestRecord:
    assert len(server.requests) == 1
    return server.requests[0]


def wire_params(record: RequestRecord) -> dict[str, object]:
    assert isinstance(record.body, dict)
    params: Final = record.body["params"]
    assert isinstance(params, dict)
    return params


def thread_of(record: RequestRecord) -> str:
    assert isinstance(record.body, dict)
    thread: Final = record.body["threadId"]
    assert isinstance(thread, str) and record.headers["x-session-id"] == thread
    return thread


def chat(gateway: httpx.Client, **params: object) -> httpx.Response:
    body: Final = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}], **params}
    return gateway.post("/v1/chat/completions", json=body)


def error_message(response: httpx.Response) -> str:
    error: Final = response.json()["error"]
    assert isinstance(error, Mapping)
    return str(error["message"])


# --- 1. parameter policy ----------------------------------------------------------------------------------------------


def test_bug1_pi_openai_completions_store_false_is_answered(
    client: openai.OpenAI, server: FakeCommandCodeServer
) -> None:
    completion: Final = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hello"}], store=False
    )

    params: Final = wire_params(only_request(server))
    assert completion.choices[0].message.content == expected_answer(only_request(server).body)["text"]
    assert set(params) == WIRE_PARAMS


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("store", True),
        ("prompt_cache_retention", "24h"),
        ("safety_identifier", "hashed-user"),
        ("user", "someone"),
        ("metadata", {"app": "agent"}),
        ("parallel_tool_calls", False),
        ("service_tier", "priority"),
        ("stream_options", {"include_usage": True}),
        ("top_p", 1),
        ("presence_penalty", 0),
        ("frequency_penalty", 0),
        ("logprobs", False),
        ("response_format", {"type": "text"}),
        ("n", 1),
    ],
)
def test_params_that_cannot_change_the_answer_are_accepted_and_not_sent(
    gateway: httpx.Client, server: FakeCommandCodeServer, param: str, value: object
) -> None:
    streaming: Final = {"stream": True} if param == "stream_options" else {}
    response: Final = chat(gateway, **{param: value}, **streaming)

    assert response.status_code == 200, response.text
    assert set(wire_params(only_request(server))) == WIRE_PARAMS


def test_bug2_pi_responses_prompt_cache_key_is_one_thread_per_session(
    client: openai.OpenAI, server: FakeCommandCodeServer
) -> None:
    first: Final = client.responses.create(model=MODEL, input="hello", prompt_cache_key="pi-session-1")
    second: Final = client.responses.create(model=MODEL, input="and again", prompt_cache_key="pi-session-1")
    client.responses.create(model=MODEL, input="hello", prompt_cache_key="pi-session-2")
    client.responses.create(model=MODEL, input="hello")
    client.responses.create(model=MODEL, input="hello")

    threads: Final = [thread_of(record) for record in server.requests]
    assert first.output_text and second.output_text
    assert threads[0] == threads[1] == session_thread_id("pi-session-1")
    assert threads[2] == session_thread_id("pi-session-2")
    assert len({threads[0], threads[2], threads[3], threads[4]}) == 4
    assert all("prompt_cache_key" not in wire_params(record) for record in server.requests)


def test_litellm_session_header_makes_one_thread(gateway: httpx.Client, server: FakeCommandCodeServer) -> None:
    body: Final = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}
    for _ in range(2):
        response = gateway.post(
            "/v1/chat/completions", json=body, headers={"x-litellm-session-id": "opencode-session-7"}
        )
        assert response.status_code == 200, response.text

    assert [thread_of(record) for record in server.requests] == [session_thread_id("opencode-session-7")] * 2


def test_claude_code_session_header_makes_one_thread_on_messages(
    gateway: httpx.Client, server: FakeCommandCodeServer
) -> None:
    session: Final = "e96634a3-fa28-4083-b354-55542e2dca01"
    body: Final = {"model": MODEL, "max_tokens": 512, "messages": [{"role": "user", "content": "hello"}]}
    for _ in range(2):
        headers = {**ANTHROPIC_HEADERS, "x-claude-code-session-id": session}
        response = gateway.post("/v1/messages", json=body, headers=headers)
        assert response.status_code == 200, response.text

    assert [thread_of(record) for record in server.requests] == [session] * 2


def test_claude_code_metadata_session_makes_one_thread_on_messages(
    gateway: httpx.Client, server: FakeCommandCodeServer
) -> None:
    session: Final = "2b0c5f0e-8d7e-4c8e-9d1e-3f4a5b6c7d8e"
    user_id: Final = json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": session})
    body: Final = {
        "model": MODEL,
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "hello"}],
        "metadata": {"user_id": user_id},
    }
    for _ in range(2):
        response = gateway.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
        assert response.status_code == 200, response.text

    assert [thread_of(record) for record in server.requests] == [session] * 2


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n", 2),
        ("logprobs", True),
        ("response_format", {"type": "json_object"}),
        ("top_p", 0.9),
        ("tool_choice", "required"),
    ],
)
def test_params_that_would_change_the_answer_are_a_400_that_says_what_to_do(
    gateway: httpx.Client, server: FakeCommandCodeServer, param: str, value: object
) -> None:
    response: Final = chat(gateway, **{param: value}, tools=[READ_TOOL])

    assert response.status_code == 400
    assert "drop_params" in error_message(response)
    assert server.requests == []


def test_params_that_would_change_the_answer_are_dropped_with_drop_params(
    gateway: httpx.Client, server: FakeCommandCodeServer
) -> None:
    response: Final = chat(
        gateway, n=2, logprobs=True, top_p=0.5, tool_choice="required", tools=[READ_TOOL], drop_params=True
    )

    assert response.status_code == 200, response.text
    assert set(wire_params(only_request(server))) == WIRE_PARAMS


def test_hermes_and_opencode_history_with_whitespace_reasoning_and_large_max_tokens(
    gateway: httpx.Client, server: FakeCommandCodeServer
) -> None:
    messages: Final = [
        {"role": "user", "content": "read a.txt"},
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": " ",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "contents"},
        {"role": "assistant", "content": "Done.", "reasoning_content": " "},
        {"role": "user", "content": "thanks"},
    ]
    response: Final = chat(gateway, messages=messages, tools=[READ_TOOL], tool_choice="auto", max_tokens=1_000_000)

    params: Final = wire_params(only_request(server))
    assert response.status_code == 200, response.text
    assert params["max_tokens"] == 200000
    assert [message["content"] for message in params["messages"] if message["role"] == "assistant"] == [
        [{"type": "tool-call", "toolCallId": "call_1", "toolName": "read", "input": {}}],
        [{"type": "text", "text": "Done."}],
    ]
    assert json.dumps(params).count('"reasoning"') == 0


# --- 4. discovery -----------------------------------------------------------------------------------------------------


def test_bug3_models_endpoint_lists_each_model_once(client: openai.OpenAI) -> None:
    ids: Final = [model.id for model in client.models.list().data]

    assert len(ids) == len(set(ids)) == len(COST_MAP)
    assert set(ids) == set(COST_MAP)


MODEL_INFO_FACTS: Final = (
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "supports_vision",
    "supports_reasoning",
    "supports_function_calling",
    "reasoning_effort_levels",
)


def test_cline_model_info_gives_every_model_its_cost_map_facts_once(gateway: httpx.Client) -> None:
    response: Final = gateway.get("/v1/model/info")

    assert response.status_code == 200, response.text
    rows: Final = response.json()["data"]
    facts: Final = {row["model_name"]: {name: row["model_info"].get(name) for name in MODEL_INFO_FACTS} for row in rows}
    assert len(rows) == len(facts) == len(COST_MAP)
    assert facts == {name: {fact: entry[fact] for fact in MODEL_INFO_FACTS} for name, entry in COST_MAP.items()}
    assert facts[MODEL]["reasoning_effort_levels"] == ["high", "max"]
    assert facts["commandcode/claude-sonnet-4-6"]["supports_vision"] is True


# --- 3. stream shape --------------------------------------------------------------------------------------------------

BURSTS: Final = ("[[fake:ok burst=1000]] ", "[[fake:ok]] ")  # the whole answer in one network read; one event per write


def expected(server: FakeCommandCodeServer) -> dict[str, object]:
    record: Final = only_request(server)
    assert isinstance(record.body, dict)
    return expected_answer(record.body)


@pytest.mark.parametrize("marker", BURSTS)
def test_bug4_codex_responses_stream_text_and_reasoning_deltas_make_the_final_answer(
    client: openai.OpenAI, server: FakeCommandCodeServer, marker: str
) -> None:
    deltas: Final[dict[str, list[str]]] = {}
    completed: list[object] = []
    with client.responses.create(model=MODEL, input=f"{marker}hello there", stream=True) as stream:
        for event in stream:
            if event.type.endswith(".delta") and isinstance(delta := getattr(event, "delta", None), str):
                deltas.setdefault(event.type, []).append(delta)
            if event.type == "response.completed":
                completed.append(event.response)

    answer: Final = expected(server)
    [response] = completed
    assert isinstance(response, openai.types.responses.Response)
    [reasoning_item] = [item for item in response.output if item.type == "reasoning"]
    final_reasoning: Final = "".join(part.text for part in reasoning_item.content or ())
    assert "".join(deltas["response.output_text.delta"]) == response.output_text == answer["text"]
    assert "".join(deltas["response.reasoning_summary_text.delta"]) == final_reasoning == answer["reasoning"]


def test_responses_stream_keeps_reasoning_and_a_tool_call_of_one_read(
    client: openai.OpenAI, server: FakeCommandCodeServer
) -> None:
    tool: Final = {"type": "function", "name": "read", "parameters": READ_TOOL["function"]["parameters"]}
    deltas: Final[list[str]] = []
    completed: list[openai.types.responses.Response] = []
    with client.responses.create(
        model=MODEL, input="[[fake:ok burst=1000]] read a.txt", tools=[tool], stream=True
    ) as stream:
        for event in stream:
            if event.type == "response.reasoning_summary_text.delta":
                deltas.append(event.delta)
            if event.type == "response.completed":
                completed.append(event.response)

    answer: Final = expected(server)
    [call] = [item for item in completed[0].output if item.type == "function_call"]
    assert "".join(deltas) == answer["reasoning"]
    assert [(call.name, json.loads(call.arguments))] == [
        (wire_call["name"], wire_call["input"]) for wire_call in answer["tool_calls"]
    ]


@pytest.mark.parametrize("marker", BURSTS)
def test_claude_code_messages_stream_text_and_thinking_deltas_make_the_final_message(
    proxy: ProxyProcess, server: FakeCommandCodeServer, marker: str
) -> None:
    with (
        anthropic.Anthropic(base_url=proxy.url, api_key=MASTER_KEY, max_retries=0, timeout=REQUEST_SECONDS) as sdk,
        sdk.messages.stream(
            model=MODEL, max_tokens=4096, messages=[{"role": "user", "content": f"{marker}hello there"}]
        ) as stream,
    ):
        events: Final = list(stream)
        message: Final = stream.get_final_message()

    answer: Final = expected(server)
    deltas: Final = [event.delta for event in events if event.type == "content_block_delta"]
    text: Final = "".join(delta.text for delta in deltas if delta.type == "text_delta")
    thinking: Final = "".join(delta.thinking for delta in deltas if delta.type == "thinking_delta")
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert text == message.content[1].text == answer["text"]
    assert thinking == message.content[0].thinking == answer["reasoning"]


@pytest.mark.parametrize("marker", BURSTS)
def test_chat_stream_chunks_carry_one_kind_of_delta_and_make_the_answer(
    client: openai.OpenAI, server: FakeCommandCodeServer, marker: str
) -> None:
    with client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": f"{marker}hello there"}], stream=True
    ) as stream:
        deltas: Final = [choice.delta for chunk in stream for choice in chunk.choices]

    answer: Final = expected(server)
    reasoning: Final = [getattr(delta, "reasoning_content", None) for delta in deltas]
    assert all(not (delta.content and thought) for delta, thought in zip(deltas, reasoning, strict=True))
    assert "".join(delta.content or "" for delta in deltas) == answer["text"]
    assert "".join(thought or "" for thought in reasoning) == answer["reasoning"]


# --- 2. reasoning settings from every surface -------------------------------------------------------------------------


def messages_effort(gateway: httpx.Client, server: FakeCommandCodeServer, model: str, **params: object) -> object:
    server.reset()
    body: Final = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": "hello"}], **params}
    response: Final = gateway.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    return wire_params(only_request(server)).get("reasoning_effort")


@pytest.mark.parametrize(
    ("model", "expected"),
    [(MODEL, "max"), ("commandcode/claude-sonnet-4-6", "max"), ("commandcode/gpt-5.4-mini", "high")],
)
def test_bug5_claude_code_effort_max_reaches_command_code_at_the_models_top(
    gateway: httpx.Client, server: FakeCommandCodeServer, model: str, expected: str
) -> None:
    adaptive: Final = messages_effort(
        gateway, server, model, thinking={"type": "adaptive"}, output_config={"effort": "max"}
    )
    bare: Final = messages_effort(gateway, server, model, output_config={"effort": "max"})

    assert (adaptive, bare) == (expected, expected)


@pytest.mark.parametrize(
    ("thinking", "expected"),
    [
        ({"type": "enabled", "budget_tokens": 1023}, "low"),
        ({"type": "enabled", "budget_tokens": 2048}, "medium"),
        ({"type": "enabled", "budget_tokens": 4095}, "medium"),
        ({"type": "enabled", "budget_tokens": 4096}, "high"),
        ({"type": "enabled", "budget_tokens": 31999}, "high"),
        ({"type": "adaptive"}, "medium"),
        ({"type": "disabled"}, None),
    ],
)
def test_messages_thinking_maps_to_a_level_for_claude_and_other_models(
    gateway: httpx.Client, server: FakeCommandCodeServer, thinking: dict[str, object], expected: str | None
) -> None:
    claude: Final = messages_effort(gateway, server, "commandcode/claude-sonnet-4-6", thinking=thinking)
    deepseek: Final = messages_effort(gateway, server, MODEL, thinking=thinking)

    assert claude == expected
    assert deepseek == (None if expected is None else "high")


@pytest.mark.parametrize(
    ("model", "effort", "expected"),
    [
        (MODEL, "ultra", "max"),
        ("commandcode/gpt-5.4-mini", "ultra", "high"),
        ("commandcode/zai-org/GLM-5.1", "ultra", None),
        (MODEL, "minimal", "high"),
        ("commandcode/claude-sonnet-4-6", "minimal", "low"),
        (MODEL, "none", None),
    ],
)
def test_bug6_hermes_and_pi_level_names_on_chat_and_responses(
    client: openai.OpenAI, gateway: httpx.Client, server: FakeCommandCodeServer, model: str, effort: str, expected: str
) -> None:
    chat_response: Final = gateway.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hello"}], "reasoning_effort": effort},
    )
    client.responses.create(model=model, input="hello", reasoning={"effort": effort})  # type: ignore[typeddict-item]

    assert chat_response.status_code == 200, chat_response.text
    assert [wire_params(record).get("reasoning_effort") for record in server.requests] == [expected, expected]
