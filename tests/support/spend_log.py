"""A LiteLLM success callback that records each request's spend as one JSON line in
`$COMMANDCODE_SPEND_LOG_DIR/spend-<pid>.jsonl`, with the whole payload LiteLLM hands to logging integrations: what any
spend tracker or logger hooked on LiteLLM's success logging sees.
Loaded by a proxy config as `callbacks: ["spend_log.handler"]`, with this file copied next to the config."""

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from litellm.integrations.custom_logger import CustomLogger

SPEND_LOG_DIR_ENV: Final = "COMMANDCODE_SPEND_LOG_DIR"
POLL_SECONDS: Final = 0.1


class SpendLog(CustomLogger):
    async def async_log_success_event(
        self, kwargs: dict, response_obj: object, start_time: object, end_time: object
    ) -> None:  # type: ignore[type-arg]
        payload: Final = kwargs.get("standard_logging_object") or {}
        line: Final = {
            "response_id": getattr(response_obj, "id", None),
            "model_id": payload.get("model_id"),
            "response_cost": kwargs.get("response_cost"),
            "total_tokens": payload.get("total_tokens"),
            "standard_logging_object": json.dumps(payload, default=str),
        }
        path: Final = Path(os.environ[SPEND_LOG_DIR_ENV]) / f"spend-{os.getpid()}.jsonl"
        with path.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(line) + "\n")


def read_spend(directory: Path) -> list[dict[str, object]]:
    """Every complete line every instance wrote (a line being written has no newline yet)."""
    return [
        json.loads(line)
        for path in sorted(directory.glob("spend-*.jsonl"))
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]
    ]


def wait_for_spend(directory: Path, response_ids: Iterable[str], seconds: float) -> list[dict[str, object]]:
    """`read_spend` once every one of `response_ids` has its line, or when `seconds` have passed: the proxy writes
    spend from a success callback that runs after it answered."""
    wanted: Final = set(response_ids)
    deadline: Final = time.monotonic() + seconds
    records = read_spend(directory)
    for _ in range(int(seconds / POLL_SECONDS) + 1):
        if wanted <= {str(record["response_id"]) for record in records} or time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
        records = read_spend(directory)
    return records


handler: Final = SpendLog()
