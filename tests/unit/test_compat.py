import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Final

from packaging.version import Version

import litellm_commandcode
from litellm_commandcode.compat import (
    CHECKED_ON,
    DISPATCH,
    INTERNALS,
    Internal,
    changed,
    litellm_version,
    missing_internals,
    tested_releases,
)

REPOSITORY: Final = Path(__file__).resolve().parents[2]


def test_the_installed_litellm_has_every_internal_the_plugin_relies_on() -> None:
    assert missing_internals(optional=True) == []


def test_the_installed_litellm_is_one_of_the_tested_releases() -> None:
    releases: Final = tested_releases()
    assert set(releases) == {"default", "oldest", "newest", "kit"}
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
        f"litellm-commandcode cannot plug into LiteLLM {litellm_version()}: this release lacks or has changed "
        f"litellm.main._complete_custom_providers ({DISPATCH.why}). Nothing was patched. Install a LiteLLM release "
        f"this plug-in was tested with, {oldest} to {newest} "
        f"(`pip install 'litellm>={oldest},<={newest}'`), or a litellm-commandcode release that supports LiteLLM "
        f"{litellm_version()}."
    )
    assert patched == "False False"


def test_every_internal_names_its_reason() -> None:
    assert all(internal.why and internal.module.startswith("litellm") for internal in INTERNALS)
    assert len({internal.name for internal in INTERNALS}) == len(INTERNALS)


def test_every_internal_was_checked_on_the_installed_release_and_every_release_is_checked() -> None:
    assert set(CHECKED_ON) == set(tested_releases().values())
    assert [internal.name for internal in INTERNALS if litellm_version() not in internal.checked_on] == []


def test_a_replacement_whose_internal_takes_other_parameters_is_refused_naming_them() -> None:
    renamed: Final = Internal("litellm.main", "_complete_custom_providers", "replaced", "why", params=("context",))
    called: Final = Internal("litellm", "register_model", "called", "why", params=("model_cost", "provider"))
    not_a_function: Final = Internal("litellm", "_custom_providers", "extended", "why", params=())

    assert changed(renamed) == "takes (ctx), not (context)"
    assert changed(called) == "no parameter provider"
    assert changed(not_a_function) == "no longer a function"
    assert changed(Internal("litellm.main", "_no_such_dispatch", "replaced", "why", params=("ctx",))) == "missing"


def _private_litellm_names(path: Path) -> set[str]:
    """The private LiteLLM names `path` imports or reaches through an attribute (`_x`, `_x_`; dunders are Python's)."""
    tree: Final = ast.parse(path.read_text(encoding="utf-8"))
    names: Final[set[str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "litellm":
            names.update(part for part in (node.module or "").split(".") if part.startswith("_"))
            names.update(alias.name for alias in node.names if alias.name.startswith("_"))
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            names.add(node.attr)
    return names


def test_registration_and_glue_touch_no_private_litellm_name_that_internals_does_not_list() -> None:
    listed: Final = {
        part
        for internal in INTERNALS
        for part in (*internal.module.split("."), *internal.attribute.split("."), *internal.touches)
    }
    plugin: Final = REPOSITORY / "litellm_commandcode"
    own: Final = {"_complete_commandcode", "_map_commandcode_exception"}  # glue's own functions, imported by name
    touched: Final = {
        file: sorted(_private_litellm_names(plugin / file) - listed - own) for file in ("registration.py", "glue.py")
    }
    assert touched == {"registration.py": [], "glue.py": []}


def test_what_the_plugin_put_in_place_is_checked_by_the_original_it_replaced() -> None:
    litellm_commandcode.register()
    assert missing_internals(optional=True) == []
