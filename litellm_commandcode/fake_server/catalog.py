"""The models the fake serves: ``litellm_commandcode/models.json`` (through :mod:`litellm_commandcode.catalog`) as
:class:`ModelInfo` rows, and the ``GET /provider/v1/models`` listing of the visible ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from litellm_commandcode.catalog import catalog_models
from litellm_commandcode.catalog import load_catalog as catalog_file
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_int, as_list


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    input: tuple[str, ...]
    reasoning: bool
    hidden: bool
    context_window: int
    prices: Mapping[str, float | None]


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, ModelInfo]:
    default_context = as_int(catalog_file().get("default_context_window"), 200_000)
    models = (_model_info(as_dict(entry), default_context) for entry in catalog_models())
    return {model.id: model for model in models}


def _model_info(entry: JsonDict, default_context: int) -> ModelInfo:
    prices = as_dict(entry.get("usd_per_million"))
    return ModelInfo(
        id=str(entry.get("id")),
        name=str(entry.get("name")),
        input=tuple(str(kind) for kind in as_list(entry.get("input"))),
        reasoning=entry.get("reasoning") is True,
        hidden=entry.get("hidden") is True,
        context_window=as_int(entry.get("context_window"), default_context),
        prices={key: value if isinstance(value, int | float) else None for key, value in prices.items()},
    )


def models_listing() -> JsonDict:
    data: list[object] = [
        {"id": model.id, "name": model.name, "context_length": model.context_window}
        for model in load_catalog().values()
        if not model.hidden
    ]
    return {"object": "list", "data": data}
