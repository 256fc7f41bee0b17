"""What one failing request costs through a LiteLLM proxy on examples/config.yaml (its default `num_retries`): the
upstream calls the fake Command Code server received and the seconds until the client had its answer, per failure
kind, not streamed and streamed. One request per row, one fresh proxy per failure kind (a cooldown one row starts must
not answer the next); prints a Markdown table.

    LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python -m benchmarks.retry_costs [--config PATH]
"""

import argparse
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from litellm_commandcode.fake_server import FakeCommandCodeServer
from tests.proxy_process import ROOT, proxy_env, running_proxy

CONFIG: Final = ROOT / "examples" / "config.yaml"
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
KEY: Final = "user_retry_costs"
REQUEST_SECONDS: Final = 60.0
KINDS: Final = (
    ("usage window 429 (reset in 1 h)", "http_429 reset_in=3600"),
    ("usage window 429 (reset in 2 s)", "http_429 reset_in=2"),
    ("HTTP 503", "http_503"),
    ("HTTP 500", "http_500"),
    ("in-stream 503 before content", "stream_error_before status=503"),
    ("in-stream 429 before content", "stream_error_before status=429"),
    ("in-stream 500 after content", "stream_error_after status=500"),
    ("stream cut off (no finish)", "truncate"),
    ("connection reset mid-stream", "reset"),
    ("HTTP 400", "http_400"),
    ("HTTP 401", "http_401"),
)


@dataclass(frozen=True)
class Cost:
    status: int
    calls: int
    seconds: float
    retry_after: str | None


def one_request(client: httpx.Client, server: FakeCommandCodeServer, scenario: str, stream: bool) -> Cost:
    server.reset()
    body: Final = {
        "model": MODEL,
        "stream": stream,
        "messages": [{"role": "user", "content": f"hi [[fake:{scenario}]]"}],
    }
    started: Final = time.perf_counter()
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.read()
    seconds: Final = time.perf_counter() - started
    return Cost(response.status_code, len(server.requests), seconds, response.headers.get("retry-after"))


def table(rows: Sequence[tuple[str, str, Cost]]) -> str:
    lines: Final = ["| failure | mode | status | upstream calls | seconds | Retry-After |", "|---|---|---|---|---|---|"]
    lines.extend(
        f"| {kind} | {mode} | {cost.status} | {cost.calls} | {cost.seconds:.2f} | {cost.retry_after or ''} |"
        for kind, mode, cost in rows
    )
    return "\n".join(lines)


def main() -> None:
    parser: Final = argparse.ArgumentParser(prog="python -m benchmarks.retry_costs", description=__doc__)
    parser.add_argument("--config", type=Path, default=CONFIG, help="the proxy config (default examples/config.yaml)")
    config: Final[Path] = parser.parse_args().config
    master_key: Final = f"sk-retry-costs-{secrets.token_hex(8)}"
    rows: Final[list[tuple[str, str, Cost]]] = []
    with FakeCommandCodeServer() as server, tempfile.TemporaryDirectory() as workdir:
        env: Final = proxy_env(COMMANDCODE_API_BASE=server.url, COMMANDCODE_API_KEY=KEY, LITELLM_MASTER_KEY=master_key)
        for kind, scenario in KINDS:
            for stream in (False, True):
                with (
                    running_proxy(config, Path(workdir) / "proxy.log", env) as proxy,
                    httpx.Client(
                        base_url=proxy.url, headers={"Authorization": f"Bearer {master_key}"}, timeout=REQUEST_SECONDS
                    ) as client,
                ):
                    one_request(client, server, "ok", False)
                    mode = "stream" if stream else "json"
                    rows.append((kind, mode, one_request(client, server, scenario, stream)))
    print(table(rows))


if __name__ == "__main__":
    main()
