"""Running the fake: :class:`FakeCommandCodeServer` (its own event loop in a daemon thread, a context manager, for
tests) and the command line ``python -m litellm_commandcode.fake_server --port 0``, which prints
``fake-commandcode listening on http://127.0.0.1:PORT``. It binds to loopback only."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Final

from litellm_commandcode.fake_server.app import App
from litellm_commandcode.fake_server.http_io import DEFAULT_HOST, STOP_TIMEOUT_SECONDS, serve_until_signal
from litellm_commandcode.fake_server.scenarios import DEFAULT_SCENARIO, validate_scenario_spec
from litellm_commandcode.fake_server.state import RequestRecord, Settings, State
from litellm_commandcode.fake_server.validation import parse_version

ALLOWED_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_MIN_VERSION: Final = "1.0.0"
READY_MESSAGE: Final = "fake-commandcode listening on {url}"


def _format_url(host: str, port: int) -> str:
    shown = DEFAULT_HOST if host == "localhost" else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _settings(scenario: str, keys: Iterable[str] | None, min_version: str) -> Settings:
    version = parse_version(min_version)
    if version is None:
        raise ValueError(f"min_version must look like 1.2.3: {min_version!r}")
    accepted = frozenset(keys) if keys is not None else None
    return Settings(default_scenario=validate_scenario_spec(scenario), keys=accepted, min_version=version)


def _check_host(host: str) -> str:
    if host not in ALLOWED_HOSTS:
        raise ValueError(f"the fake server only binds to loopback ({', '.join(sorted(ALLOWED_HOSTS))}), not {host!r}")
    return host


class FakeCommandCodeServer:
    """The fake server on its own event loop in a daemon thread; a context manager."""

    def __init__(
        self,
        port: int = 0,
        scenario: str = DEFAULT_SCENARIO,
        keys: Iterable[str] | None = None,
        *,
        min_version: str = DEFAULT_MIN_VERSION,
        host: str = DEFAULT_HOST,
    ) -> None:
        self.host = _check_host(host)
        self.port = port
        self._state = State(_settings(scenario, keys, min_version))
        self._app = App(self._state)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return _format_url(self.host, self.port)

    @property
    def requests(self) -> list[RequestRecord]:
        return self._state.records()

    @property
    def disconnects(self) -> int:
        return self._state.disconnects

    def set_key_scenario(self, key: str, scenario: str | None) -> None:
        self._state.set_key_scenario(key, scenario)

    def set_default_scenario(self, scenario: str) -> None:
        self._state.set_default_scenario(scenario)

    def reset(self) -> None:
        self._state.reset()

    def start(self) -> FakeCommandCodeServer:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-commandcode", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self.port = asyncio.run_coroutine_threadsafe(self._app.start(self.host, self.port), loop).result(10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._app.close(), loop).result(STOP_TIMEOUT_SECONDS * 2)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_SECONDS)
        if not thread.is_alive():
            loop.close()
        self._loop, self._thread = None, None

    def __enter__(self) -> FakeCommandCodeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    description = "An offline fake of Command Code's POST /alpha/generate and Provider API (loopback only)."
    parser = argparse.ArgumentParser(prog="python -m litellm_commandcode.fake_server", description=description)
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="127.0.0.1 (default), localhost or ::1")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, help="default scenario, e.g. 'slow delay_ms=20'")
    parser.add_argument("--keys", default=None, help="comma-separated accepted keys (default: any user_* key)")
    parser.add_argument("--min-version", default=DEFAULT_MIN_VERSION, help="minimum x-command-code-version")
    args = parser.parse_args(argv)
    try:
        _check_host(args.host)
        keys = None if args.keys is None else [key.strip() for key in args.keys.split(",") if key.strip()]
        args.settings = _settings(args.scenario, keys, args.min_version)
    except ValueError as error:
        parser.error(str(error))
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)

    def ready(port: int) -> str:
        return READY_MESSAGE.format(url=_format_url(args.host, port))

    return asyncio.run(serve_until_signal(App(State(args.settings)), args.host, args.port, ready))
