"""docs/providers/commandcode.md cannot rot: every code example on the page runs against the offline fake Command Code
server, and the page's tables are checked against the provider.

- ```python blocks run in this process, each in a fresh namespace, with COMMANDCODE_API_KEY and COMMANDCODE_API_BASE
  (the fake server) in the environment and stdout captured.
- The ```yaml blocks make up one proxy config (the block with `model_list`, the others merged into it; the plug-in's
  `custom_provider_map` only when LiteLLM does not ship `commandcode`); a real `litellm --config` process serves it.
- ```bash blocks (curl) run in bash against that proxy. In python and bash blocks, http://0.0.0.0:4000 and
  http://localhost:4000 become the proxy's URL and sk-1234 its master key.
- A block preceded by `<!-- docs-test: skip -->` is not run. Every other block needs a `title="..."` and a check in
  CHECKS below, which asserts its exact output against the fake's deterministic answer.
"""

import base64
import contextlib
import importlib.util
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Final

import httpx
import pytest
import yaml

import litellm
import litellm_commandcode
from litellm.llms.commandcode.chat.messages import MISSING_TOOL_RESULT
from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig
from litellm.llms.commandcode.common_utils import (
    COMMANDCODE_DEFAULT_MAX_TOKENS,
    COMMANDCODE_DEFAULT_VERSION,
    COMMANDCODE_MAX_TOKENS_LIMIT,
    COMMANDCODE_RETIRED_MODEL_IDS,
)
from litellm.llms.custom_httpx.http_handler import HTTPHandler
from litellm_commandcode.fake_server import REPLY_SUFFIX, FakeCommandCodeServer, RequestRecord, expected_answer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests import proxy_process
from tests.agent_matrix import agents
from tests.proxy_process import ProxyProcess, running_proxy, write_config
from tests.support.fake_stack import generate_body

NATIVE: Final = litellm_knows_commandcode()
ROOT: Final = Path(__file__).resolve().parents[2]
PAGE: Final = ROOT / "docs" / "providers" / "commandcode.md"
GENERATOR: Final = ROOT / "scripts" / "generate_docs_models.py"
COST_MAP: Final = json.loads((ROOT / "model_prices_and_context_window.json").read_text(encoding="utf-8"))

