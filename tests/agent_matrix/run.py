"""The agent matrix: real coding agents, installed at pinned versions into a cache outside the repository, run headless
against a LiteLLM proxy (examples/config.yaml) in front of the fake Command Code server, scenario by scenario; the
checks read what the fake server received and what the agent sent and got (a recording forwarder in between)."""

import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

import httpx

from benchmarks.common import start_server
from tests.agent_matrix.agents import AGENTS, KEY_ENV, Agent, Package, Place, Turn
from tests.agent_matrix.recorder import Exchange, Recorder, recording
from tests.proxy_process import ROOT, proxy_env, running_proxy

CACHE_ENV: Final = "LITELLM_COMMANDCODE_AGENTS_CACHE"
DEFAULT_CACHE: Final = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "litellm-commandcode-agents"
INSTALL_SECONDS: Final = 900
TURN_SECONDS: Final = 150
MATRIX_SECONDS: Final = 1800  # for all the agents' turns: CI's budget holds the suite and a cold install besides
PROXY_KEY: Final = "sk-agents-matrix"
CC_KEY: Final = "user_agents_matrix"
DEAD_PROXY: Final = "http://127.0.0.1:9"
SECRET: Final = "marmalade-9317"
PLAIN_WORD: Final = "plain-ok-4711"
FOLLOW_WORD: Final = "follow-up-2718"
NOTES: Final = "notes.txt"
SCENARIOS: Final = ("plain", "read", "reasoning", "follow-up")
REASONING_SHOWN: Final = ("I will call it", "I will report its result", "I will answer briefly")
TAIL: Final = 400
KEPT_RUNS: Final = 2  # the logs and agent homes of the newest runs stay in the cache; older ones are removed


class Skip(Exception):
    """The agent's package could not be installed."""


@dataclass
class TurnResult:
    turn: Turn
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    fake: list[dict[str, object]]
    exchanges: list[Exchange]

    def failure(self) -> str | None:
        """Why the turn failed as a run: a timeout, an error answer anywhere on the way, a non-zero exit."""
        if self.returncode is None:
            return f"timed out after {TURN_SECONDS} s; {_tail(self.stdout + self.stderr)}"
        for exchange in self.exchanges:
            if exchange.method == "POST" and exchange.status >= 400:  # discovery probes (GET) may 404
                return (
                    f"proxy answered {exchange.method} {exchange.path} with {exchange.status}: {error_text(exchange)}"
                )
        for record in self.fake:
            if int(str(record.get("status") or 0)) >= 400:
                return f"fake server answered {record.get('status')} (scenario {record.get('scenario')})"
        if self.returncode != 0:
            return f"exit {self.returncode}: {_tail(self.stderr or self.stdout)}"
        return None


@dataclass
class Row:
    agent: Agent
    cells: dict[str, str] = field(default_factory=dict)
    named: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def error_text(exchange: Exchange) -> str:
    """The head of an error answer's message (LiteLLM's `error.message`), or of its body."""
    try:
        error = json.loads(exchange.response_body).get("error")
        text = str(error.get("message") if isinstance(error, dict) else error)
    except (ValueError, AttributeError):
        text = exchange.response_text()
    return " ".join(text.split())[:TAIL]


def _tail(text: str) -> str:
    flat: Final = " ".join(text.split())
    return flat[-TAIL:] if flat else "(no output)"


# ---------------------------------------------------------------------------------------------------------- install


def install(package: Package, cache: Path) -> Path:
    """The agent's binary, installed into the cache once (a `.installed` stamp marks a finished install)."""
    target: Final = cache / package.registry / package.slug
    binary: Final = (
        target / "node_modules" / ".bin" / package.binary
        if package.registry == "npm"
        else (target / "bin" / package.binary)
    )
    stamp: Final = target / ".installed"
    installed: Final = f"{package.spec} --before={package.before}\n"
    if stamp.exists() and binary.exists() and stamp.read_text(encoding="utf-8") == installed:
        return binary
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if package.registry == "npm":
        npm = ["npm", "install", "--prefix", str(target), "--no-audit", "--no-fund", "--loglevel=error"]
        steps = [[*npm, f"--before={package.before}", package.spec]]
    else:
        python = str(target / "bin" / "python")
        steps = [
            [sys.executable, "-m", "venv", str(target)],
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package.spec],
        ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise Skip(f"{package.spec}: install timed out after {INSTALL_SECONDS} s") from None
        if done.returncode != 0:
            raise Skip(f"{package.spec}: {' '.join(step[:3])} failed: {_tail(done.stderr or done.stdout)}")
    if not binary.exists():
        raise Skip(f"{package.spec}: installed, but {binary.name} is missing")
    stamp.write_text(installed, encoding="utf-8")
    return binary


