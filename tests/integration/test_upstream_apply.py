"""The upstream change (`python -m litellm_commandcode.upstream`) on real LiteLLM releases, from the oldest supported
(1.106.2) to the newest (1.110.2, whose lazy-import registry was reshaped), unpacked from their wheels (downloaded once
into .work/wheels, unpacked once into .work/trees, then reused). The patched trees are checked in other interpreters
with the tree first on sys.path, so the litellm of this session is never touched.

Run as a script (`python test_upstream_apply.py CHECK...`, the tree on PYTHONPATH and in UPSTREAM_TREE), this module
imports the tree's litellm once and runs each check in its own process forked from that interpreter, printing each
result as JSON: one import per tree instead of one per check keeps the module well under two minutes on two CPUs.
"""

import asyncio
import email
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn

import httpx
import pytest
from release_trees import CHECK_TIMEOUT, TREE_ENV, VERSIONS, isolated_env, pristine_tree

import litellm
from litellm.constants import LITELLM_CHAT_PROVIDERS
from litellm.exceptions import UnsupportedParamsError
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, HTTPHandler
from litellm.types.utils import Choices, ModelResponse
from litellm_commandcode import upstream

REPOSITORY: Final = Path(__file__).resolve().parents[2]
NEWEST: Final = VERSIONS[-1]
# The first releases whose register_model() defers to add_known_models(), and whose lazy-import registry is one
# LITELLM_ATTRIBUTES mapping instead of per-group name tuples and import maps.
REGISTER_MODEL_DEFERS_FROM: Final = (1, 109)
ONE_LAZY_MAPPING_FROM: Final = (1, 110)
RESULT_PREFIX: Final = "CHECK-RESULT "
MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
MESSAGES: Final = [{"role": "user", "content": "hello"}]
NDJSON_BODY: Final = (
    b'{"type":"text-delta","text":"Hi"}\n'
    b'{"type":"finish","finishReason":"stop","totalUsage":{"inputTokens":10,"outputTokens":2}}\n'
)
MODEL_INFO_FIELDS: Final = (
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "max_output_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "supports_function_calling",
    "supports_reasoning",
    "supports_vision",
)
CHANGED_FILES: Final = (
    "litellm/__init__.py",
    "litellm/_lazy_imports_registry.py",
    "litellm/constants.py",
    "litellm/litellm_core_utils/exception_mapping_utils.py",
    "litellm/litellm_core_utils/get_llm_provider_logic.py",
    "litellm/llms/commandcode/chat/handler.py",
    "litellm/llms/commandcode/chat/messages.py",
    "litellm/llms/commandcode/chat/params.py",
    "litellm/llms/commandcode/chat/pause_turn.py",
    "litellm/llms/commandcode/chat/provider_api_transformation.py",
    "litellm/llms/commandcode/chat/response.py",
    "litellm/llms/commandcode/chat/transformation.py",
    "litellm/llms/commandcode/common_utils.py",
    "litellm/llms/commandcode/model_info.py",
    "litellm/main.py",
    "litellm/model_prices_and_context_window_backup.json",
    "litellm/provider_endpoints_support_backup.json",
    "litellm/proxy/public_endpoints/provider_create_fields.json",
    "litellm/types/utils.py",
    "litellm/utils.py",
)
# The functions of litellm_commandcode/glue.py the change inserts verbatim, and where.
GLUE: Final = {
    "_complete_commandcode": "litellm/main.py",
    "_map_commandcode_exception": "litellm/litellm_core_utils/exception_mapping_utils.py",
}
ROOT_FILES: Final = ("model_prices_and_context_window.json", "provider_endpoints_support.json", "README.md")
UPSTREAM_TEST: Final = "tests/test_litellm/llms/commandcode/chat/test_transformation.py"
Json = dict[str, object]


# ---------------------------------------------------------------------------------------------------------------------
# Checks: each runs in a subprocess whose litellm is the patched tree
# ---------------------------------------------------------------------------------------------------------------------


def _tree() -> Path:
    return Path(os.environ[TREE_ENV]).resolve()