SKIP_MARKER: Final = "<!-- docs-test: skip -->"
FENCE: Final = re.compile(r"^```(?P<language>[\w-]+)(?P<info>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
TITLE: Final = re.compile(r'\btitle="(?P<title>[^"]+)"')
# Fence languages that run; any other language (json, text, …) is shown only.
LANGUAGES: Final[Mapping[str, str]] = {
    "python": "python",
    "py": "python",
    "bash": "bash",
    "shell": "bash",
    "sh": "bash",
    "yaml": "yaml",
    "yml": "yaml",
}
PAGE_PROXY_URLS: Final = ("http://0.0.0.0:4000", "http://localhost:4000")
PAGE_PROXY_KEY: Final = "sk-1234"
DOCS_KEY: Final = "user_docs"
MASTER_KEY: Final = f"sk-docs-test-{secrets.token_hex(16)}"
MODEL: Final = "deepseek/deepseek-v4-flash"
ROUTE: Final = f"commandcode/{MODEL}"
SCREENSHOT: Final = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WEB_IMAGE_HOST: Final = "upload.wikimedia.org"
WEB_IMAGE: Final = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
CLI_IDENTITY_HEADERS: Final = ("x-cli-environment", "x-project-slug", "x-taste-learning", "traceparent")
NEUTRAL_CONFIG_KEYS: Final = {
    "workingDir": "/tmp",
    "environment": "terminal",
    "structure": [],
    "isGitRepo": False,
    "currentBranch": "",
    "mainBranch": "",
    "gitStatus": "",
    "recentCommits": [],
}
BLOCK_SECONDS: Final = 60.0
NOT_SET_BY_THE_READER: Final = ("COMMAND_CODE_API_KEY", "COMMANDCODE_VERSION")


# ---------------------------------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    language: str
    title: str
    code: str
    line: int
    skipped: bool

    @property
    def uses_proxy(self) -> bool:
        return any(url in self.code for url in PAGE_PROXY_URLS)


def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


def page_blocks(text: str) -> list[Block]:
    blocks: Final[list[Block]] = []
    for match in FENCE.finditer(text):
        previous_line = text[: match.start()].rstrip("\n").rpartition("\n")[2]
        title = TITLE.search(match["info"])
        blocks.append(
            Block(
                language=LANGUAGES.get(match["language"], match["language"]),
                title=title["title"] if title else "",
                code=match["code"],
                line=text.count("\n", 0, match.start()) + 1,
                skipped=previous_line.strip() == SKIP_MARKER,
            )
        )
    return blocks


def runnable(blocks: Sequence[Block], *languages: str) -> list[Block]:
    return [block for block in blocks if not block.skipped and block.language in languages]


def section(text: str, heading: str) -> str:
    """The body of `## heading`, up to the next level-2 heading."""
    _, found, rest = text.partition(f"\n## {heading}\n")
    assert found, f"the page has no '## {heading}' section"
    return rest.split("\n## ", 1)[0]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every row of the markdown tables in `text`, header and separator rows left out."""
    rows: Final[list[list[str]]] = []
    lines: Final = text.splitlines()
    for index, line in enumerate(lines):
        is_row = line.startswith("|") and index > 0 and lines[index - 1].startswith("|")
        is_separator = re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line) is not None
        if is_row and not is_separator:
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


BLOCKS: Final = page_blocks(page_text())
EXECUTED: Final = runnable(BLOCKS, "python", "bash")


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures: the fake server, the proxy the page configures, the environment an example runs in
# ---------------------------------------------------------------------------------------------------------------------


def merged(base: Mapping[str, object], extra: Mapping[str, object]) -> dict[str, object]:
    result: Final = dict(base)
    for key, value in extra.items():
        current = result.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            result[key] = merged(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            result[key] = [*current, *value]
        else:
            result[key] = value
    return result


def is_plugin_block(config: Mapping[str, object]) -> bool:
    settings: Final = config.get("litellm_settings")
    return isinstance(settings, Mapping) and "custom_provider_map" in settings


def page_proxy_config(blocks: Sequence[Block]) -> dict[str, object]:
    """The page's proxy config: the yaml block with `model_list`, with every other yaml block merged into it; the
    plug-in's `custom_provider_map` only when LiteLLM does not ship the provider."""
    configs: Final = [yaml.safe_load(block.code) for block in runnable(blocks, "yaml")]
    base, *more_models = [config for config in configs if "model_list" in config]  # the Provider API route's block
    extras: Final = [*more_models, *(config for config in configs if "model_list" not in config)]
    assert len([config for config in extras if is_plugin_block(config)]) == 1
    result: dict[str, object] = dict(base)
    for extra in extras:
        if not (NATIVE and is_plugin_block(extra)):
            result = merged(result, extra)
    return result


def proxy_env(api_base: str) -> dict[str, str]:
    base: Final = {name: value for name, value in os.environ.items() if name not in NOT_SET_BY_THE_READER}
    return proxy_process.proxy_env(
        base,
        COMMANDCODE_API_BASE=api_base,
        COMMANDCODE_API_KEY=DOCS_KEY,
        LITELLM_MASTER_KEY=MASTER_KEY,
        # Stock LiteLLM cools a deployment down after some errors; the examples must not leak into each other.
        DEFAULT_COOLDOWN_TIME_SECONDS="0",
    )


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    """What the page assumes: LiteLLM knows `commandcode` (natively, or through the plug-in)."""
    assert litellm_commandcode.register() is (not NATIVE)


@pytest.fixture(scope="module")
def proxy(server: FakeCommandCodeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("docs-proxy")
    config: Final = write_config(workdir, page_proxy_config(BLOCKS))
    with running_proxy(config, workdir / "proxy.log", proxy_env(server.url)) as started:
        yield started


@dataclass
class WebImages:
    """Stands in for the internet: LiteLLM downloads http(s) image URLs through `litellm.module_level_client`."""

    fetched: list[str] = field(default_factory=list)

    def serve(self, request: httpx.Request) -> httpx.Response:
        self.fetched.append(str(request.url))
        if request.url.host != WEB_IMAGE_HOST:
            return httpx.Response(404)
        return httpx.Response(200, content=WEB_IMAGE, headers={"content-type": "image/jpeg"})


@pytest.fixture
def web_images(monkeypatch: pytest.MonkeyPatch) -> WebImages:
    images: Final = WebImages()
    client: Final = HTTPHandler(client=httpx.Client(transport=httpx.MockTransport(images.serve)))
    monkeypatch.setattr(litellm, "module_level_client", client)
    # No DNS here: LiteLLM's SSRF check would refuse to resolve the page's real image host.
    monkeypatch.setattr(litellm, "user_url_validation", False, raising=False)
    return images


@pytest.fixture
def example_env(
    server: FakeCommandCodeServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    web_images: WebImages,
) -> Iterator[None]:
    """The environment of a reader who followed "Required Variables", in a scratch directory with a screenshot.png;
    whatever an example does to os.environ is undone afterwards."""
    saved: Final = dict(os.environ)
    monkeypatch.setenv("COMMANDCODE_API_KEY", DOCS_KEY)
    monkeypatch.setenv("COMMANDCODE_API_BASE", server.url)
    for name in NOT_SET_BY_THE_READER:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "screenshot.png").write_bytes(SCREENSHOT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    monkeypatch.setattr(litellm, "drop_params", litellm.drop_params)
    server.reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ---------------------------------------------------------------------------------------------------------------------
# Running an example
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    stdout: str
    requests: list[RequestRecord]
    images: WebImages
    said: str

    def text(self) -> str:
        """The fake's answer to the one request: its echo of what the example said."""
        text: Final = self.answer()["text"]
        assert text == f"You said: {self.said}\n{REPLY_SUFFIX}"
        return str(text)

    def only_request(self) -> RequestRecord:
        assert len(self.requests) == 1, [record.summary() for record in self.requests]
        return self.requests[0]

    def answer(self, index: int = 0) -> dict[str, object]:
        return expected_answer(generate_body(self.requests[index]))  # what the fake answered on, on either door


def for_proxy(code: str, proxy_url: str) -> str:
    for url in PAGE_PROXY_URLS:
        code = code.replace(url, proxy_url)
    return code.replace(PAGE_PROXY_KEY, MASTER_KEY)


def run_python(block: Block, code: str) -> str:
    stdout: Final = io.StringIO()
    namespace: Final[dict[str, object]] = {"__name__": "__main__", "__file__": f"{PAGE}:{block.line}"}
    with contextlib.redirect_stdout(stdout):
        exec(compile(code, f"{PAGE}:{block.line}", "exec"), namespace)
    return stdout.getvalue()


def run_bash(code: str) -> str:
    completed: Final = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", code], capture_output=True, timeout=BLOCK_SECONDS, check=False
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    return completed.stdout.decode("utf-8")


# ---------------------------------------------------------------------------------------------------------------------
# What each example must print and send
# ---------------------------------------------------------------------------------------------------------------------


def usage_of(answer: Mapping[str, object]) -> Mapping[str, object]:
    usage: Final = answer["usage"]
    assert isinstance(usage, dict)
    return usage


def hand_cost(route: str, usage: Mapping[str, object]) -> Decimal:
    entry: Final = COST_MAP[route]
    details: Final = usage["inputTokenDetails"]
    assert isinstance(details, dict)
    cached: Final = Decimal(details["cacheReadTokens"])
    return (
        (Decimal(str(usage["inputTokens"])) - cached) * Decimal(str(entry["input_cost_per_token"]))
        + cached * Decimal(str(entry["cache_read_input_token_cost"]))
        + Decimal(str(usage["outputTokens"])) * Decimal(str(entry["output_cost_per_token"]))
    )


def params_of(record: RequestRecord) -> dict[str, object]:
    assert isinstance(record.body, dict)
    params: Final = record.body["params"]
    assert isinstance(params, dict)
    return params


def user_parts(record: RequestRecord) -> list[object]:
    messages: Final = params_of(record)["messages"]
    assert isinstance(messages, list)
    content: Final = messages[-1]["content"]
    assert isinstance(content, list)
    return content


def check_environment_variables(run: Run) -> None:
    assert run.stdout == ""
    assert run.requests == []


def check_per_call_settings(run: Run) -> None:
    record: Final = run.only_request()
    assert record.headers["x-command-code-version"] == "1.66.0"
    assert isinstance(record.body, dict)
    assert record.body["threadId"] == record.headers["x-session-id"] == "6f1c0b9e-3a43-4c5e-9b1d-2f7f6f0c7a11"
    assert run.stdout == f"{run.text()}\n"


def check_non_streaming(run: Run) -> None:
    record: Final = run.only_request()
    answer: Final = run.answer()
    usage: Final = usage_of(answer)
    assert run.stdout.splitlines() == [
        *run.text().splitlines(),
        f"{usage['inputTokens']} {usage['outputTokens']}",
        f"${hand_cost(ROUTE, usage):.8f}",
    ]
    # The Limitations section: an honest client, a neutral working directory.
    assert record.headers["user-agent"].startswith("litellm/")
    assert [name for name in CLI_IDENTITY_HEADERS if name in record.headers] == []
    assert isinstance(record.body, dict)
    config: Final = record.body["config"]
    assert isinstance(config, dict)
    assert {key: config[key] for key in NEUTRAL_CONFIG_KEYS} == NEUTRAL_CONFIG_KEYS
    recent_utc_dates: Final = {time.strftime("%Y-%m-%d", time.gmtime(time.time() - ago)) for ago in (0, BLOCK_SECONDS)}
    assert config["date"] in recent_utc_dates
    assert params_of(record)["max_tokens"] == COMMANDCODE_DEFAULT_MAX_TOKENS
    assert record.headers["x-session-id"] == record.body["threadId"]


def check_streaming(run: Run) -> None:
    run.only_request()
    usage: Final = usage_of(run.answer())
    tokens: Final = f"[{usage['inputTokens']} prompt + {usage['outputTokens']} completion tokens]"
    assert run.stdout == f"{run.text()}\n{tokens}\n"


def check_prints_the_answer(run: Run) -> None:
    run.only_request()
    assert run.stdout == f"{run.text()}\n"


def check_provider_api_route(run: Run) -> None:
    assert run.only_request().path == "/provider/v1/chat/completions"
    assert run.stdout == f"{run.text()}\n"


def check_curl_chat(run: Run) -> None:
    run.only_request()
    response: Final = json.loads(run.stdout)
    assert response["choices"][0]["message"]["content"] == run.text()
    assert response["choices"][0]["finish_reason"] == "stop"
    assert response["usage"]["prompt_tokens"] == usage_of(run.answer())["inputTokens"]


def check_curl_messages(run: Run) -> None:
    run.only_request()
    answer: Final = run.answer()
    response: Final = json.loads(run.stdout)
    assert response["type"] == "message"
    assert response["content"] == [
        {"type": "thinking", "thinking": answer["reasoning"], "signature": None},
        {"type": "text", "text": run.text()},
    ]
    assert response["stop_reason"] == "end_turn"


def check_curl_responses(run: Run) -> None:
    run.only_request()
    response: Final = json.loads(run.stdout)
    messages: Final = [item for item in response["output"] if item["type"] == "message"]
    assert [part["text"] for item in messages for part in item["content"]] == [run.text()]
    assert response["status"] == "completed"


def check_tool_round_trip(run: Run) -> None:
    assert len(run.requests) == 2
    assert user_parts(run.requests[0]) == [{"type": "text", "text": run.said}]
    first: Final = run.answer(0)
    [call] = first["tool_calls"]
    assert (call["name"], call["input"]) == ("get_weather", {"city": "Paris"})
    result: Final = json.dumps({"city": "Paris", "temperature_c": 18, "conditions": "light rain"})
    second: Final = run.answer(1)
    assert second["text"] == f"The tool returned: {result}."
    assert run.stdout == f"tool_calls\nget_weather {{'city': 'Paris'}}\n{second['text']}\n"
    messages: Final = params_of(run.requests[1])["messages"]
    assert messages[1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": first["reasoning"]},
                {"type": "tool-call", "toolCallId": call["id"], "toolName": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": call["id"],
                    "toolName": "get_weather",
                    "output": {"type": "text", "value": result},
                }
            ],
        },
    ]


