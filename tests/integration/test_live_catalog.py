"""The live model list (`GET /provider/v1/models`) of the fake server: `python -m litellm_commandcode.catalog --live`
reports what is new, retired and renamed against the bundled catalog, and the proxy's `/v1/models` lists the live
ids for `commandcode/*` with LiteLLM's `check_provider_endpoint`."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import httpx
import pytest
import yaml

from litellm.llms.commandcode.model_info import LiveModel
from litellm_commandcode import catalog
from litellm_commandcode.fake_server import FakeCommandCodeServer, models_listing
from litellm_commandcode.live_catalog import compare, updated_catalog
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import proxy_env, running_proxy, write_config

ROOT: Final = Path(__file__).resolve().parents[2]
COST_MAP_NAME: Final = "model_prices_and_context_window.json"
COMMAND_TIMEOUT_SECONDS: Final = 120
MASTER_KEY: Final = f"sk-live-test-{secrets.token_hex(8)}"
RETIRED: Final = "zai-org/GLM-5"
RENAMED: Final = "deepseek/deepseek-v4-flash"
RENAMED_TO: Final = "deepseek/deepseek-v4-flash-0601"
NEW: Final = "acme/coder-1"


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer) -> None:
    server.reset()


def live_list() -> list[dict[str, object]]:
    """The bundled list with one model retired, one renamed (same display name, new id) and one new."""
    entries: Final = [dict(entry) for entry in models_listing()["data"] if entry["id"] != RETIRED]  # type: ignore[index,union-attr]
    for entry in entries:
        if entry["id"] == RENAMED:
            entry["id"] = RENAMED_TO
    return [*entries, {"id": NEW, "name": "Acme Coder 1", "context_length": 128000}]


def set_live_list(server: FakeCommandCodeServer, models: list[dict[str, object]]) -> None:
    httpx.post(f"{server.url}/_fake/config", json={"models": models}, timeout=10).raise_for_status()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_live_reports_that_the_fakes_list_matches_the_bundled_catalog(
    server: FakeCommandCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert catalog.main(["--live", "--api-base", server.url]) == 0

    assert capsys.readouterr().out == "the live list matches the bundled catalog\n"


def test_live_reports_new_retired_and_renamed_ids_and_those_without_a_price(
    server: FakeCommandCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    set_live_list(server, live_list())

    assert catalog.main(["--live", "--api-base", server.url]) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"new: {NEW}",
        f"retired: {RETIRED}",
        f"renamed: {RENAMED} -> {RENAMED_TO}",
        f"no cost-map entry: commandcode/{NEW}",
        f"no cost-map entry: commandcode/{RENAMED_TO}",
    ]


def test_offline_the_bundled_catalog_stays_with_a_one_line_notice(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalog.main(["--live", "--api-base", f"http://127.0.0.1:{closed_port()}"]) == 0

    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("commandcode: live model list unavailable (Command Code's model list is unreachable: ")
    assert line.endswith(f"; using the bundled catalog ({len(catalog.catalog_models())} models)")


def test_the_updated_catalog_keeps_a_renamed_models_prices_hides_a_retired_one_and_adds_a_new_one_unpriced() -> None:
    live: Final = [LiveModel(str(entry["id"]), str(entry["name"]), None) for entry in live_list()]
    bundled: Final = catalog.load_catalog()
    changes: Final = compare(live, bundled, catalog.build_cost_map())

    updated: Final = updated_catalog(bundled, live, changes)

    by_id: Final = {entry["id"]: entry for entry in updated["models"]}  # type: ignore[union-attr]
    old: Final = {entry["id"]: entry for entry in bundled["models"]}  # type: ignore[union-attr]
    assert RENAMED not in by_id
    assert by_id[RENAMED_TO]["usd_per_million"] == old[RENAMED]["usd_per_million"]
    assert by_id[RENAMED_TO]["reasoning_efforts"] == old[RENAMED]["reasoning_efforts"]
    assert by_id[RETIRED]["hidden"] is True
    assert by_id[NEW]["usd_per_million"] == {"input": None, "output": None, "cache_read": None, "cache_write": None}
    assert [entry["id"] for entry in updated["models"]][-1] == NEW  # type: ignore[index]
    assert len(updated["models"]) == len(bundled["models"]) + 1  # type: ignore[arg-type]


def test_the_proxys_model_list_shows_the_live_ids_with_check_provider_endpoint(
    server: FakeCommandCodeServer, tmp_path: Path
) -> None:
    set_live_list(server, [{"id": NEW, "name": "Acme Coder 1"}, {"id": RENAMED_TO, "name": "DeepSeek V4 Flash"}])
    config: Final = yaml.safe_load((ROOT / "examples" / "config.yaml").read_text(encoding="utf-8"))
    config["model_list"] = [entry for entry in config["model_list"] if entry["model_name"] == "commandcode/*"]
    config.setdefault("litellm_settings", {})["check_provider_endpoint"] = True
    if litellm_knows_commandcode():
        config["litellm_settings"].pop("custom_provider_map", None)
    env: Final = proxy_env(
        COMMANDCODE_API_BASE=server.url, COMMANDCODE_API_KEY="user_live", LITELLM_MASTER_KEY=MASTER_KEY
    )

    with running_proxy(write_config(tmp_path, config), tmp_path / "proxy.log", env) as proxy:
        listed = httpx.get(f"{proxy.url}/v1/models", headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=30)

    assert listed.status_code == 200
    assert sorted(entry["id"] for entry in listed.json()["data"]) == sorted(
        [f"commandcode/{NEW}", f"commandcode/{RENAMED_TO}"]
    )


def copy_of_the_checkout(destination: Path) -> Path:
    """The package, the provider's source and the cost map, copied: `--write` changes the copy's files only."""
    shutil.copytree(ROOT / "litellm_commandcode", destination / "litellm_commandcode")
    shutil.copytree(ROOT / "litellm" / "llms" / "commandcode", destination / "litellm" / "llms" / "commandcode")
    shutil.copyfile(ROOT / COST_MAP_NAME, destination / COST_MAP_NAME)
    return destination


def run_catalog(checkout: Path, *args: str) -> list[str]:
    """`python -m litellm_commandcode.catalog ARGS` run from `checkout` (its copy of the package is the one imported);
    its output lines."""
    env: Final = {**os.environ, "PYTHONPATH": str(checkout), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("COMMANDCODE_API_KEY", None)
    completed: Final = subprocess.run(
        [sys.executable, "-m", "litellm_commandcode.catalog", *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


def read_json(path: Path) -> dict[str, object]:
    loaded: Final = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def models_by_id(catalog_data: Mapping[str, object]) -> dict[str, dict[str, object]]:
    models: Final = catalog_data["models"]
    assert isinstance(models, list)
    return {str(entry["id"]): entry for entry in models}


def repository_files() -> dict[str, bytes]:
    return {name: (ROOT / name).read_bytes() for name in ("litellm_commandcode/models.json", COST_MAP_NAME)}


def test_live_write_updates_a_copys_models_json_and_cost_map_keeping_the_bundled_prices(
    server: FakeCommandCodeServer, tmp_path: Path
) -> None:
    checkout: Final = copy_of_the_checkout(tmp_path / "checkout")
    repository_before: Final = repository_files()
    bundled: Final = models_by_id(read_json(ROOT / "litellm_commandcode" / "models.json"))
    cost_map_before: Final = read_json(ROOT / COST_MAP_NAME)
    set_live_list(server, live_list())

    lines: Final = run_catalog(checkout, "--live", "--write", "--api-base", server.url)

    assert lines == [
        f"new: {NEW}",
        f"retired: {RETIRED}",
        f"renamed: {RENAMED} -> {RENAMED_TO}",
        f"no cost-map entry: commandcode/{NEW}",
        f"no cost-map entry: commandcode/{RENAMED_TO}",
        f"wrote models.json and {COST_MAP_NAME}",
    ]
    assert repository_files() == repository_before
    written: Final = models_by_id(read_json(checkout / "litellm_commandcode" / "models.json"))
    assert set(written) == (set(bundled) - {RENAMED}) | {RENAMED_TO, NEW}
    assert written[RENAMED_TO] == {**bundled[RENAMED], "id": RENAMED_TO}
    assert written[RETIRED] == {**bundled[RETIRED], "hidden": True}
    assert written[NEW]["usd_per_million"] == {"input": None, "output": None, "cache_read": None, "cache_write": None}
    assert written[NEW]["context_window"] == 128000
    assert all(written[model_id] == entry for model_id, entry in bundled.items() if model_id not in (RENAMED, RETIRED))
    cost_map: Final = read_json(checkout / COST_MAP_NAME)
    assert set(cost_map) == (set(cost_map_before) - {f"commandcode/{RENAMED}", f"commandcode/{RETIRED}"}) | {
        f"commandcode/{RENAMED_TO}"
    }
    assert cost_map[f"commandcode/{RENAMED_TO}"] == cost_map_before[f"commandcode/{RENAMED}"]
    assert all(cost_map[key] == entry for key, entry in cost_map_before.items() if key in cost_map)

    assert run_catalog(checkout, "--live", "--api-base", server.url) == [f"no cost-map entry: commandcode/{NEW}"]


def test_live_write_offline_leaves_the_files_as_they_are_with_a_one_line_notice(tmp_path: Path) -> None:
    checkout: Final = copy_of_the_checkout(tmp_path / "checkout")
    models_before: Final = (checkout / "litellm_commandcode" / "models.json").read_bytes()
    cost_map_before: Final = (checkout / COST_MAP_NAME).read_bytes()

    lines: Final = run_catalog(checkout, "--live", "--write", "--api-base", f"http://127.0.0.1:{closed_port()}")

    [line] = lines
    assert line.startswith("commandcode: live model list unavailable (Command Code's model list is unreachable: ")
    assert line.endswith(f"; using the bundled catalog ({len(catalog.catalog_models())} models)")
    assert (checkout / "litellm_commandcode" / "models.json").read_bytes() == models_before
    assert (checkout / COST_MAP_NAME).read_bytes() == cost_map_before
