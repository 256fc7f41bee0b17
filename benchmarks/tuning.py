"""`scripts/bench tuning`: what LiteLLM's proxy settings cost per request with the commandcode provider, and the tuned
configuration (examples/config-production.yaml) next to the default one (examples/config.yaml) and LiteLLM's own
`openai/` path.

1. Settings, one at a time: a baseline proxy on examples/config.yaml for the whole sweep and, beside it, a proxy with
   one change (an environment variable, a config key); commandcode requests only, concurrency 16, streamed and not,
   the two proxies taking turns batch by batch: requests per second and the CPU milliseconds per request of each
   proxy's processes (all its workers), from /proc; ratio = median over the rounds of setting / baseline.
2. Default against production: both proxies at once, each with an `openai/` deployment on the fake OpenAI server
   beside commandcode (`benchmarks.proxy.load`: interleaved batches of the two paths), taking turns plan by plan; then
   time to first token (fake servers pausing 10 ms before each event).

Every proxy is started on a free 127.0.0.1 port and stopped when its part ends; every batch is bounded in
requests and seconds. Writes benchmarks/tuning.json and prints markdown tables (BENCHMARKS.md, "Tuning")."""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks import proxy  # noqa: E402
from benchmarks.common import (  # noqa: E402
    ROOT,
    BenchError,
    NoiseMeter,
    bench_env,
    long_marker,
    median,
    percentile,
    rounded_load,
    rss_mib,
    run_meta,
    start_server,
)
from tests.proxy_process import ProxyProcess, ProxyStartError, running_proxy  # noqa: E402
from tests.support.config_env import header_env  # noqa: E402

PRODUCTION: Final = ROOT / "examples" / "config-production.yaml"
OUT: Final = ROOT / "benchmarks" / "tuning.json"


@dataclass(frozen=True)
class Variant:
    """examples/config.yaml with `config` merged into its sections, `env` added to the proxy's environment and `args`
    added to its command line."""

    name: str
    config: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()


