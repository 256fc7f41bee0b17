"""`scripts/bench`: the side-by-side benchmark of `commandcode/` against LiteLLM's `openai/` path (see BENCHMARKS.md).

Runs five figures on identical content, checks the targets, profiles every missed target, writes
benchmarks/results.json and benchmarks/results.md, prints the table and PASS/FAIL per target."""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks import iterator, proxy, report, sdk  # noqa: E402
from benchmarks.common import (  # noqa: E402
    CC_KEY,
    CC_WIRE_MODEL,
    PYTHON,
    ROOT,
    BenchError,
    CpuClock,
    NoiseMeter,
    bench_env,
    bench_messages,
    long_marker,
    median,
    process_cpu_seconds,
    start_server,
)
from benchmarks.profiling import profile_call, recording  # noqa: E402
from tests.proxy_process import running_proxy  # noqa: E402

OUT_DIR: Final = ROOT / "benchmarks"
SCALING_SECONDS: Final = 300.0
TARGET_EVENTS: Final = 2000
TARGET_BURST: Final = 50
EVIDENCE_SECONDS: Final = 6.0


@dataclass(frozen=True)
class Settings:
    """Request counts and repetitions; `quick` is for trying the command, not for numbers."""

    iterator_events: int
    iterator_rounds: int
    sdk_cases: tuple[sdk.Case, ...]
    proxy_markers: proxy.Markers
    proxy_plans: tuple[proxy.LoadPlan, ...]
    ttft_delay_ms: int
    ttft_reps: int
    scaling_events: tuple[int, ...]
    scaling_burst: int


FULL: Final = Settings(
    iterator_events=500,
    iterator_rounds=41,
    sdk_cases=(
        sdk.Case(events=10, burst=1, stream=True, reps=25, seconds=20),
        sdk.Case(events=1000, burst=1, stream=True, reps=5, seconds=30),
        sdk.Case(events=10_000, burst=1, stream=True, reps=1, seconds=1),
        sdk.Case(events=TARGET_EVENTS, burst=TARGET_BURST, stream=True, reps=7, seconds=60),
        sdk.Case(events=10, burst=1, stream=False, reps=25, seconds=20),
        sdk.Case(events=1000, burst=1, stream=False, reps=15, seconds=20),
        sdk.Case(events=10_000, burst=1, stream=False, reps=5, seconds=20),
        sdk.Case(events=TARGET_EVENTS, burst=TARGET_BURST, stream=False, reps=15, seconds=20),
    ),
    proxy_markers=proxy.Markers(stream=long_marker(50, 1, size=4), json=long_marker(50, 50, size=4)),
    proxy_plans=(
        proxy.LoadPlan(concurrency=1, stream=True, requests=8, rounds=4, seconds=20),
        proxy.LoadPlan(concurrency=16, stream=True, requests=32, rounds=4, seconds=20),
        proxy.LoadPlan(concurrency=64, stream=True, requests=64, rounds=3, seconds=30),
        proxy.LoadPlan(concurrency=1, stream=False, requests=8, rounds=8, seconds=20),
        proxy.LoadPlan(concurrency=16, stream=False, requests=32, rounds=8, seconds=20),
        proxy.LoadPlan(concurrency=64, stream=False, requests=64, rounds=6, seconds=30),
    ),
    ttft_delay_ms=10,
    ttft_reps=10,
    scaling_events=(1000, 10_000, 100_000),
    scaling_burst=100,
)
QUICK: Final = Settings(
    iterator_events=200,
    iterator_rounds=5,
    sdk_cases=(
        sdk.Case(events=10, burst=1, stream=True, reps=3, seconds=5),
        sdk.Case(events=TARGET_EVENTS, burst=TARGET_BURST, stream=True, reps=2, seconds=5),
        sdk.Case(events=TARGET_EVENTS, burst=TARGET_BURST, stream=False, reps=3, seconds=5),
    ),
    proxy_markers=proxy.Markers(stream=long_marker(20, 1, size=4), json=long_marker(20, 20, size=4)),
    proxy_plans=(
        proxy.LoadPlan(concurrency=1, stream=True, requests=4, rounds=1, seconds=10),
        proxy.LoadPlan(concurrency=4, stream=False, requests=8, rounds=1, seconds=10),
    ),
    ttft_delay_ms=10,
    ttft_reps=2,
    scaling_events=(1000, 10_000),
    scaling_burst=100,
)


