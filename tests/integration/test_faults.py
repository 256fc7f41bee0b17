"""The fault matrix: every failure Command Code can produce (played by the in-process fake server) reaches the caller as
the right error, through a real LiteLLM proxy process and through the SDK; time limits, cancellation, connection
release, routing, bad input, load and secrets. `scripts/fault-matrix` prints one line per test.

Rows that fail because of the provider or the plug-in stay exact and are marked `xfail(strict=True, raises=...)`: the
named mismatch is the one expected, any other failure of the row still fails the run."""

import asyncio
import contextlib
import getpass
import json
import os
import re
import secrets
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import httpx
import openai
import pytest
from fault_matrix import (
    DisconnectNotPropagated,
    MissingRetryAfter,
    NotServedByTheOther,
    RaisedDuringIteration,
    Row,
    SentUpstream,
    UnclearMessage,
    UpstreamRequestCount,
    WrongErrorClass,
    WrongStatus,
    check,
)
from packaging.version import Version

import litellm
import litellm_commandcode
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, HTTPHandler
from litellm_commandcode.compat import litellm_version
from litellm_commandcode.fake_server import (
    CONTEXT_MESSAGE,
    HTTP_FAULTS,
    NETWORK_LOST_MESSAGE,
    REPLY_SUFFIX,
    FakeCommandCodeServer,
    RequestRecord,
    expected_answer,
)
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.proxy_process import ROOT, ProxyProcess, proxy_env, running_proxy, write_config
from tests.support.fake_stack import disconnect_delay, openai_client, proxy_chat_stream, upstream_keys
from tests.support.sse import read_events

NATIVE: Final = litellm_knows_commandcode()
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
WIRE_MODEL: Final = "deepseek/deepseek-v4-flash"
FAULT_KEY: Final = "user_fault_matrix"
KEY_A: Final = "user_a"
KEY_B: Final = "user_b"
KEY_BACKUP: Final = "user_c"
MASTER_KEY: Final = f"sk-fault-matrix-{secrets.token_hex(8)}"
GROUP: Final = "cc"
TIMEOUT_GROUP: Final = "cc-timeout"
BACKUP_GROUP: Final = "cc-backup"
TIMEOUT_SECONDS: Final = 2.0
# Measured on a 2-core machine: Timeout arrives 0.02-0.1 s after the configured timeout; 1 s leaves room for load.
TIMEOUT_SLACK_SECONDS: Final = 1.0
STALL: Final = "seconds=6"
# Measured: the proxy closes its upstream connection 0.04-0.15 s after the client left.
DISCONNECT_BOUND_SECONDS: Final = 1.0
POOL_WAIT_SECONDS: Final = 2.0
SECOND_REQUEST_BOUND_SECONDS: Final = 1.0
REQUEST_SECONDS: Final = 30.0
USAGE_RESET_IN: Final = 120
LOAD_REQUESTS: Final = 200
LOAD_BOUND_SECONDS: Final = 120.0
ROUTING_CALLS: Final = 4
COOLDOWN_CALLS: Final = 6
COOLDOWN_SPACING_SECONDS: Final = 0.4
ROUTER_COOLDOWN_SECONDS: Final = 1
PAIR_GROUPS: Final = (
    "pair-503-json",
    "pair-503-stream",
    "pair-instream-503-json",
    "pair-instream-503-stream",
    "pair-400-json",
    "pair-400-stream",
    "pair-429-json",
    "pair-429-stream",
)
SDK_MODES: Final = ("sdk-sync", "sdk-async", "sdk-sync-stream", "sdk-async-stream")
PROXY_MODES: Final = ("proxy-json", "proxy-stream")
Mode = Literal["sdk-sync", "sdk-async", "sdk-sync-stream", "sdk-async-stream", "proxy-json", "proxy-stream"]

LITELLM_CORE_CONTENT: Final = (
    "LiteLLM core, before the provider: litellm/main.py:completion calls "
    "prompt_templates/common_utils.py:update_messages_with_model_file_ids, which iterates the int content and raises "
    "TypeError, mapped to APIConnectionError 500"
)
LITELLM_CORE_MESSAGE_SHAPE: Final = (
    "LiteLLM core, before the provider: litellm/utils.py:validate_and_fix_openai_messages calls .get on a message "
    "that is not an object: the SDK raises a bare AttributeError, the proxy answers 400 with its text ('str' object "
    "has no attribute 'get')"
)
LITELLM_CORE_TOOLS: Final = (
    "LiteLLM core, before the provider: litellm/utils.py:validate_and_fix_openai_tools keeps only dict tools and "
    "silently drops the rest, so `tools='get_weather'` becomes [] and the request is sent without tools"
)
LITELLM_RELEASE: Final = Version(litellm_version())
LITELLM_PROXY_TOOLS: Final = (
    "LiteLLM proxy request handling, before the provider: it calls .get on each entry of `tools` and answers 400 "
    "with the raw AttributeError text ('str' object has no attribute 'get')"
)
LITELLM_CORE_ROLE: Final = (
    "LiteLLM core, before the provider: litellm/utils.py:validate_and_fix_openai_messages gives a message without "
    "a role the role 'assistant' and sends it; the provider itself rejects it (unsupported role None)"
)
LITELLM_CORE_TOOL_CALLS: Final = (
    "LiteLLM core, before the provider: litellm/utils.py:validate_and_fix_openai_messages runs tool_calls through "
    "jsonify_tools, which keeps only dicts, so `tool_calls='get_weather'` becomes [] and the assistant turn is sent "
    "without it; the provider itself would reject it (tool_calls must be a list)"
)


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def registered(server: FakeCommandCodeServer) -> None:
    """Registers the provider and warms the SDK up once, so that no row pays LiteLLM's first-call cost."""
    litellm_commandcode.register()
    litellm.completion(model=MODEL, messages=[user("warm up")], api_base=server.url, api_key=FAULT_KEY)
    asyncio.run(litellm.acompletion(model=MODEL, messages=[user("warm up")], api_base=server.url, api_key=FAULT_KEY))


@pytest.fixture(autouse=True)
def fresh_server(server: FakeCommandCodeServer) -> None:
    server.reset()


@pytest.fixture
def row(record_property: object) -> Row:
    return Row(record=record_property)


def deployment(group: str, key: str, api_base: str, **extra: object) -> dict[str, object]:
    model_info: Final = extra.pop("model_info", None)
    entry: dict[str, object] = {
        "model_name": group,
        "litellm_params": {"model": MODEL, "api_key": key, "api_base": api_base, **extra},
    }
    if model_info is not None:
        entry["model_info"] = model_info
    return entry


def plugin_settings() -> dict[str, object]:
    if NATIVE:
        return {}
    return {"custom_provider_map": [{"provider": "commandcode", "custom_handler": "litellm_commandcode.proxy.handler"}]}


