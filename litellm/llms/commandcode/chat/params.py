"""
Which OpenAI parameters Command Code's `/alpha/generate` accepts, and what each becomes.

Parameters that cannot change the answer are accepted and not sent; a value Command Code cannot honour is dropped with
`drop_params`, else refused with `UnsupportedParamsError`. `reasoning_effort` (or Anthropic's `thinking`) is sent only
at a level the model supports, read from the cost map; one agent session (`prompt_cache_key`, LiteLLM's session id)
is one Command Code thread.
"""

import hashlib
import re
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, cast

import litellm
from litellm._logging import verbose_logger
from litellm.exceptions import UnsupportedParamsError
from litellm.litellm_core_utils.reasoning_effort_utils import reasoning_effort_from_thinking_budget
from litellm.llms.commandcode.common_utils import (
    COMMANDCODE_MAX_TOKENS_LIMIT,
    COMMANDCODE_REASONING_ALIASES,
    COMMANDCODE_REASONING_DISABLED,
    COMMANDCODE_REASONING_EFFORTS,
    PROVIDER,
    bad_request,
    commandcode_model_id,
    get_commandcode_model_info,
    get_explicit_output_cap,
)

THREAD_ID_PARAM: Final[str] = "commandcode_thread_id"
# Parameters agents send that cannot change the answer Command Code gives: accepted, never sent. `prompt_cache_key`
# (also accepted) names the session and becomes the thread id.
ACCEPTED_WITHOUT_EFFECT: Final[tuple[str, ...]] = (
    "store",
    "prompt_cache_retention",
    "safety_identifier",
    "user",
    "metadata",
    "parallel_tool_calls",
    "service_tier",
)
SESSION_PARAM: Final[str] = "prompt_cache_key"
# Parameters accepted at the one value that asks for what Command Code does anyway (not sent); any other value would
# change the answer and cannot be expressed.
NEUTRAL_VALUES: Final[Mapping[str, object]] = MappingProxyType(
    {"top_p": 1, "presence_penalty": 0, "frequency_penalty": 0, "logprobs": False, "response_format": {"type": "text"}}
)
SUPPORTED_OPENAI_PARAMS: Final[tuple[str, ...]] = (
    *("max_tokens", "max_completion_tokens", "temperature", "reasoning_effort", "thinking", "tools", "tool_choice"),
    *("stream", "stream_options", SESSION_PARAM, *ACCEPTED_WITHOUT_EFFECT, *NEUTRAL_VALUES),
)
UUID_PATTERN: Final = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE
)


def map_reasoning_effort(effort: str, model: str) -> str | None:
    """The `reasoning_effort` to send for `model`, or None to send none. `none` sends none; an agent's own name
    (`minimal`, `ultra`, `maximum`) stands for a level of Command Code's scale; a level the model lacks becomes the
    nearest it has on low < medium < high < xhigh < max (a tie goes to the higher level), so anything above its top is
    its top; a model without levels gets none; a model outside the cost map gets the level as named."""
    if effort in COMMANDCODE_REASONING_DISABLED:
        return None
    level: Final = COMMANDCODE_REASONING_ALIASES.get(effort, effort)
    model_info: Final = get_commandcode_model_info(model)
    if model_info is None:
        return level
    supported: Final = model_info.get("reasoning_effort_levels") or ()
    if not supported or level in supported:
        return level if supported else None
    if level not in COMMANDCODE_REASONING_EFFORTS:
        known: Final = ", ".join(("none", *COMMANDCODE_REASONING_ALIASES, *COMMANDCODE_REASONING_EFFORTS))
        raise bad_request(f"reasoning_effort {effort!r} is not a known level; use one of {known}")
    rank: Final = COMMANDCODE_REASONING_EFFORTS.index
    return min(supported, key=lambda option: (abs(rank(option) - rank(level)), -rank(option)))


def effort_from_thinking(thinking: object) -> str | None:
    """Anthropic's `thinking` as a `reasoning_effort` (then mapped to the model's levels like any other): `disabled`
    is `none`; `enabled` goes by `budget_tokens` with LiteLLM's own thresholds (reasoning_effort_from_thinking_budget,
    by default: below 1,024 `minimal`, below 2,048 `low`, below 4,096 `medium`, from 4,096 on `high`), so a budget
    gives the same level whichever bridge carried it; `adaptive` leaves the level to `output_config.effort`, which
    LiteLLM's /v1/messages bridge sends as `reasoning_effort`, and is `medium` without one, as in that bridge."""
    kind: Final = thinking.get("type") if isinstance(thinking, Mapping) else None
    if kind in ("disabled", "adaptive"):
        return "none" if kind == "disabled" else "medium"
    if kind != "enabled":
        raise bad_request(f"thinking must be an object with type enabled, adaptive or disabled, got {thinking!r:.80}")
    budget: Final = cast(Mapping[str, object], thinking).get("budget_tokens", 0)
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise bad_request(f"thinking.budget_tokens must be a number, got {budget!r:.40}")
    return reasoning_effort_from_thinking_budget(int(budget))


