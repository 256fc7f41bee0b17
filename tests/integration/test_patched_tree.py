"""Proof that the upstream change works when merged: the SDK integration suite, and the proxy suite where the release's
proxy installs here, run again in a separate pytest process against LiteLLM release trees patched by
`python -m litellm_commandcode.upstream apply`, with no run-time registration (`COMMANDCODE_TEST_NATIVE=1` makes the
run fail unless LiteLLM ships `commandcode` itself).

The proxy suite runs on the releases whose `litellm[proxy]` installs with its dependencies from the package index
(up to 1.108.7): the tree is imported with this environment's proxy dependencies. From 1.108.8 on `litellm[proxy]` pins
companion packages the index lacks, and from 1.110 the proxy is a separate `litellm-proxy` package it lacks too, so
1.109.3 and 1.110.2 run the SDK suite only."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest
from release_trees import CREDENTIAL_ENV, REPOSITORY, TREES, VERSIONS, pristine_tree

from litellm_commandcode import upstream

SDK_SUITE: Final = "tests/integration/test_sdk.py"
PROXY_SUITE: Final = "tests/integration/test_proxy.py"
PROXY_INSTALLS_UP_TO: Final = (1, 108, 7)
# The suites' sizes today: a run that collects fewer tests than this has lost some.
MIN_PASSED: Final = {(SDK_SUITE,): 76, (SDK_SUITE, PROXY_SUITE): 108}
RUN_TIMEOUT: Final = 600
SUMMARY: Final = re.compile(r"^=+ (?P<passed>\d+) passed(?:, (?P<skipped>\d+) skipped)?(?:, \d+ warnings?)? in ", re.M)
REGISTER_SKIP: Final = "LiteLLM ships commandcode: there is nothing to register"
SKIP_REASON: Final = re.compile(r"^SKIPPED \[\d+\] [^:]+:\d+: (.*)$", re.M)
# The tests that check one door only, skipped on the other.
ROUTE_SKIPS: Final = frozenset(
    (
        "Claude models take Anthropic's thinking parameters on the Provider API (see the next test)",
        "checks the Provider API door only",
        "checks the /alpha/generate wire body, or nothing that depends on the door",
    )
)
NATIVE_ONLY_TEST: Final = "test_register_is_a_no_op_when_litellm_ships_commandcode[generate] PASSED"
LOGS: Final = REPOSITORY / ".work" / "logs"
FIRST_FAILURE_CHARS: Final = 12000
SUMMARY_CHARS: Final = 3000
SECTION_BANNERS: Final = (" ERRORS =", " FAILURES =")


def suites(version: str) -> tuple[str, ...]:
    release: Final = tuple(int(part) for part in version.split("."))
    return (SDK_SUITE, PROXY_SUITE) if release <= PROXY_INSTALLS_UP_TO else (SDK_SUITE,)


def patched_tree(version: str) -> Path:
    tree: Final = TREES / f"native-{version}"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(pristine_tree(version), tree, symlinks=True)
    upstream.apply_tree(tree)
    return tree


def failure_report(stdout: str, stderr: str, log: Path) -> str:
    """The inner run's first error or failure in full (a failure early on can make every later test fail), its
    summary, and where its whole output is kept."""
    starts: Final = [index for banner in SECTION_BANNERS if (index := stdout.find(banner)) >= 0]
    first: Final = stdout[min(starts) : min(starts) + FIRST_FAILURE_CHARS] if starts else ""
    return f"whole run: {log}\n{first}\n[...]\n{stdout[-SUMMARY_CHARS:]}\n{stderr[-SUMMARY_CHARS:]}"


@pytest.mark.parametrize("version", VERSIONS)
def test_integration_suites_pass_on_a_patched_litellm_tree(version: str) -> None:
    tree: Final = patched_tree(version)
    env: Final = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_ENV}
    run: Final = suites(version)
    done: Final = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", *run],
        cwd=REPOSITORY,
        env={**env, "PYTHONPATH": str(tree), "COMMANDCODE_TEST_NATIVE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    LOGS.mkdir(parents=True, exist_ok=True)
    log: Final = LOGS / f"patched-tree-{version}.log"
    log.write_text(f"{done.stdout}\n---- stderr ----\n{done.stderr}", encoding="utf-8")
    report: Final = failure_report(done.stdout, done.stderr, log)
    assert done.returncode == 0, report
    summary: Final = SUMMARY.search(done.stdout)
    assert summary is not None, report
    assert int(summary["passed"]) >= MIN_PASSED[run], report
    skip_reasons: Final = set(SKIP_REASON.findall(done.stdout))
    assert skip_reasons - ROUTE_SKIPS == {REGISTER_SKIP}, report
    assert NATIVE_ONLY_TEST in done.stdout, report
