"""What a failing request costs through a real proxy on examples/config.yaml, counted in upstream calls by the fake
Command Code server: a usage-window 429 costs one call whatever `num_retries` says, and cools its deployment down until
the reset; transient failures are sent again twice (`num_retries: 2`); an error after streamed content is not.

The proxy's config is examples/config.yaml with its deployment copied under one model name per test (a lone deployment
of DeepSeek V4 Flash each), so that the cooldown one test starts does not answer another's request."""

import copy
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import httpx
import pytest
import yaml

from litellm_commandcode.fake_server import REPLY_SUFFIX, FakeCommandCodeServer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ROOT, ProxyProcess
from tests.support.fake_stack import proxy_http, proxy_in_front, upstream_keys
from tests.support.sse import parse_sse

CONFIG: Final = ROOT / "examples" / "config.yaml"
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
KEY: Final = "user_retries"
LIMITED_KEY: Final = "user_limited"
BACKUP_KEY: Final = "user_backup"
MASTER_KEY: Final = f"sk-retries-{secrets.token_hex(8)}"
REQUEST_SECONDS: Final = 60.0
RESET_IN: Final = 3600
# The Retry-After is the whole seconds left until the reset, rounded up, counted when the provider read the 429.
RETRY_AFTER_SLACK: Final = 5
WINDOW_CASES: Final = [(stream, retries) for stream in (False, True) for retries in (None, 0, 5)]
TRANSIENT: Final = (
    ("http_503", False, 503, 3),
    ("http_503", True, 503, 3),
    ("http_500", False, 500, 3),
    ("stream_error_before status=503", False, 503, 3),
    ("stream_error_before status=503", True, 503, 3),
    ("truncate", False, 502, 3),
    ("reset", False, 500, 3),
    ("truncate", True, 200, 1),
    ("reset", True, 200, 1),
)
BACKUP_GROUP: Final = "window-backup"


def window_group(stream: bool, retries: int | None) -> str:
    return f"window-{'stream' if stream else 'json'}-{retries}"


def fallback_group(stream: bool) -> str:
    return f"window-fallback-{'stream' if stream else 'json'}"


def transient_group(scenario: str, stream: bool) -> str:
    return f"transient-{scenario.replace(' ', '-')}-{'stream' if stream else 'json'}"


def retries_config() -> dict[str, object]:
    example: Final = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    deployment: Final = example["model_list"][0]

    def copied(name: str, **params: str) -> dict[str, object]:
        entry = copy.deepcopy(deployment)
        entry["model_name"] = name
        entry["litellm_params"].update({"model": MODEL, **params})
        return entry

    groups: Final = [window_group(stream, retries) for stream, retries in WINDOW_CASES] + [
        transient_group(scenario, stream) for scenario, stream, _, _ in TRANSIENT
    ]
    config: Final = {
        **example,
        "model_list": [
            *(copied(name) for name in groups),
            *(copied(fallback_group(stream), api_key=LIMITED_KEY) for stream in (False, True)),
            copied(BACKUP_GROUP, api_key=BACKUP_KEY),
        ],
        "router_settings": {
            **example["router_settings"],
            "fallbacks": [{fallback_group(stream): [BACKUP_GROUP]} for stream in (False, True)],
        },
    }
    if litellm_knows_commandcode():
        config.pop("litellm_settings", None)
    return config


