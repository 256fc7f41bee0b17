"""Figure 5: time and peak memory of one `commandcode/` answer of 1,000 to 100,000 events through the SDK, streaming
and not, each measured in a fresh child process.

`python -m benchmarks.scaling --url URL --events 1000,10000,100000 --burst 100` imports LiteLLM once, then forks one
child per (size, mode): the child warms up with a small request, resets its peak-RSS mark (Linux
`/proc/self/clear_refs`), times one answer and reports the growth of its peak RSS over the RSS it started from, then
the tracemalloc peak of a second, identical answer. Prints one JSON object per measurement."""

import argparse
import json
import os
import resource
import select
import signal
import sys
import time
import tracemalloc
from collections.abc import Sequence
from typing import Final

CHILD_SECONDS: Final = 120.0
WARMUP_EVENTS: Final = 1000


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _answer(url: str, events: int, burst: int, stream: bool) -> int:
    import litellm
    from benchmarks.common import CC_KEY, CC_MODEL, bench_messages, long_marker
    from benchmarks.sdk import drain_logging

    messages: Final = bench_messages(long_marker(events, burst))
    length = 0
    if stream:
        wrapper = litellm.completion(
            model=CC_MODEL, api_base=url, api_key=CC_KEY, messages=messages, stream=True,
            stream_options={"include_usage": True},
        )  # fmt: skip
        for chunk in wrapper:
            content = chunk.choices[0].delta.content if chunk.choices else None
            length += len(content or "")
    else:
        response = litellm.completion(model=CC_MODEL, api_base=url, api_key=CC_KEY, messages=messages)
        length = len(response.choices[0].message.content or "")
    drain_logging()
    return length


def measure(url: str, events: int, burst: int, stream: bool) -> dict[str, object]:
    _answer(url, min(events, WARMUP_EVENTS), burst, stream)
    reset: Final = _reset_peak()
    rss_before: Final = _status_kib("VmRSS") or 0
    maxrss_before: Final = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start: Final = time.perf_counter()
    length: Final = _answer(url, events, burst, stream)
    seconds: Final = time.perf_counter() - start
    peak: Final = _status_kib("VmHWM") if reset else None
    growth_kib: Final = (
        (peak - rss_before) if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss_before
    )
    tracemalloc.start()
    _answer(url, events, burst, stream)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "events": events,
        "burst": burst,
        "stream": stream,
        "seconds": round(seconds, 4),
        "us_per_event": round(seconds / events * 1e6, 3),
        "rss_growth_mb": round(growth_kib / 1024, 2),
        "rss_method": "VmHWM after clear_refs" if reset else "ru_maxrss delta",
        "tracemalloc_peak_mb": round(traced_peak / 1024 / 1024, 2),
        "text_length": length,
    }


def _run_child(url: str, events: int, burst: int, stream: bool) -> dict[str, object]:
    """Forks; the child measures and writes one JSON line to a pipe; the parent waits at most CHILD_SECONDS."""
    read_end, write_end = os.pipe()
    pid: Final = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            payload = json.dumps(measure(url, events, burst, stream))
        except BaseException as error:  # the child reports every failure to the parent and exits
            payload = json.dumps({"events": events, "stream": stream, "error": repr(error)})
            code = 1
        os.write(write_end, payload.encode() + b"\n")
        os._exit(code)
    os.close(write_end)
    data = b""
    deadline: Final = time.monotonic() + CHILD_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            piece = os.read(read_end, 65536)
            if not piece:
                break
            data += piece
    finally:
        os.close(read_end)
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if not data:
        return {"events": events, "stream": stream, "error": f"no result within {CHILD_SECONDS:.0f} s"}
    result: Final = json.loads(data)
    assert isinstance(result, dict)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--url", required=True, help="the fake Command Code server")
    parser.add_argument("--events", default="1000,10000,100000", help="comma-separated answer sizes")
    parser.add_argument("--burst", type=int, default=100, help="events per network write")
    args: Final = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm_commandcode

    litellm_commandcode.register()
    for stream in (True, False):
        for events in (int(value) for value in args.events.split(",")):
            print(json.dumps(_run_child(args.url, events, args.burst, stream)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