def log(message: str) -> None:
    print(message, flush=True)


def git_commit() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        if done.returncode == 0:
            return done.stdout.strip() + ("+uncommitted" if dirty.stdout.strip() else "")
    return "unknown"


def run_scaling(cc_url: str, settings: Settings) -> list[dict[str, object]]:
    command: Final = [
        PYTHON, "-m", "benchmarks.scaling", "--url", cc_url,
        "--events", ",".join(str(events) for events in settings.scaling_events), "--burst", str(settings.scaling_burst),
    ]  # fmt: skip
    done: Final = subprocess.run(
        command, cwd=ROOT, env=bench_env(), capture_output=True, text=True, timeout=SCALING_SECONDS
    )
    if done.returncode != 0:
        raise BenchError(f"benchmarks.scaling failed ({done.returncode}):\n{done.stderr[-3000:]}")
    rows: Final = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for row in rows:
        if "error" in row:
            raise BenchError(f"scaling {row}")
        log(f"  scaling {row['events']} events {'stream' if row['stream'] else 'non-stream'}: {row['seconds']} s, "
            f"+{row['rss_growth_mb']} MB RSS, tracemalloc peak {row['tracemalloc_peak_mb']} MB")  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------------------------------


def _sdk_target_row(rows: Sequence[Mapping[str, object]]) -> Mapping[str, object] | None:
    return next(
        (r for r in rows if r["events"] == TARGET_EVENTS and r["burst"] == TARGET_BURST and r["stream"] is True), None
    )


def evaluate(results: Mapping[str, object]) -> list[dict[str, object]]:
    targets: Final[list[dict[str, object]]] = []
    sdk_row: Final = _sdk_target_row(results["sdk"])  # type: ignore[arg-type]
    ratio: Final = sdk_row["ratio_overhead"] if sdk_row is not None else None
    targets.append(
        {
            "id": "sdk_streaming_cost",
            "target": f"SDK streaming cost, {TARGET_EVENTS} events in bursts of {TARGET_BURST}: commandcode / openai",
            "limit": "<= 0.25",
            "value": ratio,
            "passed": isinstance(ratio, float) and ratio <= 0.25,
        }
    )
    proxy_rows: Final = results["proxy"]
    assert isinstance(proxy_rows, list)
    worst_proxy: Final = min((row["ratio_rps"] for row in proxy_rows), default=None)
    targets.append(
        {
            "id": "proxy_throughput",
            "target": "proxy requests/s commandcode / openai, every concurrency, streaming and not (worst row)",
            "limit": ">= 1.0",
            "value": worst_proxy,
            "passed": worst_proxy is not None and worst_proxy >= 1.0,
        }
    )
    worst_iterator: Final = iterator.worst_ratio(results["iterator"])  # type: ignore[arg-type]
    targets.append(
        {
            "id": "iterator_per_event",
            "target": "iterator us/event commandcode / Ollama's, every event kind and input form (worst)",
            "limit": "<= 1.0",
            "value": worst_iterator,
            "passed": worst_iterator <= 1.0,
        }
    )
    ttft: Final = results["ttft"]
    assert isinstance(ttft, dict)
    added: Final = ttft["added_ms"]["commandcode proxy"]
    targets.append(
        {
            "id": "ttft_added",
            "target": "time to first token through the proxy minus direct (httpx to the fake server), commandcode",
            "limit": "<= 2 ms",
            "value": added,
            "passed": added <= 2.0,
        }
    )
    streaming: Final = {row["events"]: row for row in results["scaling"] if row["stream"]}  # type: ignore[attr-defined]
    smallest, largest = min(streaming), max(streaming)
    growth: Final = round(streaming[largest]["rss_growth_mb"] - streaming[smallest]["rss_growth_mb"], 2)
    targets.append(
        {
            "id": "streaming_memory",
            "target": f"streaming peak RSS growth from {smallest:,} to {largest:,} events",
            "limit": "<= 20 MB",
            "value": growth,
            "passed": growth <= 20.0,
        }
    )
    return targets


