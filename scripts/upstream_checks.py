#!/usr/bin/env python3
"""
Run, in a LiteLLM tree patched by the upstream kit, the checks upstream's CI applies to a new provider.

The tree is the newest release's source distribution from PyPI (downloaded once into .work/sdist), or, with
`--upstream DIR` pointing at a whole BerriAI/litellm checkout, a copy of that checkout (what a pull request is rebased
on). Upstream's own check scripts and tool configuration (ruff.toml, mypy.ini, tests/code_coverage_tests/*.py) come
from `--upstream DIR` (default .work/upstream, which may hold only those files); a check whose files are not there
prints SKIP with the reason. Nothing here is committed from upstream: the directory is a local cache.

Prints one line per check (PASS, FAIL or SKIP and why) and `N passed, N failed, N skipped`; exits 1 on any FAIL.
A check upstream's script fails on the pristine release as well is not the change's doing: it prints SKIP with that.

Usage: scripts/upstream-checks [--upstream DIR] [--release VERSION]
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from litellm_commandcode.compat import tested_releases

REPOSITORY: Final = Path(__file__).resolve().parent.parent
WORK: Final = REPOSITORY / ".work"
SDISTS: Final = WORK / "sdist"
WHEELS: Final = WORK / "wheels"
# Compiled from Rust (maturin) when the sdist is built; taken from the release's own wheel instead.
NATIVE_PREFIX: Final = "litellm/rust_bridge/_native"
CHECK_TREES: Final = WORK / "upstream-checks"
TOOLS: Final = WORK / "tools"
DEFAULT_UPSTREAM: Final = WORK / "upstream"
NEWEST_RELEASE: Final = tested_releases()["newest"]
PYPI_SIMPLE_JSON: Final = "https://pypi.org/simple/litellm/"
PROVIDER_DIR: Final = "litellm/llms/commandcode"
PROVIDER_TESTS: Final = "tests/test_litellm/llms/commandcode"
ENDPOINTS: Final = "provider_endpoints_support.json"
ENDPOINTS_BACKUP: Final = "litellm/provider_endpoints_support_backup.json"
COST_MAP: Final = "model_prices_and_context_window.json"
COST_MAP_BACKUP: Final = "litellm/model_prices_and_context_window_backup.json"
CODE_COVERAGE: Final = "tests/code_coverage_tests"
PROVIDER: Final = "commandcode"
LINE_NUMBER: Final = re.compile(r"line \d+")
LISTED_NAMES: Final = re.compile(r"\[((?:'[^']*'(?:, )?)*)\]")
DOWNLOAD_TIMEOUT: Final = 300
INSTALL_TIMEOUT: Final = 600
RUN_TIMEOUT: Final = 900
DETAIL_CHARS: Final = 300
CREDENTIAL_ENV: Final = ("COMMANDCODE_API_KEY", "COMMAND_CODE_API_KEY", "COMMANDCODE_API_BASE")

Status = Literal["PASS", "FAIL", "SKIP"]


@dataclass(frozen=True)
class Result:
    status: Status
    name: str
    detail: str


@dataclass(frozen=True)
class Trees:
    pristine: Path
    patched: Path
    source: str


@dataclass(frozen=True)
class Run:
    code: int
    output: str


def run(command: Sequence[str], cwd: Path, tree: Path | None = None) -> Run:
    env: Final = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_ENV}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["PYTHONHASHSEED"] = "0"
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    done: Final = subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    return Run(done.returncode, (done.stdout + done.stderr).strip())


def last_lines(text: str) -> str:
    lines: Final = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-3:])


def tail(text: str) -> str:
    return last_lines(text)[-DETAIL_CHARS:]


# ---------------------------------------------------------------------------------------------------------------------
# The tree: the release's sdist (or a whole checkout), pristine and patched
# ---------------------------------------------------------------------------------------------------------------------


def sdist(version: str) -> Path:
    """The release's source distribution, downloaded once from PyPI and checked against PyPI's sha256."""
    target: Final = SDISTS / f"litellm-{version}.tar.gz"
    if target.is_file():
        return target
    # The simple index's JSON form (PEP 691), which pip reads too; the per-release JSON API is not served everywhere.
    listing: Final = urllib.request.Request(PYPI_SIMPLE_JSON, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(listing, timeout=DOWNLOAD_TIMEOUT) as response:
        files: Final = json.load(response)["files"]
    entry: Final = next(file for file in files if file["filename"] == target.name)
    with urllib.request.urlopen(entry["url"], timeout=DOWNLOAD_TIMEOUT) as response:
        content: Final = response.read()
    if hashlib.sha256(content).hexdigest() != entry["hashes"]["sha256"]:
        raise RuntimeError(f"{entry['url']}: sha256 differs from PyPI's")
    SDISTS.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target


def wheel(version: str) -> Path:
    found: Final = sorted(WHEELS.glob(f"litellm-{version}-*.whl"))
    if found:
        return found[0]
    download: Final = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"litellm=={version}"]
    subprocess.run([*download, "-d", str(WHEELS)], check=True, timeout=DOWNLOAD_TIMEOUT)
    return sorted(WHEELS.glob(f"litellm-{version}-*.whl"))[0]


def add_native_extension(tree: Path, version: str) -> None:
    with zipfile.ZipFile(wheel(version)) as archive:
        members: Final = [name for name in archive.namelist() if name.startswith(NATIVE_PREFIX)]
        if not members:
            raise RuntimeError(f"the {version} wheel has no {NATIVE_PREFIX}*")
        archive.extractall(tree, members)


def pristine_from_sdist(version: str) -> Path:
    tree: Final = CHECK_TREES / f"pristine-{version}"
    marker: Final = tree / ".unpacked"
    if marker.is_file():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    source: Final = sdist(version)
    with tempfile.TemporaryDirectory(dir=WORK) as scratch, tarfile.open(source) as archive:
        archive.extractall(scratch, filter="data")
        shutil.move(Path(scratch) / f"litellm-{version}", tree)
    add_native_extension(tree, version)
    # A checkout keeps the root endpoints file equal to its packaged backup; the sdist ships only the backup.
    if not (tree / ENDPOINTS).is_file():
        shutil.copy2(tree / ENDPOINTS_BACKUP, tree / ENDPOINTS)
    (tree / "tests" / "test_litellm").mkdir(parents=True, exist_ok=True)
    marker.write_text(version, encoding="utf-8")
    return tree


def pristine_from_checkout(checkout: Path) -> Path:
    tree: Final = CHECK_TREES / "pristine-checkout"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(checkout, tree, symlinks=True, ignore=shutil.ignore_patterns(".git", "node_modules"))
    return tree


def prepare(upstream: Path, version: str) -> Trees:
    whole_checkout: Final = (upstream / "litellm" / "__init__.py").is_file()
    pristine: Final = pristine_from_checkout(upstream) if whole_checkout else pristine_from_sdist(version)
    patched: Final = CHECK_TREES / "patched"
    shutil.rmtree(patched, ignore_errors=True)
    shutil.copytree(pristine, patched, symlinks=True)
    source: Final = (
        f"BerriAI/litellm checkout {upstream}"
        if whole_checkout
        else f"litellm {version} sdist (PyPI) with its wheel's compiled {NATIVE_PREFIX}"
    )
    return Trees(pristine, patched, source)


def tree_files(tree: Path) -> dict[str, str]:
    return {
        path.relative_to(tree).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(tree.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


# ---------------------------------------------------------------------------------------------------------------------
# The kit's own steps, and upstream's checks that need only the release
# ---------------------------------------------------------------------------------------------------------------------

KIT: Final = (sys.executable, "-m", "litellm_commandcode.upstream")


def check_apply(trees: Trees) -> Result:
    done: Final = run([*KIT, "apply", str(trees.patched)], cwd=REPOSITORY)
    if done.code != 0:
        return Result("FAIL", "kit: upstream apply", tail(done.output))
    added: Final = sum(line.endswith((": added", ": copied")) for line in done.output.splitlines())
    return Result("PASS", "kit: upstream apply", f"{added} edits and copies on {trees.source}")


def check_idempotent(trees: Trees) -> Result:
    before: Final = tree_files(trees.patched / "litellm")
    done: Final = run([*KIT, "apply", str(trees.patched)], cwd=REPOSITORY)
    changed: Final = [
        path for path, digest in tree_files(trees.patched / "litellm").items() if before.get(path) != digest
    ]
    fresh: Final = [line for line in done.output.splitlines() if line.endswith((": added", ": copied"))]
    if done.code != 0 or changed or fresh:
        return Result("FAIL", "kit: second apply changes nothing", tail(done.output) or ", ".join(changed))
    return Result("PASS", "kit: second apply changes nothing", "")


def check_git_apply(trees: Trees) -> Result:
    diff: Final = subprocess.run(
        [*KIT, "diff", str(trees.pristine)], cwd=REPOSITORY, capture_output=True, timeout=RUN_TIMEOUT, check=False
    )
    if diff.returncode != 0:
        return Result("FAIL", "kit: git apply --check of the diff", tail(diff.stderr.decode()))
    with tempfile.NamedTemporaryFile(suffix=".patch") as patch:
        patch.write(diff.stdout)
        patch.flush()
        done: Final = run(["git", "apply", "--check", patch.name], cwd=trees.pristine)
    files: Final = diff.stdout.decode().count("\ndiff --git ") + diff.stdout.decode().startswith("diff --git ")
    if done.code != 0:
        return Result("FAIL", "kit: git apply --check of the diff", tail(done.output))
    return Result("PASS", "kit: git apply --check of the diff", f"{files} files, on the pristine tree")


def check_import_safety(trees: Trees) -> Result:
    """Makefile `check-import-safety`, verbatim."""
    with tempfile.TemporaryDirectory() as cwd:
        done: Final = run(
            [sys.executable, "-c", "from litellm import *; print('[from litellm import *] OK! no issues!');"],
            cwd=Path(cwd),
            tree=trees.patched,
        )
    status: Final[Status] = "PASS" if done.code == 0 else "FAIL"
    return Result(status, "upstream make check-import-safety (from litellm import *)", tail(done.output))


def check_unit_tests(trees: Trees) -> Result:
    """The provider's tests in upstream's layout, run from the tree root so upstream's pytest settings apply."""
    name: Final = f"upstream layout unit tests: pytest {PROVIDER_TESTS}"
    if not (trees.patched / PROVIDER_TESTS).is_dir():
        return Result("FAIL", name, "the kit did not copy the provider's tests")
    done: Final = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", PROVIDER_TESTS],
        cwd=trees.patched,
        tree=trees.patched,
    )
    return Result("PASS" if done.code == 0 else "FAIL", name, tail(done.output))


