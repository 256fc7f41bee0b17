"""Several proxy instances on one config (each on its own free port, started together, all stopped however the block
ends), two of them sharing one Redis as examples/config-scale-out.yaml has it, and the config they run."""

import contextlib
import copy
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Final

import yaml

from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ROOT, ProxyProcess, launch, stop_process, wait_until_live, write_config
from tests.support.redis_server import RedisProcess, running_redis


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


@dataclass(frozen=True)
class ProxyCluster:
    """Two proxies sharing one Redis, and the directory their callback module writes to."""

    proxies: list[ProxyProcess]
    redis: RedisProcess
    callback_dir: Path


@contextlib.contextmanager
def running_cluster(
    workdir: Path, config: Mapping[str, object], env: Mapping[str, str], callback: ModuleType, callback_dir_env: str
) -> Iterator[ProxyCluster]:
    """Two proxies on `config` (written to `workdir`) with `env` and one Redis, and the callback module `callback`
    copied next to the config; it writes to `workdir/callback`, which `callback_dir_env` names to it."""
    callback_dir: Final = workdir / "callback"
    callback_dir.mkdir()
    path: Final = write_config(workdir, config)
    module: Final = Path(str(callback.__file__))
    shutil.copy(module, workdir / module.name)
    with running_redis(workdir) as redis_server:
        redis_env: Final = {"REDIS_HOST": redis_server.host, "REDIS_PORT": str(redis_server.port)}
        with running_proxies(path, 2, workdir, {**env, **redis_env, callback_dir_env: str(callback_dir)}) as proxies:
            yield ProxyCluster(proxies=proxies, redis=redis_server, callback_dir=callback_dir)


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
