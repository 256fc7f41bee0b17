"""What the fake Command Code server's answer implies for a caller: the token counts LiteLLM must report for it."""

from collections.abc import Mapping
from typing import Final


def number(mapping: object, *path: str) -> int:
    value = mapping
    for key in path:
        assert isinstance(value, dict)
        value = value[key]
    assert isinstance(value, int)
    return value


def expected_tokens(answer: Mapping[str, object]) -> dict[str, int]:
    """The OpenAI usage numbers of `expected_answer(...)`'s wire usage (cached tokens are inside the input tokens)."""
    wire: Final = answer["usage"]
    return {
        "prompt_tokens": number(wire, "inputTokens"),
        "completion_tokens": number(wire, "outputTokens"),
        "total_tokens": number(wire, "inputTokens") + number(wire, "outputTokens"),
        "cached_tokens": number(wire, "inputTokenDetails", "cacheReadTokens"),
        "reasoning_tokens": number(wire, "outputTokenDetails", "reasoningTokens"),
    }
