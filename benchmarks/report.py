"""The markdown table of a benchmark run, and the explanation of every missed target from its profiles."""

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

DOCS_START: Final = "<!-- bench-results:start -->"
DOCS_END: Final = "<!-- bench-results:end -->"
OWNERS_SHOWN: Final = 6
NOISY_SHARE: Final = 0.1
FUNCTIONS_SHOWN: Final = 6


def _number(value: object, digits: int = 2) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines: Final = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return lines


def _share_text(share: object) -> str:
    if not isinstance(share, float):
        return "n/a"
    return f"**{share:.0%}**" if share > NOISY_SHARE else f"{share:.0%}"


def _mode(stream: object) -> str:
    return "stream" if stream else "non-stream"


def _targets(results: Mapping[str, object]) -> list[str]:
    rows: Final = [
        [str(t["target"]), str(t["limit"]), _number(t["value"], 3), "PASS" if t["passed"] else "**FAIL**"]
        for t in results["targets"]  # type: ignore[attr-defined]
    ]
    return _table(["target", "limit", "measured", "result"], rows)


def _sdk(results: Mapping[str, object]) -> list[str]:
    rows: Final[list[list[object]]] = []
    for row in results["sdk"]:  # type: ignore[attr-defined]
        ms, overhead, chunks = row["median_ms"], row["overhead_ms"], row["chunks"]
        rows.append(
            [
                f"{row['events']:,} events, burst {row['burst']}",
                _mode(row["stream"]),
                row["reps"],
                _number(ms["floor"]),
                _number(ms["floor_openai"]),
                _number(ms["commandcode"]),
                _number(ms["openai"]),
                _number(overhead["commandcode"]),
                _number(overhead["openai"]),
                _number(row["ratio_overhead"], 3),
                f"{chunks['commandcode']:g} / {chunks['openai']:g}",
            ]
        )
    header: Final = [
        "answer", "mode", "reps", "floor (httpx, Command Code fake)", "floor (httpx, OpenAI fake)", "commandcode",
        "openai", "overhead commandcode", "overhead openai", "ratio", "chunks cc / openai",
    ]  # fmt: skip
    return _table(header, rows)


def _iterator(results: Mapping[str, object]) -> list[str]:
    data: Final = results["iterator"]
    assert isinstance(data, dict)
    rows: Final = [
        [
            kind,
            _number(values["commandcode bytes"]),
            _number(values["commandcode str"]),
            _number(values["ollama str"]),
            _number(data["ratio_to_ollama"][kind]["commandcode bytes"], 3),
            _number(data["ratio_to_ollama"][kind]["commandcode str"], 3),
            f"{_number(data['best_ratio_to_ollama'][kind]['commandcode bytes'], 3)} / "
            f"{_number(data['best_ratio_to_ollama'][kind]['commandcode str'], 3)}",
        ]
        for kind, values in data["us_per_event"].items()
    ]
    header: Final = [
        "event", "commandcode, bytes (one event per read)", "commandcode, str (one line per item)", "Ollama, str",
        "ratio bytes (median of rounds)", "ratio str (median of rounds)", "ratio of the best samples (bytes / str)",
    ]  # fmt: skip
    return _table(header, rows)


def _proxy(results: Mapping[str, object]) -> list[str]:
    rows: Final = [
        [
            row["concurrency"],
            _mode(row["stream"]),
            f"{row['requests']['commandcode']} / {row['requests']['openai']}",
            _number(row["rps"]["commandcode"]),
            _number(row["rps"]["openai"]),
            _number(row["ratio_rps"], 3),
            _number(row["p50_ms"]["commandcode"]),
            _number(row["p50_ms"]["openai"]),
            _number(row["p99_ms"]["commandcode"]),
            _number(row["p99_ms"]["openai"]),
            _number(row["cpu_ms"]["commandcode"]),
            _number(row["cpu_ms"]["openai"]),
            f"{row['errors']['commandcode']} / {row['errors']['openai']}",
            _share_text(row.get("other_processes_cpu_share")),
        ]
        for row in results["proxy"]  # type: ignore[attr-defined]
    ]
    header: Final = [
        "concurrency", "mode", "requests cc / openai", "req/s commandcode", "req/s openai", "ratio", "p50 ms cc",
        "p50 ms openai", "p99 ms cc", "p99 ms openai", "proxy CPU ms/req cc", "proxy CPU ms/req openai", "errors",
        "other processes' CPU",
    ]  # fmt: skip
    return _table(header, rows)


