"""Proof that the upstream change works when merged: the SDK and proxy integration tests run again, in a separate
pytest process, against LiteLLM release trees patched by `python -m litellm_commandcode.upstream apply`, with no
run-time registration (`COMMANDCODE_TEST_NATIVE=1` makes the run fail unless LiteLLM ships `commandcode` itself)."""

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

SUITES: Final = ("tests/integration/test_sdk.py", "tests/integration/test_proxy.py")
RUN_TIMEOUT: Final = 600
LOGS: Final = REPOSITORY / ".work" / "logs"
FIRST_FAILURE_CHARS: Final = 12000
SUMMARY_CHARS: Final = 3000
SECTION_BANNERS: Final = (" ERRORS =", " FAILURES =")
NATIVE_ONLY_TEST: Final = "test_register_is_a_no_op_when_litellm_ships_commandcode PASSED"


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
def test_sdk_and_proxy_suites_pass_on_a_patched_litellm_tree(version: str) -> None:
    tree: Final = patched_tree(version)
    env: Final = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_ENV}
    done: Final = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *SUITES],
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
    assert NATIVE_ONLY_TEST in done.stdout, report
    summary: Final = re.search(r"=+ (\d+) passed(, \d+ skipped)?(, \d+ warnings?)? in ", done.stdout)
    assert summary is not None and int(summary.group(1)) >= 40, report
