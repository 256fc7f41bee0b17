"""The agents of the matrix: each one's pinned package, its configuration (files and environment) pointing at the
proxy, and its headless command for a turn. Every configuration here is the one docs/providers/commandcode.md shows."""

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
KEY_ENV: Final = "LITELLM_API_KEY"


@dataclass(frozen=True)
class Package:
    registry: str  # "npm" or "pypi"
    name: str
    version: str
    binary: str
    # npm resolves dependencies as of this date (`--before`): a few days after the release, so the install is the same
    # every time and never asks for a dependency version the registry's mirrors do not all have yet.
    before: str = ""

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}" if self.registry == "npm" else f"{self.name}=={self.version}"

    @property
    def slug(self) -> str:
        return f"{self.name.strip('@').replace('/', '_')}_{self.version}"


@dataclass(frozen=True)
class Place:
    """Where one agent runs: its own HOME (config, sessions) and workspace, the proxy URL and key it talks to."""

    home: Path
    workspace: Path
    url: str
    key: str
    binary: Path


@dataclass(frozen=True)
class Turn:
    prompt: str
    reasoning: bool
    resume: bool


@dataclass(frozen=True)
class Agent:
    name: str
    package: Package
    configure: Callable[[Place], dict[str, str]]  # writes the config files, returns the extra environment
    command: Callable[[Place, Turn], Sequence[str]]
    effort: str  # the reasoning_effort the fake server must receive when reasoning is switched on
    why: Sequence[str] = field(default_factory=tuple)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _json(path: Path, value: object) -> None:
    _write(path, json.dumps(value, indent=2) + "\n")


PI: Final = Package("npm", "@mariozechner/pi-coding-agent", "0.73.1", "pi", "2026-07-20")


def _pi(api: str) -> Callable[[Place], dict[str, str]]:
    def configure(place: Place) -> dict[str, str]:
        agent_dir: Final = place.home / ".pi" / "agent"
        base_url: Final = place.url if api == "anthropic-messages" else f"{place.url}/v1"
        provider: Final = {
            "baseUrl": base_url,
            "api": api,
            "apiKey": KEY_ENV,
            "models": [{"id": MODEL, "name": "DeepSeek V4 Flash (Command Code)", "reasoning": True}],
        }
        _json(agent_dir / "models.json", {"providers": {"litellm": provider}})
        _json(agent_dir / "settings.json", {"enableInstallTelemetry": False, "quietStartup": True})
        return {"PI_CODING_AGENT_DIR": str(agent_dir), "PI_OFFLINE": "1", "PI_TELEMETRY": "0"}

    return configure


def _pi_command(place: Place, turn: Turn) -> list[str]:
    command: Final = [str(place.binary), "-p", "--provider", "litellm", "--model", MODEL]
    if turn.reasoning:
        command += ["--thinking", "high"]
    if turn.resume:
        command.append("--continue")
    return [*command, turn.prompt]


AGENTS: tuple[Agent, ...] = (
    Agent("pi/openai-completions", PI, _pi("openai-completions"), _pi_command, "high", ("why1-pi-store",)),
    Agent("pi/openai-responses", PI, _pi("openai-responses"), _pi_command, "high", ("why2-pi-prompt-cache-key",)),
    Agent("pi/anthropic-messages", PI, _pi("anthropic-messages"), _pi_command, "high"),
)


CLAUDE: Final = Package("npm", "@anthropic-ai/claude-code", "2.1.332", "claude", "2026-11-27")