def _proxy_floors(results: Mapping[str, object]) -> str:
    floors: Final = results.get("proxy_floors")
    if not isinstance(floors, dict):
        return ""
    return (
        f"The same answer read directly from the fake servers with httpx, one request at a time (median): Command Code "
        f"{_number(floors['commandcode stream'])} ms one event per write, {_number(floors['commandcode non-stream'])} "
        f"ms all at once (the non-streaming rows), OpenAI {_number(floors['openai stream'])} ms streamed and "
        f"{_number(floors['openai non-stream'])} ms not; at concurrency 1 this upstream time is part of each request's "
        "latency."
    )


def _ttft(results: Mapping[str, object]) -> list[str]:
    data: Final = results["ttft"]
    assert isinstance(data, dict)
    ms: Final = data["median_ms"]
    added: Final = data["added_ms"]
    rows: Final = [
        [
            path,
            _number(ms[f"{path} direct"]),
            _number(ms[f"{path} proxy"]),
            _number(added[f"{path} proxy"]),
            _number(ms[f"{path} sdk"]),
            _number(added[f"{path} sdk"]),
        ]
        for path in ("commandcode", "openai")
    ]
    header: Final = ["path", "direct (httpx)", "through the proxy", "added", "SDK in-process", "added"]
    return _table(header, rows)


def _scaling(results: Mapping[str, object]) -> list[str]:
    rows: Final = [
        [
            f"{row['events']:,}",
            _mode(row["stream"]),
            _number(row["seconds"], 3),
            _number(row["us_per_event"]),
            _number(row["rss_growth_mb"]),
            _number(row["tracemalloc_peak_mb"]),
        ]
        for row in results["scaling"]  # type: ignore[attr-defined]
    ]
    return _table(["events", "mode", "seconds", "us/event", "peak RSS growth MB", "tracemalloc peak MB"], rows)


def _profile_lines(name: str, profile: Mapping[str, object]) -> list[str]:
    if "unavailable" in profile:
        return [f"- {name}: {profile['unavailable']}"]
    if "busy_share_by_owner" not in profile:
        return [f"- {name}: " + ", ".join(f"{k} {_number(v)}" for k, v in profile.items() if not isinstance(v, dict))]
    owners: Final = profile["busy_share_by_owner"]
    assert isinstance(owners, dict)
    shares: Final = ", ".join(f"{owner} {share:.0%}" for owner, share in list(owners.items())[:OWNERS_SHOWN])
    top: Final = ", ".join(f"`{fn}` {share:.0%}" for fn, share in profile["top_self"][:FUNCTIONS_SHOWN])  # type: ignore[index]
    ours: Final = ", ".join(
        f"`{fn}` {share:.1%}"
        for fn, share in profile["ours_inclusive_share"][:3]  # type: ignore[index]
    )
    extra: Final = (
        f" {profile['requests']} requests, proxy CPU {profile['proxy_cpu_ms_per_request']} ms per request;"
        if "requests" in profile
        else ""
    )
    return [
        f"- {name} ({profile['profiler']}):{extra} busy time by owner: {shares}.",
        f"  Heaviest functions (self): {top}.",
        f"  Our own work, callees included: {profile.get('ours_work_share', 0.0):.1%}; our heaviest functions "
        f"(inclusive): {ours or 'no samples'}.",
    ]


def _misses(results: Mapping[str, object]) -> list[str]:
    lines: Final[list[str]] = []
    for target in results["targets"]:  # type: ignore[attr-defined]
        if target["passed"]:
            continue
        lines.extend(["", f"#### Missed: {target['id']} ({_number(target['value'], 3)}, target {target['limit']})", ""])
        lines.append(str(target.get("explanation", "")))
        evidence = target.get("evidence")
        if isinstance(evidence, dict):
            lines.append("")
            for name, profile in evidence.items():
                if isinstance(profile, dict):
                    lines.extend(_profile_lines(name, profile))
    return lines


