from pathlib import Path

import pytest

import litellm.llms.commandcode.common_utils as common_utils
from litellm.llms.commandcode.common_utils import get_commandcode_model_info, get_explicit_output_cap
from litellm_commandcode.catalog import catalog_models, load_catalog

REPOSITORY = Path(__file__).resolve().parents[4]
SHARED_CATALOG = REPOSITORY.parent / "shared" / "commandcode" / "models.json"


def test_tests_import_the_provider_from_this_working_tree() -> None:
    assert Path(common_utils.__file__).resolve() == REPOSITORY / "litellm" / "llms" / "commandcode" / "common_utils.py"


def test_model_facts_come_from_the_cost_map_generated_from_the_catalog() -> None:
    facts = {
        model["id"]: (
            "image" in model["input"],
            model["reasoning_efforts"] if model["reasoning"] else [],
            model["max_output_tokens"],
        )
        for model in catalog_models()
        if (info := get_commandcode_model_info(model["id"])) is not None
    }
    read = {
        model_id: (info["supports_vision"], info["reasoning_effort_levels"], get_explicit_output_cap(info))
        for model_id in facts
        if (info := get_commandcode_model_info(model_id)) is not None
    }
    assert read == facts
    assert len(facts) == len([model for model in catalog_models() if not model["hidden"]])


def test_model_facts_know_explicit_caps_text_only_models_and_unmapped_ids() -> None:
    qwen = get_commandcode_model_info("Qwen/Qwen3.8-27B")
    flash = get_commandcode_model_info("deepseek/deepseek-v4-flash")
    assert qwen is not None and get_explicit_output_cap(qwen) == 32768
    assert flash is not None
    assert (flash["supports_vision"], flash["reasoning_effort_levels"], get_explicit_output_cap(flash)) == (
        False,
        ["high", "max"],
        None,
    )
    assert get_commandcode_model_info("x/unknown-model") is None


@pytest.mark.skipif(not SHARED_CATALOG.exists(), reason="the shared catalog is not beside this checkout")
def test_vendored_catalog_matches_the_shared_catalog() -> None:
    import json

    assert load_catalog() == json.loads(SHARED_CATALOG.read_text(encoding="utf-8"))
