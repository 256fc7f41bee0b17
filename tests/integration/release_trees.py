"""LiteLLM release trees for the upstream tests: a release wheel downloaded once into .work/wheels (pip, no dependency
resolution) and unpacked once into .work/trees, then reused."""

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Final

REPOSITORY: Final = Path(__file__).resolve().parents[2]
WHEELS: Final = REPOSITORY / ".work" / "wheels"
TREES: Final = REPOSITORY / ".work" / "trees"
VERSIONS: Final = ("1.106.2", "1.108.7", "1.109.3", "1.110.2")
COMPLETE_MARKER: Final = ".unpacked"
DOWNLOAD_TIMEOUT: Final = 300
CHECK_TIMEOUT: Final = 240
TREE_ENV: Final = "UPSTREAM_TREE"
CREDENTIAL_ENV: Final = ("COMMANDCODE_API_KEY", "COMMAND_CODE_API_KEY", "COMMANDCODE_API_BASE")


def isolated_env(tree: Path) -> dict[str, str]:
    """The tree first on sys.path, no Command Code credentials, and bytecode written (into the tree) so that every
    interpreter after the first imports it fast. Run it in an empty cwd, never this repository (its `litellm/`)."""
    env: Final = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_ENV}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**env, "PYTHONPATH": str(tree), "LITELLM_LOCAL_MODEL_COST_MAP": "True", TREE_ENV: str(tree)}


def _wheel(version: str) -> Path:
    found: Final = sorted(WHEELS.glob(f"litellm-{version}-*.whl"))
    if found:
        return found[0]
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"litellm=={version}", "-d", str(WHEELS)],
        check=True,
        timeout=DOWNLOAD_TIMEOUT,
    )
    return sorted(WHEELS.glob(f"litellm-{version}-*.whl"))[0]


def pristine_tree(version: str) -> Path:
    """The unpacked wheel, with bytecode compiled once so that every interpreter importing a copy starts fast."""
    tree: Final = TREES / f"pristine-{version}"
    if (tree / COMPLETE_MARKER).is_file():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    with zipfile.ZipFile(_wheel(version)) as wheel:
        wheel.extractall(tree)
    with tempfile.TemporaryDirectory() as cwd:
        subprocess.run(
            [sys.executable, "-c", "import litellm, litellm.main, litellm.utils"],
            cwd=cwd,
            env=isolated_env(tree),
            check=True,
            timeout=CHECK_TIMEOUT,
        )
    (tree / COMPLETE_MARKER).write_text(version, encoding="utf-8")
    return tree