def markdown(results: Mapping[str, object]) -> str:
    meta: Final = results["meta"]
    assert isinstance(meta, dict)
    noisy: Final = meta["other_processes_cpu_seconds"] > NOISY_SHARE * meta["seconds"] * (meta["cores"] or 1)
    shares: Final = results.get("other_processes_cpu_share")
    by_figure: Final = (
        ", ".join(f"{name} {_share_text(share)}" for name, share in shares.items() if not name.startswith("proxy c="))
        if isinstance(shares, dict)
        else "n/a"
    )
    lines: Final = [
        f"Produced by `{meta['command']}` on {meta['date']} (commit {meta['commit']}, Python {meta['python']}, "
        f"LiteLLM {meta['litellm']}, {meta['cores']} cores) in {meta['seconds']:.0f} s. Load average before "
        f"{meta['load_average_before'][0]}, after {meta['load_average_after'][0]}; other processes used "
        f"{meta['other_processes_cpu_seconds']} CPU-seconds during the run"
        + (" (**noisy**: more than 10% of the machine)." if noisy else ".")
        + f" Other processes' share of the machine's CPU during each figure: {by_figure} (bold: above 10%, the "
        "numbers of that figure are noisy).",
        "",
        "### Targets",
        "",
        *_targets(results),
        *_misses(results),
        "",
        "### 1. SDK: milliseconds per request (median) and overhead over the floor",
        "",
        *_sdk(results),
        "",
        "### 2. The iterator alone: microseconds per event (median)",
        "",
        *_iterator(results),
        "",
        "### 3. Proxy: throughput and latency, the two deployments on one proxy",
        "",
        *_proxy(results),
        "",
        _proxy_floors(results),
        "",
        "### 4. Time to first token (median ms), fake server pausing before each event",
        "",
        *_ttft(results),
        "",
        "### 5. Scaling: one commandcode answer through the SDK, a child process per measurement",
        "",
        *_scaling(results),
        "",
    ]
    return "\n".join(lines)


