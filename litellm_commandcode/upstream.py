"""Apply the Command Code provider to a LiteLLM source tree: a BerriAI/litellm checkout or an unpacked release wheel.

`python -m litellm_commandcode.upstream apply TREE` copies `litellm/llms/commandcode/` into TREE and makes every
registration edit LiteLLM needs for a new chat provider; `diff TREE` prints the same change as a git-style unified
diff (for `git apply`) and leaves TREE alone. Every edit hangs on a named piece of upstream code and fails loudly when
upstream moved it; running `apply` again changes nothing.
"""

import argparse
import ast
import difflib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

PROVIDER: Final = "commandcode"
REPOSITORY: Final = Path(__file__).resolve().parent.parent
PROVIDER_SOURCE: Final = REPOSITORY / "litellm" / "llms" / PROVIDER
PROVIDER_TARGET: Final = f"litellm/llms/{PROVIDER}"
COST_MAP_SOURCE: Final = REPOSITORY / "model_prices_and_context_window.json"
DISPLAY_NAME: Final = "Command Code"
DOCS_URL: Final = "https://docs.litellm.ai/docs/providers/commandcode"
DEFAULT_API_BASE: Final = "https://api.commandcode.ai"
DEFAULT_MODEL: Final = "commandcode/deepseek/deepseek-v4-flash"
# Chat completions natively; the rest are LiteLLM endpoints that bridge to chat completions for any chat provider.
SUPPORTED_ENDPOINTS: Final = frozenset(
    ("chat_completions", "messages", "responses", "text_completion", "a2a", "interactions", "generateContent")
)
COST_MAP: Final = "model_prices_and_context_window.json"
COST_MAP_BACKUP: Final = "litellm/model_prices_and_context_window_backup.json"
ENDPOINTS: Final = "provider_endpoints_support.json"
ENDPOINTS_BACKUP: Final = "litellm/provider_endpoints_support_backup.json"
PROVIDER_CREATE_FIELDS: Final = "litellm/proxy/public_endpoints/provider_create_fields.json"
README: Final = "README.md"
# Present in a BerriAI/litellm checkout only; a wheel ships just the `litellm/` package.
ROOT_FILES: Final = frozenset((README, COST_MAP, ENDPOINTS))

ADDED: Final = "added"
ALREADY_THERE: Final = "already there"
ABSENT: Final = "absent (not a BerriAI/litellm checkout, e.g. an unpacked wheel), skipped"
# Common lines kept before the first change when diffing, so the matcher anchors it as it would on the whole file.
MATCH_MARGIN: Final = 200


class UpstreamError(Exception):
    """The change cannot be made: a file or an anchor is missing, or an edit would leave a file invalid."""


class AnchorNotFoundError(UpstreamError):
    def __init__(self, anchor: str, problem: str = "not found") -> None:
        super().__init__(f"anchor {anchor!r} {problem}")


@dataclass(frozen=True)
class Change:
    text: str
    note: str


Transform = Callable[[str], Change]


@dataclass(frozen=True)
class Edit:
    path: str
    purpose: str
    anchor: str
    transform: Transform


@dataclass(frozen=True)
class FileChange:
    path: str
    old: bytes | None
    new: bytes
    notes: tuple[str, ...]


# ---------------------------------------------------------------------------------------------------------------------
# Python sources: text anchors and AST-located containers
# ---------------------------------------------------------------------------------------------------------------------


def _line_start_offsets(source: str, anchor: str) -> list[int]:
    starts: Final = (match.start() for match in re.finditer(re.escape(anchor), source))
    return [start for start in starts if start == 0 or source[start - 1] == "\n"]


def _unique_offset(source: str, anchor: str) -> int:
    offsets: Final = _line_start_offsets(source, anchor)
    if len(offsets) != 1:
        raise AnchorNotFoundError(anchor, "not found" if not offsets else f"found {len(offsets)} times")
    return offsets[0]


