"""The Command Code model catalog (vendored from the official CLI) and the LiteLLM cost-map entries built from it.

`python -m litellm_commandcode.catalog` rewrites model_prices_and_context_window.json at the repository root;
`--check` fails when that file is out of date.
"""

import argparse
import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

PROVIDER: Final = "commandcode"
SOURCE: Final = "https://commandcode.ai/docs (model catalog of the command-code CLI 1.64.0)"
PRICE_KEYS: Final = (
    ("input", "input_cost_per_token"),
    ("output", "output_cost_per_token"),
    ("cache_read", "cache_read_input_token_cost"),
    ("cache_write", "cache_creation_input_token_cost"),
)
REPOSITORY_COST_MAP: Final = Path(__file__).resolve().parent.parent / "model_prices_and_context_window.json"

Model = Mapping[str, object]


@cache
def load_catalog() -> Mapping[str, object]:
    return json.loads(resources.files(__package__).joinpath("models.json").read_text(encoding="utf-8"))


def catalog_models() -> list[Model]:
    models = load_catalog()["models"]
    assert isinstance(models, list)
    return models


def _per_token(usd_per_million: object) -> float:
    return float(Decimal(str(usd_per_million)) / Decimal(1_000_000))


def cost_map_entry(model: Model) -> dict[str, object]:
    catalog: Final = load_catalog()
    prices: Final = model["usd_per_million"]
    inputs: Final = model["input"]
    assert isinstance(prices, Mapping) and isinstance(inputs, list)
    output_cap: Final = model["max_output_tokens"] or catalog["default_max_tokens"]
    return {
        "litellm_provider": PROVIDER,
        "mode": "chat",
        "max_input_tokens": model["context_window"] or catalog["default_context_window"],
        "max_output_tokens": output_cap,
        "max_tokens": output_cap,
        **{
            key: _per_token(prices[name] if prices.get(name) is not None else prices["input"])
            for name, key in PRICE_KEYS
        },
        "supports_function_calling": True,
        "supports_prompt_caching": prices.get("cache_read") is not None,
        "supports_reasoning": bool(model["reasoning"]),
        # The levels the model takes, stated outright: LiteLLM's bridges (/v1/messages) round an effort to them and the
        # proxy advertises them (/model_group/info); without them it assumes OpenAI's set, where `max` does not exist.
        "reasoning_effort_levels": list(model["reasoning_efforts"]) if model["reasoning"] else [],
        "supports_system_messages": True,
        "supports_vision": "image" in inputs,
        "source": SOURCE,
    }


# Where the catalog publishes no cache price, cached tokens are priced as plain input tokens (no discount assumed).
# The entry always states both cache prices: LiteLLM's register_model() would otherwise copy them from a built-in
# entry whose id collides (commandcode/deepseek/... <- deepseek/...), which is another provider's price.
def build_cost_map() -> dict[str, dict[str, object]]:
    """One `commandcode/<id>` entry per model the CLI shows (hidden models are left out)."""
    return {f"{PROVIDER}/{model['id']}": cost_map_entry(model) for model in catalog_models() if not model["hidden"]}


def cost_map_text() -> str:
    return json.dumps(build_cost_map(), indent=4) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args: Final = parser.parse_args(argv)
    if not args.check:
        REPOSITORY_COST_MAP.write_text(cost_map_text(), encoding="utf-8")
        return 0
    if REPOSITORY_COST_MAP.read_text(encoding="utf-8") == cost_map_text():
        return 0
    print(f"{REPOSITORY_COST_MAP.name} is out of date: run python -m litellm_commandcode.catalog", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
