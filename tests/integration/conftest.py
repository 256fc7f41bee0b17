from collections.abc import Iterator
from typing import Final

import pytest

import litellm_commandcode
from litellm_commandcode.fake_server import FakeCommandCodeServer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ProxyProcess, describe_exit


def _proxy_gone(proxy: ProxyProcess, returncode: int) -> str:
    return (
        f"the proxy (pid {proxy.process.pid}) is not running: it {describe_exit(returncode)}; "
        f"the end of its log ({proxy.log}):\n{proxy.log_tail()}"
    )


@pytest.fixture(scope="module")
def server() -> Iterator[FakeCommandCodeServer]:
    """The fake Command Code server of a test module (tests/support/fake_stack.py reads what it received)."""
    with FakeCommandCodeServer() as fake:
        yield fake


@pytest.fixture(scope="module")
def plugin_registered() -> None:
    """The plug-in registered for the module's SDK calls (a no-op where LiteLLM ships `commandcode` itself)."""
    assert litellm_commandcode.register() is (not litellm_knows_commandcode())


@pytest.fixture
def fresh_server_default_route(server: FakeCommandCodeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's fake with no records, keys or scenarios left from other tests, and the SDK on its default route
    (no `COMMANDCODE_ROUTE` in the environment)."""
    monkeypatch.delenv("COMMANDCODE_ROUTE", raising=False)
    server.reset()


@pytest.fixture
def proxy_log_on_failure(request: pytest.FixtureRequest, proxy: ProxyProcess) -> Iterator[None]:
    """A test whose module's `proxy` has exited fails at once, saying how it exited; a failed test gets the log lines
    the proxy wrote during it (shown as "Captured stdout teardown"), and how it exited when it died during the test."""
    gone: Final = proxy.process.poll()
    if gone is not None:
        pytest.fail(_proxy_gone(proxy, gone))
    start: Final = proxy.log_size()
    failures: Final = request.session.testsfailed
    yield
    if request.session.testsfailed > failures:
        print(f"---- proxy log ({proxy.log}) during this test ----\n{proxy.log_tail(start)}")
        died: Final = proxy.process.poll()
        if died is not None:
            print(_proxy_gone(proxy, died))
