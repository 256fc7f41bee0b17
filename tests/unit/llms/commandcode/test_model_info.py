import pytest

from litellm.llms.commandcode.common_utils import CommandCodeError
from litellm.llms.commandcode.model_info import CommandCodeModelInfo, LiveModel, parse_models_listing


def test_the_model_list_keeps_every_entry_with_an_id_and_its_optional_fields() -> None:
    payload = {
        "object": "list",
        "data": [
            {"id": "deepseek/deepseek-v4-flash", "name": "DeepSeek V4 Flash", "context_length": 1000000},
            {"id": "claude-sonnet-4-6", "pricing": {"prompt": "0.000003"}},
            {"name": "no id"},
            {"id": ""},
            "not an object",
            {"id": "x/y", "name": 5, "context_length": True},
        ],
    }

    assert parse_models_listing(payload) == [
        LiveModel("deepseek/deepseek-v4-flash", "DeepSeek V4 Flash", 1000000),
        LiveModel("claude-sonnet-4-6"),
        LiveModel("x/y"),
    ]
    assert parse_models_listing([{"id": "a"}]) == [LiveModel("a")]


def test_a_model_list_without_data_is_a_502() -> None:
    with pytest.raises(CommandCodeError) as raised:
        parse_models_listing({"object": "list"})

    assert raised.value.status_code == 502


def test_the_model_info_names_models_with_the_provider_prefix() -> None:
    assert CommandCodeModelInfo.get_base_model("commandcode/zai-org/GLM-5") == "zai-org/GLM-5"
