"""One real `litellm --config` proxy process on a free 127.0.0.1 port, for the tests and the benchmarks: write its
config, start it, wait until it is live (bounded), read its log, stop it (SIGTERM, then SIGKILL)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import yaml

ROOT: Final = Path(__file__).resolve().parents[1]
LITELLM_CLI: Final = Path(sys.executable).with_name("litellm")
HOST: Final = "127.0.0.1"
READY_SECONDS: Final = 120.0
POLL_SECONDS: Final = 0.25
LIVENESS_SECONDS: Final = 2.0
STOP_SECONDS: Final = 10.0
LOG_TAIL_CHARS: Final = 6000


class ProxyStartError(RuntimeError):
    """The proxy exited, or was not live in time; the message ends with the tail of its log."""


@dataclass(frozen=True)
class ProxyProcess:
    process: "subprocess.Popen[bytes]"
    url: str
    log: Path

    def log_text(self, start: int = 0) -> str:
        """The log from byte `start` on (see `log_size`), decoded leniently."""
        with contextlib.suppress(OSError):
            return self.log.read_bytes()[start:].decode("utf-8", "replace")
        return ""

    def log_tail(self, start: int = 0, chars: int = LOG_TAIL_CHARS) -> str:
        return self.log_text(start)[-chars:]

    def log_size(self) -> int:
        return self.log.stat().st_size

    def rss_kib(self) -> int:
        """Resident memory of the proxy process, from /proc/<pid>/status."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise ProxyStartError(f"no VmRSS for pid {self.process.pid}")


def describe_exit(returncode: int) -> str:
    """A process's exit status in words: `was killed by SIGKILL` (a signal: the OOM killer, or another process) or
    `exited with status 1` (it stopped on its own)."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
        return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def proxy_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for a proxy: `base` (default: ours) plus `extra`, the bundled cost map, and no database."""
    env: Final = {**(os.environ if base is None else base), "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra}
    env.pop("DATABASE_URL", None)
    return env


def write_config(workdir: Path, config: Mapping[str, object]) -> Path:
    """`config` as `workdir/config.yaml`, for `launch`."""
    path: Final = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    return path


def launch(config: Path, log: Path, env: Mapping[str, str], extra_args: Sequence[str] = ()) -> ProxyProcess:
    """Starts `litellm --config CONFIG` on a free port, its output to `log`; it is not live yet (`wait_until_live`)."""
    port: Final = free_port()
    command: Final = [str(LITELLM_CLI), "--config", str(config), "--port", str(port), "--host", HOST, *extra_args]
    with log.open("wb") as sink:
        process: Final = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
        )
    return ProxyProcess(process=process, url=f"http://{HOST}:{port}", log=log)


def is_live(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/liveliness", timeout=LIVENESS_SECONDS).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_live(proxy: ProxyProcess, ready_seconds: float = READY_SECONDS) -> None:
    deadline: Final = time.monotonic() + ready_seconds
    for _ in range(int(ready_seconds / POLL_SECONDS) + 1):
        if proxy.process.poll() is not None:
            raise ProxyStartError(
                f"the proxy {describe_exit(proxy.process.returncode)} before it was ready:\n{proxy.log_tail()}"
            )
        if is_live(proxy.url):
            return
        if time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
    raise ProxyStartError(f"the proxy was not ready within {ready_seconds:.0f} s:\n{proxy.log_tail()}")


def stop_process(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM, then SIGKILL after STOP_SECONDS: only the process we started, by its pid."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_SECONDS)


@contextlib.contextmanager
def running_proxy(
    config: Path,
    log: Path,
    env: Mapping[str, str],
    extra_args: Sequence[str] = (),
    ready_seconds: float = READY_SECONDS,
) -> Iterator[ProxyProcess]:
    """A live proxy for the `with` block; stopped when it ends, however it ends."""
    proxy: Final = launch(config, log, env, extra_args)
    try:
        wait_until_live(proxy, ready_seconds)
        yield proxy
    finally:
        stop_process(proxy.process)