# ---------------------------------------------------------------------------------------------------------------------
# Evidence for missed targets
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    cc_url: str
    oa_url: str
    proxy_url: str
    proxy_pid: int
    profiles: Path


def evidence_sdk(live: Live) -> dict[str, object]:
    case: Final = sdk.Case(events=TARGET_EVENTS, burst=TARGET_BURST, stream=True, reps=1, seconds=1)
    paths: Final = sdk.Paths(live.cc_url, live.oa_url)
    try:
        profiles: Final[dict[str, object]] = {}
        for path in ("commandcode", "openai"):
            action = paths.runner(path, case)
            action()

            def profiled(action: Callable[[], tuple[int, int]] = action) -> None:
                action()
                sdk.drain_logging()

            profiles[path] = profile_call(profiled)
        return profiles
    finally:
        paths.close()


def evidence_iterator(results: Mapping[str, object]) -> dict[str, object]:
    ratios: Final = results["iterator"]["ratio_to_ollama"]  # type: ignore[index]
    kind: Final = max(ratios, key=lambda name: max(ratios[name].values()))
    return {
        "kind": kind,
        **{
            variant: profile_call(iterator._runner(variant, kind, 5000))  # noqa: SLF001
            for variant in iterator.VARIANTS
        },
    }


async def _ttft_loop(live: Live, path: str, seconds: float, delay_ms: int) -> int:
    marker: Final = (
        f"[[fake:slow delay_ms={delay_ms}]]" if path == "commandcode" else proxy.openai_slow_marker(delay_ms)
    )
    body: Final = proxy.request_body(path, marker, stream=True)
    deadline: Final = time.monotonic() + seconds
    count = 0
    async with proxy.client(live.proxy_url, 2) as http:
        while time.monotonic() < deadline:
            await proxy.ttft_proxy(http, body)
            count += 1
    return count


def time_our_request_path(cc_url: str, reps: int = 300) -> dict[str, object]:
    """Microseconds our provider spends on one streamed request before its first token, timed directly: mapping the
    parameters, the headers, the URL and the request body; then parsing the read that carries the first text delta."""
    from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig, ModelResponseIterator
    from litellm.types.llms.openai import AllMessageValues

    config: Final = CommandCodeChatConfig()  # type: ignore[no-untyped-call]
    model: Final = CC_WIRE_MODEL
    messages: Final = cast(list[AllMessageValues], bench_messages("[[fake:slow delay_ms=10]]"))
    stream_params: Final[dict[str, object]] = {"stream": True, "stream_options": {"include_usage": True}}
    first_read: Final = b'{"type":"text-delta","id":"txt-0","text":"Hello"}\n'

    def request() -> None:
        optional = config.map_openai_params(stream_params, {}, model, False)
        headers = config.validate_environment({}, model, messages, optional, {}, api_key=CC_KEY, api_base=cc_url)
        config.get_complete_url(cc_url, CC_KEY, model, optional, {}, stream=True)
        config.transform_request(model, messages, optional, {}, headers)

    def first_chunk() -> None:
        next(iter(ModelResponseIterator(streaming_response=iter((first_read,)), sync_stream=True)))

    timings: Final[dict[str, object]] = {}
    for name, action in (("request_us", request), ("first_chunk_us", first_chunk)):
        action()
        samples = []
        for _ in range(reps):
            start = time.perf_counter()
            action()
            samples.append((time.perf_counter() - start) * 1e6)
        timings[name] = round(median(samples), 1)
    return timings


