"""The environment variables an example config asks for in its header: lines `# env: NAME=value`."""

from pathlib import Path
from typing import Final

PREFIX: Final = "# env: "


def header_env(config: Path) -> dict[str, str]:
    env: Final[dict[str, str]] = {}
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith(PREFIX):
            name, _, value = line.removeprefix(PREFIX).partition("=")
            env[name.strip()] = value.strip()
    return env
