"""Per-caller Command Code keys through a real proxy on examples/config.yaml: a caller that sends its own key
(`api_key` in the request body; `extra_body={"api_key": ...}` with the openai SDK) is served with it, every other
caller with the server's key; the fake server's record of the Authorization header each request carried is the proof.
A caller's usage window or revoked key stays theirs, and no key reaches the proxy's log or what LiteLLM hands to
logging integrations (a success callback records that payload, tests/support/spend_log.py)."""

import json
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import httpx
import pytest
import yaml

from litellm_commandcode.fake_server import REPLY_SUFFIX, FakeCommandCodeServer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ROOT, ProxyProcess
from tests.support import spend_log
from tests.support.fake_stack import proxy_http, proxy_in_front, upstream_keys

CONFIG: Final = ROOT / "examples" / "config.yaml"
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
SERVER_KEY: Final = f"user_server_{secrets.token_hex(6)}"
CALLER_KEYS: Final = {"alice": f"user_alice_{secrets.token_hex(6)}", "bob": f"user_bob_{secrets.token_hex(6)}"}
LIMITED_KEY: Final = f"user_limited_{secrets.token_hex(6)}"
REVOKED_KEY: Final = f"user_revoked_{secrets.token_hex(6)}"
MASTER_KEY: Final = f"sk-caller-keys-{secrets.token_hex(8)}"
REQUEST_SECONDS: Final = 60.0
# How long the proxy may take to run its success callbacks after it answered (they write the spend log).
SPEND_WAIT_SECONDS: Final = 10.0
ROUNDS: Final = 3
WORKERS: Final = 6
RESET_IN: Final = 3600
# More than LiteLLM's default allowed_fails (3 a minute), which would cool a shared deployment down.
REVOKED_REQUESTS: Final = 4


def caller_keys_config() -> dict[str, object]:
    config: Final = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    settings: Final = {} if litellm_knows_commandcode() else config["litellm_settings"]
    config["litellm_settings"] = {**settings, "callbacks": ["spend_log.handler"]}
    return config


@pytest.fixture(scope="module")
def spend_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("caller-keys-spend")


@pytest.fixture(scope="module")
def proxy(
    server: FakeCommandCodeServer, spend_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("caller-keys")
    shutil.copy(Path(spend_log.__file__), workdir / "spend_log.py")
    env: Final = {
        "COMMANDCODE_API_KEY": SERVER_KEY,
        "LITELLM_MASTER_KEY": MASTER_KEY,
        spend_log.SPEND_LOG_DIR_ENV: str(spend_dir),
    }
    with proxy_in_front(server, workdir, caller_keys_config(), **env) as started:
        yield started


@pytest.fixture
def client(proxy: ProxyProcess, server: FakeCommandCodeServer, proxy_log_on_failure: None) -> Iterator[httpx.Client]:
    server.reset()
    with proxy_http(proxy, MASTER_KEY, REQUEST_SECONDS) as http:
        yield http


def ask(client: httpx.Client, text: str, key: str | None = None, stream: bool = False) -> httpx.Response:
    body: Final = {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": text}]}
    with client.stream("POST", "/v1/chat/completions", json={**body, **({"api_key": key} if key else {})}) as answer:
        answer.read()
    return answer


def content(answer: httpx.Response, stream: bool) -> str:
    if not stream:
        return str(answer.json()["choices"][0]["message"]["content"])
    lines: Final = [line.removeprefix("data: ") for line in answer.text.splitlines() if line.startswith("data: {")]
    return "".join(
        str(choice["delta"].get("content") or "") for line in lines for choice in json.loads(line)["choices"]
    )


def said(record_body: object) -> str:
    assert isinstance(record_body, dict)
    return str(record_body["params"]["messages"][-1]["content"][0]["text"])


def test_each_caller_is_served_with_its_own_key_and_everyone_else_with_the_servers(
    client: httpx.Client, server: FakeCommandCodeServer
) -> None:
    callers: Final = [*CALLER_KEYS, "anonymous"]
    requests: Final = [
        (f"I am {caller} #{round_}-{stream}", CALLER_KEYS.get(caller), stream)
        for round_ in range(ROUNDS)
        for caller in callers
        for stream in (False, True)
    ]

    with ThreadPoolExecutor(WORKERS) as pool:
        answers: Final = list(pool.map(lambda request: ask(client, *request), requests))

    expected: Final = {text: key or SERVER_KEY for text, key, _ in requests}
    records: Final = server.requests
    seen: Final = dict(zip((said(record.body) for record in records), upstream_keys(records), strict=True))
    assert [answer.status_code for answer in answers] == [200] * len(requests)
    assert [content(answer, stream) for (_, _, stream), answer in zip(requests, answers, strict=True)] == [
        f"You said: {text}\n{REPLY_SUFFIX}" for text, _, _ in requests
    ]
    assert seen == expected


def test_a_callers_usage_window_or_revoked_key_stays_theirs(
    client: httpx.Client, server: FakeCommandCodeServer
) -> None:
    server.set_key_scenario(LIMITED_KEY, f"http_429 reset_in={RESET_IN}")
    server.set_key_scenario(REVOKED_KEY, "http_401")

    limited: Final = [ask(client, "hi", LIMITED_KEY) for _ in range(2)]
    revoked: Final = [ask(client, "hi", REVOKED_KEY) for _ in range(REVOKED_REQUESTS)]
    others: Final = [ask(client, "hi"), ask(client, "hi", CALLER_KEYS["alice"], stream=True)]

    assert [answer.status_code for answer in limited] == [429, 429]
    assert [RESET_IN - 5 <= int(answer.headers["retry-after"]) <= RESET_IN for answer in limited] == [True, True]
    assert [answer.status_code for answer in revoked] == [401] * REVOKED_REQUESTS
    assert [answer.status_code for answer in others] == [200, 200]
    assert upstream_keys(server.requests) == [
        LIMITED_KEY,
        LIMITED_KEY,
        *[REVOKED_KEY] * REVOKED_REQUESTS,
        SERVER_KEY,
        CALLER_KEYS["alice"],
    ]


def test_no_key_reaches_the_proxy_log_or_the_logging_payload(
    client: httpx.Client, proxy: ProxyProcess, spend_dir: Path
) -> None:
    answer: Final = ask(client, "log me", CALLER_KEYS["bob"])

    records: Final = spend_log.wait_for_spend(spend_dir, [str(answer.json()["id"])], SPEND_WAIT_SECONDS)
    logged: Final = [record["standard_logging_object"] for record in records]
    keys: Final = [SERVER_KEY, LIMITED_KEY, REVOKED_KEY, *CALLER_KEYS.values()]
    assert answer.status_code == 200
    assert any("log me" in str(payload) for payload in logged)
    assert [key for key in keys if key in proxy.log_text()] == []
    assert [key for key in keys for payload in logged if key in str(payload)] == []
