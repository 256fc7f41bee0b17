"""Scenarios and how a request picks one: a ``[[fake:NAME k=v ...]]`` directive in the last user message, else
the ``x-fake-scenario`` header, else the scenario set for the request's key, else the server's default. This module
parses and checks a scenario spec and reads its parameters; :mod:`.plans` holds what each scenario answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote

from litellm_commandcode.fake_server.catalog import ModelInfo
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_list
from litellm_commandcode.fake_server.protocol import FakeHttpError, last_user_text
from litellm_commandcode.fake_server.validation import UNAUTHORIZED_MESSAGE, VALIDATION_PREFIX, bearer

DEFAULT_SCENARIO: Final = "ok"
MAX_SLEEP_SECONDS: Final = 120.0
MARKER_RE: Final = re.compile(r"\[\[fake:([^\]]*)\]\]")
CONTEXT_MESSAGE: Final = "prompt is too long: 250000 tokens > 200000 maximum"
HTTP_FAULTS: Final[dict[str, tuple[int, str, str]]] = {
    "http_400": (
        400,
        "BAD_REQUEST",
        VALIDATION_PREFIX + 'Invalid input: expected string, received undefined at "params.messages[0].content"',
    ),
    "http_400_credits": (
        400,
        "BAD_REQUEST",
        "You have insufficient credits to use {model}. Add credits at https://commandcode.ai/settings/billing.",
    ),
    "http_400_proxy": (400, "BAD_REQUEST", "Proxy use detected. This endpoint only serves CLI."),
    "http_400_context": (400, "BAD_REQUEST", CONTEXT_MESSAGE),
    "http_401": (401, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE),
    "http_403_plan": (403, "FORBIDDEN", "MODEL_NOT_IN_PLAN: {model} is not included in your current plan."),
    "http_403_model": (403, "FORBIDDEN", "Model/provider not recognized: {model}"),
    "http_500": (500, "INTERNAL_SERVER_ERROR", "Internal server error."),
    "http_502": (502, "BAD_GATEWAY", "Bad gateway: the model provider returned an invalid response."),
    "http_503": (503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable."),
}
RETRY_PARAM: Final = frozenset({"retry_after"})
BURST_PARAM: Final = frozenset({"burst"})
SCENARIO_PARAMS: Final[dict[str, frozenset[str]]] = {
    "ok": BURST_PARAM,
    **dict.fromkeys(HTTP_FAULTS, RETRY_PARAM),
    "http_403_upgrade": RETRY_PARAM,
    "http_429": frozenset({"reset_in", "window", "retry_after"}),
    "http_non_json": frozenset({"status", "retry_after"}),
    "stream_error_before": frozenset({"status", "message"}),
    "stream_error_after": frozenset({"status", "message"}),
    "stream_error_string": frozenset({"message"}),
    "stream_error_embedded": frozenset(),
    "stream_context": frozenset(),
    "truncate": frozenset(),
    "reset": frozenset(),
    "garbage": frozenset(),
    "abort": frozenset(),
    "length": frozenset(),
    "content_filter": frozenset(),
    "empty": frozenset(),
    "reasoning_only": BURST_PARAM,
    "multi_step": frozenset(),
    "pause_turn": frozenset({"times"}),
    "slow": frozenset({"delay_ms"}),
    "stall_first": frozenset({"seconds"}),
    "stall_mid": frozenset({"seconds"}),
    "long": frozenset({"events", "size", "burst"}),
    "unicode": frozenset(),
    "unicode_deltas": frozenset(),
    "agent": frozenset({"reply", "read", "burst"}),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return " ".join([self.name, *(f"{key}={value}" for key, value in self.params.items())])


@dataclass(frozen=True)
class Context:
    params: JsonDict
    model: ModelInfo
    scenario: Scenario
    version: str
    now: float


def parse_scenario(spec: str) -> Scenario:
    tokens = spec.split()
    if not tokens:
        return Scenario(DEFAULT_SCENARIO)
    params: dict[str, str] = {}
    for token in tokens[1:]:
        key, _, value = token.partition("=")
        params[key] = unquote(value)
    return Scenario(tokens[0], params)


def check_scenario(scenario: Scenario, table: Mapping[str, frozenset[str]] = SCENARIO_PARAMS) -> Scenario:
    """`scenario` when `table` (scenario name -> the parameters it takes) knows it and its parameters."""
    allowed = table.get(scenario.name)
    if allowed is None:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Unknown fake scenario: {scenario.name}")
    unknown = sorted(set(scenario.params) - allowed)
    if unknown:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Unknown parameters for {scenario.name}: {', '.join(unknown)}")
    return scenario


def validate_scenario_spec(spec: str) -> str:
    try:
        return check_scenario(parse_scenario(spec)).spec
    except FakeHttpError as error:
        raise ValueError(error.message) from error


def scenario_names() -> tuple[str, ...]:
    return tuple(SCENARIO_PARAMS)


def directive(text: str) -> str | None:
    """The scenario spec of the first ``[[fake:...]]`` directive in `text`."""
    match = MARKER_RE.search(text)
    return match.group(1).strip() if match else None


def _marker_spec(body: object) -> str | None:
    return directive(last_user_text(as_list(as_dict(as_dict(body).get("params")).get("messages"))))


def scenario_spec(body: object, headers: Mapping[str, str], key_scenarios: Mapping[str, str], default: str) -> str:
    marker = _marker_spec(body)
    if marker:
        return marker
    header = headers.get("x-fake-scenario", "").strip()
    if header:
        return header
    token = bearer(headers)
    return key_scenarios.get(token or "", "") or default


def number_param(params: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """Parameter `name` as a number between `low` and `high`, `default` when absent."""
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Parameter {name} must be a number: {raw}") from error
    if value != value:
        raise FakeHttpError(400, "FAKE_BAD_SCENARIO", f"Parameter {name} must be a number: {raw}")
    return min(max(value, low), high)


def param_int(ctx: Context, name: str, default: int, low: int, high: int) -> int:
    return int(number_param(ctx.scenario.params, name, default, low, high))


def param_seconds(ctx: Context, name: str, default: float, scale: float = 1.0) -> float:
    return number_param(ctx.scenario.params, name, default, 0.0, MAX_SLEEP_SECONDS * scale) / scale
