"""Load and stalls on the two-instance setup (examples/config-scale-out.yaml, one real Redis, two Command Code keys)
against the in-process fake server: many concurrent streams answer byte-exact and leave no connection or asyncio task
behind; a stream the server stops sending is cut off by the deployment's `stream_timeout` and reported as an error; a
client that leaves mid-stream makes the proxy close its upstream request.

The suite runs STREAMS concurrent streams (the 2-core machine runs the whole suite at once); `scripts/bench load`
runs 500 and prints the figures (time, memory per instance). Correctness only: no assertion on time."""

import asyncio
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Final, TypeVar

import httpx
import pytest

from litellm_commandcode.fake_server import REPLY_SUFFIX, FakeCommandCodeServer
from tests.proxy_process import ProxyProcess, proxy_env
from tests.support import task_probe
from tests.support.fake_stack import proxy_chat_stream
from tests.support.scale_out import ProxyCluster, cluster_config, running_cluster
from tests.support.sockets import open_sockets
from tests.support.sse import Streamed, parse_sse, read_events

STREAMS: Final = 100
WARM_UP_STREAMS: Final = 4
STALL_TIMEOUT_SECONDS: Final = 2.0
STALL: Final = "stall_mid seconds=30"
# The fake's first two text deltas of its answer to `hi [[fake:STALL]]`, which `stall_mid` sends before it pauses.
STALLED_PREFIX: Final = f"You said: hi [[fake:{STALL}]]\nThis "
MASTER_KEY: Final = f"sk-load-{secrets.token_hex(8)}"
REQUEST_SECONDS: Final = 120.0
SETTLE_SECONDS: Final = 30.0
POLL_SECONDS: Final = 0.25
T = TypeVar("T")
GROUPS: Final[Mapping[str, Mapping[str, object]]] = {
    "load": {},
    "stall": {"stream_timeout": STALL_TIMEOUT_SECONDS},
    "leave": {},
}


@pytest.fixture(scope="module")
def cluster(server: FakeCommandCodeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyCluster]:
    config: Final = cluster_config(GROUPS, callbacks=["task_probe.handler"])
    env: Final = proxy_env(
        COMMANDCODE_API_BASE=server.url,
        COMMANDCODE_API_KEY_1="user_a",
        COMMANDCODE_API_KEY_2="user_b",
        LITELLM_MASTER_KEY=MASTER_KEY,
    )
    with running_cluster(tmp_path_factory.mktemp("load"), config, env, task_probe, task_probe.PROBE_DIR_ENV) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer) -> None:
    server.reset()


def stream_body(group: str, text: str) -> dict[str, object]:
    return {"model": group, "stream": True, "messages": [{"role": "user", "content": text}]}


