"""
`scripts/bench compare REV`: the provider-bound streaming figures of this checkout against those of another commit,
measured in turns (REV, this checkout, REV, ...) on the same LiteLLM, so that both see the same machine. Each figure is
already a ratio to a reference measured beside it (the iterator's microseconds per event to Ollama's; the SDK's
streaming overhead to the `openai/` path's), which keeps a before/after meaningful while other work runs.

Each turn is a child process that runs this file with `--turn` in the commit's tree, with that tree on `PYTHONPATH`:
the provider, the plug-in and the benchmark code are all the commit's own. REV is checked out with `git worktree` into
`.work/compare/REV` and removed afterwards.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
TURN_TIMEOUT: Final = 900
FIGURES: Final = ("iterator_worst_ratio", "sdk_streaming_cost")


def figures() -> dict[str, float]:
    """One turn, with the modules of the tree on `PYTHONPATH`."""
    import litellm_commandcode
    from benchmarks import iterator, sdk
    from benchmarks.common import start_server
    from benchmarks.run import FULL, _sdk_target_row

    litellm_commandcode.register()
    events: Final = iterator.run(FULL.iterator_events, FULL.iterator_rounds, lambda _message: None)
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        cc = start_server(stack, "litellm_commandcode.fake_server", [], Path(workdir) / "fake-commandcode.log")
        oa = start_server(stack, "benchmarks.fake_openai", [], Path(workdir) / "fake-openai.log")
        rows = sdk.run(cc.url, oa.url, tuple(case for case in FULL.sdk_cases if case.stream), lambda _message: None)
    target: Final = _sdk_target_row(rows)
    if target is None:
        raise RuntimeError("the SDK figure has no row for the target case")
    overhead: Final = target["ratio_overhead"]
    assert isinstance(overhead, float)
    return {"iterator_worst_ratio": iterator.worst_ratio(events), "sdk_streaming_cost": overhead}


def turn(tree: Path) -> dict[str, float]:
    env: Final = {**os.environ, "PYTHONPATH": str(tree), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done: Final = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--turn"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=TURN_TIMEOUT,
        check=True,
    )
    measured: Final[dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def main(argv: Sequence[str] | None = None) -> int:
    if list(argv if argv is not None else sys.argv[1:]) == ["--turn"]:
        del sys.path[0]  # this file's own folder: the tree's modules come from PYTHONPATH
        print(json.dumps(figures()))
        return 0
    parser: Final = argparse.ArgumentParser(prog="scripts/bench compare", description=__doc__)
    parser.add_argument("rev", help="the commit to compare this checkout with (for example HEAD~3)")
    parser.add_argument("--rounds", type=int, default=2, help="turns per side (default 2)")
    args: Final = parser.parse_args(argv)
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be between 1 and 10")
    commit: Final = subprocess.run(
        ["git", "rev-parse", "--short", args.rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    other: Final = ROOT / ".work" / "compare" / commit
    subprocess.run(["git", "worktree", "add", "--force", "--detach", str(other), commit], cwd=ROOT, check=True)
    results: Final[dict[str, list[dict[str, float]]]] = {commit: [], "this checkout": []}
    try:
        for _ in range(args.rounds):
            for side, tree in ((commit, other), ("this checkout", ROOT)):
                results[side].append(turn(tree))
                print(f"{side}: {json.dumps(results[side][-1])}", flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
    for figure in FIGURES:
        print(f"{figure}: {commit} " + " / ".join(f"{r[figure]:.4f}" for r in results[commit]), end="")
        print("; this checkout " + " / ".join(f"{r[figure]:.4f}" for r in results["this checkout"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
