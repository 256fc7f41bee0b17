"""Figure 2: the stream iterator alone, microseconds per event, on prepared in-memory inputs: our
`ModelResponseIterator` fed one event per read (bytes) and one line per item (str, as `iter_lines()` yields), next to
LiteLLM's newline-delimited-JSON iterator, Ollama's `OllamaChatCompletionResponseIterator`, fed the equivalent Ollama
lines. Each input ends with its protocol's final event, so both iterators run to their normal end."""

import gc
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from benchmarks.common import median, rotated
from litellm.llms.ollama.chat.transformation import OllamaChatCompletionResponseIterator

KINDS: Final = ("text", "reasoning", "tool-call")
VARIANTS: Final = ("commandcode bytes", "commandcode str", "ollama str")
TEXT: Final = "Hello, wor"
TOOL_INPUT: Final = {"city": "Paris", "unit": "celsius"}
OLLAMA_MODEL: Final = "llama3.1"
CREATED_AT: Final = "2025-05-24T02:12:05.859654Z"


def _line(event: object) -> str:
    return json.dumps(event, separators=(",", ":"))


def commandcode_events(kind: str, count: int) -> list[str]:
    events: list[dict[str, object]]
    if kind == "text":
        events = [{"type": "text-delta", "id": "txt-0", "text": TEXT} for _ in range(count)]
    elif kind == "reasoning":
        events = [{"type": "reasoning-delta", "id": "reasoning-0", "text": TEXT} for _ in range(count)]
    else:
        events = [
            {"type": "tool-call", "toolCallId": f"call_{index}", "toolName": "get_weather", "input": TOOL_INPUT}
            for index in range(count)
        ]
    usage: Final = {"inputTokens": 100, "outputTokens": count, "totalTokens": 100 + count}
    finish: Final = {"type": "finish", "finishReason": "stop", "totalUsage": usage}
    return [_line(event) for event in [*events, finish]]


def ollama_events(kind: str, count: int) -> list[str]:
    def message(index: int) -> dict[str, object]:
        if kind == "text":
            return {"role": "assistant", "content": TEXT}
        if kind == "reasoning":
            return {"role": "assistant", "content": "", "thinking": TEXT}
        call: Final = {"function": {"name": "get_weather", "arguments": TOOL_INPUT}}
        return {"role": "assistant", "content": "", "tool_calls": [call]}

    lines: Final = [
        _line({"model": OLLAMA_MODEL, "created_at": CREATED_AT, "message": message(index), "done": False})
        for index in range(count)
    ]
    final: Final = {
        "model": OLLAMA_MODEL,
        "created_at": CREATED_AT,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 100,
        "eval_count": count,
    }
    return [*lines, _line(final)]


def _drain(iterator: Iterable[object]) -> int:
    count = 0
    for _ in iterator:
        count += 1
    return count


def _runner(variant: str, kind: str, count: int) -> Callable[[], int]:
    # Imported here: outside an upstream tree, litellm_commandcode.register() puts the provider on LiteLLM's path.
    from litellm.llms.commandcode.chat.transformation import ModelResponseIterator

    if variant == "commandcode bytes":
        reads: Final = [f"{line}\n".encode() for line in commandcode_events(kind, count)]
        return lambda: _drain(ModelResponseIterator(streaming_response=iter(reads), sync_stream=True))
    if variant == "commandcode str":
        lines: Final = commandcode_events(kind, count)
        return lambda: _drain(ModelResponseIterator(streaming_response=iter(lines), sync_stream=True))
    ollama: Final = ollama_events(kind, count)
    return lambda: _drain(OllamaChatCompletionResponseIterator(streaming_response=iter(ollama), sync_stream=True))


def run(events: int, rounds: int, log: Callable[[str], None]) -> dict[str, object]:
    """Per kind: `rounds` rounds, each timing every variant once (in rotated order) on `events` events plus the final
    one, after a garbage collection; the median and the best sample per event, and per variant the median over the
    rounds of its time divided by Ollama's in the same round: this machine's speed drifts by tens of percent over a
    fraction of a second (a virtual machine whose host takes CPU away), and a round sees one speed. CPU time of this
    thread, not wall time: the iterators do no I/O, and other processes in the machine cost them nothing."""
    medians: Final[dict[str, dict[str, float]]] = {}
    best: Final[dict[str, dict[str, float]]] = {}
    paired: Final[dict[str, dict[str, float]]] = {}
    for kind in KINDS:
        runners = {variant: _runner(variant, kind, events) for variant in VARIANTS}
        for action in [*runners.values(), *runners.values()]:  # twice: warm caches and allocator before timing
            chunks = action()
            if chunks < events:
                raise RuntimeError(f"{kind}: the iterator yielded {chunks} chunks for {events} events")
        samples: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        for turn in range(rounds):
            for variant in rotated(VARIANTS, turn):
                gc.collect()
                start = time.thread_time()
                runners[variant]()
                samples[variant].append((time.thread_time() - start) / (events + 1) * 1e6)
        medians[kind] = {variant: round(median(values), 3) for variant, values in samples.items()}
        best[kind] = {variant: round(min(values), 3) for variant, values in samples.items()}
        ollama = samples["ollama str"]
        paired[kind] = {
            variant: round(median([ours / base for ours, base in zip(samples[variant], ollama, strict=True)]), 4)
            for variant in VARIANTS[:2]
        }
        log(f"  iterator {kind}: median {medians[kind]} us/event, best {best[kind]}, paired ratio {paired[kind]}")
    return {
        "events": events,
        "rounds": rounds,
        "us_per_event": medians,
        "best_us_per_event": best,
        "ratio_to_ollama": paired,
        "ratio_of_medians": _ratios(medians),
        "best_ratio_to_ollama": _ratios(best),
    }


def _ratios(values: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    return {
        kind: {variant: round(by_variant[variant] / by_variant["ollama str"], 4) for variant in VARIANTS[:2]}
        for kind, by_variant in values.items()
    }


def worst_ratio(result: dict[str, object]) -> float:
    ratios: Final = result["ratio_to_ollama"]
    assert isinstance(ratios, dict)
    values: Final[Sequence[float]] = [value for by_variant in ratios.values() for value in by_variant.values()]
    return max(values)
