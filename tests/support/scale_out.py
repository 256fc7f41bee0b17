"""Several proxy instances on one config (each on its own free port, started together, all stopped however the block
ends), and what the fake Command Code server saw of them."""

import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

import yaml

from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ROOT, ProxyProcess, launch, stop_process, wait_until_live


@contextlib.contextmanager
def running_proxies(config: Path, count: int, workdir: Path, env: Mapping[str, str]) -> Iterator[list[ProxyProcess]]:
    """`count` live proxies on `config`, logs in `workdir/proxy-<n>.log`, launched at once to boot together."""
    proxies: Final[list[ProxyProcess]] = []
    try:
        for index in range(count):
            proxies.append(launch(config, workdir / f"proxy-{index}.log", env))
        for proxy in proxies:
            wait_until_live(proxy)
        yield proxies
    finally:
        for proxy in proxies:
            stop_process(proxy.process)


SCALE_OUT_CONFIG: Final = ROOT / "examples" / "config-scale-out.yaml"


def cluster_config(
    groups: Mapping[str, Mapping[str, object]],
    callbacks: Sequence[str] = (),
    source: Path = SCALE_OUT_CONFIG,
) -> dict[str, object]:
    """`source`'s deployments copied under one model name per group (ids `<group>-1`, `<group>-2`, ...), each with the
    group's `litellm_params` added, and without the per-deployment rpm/tpm limits (a load test sends more than a
    seat's 60 requests a minute); `callbacks` (modules copied next to the config) added to `litellm_settings`. On a
    LiteLLM that ships `commandcode` itself, the plug-in's `custom_provider_map` is left out."""
    example: Final = yaml.safe_load(source.read_text(encoding="utf-8"))
    model_list: Final[list[dict[str, object]]] = []
    for group, params in groups.items():
        for index, deployment in enumerate(example["model_list"], start=1):
            entry = copy.deepcopy(deployment)
            entry["model_name"] = group
            litellm_params = {k: v for k, v in entry["litellm_params"].items() if k not in ("rpm", "tpm")}
            entry["litellm_params"] = {**litellm_params, **params}
            entry["model_info"] = {**entry.get("model_info", {}), "id": f"{group}-{index}"}
            model_list.append(entry)
    native: Final = litellm_knows_commandcode()
    settings: Final = {
        k: v for k, v in example.get("litellm_settings", {}).items() if not (native and k == "custom_provider_map")
    }
    if callbacks:
        settings["callbacks"] = list(callbacks)
    return {**example, "model_list": model_list, "litellm_settings": settings}
