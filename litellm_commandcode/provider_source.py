"""The provider's upstream name, `litellm.llms.commandcode`, for a LiteLLM that lacks it, without writing into LiteLLM.

The plug-in ships the provider in its own package: `litellm_commandcode/provider/` in the wheel (pyproject.toml maps
the repository's `litellm/llms/commandcode/` there), the repository's `litellm/llms/commandcode/` itself when it runs
from a checkout (tests, editable installs). `install()` puts a finder first on `sys.meta_path` that

- answers `litellm.llms.commandcode` with that directory, only when the imported LiteLLM has no `llms/commandcode/`
  of its own (a release that ships the provider, or a tree patched by `litellm_commandcode.upstream`, is left alone);
- answers `litellm_commandcode.provider.*` with the very module `litellm.llms.commandcode.*` is, so the provider is
  importable from the plug-in's own package and is loaded once, under the name its absolute imports use.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

UPSTREAM_NAME: Final = "litellm.llms.commandcode"
PLUGIN_NAME: Final = "litellm_commandcode.provider"
_PACKAGE: Final = Path(__file__).resolve().parent
# The wheel's copy first: in a wheel install, the second path is the installed LiteLLM's own directory.
SOURCE_DIRS: Final = (_PACKAGE / "provider", _PACKAGE.parent / "litellm" / "llms" / "commandcode")


def provider_dir() -> Path | None:
    """Where the plug-in's copy of the provider is, if this installation has one."""
    return next((directory for directory in SOURCE_DIRS if directory.is_dir()), None)


class _SameModuleLoader(importlib.abc.Loader):
    """Loads `litellm_commandcode.provider.X` as the module `litellm.llms.commandcode.X`: the import system returns
    what `sys.modules` holds under the requested name once `exec_module` is done."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        sys.modules[module.__name__] = importlib.import_module(self.target)


class ProviderFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == UPSTREAM_NAME:
            return _upstream_spec(path)
        if fullname == PLUGIN_NAME or fullname.startswith(f"{PLUGIN_NAME}."):
            upstream_name: Final = UPSTREAM_NAME + fullname.removeprefix(PLUGIN_NAME)
            return importlib.machinery.ModuleSpec(fullname, _SameModuleLoader(upstream_name))
        return None


def _upstream_spec(path: Sequence[str] | None) -> importlib.machinery.ModuleSpec | None:
    if importlib.machinery.PathFinder.find_spec(UPSTREAM_NAME, path) is not None:
        return None
    directory: Final = provider_dir()
    if directory is None:
        return None
    spec: Final = importlib.machinery.ModuleSpec(UPSTREAM_NAME, None, is_package=True)
    spec.submodule_search_locations = [str(directory)]
    return spec


def install() -> None:
    """Idempotent. Imports nothing: LiteLLM is looked at only when `litellm.llms.commandcode` is imported."""
    if not any(isinstance(finder, ProviderFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, ProviderFinder())
