"""
Constants, model facts and the error class shared by the Command Code provider.

Command Code (https://commandcode.ai) serves many coding models behind `POST /alpha/generate`, a
non-OpenAI protocol: a nested request envelope, AI-SDK-style messages and a newline-delimited JSON event stream.
"""

import types
from collections.abc import Mapping
from typing import Final, NamedTuple

import httpx

from litellm.llms.base_llm.chat.transformation import BaseLLMException

COMMANDCODE_API_BASE: Final[str] = "https://api.commandcode.ai"
COMMANDCODE_GENERATE_PATH: Final[str] = "/alpha/generate"
COMMANDCODE_PROVIDER_API_DOCS: Final[str] = "https://commandcode.ai/docs/provider-api"
COMMANDCODE_API_KEY_ENV_VARS: Final[tuple[str, ...]] = ("COMMANDCODE_API_KEY", "COMMAND_CODE_API_KEY")
COMMANDCODE_API_BASE_ENV_VAR: Final[str] = "COMMANDCODE_API_BASE"
COMMANDCODE_VERSION_ENV_VAR: Final[str] = "COMMANDCODE_VERSION"
# The server rejects clients older than a moving minimum; 1.64.0 is the newest official CLI known (November 2026).
COMMANDCODE_DEFAULT_VERSION: Final[str] = "1.64.0"
COMMANDCODE_DEFAULT_MAX_TOKENS: Final[int] = 64000
COMMANDCODE_MAX_TOKENS_LIMIT: Final[int] = 200000
COMMANDCODE_DEFAULT_CONTEXT_WINDOW: Final[int] = 200000
# Largest image accepted, decoded: 5 MiB, the per-image limit of Anthropic's API, the strictest of the providers behind
# Command Code; a larger image is refused with a 400 before anything is sent.
COMMANDCODE_MAX_IMAGE_BYTES: Final[int] = 5 * 1024 * 1024
COMMANDCODE_REASONING_EFFORTS: Final[tuple[str, ...]] = ("low", "medium", "high", "xhigh", "max")
COMMANDCODE_REASONING_DISABLED: Final[frozenset[str]] = frozenset(("none",))
# Level names agents use besides Command Code's own, as the level of Command Code's scale they round to: `minimal`
# (OpenAI, Pi) lies below `low`, `ultra` (Hermes) and `maximum` above `max`.
COMMANDCODE_REASONING_ALIASES: Final[Mapping[str, str]] = types.MappingProxyType(
    {"minimal": "low", "ultra": "max", "maximum": "max"}
)
# Retired ids the official CLI still accepts and rewrites before sending.
COMMANDCODE_RETIRED_MODEL_IDS: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "claude-haiku-4-5": "claude-haiku-4-5-20251001",
        "claude-opus-4-6": "claude-opus-4-7",
        "claude-sonnet-4-5-20250929": "claude-sonnet-4-6",
    }
)


class CommandCodeModel(NamedTuple):
    vision: bool = False
    reasoning_efforts: tuple[str, ...] = ()
    max_output_tokens: int | None = None


