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
import textwrap
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
# The provider's unit tests, copied into upstream's tests/test_litellm/ layout (mirroring the source path) where the
# tree has that folder: they import nothing but litellm.
UPSTREAM_TESTS: Final = "tests/test_litellm"
PROVIDER_TEST_FILES: Final = {
    f"{UPSTREAM_TESTS}/llms/{PROVIDER}/chat/test_transformation.py": REPOSITORY
    / "tests"
    / "unit"
    / "llms"
    / PROVIDER
    / "chat"
    / "test_transformation.py",
}

ADDED: Final = "added"
ALREADY_THERE: Final = "already there"
ABSENT: Final = "absent (not a BerriAI/litellm checkout, e.g. an unpacked wheel), skipped"
NO_UPSTREAM_TESTS: Final = f"no {UPSTREAM_TESTS}/ (not a BerriAI/litellm checkout, e.g. an unpacked wheel), skipped"
# Common lines kept before the first change when diffing, so the matcher anchors it as it would on the whole file.
MATCH_MARGIN: Final = 200


class UpstreamError(Exception):
    """The change cannot be made: a file or a structure is missing, or an edit would leave a file invalid."""


class StructureNotFoundError(UpstreamError):
    def __init__(self, structure: str, problem: str = "not found") -> None:
        super().__init__(f"{structure}: {problem}")


@dataclass(frozen=True)
class Change:
    text: str
    note: str


Transform = Callable[[str], Change]


@dataclass(frozen=True)
class Edit:
    path: str
    purpose: str
    structure: str
    transform: Transform


@dataclass(frozen=True)
class FileChange:
    path: str
    old: bytes | None
    new: bytes
    notes: tuple[str, ...]


# ---------------------------------------------------------------------------------------------------------------------
# Python sources: every insertion point is a named structure found in the parsed file (a class, a function, an
# assignment, an if/elif chain on a discriminant); new entries go in sorted position where the container is sorted,
# at its end otherwise, one per line in the container's own indentation.
# ---------------------------------------------------------------------------------------------------------------------

ContainerNode = ast.List | ast.Tuple | ast.Set | ast.Dict
# A container shorter than this says nothing about whether its entries are kept sorted.
MIN_SORTED_EVIDENCE: Final = 3


def _lines(source: str) -> list[str]:
    return source.splitlines(keepends=True)


def _insert_lines_before(source: str, line_number: int, text: str) -> str:
    lines: Final = _lines(source)
    return "".join([*lines[: line_number - 1], text, *lines[line_number - 1 :]])


def _insert_lines_after(source: str, line_number: int, text: str) -> str:
    lines: Final = _lines(source)
    return "".join([*lines[:line_number], text, *lines[line_number:]])


def _indent_of(source: str, line_number: int) -> str:
    line: Final = _lines(source)[line_number - 1]
    return line[: len(line) - len(line.lstrip())]


def _indented(text: str, indent: str) -> str:
    block: Final = textwrap.dedent(text if text.endswith("\n") else text + "\n")
    return "".join(f"{indent}{line}" if line.strip() else line for line in block.splitlines(keepends=True))


def _starts_own_line(source: str, node: ast.expr | ast.stmt) -> bool:
    line: Final = _lines(source)[node.lineno - 1]
    return not line[: node.col_offset].strip()


def _top_level_names(module: ast.Module) -> set[str]:
    names: Final[set[str]] = set()
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _assignment(module: ast.Module, name: str) -> ast.Assign | ast.AnnAssign | None:
    for node in module.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return node  # type: ignore[return-value]
    return None


def _unwrapped(value: ast.expr | None) -> ast.expr | None:
    """`MappingProxyType({...})`, `frozenset((...))` and the like hold their container as the only argument."""
    if isinstance(value, ast.Call) and len(value.args) == 1 and not value.keywords:
        return value.args[0]
    return value


