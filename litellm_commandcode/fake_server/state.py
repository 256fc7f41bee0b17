"""What a running fake remembers: its settings (default scenario, accepted keys, minimum CLI version), the scenario
set per key, the live model list, and a record of every request it answered (read at ``GET /_fake/requests``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from litellm_commandcode.fake_server.json_values import JsonDict
from litellm_commandcode.fake_server.scenarios import validate_scenario_spec


@dataclass
class RequestRecord:
    """One ``/alpha/generate`` request as the fake saw and answered it."""

    connection: int
    headers: dict[str, str]
    body: object | None
    status: int = 0
    scenario: str = ""
    scenario_params: dict[str, str] = field(default_factory=dict)
    disconnected: bool = False
    finished: bool = False
    path: str = "/alpha/generate"
    generate_body: object | None = None

    def mark_finished(self) -> None:
        self.finished = True

    def summary(self) -> JsonDict:
        return {
            "path": self.path,
            "generate_body": self.generate_body,
            "connection": self.connection,
            "headers": dict(self.headers),
            "body": self.body,
            "status": self.status,
            "scenario": self.scenario,
            "scenario_params": dict(self.scenario_params),
            "disconnected": self.disconnected,
            "finished": self.finished,
        }


@dataclass
class Settings:
    default_scenario: str
    keys: frozenset[str] | None
    min_version: tuple[int, int, int]


class State:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._initial_default = settings.default_scenario
        self._lock = threading.Lock()
        self._key_scenarios: dict[str, str] = {}
        self._records: list[RequestRecord] = []
        self._disconnects = 0
        self.models: JsonDict | None = None  # the live list GET /provider/v1/models answers, when set

    def add_record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def count_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1

    @property
    def disconnects(self) -> int:
        with self._lock:
            return self._disconnects

    def key_scenarios(self) -> dict[str, str]:
        with self._lock:
            return dict(self._key_scenarios)

    def set_key_scenario(self, key: str, spec: str | None) -> None:
        checked = validate_scenario_spec(spec) if spec is not None else None
        with self._lock:
            if checked is None:
                self._key_scenarios.pop(key, None)
            else:
                self._key_scenarios[key] = checked

    def set_default_scenario(self, spec: str) -> None:
        self.settings.default_scenario = validate_scenario_spec(spec)

    def reset(self) -> None:
        with self._lock:
            self._key_scenarios.clear()
            self._records.clear()
            self._disconnects = 0
            self.models = None
            self.settings.default_scenario = self._initial_default