def check_curl_tool_call(run: Run) -> None:
    assert user_parts(run.only_request()) == [{"type": "text", "text": run.said}]
    [call] = run.answer()["tool_calls"]
    choice: Final = json.loads(run.stdout)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [tool_call] = choice["message"]["tool_calls"]
    assert (tool_call["id"], tool_call["function"]["name"]) == (call["id"], "get_weather")
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Paris"}


def check_reasoning(run: Run) -> None:
    record: Final = run.only_request()
    answer: Final = run.answer()
    assert params_of(record)["reasoning_effort"] == "high"
    reasoning_tokens: Final = usage_of(answer)["outputTokenDetails"]["reasoningTokens"]
    assert answer["reasoning"] == "The user wrote 5 words. I will answer briefly."
    assert run.stdout == (
        f"thinking: {answer['reasoning']}\nanswer: {run.text()}\nreasoning tokens: {reasoning_tokens}\n"
    )


def check_streamed_reasoning(run: Run) -> None:
    record: Final = run.only_request()
    answer: Final = run.answer()
    assert params_of(record)["reasoning_effort"] == "high"
    assert run.stdout == f"thinking: {answer['reasoning']}\nanswer: {run.text()}\n"


def check_image_file(run: Run) -> None:
    record: Final = run.only_request()
    data_url: Final = "data:image/png;base64," + base64.b64encode(SCREENSHOT).decode()
    assert user_parts(record) == [
        {"type": "text", "text": "What does this screenshot show?"},
        {"type": "image", "image": data_url, "mimeType": "image/png"},
    ]
    assert run.stdout == f"{run.text()}\n"