def _scope(module: ast.Module, dotted: str) -> ast.AST | None:
    """A class, function or method by its dotted name (`ProviderConfigManager._build_provider_config_map`)."""
    scope: ast.AST = module
    for part in dotted.split("."):
        body: list[ast.stmt] = getattr(scope, "body", [])
        found = next(
            (
                node
                for node in body
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == part
            ),
            None,
        )
        if found is None:
            return None
        scope = found
    return scope


def _entry_key(node: ast.expr | None) -> str | None:
    """The sort key of a container entry: a string literal, or the member name of `Enum.MEMBER`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_sorted(keys: Sequence[str | None]) -> bool:
    folded: Final = [key.casefold() for key in keys if key is not None]
    return len(folded) == len(keys) >= MIN_SORTED_EVIDENCE and folded == sorted(folded)


def _with_trailing_comma(source: str, last: ast.expr) -> str:
    if last.end_lineno is None or last.end_col_offset is None:
        raise UpstreamError("the container's last entry has no position")
    lines: Final = _lines(source)
    line: Final = lines[last.end_lineno - 1]
    rest: Final = line[last.end_col_offset :]
    if rest.lstrip().startswith(","):
        return source
    lines[last.end_lineno - 1] = line[: last.end_col_offset] + "," + rest
    return "".join(lines)


def _insert_entry(source: str, container: ContainerNode, key: str, entry: str, structure: str) -> str:
    """Insert `entry` (one or more lines, no indentation) into the one-entry-per-line `container`."""
    starts: Final[list[ast.expr]] = (
        [k if k is not None else v for k, v in zip(container.keys, container.values, strict=True)]
        if isinstance(container, ast.Dict)
        else list(container.elts)
    )
    ends: Final[list[ast.expr]] = list(container.values) if isinstance(container, ast.Dict) else list(container.elts)
    if not starts:
        raise StructureNotFoundError(structure, "is empty: its indentation is unknown")
    if not all(_starts_own_line(source, start) for start in starts):
        raise StructureNotFoundError(structure, "is no longer one entry per line")
    keys: Final = [_entry_key(start) for start in starts]
    if _is_sorted(keys):
        position = next((i for i, k in enumerate(keys) if k is not None and k.casefold() > key.casefold()), len(keys))
        if position < len(starts):
            line_number = starts[position].lineno
            return _insert_lines_before(source, line_number, _indented(entry, _indent_of(source, line_number)))
    last: Final = ends[-1]
    text: Final = _indented(entry, _indent_of(source, starts[-1].lineno))
    return _insert_lines_after(_with_trailing_comma(source, last), last.end_lineno or last.lineno, text)


def _container(module: ast.Module, name: str) -> ContainerNode | None:
    node: Final = _assignment(module, name)
    value: Final = _unwrapped(node.value if node is not None else None)
    return value if isinstance(value, ast.List | ast.Tuple | ast.Set | ast.Dict) else None


def _container_has(container: ContainerNode, key: str) -> bool:
    entries: Final = container.keys if isinstance(container, ast.Dict) else container.elts
    return any(_entry_key(entry) == key for entry in entries)


def add_container_entry(path: str, name: str, key: str, entry: str) -> Edit:
    """Add `entry` (keyed `key`) to the list, tuple, set or dict assigned to the top-level `name`."""
    structure: Final = f"{name} (a top-level list, tuple, set or dict)"

    def transform(source: str) -> Change:
        container: Final = _container(ast.parse(source), name)
        if container is None:
            raise StructureNotFoundError(structure)
        if _container_has(container, key):
            return Change(source, ALREADY_THERE)
        return Change(_insert_entry(source, container, key, entry, structure), ADDED)

    return Edit(path, f"{name} entry {key!r}", structure, transform)


def add_returned_dict_entry(path: str, function: str, key: str, entry: str) -> Edit:
    """Add `entry` to the dict literal that `function` returns."""
    structure: Final = f"the dict returned by {function}"

    def transform(source: str) -> Change:
        scope: Final = _scope(ast.parse(source), function)
        returned: Final = [
            node.value
            for node in (ast.walk(scope) if scope is not None else ())
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict)
        ]
        if len(returned) != 1:
            raise StructureNotFoundError(structure, "not found" if not returned else f"found {len(returned)} times")
        if _container_has(returned[0], key):
            return Change(source, ALREADY_THERE)
        return Change(_insert_entry(source, returned[0], key, entry, structure), ADDED)

    return Edit(path, f"{function} entry {key}", structure, transform)


def add_enum_member(path: str, class_name: str, member: str, value: str) -> Edit:
    """Add `member = "value"` to the string enum `class_name`: in sorted position if its members are sorted."""
    structure: Final = f"class {class_name} (string enum)"

    def transform(source: str) -> Change:
        node: Final = _scope(ast.parse(source), class_name)
        if not isinstance(node, ast.ClassDef):
            raise StructureNotFoundError(structure)
        members: Final = [
            stmt
            for stmt in node.body
            if isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ]
        if not members:
            raise StructureNotFoundError(structure, "has no string members")
        if any(isinstance(stmt.value, ast.Constant) and stmt.value.value == value for stmt in members):
            return Change(source, ALREADY_THERE)
        names: Final[list[str | None]] = [
            stmt.targets[0].id if isinstance(stmt.targets[0], ast.Name) else None for stmt in members
        ]
        line: Final = f'{member} = "{value}"\n'
        if _is_sorted(names):
            after = next(
                (
                    stmt
                    for stmt, name in zip(members, names, strict=True)
                    if name and name.casefold() > member.casefold()
                ),
                None,
            )
            if after is not None:
                return Change(
                    _insert_lines_before(source, after.lineno, _indent_of(source, after.lineno) + line), ADDED
                )
        last: Final = members[-1]
        text: Final = _indent_of(source, last.lineno) + line
        return Change(_insert_lines_after(source, last.end_lineno or last.lineno, text), ADDED)

    return Edit(path, f"{class_name}.{member}", structure, transform)


def _is_elif(source: str, node: ast.If) -> bool:
    return _lines(source)[node.lineno - 1][node.col_offset :].startswith("elif")


def _chain(source: str, head: ast.If) -> list[ast.If]:
    branches: Final = [head]
    while len(branches[-1].orelse) == 1 and isinstance(branches[-1].orelse[0], ast.If):
        if not _is_elif(source, branches[-1].orelse[0]):
            break
        branches.append(branches[-1].orelse[0])
    return branches


def _normal(expression: str) -> str:
    """`expression` as ast.unparse spells it, to compare with the unparsed source."""
    return ast.unparse(ast.parse(expression, mode="eval").body)


def _tested_literals(test: ast.expr, discriminant: str) -> set[str]:
    """The string literals `test` compares `discriminant` with (`==`, `in (...)`, joined by `or` or `and`)."""
    if isinstance(test, ast.BoolOp):
        return {literal for value in test.values for literal in _tested_literals(value, discriminant)}
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return set()
    right: Final = test.comparators[0]
    if isinstance(test.ops[0], ast.Eq) and ast.unparse(right) == _normal(discriminant):
        # `LlmProviders.NAME == provider`: the member stands for its lower-case value.
        left: Final = test.left
        is_member: Final = isinstance(left, ast.Attribute) and ast.unparse(left.value) == "LlmProviders"
        return {left.attr.lower()} if isinstance(left, ast.Attribute) and is_member else set()
    if ast.unparse(test.left) != _normal(discriminant):
        return set()
    if isinstance(test.ops[0], ast.Eq) and isinstance(right, ast.Constant) and isinstance(right.value, str):
        return {right.value}
    if isinstance(test.ops[0], ast.In) and isinstance(right, ast.Tuple | ast.List | ast.Set):
        return {elt.value for elt in right.elts if isinstance(elt, ast.Constant) and isinstance(elt.value, str)}
    return set()


def _provider_chain(source: str, scope: ast.AST, discriminant: str) -> list[ast.If] | None:
    """The longest if/elif chain in `scope` that dispatches on `discriminant` (at least three literal branches)."""
    heads: Final = [node for node in ast.walk(scope) if isinstance(node, ast.If) and not _is_elif(source, node)]
    chains: Final = [_chain(source, head) for head in heads]
    scored: Final = [
        (sum(bool(_tested_literals(branch.test, discriminant)) for branch in chain), chain) for chain in chains
    ]
    best: Final = max(scored, key=lambda item: item[0], default=None)
    return best[1] if best is not None and best[0] >= MIN_SORTED_EVIDENCE else None


def add_chain_branch(path: str, function: str, discriminant: str, literal: str, branch: str, purpose: str) -> Edit:
    """Add `branch` (an `elif` block) as the last branch of `function`'s if/elif chain on `discriminant` (before its
    final `else:` if it has one), so every branch upstream had keeps its precedence."""
    structure: Final = f"the if/elif chain on {discriminant} in {function}()"

    def transform(source: str) -> Change:
        scope: Final = _scope(ast.parse(source), function)
        if scope is None:
            raise StructureNotFoundError(f"def {function}")
        chain: Final = _provider_chain(source, scope, discriminant)
        if chain is None:
            raise StructureNotFoundError(structure)
        if any(literal in _tested_literals(branch_node.test, discriminant) for branch_node in chain):
            return Change(source, ALREADY_THERE)
        body_end: Final = max(stmt.end_lineno or stmt.lineno for stmt in chain[-1].body)
        return Change(_insert_lines_after(source, body_end, _indented(branch, " " * chain[0].col_offset)), ADDED)

    return Edit(path, purpose, structure, transform)


def add_chain_branch_unless_calls(
    path: str, function: str, discriminant: str, literal: str, branch: str, purpose: str, call: str
) -> Edit:
    """As add_chain_branch; a release whose `function` calls `call` instead of keeping a chain needs no branch."""
    inner: Final = add_chain_branch(path, function, discriminant, literal, branch, purpose)

    def transform(source: str) -> Change:
        scope: Final = _scope(ast.parse(source), function)
        calls: Final = scope is not None and any(
            isinstance(node, ast.Call) and ast.unparse(node.func) == call for node in ast.walk(scope)
        )
        if scope is not None and calls and _provider_chain(source, scope, discriminant) is None:
            return Change(source, f"not needed ({function}() calls {call}())")
        return inner.transform(source)

    return Edit(path, purpose, inner.structure, transform)


def add_function_after_family(path: str, prefix: str, name: str, function: str, needs: Sequence[str]) -> Edit:
    """Add the top-level `function` after the last top-level function named `prefix*` (or in sorted position)."""
    structure: Final = f"top-level functions {prefix}*"

    def transform(source: str) -> Change:
        module: Final = ast.parse(source)
        defined: Final = _top_level_names(module)
        if name in defined:
            return Change(source, ALREADY_THERE)
        missing: Final = [need for need in needs if need not in defined]
        if missing:
            raise StructureNotFoundError(f"{', '.join(missing)} (used by {name})", "no longer defined at top level")
        family: Final = [
            node for node in module.body if isinstance(node, ast.FunctionDef) and node.name.startswith(prefix)
        ]
        if not family:
            raise StructureNotFoundError(structure)
        names: Final[list[str | None]] = [node.name for node in family]
        following: Final = (
            next((node for node in family if node.name.casefold() > name.casefold()), None)
            if _is_sorted(names)
            else None
        )
        if following is not None:
            start = min([following.lineno, *(decorator.lineno for decorator in following.decorator_list)])
            return Change(_insert_lines_before(source, start, textwrap.dedent(function) + "\n\n"), ADDED)
        last: Final = family[-1]
        return Change(
            _insert_lines_after(source, last.end_lineno or last.lineno, "\n\n" + textwrap.dedent(function)), ADDED
        )

    return Edit(path, name, structure, transform)


def add_set_declaration(path: str, name: str, declaration: str, family_suffix: str) -> Edit:
    """Declare the top-level `name` after the last top-level `*{family_suffix}` declaration initialised by a call."""
    structure: Final = f"top-level *{family_suffix} declarations"

    def transform(source: str) -> Change:
        module: Final = ast.parse(source)
        if name in _top_level_names(module):
            return Change(source, ALREADY_THERE)
        family: Final = [
            node
            for node in module.body
            if isinstance(node, ast.AnnAssign | ast.Assign)
            and isinstance(node.value, ast.Call)
            and any(
                isinstance(target, ast.Name) and target.id.endswith(family_suffix)
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
        ]
        if not family:
            raise StructureNotFoundError(structure)
        last: Final = family[-1]
        return Change(_insert_lines_after(source, last.end_lineno or last.lineno, declaration + "\n"), ADDED)

    return Edit(path, name, structure, transform)


def _union_operands(node: ast.expr | None) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*_union_operands(node.left), *_union_operands(node.right)]
    return [node] if node is not None else []


def add_union_operand(path: str, name: str, operand: str) -> Edit:
    """Add `| operand` to the one-operand-per-line `a | b | ...` union assigned to the top-level `name`."""
    structure: Final = f"{name} = [list](a | b | ...) (top-level union, one operand per line)"

    def transform(source: str) -> Change:
        node: Final = _assignment(ast.parse(source), name)
        operands: Final = _union_operands(_unwrapped(node.value)) if node is not None and node.value is not None else []
        if len(operands) < 2:
            raise StructureNotFoundError(structure)
        if any(ast.unparse(item) == operand for item in operands):
            return Change(source, ALREADY_THERE)
        last: Final = operands[-1]
        prefix: Final = _lines(source)[last.lineno - 1][: last.col_offset]
        if prefix.strip() != "|" or last.end_lineno != last.lineno:
            raise StructureNotFoundError(structure, "is no longer one `| operand` per line")
        return Change(_insert_lines_after(source, last.lineno, f"{prefix}{operand}\n"), ADDED)

    return Edit(path, f"{name} | {operand}", structure, transform)


def _imports_from(block: ast.If, package: str) -> list[ast.ImportFrom]:
    return [
        stmt
        for stmt in block.body
        if isinstance(stmt, ast.ImportFrom) and stmt.level == 1 and (stmt.module or "").startswith(package)
    ]


def add_type_checking_imports(path: str, package: str, module_prefix: str, imports: str) -> Edit:
    """Add `imports` after the last provider-package import of the top-level `if TYPE_CHECKING:` block that has most."""
    structure: Final = f"top-level `if TYPE_CHECKING:` block importing from .{package}"

    def transform(source: str) -> Change:
        blocks: Final = [
            node
            for node in ast.parse(source).body
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING" and _imports_from(node, package)
        ]
        if not blocks:
            raise StructureNotFoundError(structure)
        block: Final = max(blocks, key=lambda node: len(_imports_from(node, package)))
        if _imports_from(block, module_prefix):
            return Change(source, ALREADY_THERE)
        last: Final = _imports_from(block, package)[-1]
        text: Final = _indented(imports, _indent_of(source, last.lineno))
        return Change(_insert_lines_after(source, last.end_lineno or last.lineno, text), ADDED)

    return Edit(path, f"TYPE_CHECKING imports from .{module_prefix}", structure, transform)


def first_of(path: str, purpose: str, edits: Sequence[Edit]) -> Edit:
    """The first of `edits` whose structure the file has: a registry upstream reshaped between releases."""
    structure: Final = " or ".join(edit.structure for edit in edits)

    def transform(source: str) -> Change:
        for edit in edits:
            try:
                return edit.transform(source)
            except StructureNotFoundError:
                continue
        raise StructureNotFoundError(structure)

    return Edit(path, purpose, structure, transform)


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
            raise StructureNotFoundError(f'"{key}": {{')
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
    structure: Final = f'"{container_key}": {{' if container_key else "top-level JSON object"

    def transform(text: str) -> Change:
        document: Final = json.loads(text)
        container: Final = document.get(container_key) if container_key else document
        if not isinstance(container, dict):
            raise StructureNotFoundError(structure)
        missing: Final = {key: value for key, value in members.items() if key not in container}
        if not missing:
            return Change(text, ALREADY_THERE)
        start: Final = _member_value_offset(text, container_key) if container_key else _skip_whitespace(text, 0)
        level: Final = 2 if container_key else 1
        rendered: Final = [_render(value, level, _indent_unit(text), key) for key, value in missing.items()]
        note: Final = ADDED if len(missing) == len(members) else f"added {len(missing)} missing of {len(members)}"
        return Change(_checked_json(_append_to_container(text, start, rendered)), note)

    return Edit(path, purpose, structure, transform)


def append_json_item(path: str, purpose: str, item: Mapping[str, object], identity: str) -> Edit:
    """Append `item` to the top-level array unless an item with the same `identity` field is there."""
    structure: Final = "top-level JSON array"

    def transform(text: str) -> Change:
        document: Final = json.loads(text)
        if not isinstance(document, list):
            raise StructureNotFoundError(structure)
        if any(isinstance(entry, dict) and entry.get(identity) == item[identity] for entry in document):
            return Change(text, ALREADY_THERE)
        rendered: Final = _render(item, 1, _indent_unit(text))
        return Change(_checked_json(_append_to_container(text, _skip_whitespace(text, 0), [rendered])), ADDED)

    return Edit(path, purpose, structure, transform)


def _house_endpoint_fields(text: str) -> list[str]:
    """The endpoint fields most providers list, in their order: the file's current per-provider schema."""
    providers: Final = json.loads(text).get("providers")
    if not isinstance(providers, dict) or not providers:
        raise StructureNotFoundError('"providers": {')
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
        raise StructureNotFoundError("| Provider | `/chat/completions` | ... (supported providers table header)")
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

