from pathlib import Path

import pytest

import litellm.llms.commandcode.common_utils as common_utils
from litellm.llms.commandcode.common_utils import COMMANDCODE_MODELS, CommandCodeModel
from litellm_commandcode.catalog import catalog_models, load_catalog

REPOSITORY = Path(__file__).resolve().parents[4]
SHARED_CATALOG = REPOSITORY.parent / "shared" / "commandcode" / "models.json"


def test_tests_import_the_provider_from_this_working_tree() -> None:
    assert Path(common_utils.__file__).resolve() == REPOSITORY / "litellm" / "llms" / "commandcode" / "common_utils.py"


def test_model_table_lists_every_catalog_model_with_its_facts() -> None:
    expected = {
        model["id"]: CommandCodeModel(
            vision="image" in model["input"],
            reasoning_efforts=tuple(model["reasoning_efforts"]),
            max_output_tokens=model["max_output_tokens"],
        )
        for model in catalog_models()
    }
    assert dict(COMMANDCODE_MODELS) == expected


def test_model_table_knows_explicit_caps_and_text_only_models() -> None:
    assert COMMANDCODE_MODELS["Qwen/Qwen3.8-27B"].max_output_tokens == 32768
    assert COMMANDCODE_MODELS["deepseek/deepseek-v4-flash"] == CommandCodeModel(
        vision=False, reasoning_efforts=("high", "max"), max_output_tokens=None
    )


@pytest.mark.skipif(not SHARED_CATALOG.exists(), reason="the shared catalog is not beside this checkout")
def test_vendored_catalog_matches_the_shared_catalog() -> None:
    import json

    assert load_catalog() == json.loads(SHARED_CATALOG.read_text(encoding="utf-8"))