# Facts from the model catalog of the official CLI 1.64.0; max_output_tokens is set only where the catalog states an
# explicit cap. The prices live in model_prices_and_context_window.json.
COMMANDCODE_MODELS: Final[Mapping[str, CommandCodeModel]] = types.MappingProxyType(
    {
        "claude-sonnet-5": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-sonnet-4-6": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-fable-5-1": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-fable-5": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-opus-5-5": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-opus-5": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-opus-4-8": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-opus-4-7": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "claude-haiku-4-5-20251001": CommandCodeModel(vision=True),
        "gpt-6-astra": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "gpt-6-sol": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "gpt-6-luna": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "gpt-5.6-sol": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "gpt-5.6-terra": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "gpt-5.6-luna": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")),
        "gpt-5.5": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")),
        "gpt-5.4": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")),
        "gpt-5.3-codex": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")),
        "gpt-5.4-mini": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "MiniMaxAI/MiniMax-M3-Free": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "deepseek/deepseek-v4-pro": CommandCodeModel(reasoning_efforts=("high", "max")),
        "deepseek/deepseek-v4-flash": CommandCodeModel(reasoning_efforts=("high", "max")),
        "deepseek/deepseek-v4-flash-vision-exp": CommandCodeModel(vision=True, reasoning_efforts=("high", "max")),
        "deepseek/deepseek-v4-flash-fast": CommandCodeModel(reasoning_efforts=("low", "high", "max")),
        "deepseek/deepseek-v4.1-flash": CommandCodeModel(vision=True, reasoning_efforts=("low", "high", "max")),
        "moonshotai/Kimi-K3": CommandCodeModel(vision=True, reasoning_efforts=("low", "high", "max")),
        "moonshotai/Kimi-K2.7-Code": CommandCodeModel(vision=True),
        "moonshotai/Kimi-K2.7-Code-Highspeed": CommandCodeModel(vision=True),
        "moonshotai/Kimi-K2.6": CommandCodeModel(vision=True),
        "moonshotai/Kimi-K2.5": CommandCodeModel(vision=True),
        "z-ai/glm-5.3-flash": CommandCodeModel(
            vision=True, reasoning_efforts=("low", "high", "max"), max_output_tokens=131072
        ),
        "z-ai/glm-5.3-flashx": CommandCodeModel(
            vision=True, reasoning_efforts=("low", "high", "max"), max_output_tokens=131072
        ),
        "zai-org/GLM-5.3": CommandCodeModel(reasoning_efforts=("low", "high", "max")),
        "zai-org/GLM-5.2": CommandCodeModel(reasoning_efforts=("high", "max")),
        "zai-org/GLM-5.2-Fast": CommandCodeModel(),
        "zai-org/GLM-5.1": CommandCodeModel(),
        "zai-org/GLM-5": CommandCodeModel(),
        "MiniMaxAI/MiniMax-M3": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "MiniMaxAI/MiniMax-M2.7": CommandCodeModel(),
        "minimax/minimax-m3-free": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "minimax/minimax-m2.7-free": CommandCodeModel(),
        "MiniMaxAI/MiniMax-M2.5": CommandCodeModel(),
        "xiaomi/mimo-v2.6-pro": CommandCodeModel(vision=True),
        "xiaomi/mimo-v2.6-pro-ultraspeed": CommandCodeModel(vision=True),
        "xiaomi/mimo-v2.6-flash": CommandCodeModel(vision=True),
        "xiaomi/mimo-v2.5-pro": CommandCodeModel(),
        "xiaomi/mimo-v2.5": CommandCodeModel(vision=True),
        "Qwen/Qwen3.8-Omni-Flash": CommandCodeModel(
            vision=True, reasoning_efforts=("low", "medium", "xhigh"), max_output_tokens=131072
        ),
        "Qwen/Qwen3.8-Max-0902": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "xhigh")),
        "Qwen/Qwen3.8-Max": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "xhigh")),
        "Qwen/Qwen3.8-27B": CommandCodeModel(
            vision=True, reasoning_efforts=("low", "medium", "xhigh"), max_output_tokens=32768
        ),
        "Qwen/Qwen3.8-Flash": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "xhigh")),
        "Qwen/Qwen3.7-Max": CommandCodeModel(),
        "Qwen/Qwen3.7-Plus": CommandCodeModel(vision=True),
        "Qwen/Qwen3.7-Flash": CommandCodeModel(vision=True),
        "Qwen/Qwen3.6-Max-Preview": CommandCodeModel(),
        "Qwen/Qwen3.6-Plus": CommandCodeModel(vision=True),
        "meituan/LongCat-2.0": CommandCodeModel(),
        "meituan/LongCat-2.0:free": CommandCodeModel(),
        "stepfun/Step-5-Preview": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "stepfun/Step-3.7-Flash": CommandCodeModel(vision=True),
        "stepfun/Step-3.5-Flash": CommandCodeModel(),
        "tencent/Hy3": CommandCodeModel(),
        "tencent/hy3-paid": CommandCodeModel(),
        "tencent/hy4-preview": CommandCodeModel(reasoning_efforts=("low", "medium", "high")),
        "google/gemini-3.8-flash": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "google/gemini-3.7-flash": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "google/gemini-3.6-flash": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "google/gemini-3.5-flash": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "google/gemini-3.5-flash-lite": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "google/gemini-3.1-flash-lite": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "sakana/fugu-ultra": CommandCodeModel(vision=True, reasoning_efforts=("high", "xhigh")),
        "nvidia/nemotron-3-ultra-550b-a55b": CommandCodeModel(),
        "thinkingmachines/inkling": CommandCodeModel(vision=True),
        "thinkingmachines/inkling-small": CommandCodeModel(vision=True),
        "poolside/laguna-s-2.1-free": CommandCodeModel(max_output_tokens=32768),
        "inclusionai/ling-3.0-flash-free": CommandCodeModel(max_output_tokens=32768),
        "inclusionai/ling-3.0-flash-sante:free": CommandCodeModel(max_output_tokens=32768),
        "meta/muse-spark-1.1": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")),
        "meta/muse-spark-1.2": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")),
        "meta/muse-spark-1.2-contributor": CommandCodeModel(
            vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")
        ),
        "meta/muse-spark-1.3": CommandCodeModel(
            vision=True, reasoning_efforts=("low", "medium", "high", "xhigh", "max")
        ),
        "meta/muse-spark-1.3-contributor": CommandCodeModel(
            vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")
        ),
        "xai/grok-4.5": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high")),
        "xai/grok-4.6": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")),
        "xai/grok-4.7": CommandCodeModel(vision=True, reasoning_efforts=("low", "medium", "high", "xhigh")),
    }
)


class CommandCodeError(BaseLLMException):
    def __init__(
        self,
        status_code: int,
        message: str,
        headers: dict[str, str] | httpx.Headers | None = None,  # mutable-ok: BaseLLMException header contract
        body: dict[str, object] | None = None,  # mutable-ok: BaseLLMException body contract
    ) -> None:
        super().__init__(status_code=status_code, message=message, headers=headers, body=body)
