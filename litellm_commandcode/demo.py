"""A conversation with Command Code through a running LiteLLM proxy, driven by the `openai` SDK.

    python -m litellm_commandcode.demo --base-url http://127.0.0.1:4000/v1

It shows (1) a streamed answer with reasoning (`reasoning_effort="high"`, usage and cost in the last chunk) and
(2) a tool-call round trip (`get_weather`) with non-streaming calls, whose cost comes from the
`x-litellm-response-cost` header. The proxy key is read from LITELLM_MASTER_KEY (or OPENAI_API_KEY) and never printed.
`scripts/demo` starts the fake Command Code server and the proxy, then runs this.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TextIO, cast

import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCall,
    ChatCompletionToolParam,
)
from openai.types.completion_usage import CompletionUsage

DEFAULT_BASE_URL: Final = "http://127.0.0.1:4000/v1"
DEFAULT_MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
DEFAULT_TIMEOUT_SECONDS: Final = 60.0
KEY_ENV_VARS: Final = ("LITELLM_MASTER_KEY", "OPENAI_API_KEY")
COST_HEADER: Final = "x-litellm-response-cost"
NEWLINE: Final = "\n"
STREAM_QUESTION: Final = "In two sentences: why do coding agents stream their answers instead of waiting for them?"
TOOL_QUESTION: Final = (
    "I am packing for a walk along the Seine this afternoon and want to know whether to take an umbrella. "
    "What is the weather in Paris right now? Use the get_weather tool, then answer in one sentence."
)
WEATHER_TOOL: Final[ChatCompletionToolParam] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["city"],
        },
    },
}


class DemoError(Exception):
    """Something the demo expected did not happen."""


@dataclass(frozen=True)
class StreamedAnswer:
    reasoning: str
    answer: str
    usage: CompletionUsage | None


@dataclass(frozen=True)
class Call:
    completion: ChatCompletion
    cost: str | None


def _extra(value: object, name: str) -> object:
    """A field LiteLLM adds beyond the OpenAI schema (`reasoning_content`, `usage.cost`)."""
    return getattr(value, name, None)


def format_cost(cost: object) -> str:
    if isinstance(cost, bool) or not isinstance(cost, int | float | str | Decimal):
        return "unknown"
    try:
        return f"${format(Decimal(str(cost)).normalize(), 'f')}"
    except ArithmeticError:
        return "unknown"


def indented(text: str) -> str:
    return text.replace(NEWLINE, f"{NEWLINE}    ")


def describe_usage(usage: CompletionUsage) -> str:
    cached: Final = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    reasoning: Final = usage.completion_tokens_details.reasoning_tokens if usage.completion_tokens_details else None
    return (
        f"tokens: prompt {usage.prompt_tokens} (cached {cached or 0}), "
        f"completion {usage.completion_tokens} (reasoning {reasoning or 0}), total {usage.total_tokens}"
    )


class _StreamPrinter:
    """Prints reasoning, then the answer, as the deltas arrive."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.section = ""

    def write(self, section: str, text: str) -> None:
        if section != self.section:
            self.out.write(f"{NEWLINE if self.section else ''}  [{section}] ")
            self.section = section
        self.out.write(indented(text))
        self.out.flush()

    def end(self) -> None:
        if self.section:
            self.out.write("\n")


def _read_stream(chunks: openai.Stream[ChatCompletionChunk], printer: _StreamPrinter) -> StreamedAnswer:
    reasoning: Final[list[str]] = []
    answer: Final[list[str]] = []
    usage: CompletionUsage | None = None
    for chunk in chunks:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            thought = _extra(choice.delta, "reasoning_content")
            if isinstance(thought, str) and thought:
                reasoning.append(thought)
                printer.write("reasoning", thought)
            if choice.delta.content:
                answer.append(choice.delta.content)
                printer.write("answer", choice.delta.content)
    printer.end()
    return StreamedAnswer(reasoning="".join(reasoning), answer="".join(answer), usage=usage)


def streamed_answer(client: openai.OpenAI, model: str, out: TextIO) -> StreamedAnswer:
    out.write(f"\n== 1. Streamed answer with reasoning (reasoning_effort=high)\n  [user] {STREAM_QUESTION}\n")
    chunks: Final = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": STREAM_QUESTION}],
        reasoning_effort="high",
        stream=True,
        stream_options={"include_usage": True},
    )
    with chunks:
        result: Final = _read_stream(chunks, _StreamPrinter(out))
    if not result.answer:
        raise DemoError("the stream carried no answer text")
    if not result.reasoning:
        out.write("  (the model sent no reasoning)\n")
    if result.usage is None:
        raise DemoError("the stream ended without the usage chunk that stream_options.include_usage asks for")
    cost: Final = _extra(result.usage, "cost")
    if cost is None:
        raise DemoError("the usage chunk carries no cost (usage.cost)")
    out.write(f"  {describe_usage(result.usage)}\n  cost: {format_cost(cost)} (usage.cost)\n")
    return result


def _call(client: openai.OpenAI, model: str, messages: Sequence[ChatCompletionMessageParam]) -> Call:
    raw: Final = client.chat.completions.with_raw_response.create(
        model=model, messages=list(messages), tools=[WEATHER_TOOL]
    )
    return Call(completion=raw.parse(), cost=raw.headers.get(COST_HEADER))