def insert_before(
    path: str, purpose: str, anchor: str, text: str, marker: str | None = None, obviated_by: str | None = None
) -> Edit:
    """Insert `text` at the start of the line where `anchor` (unique, at a line start) begins. The edit is already
    there when a line starts with `marker` (default: the first line of `text`), however the rest was formatted since.
    `obviated_by`: code whose presence means this version needs no such edit (checked only when the anchor is gone)."""
    own_line: Final = marker if marker is not None else text.split("\n", 1)[0]

    def transform(source: str) -> Change:
        if _line_start_offsets(source, own_line):
            return Change(source, ALREADY_THERE)
        if obviated_by is not None and not _line_start_offsets(source, anchor) and obviated_by in source:
            return Change(source, f"not needed ({obviated_by.strip()!r} covers it)")
        offset: Final = _unique_offset(source, anchor)
        return Change(source[:offset] + text + source[offset:], ADDED)

    return Edit(path, purpose, anchor, transform)


def _top_level_node(tree: ast.Module, name: str) -> ast.stmt | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == name:
            return node
    return None


def _insert_line_after(source: str, line_number: int, line: str) -> str:
    lines: Final = source.splitlines(keepends=True)
    return "".join([*lines[:line_number], line, *lines[line_number:]])


def _indent_of(source: str, line_number: int) -> str:
    line: Final = source.splitlines()[line_number - 1]
    return line[: len(line) - len(line.lstrip())]


def append_enum_member(path: str, class_name: str, member: str, value: str) -> Edit:
    """Add `member = "value"` after the last member of `class_name` (new providers go at the end)."""
    anchor: Final = f"class {class_name}"

    def transform(source: str) -> Change:
        node: Final = _top_level_node(ast.parse(source), class_name)
        if not isinstance(node, ast.ClassDef):
            raise AnchorNotFoundError(anchor)
        values: Final = [
            stmt.value.value
            for stmt in node.body
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
        ]
        if value in values:
            return Change(source, ALREADY_THERE)
        last: Final = node.body[-1]
        if not isinstance(last, ast.Assign) or last.end_lineno is None:
            raise AnchorNotFoundError(anchor, "no longer ends with a member assignment")
        line: Final = f'{_indent_of(source, last.lineno)}{member} = "{value}"\n'
        return Change(_insert_line_after(source, last.end_lineno, line), ADDED)

    return Edit(path, f"{class_name}.{member}", anchor, transform)


def append_list_item(path: str, name: str, value: str) -> Edit:
    """Add `"value",` as the last item of the one-item-per-line list `name`."""
    anchor: Final = f"{name} = [...]"

    def transform(source: str) -> Change:
        node: Final = _top_level_node(ast.parse(source), name)
        items: Final = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if not isinstance(items, ast.List) or not items.elts:
            raise AnchorNotFoundError(anchor)
        if any(isinstance(item, ast.Constant) and item.value == value for item in items.elts):
            return Change(source, ALREADY_THERE)
        last: Final = items.elts[-1]
        last_line: Final = source.splitlines()[(last.end_lineno or last.lineno) - 1]
        if last.end_lineno is None or not last_line.split("#")[0].rstrip().endswith(","):
            raise AnchorNotFoundError(anchor, "is no longer one item per line with trailing commas")
        line: Final = f'{_indent_of(source, last.lineno)}"{value}",\n'
        return Change(_insert_line_after(source, last.end_lineno, line), ADDED)

    return Edit(path, f"{name} entry", anchor, transform)


# ---------------------------------------------------------------------------------------------------------------------
# JSON files: append to an object or array in place, in the file's own indentation, touching nothing else
# ---------------------------------------------------------------------------------------------------------------------


def _indent_unit(text: str) -> int:
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped and len(stripped) < len(line):
            return len(line) - len(stripped)
    return 2


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _member_value_offset(text: str, key: str) -> int:
    """Offset of the value of `key` in the top-level JSON object of `text`."""
    decoder: Final = json.JSONDecoder()
    index = _skip_whitespace(text, 0) + 1
    while True:
        index = _skip_whitespace(text, index)
        if text[index : index + 1] != '"':
            raise AnchorNotFoundError(f'"{key}": {{')
        name, index = decoder.raw_decode(text, index)
        value_start = _skip_whitespace(text, _skip_whitespace(text, index) + 1)
        if name == key:
            return value_start
        index = _skip_whitespace(text, decoder.raw_decode(text, value_start)[1]) + 1


def _render(value: object, level: int, unit: int, key: str | None = None) -> str:
    prefix: Final = " " * (level * unit)
    lines: Final = json.dumps(value, indent=unit, ensure_ascii=False).split("\n")
    head: Final = f"{json.dumps(key)}: " if key is not None else ""
    return prefix + head + lines[0] + "".join(f"\n{prefix}{line}" for line in lines[1:])


