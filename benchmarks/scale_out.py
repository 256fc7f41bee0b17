"""`scripts/bench scale-out` and `scripts/bench load`: two LiteLLM proxy instances on examples/config-scale-out.yaml
(two Command Code keys as deployments of one model, usage-based routing, one real Redis on 127.0.0.1), against the
fake Command Code server; requests alternate between the instances.

scale-out: streamed requests (the 50-event answer of `scripts/bench`'s proxy figure, one event per write) at
concurrency 1, 16, 64 and 256: requests per second, p50/p99 latency, CPU per request of both instances.

load: 500 concurrent streamed requests, each with its own prompt: answers checked byte for byte, errors, what is left
afterwards (client connections on each instance, upstream connections on both ends, upstream requests still open,
asyncio tasks in each instance against a baseline taken before), RSS per instance before, at its peak and after; then
a stream the server stops sending (cut off by the deployment's `stream_timeout`: time to the error against the
setting) and a client that leaves mid-stream (time until the fake server sees the upstream request close).

The rpm/tpm limits of the example config are lifted (these runs send far more than a seat's 60 requests a minute); a
task-probe callback (`tests/support/task_probe.py`, one string test per request) is loaded to count asyncio tasks.
Writes benchmarks/scale_out.json (or load.json) and prints markdown tables (BENCHMARKS.md)."""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks import proxy  # noqa: E402
from benchmarks.common import (  # noqa: E402
    ROOT,
    BenchError,
    bench_env,
    bench_messages,
    long_marker,
    percentile,
    rounded_load,
    rss_mib,
    run_meta,
    start_server,
)
from litellm_commandcode.fake_server import REPLY_SUFFIX  # noqa: E402
from tests.proxy_process import ProxyProcess  # noqa: E402
from tests.support import task_probe  # noqa: E402
from tests.support.scale_out import SCALE_OUT_CONFIG, cluster_config, running_cluster  # noqa: E402
from tests.support.sockets import open_sockets  # noqa: E402
from tests.support.sse import parse_sse  # noqa: E402

STALL_TIMEOUT_SECONDS: Final = 2.0
GROUPS: Final[Mapping[str, Mapping[str, object]]] = {
    "bench": {},
    "stall": {"stream_timeout": STALL_TIMEOUT_SECONDS},
    "leave": {},
}
MARKER: Final = long_marker(50, 1, size=4)
SETTLE_SECONDS: Final = 30.0
POLL_SECONDS: Final = 0.25
RSS_SAMPLE_SECONDS: Final = 0.25
REQUEST_SECONDS: Final = 120.0


@dataclass(frozen=True)
class Level:
    concurrency: int
    requests: int
    seconds: float


LEVELS: Final = (
    Level(concurrency=1, requests=24, seconds=30),
    Level(concurrency=16, requests=128, seconds=45),
    Level(concurrency=64, requests=256, seconds=60),
    Level(concurrency=256, requests=512, seconds=90),
)
QUICK_LEVELS: Final = (Level(concurrency=1, requests=4, seconds=10), Level(concurrency=16, requests=16, seconds=20))