def update_docs(path: Path, block: str) -> None:
    text: Final = path.read_text(encoding="utf-8")
    pattern: Final = re.compile(re.escape(DOCS_START) + r".*?" + re.escape(DOCS_END), re.DOTALL)
    if pattern.search(text) is None:
        raise ValueError(f"{path} has no {DOCS_START} ... {DOCS_END} block")
    path.write_text(pattern.sub(lambda _: f"{DOCS_START}\n{block}\n{DOCS_END}", text), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------------
# Explanations of misses
# ---------------------------------------------------------------------------------------------------------------------


def _share(profile: object, key: str) -> float | None:
    value: Final = profile.get(key) if isinstance(profile, dict) else None
    return value if isinstance(value, float) else None


def explanation(target: Mapping[str, object], results: Mapping[str, object]) -> str:
    evidence: Final = target.get("evidence")
    profiles: Final = evidence if isinstance(evidence, dict) else {}
    if target["id"] == "ttft_added":
        return _explain_ttft(results, profiles)
    if target["id"] == "proxy_throughput":
        return _explain_proxy(results, profiles)
    if target["id"] == "iterator_per_event":
        return _explain_iterator(results, profiles)
    parts: Final = [
        f"{name}: our own work {share:.0%} of the busy time, callees included"
        for name, profile in profiles.items()
        if (share := _share(profile, "ours_work_share")) is not None
    ]
    return "Profiles of the missed case: " + ("; ".join(parts) if parts else "no profile attributes it") + "."


def _construction_share(profile: object) -> float | None:
    """The share of the busy time spent in LiteLLM's chunk classes (`litellm/types/utils.py:__init__`, callees
    included: mostly pydantic), which every iterator pays once per chunk it yields."""
    shares: Final = profile.get("litellm_inclusive_share") if isinstance(profile, dict) else None
    if not isinstance(shares, list):
        return None
    found: Final = [share for name, share in shares if name == "litellm/types/utils.py:__init__"]
    return found[0] if found else None


def _explain_iterator(results: Mapping[str, object], profiles: Mapping[str, object]) -> str:
    iterator: Final = results["iterator"]
    assert isinstance(iterator, dict)
    ratios: Final = iterator["ratio_to_ollama"]
    rows: Final = [f"{kind} {ratio['commandcode bytes']}/{ratio['commandcode str']}" for kind, ratio in ratios.items()]
    kind: Final = profiles.get("kind")
    parts: Final[list[str]] = []
    for name in ("commandcode bytes", "commandcode str", "ollama str"):
        profile = profiles.get(name)
        construction = _construction_share(profile)
        own = _share(profile, "ours_self_share")
        if construction is not None:
            parts.append(
                f"{name}: {construction:.0%} in LiteLLM's ModelResponseStream/Delta/StreamingChoices constructors"
                + (f", {own:.0%} in our own functions' bodies" if own and name.startswith("commandcode") else "")
            )
    return (
        f"Ratios (bytes/str, median over the rounds of the per-round ratio): {', '.join(rows)}; the miss is the "
        f"{kind} events read as raw bytes, and every str row and every other kind passes. Profiled (pyinstrument, "
        "the iterator on its own): "
        + "; ".join(parts)
        + ". Both iterators build one LiteLLM chunk per event here (one event per read) and parse one JSON line per "
        "event, and building the chunk is most of the cost on both sides; what only ours does is buffering raw "
        "network reads and splitting them into lines, which the str rows (given lines, as Ollama's iterator is) do "
        "not pay."
    )


def _explain_ttft(results: Mapping[str, object], profiles: Mapping[str, object]) -> str:
    ttft: Final = results["ttft"]
    assert isinstance(ttft, dict)
    added: Final = ttft["added_ms"]
    text = (
        f"Through the proxy the first token arrives {added['commandcode proxy']} ms after direct for commandcode and "
        f"{added['openai proxy']} ms after direct for openai/ on the same proxy; in-process through the SDK the "
        f"added time is {added['commandcode sdk']} ms (commandcode) and {added['openai sdk']} ms (openai). "
        "Both deployments pay the same: it is the work LiteLLM does for every request before it sends the upstream "
        "request and before it forwards the first chunk."
    )
    timings: Final = profiles.get("our request path")
    if isinstance(timings, dict):
        text += (
            f" Timed directly, our provider needs {timings['request_us']} us to build the request (parameters, "
            f"headers, URL, body) and {timings['first_chunk_us']} us to turn the first text delta into a chunk."
        )
    proxy_cc: Final = profiles.get("proxy commandcode", {})
    proxy_oa: Final = profiles.get("proxy openai", {})
    work: Final = _share(proxy_cc, "ours_work_share")
    cpu_cc: Final = _share(proxy_cc, "proxy_cpu_ms_per_request")
    if work is not None and cpu_cc is not None:
        text += (
            f" Under py-spy the proxy spent {cpu_cc} ms of CPU per streamed commandcode request and "
            f"{_share(proxy_oa, 'proxy_cpu_ms_per_request')} ms per openai/ request; our own work (callees included) "
            f"is {work:.1%} of the proxy's busy samples, about {work * cpu_cc:.2f} ms per request for the whole "
            "stream, not only its first token."
        )
    return text


def _upstream_note(results: Mapping[str, object], stream: bool) -> str:
    """At concurrency 1 a request's latency includes the upstream's own time, which differs between the fakes."""
    floors: Final = results.get("proxy_floors")
    if not isinstance(floors, dict):
        return ""
    mode: Final = "stream" if stream else "non-stream"
    openai: Final = floors[f"openai {mode}"]
    commandcode: Final = floors[f"commandcode {mode}"]
    return (
        f"; read directly with httpx the fake Command Code server takes {commandcode} ms for this answer and the fake "
        f"OpenAI server {openai} ms, so {commandcode - openai:.2f} ms of each commandcode request's latency is the "
        "upstream's, not the proxy's"
    )


def _explain_proxy(results: Mapping[str, object], profiles: Mapping[str, object]) -> str:
    missed: Final = [row for row in results["proxy"] if row["ratio_rps"] < 1.0]  # type: ignore[attr-defined]
    parts: Final[list[str]] = []
    for row in missed:
        name = f"c={row['concurrency']} {'stream' if row['stream'] else 'json'}"
        cc = profiles.get(f"{name} commandcode", {})
        oa = profiles.get(f"{name} openai", {})
        work = _share(cc, "ours_work_share")
        cpu = _share(cc, "proxy_cpu_ms_per_request")
        ours = (
            f"our own work {work:.1%} of the commandcode samples (about {work * cpu:.2f} ms per request)"
            if work is not None and cpu is not None
            else "no py-spy profile"
        )
        parts.append(
            f"{name}: {row['rps']['commandcode']} vs {row['rps']['openai']} req/s (median ratio of the paired rounds "
            f"{row['ratio_rps']}, rounds {row['ratio_rps_rounds']}), proxy CPU per request "
            f"{row['cpu_ms']['commandcode']} vs {row['cpu_ms']['openai']} ms; profiled again under py-spy: "
            f"{_share(cc, 'proxy_cpu_ms_per_request')} vs {_share(oa, 'proxy_cpu_ms_per_request')} ms per request, "
            f"{ours}" + (_upstream_note(results, bool(row["stream"])) if row["concurrency"] == 1 else "")
        )
    return "; ".join(parts) + "."