def _transport(requests: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=NDJSON_BODY, headers={"content-type": "application/x-ndjson"})

    return httpx.MockTransport(handle)


def _client(requests: list[httpx.Request]) -> HTTPHandler:
    return HTTPHandler(client=httpx.Client(transport=_transport(requests)))


def _sent_params(request: httpx.Request) -> Mapping[str, object]:
    params: Final = json.loads(request.content)["params"]
    assert isinstance(params, dict)
    return params


def _answer(response: object) -> Json:
    assert isinstance(response, ModelResponse)
    choice: Final = response.choices[0]
    assert isinstance(choice, Choices)
    usage: Final = getattr(response, "usage")  # noqa: B009 (ModelResponse sets usage dynamically)
    return {
        "content": choice.message.content,
        "finish_reason": choice.finish_reason,
        "usage": [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens],
        "response_cost": response._hidden_params["response_cost"],
    }


def check_provider_registered() -> Json:
    import litellm.llms.commandcode.chat.transformation as transformation

    return {
        "member": litellm.LlmProviders.COMMANDCODE.value,
        "in_provider_list": litellm.LlmProviders.COMMANDCODE in litellm.provider_list,
        "chat_provider": "commandcode" in LITELLM_CHAT_PROVIDERS,
        "lazy_config_is_provider_config": litellm.CommandCodeChatConfig is transformation.CommandCodeChatConfig,
        "lazy_error": litellm.CommandCodeError.__module__,
        "litellm_from_tree": Path(litellm.__file__ or "").resolve().is_relative_to(_tree()),
        "provider_from_tree": Path(transformation.__file__).resolve().is_relative_to(_tree()),
    }


def check_credentials() -> Json:
    without_env: Final = litellm.get_llm_provider(MODEL)
    missing: Final = litellm.validate_environment(MODEL)
    passed: Final = litellm.get_llm_provider(MODEL, api_key="user_x")
    os.environ["COMMAND_CODE_API_KEY"] = "user_second"
    second_name: Final = litellm.get_llm_provider(MODEL)
    os.environ["COMMANDCODE_API_KEY"] = "user_first"
    os.environ["COMMANDCODE_API_BASE"] = "http://127.0.0.1:9/"
    from_env: Final = litellm.get_llm_provider(MODEL)
    present: Final = litellm.validate_environment(MODEL)
    return {
        "without_env": list(without_env),
        "passed": list(passed),
        "second_name": list(second_name),
        "from_env": list(from_env),
        "validate_missing": missing,
        "validate_present": present,
    }


def check_model_info() -> Json:
    info: Final = litellm.get_model_info(MODEL)
    return {
        "info": {field: info.get(field) for field in MODEL_INFO_FIELDS},
        "listed_for_provider": MODEL in litellm.models_by_provider["commandcode"],
        "in_model_list": MODEL in litellm.model_list,
    }


def check_provider_config() -> Json:
    config: Final = litellm.utils.ProviderConfigManager.get_provider_chat_config(
        model="deepseek/deepseek-v4-flash", provider=litellm.LlmProviders.COMMANDCODE
    )
    return {
        "config": f"{type(config).__module__}.{type(config).__qualname__}",
        "supported_params": litellm.get_supported_openai_params(
            model="deepseek/deepseek-v4-flash", custom_llm_provider="commandcode"
        ),
    }


def check_completion() -> Json:
    requests: Final[list[httpx.Request]] = []
    response: Final = litellm.completion(
        model=MODEL, messages=MESSAGES, api_key="user_x", reasoning_effort="high", client=_client(requests)
    )
    return {
        **_answer(response),
        "requests": [str(request.url) for request in requests],
        "authorization": requests[0].headers["authorization"],
        "model_sent": _sent_params(requests[0])["model"],
        "reasoning_effort_sent": _sent_params(requests[0]).get("reasoning_effort"),
    }


def check_streaming() -> Json:
    requests: Final[list[httpx.Request]] = []
    stream: Final = litellm.completion(
        model=MODEL,
        messages=MESSAGES,
        api_key="user_x",
        stream=True,
        stream_options={"include_usage": True},
        client=_client(requests),
    )
    chunks: Final = list(stream)
    return {
        "deltas": "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices),
        **_answer(litellm.stream_chunk_builder(chunks, messages=MESSAGES)),
        "requests": len(requests),
    }


