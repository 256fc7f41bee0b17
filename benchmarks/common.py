"""Processes, servers and statistics shared by the benchmark figures. Every process started here is stopped by the
`ExitStack` that started it (the proxy: `tests.proxy_process.running_proxy`); every wait is bounded in time."""

import contextlib
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.proxy_process import ProxyProcess, proxy_env, stop_process

ROOT: Final = Path(__file__).resolve().parent.parent
PYTHON: Final = sys.executable
CC_MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
CC_WIRE_MODEL: Final = "deepseek/deepseek-v4-flash"
OA_MODEL: Final = "openai/gpt-4o-mini"
CC_KEY: Final = "user_bench"
OA_KEY: Final = "sk-bench-openai"
SERVER_READY_SECONDS: Final = 20.0
POLL_SECONDS: Final = 0.05
URL_RE: Final = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class BenchError(RuntimeError):
    pass


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return proxy_env(PYTHONPATH=str(ROOT), **(extra or {}))


def start_server(stack: contextlib.ExitStack, module: str, args: Sequence[str], log: Path) -> ProxyProcess:
    """A fake server (`python -m MODULE --port 0 ...`) that prints `... listening on http://127.0.0.1:PORT`."""
    command: Final = [PYTHON, "-m", module, "--port", "0", *args]
    with log.open("wb") as sink:
        process: Final = subprocess.Popen(
            command, cwd=ROOT, env=bench_env(), stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    stack.callback(stop_process, process)
    starting: Final = ProxyProcess(process=process, url="", log=log)
    deadline: Final = time.monotonic() + SERVER_READY_SECONDS
    while time.monotonic() < deadline:
        match = URL_RE.search(starting.log_tail())
        if match:
            return ProxyProcess(process=process, url=match.group(1), log=log)
        if process.poll() is not None:
            break
        time.sleep(POLL_SECONDS)
    raise BenchError(f"{module} did not start within {SERVER_READY_SECONDS:.0f} s:\n{starting.log_tail()}")


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


def rounded_load() -> list[float]:
    """The 1-, 5- and 15-minute load averages, to two decimals."""
    return [round(value, 2) for value in os.getloadavg()]


def run_meta(started: float, load_before: Sequence[float]) -> dict[str, object]:
    """Where a run ran and for how long: date, LiteLLM release, cores, seconds since `started` (`time.monotonic()`),
    and the load average before and now."""
    from importlib.metadata import version

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "litellm": version("litellm"),
        "cores": os.cpu_count(),
        "seconds": round(time.monotonic() - started, 1),
        "load_before": list(load_before),
        "load_after": rounded_load(),
    }


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


def _proc_children() -> dict[int, list[int]]:
    children: Final[dict[int, list[int]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """`pid` and every process under it (a proxy with `--num_workers N` runs its workers as children)."""
    children: Final = _proc_children()
    tree: Final = [pid]
    for parent in tree:
        tree.extend(children.get(parent, ()))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    return sum(process_cpu_seconds(member) for member in process_tree(pid))


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` and its children, MiB, from /proc/PID/status; 0.0 when unreadable."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{member}/status").read_text(encoding="ascii").splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)