def map_params(non_default_params: Mapping[str, object], model: str, drop_params: bool) -> Mapping[str, object]:
    """The accepted parameters as they are sent (or steer the request); `reasoning_effort` wins over `thinking`."""
    params: Final = {name: value for name, value in non_default_params.items() if name != "thinking"}
    if "thinking" in non_default_params and "reasoning_effort" not in params:
        params["reasoning_effort"] = effort_from_thinking(non_default_params["thinking"])
    return {
        translated[0]: translated[1]
        for param, value in params.items()
        if (translated := _map_param(param, value, model, drop_params)) is not None
    }


def _map_param(param: str, value: object, model: str, drop_params: bool) -> tuple[str, object] | None:
    if param in ("max_tokens", "max_completion_tokens"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_request(f"{param} must be a positive integer, got {value!r}")
        cap: Final = get_explicit_output_cap(get_commandcode_model_info(commandcode_model_id(model)))
        return "max_tokens", min(value, cap or COMMANDCODE_MAX_TOKENS_LIMIT, COMMANDCODE_MAX_TOKENS_LIMIT)
    if param == "reasoning_effort":
        level: Final = value.get("effort") if isinstance(value, Mapping) else value  # {"effort", "summary"}
        if not isinstance(level, str):
            raise bad_request(f"reasoning_effort must be a string, got {value!r}")
        effort: Final = map_reasoning_effort(level, commandcode_model_id(model))
        return ("reasoning_effort", effort) if effort is not None else None
    if param == "tool_choice":
        if value in ("auto", "none"):
            return "tool_choice", value
        _unsupported(f"commandcode does not support tool_choice={value!r} (only 'auto' and 'none')", model, drop_params)
        return None
    if param == "temperature" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise bad_request(f"temperature must be a number, got {value!r:.60}")
    if param in ("temperature", "tools", "stream", "stream_options") or (
        param == SESSION_PARAM and value and isinstance(value, str)
    ):
        return param, value
    if param in NEUTRAL_VALUES and value != NEUTRAL_VALUES[param]:
        neutral: Final = NEUTRAL_VALUES[param]
        _unsupported(
            f"commandcode cannot honour {param}={value!r:.60} (only {neutral!r}, which changes nothing, is accepted)",
            model,
            drop_params,
        )
    return None


def _unsupported(message: str, model: str, drop_params: bool) -> None:
    if drop_params or litellm.drop_params:
        verbose_logger.debug("commandcode: dropping %s", message)
        return
    raise UnsupportedParamsError(
        message=(
            f"{message}. To send the request without it, set `litellm.drop_params = True` (SDK), `drop_params: true` "
            "under `litellm_settings` (proxy config), or pass drop_params=True with the request."
        ),
        llm_provider=PROVIDER,
        model=model,
        status_code=400,
    )


def session_thread_id(session: str) -> str:
    """A stable thread id for a session key: the key itself when it is already a UUID in the v4 layout, else a UUID
    in that layout (the server accepts no other) made from the SHA-256 of the key, the same for every request."""
    if UUID_PATTERN.match(session) is not None:
        return session.lower()
    digest: Final = hashlib.sha256(f"commandcode-thread:{session}".encode("utf-8", "surrogatepass")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def request_thread_id(
    optional_params: Mapping[str, object], litellm_params: Mapping[str, object] | None, headers: Mapping[str, str]
) -> str:
    """The caller's own thread id (`commandcode_thread_id`, else an `x-session-id` header), else one derived from the
    session (`prompt_cache_key`, else LiteLLM's `litellm_session_id`), else a fresh one: one agent session is one
    Command Code thread."""
    candidate: Final = optional_params.get(THREAD_ID_PARAM) or headers.get("x-session-id")
    if candidate is None:
        session: Final = optional_params.get(SESSION_PARAM) or (litellm_params or {}).get("litellm_session_id")
        return session_thread_id(session) if isinstance(session, str) and session else str(uuid.uuid4())
    if not isinstance(candidate, str) or UUID_PATTERN.match(candidate) is None:
        raise bad_request(f"{THREAD_ID_PARAM} must be a UUID (version 4 layout), got {candidate!r:.60}")
    return candidate.lower()
