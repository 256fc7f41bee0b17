"""The test stack around the fake Command Code server: the fake itself (the `server` fixture of
tests/integration/conftest.py), a proxy in front of it (tests/proxy_process.py starts one), and what the fake
received, read from its request records. Every wait here is bounded in time and count."""

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

import httpx
import openai

from litellm_commandcode.fake_server import FakeCommandCodeServer, RequestRecord
from tests.proxy_process import ProxyProcess, proxy_env, running_proxy, write_config

POLL_SECONDS: Final = 0.005


@contextlib.contextmanager
def proxy_in_front(
    server: FakeCommandCodeServer, workdir: Path, config: Mapping[str, object] | Path, **env: str
) -> Iterator[ProxyProcess]:
    """A live proxy on `config` (a mapping is written to `workdir/config.yaml`) whose Command Code base URL is the
    fake's, with `env` added to its environment; its log is `workdir/proxy.log`."""
    path: Final = config if isinstance(config, Path) else write_config(workdir, config)
    with running_proxy(path, workdir / "proxy.log", proxy_env(COMMANDCODE_API_BASE=server.url, **env)) as proxy:
        yield proxy


@contextlib.contextmanager
def proxy_http(proxy: ProxyProcess, master_key: str, timeout: float) -> Iterator[httpx.Client]:
    """An HTTP client on the proxy's URL that sends the master key."""
    auth: Final = {"Authorization": f"Bearer {master_key}"}
    with httpx.Client(base_url=proxy.url, headers=auth, timeout=timeout) as http:
        yield http


@contextlib.contextmanager
def proxy_chat_stream(
    proxy: ProxyProcess, master_key: str, body: Mapping[str, object], timeout: float
) -> Iterator[httpx.Response]:
    """The proxy's streamed answer to the chat completion `body`, open while the block runs."""
    with (
        proxy_http(proxy, master_key, timeout) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        yield response


@contextlib.contextmanager
def openai_client(proxy: ProxyProcess, master_key: str, timeout: float) -> Iterator[openai.OpenAI]:
    """OpenAI's SDK on the proxy, without its own retries."""
    with openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=master_key, max_retries=0, timeout=timeout) as client:
        yield client


def generate_body(record: RequestRecord) -> dict[str, object]:
    """The request as the generate door's body: what the provider sent to `/alpha/generate`, or what a Provider API
    request stands for (the fake computes its answer on that)."""
    assert isinstance(record.generate_body, dict), record.summary()
    return record.generate_body


def generate_params(record: RequestRecord) -> dict[str, object]:
    """The `params` of :func:`generate_body`."""
    params: Final = generate_body(record)["params"]
    assert isinstance(params, dict)
    return params


def only_request(server: FakeCommandCodeServer) -> RequestRecord:
    """The one request the fake received."""
    records: Final = server.requests
    assert len(records) == 1, [record.summary() for record in records]
    return records[0]


def upstream_key(record: RequestRecord) -> str:
    """The Command Code key the request carried."""
    return record.headers.get("authorization", "").removeprefix("Bearer ")


def upstream_keys(records: Sequence[RequestRecord]) -> list[str]:
    """The Command Code key each request carried, in order."""
    return [upstream_key(record) for record in records]


def disconnect_delay(server: FakeCommandCodeServer, bound: float) -> float | None:
    """Seconds until the fake saw a client leave mid-answer, polled for up to three times `bound`; None if it did
    not."""
    start: Final = time.monotonic()
    for _ in range(int(bound * 3 / POLL_SECONDS) + 1):
        if server.disconnects >= 1:
            return time.monotonic() - start
        if time.monotonic() - start >= bound * 3:
            break
        time.sleep(POLL_SECONDS)
    return None


async def saw_disconnect(server: FakeCommandCodeServer, seconds: float, poll_seconds: float) -> bool:
    """Whether the fake saw a client leave mid-answer within `seconds`, without blocking the running event loop."""
    deadline: Final = time.monotonic() + seconds
    for _ in range(int(seconds / poll_seconds) + 1):
        if server.disconnects >= 1 or time.monotonic() > deadline:
            break
        await asyncio.sleep(poll_seconds)
    return server.disconnects >= 1