GLUE_SOURCE: Final = Path(__file__).resolve().parent / "glue.py"


@dataclass(frozen=True)
class GlueFunction:
    name: str
    source: str
    # The names it takes from glue.py's imports: the LiteLLM file it goes into must define each at top level.
    needs: tuple[str, ...]


def glue_function(name: str) -> GlueFunction:
    """The function `name` of `litellm_commandcode/glue.py`, as written there (read, not imported)."""
    text: Final = GLUE_SOURCE.read_text(encoding="utf-8")
    module: Final = ast.parse(text)
    node: Final = next(
        (node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == name),
        None,
    )
    segment: Final = ast.get_source_segment(text, node) if node is not None else None
    if node is None or segment is None:
        raise UpstreamError(f"{GLUE_SOURCE}: no top-level function {name}")
    imported: Final = {
        (alias.asname or alias.name).split(".")[0]
        for statement in module.body
        if isinstance(statement, ast.Import | ast.ImportFrom)
        for alias in statement.names
    }
    used: Final = {found.id for found in ast.walk(node) if isinstance(found, ast.Name)}
    return GlueFunction(name, segment + "\n", tuple(sorted(used & imported)))


def add_glue_function(path: str, family_prefix: str, name: str) -> Edit:
    """Add glue.py's `name` after the `family_prefix*` functions of `path`."""
    glue: Final = glue_function(name)
    return add_function_after_family(path, family_prefix, name, glue.source, glue.needs)


