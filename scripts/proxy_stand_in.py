"""Prints the requirements of the installed LiteLLM's `proxy` extra, one per line, for a release whose own
`litellm[proxy]` does not install from the package index here: LiteLLM's companion packages (`litellm-proxy`,
`litellm-proxy-extras`, `litellm-enterprise`) lose their exact pins, so that pip takes the newest it has, and
`litellm-proxy` is left out when the index has none. Used by `scripts/bootstrap`."""

import importlib.metadata
import subprocess
import sys
from typing import Final

from packaging.requirements import Requirement

COMPANION_PREFIX: Final = "litellm-"


def _available(name: str) -> bool:
    probe: Final = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", "/tmp/.litellm-probe", name]
    return subprocess.run(probe, capture_output=True, timeout=300, check=False).returncode == 0


def stand_in() -> list[str]:
    lines: Final[list[str]] = []
    for text in importlib.metadata.requires("litellm") or []:
        requirement = Requirement(text)
        if "extra" not in str(requirement.marker) or not requirement.marker.evaluate({"extra": "proxy"}):
            continue
        if requirement.name.startswith(COMPANION_PREFIX):
            if _available(requirement.name):
                lines.append(requirement.name)
            else:
                print(f"# {requirement} left out: the package index has no {requirement.name}", file=sys.stderr)
            continue
        lines.append(f"{requirement.name}{requirement.specifier}")
    return sorted(set(lines))


if __name__ == "__main__":
    print("\n".join(stand_in()))
