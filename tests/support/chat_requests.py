"""Chat requests in OpenAI's format that several suites send: a one-tool definition and a multi-turn conversation
under a system prompt (long enough for the fake to report cached tokens)."""

from typing import Final

from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

WEATHER_TOOL: Final[ChatCompletionToolParam] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CONVERSATION: Final[list[ChatCompletionMessageParam]] = [
    {"role": "system", "content": "You are a senior Python reviewer."},
    {
        "role": "user",
        "content": (
            "I maintain a Python service that talks to several model providers. Explain, step by step, how to add a "
            "retry with exponential backoff around one HTTP call, which errors deserve a retry and which do not, and "
            "how to keep the total waiting time bounded so that a caller never hangs."
        ),
    },
    {"role": "assistant", "content": "Wrap the call in a loop with a maximum number of attempts."},
    {"role": "user", "content": "And which status codes should be retried?"},
]