VALIDATE_ENVIRONMENT_BRANCH: Final = """\
elif custom_llm_provider == "commandcode":
    if "COMMANDCODE_API_KEY" in os.environ or "COMMAND_CODE_API_KEY" in os.environ:
        keys_in_environment = True
    else:
        missing_keys.append("COMMANDCODE_API_KEY")
"""

MODEL_INFO_BRANCH: Final = """\
elif LlmProviders.COMMANDCODE == provider:
    from litellm.llms.commandcode.model_info import CommandCodeModelInfo

    return CommandCodeModelInfo()
"""

REGISTER_MODEL_BRANCH: Final = """\
elif value.get("litellm_provider") == "commandcode":
    if key not in litellm.commandcode_models:
        litellm.commandcode_models.add(key)
"""

POPULATE_MODEL_SETS_BRANCH: Final = """\
elif value.get("litellm_provider") == "commandcode":
    commandcode_models.add(key)
"""

GET_LLM_PROVIDER_BRANCH: Final = """\
elif custom_llm_provider == "commandcode":
    api_base = litellm.CommandCodeChatConfig.get_api_base(api_base)  # rebind-ok: chain resolves in place
    dynamic_api_key = litellm.CommandCodeChatConfig.get_api_key(api_key)  # rebind-ok: chain resolves in place
"""