def _append_to_container(text: str, start: int, rendered: Sequence[str]) -> str:
    """Insert rendered members before the closing bracket of the non-empty container that starts at `start`."""
    container, end = json.JSONDecoder().raw_decode(text, start)
    if not container:
        raise UpstreamError("refusing to append to an empty JSON container: its indentation is unknown")
    close: Final = end - 1
    head: Final = text[:close].rstrip()
    return head + ",\n" + ",\n".join(rendered) + text[len(head) : close] + text[close:]


def _checked_json(text: str) -> str:
    json.loads(text)
    return text


def append_json_members(path: str, purpose: str, members: Mapping[str, object], container_key: str | None) -> Edit:
    """Append `members` missing from the top-level object (or from its `container_key` object), in their order."""
    anchor: Final = f'"{container_key}": {{' if container_key else "top-level JSON object"

    def transform(text: str) -> Change:
        document: Final = json.loads(text)
        container: Final = document.get(container_key) if container_key else document
        if not isinstance(container, dict):
            raise AnchorNotFoundError(anchor)
        missing: Final = {key: value for key, value in members.items() if key not in container}
        if not missing:
            return Change(text, ALREADY_THERE)
        start: Final = _member_value_offset(text, container_key) if container_key else _skip_whitespace(text, 0)
        level: Final = 2 if container_key else 1
        rendered: Final = [_render(value, level, _indent_unit(text), key) for key, value in missing.items()]
        note: Final = ADDED if len(missing) == len(members) else f"added {len(missing)} missing of {len(members)}"
        return Change(_checked_json(_append_to_container(text, start, rendered)), note)

    return Edit(path, purpose, anchor, transform)


def append_json_item(path: str, purpose: str, item: Mapping[str, object], identity: str) -> Edit:
    """Append `item` to the top-level array unless an item with the same `identity` field is there."""
    anchor: Final = "top-level JSON array"

    def transform(text: str) -> Change:
        document: Final = json.loads(text)
        if not isinstance(document, list):
            raise AnchorNotFoundError(anchor)
        if any(isinstance(entry, dict) and entry.get(identity) == item[identity] for entry in document):
            return Change(text, ALREADY_THERE)
        rendered: Final = _render(item, 1, _indent_unit(text))
        return Change(_checked_json(_append_to_container(text, _skip_whitespace(text, 0), [rendered])), ADDED)

    return Edit(path, purpose, anchor, transform)


def _house_endpoint_fields(text: str) -> list[str]:
    """The endpoint fields most providers list, in their order: the file's current per-provider schema."""
    providers: Final = json.loads(text).get("providers")
    if not isinstance(providers, dict) or not providers:
        raise AnchorNotFoundError('"providers": {')
    counts: dict[tuple[str, ...], int] = {}
    for entry in providers.values():
        fields = tuple(entry.get("endpoints", {})) if isinstance(entry, dict) else ()
        counts[fields] = counts.get(fields, 0) + 1
    return list(max(counts.items(), key=lambda item: item[1])[0])


def endpoints_entry(fields: Sequence[str]) -> dict[str, object]:
    return {
        "display_name": f"{DISPLAY_NAME} (`{PROVIDER}`)",
        "url": DOCS_URL,
        "endpoints": {field: field in SUPPORTED_ENDPOINTS for field in fields},
    }


def add_endpoints_entry(path: str) -> Edit:
    """The entry follows the file's current per-provider schema, so it is built from the file itself."""
    purpose: Final = f'"{PROVIDER}" in "providers": chat completions and the endpoints bridged to them'

    def transform(text: str) -> Change:
        entry: Final = endpoints_entry(_house_endpoint_fields(text))
        return append_json_members(path, purpose, {PROVIDER: entry}, "providers").transform(text)

    return Edit(path, purpose, '"providers": {', transform)


# ---------------------------------------------------------------------------------------------------------------------
# README: the provider table row, in alphabetical order
# ---------------------------------------------------------------------------------------------------------------------

README_HEADER: Final = re.compile(r"^\| *Provider *\|.*`/chat/completions`")
README_ROW_NAME: Final = re.compile(r"^\| *\[(?P<name>[^\]]*)\]")


def _endpoint_field(column: str) -> str:
    return column.strip().strip("`").strip("/").replace("/", "_")