def check_cost_maps(trees: Trees) -> Result:
    """Both cost-map copies parse, stay identical, and every commandcode entry resolves through get_model_info."""
    name: Final = "cost map: root and backup identical, commandcode entries resolve (kit's check)"
    root, backup = trees.patched / COST_MAP, trees.patched / COST_MAP_BACKUP
    if not root.is_file():
        return Result("SKIP", name, f"the tree has no root {COST_MAP}")
    if root.read_bytes() != backup.read_bytes():
        return Result("FAIL", name, f"{COST_MAP} differs from {COST_MAP_BACKUP}")
    script: Final = (
        "import json, litellm\n"
        f"entries = {{k: v for k, v in json.load(open({str(root)!r})).items() if k.startswith('commandcode/')}}\n"
        "assert entries, 'no commandcode/ entries'\n"
        "for key in entries:\n"
        "    info = litellm.get_model_info(key)\n"
        "    assert info['litellm_provider'] == 'commandcode', key\n"
        "    assert key in litellm.models_by_provider['commandcode'], key\n"
        "print(len(entries), 'entries')\n"
    )
    with tempfile.TemporaryDirectory() as cwd:
        done: Final = run([sys.executable, "-c", script], cwd=Path(cwd), tree=trees.patched)
    return Result("PASS" if done.code == 0 else "FAIL", name, tail(done.output))