def _claude(place: Place) -> dict[str, str]:
    config_dir: Final = place.home / ".claude"
    _json(config_dir / "settings.json", {"permissions": {"allow": ["Read", "Bash(cat:*)"]}})
    return {
        "CLAUDE_CONFIG_DIR": str(config_dir),
        "ANTHROPIC_BASE_URL": place.url,
        "ANTHROPIC_AUTH_TOKEN": place.key,
        "ANTHROPIC_MODEL": MODEL,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": MODEL,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": MODEL,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": MODEL,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }


def _claude_command(place: Place, turn: Turn) -> list[str]:
    command: Final = [str(place.binary), "-p", "--model", MODEL, "--allowedTools=Read"]
    if turn.reasoning:
        command += ["--effort", "max"]
    if turn.resume:
        command.append("--continue")
    return [*command, turn.prompt]


AGENTS += (Agent("claude-code", CLAUDE, _claude, _claude_command, "max", ("why5-claude-effort-max",)),)


CODEX: Final = Package("npm", "@openai/codex", "0.169.1", "codex", "2026-11-20")


def _codex(place: Place) -> dict[str, str]:
    codex_home: Final = place.home / ".codex"
    _write(
        codex_home / "config.toml",
        f"""model = "{MODEL}"
model_provider = "litellm"
check_for_update_on_startup = false

[model_providers.litellm]
name = "LiteLLM"
base_url = "{place.url}/v1"
env_key = "{KEY_ENV}"
wire_api = "responses"

[analytics]
enabled = false
""",
    )
    return {"CODEX_HOME": str(codex_home)}


def _codex_command(place: Place, turn: Turn) -> list[str]:
    command: Final = [str(place.binary), "exec", "--skip-git-repo-check"]
    if turn.reasoning:
        command += ["-c", 'model_reasoning_effort="high"']
    if turn.resume:
        command += ["resume", "--last"]
    return [*command, turn.prompt]


AGENTS += (Agent("codex", CODEX, _codex, _codex_command, "high", ("why4-codex-first-piece",)),)


OPENCODE: Final = Package("npm", "opencode-ai", "1.18.33", "opencode", "2026-10-01")
KILO: Final = Package("npm", "@kilocode/cli", "7.7.7", "kilo", "2026-09-26")
OPENCODE_DISABLED: Final = (
    "AUTOUPDATE",
    "MODELS_FETCH",
    "LSP_DOWNLOAD",
    "DEFAULT_PLUGINS",
    "SHARE",
    "CLAUDE_CODE",
    "EXTERNAL_SKILLS",
    "PROJECT_CONFIG",
)


def opencode_config(url: str, schema: str) -> dict[str, object]:
    """The provider entry for OpenCode and Kilo (a fork of it): LiteLLM as an OpenAI-compatible provider."""
    model: Final = {"name": "DeepSeek V4 Flash (Command Code)", "reasoning": True, "tool_call": True}
    provider: Final = {
        "npm": "@ai-sdk/openai-compatible",
        "name": "LiteLLM",
        "options": {"baseURL": f"{url}/v1", "apiKey": f"{{env:{KEY_ENV}}}"},
        "models": {MODEL: model},
    }
    return {
        "$schema": schema,
        "provider": {"litellm": provider},
        "model": f"litellm/{MODEL}",
        "small_model": f"litellm/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
        "permission": {"read": "allow", "bash": "allow", "external_directory": "allow"},
    }


def _opencode_like(prefix: str, file_name: str, schema: str) -> Callable[[Place], dict[str, str]]:
    def configure(place: Place) -> dict[str, str]:
        path: Final = place.home / ".config" / file_name
        _json(path, opencode_config(place.url, schema))
        env: Final = {f"{prefix}_CONFIG": str(path)}
        env.update({f"{prefix}_DISABLE_{name}": "1" for name in OPENCODE_DISABLED})
        if prefix == "KILO":
            env["KILO_TELEMETRY_LEVEL"] = "off"  # Kilo's PostHog; OpenCode sends none
        return env

    return configure


def _opencode_command(place: Place, turn: Turn) -> list[str]:
    command: Final = [str(place.binary), "run", "--model", f"litellm/{MODEL}"]
    if turn.reasoning:
        command += ["--variant", "high", "--thinking"]
    if turn.resume:
        command.append("--continue")
    return [*command, turn.prompt]


AGENTS += (
    Agent(
        "opencode",
        OPENCODE,
        _opencode_like("OPENCODE", "opencode/opencode.json", "https://opencode.ai/config.json"),
        _opencode_command,
        "high",
    ),
    Agent(
        "kilo",
        KILO,
        _opencode_like("KILO", "kilo/kilo.json", "https://app.kilo.ai/config.json"),
        _opencode_command,
        "high",
    ),
)


CLINE: Final = Package("npm", "cline", "3.0.65", "cline", "2026-09-30")


def _cline(place: Place) -> dict[str, str]:
    settings: Final = {"provider": "litellm", "apiKey": place.key, "model": MODEL, "baseUrl": f"{place.url}/v1"}
    providers: Final = {
        "version": 1,
        "lastUsedProvider": "litellm",
        "modes": {},
        "providers": {
            "litellm": {"settings": settings, "updatedAt": "2026-01-01T00:00:00.000Z", "tokenSource": "manual"}
        },
    }
    _json(place.home / ".cline" / "data" / "settings" / "providers.json", providers)
    # ACP mode (the follow-up turn) asks to sign in to Cline unless CLINE_API_KEY is set, and takes its provider from
    # CLINE_PROVIDER and its model from CLINE_MODEL; the base URL comes from the settings above. Cline's default
    # backend ("auto") may start a detached hub daemon on the fixed port 25463, which outlives the run and, when it
    # serves the follow-up, reloads the session on the provider's default model (gpt-5.4) and ignores
    # session/set_model: seen once in CI. The local backend keeps every turn in the agent's own process.
    return {
        "CLINE_LOG_ENABLED": "0",
        "CLINE_PROVIDER": "litellm",
        "CLINE_MODEL": MODEL,
        "CLINE_API_KEY": place.key,
        "CLINE_SESSION_BACKEND_MODE": "local",
    }


def _cline_command(place: Place, turn: Turn) -> list[str]:
    model: Final = ["-P", "litellm", "-m", MODEL, *(["--thinking", "high"] if turn.reasoning else [])]
    if turn.resume:
        # `cline --id` opens the interactive TUI and drops the prompt; ACP's session/load continues a session headless.
        acp: Final = [sys.executable, str(Path(__file__).with_name("acp.py")), cline_session(place), MODEL, turn.prompt]
        return [*acp, "--", str(place.binary), "--acp", *model]
    return [str(place.binary), "--json", *model, turn.prompt]


def cline_session(place: Place) -> str:
    """The newest session id: Cline names each session's folder by it and prints it nowhere in --json mode."""
    sessions: Final = sorted((place.home / ".cline" / "data" / "sessions").glob("*"))
    return sessions[-1].name if sessions else "no-session"


AGENTS += (Agent("cline", CLINE, _cline, _cline_command, "high"),)


HERMES: Final = Package("pypi", "hermes-agent", "0.19.0", "hermes")


def hermes_config(url: str, key: str, effort: str) -> str:
    return f"""model:
  provider: custom
  default: {MODEL}
  base_url: {url}/v1
  api_key: {key}
agent:
  reasoning_effort: "{effort}"
"""


def _hermes(place: Place) -> dict[str, str]:
    return {"HERMES_HOME": str(place.home / ".hermes")}


def _hermes_command(place: Place, turn: Turn) -> list[str]:
    # Hermes has no command-line flag for its reasoning level: the turn's level goes into config.yaml.
    _write(
        place.home / ".hermes" / "config.yaml", hermes_config(place.url, place.key, "ultra" if turn.reasoning else "")
    )
    command: Final = [str(place.binary), "chat", "-Q", "--yolo", "--ignore-rules", "-q", turn.prompt]
    if turn.resume:
        command.append("--continue")
    return command


AGENTS += (Agent("hermes", HERMES, _hermes, _hermes_command, "max", ("why6-hermes-ultra",)),)
