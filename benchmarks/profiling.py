"""Where the time goes: profiles that attribute time to our code (`litellm/llms/commandcode/`, `litellm_commandcode/`)
or to LiteLLM's own code, the openai SDK, httpx/aiohttp, pydantic, the web server, the standard library.

In this process: pyinstrument (sampling) when it is installed, else the standard library's cProfile. Another process
(the proxy): py-spy when it is installed. Every summary gives the busy time by owner (waiting excluded), the heaviest
functions by self time, and the inclusive time of our own functions, as `path:function`."""

import contextlib
import cProfile
import pstats
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
OURS: Final = ("litellm/llms/commandcode/", "litellm_commandcode/")
OWNERS: Final[tuple[tuple[str, str], ...]] = (
    ("litellm/llms/commandcode/", "ours: provider"),
    ("litellm_commandcode/", "ours: plug-in"),
    ("benchmarks/", "benchmark driver"),
    ("litellm/", "LiteLLM"),
    ("litellm_enterprise/", "LiteLLM"),
    ("litellm_proxy_extras/", "LiteLLM"),
    ("openai/", "openai SDK"),
    ("httpx/", "httpx"),
    ("httpcore/", "httpx"),
    ("h11/", "httpx"),
    ("aiohttp/", "aiohttp"),
    ("pydantic", "pydantic"),
    ("anyio/", "anyio"),
    ("uvicorn/", "uvicorn"),
    ("starlette/", "starlette/fastapi"),
    ("fastapi/", "starlette/fastapi"),
)
# Our own work: the outermost call of one of these (in our files) holds the time we spend, callees included, without
# the network reads that our iterator waits on (those sit under `_next_chunk`/`_anext_chunk`, outside this set).
OUR_WORK: Final = frozenset(
    {
        "map_openai_params", "get_supported_openai_params", "validate_environment", "get_complete_url",
        "transform_request", "transform_response", "get_error_class", "get_model_response_iterator", "_parse_item",
        "_end_of_stream", "chunk_parser", "_assemble", "_request_body", "__call__", "_finish_alone",
        "_mapped", "_context_window_error",
    }
)  # fmt: skip
IDLE: Final = "idle (waiting)"
IDLE_FUNCTIONS: Final = frozenset({"select", "poll", "epoll.poll", "sleep", "Lock.acquire", "wait", "acquire"})
TOP: Final = 12
PY_SPY_RATE: Final = 400
PY_SPY_EXTRA_SECONDS: Final = 15.0


def owner(path: str, function: str) -> str:
    if function in IDLE_FUNCTIONS or function.endswith((".select", ".poll", ".wait")):
        return IDLE
    normalized: Final = path.replace("\\", "/")
    for marker, name in OWNERS:
        if marker in normalized:
            return name
    return "other packages" if "site-packages/" in normalized else "Python (stdlib, builtins)"


def short(path: str) -> str:
    normalized: Final = path.replace("\\", "/")
    for anchor in ("site-packages/", f"{ROOT.as_posix()}/"):
        if anchor in normalized:
            return normalized.split(anchor, 1)[1]
    if "/lib/python3." in normalized:
        return normalized.split("/lib/python3.", 1)[1].partition("/")[2]
    return normalized


@dataclass(frozen=True)
class Sample:
    """Time (seconds, or sample counts) of one call-tree node: its own, and including its callees when it is the
    outermost call of that function on its stack."""

    path: str
    function: str
    self_time: float
    inclusive: float


def is_our_work(path: str, function: str) -> bool:
    """`function` is py-spy's `Class.method` or pyinstrument's and cProfile's bare `method`."""
    normalized: Final = path.replace("\\", "/")
    return function.rsplit(".", 1)[-1] in OUR_WORK and any(marker in normalized for marker in OURS)


def _ranked(values: Mapping[str, float]) -> list[tuple[str, float]]:
    return sorted(values.items(), key=lambda item: item[1], reverse=True)


def summarize(samples: Iterable[Sample], tool: str, our_work: float = 0.0) -> dict[str, object]:
    by_owner: Final[defaultdict[str, float]] = defaultdict(float)
    by_function: Final[defaultdict[str, float]] = defaultdict(float)
    by_inclusive: Final[defaultdict[str, float]] = defaultdict(float)
    for sample in samples:
        name = f"{short(sample.path)}:{sample.function}"
        kind = owner(sample.path, sample.function)
        by_owner[kind] += sample.self_time
        if kind != IDLE:
            by_function[name] += sample.self_time
        by_inclusive[name] += sample.inclusive
    busy: Final = sum(value for name, value in by_owner.items() if name != IDLE) or 1.0
    ours_inclusive: Final = [(name, value) for name, value in _ranked(by_inclusive) if name.startswith(OURS)]
    litellm_inclusive: Final = [
        (name, value)
        for name, value in _ranked(by_inclusive)
        if name.startswith("litellm/") and not name.startswith(OURS)
    ]
    ours_self: Final = sum(value for name, value in by_owner.items() if name.startswith("ours"))
    return {
        "profiler": tool,
        "busy": round(busy, 4),
        "idle": round(by_owner.get(IDLE, 0.0), 4),
        "busy_share_by_owner": {name: round(value / busy, 3) for name, value in _ranked(by_owner) if name != IDLE},
        "ours_self_share": round(ours_self / busy, 4),
        "ours_work_share": round(our_work / busy, 4),
        "top_self": [[name, round(value / busy, 4)] for name, value in _ranked(by_function)[:TOP]],
        "ours_inclusive_share": [[name, round(value / busy, 4)] for name, value in ours_inclusive[:TOP]],
        "litellm_inclusive_share": [[name, round(value / busy, 4)] for name, value in litellm_inclusive[: TOP * 3]],
    }