# ---------------------------------------------------------------------------------------------------------------------
# Upstream's check scripts and tool configuration, from --upstream
# ---------------------------------------------------------------------------------------------------------------------


def _against_pristine(name: str, trees: Trees, command: Callable[[Path], Run]) -> Result:
    patched: Final = command(trees.patched)
    if patched.code == 0:
        return Result("PASS", name, tail(patched.output))
    pristine: Final = command(trees.pristine)
    if pristine.code == 0:
        return Result("FAIL", name, tail(patched.output))
    if _normal(patched.output, trees.patched) == _normal(pristine.output, trees.pristine):
        return Result(
            "PASS", name, f"adds no failure; the pristine release fails it the same way: {tail(patched.output)}"
        )
    return Result("FAIL", name, f"{tail(patched.output)} (pristine: {tail(pristine.output)})")


def _normal(output: str, tree: Path) -> str:
    """The failure's last lines, with the tree's path and the provider's own name taken out of any listed names (a
    check that prints every provider it knows lists one more after the change) and such lists sorted."""

    def without_provider(match: re.Match[str]) -> str:
        names = sorted(name.strip() for name in match.group(1).split(",") if name.strip() != f"'{PROVIDER}'")
        return "[" + ", ".join(names) + "]"

    return LISTED_NAMES.sub(without_provider, last_lines(output.replace(str(tree), "TREE")))


