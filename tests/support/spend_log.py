"""A LiteLLM success callback that records each request's spend as one JSON line in
`$COMMANDCODE_SPEND_LOG_DIR/spend-<pid>.jsonl`, with the whole payload LiteLLM hands to logging integrations: what any
spend tracker or logger hooked on LiteLLM's success logging sees.
Loaded by a proxy config as `callbacks: ["spend_log.handler"]`, with this file copied next to the config."""

import json
import os
from pathlib import Path
from typing import Final

from litellm.integrations.custom_logger import CustomLogger

SPEND_LOG_DIR_ENV: Final = "COMMANDCODE_SPEND_LOG_DIR"


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
    """Every line every instance wrote."""
    return [
        json.loads(line) for path in sorted(directory.glob("spend-*.jsonl")) for line in path.read_text().splitlines()
    ]


handler: Final = SpendLog()