DISPATCH_BRANCH: Final = """\
elif custom_llm_provider == "commandcode":
    response = _complete_commandcode(_dispatch_ctx)  # rebind-ok: dispatch chain binds response per branch
"""

TYPE_CHECKING_IMPORTS: Final = """\
from .llms.commandcode.chat.transformation import (
    CommandCodeChatConfig as CommandCodeChatConfig,
)
from .llms.commandcode.common_utils import (
    CommandCodeError as CommandCodeError,
)
"""

# name -> (module relative to the litellm package, attribute): what `litellm.<name>` loads lazily.
LAZY_ATTRIBUTES: Final = {
    "CommandCodeChatConfig": (".llms.commandcode.chat.transformation", "CommandCodeChatConfig"),
    "CommandCodeError": (".llms.commandcode.common_utils", "CommandCodeError"),
}

EXCEPTION_BRANCH: Final = """\
elif custom_llm_provider == "commandcode":
    _map_commandcode_exception(
        model=model,
        original_exception=mappable_exception,
        custom_llm_provider=custom_llm_provider,
        error_str=error_str,
        exception_type=exception_type,
        exception_provider=exception_provider,
        extra_information=extra_information,
    )
"""


def obviated_by(edit: Edit, name: str, reason: str) -> Edit:
    """`edit`, or nothing to do on a release whose file has the top-level `name` in place of `edit`'s structure."""

    def transform(source: str) -> Change:
        try:
            return edit.transform(source)
        except StructureNotFoundError:
            if name not in _top_level_names(ast.parse(source)):
                raise
            return Change(source, f"not needed ({reason})")

    return Edit(edit.path, edit.purpose, f"{edit.structure} (or {name})", transform)


