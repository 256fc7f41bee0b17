"""Figures 3 and 4: one LiteLLM proxy process serving both deployments (commandcode through examples/config.yaml's
plug-in, and `openai/gpt-4o-mini` with api_base = the fake OpenAI server), driven by httpx.AsyncClient.

Figure 3: latency p50/p99 and requests per second at fixed concurrencies, streaming and not, the two deployments
interleaved batch by batch. Figure 4: time to first token through the proxy against a fake server that pauses before
each event, minus the same time read directly from the fake server with httpx."""

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import yaml

from benchmarks.common import (
    CC_KEY,
    CC_MODEL,
    OA_KEY,
    OA_MODEL,
    ROOT,
    BenchError,
    NoiseMeter,
    bench_messages,
    median,
    percentile,
    tree_cpu_seconds,
)

CONFIG: Final = ROOT / "examples" / "config.yaml"
MASTER_KEY: Final = f"sk-bench-{secrets.token_hex(8)}"
DEPLOYMENTS: Final = {"commandcode": CC_MODEL, "openai": OA_MODEL}
REQUEST_SECONDS: Final = 60.0


def write_config(directory: Path, oa_url: str, source: Path = CONFIG, name: str = "proxy_config.yaml") -> Path:
    """`source` (default examples/config.yaml: the commandcode plug-in) plus an `openai/` deployment on the fake OpenAI
    server: both paths get the same settings."""
    config: Final = yaml.safe_load(source.read_text(encoding="utf-8"))
    config["model_list"].append(
        {"model_name": OA_MODEL, "litellm_params": {"model": OA_MODEL, "api_base": f"{oa_url}/v1", "api_key": OA_KEY}}
    )
    path: Final = directory / name
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def proxy_env(cc_url: str) -> dict[str, str]:
    return {"COMMANDCODE_API_BASE": cc_url, "COMMANDCODE_API_KEY": CC_KEY, "LITELLM_MASTER_KEY": MASTER_KEY}


def request_body(path: str, marker: str, stream: bool) -> dict[str, object]:
    body: Final[dict[str, object]] = {"model": DEPLOYMENTS[path], "messages": bench_messages(marker)}
    if stream:
        body.update({"stream": True, "stream_options": {"include_usage": True}})
    return body


def client(proxy_url: str, connections: int) -> httpx.AsyncClient:
    limits: Final = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=proxy_url,
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        timeout=REQUEST_SECONDS,
        limits=limits,
    )


def _delta_text(payload: Mapping[str, object]) -> str:
    choices: Final = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    delta: Final = choices[0].get("delta")
    content: Final = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def _sse_payloads(text: str) -> list[dict[str, object]]:
    payloads: Final[list[dict[str, object]]] = []
    for line in text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            payloads.append(json.loads(line[len("data: ") :]))
    return payloads


async def checked_answer(http: httpx.AsyncClient, body: Mapping[str, object]) -> str:
    """One request, fully parsed: the answer's text (used to check that both deployments answer the same)."""
    if body.get("stream"):
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            raw = (await response.aread()).decode()
        if response.status_code != 200:
            raise BenchError(f"proxy answered {response.status_code}: {raw[:500]}")
        return "".join(_delta_text(payload) for payload in _sse_payloads(raw))
    answer: Final = await http.post("/v1/chat/completions", json=body)
    if answer.status_code != 200:
        raise BenchError(f"proxy answered {answer.status_code}: {answer.text[:500]}")
    return str(answer.json()["choices"][0]["message"]["content"])


async def _one(http: httpx.AsyncClient, body: Mapping[str, object]) -> float:
    start: Final = time.perf_counter()
    if body.get("stream"):
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            tail = b""
            async for data in response.aiter_bytes():
                tail = (tail + data)[-32:]
        if response.status_code != 200 or b"[DONE]" not in tail:
            raise BenchError(f"stream ended without [DONE] (status {response.status_code})")
    else:
        response = await http.post("/v1/chat/completions", json=body)
        await response.aread()
        if response.status_code != 200:
            raise BenchError(f"proxy answered {response.status_code}: {response.text[:300]}")
    return time.perf_counter() - start


