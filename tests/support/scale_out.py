"""Several proxy instances on one config (each on its own free port, started together, all stopped however the block
ends), and what the fake Command Code server saw of them."""

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from litellm_commandcode.fake_server import RequestRecord
from tests.proxy_process import ProxyProcess, launch, stop_process, wait_until_live


@contextlib.contextmanager
def running_proxies(config: Path, count: int, workdir: Path, env: Mapping[str, str]) -> Iterator[list[ProxyProcess]]:
    """`count` live proxies on `config`, logs in `workdir/proxy-<n>.log`, launched at once to boot together."""
    proxies: Final[list[ProxyProcess]] = []
    try:
        for index in range(count):
            proxies.append(launch(config, workdir / f"proxy-{index}.log", env))
        for proxy in proxies:
            wait_until_live(proxy)
        yield proxies
    finally:
        for proxy in proxies:
            stop_process(proxy.process)


def upstream_keys(records: Sequence[RequestRecord]) -> list[str]:
    """The Command Code key each upstream request carried, in order."""
    return [record.headers.get("authorization", "").removeprefix("Bearer ") for record in records]