def log(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class Cluster:
    proxies: list[ProxyProcess]
    fake_url: str
    fake_port: int
    probe_dir: Path

    @property
    def urls(self) -> list[str]:
        return [started.url for started in self.proxies]

    @property
    def pids(self) -> list[int]:
        return [started.process.pid for started in self.proxies]


def start_cluster(stack: contextlib.ExitStack, workdir: Path, source: Path) -> Cluster:
    fake: Final = start_server(stack, "litellm_commandcode.fake_server", [], workdir / "fake-commandcode.log")
    config: Final = cluster_config(GROUPS, ["task_probe.handler"], source)
    env: Final = bench_env(
        {
            "COMMANDCODE_API_BASE": fake.url,
            "COMMANDCODE_API_KEY_1": "user_a",
            "COMMANDCODE_API_KEY_2": "user_b",
            "LITELLM_MASTER_KEY": proxy.MASTER_KEY,
        }
    )
    started: Final = stack.enter_context(running_cluster(workdir, config, env, task_probe, task_probe.PROBE_DIR_ENV))
    fake_port: Final = int(fake.url.rsplit(":", 1)[1])
    return Cluster(proxies=started.proxies, fake_url=fake.url, fake_port=fake_port, probe_dir=started.callback_dir)


def stream_body(group: str, text: str) -> dict[str, object]:
    return {
        "model": group,
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


# ---------------------------------------------------------------------------------------------------------------------
# scale-out: throughput and latency
# ---------------------------------------------------------------------------------------------------------------------


async def throughput(cluster: Cluster, levels: Sequence[Level]) -> list[dict[str, object]]:
    body: Final = {**stream_body("bench", ""), "messages": bench_messages(MARKER)}
    async with proxy.clients(cluster.urls, 4) as workers:
        await proxy.batch(workers, body, 32, REQUEST_SECONDS)
    rows: Final[list[dict[str, object]]] = []
    for level in levels:
        async with proxy.clients(cluster.urls, level.concurrency) as workers:
            await proxy.batch(workers, body, level.concurrency, level.seconds)
            done = await proxy.batch(workers, body, level.requests, level.seconds, cluster.pids)
        count = len(done.latencies)
        row = {
            "concurrency": level.concurrency,
            "requests": count,
            "errors": len(done.errors),
            "first_errors": done.errors[:3],
            "rps": round(count / done.seconds, 2),
            "p50_ms": round(percentile(done.latencies, 0.5) * 1000, 1),
            "p99_ms": round(percentile(done.latencies, 0.99) * 1000, 1),
            "cpu_ms": round(done.proxy_cpu_seconds / max(count, 1) * 1000, 2),
            "rss_mib": [rss_mib(pid) for pid in cluster.pids],
        }
        rows.append(row)
        log(f"  c={level.concurrency}: {row}")
    return rows


# ---------------------------------------------------------------------------------------------------------------------
# load: 500 streams, a stall, a client leaving
# ---------------------------------------------------------------------------------------------------------------------


def answer_to(text: str) -> str:
    return f"You said: {text}\n{REPLY_SUFFIX}"


async def one_stream(http: httpx.AsyncClient, text: str) -> str | None:
    """None when the answer is exactly right, else what was wrong."""
    try:
        async with http.stream("POST", "/v1/chat/completions", json=stream_body("bench", text)) as response:
            raw = (await response.aread()).decode()
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    streamed: Final = parse_sse(response.status_code, raw)
    if streamed.status != 200 or streamed.errors or not streamed.done:
        return f"status {streamed.status}, errors {streamed.errors[:1]}, [DONE] {streamed.done}"
    if streamed.content != answer_to(text):
        return f"answer differs: {streamed.content[:80]!r}"
    return None


async def sample_rss(pids: Sequence[int], peaks: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for index, pid in enumerate(pids):
            peaks[index] = max(peaks[index], rss_mib(pid))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), RSS_SAMPLE_SECONDS)


async def concurrent_streams(cluster: Cluster, count: int) -> dict[str, object]:
    texts: Final = [f"load {index}" for index in range(count)]
    https: Final = [
        httpx.AsyncClient(
            base_url=url,
            headers={"authorization": f"Bearer {proxy.MASTER_KEY}"},
            timeout=REQUEST_SECONDS,
            limits=httpx.Limits(max_connections=count, max_keepalive_connections=count),
        )
        for url in cluster.urls
    ]
    peaks: Final = [rss_mib(pid) for pid in cluster.pids]
    stop: Final = asyncio.Event()
    sampler: Final = asyncio.create_task(sample_rss(cluster.pids, peaks, stop))
    started: Final = time.perf_counter()
    try:
        problems = await asyncio.gather(*(one_stream(https[i % len(https)], text) for i, text in enumerate(texts)))
    finally:
        seconds = time.perf_counter() - started
        stop.set()
        await sampler
        await asyncio.gather(*(http.aclose() for http in https))
    wrong: Final = [problem for problem in problems if problem is not None]
    return {"streams": count, "seconds": round(seconds, 2), "errors": len(wrong), "first_errors": wrong[:3],
            "rss_peak_mib": peaks}  # fmt: skip


def fake_records(cluster: Cluster) -> list[dict[str, object]]:
    records: Final = httpx.get(f"{cluster.fake_url}/_fake/requests", timeout=30).json()["requests"]
    assert isinstance(records, list)
    return records


def fake_reset(cluster: Cluster) -> None:
    httpx.post(f"{cluster.fake_url}/_fake/reset", timeout=30)


def probe_tasks(cluster: Cluster, index: int) -> list[str]:
    body: Final = {"model": "bench", "messages": [{"role": "user", "content": f"probe {task_probe.PROBE_MARKER}"}]}
    response: Final = httpx.post(
        f"{cluster.urls[index]}/v1/chat/completions",
        headers={"authorization": f"Bearer {proxy.MASTER_KEY}"},
        json=body,
        timeout=REQUEST_SECONDS,
    )
    if response.status_code != 200:
        raise BenchError(f"probe: {response.status_code} {response.text[:300]}")
    names: Final = task_probe.read_tasks(cluster.probe_dir, cluster.pids[index])
    if names is None:
        raise BenchError("the task probe wrote nothing")
    return names


def leftovers(cluster: Cluster) -> dict[str, object]:
    return {
        "client_connections": [sum(open_sockets(int(url.rsplit(":", 1)[1]), "local").values()) for url in cluster.urls],
        "upstream_at_the_fake": dict(open_sockets(cluster.fake_port, "local")),
        "upstream_at_the_proxies": dict(open_sockets(cluster.fake_port, "remote")),
    }


def settle_leftovers(cluster: Cluster) -> tuple[dict[str, object], float]:
    """The leftovers once the client connections are closed and both ends agree (at most SETTLE_SECONDS)."""
    start: Final = time.monotonic()
    found = leftovers(cluster)
    while time.monotonic() - start < SETTLE_SECONDS:
        if found["client_connections"] == [0, 0] and found["upstream_at_the_fake"] == found["upstream_at_the_proxies"]:
            break
        time.sleep(POLL_SECONDS)
        found = leftovers(cluster)
    return found, round(time.monotonic() - start, 2)


def task_difference(before: Sequence[str], after: Sequence[str]) -> dict[str, int]:
    return dict(Counter(after) - Counter(before))


def load(cluster: Cluster, count: int) -> dict[str, object]:
    warm: Final = asyncio.run(concurrent_streams(cluster, 8))
    if warm["errors"]:
        raise BenchError(f"warm-up: {warm}")
    baseline: Final = [probe_tasks(cluster, index) for index in range(2)]
    rss_before: Final = [rss_mib(pid) for pid in cluster.pids]
    fake_reset(cluster)
    result: Final = asyncio.run(concurrent_streams(cluster, count))
    records: Final = fake_records(cluster)
    found, settle_seconds = settle_leftovers(cluster)
    tasks_left: list[dict[str, int]] = []
    for index in range(2):
        difference = task_difference(baseline[index], probe_tasks(cluster, index))
        deadline = time.monotonic() + SETTLE_SECONDS
        while difference and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS * 4)
            difference = task_difference(baseline[index], probe_tasks(cluster, index))
        tasks_left.append(difference)
    upstream_open: Final = [r for r in records if not r.get("finished") and not r.get("disconnected")]
    summary: Final = {
        **result,
        "upstream_requests": len([r for r in records if "load " in json.dumps(r.get("body"))]),
        "upstream_requests_not_finished": len(upstream_open),
        "leftovers": found,
        "leftovers_settled_after_s": settle_seconds,
        "asyncio_tasks_baseline": [len(names) for names in baseline],
        "asyncio_tasks_left": tasks_left,
        "rss_before_mib": rss_before,
        "rss_after_mib": [rss_mib(pid) for pid in cluster.pids],
    }
    log(f"  {count} streams: {summary}")
    return summary