@dataclass
class Batch:
    latencies: list[float]
    seconds: float
    errors: list[str]
    proxy_cpu_seconds: float


@contextlib.asynccontextmanager
async def clients(proxy_url: str | Sequence[str], count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One single-connection client per worker: one shared pool of 64 connections costs the driver more CPU per
    request than the proxy needs (httpcore scans its pool on every request), and steals it from the proxy. Several
    URLs (proxy instances): the workers take them in turn."""
    urls: Final = [proxy_url] if isinstance(proxy_url, str) else list(proxy_url)
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(client(urls[index % len(urls)], 1)) for index in range(count)]


async def batch(
    workers: Sequence[httpx.AsyncClient],
    body: Mapping[str, object],
    count: int,
    seconds: float,
    proxy_pid: int | Sequence[int] | None = None,
) -> Batch:
    """`count` requests by one worker per client, none started after `seconds`; the CPU time of the proxy (or of
    every proxy instance given, with its worker processes) meanwhile."""
    pids: Final = [] if proxy_pid is None else [proxy_pid] if isinstance(proxy_pid, int) else list(proxy_pid)
    latencies: Final[list[float]] = []
    errors: Final[list[str]] = []
    issued = 0
    deadline: Final = time.monotonic() + seconds

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < count and time.monotonic() < deadline:
            issued += 1
            try:
                latencies.append(await _one(http, body))
            except (httpx.HTTPError, BenchError) as error:
                errors.append(f"{type(error).__name__}: {error}"[:300])

    cpu_before: Final = sum(tree_cpu_seconds(pid) for pid in pids)
    start: Final = time.perf_counter()
    await asyncio.gather(*(worker(http) for http in workers))
    elapsed: Final = time.perf_counter() - start
    cpu: Final = sum(tree_cpu_seconds(pid) for pid in pids) - cpu_before
    return Batch(latencies=latencies, seconds=elapsed, errors=errors, proxy_cpu_seconds=cpu)


@contextlib.asynccontextmanager
async def _measured(noise: NoiseMeter | None, name: str) -> AsyncIterator[None]:
    if noise is None:
        yield
        return
    with noise.measure(name):
        yield


@dataclass(frozen=True)
class LoadPlan:
    """`rounds` pairs of batches of `requests` at `concurrency`; no batch starts a request after `seconds`."""

    concurrency: int
    stream: bool
    requests: int
    rounds: int
    seconds: float


WARM_UP_REQUESTS: Final = 24
WARM_UP_CONCURRENCY: Final = 4


@dataclass(frozen=True)
class Markers:
    """The fake servers' answer for each mode. Streamed, both fakes write one event per chunk. Not streamed, the fake
    OpenAI server writes its one JSON body at once, and the fake Command Code server (whose endpoint always streams)
    writes all its events at once too: the same answer, delivered the same way, so that neither upstream makes the
    proxy wait longer than the other."""

    stream: str
    json: str

    def of(self, stream: bool) -> str:
        return self.stream if stream else self.json


async def warm_up(proxy_url: str, markers: Markers) -> None:
    """The proxy imports a good part of LiteLLM lazily, on the first requests of each kind: not in the numbers."""
    async with clients(proxy_url, WARM_UP_CONCURRENCY) as workers:
        for stream in (True, False):
            for path in DEPLOYMENTS:
                await batch(workers, request_body(path, markers.of(stream), stream), WARM_UP_REQUESTS, REQUEST_SECONDS)


async def load(
    proxy_url: str,
    proxy_pid: int,
    markers: Markers,
    plans: Sequence[LoadPlan],
    log: Callable[[str], None],
    noise: NoiseMeter | None = None,
) -> list[dict[str, object]]:
    """Per plan: one batch of each deployment to open the connections, then `rounds` pairs of batches (commandcode,
    openai; then the other way round), so that both deployments see the same machine."""
    results: Final[list[dict[str, object]]] = []
    await warm_up(proxy_url, markers)
    for plan in plans:
        stream = plan.stream
        bodies = {path: request_body(path, markers.of(stream), stream) for path in DEPLOYMENTS}
        name = f"c={plan.concurrency} {'stream' if stream else 'json'}"
        async with clients(proxy_url, plan.concurrency) as workers, _measured(noise, f"proxy {name}"):
            texts = {path: await checked_answer(workers[0], body) for path, body in bodies.items()}
            if len(set(texts.values())) != 1:
                raise BenchError(f"the deployments answer differently: { {k: len(v) for k, v in texts.items()} }")
            for body in bodies.values():
                await batch(workers, body, plan.concurrency, plan.seconds)
            batches: dict[str, list[Batch]] = {path: [] for path in DEPLOYMENTS}
            for turn in range(plan.rounds):
                order = list(DEPLOYMENTS) if turn % 2 == 0 else list(reversed(DEPLOYMENTS))
                for path in order:
                    batches[path].append(await batch(workers, bodies[path], plan.requests, plan.seconds, proxy_pid))
        result = summarize_load(plan, stream, batches)
        result["other_processes_cpu_share"] = noise.shares.get(f"proxy {name}") if noise is not None else None
        results.append(result)
        log(
            f"  proxy {name}: req/s {result['rps']}, "
            f"ratio {result['ratio_rps']}, p50 ms {result['p50_ms']}, proxy CPU ms/req {result['cpu_ms']}"
        )
    return results


def summarize_load(plan: LoadPlan, stream: bool, batches: Mapping[str, Sequence[Batch]]) -> dict[str, object]:
    done: Final = {path: sum(len(b.latencies) for b in runs) for path, runs in batches.items()}
    rps: Final = {path: done[path] / sum(b.seconds for b in runs) for path, runs in batches.items()}
    latencies: Final = {path: [value for b in runs for value in b.latencies] for path, runs in batches.items()}
    cpu_ms: Final = {
        path: sum(b.proxy_cpu_seconds for b in runs) / max(done[path], 1) * 1000 for path, runs in batches.items()
    }
    paired: Final = [
        (len(cc.latencies) / cc.seconds) / (len(oa.latencies) / oa.seconds)
        for cc, oa in zip(batches["commandcode"], batches["openai"], strict=True)
        if cc.latencies and oa.latencies
    ]
    errors: Final = {path: [e for b in runs for e in b.errors] for path, runs in batches.items()}
    return {
        "concurrency": plan.concurrency,
        "stream": stream,
        "rounds": plan.rounds,
        "requests": done,
        "errors": {path: len(values) for path, values in errors.items()},
        "first_errors": {path: values[:3] for path, values in errors.items() if values},
        "rps": {path: round(value, 2) for path, value in rps.items()},
        "p50_ms": {path: round(percentile(values, 0.5) * 1000, 2) for path, values in latencies.items()},
        "p99_ms": {path: round(percentile(values, 0.99) * 1000, 2) for path, values in latencies.items()},
        "cpu_ms": {path: round(value, 2) for path, value in cpu_ms.items()},
        "ratio_rps": round(median(paired), 4) if paired else None,
        "ratio_rps_pooled": round(rps["commandcode"] / rps["openai"], 4),
        "ratio_rps_rounds": [round(value, 4) for value in paired],
    }


# ---------------------------------------------------------------------------------------------------------------------
# Figure 4: time to first token
# ---------------------------------------------------------------------------------------------------------------------


def _has_content(line: str) -> bool:
    if not line.startswith("data: ") or line == "data: [DONE]":
        return False
    payload: Final = json.loads(line[len("data: ") :])
    return any((choice.get("delta") or {}).get("content") for choice in payload.get("choices") or [])


def _is_text_delta(line: str) -> bool:
    return '"type":"text-delta"' in line


async def _seconds_to_first(
    request: contextlib.AbstractAsyncContextManager[httpx.Response], is_first: Callable[[str], bool], missing: str
) -> float:
    """Seconds from sending `request` to its first line that `is_first`; the stream is read to its end."""
    start: Final = time.perf_counter()
    first: float | None = None
    async with request as response:
        async for line in response.aiter_lines():
            if first is None and is_first(line):
                first = time.perf_counter() - start
    if first is None:
        raise BenchError(missing)
    return first


async def ttft_proxy(http: httpx.AsyncClient, body: Mapping[str, object]) -> float:
    """Seconds from sending the request to the proxy to the first SSE chunk with content."""
    request: Final = http.stream("POST", "/v1/chat/completions", json=body)
    return await _seconds_to_first(request, _has_content, "no content chunk in the proxy's stream")


async def ttft_direct_commandcode(http: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str]) -> float:
    """Seconds from sending the request to the fake Command Code server to the first `text-delta` event."""
    request: Final = http.stream("POST", f"{url}/alpha/generate", content=body, headers=dict(headers))
    return await _seconds_to_first(request, _is_text_delta, "no text-delta in the fake Command Code stream")


async def ttft_direct_openai(http: httpx.AsyncClient, url: str, body: Mapping[str, object]) -> float:
    headers: Final = {"authorization": f"Bearer {OA_KEY}"}
    request: Final = http.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers)
    return await _seconds_to_first(request, _has_content, "no content in the fake OpenAI stream")


async def ttft_sdk(path: str, cc_url: str, oa_url: str, marker: str) -> float:
    """Seconds from `litellm.acompletion(stream=True)` in this process to the first chunk with content."""
    import litellm

    target: Final = (
        {"model": CC_MODEL, "api_base": cc_url, "api_key": CC_KEY}
        if path == "commandcode"
        else {"model": OA_MODEL, "api_base": f"{oa_url}/v1", "api_key": OA_KEY}
    )
    start: Final = time.perf_counter()
    first: float | None = None
    stream: Final = await litellm.acompletion(
        messages=bench_messages(marker), stream=True, stream_options={"include_usage": True}, **target
    )
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
    if first is None:
        raise BenchError(f"no content chunk in the SDK stream of {path}")
    return first


async def captured_commandcode_request(http: httpx.AsyncClient, cc_url: str) -> tuple[bytes, dict[str, str]]:
    """The last body and headers the fake Command Code server received (from the proxy), to replay directly."""
    records: Final = (await http.get(f"{cc_url}/_fake/requests")).json()["requests"]
    await http.post(f"{cc_url}/_fake/reset")
    if not records:
        raise BenchError("the fake Command Code server recorded no request")
    keep: Final = ("authorization", "content-type", "x-command-code-version", "x-session-id")
    headers: Final = {name: value for name, value in records[-1]["headers"].items() if name in keep}
    return httpx.Request("POST", "/", json=records[-1]["body"]).read(), headers


def openai_slow_marker(delay_ms: int) -> str:
    """The fake OpenAI server's `slow` answer laid out like the fake Command Code server's `slow` answer to the
    benchmark prompt (3 reasoning deltas, then 7 text deltas, the first one 8 pauses after the start), so that the
    proxy has the same chunks to forward before the first token on both sides."""
    return f"[[fake:slow delay_ms={delay_ms} events=7 reasoning=3]]"


async def time_to_first_token(
    proxy_url: str, cc_url: str, oa_url: str, delay_ms: int, reps: int, log: Callable[[str], None]
) -> dict[str, object]:
    cc_marker: Final = f"[[fake:slow delay_ms={delay_ms}]]"
    oa_marker: Final = openai_slow_marker(delay_ms)
    async with client(proxy_url, 4) as http:
        cc_body: Final = request_body("commandcode", cc_marker, stream=True)
        oa_body: Final = request_body("openai", oa_marker, stream=True)
        oa_direct_body: Final = {**oa_body, "model": "gpt-4o-mini"}
        await http.post(f"{cc_url}/_fake/reset")
        await ttft_proxy(http, cc_body)
        wire_body, wire_headers = await captured_commandcode_request(http, cc_url)
        runners: Final[dict[str, Callable[[], Awaitable[float]]]] = {
            "commandcode proxy": lambda: ttft_proxy(http, cc_body),
            "commandcode direct": lambda: ttft_direct_commandcode(http, cc_url, wire_body, wire_headers),
            "commandcode sdk": lambda: ttft_sdk("commandcode", cc_url, oa_url, cc_marker),
            "openai proxy": lambda: ttft_proxy(http, oa_body),
            "openai direct": lambda: ttft_direct_openai(http, oa_url, oa_direct_body),
            "openai sdk": lambda: ttft_sdk("openai", cc_url, oa_url, oa_marker),
        }
        for action in runners.values():
            await action()
        samples: Final[dict[str, list[float]]] = {name: [] for name in runners}
        names: Final = list(runners)
        for turn in range(reps):
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                samples[name].append(await runners[name]())
        await http.post(f"{cc_url}/_fake/reset")
    ms: Final = {name: round(median(values) * 1000, 3) for name, values in samples.items()}
    added: Final = {
        f"{path} {via}": round(ms[f"{path} {via}"] - ms[f"{path} direct"], 3)
        for path in DEPLOYMENTS
        for via in ("proxy", "sdk")
    }
    log(f"  ttft: {ms} ms; added over direct: {added}")
    return {"delay_ms": delay_ms, "reps": reps, "median_ms": ms, "added_ms": added}


async def _direct(http: httpx.AsyncClient, url: str, content: bytes, headers: Mapping[str, str]) -> float:
    start: Final = time.perf_counter()
    async with http.stream("POST", url, content=content, headers=dict(headers)) as response:
        async for _ in response.aiter_bytes():
            pass
    if response.status_code != 200:
        raise BenchError(f"{url} answered {response.status_code}")
    return time.perf_counter() - start


async def upstream_floors(proxy_url: str, cc_url: str, oa_url: str, markers: Markers, reps: int) -> dict[str, float]:
    """Median milliseconds of the proxy figure's answer read directly from each fake server with httpx, one request at
    a time: the part of a proxied request's latency that is the upstream's, not the proxy's."""
    async with client(proxy_url, 2) as http:
        wire: Final[dict[bool, tuple[bytes, dict[str, str]]]] = {}
        for stream in (True, False):
            await http.post(f"{cc_url}/_fake/reset")
            await checked_answer(http, request_body("commandcode", markers.of(stream), stream=False))
            wire[stream] = await captured_commandcode_request(http, cc_url)
        oa_headers: Final = {"authorization": f"Bearer {OA_KEY}", "content-type": "application/json"}
        oa_bodies: Final = {
            stream: json.dumps({**request_body("openai", markers.of(stream), stream), "model": "gpt-4o-mini"}).encode()
            for stream in (True, False)
        }
        oa_url_full: Final = f"{oa_url}/v1/chat/completions"
        runners: Final[dict[str, Callable[[], Awaitable[float]]]] = {
            "commandcode stream": lambda: _direct(http, f"{cc_url}/alpha/generate", *wire[True]),
            "commandcode non-stream": lambda: _direct(http, f"{cc_url}/alpha/generate", *wire[False]),
            "openai stream": lambda: _direct(http, oa_url_full, oa_bodies[True], oa_headers),
            "openai non-stream": lambda: _direct(http, oa_url_full, oa_bodies[False], oa_headers),
        }
        samples: Final[dict[str, list[float]]] = {name: [] for name in runners}
        for turn in range(reps + 1):
            for name, action in runners.items():
                value = await action()
                if turn:
                    samples[name].append(value)
    return {name: round(median(values) * 1000, 3) for name, values in samples.items()}