def matrix_config(api_base: str) -> dict[str, object]:
    """`cc` plays one fault per request (no cooldown, so rows stay independent); `cc-timeout` has deployment
    timeouts; each `pair-*` group is two Command Code accounts (user_a, weight 9, is picked first; user_b) with
    retries, weighted failover and a fallback group (`cc-backup`, user_c); one group per routing row, so that no row
    inherits another's cooldown."""
    no_cooldown: Final = {"cooldown_time": 0}
    pairs: Final = [
        entry
        for group in PAIR_GROUPS
        for entry in (
            deployment(group, KEY_A, api_base, weight=9),
            deployment(group, KEY_B, api_base, weight=1),
        )
    ]
    return {
        "model_list": [
            deployment(GROUP, FAULT_KEY, api_base, model_info=no_cooldown),
            deployment(
                TIMEOUT_GROUP,
                FAULT_KEY,
                api_base,
                timeout=TIMEOUT_SECONDS,
                stream_timeout=TIMEOUT_SECONDS,
                model_info=no_cooldown,
            ),
            *pairs,
            deployment(BACKUP_GROUP, KEY_BACKUP, api_base),
        ],
        "router_settings": {
            "num_retries": 2,
            "retry_after": 0,
            "cooldown_time": ROUTER_COOLDOWN_SECONDS,
            "enable_weighted_failover": True,
            "fallbacks": [{group: [BACKUP_GROUP]} for group in PAIR_GROUPS],
        },
        "litellm_settings": plugin_settings(),
    }


@pytest.fixture(scope="module")
def proxy(server: FakeCommandCodeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir: Final = tmp_path_factory.mktemp("fault-proxy")
    config: Final = write_config(workdir, matrix_config(server.url))
    with running_proxy(config, workdir / "proxy.log", proxy_env(LITELLM_MASTER_KEY=MASTER_KEY)) as started:
        yield started


@pytest.fixture(scope="module")
def client(proxy: ProxyProcess) -> Iterator[openai.OpenAI]:
    with openai_client(proxy, MASTER_KEY, REQUEST_SECONDS) as sdk_client:
        yield sdk_client


# ---------------------------------------------------------------------------------------------------------------------
# Running one request in one mode
# ---------------------------------------------------------------------------------------------------------------------


def user(text: str) -> dict[str, object]:
    return {"role": "user", "content": text}


def marked(scenario: str, text: str = "hi") -> list[dict[str, object]]:
    return [user(f"{text} [[fake:{scenario}]]")]


@dataclass
class Outcome:
    """What the caller saw: an error (raised by the call itself or while iterating), or an answer."""

    error: BaseException | None = None
    where: str = "none"
    content: str = ""
    reasoning: str = ""
    finish_reasons: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def status(self) -> int | None:
        status = getattr(self.error, "status_code", None)
        if isinstance(status, int):
            return status
        body = getattr(self.error, "body", None)
        code = body.get("code") if isinstance(body, Mapping) else None
        return int(code) if isinstance(code, str) and code.isdigit() else None

    @property
    def message(self) -> str:
        body = getattr(self.error, "body", None)
        if isinstance(body, Mapping) and isinstance(body.get("message"), str):
            return str(body["message"])
        return str(self.error) if self.error is not None else ""

    def describe(self) -> str:
        if self.error is None:
            return f"answer finish={self.finish_reasons} content={self.content[:60]!r} in {self.elapsed:.2f}s"
        return (
            f"{type(self.error).__name__} {self.status} from the {self.where} in {self.elapsed:.2f}s: "
            f"{' '.join(self.message.split())[:140]!r}"
        )


def _add_chunk(outcome: Outcome, chunk: object) -> None:
    for choice in getattr(chunk, "choices", None) or ():
        delta = getattr(choice, "delta", None)
        content = getattr(delta, "content", None)
        reasoning = getattr(delta, "reasoning_content", None)
        outcome.content += content if isinstance(content, str) else ""
        outcome.reasoning += reasoning if isinstance(reasoning, str) else ""
        if getattr(choice, "finish_reason", None):
            outcome.finish_reasons.append(str(choice.finish_reason))


def _add_message(outcome: Outcome, response: object) -> None:
    choice: Final = response.choices[0]  # type: ignore[attr-defined]
    outcome.content = choice.message.content or ""
    outcome.reasoning = getattr(choice.message, "reasoning_content", None) or ""
    outcome.finish_reasons = [str(choice.finish_reason)]


def _sdk_sync(mode: str, kwargs: dict[str, object], outcome: Outcome) -> None:
    outcome.where = "call"
    if mode == "sdk-sync":
        _add_message(outcome, litellm.completion(**kwargs))
        return
    stream: Final = litellm.completion(**kwargs, stream=True)
    outcome.where = "iteration"
    for chunk in stream:  # type: ignore[union-attr]
        _add_chunk(outcome, chunk)


async def _sdk_async(mode: str, kwargs: dict[str, object], outcome: Outcome) -> None:
    outcome.where = "call"
    if mode == "sdk-async":
        _add_message(outcome, await litellm.acompletion(**kwargs))
        return
    stream: Final = await litellm.acompletion(**kwargs, stream=True)
    outcome.where = "iteration"
    async for chunk in stream:  # type: ignore[union-attr]
        _add_chunk(outcome, chunk)


def run_sdk(mode: str, kwargs: dict[str, object]) -> Outcome:
    outcome: Final = Outcome()
    start: Final = time.monotonic()
    try:
        if mode.startswith("sdk-async"):
            asyncio.run(_sdk_async(mode, kwargs, outcome))
        else:
            _sdk_sync(mode, kwargs, outcome)
        outcome.where = "none"
    except Exception as error:
        outcome.error = error
    outcome.elapsed = time.monotonic() - start
    return outcome


def run_proxy(client: openai.OpenAI, mode: str, messages: list[dict[str, object]], **body: object) -> Outcome:
    outcome: Final = Outcome()
    start: Final = time.monotonic()
    streaming: Final = mode == "proxy-stream"
    model: Final = str(body.pop("model", GROUP))
    try:
        outcome.where = "call"
        result = client.chat.completions.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            stream=streaming,
            extra_body=body,
        )
        if streaming:
            outcome.where = "iteration"
            with result:  # type: ignore[union-attr]
                for chunk in result:  # type: ignore[union-attr]
                    _add_chunk(outcome, chunk)
        else:
            _add_message(outcome, result)
        outcome.where = "none"
    except openai.APIError as error:
        outcome.error = error
    outcome.elapsed = time.monotonic() - start
    return outcome


def sdk_kwargs(server: FakeCommandCodeServer, messages: list[dict[str, object]], **params: object) -> dict[str, object]:
    return {"model": MODEL, "messages": messages, "api_base": server.url, "api_key": FAULT_KEY, **params}


def run(
    mode: str,
    server: FakeCommandCodeServer,
    client_factory: "ClientFactory",
    messages: list[dict[str, object]],
) -> Outcome:
    if mode.startswith("sdk"):
        return run_sdk(mode, sdk_kwargs(server, messages))
    return run_proxy(client_factory(), mode, messages, num_retries=0)


