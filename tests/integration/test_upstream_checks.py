"""`scripts/upstream-checks` as CI runs it: no cache of upstream's repository, so only the kit's steps and the checks
that need nothing but the newest release from PyPI run, and every check that needs upstream's files says SKIP."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

from release_trees import CREDENTIAL_ENV, REPOSITORY

SCRIPT: Final = REPOSITORY / "scripts" / "upstream_checks.py"
RUN_TIMEOUT: Final = 900
OFFLINE_CHECKS: Final = (
    "kit: upstream apply",
    "kit: second apply changes nothing",
    "kit: git apply --check of the diff",
    "upstream make check-import-safety (from litellm import *)",
    "upstream layout unit tests: pytest tests/test_litellm/llms/commandcode",
    "cost map: root and backup identical, commandcode entries resolve (kit's check)",
)
UPSTREAM_CHECKS: Final = (
    "upstream tests/code_coverage_tests/enforce_llms_folder_style.py",
    "upstream tests/code_coverage_tests/ensure_async_clients_test.py",
    "upstream tests/code_coverage_tests/check_py310_typing_imports.py",
    "upstream tests/code_coverage_tests/check_json_duplicate_keys.py",
    "upstream tests/code_coverage_tests/check_provider_folders_documented.py",
    "upstream ruff check (ruff.toml) on the files the change touches",
    "upstream ruff format --check litellm/llms/commandcode (ruff.toml)",
    "upstream mypy (mypy.ini) on litellm/llms/commandcode",
)
NOT_RUN: Final = 6


def upstream_checks(*args: str) -> subprocess.CompletedProcess[str]:
    env: Final = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_ENV}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def _status(output: str, name: str) -> str | None:
    """The status printed for the check called `name` (names hold ": ", so the line is matched by its prefix)."""
    return next((line[:4] for line in output.splitlines() if line[6:].startswith(f"{name}: ")), None)


def test_without_upstream_files_the_release_checks_pass_and_upstream_ones_skip(tmp_path: Path) -> None:
    done: Final = upstream_checks("--upstream", str(tmp_path))
    report: Final = done.stdout + done.stderr[-4000:]
    assert done.returncode == 0, report
    assert [_status(done.stdout, name) for name in OFFLINE_CHECKS] == ["PASS"] * len(OFFLINE_CHECKS), report
    assert [_status(done.stdout, name) for name in UPSTREAM_CHECKS] == ["SKIP"] * len(UPSTREAM_CHECKS), report
    assert (
        done.stdout.splitlines()[-1]
        == f"{len(OFFLINE_CHECKS)} passed, 0 failed, {len(UPSTREAM_CHECKS) + NOT_RUN} skipped"
    )


def test_a_release_that_cannot_be_had_is_a_failure(tmp_path: Path) -> None:
    done: Final = upstream_checks("--upstream", str(tmp_path), "--release", "0.0.0-not-a-release")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith("FAIL  tree: 0.0.0-not-a-release sdist unavailable: "), done.stdout
    assert done.stdout.splitlines()[-1] == "0 passed, 1 failed, 0 skipped"