def install_all(agents: Sequence[Agent], cache: Path) -> dict[str, Path | Skip]:
    packages: Final = {agent.package.spec: agent.package for agent in agents}
    results: dict[str, Path | Skip] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {pool.submit(install, package, cache): spec for spec, package in packages.items()}
        for future in concurrent.futures.as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except Skip as skip:
                results[futures[future]] = skip
    return results


# ------------------------------------------------------------------------------------------------------------- turns


def agent_env(place: Place, extra: Mapping[str, str]) -> dict[str, str]:
    """A closed environment: the agent's own HOME, nothing but 127.0.0.1 reachable through any proxy setting, no
    telemetry, no colours; only the proxy key of ours."""
    home: Final = str(place.home)
    path: Final = os.pathsep.join(
        [
            str(place.binary.parent),
            str(Path(shutil.which("node") or "/usr/bin/node").parent),
            "/usr/local/bin",
            "/usr/bin",
            "/bin",
        ]
    )
    env: Final = {
        "PATH": path,
        "HOME": home,
        "USER": os.environ.get("USER", "root"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "TMPDIR": str(place.home / "tmp"),
        "XDG_CONFIG_HOME": f"{home}/.config",
        "XDG_DATA_HOME": f"{home}/.local/share",
        "XDG_CACHE_HOME": f"{home}/.cache",
        "XDG_STATE_HOME": f"{home}/.local/state",
        "DO_NOT_TRACK": "1",
        KEY_ENV: place.key,
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    (place.home / "tmp").mkdir(parents=True, exist_ok=True)
    return {**env, **extra}


def _fake_requests(fake_url: str) -> list[dict[str, object]]:
    reply: Final = httpx.get(f"{fake_url}/_fake/requests", timeout=10).json()
    return [record for record in reply["requests"] if isinstance(record, dict)]


def run_turn(
    agent: Agent, place: Place, env: Mapping[str, str], turn: Turn, fake_url: str, recorder: Recorder, log: Path
) -> TurnResult:
    httpx.post(f"{fake_url}/_fake/reset", timeout=10).raise_for_status()
    recorder.take()
    command: Final = list(agent.command(place, turn))
    started: Final = time.monotonic()
    process: Final = subprocess.Popen(
        command,
        cwd=place.workspace,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=TURN_SECONDS)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate(timeout=30)
        code = None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what the agent left running in its own session
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    result: Final = TurnResult(
        turn, code, stdout, stderr, time.monotonic() - started, _fake_requests(fake_url), recorder.take()
    )
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"\n===== {agent.name}: {' '.join(command[1:])}\n-- exit {code} after {result.seconds:.1f} s\n")
        sink.write(f"-- stdout\n{stdout}\n-- stderr\n{stderr[-20000:]}\n")
        for exchange in result.exchanges:
            sink.write(f"-- {exchange.method} {exchange.path} -> {exchange.status}\n")
            sink.write(f">> {exchange.request_body.decode('utf-8', 'replace')}\n")
            sink.write(f"<< {exchange.response_text()[:4000]}\n")
        sink.write(f"-- fake\n{json.dumps(result.fake, indent=1)[:60000]}\n")
    return result


# ------------------------------------------------------------------------------------------------------------ checks


def _params(record: Mapping[str, object]) -> dict[str, object]:
    body = record.get("body")
    params = body.get("params") if isinstance(body, dict) else None
    return params if isinstance(params, dict) else {}


def _messages(record: Mapping[str, object]) -> list[dict[str, object]]:
    return [m for m in _params(record).get("messages") or [] if isinstance(m, dict)]  # type: ignore[union-attr]


def _parts(message: Mapping[str, object]) -> list[dict[str, object]]:
    content = message.get("content")
    return [part for part in content if isinstance(part, dict)] if isinstance(content, list) else []


def _with_tools(records: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    return [record for record in records if _params(record).get("tools")]


def _paired_result(messages: Sequence[Mapping[str, object]]) -> str | None:
    """The tool call (name) whose result carries SECRET, answered right after the assistant message that made it."""
    for index, message in enumerate(messages):
        if message.get("role") != "tool" or index == 0:
            continue
        calls = {
            str(p.get("toolCallId")): str(p.get("toolName"))
            for p in _parts(messages[index - 1])
            if p.get("type") == "tool-call"
        }
        for part in _parts(message):
            output = part.get("output")
            value = json.dumps(output) if isinstance(output, dict) else ""
            if SECRET in value and str(part.get("toolCallId")) in calls:
                return calls[str(part.get("toolCallId"))]
    return None


def check_plain(turn: TurnResult) -> str:
    failure = turn.failure()
    if failure:
        return f"FAIL: {failure}"
    if not turn.fake:
        return "FAIL: no request reached the fake server"
    if PLAIN_WORD not in turn.stdout:
        return f"FAIL: the answer is not printed; stdout: {_tail(turn.stdout)}"
    return "pass"


def check_read(turn: TurnResult) -> str:
    failure = turn.failure()
    if failure:
        return f"FAIL: {failure}"
    tool = next((name for record in turn.fake if (name := _paired_result(_messages(record)))), None)
    if tool is None:
        names = sorted(
            {
                str(t.get("name"))
                for r in turn.fake
                for t in _params(r).get("tools") or []  # type: ignore[union-attr]
                if isinstance(t, dict)
            }
        )
        return f"FAIL: no tool result with the file's content reached the fake server (tools: {', '.join(names)[:300]})"
    if SECRET not in turn.stdout:
        return f"FAIL: the final answer is not printed; stdout: {_tail(turn.stdout)}"
    return f"pass ({tool})"


def check_reasoning(agent: Agent, turn: TurnResult, follow: TurnResult | None) -> str:
    main: Final = _with_tools(turn.fake)
    if not main:
        return f"FAIL: no request with tools reached the fake server{'; ' + (turn.failure() or '')}"
    efforts: Final = sorted({str(_params(record).get("reasoning_effort")) for record in main})
    if efforts != [agent.effort]:
        return f"FAIL: reasoning_effort on the wire {efforts}, expected ['{agent.effort}']"
    shown: Final = any(text in turn.stdout for text in REASONING_SHOWN)
    history: Final = [
        part
        for record in (follow.fake if follow is not None else [])
        for message in _messages(record)
        if message.get("role") == "assistant"
        for part in _parts(message)
    ]
    kept: Final = any(part.get("type") == "reasoning" for part in history)
    as_text: Final = any(
        part.get("type") == "text" and any(phrase in str(part.get("text")) for phrase in REASONING_SHOWN)
        for part in history
    )
    ways: Final = [way for way, yes in (("shown", shown), ("kept", kept), ("kept as text", as_text)) if yes]
    if not ways:
        return f"FAIL: effort {agent.effort} arrived, but the reasoning was neither shown nor kept in the history"
    return f"pass ({agent.effort}; {', '.join(ways)})"


def check_follow_up(turn: TurnResult) -> str:
    failure = turn.failure()
    if failure:
        return f"FAIL: {failure}"
    last = next((r for r in reversed(turn.fake) if FOLLOW_WORD in json.dumps(_messages(r)[-1:])), None)
    if last is None:
        return "FAIL: the follow-up prompt did not reach the fake server"
    if _paired_result(_messages(last)) is None:
        return "FAIL: the follow-up's history lacks the earlier tool call and its result"
    if FOLLOW_WORD not in turn.stdout:
        return f"FAIL: the answer is not printed; stdout: {_tail(turn.stdout)}"
    return "pass"


def _requests_to(turns: Sequence[TurnResult], path: str) -> list[Exchange]:
    return [e for t in turns for e in t.exchanges if e.method == "POST" and e.path.split("?")[0].endswith(path)]


def _sent_param(turns: Sequence[TurnResult], path: str, name: str) -> str:
    sent: Final = [e for e in _requests_to(turns, path) if name in e.request_json()]
    if not sent:
        return f"FAIL: the agent sent no {name} to {path}"
    bad: Final = [e for e in sent if e.status != 200]
    if bad:
        return f"FAIL: {path} with {name} answered {bad[0].status}: {error_text(bad[0])}"
    return f"pass ({len(sent)} requests with {name} answered 200)"


def why_pi_store(turns: Sequence[TurnResult]) -> str:
    return _sent_param(turns, "/chat/completions", "store")


def why_pi_prompt_cache_key(turns: Sequence[TurnResult]) -> str:
    return _sent_param(turns, "/responses", "prompt_cache_key")


def _sse_events(text: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for line in text.splitlines():
        if line.startswith("data:"):
            with contextlib.suppress(ValueError):
                value = json.loads(line[5:].strip())
                if isinstance(value, dict):
                    events.append(value)
    return events


def why_codex_first_piece(turns: Sequence[TurnResult]) -> str:
    streams: Final = [e for e in _requests_to(turns, "/responses") if e.status == 200]
    if not streams:
        return "FAIL: no streamed /v1/responses answer was recorded"
    for exchange in streams:
        events = _sse_events(exchange.response_text())
        live = "".join(str(e.get("delta")) for e in events if e.get("type") == "response.output_text.delta")
        done = [e for e in events if e.get("type") == "response.completed"]
        if not done:
            return "FAIL: a /v1/responses stream ended without response.completed"
        response = done[-1].get("response")
        output = response.get("output") if isinstance(response, dict) else None
        final = "".join(
            str(c.get("text"))
            for item in output or []
            if isinstance(item, dict) and item.get("type") == "message"
            for c in item.get("content") or []
            if isinstance(c, dict) and c.get("type") == "output_text"
        )
        if live != final:
            return f"FAIL: output_text.delta joined {live[:80]!r} != completed text {final[:80]!r}"
    return f"pass ({len(streams)} streams: deltas join to the completed text)"


def _effort_reached(turns: Sequence[TurnResult], expected: str) -> str | None:
    seen: Final = sorted({str(_params(r).get("reasoning_effort")) for t in turns for r in _with_tools(t.fake)})
    return (
        None if seen == [expected] else f"FAIL: Command Code received reasoning_effort {seen}, expected ['{expected}']"
    )


def why_claude_effort_max(turns: Sequence[TurnResult]) -> str:
    reasoning: Final = [t for t in turns if t.turn.reasoning]
    sent: Final = [
        e
        for e in _requests_to(reasoning, "/v1/messages")
        if (e.request_json().get("output_config") or {}).get("effort") == "max"
    ]  # type: ignore[union-attr]
    if not sent:
        return "FAIL: Claude Code sent no output_config.effort max"
    return _effort_reached(reasoning, "max") or f"pass ({len(sent)} requests with effort max arrived as max)"


def why_hermes_ultra(turns: Sequence[TurnResult]) -> str:
    reasoning: Final = [t for t in turns if t.turn.reasoning]
    sent: Final = [
        e for e in _requests_to(reasoning, "/chat/completions") if "ultra" in e.request_body.decode(errors="replace")
    ]
    if not sent:
        return "FAIL: Hermes sent no ultra reasoning level"
    bad: Final = [e for e in sent if e.status != 200]
    if bad:
        return f"FAIL: answered {bad[0].status}: {error_text(bad[0])}"
    return _effort_reached(reasoning, "max") or f"pass ({len(sent)} requests with ultra arrived as max)"


WHY_CHECKS: Final[dict[str, Callable[[Sequence[TurnResult]], str]]] = {
    "why1-pi-store": why_pi_store,
    "why2-pi-prompt-cache-key": why_pi_prompt_cache_key,
    "why4-codex-first-piece": why_codex_first_piece,
    "why5-claude-effort-max": why_claude_effort_max,
    "why6-hermes-ultra": why_hermes_ultra,
}


# --------------------------------------------------------------------------------------------------------------- run


def run_agent(agent: Agent, binary: Path, run_dir: Path, proxy_url: str, fake_url: str, recorder: Recorder) -> Row:
    row: Final = Row(agent)
    root: Final = run_dir / agent.name.replace("/", "_")
    place: Final = Place(home=root / "home", workspace=root / "work", url=recorder.url, key=PROXY_KEY, binary=binary)
    place.workspace.mkdir(parents=True)
    (place.workspace / NOTES).write_text(f"The secret word is {SECRET}.\n", encoding="utf-8")
    env: Final = agent_env(place, agent.configure(place))
    log: Final = run_dir / f"{agent.name.replace('/', '_')}.log"
    turns: Final = (
        Turn(f"[[fake:agent reply={PLAIN_WORD} burst=100]] Say hello.", reasoning=False, resume=False),
        Turn(
            f"[[fake:agent read={place.workspace / NOTES}]] Read the file {NOTES} and tell me what it says.",
            reasoning=True,
            resume=False,
        ),
        Turn(f"[[fake:agent reply={FOLLOW_WORD}]] Thanks. Anything else?", reasoning=True, resume=True),
    )
    results: list[TurnResult] = []
    for turn in turns:
        if results and results[-1].returncode is None:
            break  # an agent that hung once would hang again: its other turns are not run
        results.append(run_turn(agent, place, env, turn, fake_url, recorder, log))
    plain, read, follow = (*results, None, None)[:3]
    skipped: Final = "FAIL: not run after a turn that timed out"
    row.cells = {
        "plain": check_plain(plain) if plain else skipped,
        "read": check_read(read) if read else skipped,
        "reasoning": check_reasoning(agent, read, follow) if read else skipped,
        "follow-up": check_follow_up(follow) if follow else skipped,
    }
    done: Final = [turn for turn in (plain, read, follow) if turn is not None]
    row.named = {name: WHY_CHECKS[name](done) for name in agent.why}
    row.notes.append(f"{sum(turn.seconds for turn in done):.0f} s")
    return row


def _short(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 1] + "…"


def print_table(rows: Sequence[Row], out: TextIO) -> None:
    name_width: Final = max(len(row.agent.name) for row in rows) + 2
    header: Final = f"{'agent'.ljust(name_width)}{'version'.ljust(10)}" + "".join(s.ljust(12) for s in SCENARIOS)
    print(header, file=out)
    print("-" * len(header), file=out)
    for row in rows:
        cells = "".join(row.cells.get(s, "?").split(" ", 1)[0].split(":")[0].ljust(12) for s in SCENARIOS)
        print(f"{row.agent.name.ljust(name_width)}{row.agent.package.version.ljust(10)}{cells}", file=out)
    print("\nnamed checks (issue 12, Why):", file=out)
    for row in rows:
        for name, cell in row.named.items():
            print(f"  {name.ljust(28)}{row.agent.name.ljust(name_width)}{_short(cell, 160)}", file=out)
    details: Final = [(row, s, c) for row in rows for s, c in row.cells.items() if c not in ("pass", "?")]
    if details:
        print("\ndetails and reasons:", file=out)
        for row, scenario, cell in details:
            print(f"  {row.agent.name} {scenario}: {_short(cell, 600)}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(prog="scripts/agents", description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="run the agents whose name contains this")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE))
    args: Final = parser.parse_args(argv)
    agents: Final = [a for a in AGENTS if not args.only or any(part in a.name for part in args.only)]
    started: Final = time.monotonic()
    args.cache.mkdir(parents=True, exist_ok=True)
    installed: Final = install_all(agents, args.cache)
    print(f"agents: installed in {time.monotonic() - started:.0f} s into {args.cache}", flush=True)
    for old_run in sorted(args.cache.glob("run-*"), key=lambda path: path.stat().st_mtime)[:-KEPT_RUNS]:
        shutil.rmtree(old_run, ignore_errors=True)
    run_dir: Final = Path(tempfile.mkdtemp(prefix="run-", dir=args.cache))
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        fake = start_server(stack, "litellm_commandcode.fake_server", [], run_dir / "fake.log")
        env = proxy_env(
            COMMANDCODE_API_KEY=CC_KEY,
            COMMANDCODE_API_BASE=fake.url,
            LITELLM_MASTER_KEY=PROXY_KEY,
            PYTHONPATH=str(ROOT),
        )
        proxy = stack.enter_context(running_proxy(ROOT / "examples" / "config.yaml", run_dir / "proxy.log", env))
        recorder = stack.enter_context(recording(proxy.url))
        deadline = time.monotonic() + MATRIX_SECONDS
        for agent in agents:
            found = installed[agent.package.spec]
            if time.monotonic() > deadline:
                spent = f"FAIL: not run: the matrix's {MATRIX_SECONDS // 60}-minute budget was spent"
                row = Row(agent, cells=dict.fromkeys(SCENARIOS, spent), named=dict.fromkeys(agent.why, spent))
            elif isinstance(found, Skip):
                row = Row(
                    agent,
                    cells=dict.fromkeys(SCENARIOS, f"SKIP: {found}"),
                    named=dict.fromkeys(agent.why, f"SKIP: {found}"),
                )
            else:
                row = run_agent(agent, found, run_dir, proxy.url, fake.url, recorder)
            rows.append(row)
            summary = ", ".join(f"{k} {v.split(' ', 1)[0]}" for k, v in row.cells.items())
            print(f"agents: {agent.name}: {summary} ({'; '.join(row.notes)})", flush=True)
    print(file=sys.stdout)
    print_table(rows, sys.stdout)
    failed: Final = [c for row in rows for c in (*row.cells.values(), *row.named.values()) if c.startswith("FAIL")]
    print(f"\nagents: {len(failed)} FAIL in {time.monotonic() - started:.0f} s; logs in {run_dir}")
    return 1 if failed else 0