class ClientFactory:
    """The proxy's client, started only for proxy rows (SDK rows never wait for the proxy)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request

    def __call__(self) -> openai.OpenAI:
        self.request.getfixturevalue("proxy_log_on_failure")
        client = self.request.getfixturevalue("client")
        assert isinstance(client, openai.OpenAI)
        return client


@pytest.fixture
def proxy_client(request: pytest.FixtureRequest) -> ClientFactory:
    return ClientFactory(request)


def retry_after_of(outcome: Outcome) -> str | None:
    error: Final = outcome.error
    provider_headers: Final = getattr(error, "litellm_response_headers", None) or {}
    response: Final = getattr(error, "response", None)
    response_headers: Final = getattr(response, "headers", None) or {}
    value: Final = dict(provider_headers).get("retry-after") or response_headers.get("retry-after")
    return str(value) if value is not None else None


# ---------------------------------------------------------------------------------------------------------------------
# 1-2, 4. Errors before any content: HTTP errors (PROTOCOL §4.1) and in-stream errors (§4.2)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    scenario: str
    status: int
    sdk_error: type[Exception]
    proxy_error: type[openai.APIError]
    message: str
    retry_after: int | None = None

    @property
    def name(self) -> str:
        return self.scenario.replace(" ", "-")


BEFORE_CONTENT: Final = (
    Fault("http_400", 400, litellm.BadRequestError, openai.BadRequestError, HTTP_FAULTS["http_400"][2]),
    Fault(
        "http_400_credits",
        400,
        litellm.BadRequestError,
        openai.BadRequestError,
        f"You have insufficient credits to use {WIRE_MODEL}.",
    ),
    Fault(
        "http_400_proxy",
        400,
        litellm.BadRequestError,
        openai.BadRequestError,
        "Proxy use detected. This endpoint only serves CLI.",
    ),
    Fault("http_400_context", 400, litellm.ContextWindowExceededError, openai.BadRequestError, CONTEXT_MESSAGE),
    Fault("http_401", 401, litellm.AuthenticationError, openai.AuthenticationError, HTTP_FAULTS["http_401"][2]),
    Fault(
        "http_403_plan",
        403,
        litellm.PermissionDeniedError,
        openai.PermissionDeniedError,
        f"MODEL_NOT_IN_PLAN: {WIRE_MODEL} is not included in your current plan.",
    ),
    Fault(
        "http_403_model",
        403,
        litellm.PermissionDeniedError,
        openai.PermissionDeniedError,
        f"Model/provider not recognized: {WIRE_MODEL}",
    ),
    Fault(
        "http_403_upgrade",
        403,
        litellm.PermissionDeniedError,
        openai.PermissionDeniedError,
        "upgrade_required: Command Code version",
    ),
    Fault(
        f"http_429 reset_in={USAGE_RESET_IN}",
        429,
        litellm.RateLimitError,
        openai.RateLimitError,
        "RATE_LIMITED: Usage limit reached for the fiveHour window.",
        retry_after=USAGE_RESET_IN,
    ),
    Fault("http_500", 500, litellm.InternalServerError, openai.InternalServerError, HTTP_FAULTS["http_500"][2]),
    Fault("http_502", 502, litellm.BadGatewayError, openai.InternalServerError, HTTP_FAULTS["http_502"][2]),
    Fault("http_503", 503, litellm.ServiceUnavailableError, openai.InternalServerError, HTTP_FAULTS["http_503"][2]),
    Fault("http_non_json", 502, litellm.BadGatewayError, openai.InternalServerError, "upstream connect error"),
    Fault(
        "stream_error_before status=503",
        503,
        litellm.ServiceUnavailableError,
        openai.InternalServerError,
        "Service temporarily unavailable.",
    ),
    Fault(
        "stream_error_before status=429",
        429,
        litellm.RateLimitError,
        openai.RateLimitError,
        "Rate limit exceeded.",
    ),
    Fault(
        "stream_error_before status=402",
        402,
        litellm.PaymentRequiredError,
        openai.APIStatusError,
        "Insufficient Balance",
    ),
    Fault("stream_error_string", 500, litellm.InternalServerError, openai.InternalServerError, NETWORK_LOST_MESSAGE),
    Fault("stream_error_embedded", 429, litellm.RateLimitError, openai.RateLimitError, "Rate limit exceeded"),
    Fault("stream_context", 400, litellm.ContextWindowExceededError, openai.BadRequestError, CONTEXT_MESSAGE),
)


def in_every_mode(cases: "Sequence[Fault] | Sequence[Broken]") -> list[object]:
    """Each case in each SDK and proxy mode, named `<mode>-<case name>`."""
    return [pytest.param(case, mode, id=f"{mode}-{case.name}") for case in cases for mode in (*SDK_MODES, *PROXY_MODES)]


def expect_before_content(fault: Fault, mode: str) -> str:
    error: Final = fault.proxy_error if mode.startswith("proxy") else fault.sdk_error
    where: Final = "HTTP status" if mode.startswith("proxy") else "the call itself"
    retry: Final = f", Retry-After {fault.retry_after}s (from reset)" if fault.retry_after is not None else ""
    return f"{error.__name__} {fault.status} from {where}, Command Code's message{retry}, 1 upstream request"


@pytest.mark.parametrize(("fault", "mode"), in_every_mode(BEFORE_CONTENT))
def test_error_before_content(
    fault: Fault, mode: Mode, server: FakeCommandCodeServer, proxy_client: ClientFactory, row: Row
) -> None:
    row.expect(expect_before_content(fault, mode))

    outcome: Final = run(mode, server, proxy_client, marked(fault.scenario))

    retry_after: Final = retry_after_of(outcome)
    row.observe(outcome.describe() + (f" retry-after={retry_after}" if fault.retry_after is not None else ""))
    assert outcome.error is not None, f"no error: {outcome.describe()}"
    check(outcome.where == "call", RaisedDuringIteration, f"raised while iterating: {outcome.describe()}")
    expected_class: Final = fault.proxy_error if mode.startswith("proxy") else fault.sdk_error
    check(type(outcome.error) is expected_class, WrongErrorClass, f"expected {expected_class}: {outcome.describe()}")
    check(outcome.status == fault.status, WrongStatus, outcome.describe())
    assert fault.message in outcome.message
    check(len(server.requests) == 1, UpstreamRequestCount, f"{len(server.requests)} upstream requests")
    if fault.retry_after is not None:
        check(retry_after is not None, MissingRetryAfter, "no retry-after header")
        assert fault.retry_after - 2 <= int(str(retry_after)) <= fault.retry_after


def test_insufficient_credits_and_proxy_use_point_the_user_somewhere(server: FakeCommandCodeServer, row: Row) -> None:
    row.expect("insufficient credits → 'top up'; proxy use detected → points to the Provider API")

    credits: Final = run_sdk("sdk-sync", sdk_kwargs(server, marked("http_400_credits")))
    proxy_use: Final = run_sdk("sdk-sync", sdk_kwargs(server, marked("http_400_proxy")))

    row.observe(f"{credits.describe()} | {proxy_use.describe()}")
    assert "out of credits; top up" in credits.message
    assert "Provider API" in proxy_use.message
    assert "/provider/v1" in proxy_use.message


# ---------------------------------------------------------------------------------------------------------------------
# 2-3. Errors after content, truncation and broken connections
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    """`status` and `message` when the call streams; `unstreamed` when it does not, if they differ."""

    scenario: str
    status: int
    message: str
    unstreamed: tuple[int, str] | None = None

    @property
    def name(self) -> str:
        return self.scenario.split()[0]

    def expected(self, streaming: bool) -> tuple[int, str]:
        return (self.status, self.message) if streaming or self.unstreamed is None else self.unstreamed


# A non-streaming call's body is read by LiteLLM's HTTP handler, which gives a transport failure the synthesized
# status 500 and maps it to APIConnectionError for every provider (httpx says "Connection reset by peer", aiohttp
# "Response payload is not completed"); a stream is read by the provider's iterator, which names it a 502.
RESET_UNSTREAMED: Final = (500, "litellm.APIConnectionError: CommandcodeException - ")
AFTER_CONTENT: Final = (
    Broken("stream_error_after status=503", 503, "Service temporarily unavailable."),
    Broken("truncate", 502, "stream ended before completion"),
    Broken("reset", 502, "connection broke mid-stream", unstreamed=RESET_UNSTREAMED),
)


@pytest.mark.parametrize(("broken", "mode"), in_every_mode(AFTER_CONTENT))
def test_error_after_content_is_an_error_never_a_short_answer(
    broken: Broken, mode: Mode, server: FakeCommandCodeServer, proxy_client: ClientFactory, row: Row
) -> None:
    streaming: Final = mode.endswith("stream")
    status, message = broken.expected(streaming)
    row.expect(
        f"status {status} error, no finish_reason"
        + ("; what came before it is a strict prefix of the answer, without the error text" if streaming else "")
    )

    outcome: Final = run(mode, server, proxy_client, marked(broken.scenario))

    row.observe(f"{outcome.describe()}; content before the error {outcome.content[:40]!r}")
    assert outcome.error is not None, f"a short answer presented as complete: {outcome.describe()}"
    assert outcome.finish_reasons == []
    assert message not in outcome.content
    complete: Final = f"You said: hi [[fake:{broken.scenario}]]\n{REPLY_SUFFIX}"
    assert complete.startswith(outcome.content)
    assert outcome.content != complete
    check(outcome.status == status, WrongStatus, outcome.describe())
    assert message in outcome.message


# ---------------------------------------------------------------------------------------------------------------------
# 4. Garbage on the wire
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [*SDK_MODES, *PROXY_MODES])
def test_garbage_and_a_megabyte_start_step_are_skipped(
    mode: Mode, server: FakeCommandCodeServer, proxy_client: ClientFactory, row: Row
) -> None:
    row.expect("the complete answer the fake sent (non-JSON lines, SSE lines and a 1 MB start-step skipped)")

    outcome: Final = run(mode, server, proxy_client, marked("garbage"))

    row.observe(outcome.describe())
    body: Final = server.requests[0].body
    assert isinstance(body, dict)
    answer: Final = expected_answer(body)
    assert outcome.error is None, outcome.describe()
    assert outcome.content == answer["text"]
    assert outcome.reasoning == answer["reasoning"]
    assert outcome.finish_reasons == ["stop"]
    assert "SSE-GHOST" not in outcome.content


# ---------------------------------------------------------------------------------------------------------------------
# 5. Time limits
# ---------------------------------------------------------------------------------------------------------------------


def expect_timeout(row: Row, what: str) -> None:
    row.expect(
        f"{what} within {TIMEOUT_SECONDS:.0f} s + {TIMEOUT_SLACK_SECONDS:.1f} s "
        f"(and not before {TIMEOUT_SECONDS:.0f} s)"
    )


@pytest.mark.parametrize("stall", ["stall_first", "stall_mid"])
@pytest.mark.parametrize("mode", SDK_MODES)
def test_sdk_timeout_raises_litellm_timeout_in_time(
    mode: Mode, stall: str, server: FakeCommandCodeServer, row: Row
) -> None:
    expect_timeout(row, "litellm.Timeout (408)")

    outcome: Final = run_sdk(mode, sdk_kwargs(server, marked(f"{stall} {STALL}"), timeout=TIMEOUT_SECONDS))

    row.observe(outcome.describe())
    row.measure(f"timeout {TIMEOUT_SECONDS:.0f} s → error after {outcome.elapsed:.3f} s")
    assert isinstance(outcome.error, litellm.Timeout), outcome.describe()
    assert outcome.status == 408
    assert TIMEOUT_SECONDS - 0.05 <= outcome.elapsed <= TIMEOUT_SECONDS + TIMEOUT_SLACK_SECONDS


PROXY_TIMEOUTS: Final = (
    pytest.param(TIMEOUT_GROUP, "proxy-json", "stall_first", {}, id="deployment-timeout-json-stall_first"),
    pytest.param(TIMEOUT_GROUP, "proxy-stream", "stall_mid", {}, id="deployment-stream_timeout-stream-stall_mid"),
    pytest.param(TIMEOUT_GROUP, "proxy-stream", "stall_first", {}, id="deployment-stream_timeout-stream-stall_first"),
    pytest.param(GROUP, "proxy-json", "stall_mid", {"timeout": TIMEOUT_SECONDS}, id="request-timeout-json-stall_mid"),
    pytest.param(
        GROUP, "proxy-stream", "stall_first", {"timeout": TIMEOUT_SECONDS}, id="request-timeout-stream-stall_first"
    ),
)


@pytest.mark.parametrize(("group", "mode", "stall", "extra"), PROXY_TIMEOUTS)
def test_proxy_timeout_answers_408_in_time(
    group: str,
    mode: Mode,
    stall: str,
    extra: dict[str, object],
    proxy_client: ClientFactory,
    row: Row,
) -> None:
    expect_timeout(row, "HTTP 408 (or a 408 error event once the stream started)")

    outcome: Final = run_proxy(proxy_client(), mode, marked(f"{stall} {STALL}"), model=group, num_retries=0, **extra)

    row.observe(outcome.describe())
    row.measure(f"proxy {group} {mode} {stall}: error after {outcome.elapsed:.3f} s")
    assert outcome.error is not None, outcome.describe()
    assert outcome.status == 408, outcome.describe()
    assert "Timeout" in outcome.message or "timed out" in outcome.message
    assert TIMEOUT_SECONDS - 0.05 <= outcome.elapsed <= TIMEOUT_SECONDS + TIMEOUT_SLACK_SECONDS


# ---------------------------------------------------------------------------------------------------------------------
# 6. Cancellation and cleanup
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "events_before_leaving"),
    [
        pytest.param("slow delay_ms=100", 3, id="while-tokens-flow"),
        pytest.param(f"stall_mid {STALL}", 1, id="while-upstream-is-silent"),
    ],
)
def test_client_leaving_mid_stream_closes_the_upstream_connection(
    scenario: str,
    events_before_leaving: int,
    server: FakeCommandCodeServer,
    proxy: ProxyProcess,
    proxy_log_on_failure: None,
    row: Row,
) -> None:
    row.expect(f"the fake sees the proxy's upstream connection close within {DISCONNECT_BOUND_SECONDS:.1f} s")
    body: Final = {"model": GROUP, "stream": True, "messages": marked(scenario)}

    with proxy_chat_stream(proxy, MASTER_KEY, body, REQUEST_SECONDS) as response:
        assert response.status_code == 200
        read_events(response, events_before_leaving)
    delay: Final = disconnect_delay(server, DISCONNECT_BOUND_SECONDS)

    records: Final = server.requests
    row.observe(f"upstream closed after {delay:.3f} s" if delay is not None else "upstream still open")
    row.measure(f"client left ({scenario}) → upstream closed after {delay if delay is None else round(delay, 3)} s")
    check(delay is not None and delay <= DISCONNECT_BOUND_SECONDS, DisconnectNotPropagated, f"after {delay}")
    assert [(record.disconnected, record.finished) for record in records] == [(True, False)]


POOL_CASES: Final = (
    pytest.param("long events=2000", "stop", id="caller-stops-early"),
    pytest.param("stream_error_after status=503", "error", id="error-after-content"),
    pytest.param("truncate", "error", id="truncation"),
    pytest.param("reset", "error", id="connection-reset"),
    pytest.param("stream_error_before status=503", "error", id="error-before-content"),
    pytest.param("http_503", "error", id="http-error"),
)


def pool_kwargs(server: FakeCommandCodeServer, scenario: str, client: object) -> dict[str, object]:
    return sdk_kwargs(server, marked(scenario), client=client, timeout=POOL_WAIT_SECONDS)


def consume_sync(stream: object, how: str) -> None:
    for index, _ in enumerate(stream):  # type: ignore[call-overload]
        if how == "stop" and index == 1:
            return


async def consume_async(stream: object, how: str) -> None:
    index = 0
    async for _ in stream:  # type: ignore[attr-defined]
        index += 1
        if how == "stop" and index == 2:
            return


def sync_first_stream(server: FakeCommandCodeServer, scenario: str, how: str, handler: HTTPHandler) -> None:
    with contextlib.suppress(litellm.exceptions.APIError, openai.APIError):
        consume_sync(litellm.completion(**pool_kwargs(server, scenario, handler), stream=True), how)


async def async_first_stream(server: FakeCommandCodeServer, scenario: str, how: str, handler: AsyncHTTPHandler) -> None:
    with contextlib.suppress(litellm.exceptions.APIError, openai.APIError):
        await consume_async(await litellm.acompletion(**pool_kwargs(server, scenario, handler), stream=True), how)


def one_connection_sync() -> HTTPHandler:
    return HTTPHandler(client=httpx.Client(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)))


def one_connection_async() -> AsyncHTTPHandler:
    limits: Final = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return AsyncHTTPHandler(transport=httpx.AsyncHTTPTransport(limits=limits))


def second_request_seconds(server: FakeCommandCodeServer, handler: HTTPHandler) -> float:
    start: Final = time.monotonic()
    response: Final = litellm.completion(**pool_kwargs(server, "ok", handler))
    assert response.choices[0].message.content.startswith("You said: hi [[fake:ok]]")  # type: ignore[union-attr]
    return time.monotonic() - start


@pytest.mark.parametrize(("scenario", "how"), POOL_CASES)
@pytest.mark.parametrize("path", ["sync", "async"])
def test_a_stream_that_ends_early_releases_its_connection_at_once(
    path: str, scenario: str, how: str, server: FakeCommandCodeServer, row: Row
) -> None:
    row.expect(
        f"with a pool of 1 connection, the next request is served within {SECOND_REQUEST_BOUND_SECONDS:.0f} s "
        f"(pool wait limit {POOL_WAIT_SECONDS:.0f} s)"
    )

    async def first_async(handler: AsyncHTTPHandler) -> float:
        await async_first_stream(server, scenario, how, handler)
        start = time.monotonic()
        response = await litellm.acompletion(**pool_kwargs(server, "ok", handler))
        assert response.choices[0].message.content.startswith("You said: hi [[fake:ok]]")  # type: ignore[union-attr]
        return time.monotonic() - start

    if path == "sync":
        handler = one_connection_sync()
        sync_first_stream(server, scenario, how, handler)
        elapsed = second_request_seconds(server, handler)
    else:
        elapsed = asyncio.run(first_async(one_connection_async()))

    row.observe(f"second request served after {elapsed:.3f} s")
    assert elapsed <= SECOND_REQUEST_BOUND_SECONDS
    assert [record.scenario for record in server.requests][-1] == "ok"


@pytest.mark.parametrize("path", ["sync", "async"])
def test_the_pool_of_one_really_blocks_while_a_stream_is_open(
    path: str, server: FakeCommandCodeServer, row: Row
) -> None:
    """The control for the rows above: with the first stream still open, the second request cannot get a connection."""
    row.expect(f"litellm.Timeout after the {POOL_WAIT_SECONDS:.0f} s pool wait limit")

    async def blocked_async() -> BaseException | None:
        handler = one_connection_async()
        stream = await litellm.acompletion(**pool_kwargs(server, "long events=2000", handler), stream=True)
        await stream.__anext__()
        try:
            await litellm.acompletion(**pool_kwargs(server, "ok", handler))
        except litellm.Timeout as error:
            return error
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return None

    start: Final = time.monotonic()
    if path == "sync":
        handler = one_connection_sync()
        stream = litellm.completion(**pool_kwargs(server, "long events=2000", handler), stream=True)
        next(iter(stream))
        with pytest.raises(litellm.Timeout) as raised:
            litellm.completion(**pool_kwargs(server, "ok", handler))
        error: BaseException | None = raised.value
    else:
        error = asyncio.run(blocked_async())

    row.observe(f"{type(error).__name__} after {time.monotonic() - start:.2f} s")
    assert isinstance(error, litellm.Timeout)
    assert [record.scenario for record in server.requests] == ["long"]


# ---------------------------------------------------------------------------------------------------------------------
# 7. Routing: retries, failover, fallbacks, cooldown
# ---------------------------------------------------------------------------------------------------------------------


def routed(
    client: openai.OpenAI, group: str, stream: bool, calls: int, spacing: float = 0.0, **body: object
) -> list[Outcome]:
    outcomes: Final[list[Outcome]] = []
    for index in range(calls):
        if index and spacing:
            time.sleep(spacing)
        mode = "proxy-stream" if stream else "proxy-json"
        outcomes.append(run_proxy(client, mode, [user("route me")], model=group, **body))
    return outcomes


EXPECTED_ROUTED_TEXT: Final = f"You said: route me\n{REPLY_SUFFIX}"


@pytest.mark.parametrize("stream", [pytest.param(False, id="json"), pytest.param(True, id="stream")])
@pytest.mark.parametrize(
    ("scenario", "name"),
    [("http_503", "503"), ("stream_error_before status=503", "instream-503")],
    ids=["http-503", "in-stream-503"],
)
def test_a_503_on_one_account_is_served_by_the_other(
    scenario: str,
    name: str,
    stream: bool,
    server: FakeCommandCodeServer,
    client: openai.OpenAI,
    proxy_log_on_failure: None,
    row: Row,
) -> None:
    group: Final = f"pair-{name}-{'stream' if stream else 'json'}"
    row.expect(
        f"{ROUTING_CALLS} calls to {group}: every answer complete, each served by user_b after user_a's 503 "
        "(retries/failover within the group; the fallback group cc-backup never used)"
    )
    server.set_key_scenario(KEY_A, scenario)

    outcomes: Final = routed(client, group, stream, ROUTING_CALLS)

    keys: Final = upstream_keys(server.requests)
    row.observe(f"{[o.status or 200 for o in outcomes]}, upstream keys in order {keys}")
    assert [outcome.describe() for outcome in outcomes if outcome.error is not None] == []
    assert [outcome.content for outcome in outcomes] == [EXPECTED_ROUTED_TEXT] * ROUTING_CALLS
    assert KEY_A in keys, "user_a was never picked: the row did not exercise a failure"
    check(KEY_BACKUP not in keys, NotServedByTheOther, f"the fallback group served: {keys}")
    assert Counter(keys)[KEY_B] == ROUTING_CALLS


@pytest.mark.parametrize("stream", [pytest.param(False, id="json"), pytest.param(True, id="stream")])
def test_a_400_is_not_retried(
    stream: bool, server: FakeCommandCodeServer, client: openai.OpenAI, proxy_log_on_failure: None, row: Row
) -> None:
    """`num_retries` (2 here) never re-sends a 400. The request opts out of fallbacks: LiteLLM's generic `fallbacks`
    and weighted failover re-send every error to the next deployment, a 400 included, by design of its Router."""
    group: Final = f"pair-400-{'stream' if stream else 'json'}"
    row.expect("the 400 with Command Code's message, after exactly 1 upstream request (num_retries=2, no fallbacks)")
    for key in (KEY_A, KEY_B, KEY_BACKUP):
        server.set_key_scenario(key, "http_400")

    [outcome] = routed(client, group, stream, 1, disable_fallbacks=True)

    row.observe(f"{outcome.describe()}; upstream keys {upstream_keys(server.requests)}")
    assert isinstance(outcome.error, openai.BadRequestError)
    assert HTTP_FAULTS["http_400"][2] in outcome.message
    check(len(server.requests) == 1, UpstreamRequestCount, f"{len(server.requests)} upstream requests")


@pytest.mark.parametrize("stream", [pytest.param(False, id="json"), pytest.param(True, id="stream")])
def test_a_usage_window_429_cools_the_account_down(
    stream: bool, server: FakeCommandCodeServer, client: openai.OpenAI, proxy_log_on_failure: None, row: Row
) -> None:
    group: Final = f"pair-429-{'stream' if stream else 'json'}"
    row.expect(
        f"{COOLDOWN_CALLS} calls over {COOLDOWN_SPACING_SECONDS * (COOLDOWN_CALLS - 1):.1f} s (router cooldown "
        f"{ROUTER_COOLDOWN_SECONDS} s, usage window resets in 60 s): all answered by user_b, user_a asked once"
    )
    server.set_key_scenario(KEY_A, "http_429 reset_in=60")

    outcomes: Final = routed(client, group, stream, COOLDOWN_CALLS, spacing=COOLDOWN_SPACING_SECONDS)

    keys: Final = upstream_keys(server.requests)
    row.observe(f"{[o.status or 200 for o in outcomes]}; requests per key {dict(Counter(keys))}")
    assert [outcome.describe() for outcome in outcomes if outcome.error is not None] == []
    assert [outcome.content for outcome in outcomes] == [EXPECTED_ROUTED_TEXT] * COOLDOWN_CALLS
    check(Counter(keys)[KEY_A] <= 1, UpstreamRequestCount, f"user_a asked {Counter(keys)[KEY_A]} times: {keys}")
    check(Counter(keys)[KEY_B] == COOLDOWN_CALLS, NotServedByTheOther, f"not all served by user_b: {keys}")


# ---------------------------------------------------------------------------------------------------------------------
# 8. Bad client input: 400, nothing sent
# ---------------------------------------------------------------------------------------------------------------------

CALL: Final = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
TOOL_TURN: Final = [user("weather?"), {"role": "assistant", "content": None, "tool_calls": [CALL]}]
INTERNALS: Final = re.compile(r"Traceback|object has no attribute|object is not iterable|APIConnectionError")


@dataclass(frozen=True)
class BadInput:
    name: str
    body: Mapping[str, object]
    phrase: str


BAD_INPUTS: Final = (
    (BadInput("unknown-role", {"messages": [{"role": "wizard", "content": "hi"}]}, "unsupported role 'wizard'"), None),
    (
        BadInput(
            "tool-message-without-tool_call_id",
            {"messages": [*TOOL_TURN, {"role": "tool", "content": "18C"}]},
            "tool_call_id",
        ),
        None,
    ),
    (
        BadInput(
            "tool-call-arguments-not-json",
            {
                "messages": [
                    user("weather?"),
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{**CALL, "function": {"name": "get_weather", "arguments": "{city: Paris"}}],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                ]
            },
            "not a JSON object",
        ),
        None,
    ),
    (BadInput("empty-messages", {"messages": []}, "messages must be a non-empty list"), None),
    (BadInput("max_tokens-a-string", {"messages": [user("hi")], "max_tokens": "lots"}, "max_tokens"), None),
    (
        BadInput("system-content-a-number", {"messages": [{"role": "system", "content": 5}, user("hi")]}, "content"),
        None,
    ),
    (BadInput("temperature-a-string", {"messages": [user("hi")], "temperature": "hot"}, "temperature"), None),
    (BadInput("user-content-a-number", {"messages": [{"role": "user", "content": 42}]}, "content"), "core-content"),
    (BadInput("message-not-an-object", {"messages": ["hello"]}, "messages[0]"), "core-shape"),
    (
        BadInput("tools-not-a-list", {"messages": [user("hi")], "tools": "get_weather"}, "tools"),
        {
            # LiteLLM 1.108.7's proxy validates `tools` itself ("tools: Input should be a valid list").
            "proxy": None if Version("1.108.7") <= LITELLM_RELEASE else (UnclearMessage, LITELLM_PROXY_TOOLS),
            "sdk": (SentUpstream, LITELLM_CORE_TOOLS),
        },
    ),
    (BadInput("message-without-role", {"messages": [{"content": "hi"}]}, "role"), (SentUpstream, LITELLM_CORE_ROLE)),
    (
        BadInput(
            "tool_calls-not-a-list",
            {"messages": [user("hi"), {"role": "assistant", "content": None, "tool_calls": "get_weather"}]},
            "tool_calls",
        ),
        (SentUpstream, LITELLM_CORE_TOOL_CALLS),
    ),
)


def bad_input_params() -> list[object]:
    params: Final[list[object]] = []
    for bad, known in BAD_INPUTS:
        for where in ("proxy", "sdk"):
            marks: list[pytest.MarkDecorator] = []
            if known == "core-content":
                mismatch = WrongStatus
                marks.append(pytest.mark.xfail(strict=True, raises=mismatch, reason=LITELLM_CORE_CONTENT))
            elif known == "core-shape":
                mismatch = UnclearMessage if where == "proxy" else WrongStatus
                marks.append(pytest.mark.xfail(strict=True, raises=mismatch, reason=LITELLM_CORE_MESSAGE_SHAPE))
            elif isinstance(known, tuple):
                marks.append(pytest.mark.xfail(strict=True, raises=known[0], reason=known[1]))
            elif isinstance(known, dict) and known[where] is not None:
                mismatch, reason = known[where]
                marks.append(pytest.mark.xfail(strict=True, raises=mismatch, reason=reason))
            params.append(pytest.param(bad, where, id=f"{where}-{bad.name}", marks=marks))
    return params


def bad_input_outcome(bad: BadInput, where: str, server: FakeCommandCodeServer, client: ClientFactory) -> Outcome:
    body: Final = dict(bad.body)
    messages: Final = body.pop("messages")
    if where == "proxy":
        return run_proxy(client(), "proxy-json", messages, num_retries=0, **body)  # type: ignore[arg-type]
    return run_sdk("sdk-sync", sdk_kwargs(server, messages, **body))  # type: ignore[arg-type]


@pytest.mark.parametrize(("bad", "where"), bad_input_params())
def test_bad_client_input_is_a_clear_400_and_nothing_is_sent(
    bad: BadInput, where: str, server: FakeCommandCodeServer, proxy_client: ClientFactory, row: Row
) -> None:
    row.expect(f"400 naming {bad.phrase!r}, no Python internals in the message, 0 upstream requests")

    outcome: Final = bad_input_outcome(bad, where, server, proxy_client)

    row.observe(f"{outcome.describe()}; upstream requests {len(server.requests)}")
    check(not server.requests, SentUpstream, f"sent to Command Code: {outcome.describe()}")
    assert outcome.error is not None
    check(outcome.status == 400, WrongStatus, outcome.describe())
    expected_class: Final = openai.BadRequestError if where == "proxy" else litellm.BadRequestError
    check(isinstance(outcome.error, expected_class), WrongErrorClass, outcome.describe())
    check(INTERNALS.search(outcome.message) is None, UnclearMessage, outcome.message[:200])
    assert bad.phrase in outcome.message


# ---------------------------------------------------------------------------------------------------------------------
# 10. Load
# ---------------------------------------------------------------------------------------------------------------------


async def load_stream(http: httpx.AsyncClient, proxy: ProxyProcess, index: int) -> tuple[int, Outcome]:
    outcome: Final = Outcome()
    body: Final = {"model": GROUP, "stream": True, "messages": [user(f"load request {index}")]}
    async with http.stream(
        "POST", f"{proxy.url}/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"}, json=body
    ) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line.removeprefix("data: "))
            if "error" in event:
                outcome.error = RuntimeError(json.dumps(event["error"]))
                continue
            for choice in event.get("choices", ()):
                delta = choice.get("delta") or {}
                outcome.content += delta.get("content") or ""
                outcome.reasoning += delta.get("reasoning_content") or ""
                if choice.get("finish_reason"):
                    outcome.finish_reasons.append(choice["finish_reason"])
        return response.status_code, outcome


async def load(proxy: ProxyProcess) -> list[tuple[int, Outcome] | BaseException]:
    limits: Final = httpx.Limits(max_connections=LOAD_REQUESTS + 10, max_keepalive_connections=LOAD_REQUESTS + 10)
    async with httpx.AsyncClient(timeout=LOAD_BOUND_SECONDS, limits=limits) as http:
        return await asyncio.wait_for(
            asyncio.gather(
                *(load_stream(http, proxy, index) for index in range(LOAD_REQUESTS)), return_exceptions=True
            ),
            LOAD_BOUND_SECONDS,
        )


def answers_by_prompt(records: Sequence[RequestRecord]) -> dict[str, dict[str, object]]:
    answers: Final[dict[str, dict[str, object]]] = {}
    for record in records:
        body = record.body
        assert isinstance(body, dict)
        params = body["params"]
        assert isinstance(params, dict)
        [message] = params["messages"]
        answers[message["content"][0]["text"]] = expected_answer(body)
    return answers


def test_200_concurrent_streams_are_all_complete_and_identical_to_the_fakes_answer(
    server: FakeCommandCodeServer, proxy: ProxyProcess, proxy_log_on_failure: None, row: Row
) -> None:
    row.expect(
        f"{LOAD_REQUESTS} concurrent streams in < {LOAD_BOUND_SECONDS:.0f} s: all 200, complete, exact, 0 errors"
    )
    rss_before: Final = proxy.rss_kib()
    start: Final = time.monotonic()

    results: Final = asyncio.run(load(proxy))

    elapsed: Final = time.monotonic() - start
    rss_after: Final = proxy.rss_kib()
    answers: Final = answers_by_prompt(server.requests)
    failures: Final = [
        (index, result if isinstance(result, BaseException) else result[1].describe())
        for index, result in enumerate(results)
        if isinstance(result, BaseException) or result[0] != 200 or result[1].error is not None
    ]
    wrong: Final = [
        index
        for index, result in enumerate(results)
        if not isinstance(result, BaseException)
        and (
            result[1].content != answers[f"load request {index}"]["text"]
            or result[1].reasoning != answers[f"load request {index}"]["reasoning"]
            or result[1].finish_reasons != ["stop"]
        )
    ]
    row.observe(
        f"{LOAD_REQUESTS - len(failures) - len(wrong)} exact answers, {len(failures)} errors in {elapsed:.1f} s"
    )
    row.measure(
        f"{LOAD_REQUESTS} concurrent streams in {elapsed:.1f} s; proxy RSS {rss_before / 1024:.0f} MiB before, "
        f"{rss_after / 1024:.0f} MiB after"
    )
    assert failures == []
    assert wrong == []
    assert len(server.requests) == LOAD_REQUESTS
    assert {record.finished for record in server.requests} == {True}


# ---------------------------------------------------------------------------------------------------------------------
# 11. Secrets
# ---------------------------------------------------------------------------------------------------------------------

SENTINEL_KEY: Final = f"user_SENTINEL_{secrets.token_hex(12)}"
RECORDER: Final = '''
import json
import os

from litellm.integrations.custom_logger import CustomLogger


class SpendRecorder(CustomLogger):
    """Writes the standard logging payload (what LiteLLM's spend logs are built from) of every call to a file."""

    def _write(self, kind, kwargs):
        with open(os.environ["FAULT_MATRIX_SPEND_LOG"], "a", encoding="utf-8") as sink:
            payload = {"kind": kind, "payload": kwargs.get("standard_logging_object")}
            sink.write(json.dumps(payload, default=str) + "\\n")

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._write("success", kwargs)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        self._write("failure", kwargs)


recorder = SpendRecorder()
'''


@dataclass(frozen=True)
class DebugProxy:
    proxy: ProxyProcess
    spend_log: Path


@pytest.fixture(scope="module")
def debug_proxy(server: FakeCommandCodeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DebugProxy]:
    workdir: Final = tmp_path_factory.mktemp("debug-proxy")
    (workdir / "fault_matrix_recorder.py").write_text(RECORDER, encoding="utf-8")
    spend_log: Final = workdir / "spend.jsonl"
    config: Final = write_config(
        workdir,
        {
            "model_list": [deployment(GROUP, SENTINEL_KEY, server.url, model_info={"cooldown_time": 0})],
            "litellm_settings": {**plugin_settings(), "callbacks": "fault_matrix_recorder.recorder"},
        },
    )
    env: Final = proxy_env(
        LITELLM_MASTER_KEY=MASTER_KEY,
        LITELLM_LOG="DEBUG",
        FAULT_MATRIX_SPEND_LOG=str(spend_log),
        PYTHONPATH=os.pathsep.join(filter(None, (str(workdir), os.environ.get("PYTHONPATH")))),
    )
    with running_proxy(config, workdir / "proxy.log", env, extra_args=("--detailed_debug",)) as started:
        yield DebugProxy(proxy=started, spend_log=spend_log)


def key_fragments(key: str) -> list[str]:
    """The key and its random part: a masked form that keeps a few characters is fine, the secret part is not."""
    return [key, key.removeprefix("user_SENTINEL_")]


def leaks(text: str, key: str) -> list[str]:
    return [fragment for fragment in key_fragments(key) if fragment in text]


def spend_lines(path: Path, expected: int) -> str:
    deadline: Final = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text.count("\n") >= expected:
            return text
        time.sleep(0.1)
    return path.read_text(encoding="utf-8") if path.exists() else ""


SECRET_CALLS: Final = (
    ("ok", False),
    ("ok", True),
    ("http_401", False),
    ("http_401", True),
    ("stream_error_before status=503", True),
    ("stream_error_after status=503", True),
    ("truncate", False),
)
SECRET_STATUSES: Final = ({200}, {200}, {401}, {401}, {503}, {200, 503}, {502})


def test_the_key_never_appears_in_debug_logs_error_responses_or_spend_logs(
    server: FakeCommandCodeServer, debug_proxy: DebugProxy, row: Row
) -> None:
    row.expect("the sentinel key in none of: responses (bodies, headers), debug log, spend-log payloads")
    proxy: Final = debug_proxy.proxy
    responses: Final[list[str]] = []

    with httpx.Client(timeout=REQUEST_SECONDS) as http:
        for scenario, stream in SECRET_CALLS:
            body = {"model": GROUP, "stream": stream, "num_retries": 0, "messages": marked(scenario)}
            response = http.post(
                f"{proxy.url}/v1/chat/completions", headers={"Authorization": f"Bearer {MASTER_KEY}"}, json=body
            )
            responses.append(f"{response.status_code} {dict(response.headers)} {response.text}")

    spend: Final = spend_lines(debug_proxy.spend_log, len(SECRET_CALLS))
    log: Final = proxy.log_text()
    statuses: Final = [int(text.split()[0]) for text in responses]
    row.observe(
        f"statuses {statuses}; key in responses {sum(bool(leaks(t, SENTINEL_KEY)) for t in responses)}, in debug log "
        f"({len(log.splitlines())} lines) {len(leaks(log, SENTINEL_KEY))}, in spend log ({spend.count(chr(10))} "
        f"entries) {len(leaks(spend, SENTINEL_KEY))}"
    )
    # An error after content arrives as a 200 stream, or as a 503 when it came in the same network read as the content.
    assert [status in allowed for status, allowed in zip(statuses, SECRET_STATUSES, strict=True)] == [True] * len(
        SECRET_CALLS
    ), statuses
    assert [record.headers["authorization"] for record in server.requests] == [f"Bearer {SENTINEL_KEY}"] * len(
        SECRET_CALLS
    )
    assert "DEBUG" in log
    assert spend.count("\n") >= len(SECRET_CALLS)
    assert [text for text in responses if leaks(text, SENTINEL_KEY)] == []
    assert leaks(log, SENTINEL_KEY) == []
    assert leaks(spend, SENTINEL_KEY) == []


def error_texts(error: BaseException) -> list[str]:
    texts: Final[list[str]] = []
    current: BaseException | None = error
    for _ in range(10):
        if current is None:
            break
        texts += [str(current), repr(current), str(getattr(current, "message", ""))]
        current = current.__cause__ or current.__context__
    return texts


@pytest.mark.parametrize("mode", SDK_MODES)
@pytest.mark.parametrize("scenario", ["http_401", "stream_error_before status=503", "reset"])
def test_the_key_never_appears_in_sdk_exception_messages(
    mode: Mode, scenario: str, server: FakeCommandCodeServer, row: Row
) -> None:
    row.expect("the sentinel key in no message or repr of the exception and its causes")

    outcome: Final = run_sdk(mode, {**sdk_kwargs(server, marked(scenario)), "api_key": SENTINEL_KEY})

    assert outcome.error is not None
    texts: Final = error_texts(outcome.error)
    row.observe(f"{outcome.describe()}; key found in {sum(bool(leaks(t, SENTINEL_KEY)) for t in texts)} texts")
    assert [text for text in texts if leaks(text, SENTINEL_KEY)] == []


def host_facts() -> dict[str, str]:
    facts: Final = {
        "working directory": os.getcwd(),
        "repository path": str(ROOT),
        "home directory": str(Path.home()),
        "host name": socket.gethostname(),
    }
    git: Final = subprocess.run(
        ["git", "log", "-3", "--format=%H%n%s"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    for index, line in enumerate(line for line in git.stdout.splitlines() if line.strip()):
        facts[f"git log line {index}"] = line
    return facts


def test_the_wire_body_carries_nothing_of_the_host(server: FakeCommandCodeServer, row: Row) -> None:
    row.expect("no working directory, repository path, home, user name, host name or git data in the wire body")
    litellm.completion(**sdk_kwargs(server, [user("what is in my repository?")]))

    [record] = server.requests
    wire: Final = json.dumps(record.body)
    body: Final = record.body
    assert isinstance(body, dict)
    found: Final = [name for name, value in host_facts().items() if len(value) >= 4 and value in wire]
    user_name: Final = getpass.getuser()
    if re.search(rf"(?<![\w]){re.escape(user_name)}(?![\w])", wire):
        found.append("user name")
    row.observe(f"config {body['config']}; host facts found: {found}")
    assert found == []
    config: Final = body["config"]
    assert isinstance(config, dict)
    assert (config["workingDir"], config["isGitRepo"], config["currentBranch"], config["mainBranch"]) == (
        "/tmp",
        False,
        "",
        "",
    )
    assert (config["gitStatus"], config["recentCommits"], config["structure"]) == ("", [], [])