def _pyinstrument_samples(action: Callable[[], object]) -> tuple[list[Sample], float] | None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    profiler: Final = Profiler(interval=0.0002)
    profiler.start()
    try:
        action()
    finally:
        session = profiler.stop()
    samples: Final[list[Sample]] = []
    work = 0.0
    root: Final = session.root_frame()
    stack: Final = [(root, frozenset[str](), False)] if root is not None else []
    while stack:
        frame, ancestors, inside_work = stack.pop()
        if frame.is_synthetic:
            continue
        path = frame.file_path or ""
        function = frame.function or "?"
        key = f"{path}:{function}"
        samples.append(Sample(path, function, frame.total_self_time, 0.0 if key in ancestors else frame.time))
        starts_work = not inside_work and is_our_work(path, function)
        if starts_work:
            work += frame.time
        stack.extend((child, ancestors | {key}, inside_work or starts_work) for child in frame.children)
    return samples, work


def _cprofile_samples(action: Callable[[], object]) -> tuple[list[Sample], float]:
    profile: Final = cProfile.Profile()
    profile.enable()
    try:
        action()
    finally:
        profile.disable()
    entries: Final = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    samples: Final = [
        Sample(path, function, tottime, cumtime) for (path, _, function), (_, _, tottime, cumtime, _) in entries.items()
    ]
    work: Final = sum(
        cumtime
        for (path, _, function), (_, _, _, cumtime, callers) in entries.items()
        if is_our_work(path, function) and not any(is_our_work(c_path, c_fn) for c_path, _, c_fn in callers)
    )
    return samples, work


def profile_call(action: Callable[[], object]) -> dict[str, object]:
    """Runs `action` once under a profiler in this process."""
    sampled: Final = _pyinstrument_samples(action)
    if sampled is not None:
        return summarize(sampled[0], "pyinstrument", sampled[1])
    samples, work = _cprofile_samples(action)
    return summarize(samples, "cProfile", work)


def _frame(text: str) -> tuple[str, str]:
    """`function (path:line)` as py-spy writes a frame -> (path, function)."""
    function, _, rest = text.partition(" (")
    return rest.rsplit(":", 1)[0], function


def collapsed_samples(text: str) -> tuple[list[Sample], float]:
    """Samples from py-spy's `--format raw` output: one `frame;frame;... count` line per distinct stack."""
    samples: Final[list[Sample]] = []
    work = 0.0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = float(count_text)
        frames = [_frame(frame) for frame in stack.split(";")]
        if any(is_our_work(*frame) for frame in frames):
            work += count
        seen: set[tuple[str, str]] = set()
        for index, frame in enumerate(frames):
            leaf = index == len(frames) - 1
            outermost = frame not in seen
            seen.add(frame)
            if leaf or outermost:
                samples.append(Sample(*frame, count if leaf else 0.0, count if outermost else 0.0))
    return samples, work


def py_spy() -> str | None:
    beside: Final = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


@contextlib.contextmanager
def recording(pid: int, seconds: float, out: Path) -> Iterator[dict[str, object]]:
    """py-spy samples process `pid` for `seconds` while the body runs; the summary lands in the yielded dict (empty
    with a reason when py-spy is missing or fails)."""
    result: Final[dict[str, object]] = {}
    tool: Final = py_spy()
    if tool is None:
        result["unavailable"] = "py-spy is not installed (pip install py-spy)"
        yield result
        return
    command: Final = [
        tool, "record", "--pid", str(pid), "--rate", str(PY_SPY_RATE), "--duration", str(max(1, round(seconds))),
        "--format", "raw", "--full-filenames", "--nonblocking", "--output", str(out),
    ]  # fmt: skip
    process: Final = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield result
        _, error = process.communicate(timeout=seconds + PY_SPY_EXTRA_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        result["unavailable"] = "py-spy did not finish in time"
        return
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0 or not out.is_file():
        result["unavailable"] = f"py-spy failed: {error.decode(errors='replace')[-300:]}"
        return
    samples, work = collapsed_samples(out.read_text(encoding="utf-8", errors="replace"))
    result.update(summarize(samples, "py-spy", work))