def readme_row(header: str) -> str:
    columns: Final = header.strip().strip("|").split("|")[1:]
    cells: Final = "".join(" ✅ |" if _endpoint_field(column) in SUPPORTED_ENDPOINTS else "  |" for column in columns)
    return f"| [{DISPLAY_NAME} (`{PROVIDER}`)]({DOCS_URL}) |{cells}\n"


def _table_rows(lines: Sequence[str], first: int) -> Iterator[int]:
    index = first
    while index < len(lines) and lines[index].startswith("|"):
        yield index
        index += 1


def _readme_transform(text: str) -> Change:
    lines: Final = text.splitlines(keepends=True)
    header_index: Final = next((i for i, line in enumerate(lines) if README_HEADER.match(line)), None)
    if header_index is None:
        raise AnchorNotFoundError("| Provider | `/chat/completions` | ... (supported providers table header)")
    rows: Final = list(_table_rows(lines, header_index + 2))
    if any(f"(`{PROVIDER}`)" in lines[index] for index in rows):
        return Change(text, ALREADY_THERE)
    own_key: Final = f"{DISPLAY_NAME} (`{PROVIDER}`)".casefold()
    names: Final = {index: README_ROW_NAME.match(lines[index]) for index in rows}
    position: Final = next(
        (i for i in rows if (name := names[i]) is not None and name.group("name").casefold() > own_key),
        (rows[-1] + 1) if rows else header_index + 2,
    )
    row: Final = readme_row(lines[header_index])
    return Change("".join([*lines[:position], row, *lines[position:]]), ADDED)


def add_readme_row() -> Edit:
    return Edit(README, "provider table row, alphabetical", "| Provider | `/chat/completions` | ...", _readme_transform)


# ---------------------------------------------------------------------------------------------------------------------
# The registration points
# ---------------------------------------------------------------------------------------------------------------------

COMPLETE_FUNCTION: Final = """def _complete_commandcode(ctx: CompletionDispatchContext) -> _CompletionDispatchResult:
    api_base: Final = litellm.CommandCodeChatConfig.get_api_base(ctx.api_base)
    api_key: Final = litellm.CommandCodeChatConfig.get_api_key(ctx.api_key or litellm.api_key)
    # CommandCodeChatConfig logs the raw response itself (post_call); logging the returned stream wrapper here would
    # put it in a reference cycle with its logging object, so a sync caller that stops reading early would hold the
    # pooled connection until the garbage collector runs. commandcode_completion picks the door's config
    # (commandcode_route) and continues pause_turn answers.
    from .llms.commandcode.chat.handler import commandcode_completion

    return commandcode_completion(
        base_llm_http_handler,
        model=ctx.model,
        messages=ctx.messages,
        api_base=api_base,
        custom_llm_provider="commandcode",
        model_response=ctx.model_response,
        encoding=_get_encoding(),
        logging_obj=ctx.logging,
        optional_params=ctx.optional_params,
        timeout=ctx.timeout,
        litellm_params=ctx.litellm_params,
        shared_session=ctx.shared_session,
        acompletion=ctx.acompletion,
        stream=ctx.stream,
        api_key=api_key,
        headers=ctx.headers or litellm.headers,
        client=_dispatch_client_http(ctx),
    )


"""

VALIDATE_ENVIRONMENT_BRANCH: Final = """        elif custom_llm_provider == "commandcode":
            if "COMMANDCODE_API_KEY" in os.environ or "COMMAND_CODE_API_KEY" in os.environ:
                keys_in_environment = True
            else:
                missing_keys.append("COMMANDCODE_API_KEY")
"""

REGISTER_MODEL_BRANCH: Final = """        elif value.get("litellm_provider") == "commandcode":
            if key not in litellm.commandcode_models:
                litellm.commandcode_models.add(key)
"""

GET_LLM_PROVIDER_BRANCH: Final = """    elif custom_llm_provider == "commandcode":
        api_base = litellm.CommandCodeChatConfig.get_api_base(api_base)  # rebind-ok: chain resolves in place
        dynamic_api_key = litellm.CommandCodeChatConfig.get_api_key(api_key)  # rebind-ok: chain resolves in place
"""

DISPATCH_BRANCH: Final = """        elif custom_llm_provider == "commandcode":
            response = _complete_commandcode(_dispatch_ctx)  # rebind-ok: dispatch chain binds response per branch
"""

