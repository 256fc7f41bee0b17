"""Plug the Command Code provider (`litellm/llms/commandcode/`) into the stock LiteLLM from PyPI."""

from pathlib import Path
from typing import Final

import litellm.llms

_SOURCE_LLMS_DIR: Final = Path(__file__).resolve().parent.parent / "litellm" / "llms"


def litellm_knows_commandcode() -> bool:
    """True when the installed LiteLLM ships the provider itself (the upstream change is merged or applied)."""
    return "commandcode" in {provider.value for provider in litellm.LlmProviders}


def use_provider_source() -> None:
    """Make `litellm.llms.commandcode` import from this checkout when the package runs from source (editable install or
    tests); installed from a wheel, the provider files already sit inside `litellm/llms/`."""
    if litellm_knows_commandcode() or not (_SOURCE_LLMS_DIR / "commandcode").is_dir():
        return
    source: Final = str(_SOURCE_LLMS_DIR)
    if source not in litellm.llms.__path__:
        litellm.llms.__path__.insert(0, source)


use_provider_source()
