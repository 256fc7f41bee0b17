import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Final

from packaging.version import Version

from litellm_commandcode.compat import INTERNALS, litellm_version, missing_internals, tested_releases

REPOSITORY: Final = Path(__file__).resolve().parents[2]


def test_the_installed_litellm_has_every_internal_the_plugin_relies_on() -> None:
    assert missing_internals(optional=True) == []


def test_the_installed_litellm_is_one_of_the_tested_releases() -> None:
    releases: Final = tested_releases()
    assert set(releases) == {"default", "oldest", "newest"}
    assert Version(releases["oldest"]) <= Version(releases["default"]) <= Version(releases["newest"])
    assert litellm_version() in releases.values()


def test_a_missing_internal_makes_register_raise_one_clear_error_and_patch_nothing() -> None:
    script: Final = textwrap.dedent(
        """
        import litellm, litellm.main
        from litellm.types.utils import LlmProviders
        import litellm_commandcode
        from litellm_commandcode.compat import IncompatibleLiteLLMError

        original = litellm.main._complete_custom_providers
        del litellm.main._complete_custom_providers
        try:
            litellm_commandcode.register()
        except IncompatibleLiteLLMError as error:
            print(error)
        print("commandcode" in LlmProviders._value2member_map_, "commandcode" in litellm._custom_providers)
        """
    )
    env: Final = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done: Final = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    message, patched = done.stdout.strip().splitlines()
    oldest, newest = tested_releases()["oldest"], tested_releases()["newest"]
    assert message == (
        f"litellm-commandcode cannot plug into LiteLLM {litellm_version()}: this release lacks "
        "litellm.main._complete_custom_providers (replaced so that `commandcode` reaches the HTTP handler). Nothing "
        f"was patched. Install a LiteLLM release this plug-in was tested with, {oldest} to {newest} "
        f"(`pip install 'litellm>={oldest},<={newest}'`), or a litellm-commandcode release that supports LiteLLM "
        f"{litellm_version()}."
    )
    assert patched == "False False"


def test_every_internal_names_its_reason() -> None:
    assert all(internal.why and internal.module.startswith("litellm") for internal in INTERNALS)
    assert len({internal.name for internal in INTERNALS}) == len(INTERNALS)