async def _acompletion() -> Json:
    requests: Final[list[httpx.Request]] = []
    client: Final = AsyncHTTPHandler(transport=_transport(requests))
    response: Final = await litellm.acompletion(model=MODEL, messages=MESSAGES, api_key="user_x", client=client)
    stream: Final = await litellm.acompletion(
        model=MODEL,
        messages=MESSAGES,
        api_key="user_x",
        stream=True,
        stream_options={"include_usage": True},
        client=client,
    )
    built: Final = litellm.stream_chunk_builder([chunk async for chunk in stream], messages=MESSAGES)
    return {
        **_answer(response),
        **{f"stream_{key}": value for key, value in _answer(built).items()},
        "requests": len(requests),
    }


def check_acompletion() -> Json:
    return asyncio.run(_acompletion())


def check_top_p_rejected() -> Json:
    requests: Final[list[httpx.Request]] = []
    try:
        litellm.completion(model=MODEL, messages=MESSAGES, api_key="user_x", top_p=0.5, client=_client(requests))
    except UnsupportedParamsError as e:
        return {"raised": type(e).__name__, "status_code": e.status_code, "requests": len(requests)}
    return {"raised": None, "requests": len(requests)}


def check_top_p_dropped() -> Json:
    requests: Final[list[httpx.Request]] = []
    response: Final = litellm.completion(
        model=MODEL, messages=MESSAGES, api_key="user_x", top_p=0.5, drop_params=True, client=_client(requests)
    )
    return {"content": _answer(response)["content"], "top_p_sent": "top_p" in _sent_params(requests[0])}


CHECKS: Final[Mapping[str, Callable[[], Json]]] = {
    "provider_registered": check_provider_registered,
    "credentials": check_credentials,
    "model_info": check_model_info,
    "provider_config": check_provider_config,
    "completion": check_completion,
    "streaming": check_streaming,
    "acompletion": check_acompletion,
    "top_p_rejected": check_top_p_rejected,
    "top_p_dropped": check_top_p_dropped,
}


# ---------------------------------------------------------------------------------------------------------------------
# Trees: downloaded and unpacked once, copied per session
# ---------------------------------------------------------------------------------------------------------------------


def _copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def _snapshot(tree: Path, paths: Iterable[str]) -> dict[str, bytes | None]:
    return {path: (tree / path).read_bytes() if (tree / path).is_file() else None for path in paths}


@dataclass(frozen=True)
class CheckRun:
    results: Mapping[str, Json]
    log: str


def run_checks(tree: Path, cwd: Path) -> CheckRun:
    done: Final = subprocess.run(
        [sys.executable, __file__, *CHECKS],
        cwd=cwd,
        env=isolated_env(tree),
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
    )
    lines: Final = [
        line.removeprefix(RESULT_PREFIX) for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)
    ]
    reported: Final = [json.loads(line) for line in lines]
    log: Final = f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return CheckRun({entry["check"]: entry["result"] for entry in reported}, log)


@pytest.fixture(scope="module")
def pristine() -> dict[str, Path]:
    return {version: pristine_tree(version) for version in VERSIONS}