async def stalled(cluster: Cluster, index: int) -> dict[str, object]:
    body: Final = stream_body("stall", "hi [[fake:stall_mid seconds=30]]")
    async with proxy.client(cluster.urls[index], 1) as http:
        start = time.perf_counter()
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            raw = (await response.aread()).decode()
        seconds = time.perf_counter() - start
    streamed: Final = parse_sse(response.status_code, raw)
    return {"instance": index, "status": streamed.status, "content": streamed.content, "errors": streamed.errors,
            "done": streamed.done, "seconds": round(seconds, 3), "stream_timeout": STALL_TIMEOUT_SECONDS}  # fmt: skip


def left_mid_stream(cluster: Cluster, index: int) -> dict[str, object]:
    fake_reset(cluster)
    body: Final = stream_body("leave", "hi [[fake:slow delay_ms=100]]")
    with httpx.Client(timeout=REQUEST_SECONDS, headers={"authorization": f"Bearer {proxy.MASTER_KEY}"}) as http:
        with http.stream("POST", f"{cluster.urls[index]}/v1/chat/completions", json=body) as response:
            events = 0
            for line in response.iter_lines():
                events += line.startswith("data: ")
                if events >= 3:
                    break
        left = time.monotonic()
    closed: float | None = None
    while time.monotonic() - left < SETTLE_SECONDS:
        records = fake_records(cluster)
        if records and all(r.get("disconnected") for r in records):
            closed = time.monotonic() - left
            break
        time.sleep(0.01)
    return {"instance": index, "upstream_closed_after_s": None if closed is None else round(closed, 3)}


