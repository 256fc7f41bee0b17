import importlib.machinery
import sys
from pathlib import Path
from typing import Final

import pytest

import litellm.llms
import litellm.llms.commandcode.chat.transformation as upstream_name
import litellm_commandcode.provider.chat.transformation as plugin_name
from litellm_commandcode import provider_source
from litellm_commandcode.compat import litellm_knows_commandcode
from litellm_commandcode.provider_source import UPSTREAM_NAME, ProviderFinder

REPOSITORY: Final = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(litellm_knows_commandcode(), reason="LiteLLM ships commandcode: the finder steps aside")


def test_a_litellm_without_the_provider_gets_the_plugins_copy(tmp_path: Path) -> None:
    spec: Final = ProviderFinder().find_spec(UPSTREAM_NAME, [str(tmp_path)])
    assert spec is not None
    assert spec.name == UPSTREAM_NAME
    assert spec.submodule_search_locations == [str(REPOSITORY / "litellm" / "llms" / "commandcode")]


def test_a_litellm_that_ships_the_provider_keeps_its_own(tmp_path: Path) -> None:
    (tmp_path / "commandcode").mkdir()
    assert ProviderFinder().find_spec(UPSTREAM_NAME, [str(tmp_path)]) is None


def test_the_finder_answers_only_for_the_provider() -> None:
    assert ProviderFinder().find_spec("litellm.llms.anthropic", list(litellm.llms.__path__)) is None
    assert ProviderFinder().find_spec("litellm_commandcode.catalog", None) is None


def test_the_provider_is_one_module_under_both_names_from_this_checkout() -> None:
    assert plugin_name is upstream_name
    assert upstream_name.__name__ == "litellm.llms.commandcode.chat.transformation"
    assert Path(upstream_name.__file__ or "") == REPOSITORY / "litellm/llms/commandcode/chat/transformation.py"
    assert sys.modules["litellm_commandcode.provider.chat.transformation"] is upstream_name


def test_install_puts_one_finder_before_the_path_finder() -> None:
    provider_source.install()
    finders: Final = [index for index, finder in enumerate(sys.meta_path) if isinstance(finder, ProviderFinder)]
    assert len(finders) == 1
    assert finders[0] < sys.meta_path.index(importlib.machinery.PathFinder)
