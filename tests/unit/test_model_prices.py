import json
from decimal import Decimal
from pathlib import Path

import pytest

import litellm
from litellm.types.utils import ModelResponse, Usage
from litellm_commandcode.catalog import build_cost_map, catalog_models

COST_MAP_FILE = Path(__file__).resolve().parents[2] / "model_prices_and_context_window.json"
ENTRY_KEYS = {
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "max_output_tokens",
    "max_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "supports_function_calling",
    "supports_prompt_caching",
    "supports_reasoning",
    "reasoning_effort_levels",
    "supports_system_messages",
    "supports_vision",
    "source",
}


def cost_map() -> dict:
    return json.loads(COST_MAP_FILE.read_text(encoding="utf-8"))


def per_token(usd_per_million: float) -> float:
    return float(Decimal(str(usd_per_million)) / Decimal(1_000_000))


def test_cost_map_has_one_entry_per_visible_catalog_model_and_nothing_else() -> None:
    visible = {f"commandcode/{model['id']}" for model in catalog_models() if not model["hidden"]}
    assert set(cost_map()) == visible
    assert "commandcode/MiniMaxAI/MiniMax-M3-Free" not in cost_map()


def test_cost_map_file_is_what_the_catalog_generates() -> None:
    assert cost_map() == build_cost_map()


@pytest.mark.parametrize("model", [m for m in catalog_models() if not m["hidden"]], ids=lambda m: m["id"])
def test_cost_map_entry_matches_the_catalog_and_upstream_schema(model: dict) -> None:
    entry = cost_map()[f"commandcode/{model['id']}"]
    prices = model["usd_per_million"]
    assert set(entry) <= ENTRY_KEYS
    assert entry["litellm_provider"] == "commandcode"
    assert entry["mode"] == "chat"
    assert entry["max_input_tokens"] == (model["context_window"] or 200000)
    assert entry["max_output_tokens"] == entry["max_tokens"] == (model["max_output_tokens"] or 64000)
    assert entry["input_cost_per_token"] == per_token(prices["input"])
    assert entry["output_cost_per_token"] == per_token(prices["output"])
    assert entry["cache_read_input_token_cost"] == per_token(
        prices["cache_read"] if prices["cache_read"] is not None else prices["input"]
    )
    assert entry["cache_creation_input_token_cost"] == per_token(
        prices["cache_write"] if prices["cache_write"] is not None else prices["input"]
    )
    assert entry["supports_function_calling"] is True
    assert entry["supports_system_messages"] is True
    assert entry["supports_reasoning"] is model["reasoning"]
    assert entry["reasoning_effort_levels"] == (model["reasoning_efforts"] if model["reasoning"] else [])
    assert entry["supports_vision"] is ("image" in model["input"])
    assert entry["source"].startswith("https://commandcode.ai")


def test_completion_cost_with_cache_reads_matches_a_hand_computed_figure() -> None:
    litellm.register_model(build_cost_map())
    usage = Usage(
        prompt_tokens=16977,
        completion_tokens=27,
        total_tokens=17004,
        prompt_tokens_details={"cached_tokens": 5376},
        cache_read_input_tokens=5376,
    )
    response = ModelResponse(model="deepseek/deepseek-v4-flash", usage=usage)
    cost = litellm.completion_cost(
        completion_response=response, model="commandcode/deepseek/deepseek-v4-flash", custom_llm_provider="commandcode"
    )
    # 11601 uncached input tokens at $0.15/M, 5376 cache reads at $0.003/M, 27 output tokens at $0.60/M
    assert cost == pytest.approx(0.00174015 + 0.000016128 + 0.0000162, rel=1e-12)


def test_cost_map_reasoning_levels_are_the_levels_the_provider_sends() -> None:
    declared = {
        name.removeprefix("commandcode/"): entry["reasoning_effort_levels"] for name, entry in cost_map().items()
    }
    catalog = {model["id"]: model["reasoning_efforts"] if model["reasoning"] else [] for model in catalog_models()}
    assert declared == {model: catalog[model] for model in declared}