def evidence_ttft(live: Live, results: Mapping[str, object], settings: Settings) -> dict[str, object]:
    evidence: Final[dict[str, object]] = {"our request path": time_our_request_path(live.cc_url)}
    for path in ("commandcode", "openai"):
        window = EVIDENCE_SECONDS
        cpu_before = process_cpu_seconds(live.proxy_pid)
        with recording(live.proxy_pid, window, live.profiles / f"ttft-{path}.txt") as profile:
            count = asyncio.run(_ttft_loop(live, path, window - 0.5, settings.ttft_delay_ms))
        cpu_ms = (process_cpu_seconds(live.proxy_pid) - cpu_before) / max(count, 1) * 1000
        evidence[f"proxy {path}"] = {"requests": count, "proxy_cpu_ms_per_request": round(cpu_ms, 2), **profile}
    sdk_marker: Final = f"[[fake:slow delay_ms={settings.ttft_delay_ms}]]"

    def sdk_requests() -> None:
        async def requests() -> None:
            for _ in range(5):
                await proxy.ttft_sdk("commandcode", live.cc_url, live.oa_url, sdk_marker)

        asyncio.run(requests())

    evidence["sdk commandcode"] = profile_call(sdk_requests)
    return evidence


def evidence_proxy(live: Live, results: Mapping[str, object], settings: Settings) -> dict[str, object]:
    rows: Final = [row for row in results["proxy"] if row["ratio_rps"] < 1.0]  # type: ignore[attr-defined]
    evidence: Final[dict[str, object]] = {}
    for row in rows:
        stream = bool(row["stream"])
        concurrency = int(row["concurrency"])
        for path in ("commandcode", "openai"):
            body = proxy.request_body(path, settings.proxy_markers.of(stream), stream)
            window = EVIDENCE_SECONDS
            cpu_before = process_cpu_seconds(live.proxy_pid)

            async def drive(body: Mapping[str, object] = body, concurrency: int = concurrency) -> int:
                async with proxy.clients(live.proxy_url, concurrency) as workers:
                    done = await proxy.batch(workers, body, 100_000, EVIDENCE_SECONDS - 0.5)
                return len(done.latencies)

            name = f"c={concurrency} {'stream' if stream else 'json'} {path}"
            with recording(live.proxy_pid, window, live.profiles / f"proxy-{name.replace(' ', '-')}.txt") as profile:
                count = asyncio.run(drive())
            cpu_ms = (process_cpu_seconds(live.proxy_pid) - cpu_before) / max(count, 1) * 1000
            evidence[name] = {"requests": count, "proxy_cpu_ms_per_request": round(cpu_ms, 2), **profile}
    return evidence


# ---------------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------------


def measure(
    settings: Settings, workdir: Path, profiles: Path, stack: contextlib.ExitStack
) -> tuple[dict[str, object], Live]:
    import litellm_commandcode

    litellm_commandcode.register()
    results: Final[dict[str, object]] = {}
    noise: Final = NoiseMeter()
    results["other_processes_cpu_share"] = noise.shares
    log("figure 2: the iterator alone")
    with noise.measure("iterator"):
        results["iterator"] = iterator.run(settings.iterator_events, settings.iterator_rounds, log)
    cc: Final = start_server(stack, "litellm_commandcode.fake_server", [], workdir / "fake-commandcode.log")
    oa: Final = start_server(stack, "benchmarks.fake_openai", [], workdir / "fake-openai.log")
    noise.pids.extend((cc.process.pid, oa.process.pid))
    log(f"fake servers: commandcode {cc.url}, openai {oa.url}")
    log("figure 1: SDK, streaming and not")
    with noise.measure("sdk"):
        results["sdk"] = sdk.run(cc.url, oa.url, settings.sdk_cases, log)
    log("figure 5: scaling (a child process per size)")
    with noise.measure("scaling"):
        results["scaling"] = run_scaling(cc.url, settings)
    log("starting the proxy (examples/config.yaml + an openai/ deployment)")
    config: Final = proxy.write_config(workdir, oa.url)
    started: Final = stack.enter_context(
        running_proxy(config, workdir / "proxy.log", bench_env(proxy.proxy_env(cc.url)))
    )
    noise.pids.append(started.process.pid)
    log("figure 3: proxy throughput and latency")
    with noise.measure("proxy"):
        results["proxy"] = asyncio.run(
            proxy.load(started.url, started.process.pid, settings.proxy_markers, settings.proxy_plans, log, noise)
        )
    floors: Final = asyncio.run(proxy.upstream_floors(started.url, cc.url, oa.url, settings.proxy_markers, 20))
    results["proxy_floors"] = floors
    log(f"  direct to the fake servers (median ms): {floors}")
    log("figure 4: time to first token")
    with noise.measure("ttft"):
        results["ttft"] = asyncio.run(
            proxy.time_to_first_token(started.url, cc.url, oa.url, settings.ttft_delay_ms, settings.ttft_reps, log)
        )
    log(f"other processes' share of the machine's CPU: {noise.shares}")
    return results, Live(cc.url, oa.url, started.url, started.process.pid, profiles)