VARIANTS: Final = (
    Variant("LITELLM_LOG=ERROR", env={"LITELLM_LOG": "ERROR"}),
    Variant("disable_streaming_logging (no spend, no usage counts)", config={"litellm_settings": {"disable_streaming_logging": True}}),  # noqa: E501
    Variant("disable_aiohttp_transport (httpx upstream)", config={"litellm_settings": {"disable_aiohttp_transport": True}}),  # noqa: E501
    Variant("routing_strategy: usage-based-routing-v2", config={"router_settings": {"routing_strategy": "usage-based-routing-v2"}}),  # noqa: E501
    # uvicorn kills a worker that has not answered its health check within 5 s: importing LiteLLM takes longer on a
    # busy machine, and the workers are then restarted forever.
    Variant("--num_workers 2", env={"NUM_WORKERS": "2", "TIMEOUT_WORKER_HEALTHCHECK": "60"}),
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    concurrency: int
    requests: int
    rounds: int
    seconds: float
    plans: tuple[proxy.LoadPlan, ...]
    ttft_reps: int
    variants: tuple[Variant, ...]


FULL: Final = Settings(
    concurrency=16,
    requests=32,
    rounds=3,
    seconds=20.0,
    plans=(
        proxy.LoadPlan(concurrency=1, stream=True, requests=12, rounds=2, seconds=20),
        proxy.LoadPlan(concurrency=16, stream=True, requests=48, rounds=2, seconds=20),
        proxy.LoadPlan(concurrency=16, stream=False, requests=48, rounds=2, seconds=20),
    ),
    ttft_reps=8,
    variants=VARIANTS,
)
QUICK: Final = Settings(
    concurrency=4,
    requests=8,
    rounds=1,
    seconds=10.0,
    plans=(proxy.LoadPlan(concurrency=4, stream=True, requests=8, rounds=1, seconds=10),),
    ttft_reps=2,
    variants=VARIANTS[:1],
)
MARKERS: Final = proxy.Markers(stream=long_marker(50, 1, size=4), json=long_marker(50, 50, size=4))
TTFT_DELAY_MS: Final = 10
VARIANT_READY_SECONDS: Final = 300.0  # two workers import LiteLLM at once: minutes on a busy 2-core machine


def log(message: str) -> None:
    print(message, flush=True)


def variant_config(workdir: Path, oa_url: str, variant: Variant, index: int) -> Path:
    path: Final = proxy.write_config(workdir, oa_url, name=f"variant-{index}.yaml")
    config: Final = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in variant.config.items():
        config[section] = {**(config.get(section) or {}), **values}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Side:
    """One proxy of a pair: its batches per mode."""

    url: str
    pid: int
    batches: dict[bool, list[proxy.Batch]] = field(default_factory=lambda: {True: [], False: []})

    def figures(self, stream: bool) -> dict[str, float]:
        runs: Final = self.batches[stream]
        done: Final = sum(len(b.latencies) for b in runs)
        errors: Final = [error for b in runs for error in b.errors]
        if errors:
            raise BenchError(f"{len(errors)} errors, first: {errors[0]}")
        return {
            "rps": round(done / sum(b.seconds for b in runs), 2),
            "cpu_ms": round(sum(b.proxy_cpu_seconds for b in runs) / done * 1000, 2),
            "p50_ms": round(percentile([v for b in runs for v in b.latencies], 0.5) * 1000, 1),
        }


def _cpu_per_request(batch: proxy.Batch) -> float:
    return batch.proxy_cpu_seconds / max(len(batch.latencies), 1)


async def paired(baseline: Side, variant: Side, settings: Settings) -> dict[str, object]:
    """Rounds of one batch per proxy and mode, the two proxies' order swapped every round: both see the same machine.
    The ratio is the median over the rounds of variant / baseline CPU per request."""
    await asyncio.gather(proxy.warm_up(baseline.url, MARKERS), proxy.warm_up(variant.url, MARKERS))
    for turn in range(settings.rounds):
        for side in (baseline, variant) if turn % 2 == 0 else (variant, baseline):
            async with proxy.clients(side.url, settings.concurrency) as workers:
                for stream in (True, False):
                    body = proxy.request_body("commandcode", MARKERS.of(stream), stream)
                    side.batches[stream].append(
                        await proxy.batch(workers, body, settings.requests, settings.seconds, side.pid)
                    )
    figures: Final[dict[str, object]] = {}
    for stream in (True, False):
        mode = "stream" if stream else "json"
        ratios = [
            _cpu_per_request(v) / _cpu_per_request(b)
            for v, b in zip(variant.batches[stream], baseline.batches[stream], strict=True)
        ]
        figures[mode] = {
            "variant": variant.figures(stream),
            "baseline": baseline.figures(stream),
            "cpu_ratio": round(median(ratios), 3),
        }
    figures["rss_mib"] = {"variant": rss_mib(variant.pid), "baseline": rss_mib(baseline.pid)}
    return figures


def sweep(cc_url: str, oa_url: str, workdir: Path, settings: Settings, noise: NoiseMeter) -> list[dict[str, object]]:
    """One baseline proxy on examples/config.yaml for the whole sweep, and one proxy per variant beside it."""
    rows: Final[list[dict[str, object]]] = []
    env: Final = bench_env(proxy.proxy_env(cc_url))
    base_config: Final = variant_config(workdir, oa_url, Variant("baseline"), 0)
    with running_proxy(base_config, workdir / "baseline.log", env) as base:
        noise.pids.append(base.process.pid)
        for index, variant in enumerate(settings.variants, start=1):
            config = variant_config(workdir, oa_url, variant, index)
            variant_env = bench_env({**proxy.proxy_env(cc_url), **variant.env})
            log_path = workdir / f"variant-{index}.log"
            try:
                with (
                    running_proxy(config, log_path, variant_env, variant.args, VARIANT_READY_SECONDS) as started,
                    noise.measure(variant.name),
                ):
                    figures = asyncio.run(
                        paired(Side(base.url, base.process.pid), Side(started.url, started.process.pid), settings)
                    )
            except (ProxyStartError, BenchError) as error:
                rows.append({"variant": variant.name, "error": str(error)[:300]})
                log(f"  {variant.name}: {str(error)[:300]}")
                continue
            row = {"variant": variant.name, **figures, "other_processes_cpu_share": noise.shares[variant.name]}
            rows.append(row)
            log(f"  {variant.name}: {json.dumps(figures)}")
    return rows


def compare(cc_url: str, oa_url: str, workdir: Path, settings: Settings, noise: NoiseMeter) -> dict[str, object]:
    """examples/config.yaml and examples/config-production.yaml, each with commandcode and openai/ side by side; both
    proxies run at once and take turns plan by plan (the order swapped every plan), so that both see the same
    machine."""
    sources: Final = {"default": proxy.CONFIG, "production": PRODUCTION}
    compared: Final[dict[str, dict[str, object]]] = {name: {"load": []} for name in sources}
    with contextlib.ExitStack() as stack:
        started: dict[str, ProxyProcess] = {}
        for name, source in sources.items():
            config = proxy.write_config(workdir, oa_url, source=source, name=f"{name}.yaml")
            env = bench_env({**proxy.proxy_env(cc_url), **header_env(source)})
            started[name] = stack.enter_context(running_proxy(config, workdir / f"{name}.log", env))
            noise.pids.append(started[name].process.pid)
        for turn, plan in enumerate(settings.plans):
            for name in list(sources) if turn % 2 == 0 else list(reversed(sources)):
                with noise.measure(f"compare {name}"):
                    rows = asyncio.run(
                        proxy.load(started[name].url, started[name].process.pid, MARKERS, [plan], log, noise)
                    )
                compared[name]["load"].extend(rows)  # type: ignore[union-attr]
        for name in reversed(sources):
            compared[name]["ttft"] = asyncio.run(
                proxy.time_to_first_token(started[name].url, cc_url, oa_url, TTFT_DELAY_MS, settings.ttft_reps, log)
            )
            compared[name]["rss_mib"] = rss_mib(started[name].process.pid)
        for process in started.values():
            noise.pids.remove(process.process.pid)
    return compared


def _share(value: object) -> str:
    return f"{value:.0%}" if isinstance(value, float) else "n/a"


def markdown(results: Mapping[str, object]) -> str:
    lines: Final[list[str]] = []
    meta: Final = results["meta"]
    assert isinstance(meta, dict)
    if "date" in meta:
        lines.append(
            f"Produced by `{meta['command']}` on {meta['date']} (LiteLLM {meta['litellm']}, {meta['cores']} cores) "
            f"in {meta['seconds']} s; load average before {meta['load_before']}, after {meta['load_after']}."
        )
    lines.append("")
    sweep_rows: Final = results.get("sweep") or []
    if sweep_rows:
        lines += [
            "| setting (one change to examples/config.yaml) | CPU ms/req stream: setting / config.yaml (ratio) "
            "| req/s stream | CPU ms/req json (ratio) | req/s json | RSS MiB | other processes' CPU |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in sweep_rows:  # type: ignore[attr-defined]
            if "error" in row:
                lines.append(f"| {row['variant']} | failed: {row['error'][:120]} | | | | | |")
                continue
            cells = []
            for mode in ("stream", "json"):
                v, b = row[mode]["variant"], row[mode]["baseline"]
                cells.append(f"{v['cpu_ms']} / {b['cpu_ms']} ({row[mode]['cpu_ratio']})")
                cells.append(f"{v['rps']} / {b['rps']}")
            lines.append(
                f"| {row['variant']} | {' | '.join(cells)} "
                f"| {row['rss_mib']['variant']} / {row['rss_mib']['baseline']} "
                f"| {_share(row.get('other_processes_cpu_share'))} |"
            )
        lines.append("")
    compared: Final = results.get("compare")
    if isinstance(compared, dict):
        lines += [
            "| config | path | concurrency | mode | req/s | proxy CPU ms/req | p50 ms | p99 ms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, data in compared.items():
            for row in data["load"]:
                for path in ("commandcode", "openai"):
                    lines.append(
                        f"| {name} | {path} | {row['concurrency']} | {'stream' if row['stream'] else 'json'} "
                        f"| {row['rps'][path]} | {row['cpu_ms'][path]} | {row['p50_ms'][path]} "
                        f"| {row['p99_ms'][path]} |"
                    )
        lines += [
            "",
            "| config | path | time to first token ms (direct) | through the proxy | added |",
            "|---|---|---|---|---|",
        ]  # noqa: E501
        for name, data in compared.items():
            ms, added = data["ttft"]["median_ms"], data["ttft"]["added_ms"]
            for path in ("commandcode", "openai"):
                lines.append(
                    f"| {name} | {path} | {ms[f'{path} direct']} | {ms[f'{path} proxy']} | {added[f'{path} proxy']} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the ExitStack stops every process started
    parser: Final = argparse.ArgumentParser(prog="scripts/bench tuning", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few requests, two settings: checks the command")
    parser.add_argument("--only", choices=("sweep", "compare"), help="run one of the two parts")
    parser.add_argument("--out", type=Path, default=OUT)
    args: Final = parser.parse_args(argv)
    settings: Final = QUICK if args.quick else FULL
    import litellm_commandcode

    litellm_commandcode.register()  # time to first token is also read through the SDK in this process
    started: Final = time.monotonic()
    load_before: Final = rounded_load()
    # A part run alone (--only) replaces its own figures in an earlier run's file and keeps the other part's.
    results: Final[dict[str, object]] = (
        json.loads(args.out.read_text(encoding="utf-8")) if args.only and args.out.exists() else {}
    )
    noise: Final = NoiseMeter()
    with tempfile.TemporaryDirectory(prefix="commandcode-tuning-") as temporary, contextlib.ExitStack() as stack:
        workdir = Path(temporary)
        cc = start_server(stack, "litellm_commandcode.fake_server", [], workdir / "fake-commandcode.log")
        oa = start_server(stack, "benchmarks.fake_openai", [], workdir / "fake-openai.log")
        noise.pids.extend((cc.process.pid, oa.process.pid))
        parts: dict[str, Callable[[], object]] = {
            "sweep": lambda: sweep(cc.url, oa.url, workdir, settings, noise),
            "compare": lambda: compare(cc.url, oa.url, workdir, settings, noise),
        }
        for name, part in parts.items():
            if args.only in (None, name):
                log(f"tuning: {name}")
                results[name] = part()
                args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    results["meta"] = {
        "command": "scripts/bench tuning" + (" --quick" if args.quick else ""),
        **run_meta(started, load_before),
        "other_processes_cpu_share": noise.shares,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
