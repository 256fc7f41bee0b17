"""Figure 1: the LiteLLM SDK, streaming and not, on identical content: `commandcode/` against the fake Command Code
server, `openai/` against the fake OpenAI server, and the floors (httpx reading each fake server directly).

Every request is timed from the call to the last chunk; between requests LiteLLM's background logging threads are
drained (not timed) so that one request's logging does not land in the next one's time."""

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

import litellm
from benchmarks.common import (
    CC_KEY,
    CC_MODEL,
    OA_KEY,
    OA_MODEL,
    BenchError,
    bench_messages,
    long_marker,
    median,
    rotated,
)

PATHS: Final = ("commandcode", "openai", "floor", "floor_openai")
CAPTURE_MARKER: Final = long_marker(10, 1)
DRAIN_SECONDS: Final = 10.0
REQUEST_SECONDS: Final = 120.0


@dataclass(frozen=True)
class Case:
    events: int
    burst: int
    stream: bool
    reps: int
    seconds: float

    @property
    def label(self) -> str:
        return f"{self.events} events, burst={self.burst}, {'stream' if self.stream else 'non-stream'}"


@dataclass(frozen=True)
class Outcome:
    seconds: float
    cpu_seconds: float
    chunks: int
    text_length: int


def drain_logging(seconds: float = DRAIN_SECONDS) -> None:
    """Waits (bounded) until LiteLLM's logging thread pool has no queued or running task."""
    from litellm.litellm_core_utils.thread_pool_executor import executor

    slots: Final = getattr(executor, "_pending_slots", None)
    capacity: Final = getattr(executor, "_max_pending_tasks", None)
    deadline: Final = time.monotonic() + seconds
    if slots is None or capacity is None:
        time.sleep(0.01)
        return
    while slots._value < capacity and time.monotonic() < deadline:
        time.sleep(0.0005)


def _content_of(chunk: object) -> str:
    choices: Final = getattr(chunk, "choices", None) or ()
    content: Final = getattr(getattr(choices[0], "delta", None), "content", None) if choices else None
    return content if isinstance(content, str) else ""