TYPE_CHECKING_IMPORTS: Final = """    from .llms.commandcode.chat.transformation import (
        CommandCodeChatConfig as CommandCodeChatConfig,
    )
    from .llms.commandcode.common_utils import (
        CommandCodeError as CommandCodeError,
    )
"""

LAZY_IMPORT_MAP_ENTRIES: Final = """\
    "CommandCodeChatConfig": (".llms.commandcode.chat.transformation", "CommandCodeChatConfig"),
    "CommandCodeError": (".llms.commandcode.common_utils", "CommandCodeError"),
"""


def _init_edits(path: str) -> tuple[Edit, ...]:
    return (
        insert_before(
            path, "commandcode_models set", "fal_ai_models: Set = set()\n", "commandcode_models: Set = set()\n"
        ),
        insert_before(
            path,
            "add_known_models: cost-map entries of litellm_provider commandcode",
            '        elif value.get("litellm_provider") == "fal_ai":\n',
            '        elif value.get("litellm_provider") == "commandcode":\n            commandcode_models.add(key)\n',
        ),
        insert_before(path, "model_list union", "    | fal_ai_models\n", "    | commandcode_models\n"),
        insert_before(
            path,
            "models_by_provider entry",
            '        "fal_ai": fal_ai_models,\n',
            '        "commandcode": commandcode_models,\n',
        ),
        insert_before(
            path,
            "TYPE_CHECKING imports of CommandCodeChatConfig and CommandCodeError",
            "    from .llms.fal_ai.chat.transformation import (\n",
            TYPE_CHECKING_IMPORTS,
        ),
    )


def _utils_edits(path: str) -> tuple[Edit, ...]:
    return (
        insert_before(
            path,
            "ProviderConfigManager chat config map",
            "            LlmProviders.FAL_AI: (litellm.FalAIChatConfig, False),\n",
            "            LlmProviders.COMMANDCODE: (litellm.CommandCodeChatConfig, False),\n",
        ),
        insert_before(
            path,
            "validate_environment: COMMANDCODE_API_KEY or COMMAND_CODE_API_KEY",
            '        elif custom_llm_provider == "edenai":\n            if "EDENAI_API_KEY" in os.environ:\n',
            VALIDATE_ENVIRONMENT_BRANCH,
        ),
        insert_before(
            path,
            "register_model: keep litellm.commandcode_models in step",
            '        elif value.get("litellm_provider") == "edenai":\n'
            "            if key not in litellm.edenai_models:\n",
            REGISTER_MODEL_BRANCH,
            obviated_by="        litellm.add_known_models(loaded_model_cost)\n",
        ),
    )


# Command Code relays the upstream model's words ("prompt is too long: N tokens > M maximum"); a usage-window 429 keeps
# the `retry-after` the provider derived from its reset time as the error's own headers, which the proxy sends on to the
# client (a vendor's headers only reach it as `llm_provider-*`); every other status is mapped by exception_type's
# generic status mapping further down.
CONTEXT_WINDOW_BRANCH: Final = """\
            elif custom_llm_provider == "commandcode" and (
                "prompt is too long" in error_str.lower()
                or ExceptionCheckers.is_error_str_context_window_exceeded(error_str)
            ):
                exception_mapping_worked = True
                raise ContextWindowExceededError(
                    message=f"{exception_provider} - {error_str}",
                    model=model,
                    llm_provider=custom_llm_provider,
                    response=getattr(original_exception, "response", None),
                    litellm_debug_info=extra_information,
                )
            elif custom_llm_provider == "commandcode" and getattr(original_exception, "status_code", None) == 429:
                exception_mapping_worked = True
                commandcode_headers = getattr(original_exception, "headers", None) or {}
                raise RateLimitError(
                    message=f"{exception_provider} - {error_str}",
                    model=model,
                    llm_provider=custom_llm_provider,
                    response=getattr(original_exception, "response", None),
                    litellm_debug_info=extra_information,
                    headers=(
                        {"retry-after": str(commandcode_headers["retry-after"])}
                        if "retry-after" in commandcode_headers
                        else None
                    ),
                )
"""


