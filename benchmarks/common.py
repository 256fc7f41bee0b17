"""Processes, servers and statistics shared by the benchmark figures. Every process started here is stopped by the
`ExitStack` that started it; every wait is bounded in time."""

import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

ROOT: Final = Path(__file__).resolve().parent.parent
PYTHON: Final = sys.executable
LITELLM_CLI: Final = Path(sys.executable).with_name("litellm")
HOST: Final = "127.0.0.1"
CC_MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
CC_WIRE_MODEL: Final = "deepseek/deepseek-v4-flash"
OA_MODEL: Final = "openai/gpt-4o-mini"
CC_KEY: Final = "user_bench"
OA_KEY: Final = "sk-bench-openai"
SERVER_READY_SECONDS: Final = 20.0
PROXY_READY_SECONDS: Final = 120.0
STOP_SECONDS: Final = 10.0
POLL_SECONDS: Final = 0.05
URL_RE: Final = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Started:
    process: "subprocess.Popen[bytes]"
    url: str
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_bytes()[-chars:].decode("utf-8", "replace")
        return ""


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env: Final = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT), **(extra or {})}
    env.pop("DATABASE_URL", None)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM, then SIGKILL after STOP_SECONDS: only the process this module started, by its pid."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_SECONDS)


def _spawn(stack: contextlib.ExitStack, command: Sequence[str], log: Path, env: Mapping[str, str]) -> Started:
    with log.open("wb") as sink:
        process: Final = subprocess.Popen(
            list(command), cwd=ROOT, env=dict(env), stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    stack.callback(stop, process)
    return Started(process=process, url="", log=log)


def start_server(stack: contextlib.ExitStack, module: str, args: Sequence[str], log: Path) -> Started:
    """A fake server (`python -m MODULE --port 0 ...`) that prints `... listening on http://127.0.0.1:PORT`."""
    started: Final = _spawn(stack, [PYTHON, "-m", module, "--port", "0", *args], log, bench_env())
    deadline: Final = time.monotonic() + SERVER_READY_SECONDS
    while time.monotonic() < deadline:
        match = URL_RE.search(started.log_tail())
        if match:
            return Started(process=started.process, url=match.group(1), log=log)
        if started.process.poll() is not None:
            break
        time.sleep(POLL_SECONDS)
    raise BenchError(f"{module} did not start within {SERVER_READY_SECONDS:.0f} s:\n{started.log_tail()}")


def start_proxy(stack: contextlib.ExitStack, config: Path, env: Mapping[str, str], log: Path) -> Started:
    port: Final = free_port()
    command: Final = [str(LITELLM_CLI), "--config", str(config), "--port", str(port), "--host", HOST]
    started: Final = _spawn(stack, command, log, bench_env(env))
    url: Final = f"http://{HOST}:{port}"
    deadline: Final = time.monotonic() + PROXY_READY_SECONDS
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            raise BenchError(f"the proxy exited with {started.process.returncode}:\n{started.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/liveliness", timeout=2.0).status_code == 200:
                return Started(process=started.process, url=url, log=log)
        time.sleep(0.25)
    raise BenchError(f"the proxy was not ready within {PROXY_READY_SECONDS:.0f} s:\n{started.log_tail()}")


def long_marker(events: int, burst: int, size: int = 1) -> str:
    return f"[[fake:long events={events} size={size} burst={burst}]]"


def bench_messages(marker: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": f"Write the benchmark answer. {marker}"}]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered: Final = sorted(values)
    rank: Final = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def rotated(items: Sequence[str], turn: int) -> list[str]:
    """`items` starting at `turn`: interleaves the paths so that none always runs first."""
    shift: Final = turn % len(items)
    return [*items[shift:], *items[:shift]]


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def wait_for_low_load(limit: float, seconds: float) -> float:
    """Waits (bounded) until the 1-minute load average is below `limit`; returns the load it ended with."""
    deadline: Final = time.monotonic() + seconds
    load = os.getloadavg()[0]
    while load >= limit and time.monotonic() < deadline:
        time.sleep(1.0)
        load = os.getloadavg()[0]
    return load


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (all its threads), from /proc/PID/stat; 0.0 when unreadable."""
    try:
        fields: Final = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuClock:
    """Busy CPU seconds of the whole machine and of this process tree (this process and its waited-for children):
    the difference is what other processes used while the benchmark ran."""

    machine: float
    ours: float

    @staticmethod
    def now(pids: Sequence[int] = ()) -> "CpuClock":
        """`pids`: our children still running (servers, the proxy), whose CPU `os.times()` cannot see yet."""
        times: Final = os.times()
        running: Final = sum(process_cpu_seconds(pid) for pid in pids)
        return CpuClock(
            machine=_machine_busy_seconds(),
            ours=times.user + times.system + times.children_user + times.children_system + running,
        )


class NoiseMeter:
    """The share of the machine's CPU that other processes used while each part of the benchmark ran."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.shares: dict[str, float] = {}

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[None]:
        start: Final = CpuClock.now(self.pids)
        started: Final = time.monotonic()
        yield
        end: Final = CpuClock.now(self.pids)
        elapsed: Final = max(time.monotonic() - started, 1e-6)
        other: Final = (end.machine - start.machine) - (end.ours - start.ours)
        self.shares[name] = round(max(other, 0.0) / (elapsed * (os.cpu_count() or 1)), 3)


def _machine_busy_seconds() -> float:
    try:
        first: Final = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError):
        return 0.0
    values: Final = [int(value) for value in first[1:]]
    idle: Final = values[3] + (values[4] if len(values) > 4 else 0)
    steal: Final = values[7] if len(values) > 7 else 0
    return (sum(values[:8]) - idle - steal) / os.sysconf("SC_CLK_TCK")