def check_image_url(run: Run) -> None:
    record: Final = run.only_request()
    assert [httpx.URL(url).host for url in run.images.fetched] == [WEB_IMAGE_HOST]
    data_url: Final = "data:image/jpeg;base64," + base64.b64encode(WEB_IMAGE).decode()
    assert user_parts(record) == [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image", "image": data_url, "mimeType": "image/jpeg"},
    ]
    assert run.stdout == f"{run.text()}\n"


def check_text_only_model(run: Run) -> None:
    assert run.requests == []
    assert run.stdout == (
        "400 litellm.BadRequestError: CommandcodeException - messages[0]: model deepseek/deepseek-v4-flash does not "
        "accept images (text-only); remove the image or pick a vision model\n"
    )


def check_unsupported_parameters(run: Run) -> None:
    record: Final = run.only_request()
    assert "top_p" not in params_of(record)
    assert run.stdout == f"rejected: 400\n{run.text()}\n"


def check_handling_an_error(run: Run) -> None:
    record: Final = run.only_request()
    assert (record.status, params_of(record)["model"]) == (403, "qwen/qwen3.8-max")
    assert run.stdout == (
        "403 litellm.PermissionDeniedError: CommandcodeException - FORBIDDEN: Model/provider not recognized: "
        "qwen/qwen3.8-max (https://commandcode.ai/docs/reference/errors/forbidden)\n"
    )