def upstream_script(script: str) -> Callable[[Path, Trees], Result]:
    def check(upstream: Path, trees: Trees) -> Result:
        name: Final = f"upstream {CODE_COVERAGE}/{script}"
        source: Final = upstream / CODE_COVERAGE / script
        if not source.is_file():
            return Result("SKIP", name, f"not in {upstream}")

        def command(tree: Path) -> Run:
            target = tree / CODE_COVERAGE / script
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            return run([sys.executable, str(target.relative_to(tree))], cwd=tree, tree=tree)

        return _against_pristine(name, trees, command)

    return check


def _with_config(upstream: Path, config: str, tree: Path) -> bool:
    source: Final = upstream / config
    if not source.is_file():
        return False
    if source.resolve() != (tree / config).resolve():
        shutil.copy2(source, tree / config)
    return True


def _touched_python(trees: Trees) -> list[str]:
    diff: Final = run([*KIT, "diff", str(trees.pristine)], cwd=REPOSITORY)
    headers: Final = (line for line in diff.output.splitlines() if line.startswith("diff --git a/"))
    paths: Final = (header.removeprefix("diff --git a/").split(" b/", 1)[0] for header in headers)
    return [path for path in paths if path.endswith(".py") and path.startswith("litellm/")]


def _ruff_findings(ruff: str, tree: Path, paths: Sequence[str]) -> list[str]:
    done: Final = run([ruff, "check", "--force-exclude", "--output-format", "json", *paths], cwd=tree)
    findings: Final = json.loads(done.output or "[]")
    return sorted(
        f"{Path(finding['filename']).relative_to(tree).as_posix()}: {finding['code']} "
        + LINE_NUMBER.sub("line N", finding["message"])
        for finding in findings
    )