class Paths:
    """The four ways to get one answer; each returns (chunks, text length)."""

    def __init__(self, cc_url: str, oa_url: str) -> None:
        self.cc_url = cc_url
        self.oa_url = oa_url
        self.http = httpx.Client(timeout=REQUEST_SECONDS)
        self.captured: tuple[str, dict[str, str]] | None = None

    def close(self) -> None:
        self.http.close()

    def sdk(self, path: str, messages: list[dict[str, object]], stream: bool) -> tuple[int, int]:
        target: Final = (
            {"model": CC_MODEL, "api_base": self.cc_url, "api_key": CC_KEY}
            if path == "commandcode"
            else {"model": OA_MODEL, "api_base": f"{self.oa_url}/v1", "api_key": OA_KEY}
        )
        if not stream:
            response = litellm.completion(messages=messages, timeout=REQUEST_SECONDS, **target)
            return 1, len(_content_of_message(response))
        chunks = 0
        length = 0
        wrapper = litellm.completion(
            messages=messages, stream=True, stream_options={"include_usage": True}, timeout=REQUEST_SECONDS, **target
        )
        for chunk in wrapper:
            chunks += 1
            length += len(_content_of(chunk))
        return chunks, length

    def capture_commandcode_request(self, marker: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers the provider sends for `marker`: one small request recorded by the fake server, with
        its marker replaced (the marker is the only part of the body that differs between the answers)."""
        if self.captured is None:
            self.http.post(f"{self.cc_url}/_fake/reset")
            self.sdk("commandcode", bench_messages(CAPTURE_MARKER), stream=True)
            records = self.http.get(f"{self.cc_url}/_fake/requests").json()["requests"]
            self.http.post(f"{self.cc_url}/_fake/reset")
            if not records:
                raise BenchError("the fake Command Code server recorded no request")
            keep = ("authorization", "content-type", "x-command-code-version", "x-session-id")
            headers = {name: value for name, value in records[-1]["headers"].items() if name in keep}
            self.captured = (json.dumps(records[-1]["body"]), headers)
        body, headers = self.captured
        if CAPTURE_MARKER not in body:
            raise BenchError("the captured Command Code request does not carry the benchmark marker")
        return body.replace(CAPTURE_MARKER, marker).encode(), headers

    def warm_up(self) -> None:
        """Connections, lazy imports and caches of every path, before anything is timed."""
        messages: Final = bench_messages(CAPTURE_MARKER)
        for _ in range(2):
            for stream in (True, False):
                self.sdk("commandcode", messages, stream)
                self.sdk("openai", messages, stream)
                self.floor_openai(messages, stream)
            self.floor(CAPTURE_MARKER)
        drain_logging()

    def floor(self, marker: str) -> tuple[int, int]:
        body, headers = self.capture_commandcode_request(marker)
        with self.http.stream("POST", f"{self.cc_url}/alpha/generate", content=body, headers=headers) as response:
            return _reads_and_bytes(response, "the fake Command Code server")

    def floor_openai(self, messages: list[dict[str, object]], stream: bool) -> tuple[int, int]:
        body: Final[dict[str, object]] = {"model": "gpt-4o-mini", "messages": messages}
        if stream:
            body.update({"stream": True, "stream_options": {"include_usage": True}})
        headers: Final = {"authorization": f"Bearer {OA_KEY}"}
        url: Final = f"{self.oa_url}/v1/chat/completions"
        with self.http.stream("POST", url, json=body, headers=headers) as response:
            return _reads_and_bytes(response, "the fake OpenAI server")

    def runner(self, path: str, case: Case) -> Callable[[], tuple[int, int]]:
        marker: Final = long_marker(case.events, case.burst)
        messages: Final = bench_messages(marker)
        if path == "floor":
            return lambda: self.floor(marker)
        if path == "floor_openai":
            return lambda: self.floor_openai(messages, case.stream)
        return lambda: self.sdk(path, messages, case.stream)


def _reads_and_bytes(response: httpx.Response, server: str) -> tuple[int, int]:
    """How many reads the whole body took and its size; a status other than 200 is `server`'s failure."""
    reads = 0
    size = 0
    for data in response.iter_bytes():
        reads += 1
        size += len(data)
    if response.status_code != 200:
        raise BenchError(f"{server} answered {response.status_code}")
    return reads, size


def _content_of_message(response: object) -> str:
    choices: Final = getattr(response, "choices", None) or ()
    content: Final = getattr(getattr(choices[0], "message", None), "content", None) if choices else None
    return content if isinstance(content, str) else ""


def timed(action: Callable[[], tuple[int, int]]) -> Outcome:
    cpu_start: Final = time.process_time()
    start: Final = time.perf_counter()
    chunks, length = action()
    seconds: Final = time.perf_counter() - start
    drain_logging()
    return Outcome(seconds=seconds, cpu_seconds=time.process_time() - cpu_start, chunks=chunks, text_length=length)


def measure_case(paths: Paths, case: Case) -> dict[str, object]:
    runners: Final = {path: paths.runner(path, case) for path in PATHS}
    outcomes: Final[dict[str, list[Outcome]]] = {path: [] for path in PATHS}
    deadline: Final = time.monotonic() + case.seconds
    for turn in range(case.reps):
        if turn >= 2 and time.monotonic() > deadline:
            break
        for path in rotated(PATHS, turn):
            outcomes[path].append(timed(runners[path]))
    return summarize(case, outcomes)


def summarize(case: Case, outcomes: Mapping[str, Sequence[Outcome]]) -> dict[str, object]:
    ms: Final = {path: median([o.seconds for o in runs]) * 1000 for path, runs in outcomes.items()}
    cpu_ms: Final = {path: median([o.cpu_seconds for o in runs]) * 1000 for path, runs in outcomes.items()}
    overhead: Final = {"commandcode": ms["commandcode"] - ms["floor"], "openai": ms["openai"] - ms["floor_openai"]}
    lengths: Final = {path: sorted({o.text_length for o in runs}) for path, runs in outcomes.items()}
    if lengths["commandcode"] != [case.events] or lengths["openai"] != [case.events]:
        raise BenchError(f"{case.label}: the answers differ from {case.events} characters: {lengths}")
    return {
        "events": case.events,
        "burst": case.burst,
        "stream": case.stream,
        "reps": min(len(runs) for runs in outcomes.values()),
        "median_ms": {path: round(value, 3) for path, value in ms.items()},
        "cpu_ms": {path: round(value, 3) for path, value in cpu_ms.items()},
        "overhead_ms": {path: round(value, 3) for path, value in overhead.items()},
        "ratio_overhead": round(overhead["commandcode"] / overhead["openai"], 4) if overhead["openai"] > 0 else None,
        "ratio_total": round(ms["commandcode"] / ms["openai"], 4),
        "chunks": {path: median([o.chunks for o in runs]) for path, runs in outcomes.items()},
    }


def run(cc_url: str, oa_url: str, cases: Sequence[Case], log: Callable[[str], None]) -> list[dict[str, object]]:
    paths: Final = Paths(cc_url, oa_url)
    try:
        paths.warm_up()
        results: Final[list[dict[str, object]]] = []
        for case in cases:
            started = time.monotonic()
            result = measure_case(paths, case)
            results.append(result)
            log(f"  sdk {case.label}: {result['median_ms']} ({time.monotonic() - started:.1f} s)")
        return results
    finally:
        paths.close()