def _lazy_registry_edits(path: str) -> tuple[Edit, ...]:
    """Up to 1.109 the registry is a tuple of names plus a name -> (module, attribute) dict per group; from 1.110 it is
    one `LITELLM_ATTRIBUTES` mapping."""
    entries: Final = {name: f"{name!r}: {target!r},".replace("'", '"') for name, target in LAZY_ATTRIBUTES.items()}
    maps: Final = tuple(
        first_of(
            path,
            f"lazy import of litellm.{name}",
            (
                add_container_entry(path, "LITELLM_ATTRIBUTES", name, entry),
                add_container_entry(path, "_LLM_CONFIGS_IMPORT_MAP", name, entry),
            ),
        )
        for name, entry in entries.items()
    )
    names: Final = tuple(
        obviated_by(
            add_container_entry(path, "LLM_CONFIG_NAMES", name, f'"{name}",'),
            "LITELLM_ATTRIBUTES",
            "LITELLM_ATTRIBUTES is the whole registry",
        )
        for name in LAZY_ATTRIBUTES
    )
    return (*maps, *names)


def _init_edits(path: str) -> tuple[Edit, ...]:
    return (
        add_set_declaration(path, f"{PROVIDER}_models", f"{PROVIDER}_models: Set = set()", "_models"),
        add_chain_branch(
            path,
            "_populate_provider_model_sets",
            'value.get("litellm_provider")',
            PROVIDER,
            POPULATE_MODEL_SETS_BRANCH,
            "cost-map entries of litellm_provider commandcode -> commandcode_models",
        ),
        add_union_operand(path, "model_list", f"{PROVIDER}_models"),
        add_returned_dict_entry(path, "_build_models_by_provider", PROVIDER, f'"{PROVIDER}": {PROVIDER}_models,'),
        add_type_checking_imports(path, "llms.", f"llms.{PROVIDER}.", TYPE_CHECKING_IMPORTS),
    )