def check_ruff(upstream: Path, trees: Trees) -> Result:
    """Makefile `lint-ruff` (`cd litellm && ruff check .`) with upstream's ruff.toml and pinned ruff, on the files the
    change touches: a finding the pristine file does not have is the change's."""
    if not _with_config(upstream, "ruff.toml", trees.patched):
        return Result(
            "SKIP", "upstream ruff check (ruff.toml) on the files the change touches", f"no ruff.toml in {upstream}"
        )
    ruff, version = pinned_tool(trees.patched, "ruff")
    name: Final = f"upstream ruff {version} check (ruff.toml) on the files the change touches"
    _with_config(upstream, "ruff.toml", trees.pristine)
    paths: Final = _touched_python(trees)
    before: Final = _ruff_findings(ruff, trees.pristine, [path for path in paths if (trees.pristine / path).is_file()])
    after: Final = _ruff_findings(ruff, trees.patched, paths)
    new: Final = [finding for finding in after if after.count(finding) > before.count(finding)]
    if new:
        return Result("FAIL", name, "; ".join(sorted(set(new)))[-DETAIL_CHARS:])
    return Result("PASS", name, f"{len(paths)} files; {len(before)} findings before the change, none added")


def check_async_clients(upstream: Path, trees: Trees) -> Result:
    """ensure_async_clients_test.py stops at the first violation in the whole package, so a release that already has
    one hides the provider's: its scan function also runs on the provider folder alone."""
    whole: Final = upstream_script("ensure_async_clients_test.py")(upstream, trees)
    if whole.status != "PASS":
        return whole
    name: Final = f"{whole.name}, and its scan of {PROVIDER_DIR}"
    script: Final = (
        f"import sys; sys.path.insert(0, {CODE_COVERAGE!r}); import ensure_async_clients_test as check; "
        f"print(check.scan_directory_for_async_handler('./{PROVIDER_DIR}') or 'no per-request async clients')"
    )
    done: Final = run([sys.executable, "-c", script], cwd=trees.patched, tree=trees.patched)
    return Result("PASS" if done.code == 0 else "FAIL", name, f"{tail(done.output)}; whole package: {whole.detail}")


def check_ruff_format(upstream: Path, trees: Trees) -> Result:
    if not _with_config(upstream, "ruff.toml", trees.patched):
        return Result("SKIP", f"upstream ruff format --check {PROVIDER_DIR} (ruff.toml)", f"no ruff.toml in {upstream}")
    ruff, version = pinned_tool(trees.patched, "ruff")
    done: Final = run([ruff, "format", "--check", PROVIDER_DIR], cwd=trees.patched)
    name: Final = f"upstream ruff {version} format --check {PROVIDER_DIR} (ruff.toml)"
    return Result("PASS" if done.code == 0 else "FAIL", name, tail(done.output))


def check_mypy(upstream: Path, trees: Trees) -> Result:
    """Upstream runs `cd litellm && mypy .` gated by a per-rule error budget; here: its pinned mypy on the provider
    package, against this environment's installed packages."""
    if not _with_config(upstream, "mypy.ini", trees.patched):
        return Result("SKIP", f"upstream mypy (mypy.ini) on {PROVIDER_DIR}", f"no mypy.ini in {upstream}")
    mypy, version = pinned_tool(trees.patched, "mypy")
    done: Final = run(
        [mypy, "--config-file", "mypy.ini", "--python-executable", sys.executable, "--follow-imports=silent"]
        + [PROVIDER_DIR],
        cwd=trees.patched,
    )
    return Result(
        "PASS" if done.code == 0 else "FAIL", f"upstream mypy {version} (mypy.ini) on {PROVIDER_DIR}", tail(done.output)
    )


class ToolUnavailable(Exception):
    """The release's pinned lint tool could not be installed: (tool name, reason)."""


