from collections.abc import Iterator
from typing import Final

import pytest

from tests.proxy_process import ProxyProcess


@pytest.fixture
def proxy_log_on_failure(request: pytest.FixtureRequest, proxy: ProxyProcess) -> Iterator[None]:
    """A failed test gets the log lines its module's `proxy` wrote during it (shown as "Captured stdout teardown")."""
    start: Final = proxy.log_size()
    failures: Final = request.session.testsfailed
    yield
    if request.session.testsfailed > failures:
        print(f"---- proxy log ({proxy.log}) during this test ----\n{proxy.log_tail(start)}")