def explain(targets: list[dict[str, object]], results: Mapping[str, object], live: Live, settings: Settings) -> None:
    producers: Final[Mapping[str, Callable[[], dict[str, object]]]] = {
        "sdk_streaming_cost": lambda: evidence_sdk(live),
        "iterator_per_event": lambda: evidence_iterator(results),
        "ttft_added": lambda: evidence_ttft(live, results, settings),
        "proxy_throughput": lambda: evidence_proxy(live, results, settings),
    }
    for target in targets:
        if target["passed"]:
            continue
        producer = producers.get(str(target["id"]))
        log(f"profiling the missed target {target['id']}")
        try:
            target["evidence"] = producer() if producer is not None else {"unavailable": "no profile for this target"}
        except (BenchError, OSError, RuntimeError, ValueError, TimeoutError) as error:
            target["evidence"] = {"unavailable": f"profiling failed: {type(error).__name__}: {error}"}
        target["explanation"] = report.explanation(target, results)


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few requests: checks the command, numbers are noise")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="directory for results.json and results.md")
    parser.add_argument("--update-docs", action="store_true", help="also replace the results block of BENCHMARKS.md")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--render", action="store_true", help="measure nothing: rewrite results.md (and the docs) from results.json"
    )
    args: Final = parser.parse_args(argv)
    if args.render:
        return render(args.out, args.update_docs)
    settings: Final = QUICK if args.quick else FULL
    started: Final = time.monotonic()
    clock: Final = CpuClock.now()
    load_before: Final = os.getloadavg()
    log(f"bench: load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="commandcode-bench-") as temporary, contextlib.ExitStack() as stack:
        workdir = Path(temporary)
        profiles = args.out / "profiles"
        profiles.mkdir(parents=True, exist_ok=True)
        results, live = measure(settings, workdir, profiles, stack)
        targets = evaluate(results)
        explain(targets, results, live, settings)
    end_clock: Final = CpuClock.now()
    seconds: Final = time.monotonic() - started
    import litellm

    results["meta"] = {
        "command": "scripts/bench" + (" --quick" if args.quick else ""),
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": platform.python_version(),
        "litellm": _litellm_version(litellm),
        "cores": os.cpu_count(),
        "seconds": round(seconds, 1),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "other_processes_cpu_seconds": round((end_clock.machine - clock.machine) - (end_clock.ours - clock.ours), 1),
        "quick": args.quick,
    }
    results["targets"] = targets
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    markdown: Final = report.markdown(results)
    (args.out / "results.md").write_text(markdown, encoding="utf-8")
    if args.update_docs:
        report.update_docs(ROOT / "BENCHMARKS.md", markdown)
    print()
    print(markdown)
    for target in targets:
        log(f"{'PASS' if target['passed'] else 'FAIL'}  {target['id']}: {target['value']} (target {target['limit']})")
    log(f"bench: {seconds:.0f} s; results in {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 1 if args.strict and not all(target["passed"] for target in targets) else 0


def render(out: Path, update_docs: bool) -> int:
    results: Final = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for target in results["targets"]:
        if not target["passed"]:
            target["explanation"] = report.explanation(target, results)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    markdown: Final = report.markdown(results)
    (out / "results.md").write_text(markdown, encoding="utf-8")
    if update_docs:
        report.update_docs(ROOT / "BENCHMARKS.md", markdown)
    print(markdown)
    return 0


def _litellm_version(module: object) -> str:
    from importlib.metadata import PackageNotFoundError, version

    with contextlib.suppress(PackageNotFoundError):
        return version("litellm")
    return str(getattr(module, "__version__", "unknown"))


if __name__ == "__main__":
    sys.exit(main())