def pinned_tool(tree: Path, name: str) -> tuple[str, str]:
    """The lint tool at the version the release pins in its pyproject.toml (each ruff and mypy release adds rules and
    checks), installed once into .work/tools/; this environment's own when the release pins none."""
    pin: Final = re.search(rf'"{re.escape(name)}==([0-9][0-9A-Za-z.]*)"', (tree / "pyproject.toml").read_text())
    if pin is None:
        own: Final = str(Path(sys.executable).parent / name)
        return own, f"{importlib.metadata.version(name)} (this environment's: the release pins none)"
    version: Final = pin.group(1)
    venv: Final = TOOLS / f"{name}-{version}"
    if not (venv / "bin" / name).is_file():
        shutil.rmtree(venv, ignore_errors=True)
        python: Final = venv / "bin" / "python"
        install: Final = f"{sys.executable} -m venv {venv} && {python} -m pip install -q {name}=={version}"
        done: Final = subprocess.run(
            ["bash", "-c", install], capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise ToolUnavailable(name, f"{name}=={version}, the release's pin, does not install: {tail(done.stderr)}")
    return str(venv / "bin" / name), version


UPSTREAM_CHECKS: Final[Sequence[Callable[[Path, Trees], Result]]] = (
    upstream_script("enforce_llms_folder_style.py"),
    check_async_clients,
    upstream_script("check_py310_typing_imports.py"),
    upstream_script("check_json_duplicate_keys.py"),
    upstream_script("check_provider_folders_documented.py"),
    check_ruff,
    check_ruff_format,
    check_mypy,
)

# Upstream checks this command does not run, and why (README "The upstream pull request" lists them too).
NOT_RUN: Final = {
    "upstream tests/test_litellm/test_utils.py::test_aaamodel_prices_and_context_window_json_is_valid": (
        "needs a whole checkout of the release's tests; the stored copies do not match 1.110's code"
    ),
    "upstream tests/test_litellm/test_lazy_imports.py": (
        "the stored copy tests the pre-1.110 registry (litellm._lazy_imports *_NAMES), which 1.110 replaced"
    ),
    "upstream make lint-basedpyright / lint-strict-budget / lint-any / lint-mypy budget gate": (
        "need upstream's scripts/*.py and budget files, not in the cache"
    ),
    "upstream make check-circular-imports (tests/documentation_tests/test_circular_imports.py)": "not in the cache",
    "upstream make test-unit (all of tests/test_litellm)": "needs a whole checkout and its dev dependencies",
    "BerriAI/litellm-docs provider lists": "another repository; the page is docs/providers/commandcode.md here",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(prog="scripts/upstream-checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", type=Path, default=DEFAULT_UPSTREAM, help="BerriAI/litellm checkout (or part)")
    parser.add_argument("--release", default=NEWEST_RELEASE, help="the release whose sdist is patched")
    args: Final = parser.parse_args(argv)
    started: Final = time.monotonic()
    upstream: Final[Path] = args.upstream.resolve()
    try:
        trees: Final = prepare(upstream, args.release)
    except (OSError, RuntimeError, StopIteration, tarfile.TarError, subprocess.SubprocessError) as e:
        print(f"FAIL  tree: {args.release} sdist unavailable: {e}")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    results: Final[list[Result]] = []
    for kit_check in (check_apply, check_idempotent, check_git_apply):
        results.append(kit_check(trees))
        print(f"{results[-1].status}  {results[-1].name}: {results[-1].detail}", flush=True)
    if results[0].status == "PASS":
        checks: list[Callable[[], Result]] = [
            lambda: check_import_safety(trees),
            lambda: check_unit_tests(trees),
            lambda: check_cost_maps(trees),
            *[lambda check=check: check(upstream, trees) for check in UPSTREAM_CHECKS],
        ]
        for check in checks:
            try:
                results.append(check())
            except ToolUnavailable as e:
                results.append(Result("SKIP", f"upstream {e.args[0]}", e.args[1]))
            print(f"{results[-1].status}  {results[-1].name}: {results[-1].detail}", flush=True)
    for name, reason in NOT_RUN.items():
        results.append(Result("SKIP", name, reason))
        print(f"SKIP  {name}: {reason}")
    counts: Final = {status: sum(result.status == status for result in results) for status in ("PASS", "FAIL", "SKIP")}
    print(f"upstream-checks: {trees.source}, {time.monotonic() - started:.0f} s")
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
