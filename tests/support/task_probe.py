"""A LiteLLM proxy callback that lists the proxy's asyncio tasks: a request whose last message contains
`[[probe:tasks]]` makes it write the names of the coroutines of `asyncio.all_tasks()` to
`$COMMANDCODE_PROBE_DIR/tasks-<pid>.json`, then the request goes on as usual. Loaded by a proxy config as
`callbacks: ["task_probe.handler"]`, with this file copied next to the config; a test compares the tasks before and
after a load to find those left behind."""

import asyncio
import json
import os
from pathlib import Path
from typing import Final

from litellm.integrations.custom_logger import CustomLogger

PROBE_DIR_ENV: Final = "COMMANDCODE_PROBE_DIR"
PROBE_MARKER: Final = "[[probe:tasks]]"


def _asks_for_a_count(data: dict) -> bool:  # type: ignore[type-arg]
    messages: Final = data.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return False
    content: Final = messages[-1].get("content")
    return isinstance(content, str) and PROBE_MARKER in content


class TaskProbe(CustomLogger):
    async def async_pre_call_hook(self, user_api_key_dict: object, cache: object, data: dict, call_type: str) -> dict:  # type: ignore[override,type-arg]
        if _asks_for_a_count(data):
            path = Path(os.environ[PROBE_DIR_ENV]) / f"tasks-{os.getpid()}.json"
            path.write_text(json.dumps(sorted(_name(task) for task in asyncio.all_tasks())), encoding="utf-8")
        return data


def _name(task: "asyncio.Task[object]") -> str:
    coroutine: Final = task.get_coro()
    return getattr(coroutine, "__qualname__", None) or repr(coroutine)


def read_tasks(directory: Path, pid: int) -> list[str] | None:
    """The coroutine names the probe last wrote for the proxy process `pid`."""
    path: Final = directory / f"tasks-{pid}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


handler: Final = TaskProbe()