# title -> (what the example says to the model, the check)
CHECKS: Final[Mapping[str, tuple[str, Callable[[Run], None]]]] = {
    "Environment Variables": ("", check_environment_variables),
    "Per-call settings": ("Hello", check_per_call_settings),
    "Command Code non-streaming": ("Write a haiku about code review.", check_non_streaming),
    "Command Code streaming": ("Write a haiku about code review.", check_streaming),
    "Register the plug-in": ("Hello from the plug-in", check_prints_the_answer),
    "Proxy request with curl": ("Hello from curl", check_curl_chat),
    "Proxy request with the OpenAI SDK": ("Hello from the OpenAI SDK", check_prints_the_answer),
    "Proxy /v1/messages request": ("Hello from the Messages API", check_curl_messages),
    "Proxy /responses request": ("Hello from the Responses API", check_curl_responses),
    "Tool call round trip": ("What is the weather in Paris?", check_tool_round_trip),
    "Proxy tool call with curl": ("What is the weather in Paris?", check_curl_tool_call),
    "Reasoning effort": ("Is 2**31 - 1 prime?", check_reasoning),
    "Streamed reasoning through the proxy": ("Is 2**31 - 1 prime?", check_streamed_reasoning),
    "Image from a file": ("What does this screenshot show?", check_image_file),
    "Image from a URL": ("What is in this picture?", check_image_url),
    "Image for a text-only model": ("What is in this picture?", check_text_only_model),
    "Unsupported parameters": ("Name three sorting algorithms.", check_unsupported_parameters),
    "Handling an error": ("Hello", check_handling_an_error),
    "Retries and fallbacks": ("Hello from the router", check_prints_the_answer),
    "Provider API route with the SDK": ("Hello over the Provider API", check_provider_api_route),
}


def test_every_block_is_runnable_or_marked_skipped_and_every_executed_block_has_a_check() -> None:
    titles: Final = [block.title for block in EXECUTED]
    skipped: Final = [block.title for block in BLOCKS if block.skipped]

    assert all(titles), [block.line for block in EXECUTED if not block.title]
    assert len(set(titles)) == len(titles)
    assert titles == list(CHECKS)
    assert skipped == [
        "Install the plug-in",
        "Start the proxy",
        "Pi",
        "Claude Code",
        "Codex CLI",
        "OpenCode and Kilo CLI",
        "Cline",
        "~/.hermes/config.yaml",
        "Hermes Agent",
        "config.yaml (retries)",
        "config.yaml (scale out)",
        "Your own Command Code key",
        "Compare with the live model list",
    ]
    assert all(block.code.startswith("curl ") for block in EXECUTED if block.language != "python")


def test_the_retry_and_scale_out_configs_are_the_tested_examples() -> None:
    """They need Redis or several deployments, so they are not served here: they are examples/config.yaml's router
    settings (tests/integration/test_retries.py) and examples/config-scale-out.yaml (test_scale_out.py)."""
    blocks: Final = {block.title: yaml.safe_load(block.code) for block in BLOCKS if block.language == "yaml"}
    example: Final = yaml.safe_load((ROOT / "examples" / "config.yaml").read_text(encoding="utf-8"))
    scale_out: Final = yaml.safe_load((ROOT / "examples" / "config-scale-out.yaml").read_text(encoding="utf-8"))
    scale_out.pop("litellm_settings")

    assert blocks["config.yaml (retries)"] == {"router_settings": example["router_settings"]}
    assert blocks["config.yaml (scale out)"] == scale_out


def test_no_example_hard_codes_an_api_base() -> None:
    executed: Final = [block for block in BLOCKS if not block.skipped]
    assert [block.title for block in executed if "api_base" in block.code or "api.commandcode.ai" in block.code] == []


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize("block", EXECUTED, ids=[block.title for block in EXECUTED])
def test_example_runs_and_prints_what_the_page_promises(
    block: Block, request: pytest.FixtureRequest, server: FakeCommandCodeServer, web_images: WebImages
) -> None:
    # Checked before anything runs: an unmarked `pip install` or server start must fail here, not execute.
    said_and_check: Final = CHECKS.get(block.title)
    if said_and_check is None:
        pytest.fail(f"line {block.line}: no check for {block.title!r}; add one to CHECKS or mark the block skipped")
    if block.language != "python" and not block.code.startswith("curl "):
        pytest.fail(f"line {block.line}: only curl commands run as shell blocks; mark {block.title!r} skipped")
    code = block.code
    if block.uses_proxy:
        proxy: Final[ProxyProcess] = request.getfixturevalue("proxy")
        code = for_proxy(code, proxy.url)
    server.reset()

    stdout: Final = run_python(block, code) if block.language == "python" else run_bash(code)

    said, check = said_and_check
    check(Run(stdout=stdout, requests=server.requests, images=web_images, said=said))