def python_edits() -> tuple[Edit, ...]:
    lazy: Final = "litellm/_lazy_imports_registry.py"
    main: Final = "litellm/main.py"
    return (
        append_enum_member("litellm/types/utils.py", "LlmProviders", "COMMANDCODE", PROVIDER),
        append_list_item("litellm/constants.py", "LITELLM_CHAT_PROVIDERS", PROVIDER),
        *_init_edits("litellm/__init__.py"),
        insert_before(
            lazy,
            "LLM_CONFIG_NAMES: lazy litellm.CommandCodeChatConfig and litellm.CommandCodeError",
            '    "FalAIChatConfig",\n',
            '    "CommandCodeChatConfig",\n    "CommandCodeError",\n',
        ),
        insert_before(
            lazy,
            "_LLM_CONFIGS_IMPORT_MAP entries",
            '    "FalAIChatConfig": (".llms.fal_ai.chat.transformation", "FalAIChatConfig"),\n',
            LAZY_IMPORT_MAP_ENTRIES,
            marker='    "CommandCodeChatConfig": (',
        ),
        *_utils_edits("litellm/utils.py"),
        insert_before(
            "litellm/litellm_core_utils/get_llm_provider_logic.py",
            "get_llm_provider: api_base and key from CommandCodeChatConfig (COMMANDCODE_* env)",
            '    elif custom_llm_provider == "fal_ai":\n',
            GET_LLM_PROVIDER_BRANCH,
        ),
        insert_before(
            main,
            "_complete_commandcode: base_llm_http_handler.completion with CommandCodeChatConfig",
            "def _complete_fal_ai(",
            COMPLETE_FUNCTION,
            marker="def _complete_commandcode(",
        ),
        insert_before(
            main, "completion dispatch branch", '        elif custom_llm_provider == "fal_ai":\n', DISPATCH_BRANCH
        ),
        insert_before(
            "litellm/litellm_core_utils/exception_mapping_utils.py",
            "exception_type: Command Code's context-window errors -> ContextWindowExceededError",
            '            elif custom_llm_provider == "replicate":\n',
            CONTEXT_WINDOW_BRANCH,
        ),
    )


def load_cost_map_entries() -> dict[str, object]:
    entries: Final = json.loads(COST_MAP_SOURCE.read_text(encoding="utf-8"))
    if not isinstance(entries, dict) or not entries:
        raise UpstreamError(f"{COST_MAP_SOURCE}: no cost-map entries (run python -m litellm_commandcode.catalog)")
    return entries


def provider_create_fields_entry() -> dict[str, object]:
    return {
        "provider": PROVIDER.upper(),
        "provider_display_name": DISPLAY_NAME,
        "litellm_provider": PROVIDER,
        "credential_fields": [
            {
                "key": "api_key",
                "label": f"{DISPLAY_NAME} API Key",
                "placeholder": "user_...",
                "tooltip": "Your Command Code API key. Defaults to COMMANDCODE_API_KEY or COMMAND_CODE_API_KEY",
                "required": True,
                "field_type": "password",
                "options": None,
                "default_value": None,
            },
            {
                "key": "api_base",
                "label": "API Base",
                "placeholder": DEFAULT_API_BASE,
                "tooltip": f"Command Code API base URL (defaults to {DEFAULT_API_BASE})",
                "required": False,
                "field_type": "text",
                "options": None,
                "default_value": DEFAULT_API_BASE,
            },
        ],
        "default_model_placeholder": DEFAULT_MODEL,
    }


def data_edits() -> tuple[Edit, ...]:
    entries: Final = load_cost_map_entries()
    purpose: Final = f"{len(entries)} commandcode/* cost-map entries, appended"
    return (
        append_json_members(COST_MAP, purpose, entries, None),
        append_json_members(COST_MAP_BACKUP, purpose, entries, None),
        add_endpoints_entry(ENDPOINTS),
        add_endpoints_entry(ENDPOINTS_BACKUP),
        append_json_item(
            PROVIDER_CREATE_FIELDS,
            "proxy UI create-model fields (api_key, api_base)",
            provider_create_fields_entry(),
            "litellm_provider",
        ),
        add_readme_row(),
    )


def all_edits() -> tuple[Edit, ...]:
    return (*python_edits(), *data_edits())


# ---------------------------------------------------------------------------------------------------------------------
# Planning, applying, diffing
# ---------------------------------------------------------------------------------------------------------------------


def provider_files() -> dict[str, bytes]:
    """`litellm/llms/commandcode/**/*.py` of this repository, keyed by their path in a LiteLLM tree."""
    files: Final = {
        f"{PROVIDER_TARGET}/{source.relative_to(PROVIDER_SOURCE).as_posix()}": source.read_bytes()
        for source in sorted(PROVIDER_SOURCE.rglob("*.py"))
        if "__pycache__" not in source.parts
    }
    if not files:
        raise UpstreamError(f"{PROVIDER_SOURCE}: no provider sources to copy")
    return files