def _report_call(call: Call, out: TextIO) -> None:
    usage: Final = call.completion.usage
    if usage is None:
        raise DemoError("the response carries no usage")
    if call.cost is None:
        raise DemoError(f"the response has no {COST_HEADER} header")
    out.write(f"  {describe_usage(usage)}\n  cost: {format_cost(call.cost)} ({COST_HEADER})\n")


def get_weather(city: str) -> dict[str, object]:
    """The demo's local tool: a fixed forecast, so that the conversation is reproducible."""
    return {"city": city, "temperature_c": 18, "conditions": "light rain", "rain_probability": 0.7}


def _run_tool(tool_call: ChatCompletionMessageToolCall) -> str:
    if tool_call.function.name != WEATHER_TOOL["function"]["name"]:
        raise DemoError(f"the model called an unknown tool {tool_call.function.name!r}")
    try:
        arguments = json.loads(tool_call.function.arguments or "{}")
    except json.JSONDecodeError as error:
        raise DemoError(f"the tool arguments are not JSON: {tool_call.function.arguments!r}") from error
    city: Final = arguments.get("city") if isinstance(arguments, dict) else None
    if not isinstance(city, str) or not city:
        raise DemoError(f"the tool call has no city: {tool_call.function.arguments!r}")
    return json.dumps(get_weather(city))


def _only_tool_call(message: ChatCompletionMessage) -> ChatCompletionMessageToolCall:
    calls: Final = [call for call in message.tool_calls or () if isinstance(call, ChatCompletionMessageToolCall)]
    if len(calls) != 1:
        raise DemoError(f"expected one get_weather call, got {len(calls)} (answer: {message.content!r:.200})")
    return calls[0]


def _assistant_turn(
    message: ChatCompletionMessage, tool_call: ChatCompletionMessageToolCall
) -> ChatCompletionMessageParam:
    """The assistant's tool-call turn, sent back with its reasoning: reasoning models expect it in tool loops."""
    turn: Final[dict[str, object]] = {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": tool_call.id,
                "type": "function",
                "function": {"name": tool_call.function.name, "arguments": tool_call.function.arguments},
            }
        ],
    }
    reasoning: Final = _extra(message, "reasoning_content")
    with_reasoning: Final = (
        {**turn, "reasoning_content": reasoning} if isinstance(reasoning, str) and reasoning else turn
    )
    return cast(ChatCompletionMessageParam, with_reasoning)


def tool_round_trip(client: openai.OpenAI, model: str, out: TextIO) -> tuple[Call, Call]:
    out.write(f"\n== 2. Tool call round trip (get_weather, not streamed)\n  [user] {TOOL_QUESTION}\n")
    question: Final[ChatCompletionMessageParam] = {"role": "user", "content": TOOL_QUESTION}
    first: Final = _call(client, model, [question])
    message: Final = first.completion.choices[0].message
    tool_call: Final = _only_tool_call(message)
    out.write(
        f"  [call 1] finish_reason={first.completion.choices[0].finish_reason}: the model calls "
        f"{tool_call.function.name}({tool_call.function.arguments}) id={tool_call.id}\n"
    )
    _report_call(first, out)
    result: Final = _run_tool(tool_call)
    out.write(f"  [tool] get_weather -> {result}\n")
    answer_turn: Final = _assistant_turn(message, tool_call)
    tool_turn: Final[ChatCompletionMessageParam] = {"role": "tool", "tool_call_id": tool_call.id, "content": result}
    second: Final = _call(client, model, [question, answer_turn, tool_turn])
    final: Final = second.completion.choices[0].message.content
    if not final:
        raise DemoError("the model gave no final answer after the tool result")
    out.write(f"  [call 2] finish_reason={second.completion.choices[0].finish_reason}\n  [answer] {indented(final)}\n")
    _report_call(second, out)
    return first, second


def _total_cost(streamed: StreamedAnswer, calls: Sequence[Call]) -> str:
    costs: Final = [_extra(streamed.usage, "cost"), *(call.cost for call in calls)]
    try:
        return format_cost(sum((Decimal(str(cost)) for cost in costs), Decimal(0)))
    except ArithmeticError:
        return "unknown"


def run(base_url: str, api_key: str, model: str, timeout: float, out: TextIO) -> None:
    client: Final = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
    out.write(f"Command Code through the LiteLLM proxy at {base_url}, model {model}\n")
    streamed: Final = streamed_answer(client, model, out)
    calls: Final = tool_round_trip(client, model, out)
    out.write(f"\n== Total cost of the 3 calls: {_total_cost(streamed, calls)}\n")


def _api_key() -> str:
    key: Final = next((value for name in KEY_ENV_VARS if (value := os.environ.get(name))), None)
    if key is None:
        raise DemoError(f"set {' or '.join(KEY_ENV_VARS)} to the proxy's key")
    return key


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser: Final = argparse.ArgumentParser(prog="python -m litellm_commandcode.demo", description=__doc__)
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help=f"the proxy's /v1 URL (default {DEFAULT_BASE_URL})"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model name on the proxy (default {DEFAULT_MODEL})")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per request (default 60)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args: Final = _parse_args(argv)
    try:
        run(args.base_url, _api_key(), args.model, args.timeout, sys.stdout)
    except DemoError as error:
        print(f"\ndemo failed: {error}", file=sys.stderr)
        return 1
    except openai.APIStatusError as error:
        print(f"\ndemo failed: HTTP {error.status_code} from the proxy: {error.message}", file=sys.stderr)
        return 1
    except openai.APIError as error:
        print(f"\ndemo failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