def client(proxy: ProxyProcess, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=proxy.url,
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        timeout=REQUEST_SECONDS,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def stream(http: httpx.AsyncClient, body: Mapping[str, object]) -> Streamed:
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        raw = (await response.aread()).decode()
    return parse_sse(response.status_code, raw)


async def streams_across(proxies: list[ProxyProcess], texts: list[str]) -> list[Streamed | BaseException]:
    """One streamed request per text, all at once, alternating between the instances."""
    https: Final = [client(proxy, len(texts)) for proxy in proxies]
    try:
        return await asyncio.gather(
            *(stream(https[index % len(https)], stream_body("load", text)) for index, text in enumerate(texts)),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(http.aclose() for http in https))


def answer_to(text: str) -> str:
    return f"You said: {text}\n{REPLY_SUFFIX}"


def probe_tasks(cluster: ProxyCluster, proxy: ProxyProcess) -> Counter[str]:
    """The proxy's asyncio tasks (their coroutines' names) while it handles one probe request."""
    response: Final = httpx.post(
        f"{proxy.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        json={"model": "load", "messages": [{"role": "user", "content": f"probe {task_probe.PROBE_MARKER}"}]},
        timeout=REQUEST_SECONDS,
    )
    assert response.status_code == 200, response.text
    names: Final = task_probe.read_tasks(cluster.callback_dir, proxy.process.pid)
    assert names is not None, "the task probe wrote nothing"
    return Counter(names)


def settle(measure: Callable[[], T], done: Callable[[T], bool]) -> T:
    """`measure()` until `done` says so, at most SETTLE_SECONDS; the last value either way."""
    deadline: Final = time.monotonic() + SETTLE_SECONDS
    value = measure()
    for _ in range(int(SETTLE_SECONDS / POLL_SECONDS)):
        if done(value) or time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
        value = measure()
    return value


def leftovers(cluster: ProxyCluster, server: FakeCommandCodeServer) -> dict[str, object]:
    """Client connections still open on each instance, and the upstream connections on both ends."""
    return {
        "client_connections": [
            sum(open_sockets(int(p.url.rsplit(":", 1)[1]), "local").values()) for p in cluster.proxies
        ],
        "upstream_at_the_fake": open_sockets(server.port, "local"),
        "upstream_at_the_proxies": open_sockets(server.port, "remote"),
    }


def settled(found: Mapping[str, object]) -> bool:
    fake: Final = found["upstream_at_the_fake"]
    proxies: Final = found["upstream_at_the_proxies"]
    assert isinstance(fake, Counter) and isinstance(proxies, Counter)
    return found["client_connections"] == [0, 0] and set(fake) <= {"ESTABLISHED"} and fake == proxies


def grown(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    """The kinds of task (coroutine names) that are more numerous after than before. A singleton LiteLLM starts
    lazily on first use (its logging worker's loop, `LoggingWorker._worker_loop`) may appear once: what a leak looks
    like is a kind of task that accumulates."""
    return {name: count for name, count in after.items() if count > max(before[name], 1)}


def test_concurrent_streams_across_two_instances_are_byte_exact_and_leave_nothing_behind(
    cluster: ProxyCluster, server: FakeCommandCodeServer
) -> None:
    warm: Final = asyncio.run(streams_across(cluster.proxies, [f"warm {i}" for i in range(WARM_UP_STREAMS)]))
    assert all(isinstance(result, Streamed) and result.status == 200 for result in warm), warm
    baseline: Final = [probe_tasks(cluster, proxy) for proxy in cluster.proxies]
    server.reset()
    texts: Final = [f"load {index}" for index in range(STREAMS)]

    results: Final = asyncio.run(streams_across(cluster.proxies, texts))

    failures: Final = [
        (text, result)
        for text, result in zip(texts, results, strict=True)
        if not isinstance(result, Streamed)
        or (result.status, result.content, result.finish_reasons, result.errors, result.done)
        != (200, answer_to(text), ["stop"], [], True)
    ]
    assert failures == []
    records: Final = server.requests
    assert sorted(json.dumps(r.body).split("load ")[1].split('"')[0] for r in records) == sorted(
        str(index) for index in range(STREAMS)
    )
    assert Counter((r.status, r.finished, r.disconnected) for r in records) == Counter({(200, True, False): STREAMS})
    found: Final = settle(lambda: leftovers(cluster, server), settled)
    assert found["client_connections"] == [0, 0], found
    assert found["upstream_at_the_fake"] == found["upstream_at_the_proxies"], found
    assert set(found["upstream_at_the_fake"]) <= {"ESTABLISHED"}, found  # type: ignore[arg-type]
    for proxy, before in zip(cluster.proxies, baseline, strict=True):
        after = settle(
            lambda proxy=proxy: probe_tasks(cluster, proxy), lambda tasks, before=before: grown(before, tasks) == {}
        )
        assert grown(before, after) == {}, f"{proxy.url}: tasks left after the load"


@pytest.mark.parametrize("instance", [0, 1])
def test_a_stream_the_server_stops_sending_is_cut_off_by_stream_timeout_as_an_error(
    instance: int, cluster: ProxyCluster, server: FakeCommandCodeServer
) -> None:
    result: Final = asyncio.run(stream_once(cluster.proxies[instance], stream_body("stall", f"hi [[fake:{STALL}]]")))

    assert result.status == 200
    assert result.content == STALLED_PREFIX
    assert len(result.errors) == 1, result
    assert str(result.errors[0].get("code")) == "408", result
    assert "timed out" in str(result.errors[0].get("message")), result
    assert (result.finish_reasons, result.done) == ([], False)
    records: Final = settle(lambda: server.requests, lambda found: all(r.disconnected for r in found))
    assert [(r.scenario, r.disconnected, r.finished) for r in records] == [("stall_mid", True, False)]


async def stream_once(proxy: ProxyProcess, body: Mapping[str, object]) -> Streamed:
    async with client(proxy, 1) as http:
        return await stream(http, body)


@pytest.mark.parametrize("instance", [0, 1])
@pytest.mark.parametrize(
    ("scenario", "events_before_leaving"),
    [
        pytest.param("slow delay_ms=100", 3, id="while-tokens-flow"),
        pytest.param(STALL, 1, id="while-upstream-is-silent"),
    ],
)
def test_a_client_leaving_mid_stream_makes_the_proxy_close_its_upstream_request(
    scenario: str, events_before_leaving: int, instance: int, cluster: ProxyCluster, server: FakeCommandCodeServer
) -> None:
    proxy: Final = cluster.proxies[instance]
    body: Final = stream_body("leave", f"hi [[fake:{scenario}]]")
    with proxy_chat_stream(proxy, MASTER_KEY, body, REQUEST_SECONDS) as response:
        assert response.status_code == 200
        read_events(response, events_before_leaving)

    records: Final = settle(lambda: server.requests, lambda found: bool(found) and all(r.disconnected for r in found))
    assert [(r.disconnected, r.finished) for r in records] == [(True, False)]