def markdown(results: Mapping[str, object]) -> str:
    lines: Final[list[str]] = []
    rows: Final = results.get("throughput")
    if isinstance(rows, list):
        lines += [
            "| concurrency | requests | req/s | p50 ms | p99 ms | CPU ms/req (both instances) | RSS MiB per instance "
            "| errors |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['concurrency']} | {row['requests']} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} "
                f"| {row['cpu_ms']} | {' / '.join(str(v) for v in row['rss_mib'])} | {row['errors']} |"
            )
    loaded: Final = results.get("load")
    if isinstance(loaded, dict):
        left: Final = loaded["leftovers"]
        lines += [
            "",
            f"- {loaded['streams']} concurrent streams across both instances in {loaded['seconds']} s: "
            f"{loaded['errors']} errors or differing answers, {loaded['upstream_requests']} upstream requests, "
            f"{loaded['upstream_requests_not_finished']} left open.",
            f"- Left afterwards (settled after {loaded['leftovers_settled_after_s']} s): client connections per "
            f"instance {left['client_connections']}; upstream connections (idle, pooled) at the fake "
            f"{left['upstream_at_the_fake']}, at the proxies {left['upstream_at_the_proxies']}; asyncio tasks per "
            f"instance beyond the baseline of {loaded['asyncio_tasks_baseline']}: {loaded['asyncio_tasks_left']}.",
            f"- RSS per instance (MiB): before {loaded['rss_before_mib']}, peak {loaded['rss_peak_mib']}, after "
            f"{loaded['rss_after_mib']}.",
        ]
        for stall in results.get("stall", []):  # type: ignore[union-attr]
            lines.append(
                f"- Stall (instance {stall['instance']}, `stream_timeout: {stall['stream_timeout']}`): status "
                f"{stall['status']}, text before the stall {stall['content']!r}, error "
                f"{json.dumps(stall['errors'])[:200]}, after {stall['seconds']} s."
            )
        for leave in results.get("leave", []):  # type: ignore[union-attr]
            lines.append(
                f"- Client leaving mid-stream (instance {leave['instance']}): the fake server saw the upstream "
                f"request close after {leave['upstream_closed_after_s']} s."
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the ExitStack stops every process started
    parser: Final = argparse.ArgumentParser(prog="scripts/bench scale-out|load", description=__doc__)
    parser.add_argument("part", choices=("scale-out", "load"))
    parser.add_argument("--quick", action="store_true", help="few requests: checks the command")
    parser.add_argument("--streams", type=int, default=500, help="concurrent streams of `load` (default 500)")
    parser.add_argument("--config", type=Path, default=SCALE_OUT_CONFIG, help="the config both instances run")
    parser.add_argument("--out", type=Path, default=None)
    args: Final = parser.parse_args(argv)
    started: Final = time.monotonic()
    load_before: Final = rounded_load()
    results: Final[dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="commandcode-scale-out-") as temporary, contextlib.ExitStack() as stack:
        cluster = start_cluster(stack, Path(temporary), args.config)
        if args.part == "scale-out":
            results["throughput"] = asyncio.run(throughput(cluster, QUICK_LEVELS if args.quick else LEVELS))
        else:
            results["load"] = load(cluster, 20 if args.quick else args.streams)
            results["stall"] = [asyncio.run(stalled(cluster, index)) for index in range(2)]
            results["leave"] = [left_mid_stream(cluster, index) for index in range(2)]
    results["meta"] = {
        "command": f"scripts/bench {args.part}" + (" --quick" if args.quick else ""),
        "config": str(args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config),
        **run_meta(started, load_before),
    }
    out: Final = args.out or ROOT / "benchmarks" / f"{args.part.replace('-', '_')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["meta"]))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