def _utils_edits(path: str) -> tuple[Edit, ...]:
    return (
        add_returned_dict_entry(
            path,
            "ProviderConfigManager._build_provider_config_map",
            "COMMANDCODE",
            "LlmProviders.COMMANDCODE: (litellm.CommandCodeChatConfig, False),",
        ),
        add_chain_branch(
            path,
            "validate_environment",
            "custom_llm_provider",
            PROVIDER,
            VALIDATE_ENVIRONMENT_BRANCH,
            "validate_environment: COMMANDCODE_API_KEY or COMMAND_CODE_API_KEY",
        ),
        add_chain_branch(
            path,
            "ProviderConfigManager.get_provider_model_info",
            "provider",
            PROVIDER,
            MODEL_INFO_BRANCH,
            "get_provider_model_info: the live model list for check_provider_endpoint",
        ),
        add_chain_branch_unless_calls(
            path,
            "register_model",
            'value.get("litellm_provider")',
            PROVIDER,
            REGISTER_MODEL_BRANCH,
            "register_model: keep litellm.commandcode_models in step",
            "litellm.add_known_models",
        ),
    )


def python_edits() -> tuple[Edit, ...]:
    main: Final = "litellm/main.py"
    exception_mapping: Final = "litellm/litellm_core_utils/exception_mapping_utils.py"
    return (
        add_enum_member("litellm/types/utils.py", "LlmProviders", PROVIDER.upper(), PROVIDER),
        add_container_entry("litellm/constants.py", "LITELLM_CHAT_PROVIDERS", PROVIDER, f'"{PROVIDER}",'),
        *_init_edits("litellm/__init__.py"),
        *_lazy_registry_edits("litellm/_lazy_imports_registry.py"),
        *_utils_edits("litellm/utils.py"),
        add_chain_branch(
            "litellm/litellm_core_utils/get_llm_provider_logic.py",
            "_get_openai_compatible_provider_info",
            "custom_llm_provider",
            PROVIDER,
            GET_LLM_PROVIDER_BRANCH,
            "api_base and key from CommandCodeChatConfig (COMMANDCODE_* env)",
        ),
        add_glue_function(main, "_complete_", "_complete_commandcode"),
        add_chain_branch(
            main,
            "completion",
            "custom_llm_provider",
            PROVIDER,
            DISPATCH_BRANCH,
            "completion(): dispatch to _complete_commandcode",
        ),
        add_glue_function(exception_mapping, "_map_", "_map_commandcode_exception"),
        add_chain_branch(
            exception_mapping,
            "exception_type",
            "custom_llm_provider",
            PROVIDER,
            EXCEPTION_BRANCH,
            "exception_type: commandcode errors -> _map_commandcode_exception",
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


def _structure_label(structure: str) -> str:
    return " / ".join(line.strip() for line in structure.strip().splitlines())


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
        notes.append(f"{path}: {edit.purpose} [{_structure_label(edit.structure)}]: {change.note}")
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
    for path, source in PROVIDER_TEST_FILES.items():
        if (tree / UPSTREAM_TESTS).is_dir():
            changes.append(_copy_change(tree, path, source.read_bytes()))
        else:
            absent.append(f"{path}: {NO_UPSTREAM_TESTS}")
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
    return sorted({*existing, *provider_files(), *PROVIDER_TEST_FILES, *_edits_by_path(all_edits())})


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
        if (tree / UPSTREAM_TESTS).is_dir():
            (scratch / UPSTREAM_TESTS).mkdir(parents=True)
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