def _read(tree: Path, path: str) -> bytes | None:
    target: Final = tree / path
    return target.read_bytes() if target.is_file() else None


def _validate(path: str, text: str) -> None:
    try:
        if path.endswith(".py"):
            ast.parse(text, filename=path)
        elif path.endswith(".json"):
            json.loads(text)
    except (SyntaxError, ValueError) as e:
        raise UpstreamError(f"{path}: the edit leaves the file invalid: {e}") from None


def _anchor_label(anchor: str) -> str:
    return " / ".join(line.strip() for line in anchor.strip().splitlines())


def plan_file(tree: Path, path: str, edits: Sequence[Edit]) -> FileChange | None:
    old: Final = _read(tree, path)
    if old is None:
        if path in ROOT_FILES:
            return None
        raise UpstreamError(f"{path}: not found in {tree}")
    text = old.decode("utf-8")
    notes: Final[list[str]] = []
    for edit in edits:
        try:
            change = edit.transform(text)
        except (UpstreamError, SyntaxError, ValueError) as e:
            raise UpstreamError(f"{path}: {e} ({edit.purpose})") from None
        text = change.text
        notes.append(f"{path}: {edit.purpose} [anchor: {_anchor_label(edit.anchor)}]: {change.note}")
    _validate(path, text)
    return FileChange(path, old, text.encode("utf-8"), tuple(notes))


def _edits_by_path(edits: Sequence[Edit]) -> dict[str, list[Edit]]:
    grouped: Final[dict[str, list[Edit]]] = {}
    for edit in edits:
        grouped.setdefault(edit.path, []).append(edit)
    return grouped


def _copy_change(tree: Path, path: str, content: bytes) -> FileChange:
    old: Final = _read(tree, path)
    note: Final = ALREADY_THERE if old == content else ("updated" if old is not None else "copied")
    return FileChange(path, old, content, (f"{path}: provider source: {note}",))


@dataclass(frozen=True)
class Plan:
    changes: tuple[FileChange, ...]
    absent: tuple[str, ...]

    @property
    def notes(self) -> list[str]:
        return [note for change in self.changes for note in change.notes] + list(self.absent)


def check_tree(tree: Path) -> None:
    if not (tree / "litellm" / "__init__.py").is_file():
        raise UpstreamError(f"{tree}: not a LiteLLM source tree (no litellm/__init__.py)")


def plan(tree: Path) -> Plan:
    """Every file change for TREE, computed before anything is written; root files a wheel lacks are noted."""
    check_tree(tree)
    changes: Final = [_copy_change(tree, path, content) for path, content in provider_files().items()]
    absent: Final[list[str]] = []
    for path, edits in _edits_by_path(all_edits()).items():
        change = plan_file(tree, path, edits)
        if change is None:
            absent.append(f"{path}: {ABSENT}")
        else:
            changes.append(change)
    return Plan(tuple(changes), tuple(absent))


def apply_tree(tree: Path) -> Plan:
    planned: Final = plan(tree)
    for change in planned.changes:
        if change.new != change.old:
            target = tree / change.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(change.new)
    return planned


def touched_paths(tree: Path) -> list[str]:
    existing: Final = [
        f"{PROVIDER_TARGET}/{p.relative_to(tree / PROVIDER_TARGET).as_posix()}" for p in _tree_provider(tree)
    ]
    return sorted({*existing, *provider_files(), *_edits_by_path(all_edits())})


def _tree_provider(tree: Path) -> list[Path]:
    root: Final = tree / PROVIDER_TARGET
    return [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts] if root.is_dir() else []


def _diff_lines(text: str) -> list[str]:
    parts: Final = text.split("\n")
    lines: Final = [f"{part}\n" for part in parts[:-1]]
    return [*lines, f"{parts[-1]}\n\\ No newline at end of file\n"] if parts[-1] else lines


def _common_prefix(old: Sequence[str], new: Sequence[str]) -> int:
    limit: Final = min(len(old), len(new))
    return next((i for i in range(limit) if old[i] != new[i]), limit)


Opcode = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]


