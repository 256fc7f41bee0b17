"""The live model list (`GET {api_base}/provider/v1/models`) against the bundled catalog (models.json) and the cost map.

`python -m litellm_commandcode.catalog --live` prints the ids that are new, retired or renamed; `--live --write`
updates models.json (and the cost map generated from it). The live list has no prices: a renamed model keeps the
facts and prices of the id it replaces, a new one is added without prices (it gets no cost-map entry until they are
filled in), a retired one is kept but hidden. Offline, the bundled catalog stays as it is, with a one-line notice.
"""

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from litellm.llms.commandcode.common_utils import COMMANDCODE_RETIRED_MODEL_IDS, CommandCodeError
from litellm.llms.commandcode.model_info import LiveModel, fetch_live_models
from litellm_commandcode import catalog

MODELS_JSON: Final = Path(catalog.__file__).resolve().parent / "models.json"


@dataclass(frozen=True)
class Changes:
    new: tuple[str, ...]
    retired: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]
    without_price: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.new or self.retired or self.renamed)


def _renames(gone: set[str], added: set[str], names: Mapping[str, str], live: Sequence[LiveModel]) -> dict[str, str]:
    """old id -> new id: the CLI's own map of retired ids, else a live model with the same display name."""
    known: Final = {old: new for old, new in COMMANDCODE_RETIRED_MODEL_IDS.items() if old in gone and new in added}
    by_name: Final = {model.name: model.id for model in live if model.name and model.id in added}
    for old in sorted(gone - set(known)):
        new = by_name.get(names.get(old, ""))
        if new is not None and new not in known.values():
            known[old] = new
    return known


def compare(live: Sequence[LiveModel], catalog_data: Mapping[str, object], cost_map: Mapping[str, object]) -> Changes:
    models: Final = [entry for entry in catalog_data["models"] if isinstance(entry, dict)]  # type: ignore[attr-defined]
    shown: Final = {str(entry["id"]) for entry in models if not entry.get("hidden")}
    names: Final = {str(entry["id"]): str(entry.get("name", "")) for entry in models}
    live_ids: Final = {model.id for model in live}
    renamed: Final = _renames(shown - live_ids, live_ids - shown, names, live)
    return Changes(
        new=tuple(sorted(live_ids - shown - set(renamed.values()))),
        retired=tuple(sorted(shown - live_ids - set(renamed))),
        renamed=tuple(sorted(renamed.items())),
        without_price=tuple(
            sorted(model_id for model_id in live_ids if f"{catalog.PROVIDER}/{model_id}" not in cost_map)
        ),
    )


def _new_entry(model: LiveModel, template: Mapping[str, object] | None) -> dict[str, object]:
    if template is not None:
        return {**copy.deepcopy(dict(template)), "id": model.id, "name": model.name or template.get("name")}
    return {
        "id": model.id,
        "name": model.name or model.id,
        "upstream_api": "chatComplete",
        "input": ["text"],
        "reasoning": False,
        "reasoning_efforts": [],
        "context_window": model.context_length,
        "max_output_tokens": None,
        "usd_per_million": {"input": None, "output": None, "cache_read": None, "cache_write": None},
        "hidden": False,
        "free": False,
    }


def updated_catalog(
    catalog_data: Mapping[str, object], live: Sequence[LiveModel], changes: Changes
) -> dict[str, object]:
    """models.json after the changes: renamed ids replaced in place, retired ids hidden, new ids appended."""
    updated: Final = copy.deepcopy(dict(catalog_data))
    by_id: Final = {model.id: model for model in live}
    renamed: Final = dict(changes.renamed)
    models: Final[list[dict[str, object]]] = []
    for entry in updated["models"]:  # type: ignore[attr-defined]
        old_id = str(entry["id"])
        if old_id in renamed:
            models.append(_new_entry(by_id[renamed[old_id]], entry))
        elif old_id in changes.retired:
            models.append({**entry, "hidden": True})
        else:
            models.append(entry)
    models.extend(_new_entry(by_id[model_id], None) for model_id in changes.new)
    updated["models"] = models
    return updated


def report_lines(changes: Changes) -> list[str]:
    lines: Final = [f"new: {model_id}" for model_id in changes.new]
    lines += [f"retired: {model_id}" for model_id in changes.retired]
    lines += [f"renamed: {old} -> {new}" for old, new in changes.renamed]
    lines += [f"no cost-map entry: commandcode/{model_id}" for model_id in changes.without_price]
    return lines or ["the live list matches the bundled catalog"]


def run_live(api_base: str | None, write: bool, out: list[str]) -> int:
    """`--live [--write]`: the report lines go to `out`; 0 also when offline (the bundled catalog stays)."""
    catalog_data: Final = catalog.load_catalog()
    try:
        live: Final = fetch_live_models(api_base)
    except CommandCodeError as error:
        count = len(catalog.catalog_models())
        out.append(
            f"commandcode: live model list unavailable ({error.message}); using the bundled catalog ({count} models)"
        )
        return 0
    changes: Final = compare(live, catalog_data, catalog.build_cost_map())
    out.extend(report_lines(changes))
    if write and not changes.empty:
        MODELS_JSON.write_text(json.dumps(updated_catalog(catalog_data, live, changes), indent=1), encoding="utf-8")
        catalog.load_catalog.cache_clear()
        catalog.REPOSITORY_COST_MAP.write_text(catalog.cost_map_text(), encoding="utf-8")
        out.append(f"wrote {MODELS_JSON.name} and {catalog.REPOSITORY_COST_MAP.name}")
    return 0