@pytest.fixture(scope="module")
def patched(pristine: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    """Per version: a copy of the unpacked wheel with the change applied, and what `apply` reported."""
    trees: Final = {
        version: _copy_tree(tree, tmp_path_factory.mktemp("patched") / version) for version, tree in pristine.items()
    }
    return {version: (tree, upstream.apply_tree(tree).notes) for version, tree in trees.items()}


@pytest.fixture(scope="module")
def check_runs(patched: dict[str, tuple[Path, list[str]]]) -> dict[str, CheckRun]:
    """Every check on every patched tree, two trees at a time."""
    with tempfile.TemporaryDirectory() as cwd, ThreadPoolExecutor(max_workers=2) as pool:
        futures: Final = {version: pool.submit(run_checks, patched[version][0], Path(cwd)) for version in VERSIONS}
        return {version: future.result() for version, future in futures.items()}


def cost_map_entry() -> Mapping[str, object]:
    entries: Final = json.loads((REPOSITORY / "model_prices_and_context_window.json").read_text(encoding="utf-8"))
    entry: Final = entries[MODEL]
    assert isinstance(entry, dict)
    return entry


def expected_cost() -> float:
    entry: Final = cost_map_entry()
    input_cost, output_cost = entry["input_cost_per_token"], entry["output_cost_per_token"]
    assert isinstance(input_cost, float) and isinstance(output_cost, float)
    return 10 * input_cost + 2 * output_cost


def expected_check(check: str) -> Json:
    cost: Final = pytest.approx(expected_cost(), rel=1e-9)
    default: Final = ["deepseek/deepseek-v4-flash", "commandcode"]
    expectations: Final[Mapping[str, Json]] = {
        "provider_registered": {
            "member": "commandcode",
            "in_provider_list": True,
            "chat_provider": True,
            "lazy_config_is_provider_config": True,
            "lazy_error": "litellm.llms.commandcode.common_utils",
            "litellm_from_tree": True,
            "provider_from_tree": True,
        },
        "credentials": {
            "without_env": [*default, None, "https://api.commandcode.ai"],
            "passed": [*default, "user_x", "https://api.commandcode.ai"],
            "second_name": [*default, "user_second", "https://api.commandcode.ai"],
            "from_env": [*default, "user_first", "http://127.0.0.1:9"],
            "validate_missing": {"keys_in_environment": False, "missing_keys": ["COMMANDCODE_API_KEY"]},
            "validate_present": {"keys_in_environment": True, "missing_keys": []},
        },
        "model_info": {
            "info": {field: cost_map_entry().get(field) for field in MODEL_INFO_FIELDS},
            "listed_for_provider": True,
            "in_model_list": True,
        },
        "provider_config": {
            "config": "litellm.llms.commandcode.chat.transformation.CommandCodeChatConfig",
            "supported_params": [
                "max_tokens",
                "max_completion_tokens",
                "temperature",
                "reasoning_effort",
                "thinking",
                "tools",
                "tool_choice",
                "stream",
                "stream_options",
                "prompt_cache_key",
                "store",
                "prompt_cache_retention",
                "safety_identifier",
                "user",
                "metadata",
                "parallel_tool_calls",
                "service_tier",
                "top_p",
                "presence_penalty",
                "frequency_penalty",
                "logprobs",
                "response_format",
            ],
        },
        "completion": {
            "content": "Hi",
            "finish_reason": "stop",
            "usage": [10, 2, 12],
            "response_cost": cost,
            "requests": ["https://api.commandcode.ai/alpha/generate"],
            "authorization": "Bearer user_x",
            "model_sent": "deepseek/deepseek-v4-flash",
            "reasoning_effort_sent": "high",
        },
        "streaming": {
            "deltas": "Hi",
            "content": "Hi",
            "finish_reason": "stop",
            "usage": [10, 2, 12],
            "response_cost": cost,
            "requests": 1,
        },
        "acompletion": {
            "content": "Hi",
            "finish_reason": "stop",
            "usage": [10, 2, 12],
            "response_cost": cost,
            "stream_content": "Hi",
            "stream_finish_reason": "stop",
            "stream_usage": [10, 2, 12],
            "stream_response_cost": cost,
            "requests": 2,
        },
        "top_p_rejected": {"raised": "UnsupportedParamsError", "status_code": 400, "requests": 0},
        "top_p_dropped": {"content": "Hi", "top_p_sent": False},
    }
    return expectations[check]


# ---------------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------------


def _release(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def expected_apply_outcomes(version: str) -> list[tuple[str, str]]:
    register_model: Final = (
        "not needed (register_model() calls litellm.add_known_models())"
        if _release(version) >= REGISTER_MODEL_DEFERS_FROM
        else "added"
    )
    config_names: Final = (
        "not needed (LITELLM_ATTRIBUTES is the whole registry)"
        if _release(version) >= ONE_LAZY_MAPPING_FROM
        else "added"
    )
    return [
        ("litellm/llms/commandcode/chat/handler.py", "copied"),
        ("litellm/llms/commandcode/chat/messages.py", "copied"),
        ("litellm/llms/commandcode/chat/params.py", "copied"),
        ("litellm/llms/commandcode/chat/pause_turn.py", "copied"),
        ("litellm/llms/commandcode/chat/provider_api_transformation.py", "copied"),
        ("litellm/llms/commandcode/chat/response.py", "copied"),
        ("litellm/llms/commandcode/chat/transformation.py", "copied"),
        ("litellm/llms/commandcode/common_utils.py", "copied"),
        ("litellm/llms/commandcode/model_info.py", "copied"),
        ("litellm/types/utils.py", "added"),
        ("litellm/constants.py", "added"),
        *[("litellm/__init__.py", "added")] * 5,
        *[("litellm/_lazy_imports_registry.py", "added")] * 2,
        *[("litellm/_lazy_imports_registry.py", config_names)] * 2,
        *[("litellm/utils.py", "added")] * 3,
        ("litellm/utils.py", register_model),
        ("litellm/litellm_core_utils/get_llm_provider_logic.py", "added"),
        *[("litellm/main.py", "added")] * 2,
        *[("litellm/litellm_core_utils/exception_mapping_utils.py", "added")] * 2,
        ("litellm/model_prices_and_context_window_backup.json", "added"),
        ("litellm/provider_endpoints_support_backup.json", "added"),
        ("litellm/proxy/public_endpoints/provider_create_fields.json", "added"),
        (UPSTREAM_TEST, upstream.NO_UPSTREAM_TESTS),
        *[(path, upstream.ABSENT) for path in ROOT_FILES],
    ]


def _outcomes(notes: Iterable[str]) -> list[tuple[str, str]]:
    return [(note.split(": ", 1)[0], note.rsplit(": ", 1)[1]) for note in notes]


def _patched_paths(patch: str) -> list[str]:
    headers: Final = (line for line in patch.splitlines() if line.startswith("diff --git a/"))
    return [header.removeprefix("diff --git a/").split(" b/", 1)[0] for header in headers]


def _git_apply(patch: str, tree: Path) -> None:
    patch_file: Final = tree.parent / f"{tree.name}.patch"
    patch_file.write_text(patch, encoding="utf-8")
    for command in (["git", "init", "--quiet"], ["git", "apply", "--check", str(patch_file)]):
        subprocess.run(command, cwd=tree, check=True, capture_output=True, timeout=60)
    subprocess.run(["git", "apply", str(patch_file)], cwd=tree, check=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("version", VERSIONS)
def test_apply_makes_every_registration_edit_and_a_second_apply_changes_nothing(
    version: str, patched: dict[str, tuple[Path, list[str]]], pristine: dict[str, Path]
) -> None:
    tree, notes = patched[version]
    paths: Final = upstream.touched_paths(tree)
    changed: Final = sorted(
        path for path, content in _snapshot(tree, paths).items() if content != _snapshot(pristine[version], paths)[path]
    )
    assert _outcomes(notes) == expected_apply_outcomes(version)
    assert changed == sorted(CHANGED_FILES)
    for name, path in GLUE.items():
        assert upstream.glue_function(name).source in (tree / path).read_text(encoding="utf-8")
    before: Final = _snapshot(tree, paths)
    again: Final = _outcomes(upstream.apply_tree(tree).notes)
    assert _snapshot(tree, paths) == before
    assert again == [
        (path, "already there" if outcome in ("added", "copied") else outcome)
        for path, outcome in expected_apply_outcomes(version)
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_diff_leaves_the_tree_alone_and_git_applies_to_what_apply_writes(
    version: str,
    pristine: dict[str, Path],
    patched: dict[str, tuple[Path, list[str]]],
    tmp_path: Path,
) -> None:
    before: Final = _snapshot(pristine[version], CHANGED_FILES)
    patch, absent = upstream.diff_tree(pristine[version])
    assert _snapshot(pristine[version], CHANGED_FILES) == before
    assert [line.split(": ", 1)[0] for line in absent] == [UPSTREAM_TEST, *ROOT_FILES]
    assert _patched_paths(patch) == list(CHANGED_FILES)
    target: Final = _copy_tree(pristine[version], tmp_path / "tree")
    _git_apply(patch, target)
    assert _snapshot(target, CHANGED_FILES) == _snapshot(patched[version][0], CHANGED_FILES)


def _checkout(pristine: Path, target: Path) -> Path:
    """A BerriAI/litellm checkout in the shape `upstream` sees: the files it touches, the root files and an empty
    tests/test_litellm/. README.md is the release's own (its PyPI description); the root JSON files equal their packaged
    backups, as upstream keeps them."""
    for path in upstream.touched_paths(pristine):
        if (pristine / path).is_file():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(pristine / path, target / path)
    metadata: Final = next(pristine.glob("litellm-*.dist-info/METADATA")).read_text(encoding="utf-8")
    readme: Final = email.message_from_string(metadata).get_payload()
    assert isinstance(readme, str)
    (target / "README.md").write_text(readme, encoding="utf-8")
    shutil.copy2(pristine / upstream.COST_MAP_BACKUP, target / upstream.COST_MAP)
    shutil.copy2(pristine / upstream.ENDPOINTS_BACKUP, target / upstream.ENDPOINTS)
    (target / upstream.UPSTREAM_TESTS).mkdir(parents=True, exist_ok=True)
    return target


def test_checkout_gets_the_readme_row_and_the_root_json_files(pristine: dict[str, Path], tmp_path: Path) -> None:
    checkout: Final = _checkout(pristine[NEWEST], tmp_path / "checkout")
    patch, absent = upstream.diff_tree(checkout)
    notes: Final = upstream.apply_tree(checkout).notes
    readme: Final = (checkout / "README.md").read_text(encoding="utf-8").splitlines()
    row: Final = readme.index(
        "| [Command Code (`commandcode`)](https://docs.litellm.ai/docs/providers/commandcode) | ✅ | ✅ | ✅ |"
        "  |  |  |  |  |  |  |"
    )
    root_cost_map: Final = json.loads((checkout / upstream.COST_MAP).read_text(encoding="utf-8"))
    root_endpoints: Final = json.loads((checkout / upstream.ENDPOINTS).read_text(encoding="utf-8"))
    assert absent == ()
    assert [outcome for outcome in _outcomes(notes) if outcome[0] in ROOT_FILES] == [
        (path, "added") for path in ROOT_FILES
    ]
    assert (checkout / UPSTREAM_TEST).read_bytes() == upstream.PROVIDER_TEST_FILES[UPSTREAM_TEST].read_bytes()
    assert readme[row - 1].startswith("| [CometAPI (`cometapi`)]")
    assert readme[row + 1].startswith("| [CompactifAI (`compactifai`)]")
    assert (checkout / upstream.COST_MAP).read_bytes() == (checkout / upstream.COST_MAP_BACKUP).read_bytes()
    assert root_cost_map[MODEL] == cost_map_entry()
    assert list(root_cost_map)[-len(upstream.load_cost_map_entries()) :] == list(upstream.load_cost_map_entries())
    assert root_endpoints["providers"]["commandcode"] == {
        "display_name": "Command Code (`commandcode`)",
        "url": "https://docs.litellm.ai/docs/providers/commandcode",
        "endpoints": {
            "chat_completions": True,
            "responses": True,
            "text_completion": True,
            "embeddings": False,
            "image_generations": False,
            "image_edits": False,
            "audio_transcriptions": False,
            "audio_speech": False,
            "rerank": False,
            "ocr": False,
            "search": False,
            "moderations": False,
            "realtime": False,
            "video_generations": False,
            "batches": False,
            "messages": True,
            "interactions": True,
            "systemone": False,
            "a2a": True,
            "generateContent": True,
        },
    }
    assert list(root_endpoints["providers"])[-1] == "commandcode"
    assert (checkout / upstream.ENDPOINTS).read_bytes() == (checkout / upstream.ENDPOINTS_BACKUP).read_bytes()
    assert upstream.diff_tree(checkout) == ("", ())
    fresh: Final = _checkout(pristine[NEWEST], tmp_path / "fresh")
    _git_apply(patch, fresh)
    paths: Final = upstream.touched_paths(checkout)
    assert _snapshot(fresh, paths) == _snapshot(checkout, paths)


MOVED_STRUCTURES: Final = {
    "lazy registry renamed": (
        "litellm/_lazy_imports_registry.py",
        "LITELLM_ATTRIBUTES:",
        "LAZY_ATTRIBUTES:",
        "upstream apply: litellm/_lazy_imports_registry.py: LITELLM_ATTRIBUTES (a top-level list, tuple, set or dict) "
        "or _LLM_CONFIGS_IMPORT_MAP (a top-level list, tuple, set or dict): not found "
        "(lazy import of litellm.CommandCodeChatConfig)",
    ),
    "helper the dispatch function needs is gone": (
        "litellm/main.py",
        "def _dispatch_client_http(",
        "def _dispatch_http_client(",
        "upstream apply: litellm/main.py: _dispatch_client_http (used by _complete_commandcode): "
        "no longer defined at top level (_complete_commandcode)",
    ),
    "dispatch chain gone": (
        "litellm/main.py",
        'custom_llm_provider == "',
        'provider_name == "',
        "upstream apply: litellm/main.py: the if/elif chain on custom_llm_provider in completion(): not found "
        "(completion(): dispatch to _complete_commandcode)",
    ),
}


@pytest.mark.parametrize("case", MOVED_STRUCTURES)
def test_cli_fails_naming_file_and_structure_when_upstream_moved_code_and_writes_nothing(
    case: str, pristine: dict[str, Path], tmp_path: Path
) -> None:
    path, old, new, message = MOVED_STRUCTURES[case]
    tree: Final = _checkout(pristine[NEWEST], tmp_path / "moved")
    source: Final = tree / path
    assert old in source.read_text(encoding="utf-8")
    source.write_text(source.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    before: Final = _snapshot(tree, upstream.touched_paths(tree))
    with tempfile.TemporaryDirectory() as cwd:
        done: Final = subprocess.run(
            [sys.executable, "-m", "litellm_commandcode.upstream", "apply", str(tree)],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPOSITORY), "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == message
    assert _snapshot(tree, upstream.touched_paths(tree)) == before


INTERNALS_SCRIPT: Final = (
    "import json; from litellm_commandcode.compat import INTERNALS, litellm_version, missing_internals; "
    "print(json.dumps([litellm_version(), missing_internals(optional=True), "
    "[internal.name for internal in INTERNALS if litellm_version() not in internal.checked_on]]))"
)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_internal_the_plugin_relies_on_is_as_listed_in_the_pristine_release(
    version: str, pristine: dict[str, Path]
) -> None:
    env: Final = {**isolated_env(pristine[version]), "PYTHONPATH": f"{pristine[version]}{os.pathsep}{REPOSITORY}"}
    with tempfile.TemporaryDirectory() as cwd:
        done: Final = subprocess.run(
            [sys.executable, "-c", INTERNALS_SCRIPT],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
        )
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [version, [], []]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("version", VERSIONS)
def test_patched_tree(version: str, check: str, check_runs: dict[str, CheckRun]) -> None:
    run: Final = check_runs[version]
    assert check in run.results, run.log
    assert run.results[check] == expected_check(check)


def _run_in_child(check: str) -> NoReturn:
    exit_code = 1
    try:
        print(RESULT_PREFIX + json.dumps({"check": check, "result": CHECKS[check]()}))
        exit_code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


def run_checks_in_children(checks: Sequence[str]) -> int:
    """Import the tree's litellm once, then run each check in its own process forked from this one (which has run
    nothing yet, and has no other thread): isolated like a fresh interpreter, without paying the import each time."""
    failed = 0
    for check in checks:
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
        if child == 0:
            _run_in_child(check)
        failed += os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_checks_in_children(sys.argv[1:]))