@pytest.fixture(scope="module")
def proxy(server: FakeCommandCodeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("retries")
    config: Final = retries_config()
    with proxy_in_front(server, workdir, config, COMMANDCODE_API_KEY=KEY, LITELLM_MASTER_KEY=MASTER_KEY) as started:
        yield started


@pytest.fixture
def client(proxy: ProxyProcess, server: FakeCommandCodeServer, proxy_log_on_failure: None) -> Iterator[httpx.Client]:
    server.reset()
    with proxy_http(proxy, MASTER_KEY, REQUEST_SECONDS) as http:
        yield http


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    message: str
    content: str
    stream_error: str | None


def ask(client: httpx.Client, model: str, text: str, stream: bool, **extra: object) -> Answer:
    body: Final = {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}], **extra}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        raw = response.read().decode("utf-8")
    if response.status_code != 200:
        return Answer(response.status_code, response.headers, str(json.loads(raw)["error"]["message"]), "", None)
    if not stream:
        return Answer(200, response.headers, "", str(json.loads(raw)["choices"][0]["message"]["content"]), None)
    streamed: Final = parse_sse(response.status_code, raw)
    first_error: Final = str(streamed.errors[0]) if streamed.errors else None
    return Answer(200, response.headers, "", streamed.content, first_error)


def retry_after(answer: Answer) -> int:
    return int(answer.headers["retry-after"])


@pytest.mark.parametrize(
    ("stream", "retries"),
    [
        pytest.param(stream, retries, id=f"{'stream' if stream else 'json'}-num_retries={retries}")
        for stream, retries in WINDOW_CASES
    ],
)
def test_a_usage_window_429_costs_one_upstream_call_and_cools_the_deployment_down_until_the_reset(
    client: httpx.Client, server: FakeCommandCodeServer, stream: bool, retries: int | None
) -> None:
    group: Final = window_group(stream, retries)
    extra: Final = {} if retries is None else {"num_retries": retries}

    first: Final = ask(client, group, f"hi [[fake:http_429 reset_in={RESET_IN}]]", stream, **extra)
    calls_after_first: Final = len(server.requests)
    second: Final = ask(client, group, "hi again", stream, **extra)

    assert (first.status, calls_after_first) == (429, 1)
    assert "RATE_LIMITED: Usage limit reached for the fiveHour window." in first.message
    assert RESET_IN - RETRY_AFTER_SLACK <= retry_after(first) <= RESET_IN
    assert (second.status, len(server.requests)) == (429, 1)
    assert RESET_IN - RETRY_AFTER_SLACK <= retry_after(second) <= RESET_IN


@pytest.mark.parametrize("stream", [pytest.param(False, id="json"), pytest.param(True, id="stream")])
def test_a_usage_window_429_falls_back_to_another_model_at_once(
    client: httpx.Client, server: FakeCommandCodeServer, stream: bool
) -> None:
    server.set_key_scenario(LIMITED_KEY, f"http_429 reset_in={RESET_IN}")

    answers: Final = [ask(client, fallback_group(stream), "route me", stream) for _ in range(2)]

    assert [(answer.status, answer.content, answer.stream_error) for answer in answers] == [
        (200, f"You said: route me\n{REPLY_SUFFIX}", None)
    ] * 2
    assert upstream_keys(server.requests) == [LIMITED_KEY, BACKUP_KEY, BACKUP_KEY]


@pytest.mark.parametrize(
    ("scenario", "stream", "status", "calls"),
    [
        pytest.param(scenario, stream, status, calls, id=f"{scenario}-{'stream' if stream else 'json'}")
        for scenario, stream, status, calls in TRANSIENT
    ],
)
def test_transient_failures_are_sent_again_twice_unless_content_was_streamed(
    client: httpx.Client, server: FakeCommandCodeServer, scenario: str, stream: bool, status: int, calls: int
) -> None:
    answer: Final = ask(client, transient_group(scenario, stream), f"hi [[fake:{scenario}]]", stream)

    assert (answer.status, len(server.requests)) == (status, calls)
    assert "retry-after" not in answer.headers
    if status == 200:
        assert answer.stream_error is not None
        # The fake sent the first text deltas before it cut the connection, but the client may see fewer of them, or
        # none: the proxy's aiohttp stream reader raises a broken connection before the bytes it had buffered just
        # before it (aiohttp streams.py, `StreamReader.readany`). The answer started (its first chunk was sent), so it
        # is not retried either way.
        assert f"You said: hi [[fake:{scenario}]]\n{REPLY_SUFFIX}".startswith(answer.content)