# ---------------------------------------------------------------------------------------------------------------------
# The page's tables and facts
# ---------------------------------------------------------------------------------------------------------------------


def load_generator() -> ModuleType:
    spec: Final = importlib.util.spec_from_file_location("generate_docs_models", GENERATOR)
    assert spec is not None and spec.loader is not None
    module: Final = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_tables_are_current() -> None:
    text: Final = page_text()

    assert load_generator().render(text) == text, "stale tables: run python scripts/generate_docs_models.py"


def test_the_generator_run_as_a_command_finds_the_tables_current() -> None:
    """As the docs say to run it: its own process, where nothing registered the provider's cost map entries first."""
    done: Final = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, timeout=120, check=False
    )

    assert (done.returncode, done.stdout.strip()) == (0, f"{PAGE}: generated tables are up to date")


def test_supported_models_table_lists_every_cost_map_entry_in_order() -> None:
    rows: Final = table_rows(section(page_text(), "Supported Models"))

    assert [row[0].strip("`") for row in rows] == [name for name in COST_MAP if name.startswith("commandcode/")]


def test_supported_parameters_table_is_exactly_the_providers_list() -> None:
    rows: Final = table_rows(section(page_text(), "Supported OpenAI Parameters"))

    assert [row[0].strip("`") for row in rows] == CommandCodeChatConfig().get_supported_openai_params(ROUTE)


def test_parameters_the_page_calls_unsupported_are_the_ones_the_errors_test_sends() -> None:
    prose: Final = section(page_text(), "Supported OpenAI Parameters")
    named: Final = re.search(r"Other OpenAI parameters \((?P<names>[^)]*)\)", prose)

    assert named is not None
    assert re.findall(r"`(\w+)`", named["names"]) == list(UNSUPPORTED_PARAMS)


def test_page_states_the_providers_constants() -> None:
    text: Final = page_text()
    limitations: Final = section(text, "Limitations")

    for old, new in COMMANDCODE_RETIRED_MODEL_IDS.items():
        assert f"`{old}` → `{new}`" in limitations
    assert f"`{MISSING_TOOL_RESULT}`" in limitations
    assert f"{COMMANDCODE_DEFAULT_MAX_TOKENS:,}" in limitations
    assert f"{COMMANDCODE_MAX_TOKENS_LIMIT:,}" in limitations
    assert f"| `COMMANDCODE_VERSION` | `{COMMANDCODE_DEFAULT_VERSION}` |" in section(text, "Required Variables")


