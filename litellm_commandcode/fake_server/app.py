"""The fake's HTTP application: ``POST /alpha/generate`` (checked, planned, recorded), the Provider API doors
(:mod:`.provider_api`), ``GET /provider/v1/models`` and the control routes ``/_fake/requests``, ``/_fake/config``,
``/_fake/reset`` and ``/_fake/health``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from litellm_commandcode.fake_server import provider_api
from litellm_commandcode.fake_server.catalog import models_listing
from litellm_commandcode.fake_server.http_io import Connection, HttpRequest, HttpServer
from litellm_commandcode.fake_server.json_values import JsonDict, as_dict, as_list
from litellm_commandcode.fake_server.plans import PLANNERS
from litellm_commandcode.fake_server.protocol import FakeHttpError, error_envelope
from litellm_commandcode.fake_server.replies import BodyReply, Reply, StreamReply, error_reply, json_reply
from litellm_commandcode.fake_server.scenarios import Context, Scenario, check_scenario, parse_scenario, scenario_spec
from litellm_commandcode.fake_server.state import RequestRecord, State
from litellm_commandcode.fake_server.validation import check_auth, check_body, check_version, loads, loads_or_none


def _plan_generate(request: HttpRequest, state: State, body: object | None, now: float) -> tuple[Scenario, Reply]:
    spec = scenario_spec(body, request.headers, state.key_scenarios(), state.settings.default_scenario)
    scenario = parse_scenario(spec)
    try:
        check_auth(request.headers, state.settings.keys)
        check_version(request.headers, state.settings.min_version)
        params, model = check_body(request.body, request.headers)
        context = Context(
            params, model, check_scenario(scenario), request.headers.get("x-command-code-version", ""), now
        )
        return scenario, PLANNERS[scenario.name](context)
    except FakeHttpError as error:
        return scenario, error_reply(error)


Planner = Callable[[HttpRequest, State, object | None, float], tuple[Scenario, Reply, JsonDict | None]]


class App(HttpServer):
    def __init__(self, state: State) -> None:
        super().__init__()
        self.state = state

    def malformed(self, status: int) -> BodyReply:
        return json_reply(status, error_envelope(status, "BAD_REQUEST", "Malformed HTTP request."))

    async def dispatch(self, connection: Connection, request: HttpRequest) -> bool:
        if request.path == "/alpha/generate" and request.method == "POST":
            return await self._generate(connection, request)
        if request.path in provider_api.DOORS and request.method == "POST":
            return await self._generate(connection, request, provider_api.plan)
        reply = self._route(request)
        await connection.send_body(reply, request.keep_alive)
        return request.keep_alive

    def _route(self, request: HttpRequest) -> BodyReply:
        routes: dict[tuple[str, str], Callable[[HttpRequest], BodyReply]] = {
            ("GET", "/provider/v1/models"): lambda _: json_reply(200, self.state.models or models_listing()),
            ("GET", "/_fake/requests"): lambda _: self._requests_reply(),
            ("POST", "/_fake/config"): self._config_reply,
            ("POST", "/_fake/reset"): lambda _: self._reset_reply(),
            ("GET", "/_fake/health"): lambda _: json_reply(200, {"ok": True}),
        }
        handler = routes.get((request.method, request.path))
        if handler is not None:
            return handler(request)
        known = {path for _, path in routes} | {"/alpha/generate", *provider_api.DOORS}
        status, code = (405, "METHOD_NOT_ALLOWED") if request.path in known else (404, "NOT_FOUND")
        return json_reply(status, error_envelope(status, code, f"No route for {request.method} {request.path}"))

    def _requests_reply(self) -> BodyReply:
        records: list[object] = [record.summary() for record in self.state.records()]
        return json_reply(200, {"requests": records, "disconnects": self.state.disconnects})

    def _reset_reply(self) -> BodyReply:
        self.state.reset()
        return json_reply(200, {"ok": True})

    def _config_reply(self, request: HttpRequest) -> BodyReply:
        try:
            config = as_dict(loads(request.body))
            for key, spec in as_dict(config.get("keys")).items():
                self.state.set_key_scenario(key, None if spec is None else str(spec))
            if "default" in config:
                self.state.set_default_scenario(str(config["default"]))
            if "models" in config:
                self.state.models = {"object": "list", "data": as_list(config["models"])} if config["models"] else None
        except (FakeHttpError, ValueError) as error:
            return json_reply(400, error_envelope(400, "FAKE_BAD_CONFIG", str(error)))
        payload = {"ok": True, "keys": self.state.key_scenarios(), "default": self.state.settings.default_scenario}
        return json_reply(200, payload)

    async def _generate(self, connection: Connection, request: HttpRequest, planner: Planner | None = None) -> bool:
        body = loads_or_none(request.body)
        record = RequestRecord(connection=connection.number, headers=dict(request.headers), body=body)
        record.path = request.path
        self.state.add_record(record)
        if planner is None:
            scenario, reply = _plan_generate(request, self.state, body, time.time())
            record.generate_body = body
        else:
            scenario, reply, record.generate_body = planner(request, self.state, body, time.time())
        record.scenario, record.scenario_params = scenario.name, dict(scenario.params)
        record.status = reply.status
        if isinstance(reply, BodyReply):
            # Marked before the write: a client that has read the body may look at the record at once.
            record.finished = True
            await connection.send_body(reply, request.keep_alive, (("x-fake-scenario", scenario.name),))
            return request.keep_alive
        return await self._stream(connection, request, reply, record)

    async def _stream(
        self, connection: Connection, request: HttpRequest, reply: StreamReply, record: RequestRecord
    ) -> bool:
        sender = asyncio.ensure_future(
            connection.send_stream(
                reply, request.keep_alive, (("x-fake-scenario", record.scenario),), record.mark_finished
            )
        )
        watcher = asyncio.ensure_future(connection.watch_eof())
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
            await asyncio.gather(sender, watcher, return_exceptions=True)
        completed = _sender_result(sender)
        if completed is None:
            record.disconnected = True
            self.state.count_disconnect()
            return False
        return completed and request.keep_alive


def _sender_result(sender: asyncio.Future[bool]) -> bool | None:
    if sender.cancelled():
        return None
    error = sender.exception()
    if error is None:
        return sender.result()
    if isinstance(error, ConnectionError | OSError):
        return None
    raise error