def slide_insertions_down(opcodes: Sequence[Opcode], new: Sequence[str]) -> list[Opcode]:
    """Move each pure insertion down while its first line equals the line after it, as git does: an inserted function
    that ends like its neighbour then shows as the whole function, not as a run starting mid-way through the other."""
    tags: Final = [opcode[0] for opcode in opcodes]
    spans: Final = [list(opcode[1:]) for opcode in opcodes]
    for index in range(1, len(opcodes) - 1):
        if tags[index - 1 : index + 2] != ["equal", "insert", "equal"]:
            continue
        before, inserted, after = spans[index - 1], spans[index], spans[index + 1]
        while after[1] > after[0] and new[inserted[2]] == new[inserted[3]]:
            inserted[:] = [position + 1 for position in inserted]
            before[1], before[3] = before[1] + 1, before[3] + 1
            after[0], after[2] = after[0] + 1, after[2] + 1
    return [
        (tag, span[0], span[1], span[2], span[3])
        for tag, span in zip(tags, spans, strict=True)
        if tag != "equal" or span[1] > span[0]
    ]


class GitStyleMatcher(difflib.SequenceMatcher[str]):
    def __init__(self, old: Sequence[str], new: Sequence[str]) -> None:
        super().__init__(None, old, new)
        self.new_lines: Final = new

    def get_opcodes(self) -> list[Opcode]:
        return slide_insertions_down(super().get_opcodes(), self.new_lines)


def _unified_range(start: int, stop: int) -> str:
    length: Final = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def unified_hunks(old: Sequence[str], new: Sequence[str], context: int = 3) -> Iterator[str]:
    """difflib's unified hunks, matched after the common prefix only (the cost map is 80k lines and grows at its end).
    The margin of common lines kept before the first change lets the matcher anchor it as on the whole file."""
    offset: Final = max(0, _common_prefix(old, new) - MATCH_MARGIN)
    old_middle: Final = old[offset:]
    new_middle: Final = new[offset:]
    matcher: Final = GitStyleMatcher(old_middle, new_middle)
    for group in matcher.get_grouped_opcodes(context):
        old_range = _unified_range(offset + group[0][1], offset + group[-1][2])
        new_range = _unified_range(offset + group[0][3], offset + group[-1][4])
        yield f"@@ -{old_range} +{new_range} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (f" {line}" for line in old_middle[i1:i2])
                continue
            yield from (f"-{line}" for line in old_middle[i1:i2])
            yield from (f"+{line}" for line in new_middle[j1:j2])


def git_file_diff(path: str, old: bytes | None, new: bytes | None) -> str:
    if old == new or new is None:
        return ""
    new_file: Final = old is None
    header: Final = (
        f"diff --git a/{path} b/{path}\n"
        + ("new file mode 100644\n" if new_file else "")
        + f"--- {'/dev/null' if new_file else f'a/{path}'}\n+++ b/{path}\n"
    )
    hunks: Final = unified_hunks(_diff_lines((old or b"").decode("utf-8")), _diff_lines(new.decode("utf-8")))
    return header + "".join(hunks)


def diff_tree(tree: Path) -> tuple[str, tuple[str, ...]]:
    """Apply into a scratch copy of only the files the change touches; return the git-style diff and the root files
    TREE lacks."""
    check_tree(tree)
    paths: Final = touched_paths(tree)
    with tempfile.TemporaryDirectory(prefix="commandcode-upstream-") as scratch_dir:
        scratch: Final = Path(scratch_dir)
        for path in paths:
            if (tree / path).is_file():
                (scratch / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(tree / path, scratch / path)
        planned: Final = apply_tree(scratch)
        patch: Final = "".join(git_file_diff(path, _read(tree, path), _read(scratch, path)) for path in paths)
    return patch, planned.absent


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(prog="python -m litellm_commandcode.upstream", description=__doc__)
    parser.add_argument("command", choices=("apply", "diff"), help="apply to TREE, or print the change as a diff")
    parser.add_argument("tree", type=Path, help="a BerriAI/litellm checkout or an unpacked litellm wheel")
    args: Final = parser.parse_args(argv)
    try:
        if args.command == "apply":
            print("\n".join(apply_tree(args.tree).notes))
            return 0
        patch, absent = diff_tree(args.tree)
    except UpstreamError as e:
        print(f"upstream {args.command}: {e}", file=sys.stderr)
        return 1
    if absent:
        print("\n".join(absent), file=sys.stderr)
    sys.stdout.buffer.write(patch.encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