def test_proxy_config_from_the_page_serves_the_models_and_drops_unsupported_parameters(
    proxy: ProxyProcess, server: FakeCommandCodeServer
) -> None:
    server.reset()
    headers: Final = {"Authorization": f"Bearer {MASTER_KEY}"}
    body: Final = {"model": "commandcode/claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}]}

    response: Final = httpx.post(f"{proxy.url}/v1/chat/completions", headers=headers, json={**body, "top_p": 0.5})

    assert response.status_code == 200, response.text
    [record] = server.requests
    assert params_of(record)["model"] == "claude-sonnet-4-6"
    assert "top_p" not in params_of(record)


def test_the_provider_api_config_from_the_page_sends_each_model_to_its_endpoint(
    proxy: ProxyProcess, server: FakeCommandCodeServer
) -> None:
    server.reset()
    headers: Final = {"Authorization": f"Bearer {MASTER_KEY}"}
    messages: Final = [{"role": "user", "content": "hi"}]

    for model in ("deepseek-v4-flash-api", "claude-sonnet-4-6-api", "deepseek-v4-flash"):
        response = httpx.post(
            f"{proxy.url}/v1/chat/completions", headers=headers, json={"model": model, "messages": messages}
        )
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == f"You said: hi\n{REPLY_SUFFIX}"

    assert [record.path for record in server.requests] == [
        "/provider/v1/chat/completions",
        "/provider/v1/messages",
        "/alpha/generate",
    ]


# ---------------------------------------------------------------------------------------------------------------------
# The Errors table: every exception it names is the one LiteLLM raises for that situation
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    scenario: str = ""
    stream: bool = False
    model: str = ROUTE
    image: str = ""  # a data URL sent as an image_url part
    without_key: bool = False
    extra: Mapping[str, object] = field(default_factory=dict)


# The parameters the "Supported OpenAI Parameters" section names as unsupported.
UNSUPPORTED_PARAMS: Final[Mapping[str, object]] = {
    "top_p": 0.5,
    "stop": ["\n"],
    "n": 2,
    "response_format": {"type": "json_object"},
    "seed": 1,
    "logprobs": True,
}


TINY_PNG: Final = "data:image/png;base64,iVBORw0KGgo="
VISION_ROUTE: Final = "commandcode/claude-sonnet-4-6"


def both(scenario: str) -> list[Trigger]:
    return [Trigger(scenario), Trigger(scenario, stream=True)]


ERROR_TRIGGERS: Final[Mapping[str, list[Trigger]]] = {
    "Bad or missing API key": [*both("http_401"), Trigger(without_key=True)],
    "`upgrade_required`: the client version is too old": both("http_403_upgrade"),
    "`MODEL_NOT_IN_PLAN`": both("http_403_plan"),
    "`Model/provider not recognized`: unknown model id": [
        *both("http_403_model"),
        Trigger(model="commandcode/qwen/qwen3.8-max"),
    ],
    "Prompt longer than the model's context window (`prompt is too long`, HTTP or inside the stream)": [
        *both("http_400_context"),
        *both("stream_context"),
    ],
    "Insufficient credits": both("http_400_credits"),
    "`Proxy use detected. This endpoint only serves CLI.`": both("http_400_proxy"),
    "Plan usage window (five-hour, daily, weekly) exhausted": [
        *both("http_429"),
        *both("http_429 window=daily"),
        *both("http_429 window=weekly"),
    ],
    "Server errors": [*both("http_500"), *both("http_502"), *both("http_503")],
    "Error event inside the stream, before any content": [
        *both("stream_error_before status=429"),
        *both("stream_error_before status=503"),
        *both("stream_error_string"),
    ],
    "Error event after the answer started streaming": both("stream_error_after status=503"),
    "The stream ended without Command Code's finish event (truncated)": both("truncate"),
    "Connection dropped in the middle of the answer": both("reset"),
    "Parameter the provider cannot send": [
        *(Trigger(extra={name: value}) for name, value in UNSUPPORTED_PARAMS.items()),
        Trigger(extra={"tool_choice": "required"}),
        Trigger(extra={"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    ],
    "Image for a text-only model": [Trigger(image=TINY_PNG)],
    "Image over 5 MiB, or not PNG, JPEG, GIF or WebP": [
        Trigger(model=VISION_ROUTE, image="data:image/png;base64," + "A" * (5 * 1024 * 1024 * 4 // 3 + 4)),
        Trigger(model=VISION_ROUTE, image="data:image/tiff;base64,SUkqAA=="),
        Trigger(model=VISION_ROUTE, image="data:image/svg+xml;base64,PHN2Zy8+"),
    ],
}
# What the error message tells the user, where the table's "What to do" relies on it.
ERROR_MESSAGES: Final[Mapping[str, str]] = {
    "`upgrade_required`: the client version is too old": (
        "set the COMMANDCODE_VERSION environment variable or pass commandcode_version=..."
    ),
    "`MODEL_NOT_IN_PLAN`": "MODEL_NOT_IN_PLAN: deepseek/deepseek-v4-flash is not included in your current plan.",
    "Insufficient credits": "Your Command Code account is out of credits",
    "`Proxy use detected. This endpoint only serves CLI.`": (
        "commandcode_route: provider_api in litellm_params (or commandcode_route='provider_api' per call), or "
        "COMMANDCODE_ROUTE=provider_api in the environment"
    ),
    "Plan usage window (five-hour, daily, weekly) exhausted": "usage window of your plan is exhausted; it resets at ",
    "The stream ended without Command Code's finish event (truncated)": "stream ended before completion",
}
ERROR_ROWS: Final = {row[0]: row for row in table_rows(section(page_text(), "Errors"))}


def raised_by(trigger: Trigger, server: FakeCommandCodeServer, monkeypatch: pytest.MonkeyPatch) -> Exception:
    if trigger.without_key:
        monkeypatch.delenv("COMMANDCODE_API_KEY")
    text: Final = f"Hello [[fake:{trigger.scenario}]]" if trigger.scenario else "Hello"
    image: Final = {"type": "image_url", "image_url": {"url": trigger.image}}
    content: Final = [{"type": "text", "text": text}, image] if trigger.image else text
    server.reset()
    try:
        response = litellm.completion(
            model=trigger.model,
            messages=[{"role": "user", "content": content}],
            stream=trigger.stream,
            num_retries=0,
            **trigger.extra,
        )
        for _ in response if trigger.stream else ():
            pass
    except Exception as error:
        if trigger.without_key or trigger.image or trigger.extra:
            assert server.requests == [], "refused before sending: nothing may reach Command Code"
        return error
    finally:
        monkeypatch.setenv("COMMANDCODE_API_KEY", DOCS_KEY)
    pytest.fail(f"{trigger} raised nothing")


def test_errors_table_has_a_trigger_for_every_row() -> None:
    assert list(ERROR_ROWS) == list(ERROR_TRIGGERS)


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize("situation", list(ERROR_TRIGGERS), ids=list(ERROR_TRIGGERS))
def test_errors_table_names_the_exception_litellm_raises(
    situation: str, server: FakeCommandCodeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, status_cell, exception_cell, _ = ERROR_ROWS[situation]
    named: Final = set(re.findall(r"`litellm\.(\w+)`", exception_cell))
    statuses: Final = {int(status) for status in re.findall(r"\d{3}", status_cell)}

    errors: Final = [raised_by(trigger, server, monkeypatch) for trigger in ERROR_TRIGGERS[situation]]

    assert {type(error).__name__ for error in errors} == named
    assert all(type(error).__module__ == "litellm.exceptions" for error in errors)
    message: Final = ERROR_MESSAGES.get(situation, "")
    assert [str(error) for error in errors if message not in str(error)] == []
    if re.fullmatch(r"[\d, ]+", status_cell):
        assert {getattr(error, "status_code", None) for error in errors} == statuses


def test_usage_window_429_says_when_to_retry_in_the_sdk_and_through_the_proxy(
    proxy: ProxyProcess, server: FakeCommandCodeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMANDCODE_API_KEY", DOCS_KEY)
    monkeypatch.setenv("COMMANDCODE_API_BASE", server.url)
    monkeypatch.setattr(litellm, "suppress_debug_info", True)
    messages: Final = [{"role": "user", "content": "Hello [[fake:http_429 reset_in=600]]"}]

    with pytest.raises(litellm.RateLimitError) as raised:
        litellm.completion(model=ROUTE, messages=messages, num_retries=0)
    response: Final = httpx.post(
        f"{proxy.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        json={"model": "deepseek-v4-flash", "messages": messages, "num_retries": 0},
    )

    assert raised.value.headers is not None
    assert 590 <= int(raised.value.headers["retry-after"]) <= 600
    assert "The fiveHour usage window of your plan is exhausted; it resets at " in raised.value.message
    assert response.status_code == 429
    assert 590 <= int(response.headers["retry-after"]) <= 600


AGENT_DOC_URL: Final = "http://localhost:4000"
# Configurations the page shows once for several agents: (agent, file) -> the shown file's title and the substitutions
# that turn the shown text into this agent's file.
AGENT_DOC_VARIANTS: Final[Mapping[tuple[str, str], tuple[str, Sequence[tuple[str, str]]]]] = {
    ("pi/openai-responses", "~/.pi/agent/models.json"): (
        "~/.pi/agent/models.json",
        (('"openai-completions"', '"openai-responses"'),),
    ),
    ("pi/anthropic-messages", "~/.pi/agent/models.json"): (
        "~/.pi/agent/models.json",
        (('"openai-completions"', '"anthropic-messages"'), (f'"{AGENT_DOC_URL}/v1"', f'"{AGENT_DOC_URL}"')),
    ),
    ("kilo", "~/.config/kilo/kilo.json"): (
        "~/.config/opencode/opencode.json",
        (("https://opencode.ai/config.json", "https://app.kilo.ai/config.json"),),
    ),
}


def agent_files(tmp: Path, agent: agents.Agent) -> dict[str, str]:
    """Every file the matrix writes for `agent` (a reasoning turn), by its path under ~, with the page's URL and key."""
    place: Final = agents.Place(home=tmp, workspace=tmp / "work", url=AGENT_DOC_URL, key=PAGE_PROXY_KEY, binary=tmp)
    agent.configure(place)
    agent.command(place, agents.Turn("prompt", reasoning=True, resume=False))
    return {f"~/{path.relative_to(tmp)}": path.read_text(encoding="utf-8") for path in tmp.rglob("*") if path.is_file()}


@pytest.mark.parametrize("agent", agents.AGENTS, ids=[agent.name for agent in agents.AGENTS])
def test_the_coding_agent_configurations_on_the_page_are_the_ones_the_matrix_runs(
    agent: agents.Agent, tmp_path: Path
) -> None:
    shown: Final = {block.title: block.code for block in page_blocks(section(page_text(), "Use with coding agents"))}
    files: Final = agent_files(tmp_path, agent)
    assert files
    for path, text in files.items():
        title, substitutions = AGENT_DOC_VARIANTS.get((agent.name, path), (path, ()))
        expected = shown[title]
        for old, new in substitutions:
            expected = expected.replace(old, new)
        assert text == expected, f"{agent.name}: {path}"


ARCHITECTURE_PATH: Final = re.compile(
    r"`((?:litellm|litellm_commandcode|tests|benchmarks|scripts|examples|docs)/[^`]*)`"
)


def test_every_path_architecture_md_names_exists() -> None:
    text: Final = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named: Final = sorted(set(ARCHITECTURE_PATH.findall(text)))
    assert len(named) >= 20
    assert [path for path in named if not (ROOT / path).exists()] == []
