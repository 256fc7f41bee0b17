"""examples/config-production.yaml as shipped (with the environment its header asks for) serves Command Code models
through a real proxy against the fake server: answers byte-exact, streamed and not; its deployment timeouts reach the
Router; LITELLM_LOG=ERROR leaves no per-request line in the proxy's log. Its figures are `scripts/bench tuning`'s."""

import json
import secrets
import shutil
from collections.abc import Iterator
from typing import Final

import httpx
import pytest
import yaml

from litellm_commandcode.fake_server import REPLY_SUFFIX, FakeCommandCodeServer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ROOT, ProxyProcess
from tests.support.config_env import header_env
from tests.support.fake_stack import proxy_chat_stream, proxy_in_front

CONFIG: Final = ROOT / "examples" / "config-production.yaml"
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
MASTER_KEY: Final = f"sk-production-{secrets.token_hex(8)}"
REQUEST_SECONDS: Final = 60.0


@pytest.fixture(scope="module")
def proxy(server: FakeCommandCodeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("production")
    config: Final = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    if litellm_knows_commandcode():
        config["litellm_settings"].pop("custom_provider_map")
    shutil.copy(CONFIG, workdir / "as-shipped.yaml")
    env: Final = {"COMMANDCODE_API_KEY": "user_production", "LITELLM_MASTER_KEY": MASTER_KEY, **header_env(CONFIG)}
    with proxy_in_front(server, workdir, config, **env) as started:
        yield started


def post(proxy: ProxyProcess, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{proxy.url}{path}", headers={"Authorization": f"Bearer {MASTER_KEY}"}, json=body, timeout=REQUEST_SECONDS
    )


def test_the_header_asks_for_litellm_log_error() -> None:
    assert header_env(CONFIG) == {"LITELLM_LOG": "ERROR"}


def test_answers_are_byte_exact_streamed_and_not(proxy: ProxyProcess) -> None:
    messages: Final = [{"role": "user", "content": "production"}]
    whole: Final = post(proxy, "/v1/chat/completions", {"model": MODEL, "messages": messages})
    body: Final = {"model": MODEL, "messages": messages, "stream": True}
    with proxy_chat_stream(proxy, MASTER_KEY, body, REQUEST_SECONDS) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    streamed: Final = "".join(
        (choice.get("delta") or {}).get("content") or ""
        for line in lines[:-1]
        for choice in json.loads(line.removeprefix("data: ")).get("choices") or []
    )
    answer: Final = f"You said: production\n{REPLY_SUFFIX}"
    assert (whole.status_code, whole.json()["choices"][0]["message"]["content"]) == (200, answer)
    assert (response.status_code, streamed, lines[-1]) == (200, answer, "data: [DONE]")


def test_the_deployment_timeouts_reach_the_router(proxy: ProxyProcess) -> None:
    info: Final = httpx.get(
        f"{proxy.url}/v1/model/info", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=REQUEST_SECONDS
    ).json()["data"]
    served: Final = [entry for entry in info if entry["model_name"] == MODEL]
    assert [
        (entry["litellm_params"].get("timeout"), entry["litellm_params"].get("stream_timeout")) for entry in served
    ] == [(600, 120)], [entry["litellm_params"] for entry in served]


def test_no_log_line_per_request(proxy: ProxyProcess) -> None:
    start: Final = proxy.log_size()
    for _ in range(3):
        assert (
            post(
                proxy, "/v1/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
            ).status_code
            == 200
        )  # noqa: E501

    assert proxy.log_text(start) == ""
