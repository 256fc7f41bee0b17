#!/usr/bin/env python3
"""
Fail when `typing.Any` appears in the Command Code provider package (`litellm/llms/commandcode/`).

Reports, as `file:line: ...`, every import of `Any` from `typing` or `typing_extensions` (or a star import from them),
every use of a name bound that way or of `typing.Any` / `typing_extensions.Any` through a module alias, and every
`Any` inside an annotation, string annotations included. Exits 1 when it reports anything.

Usage: scripts/check_no_any.py [PATH ...]   (files or directories; default: litellm/llms/commandcode)
"""

import ast
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_PATHS: Final = (ROOT / "litellm" / "llms" / "commandcode",)
TYPING_MODULES: Final = frozenset(("typing", "typing_extensions"))
ANY: Final = "Any"


def _annotations(tree: ast.AST) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            every_argument = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every_argument += [argument for argument in (arguments.vararg, arguments.kwarg) if argument is not None]
            yield from (argument.annotation for argument in every_argument if argument.annotation is not None)
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def _mentions_any(text: str) -> bool:
    """Whether a string annotation names Any."""
    try:
        tree: Final = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return False
    return next(_any_lines(tree), None) is not None


def _names_any(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id == ANY
    if isinstance(node, ast.Attribute):
        return node.attr == ANY
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and _mentions_any(node.value)


def _any_lines(annotation: ast.AST) -> Iterator[int]:
    yield from (node.lineno for node in ast.walk(annotation) if isinstance(node, ast.expr) and _names_any(node))


def _typing_bindings(tree: ast.AST) -> tuple[dict[int, str], frozenset[str], frozenset[str]]:
    """(offending imports by line, names bound to Any, names bound to the typing modules)."""
    imports: Final[dict[int, str]] = {}
    any_names: Final[set[str]] = set()
    module_names: Final[set[str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module_names.update(alias.asname or alias.name for alias in node.names if alias.name in TYPING_MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module in TYPING_MODULES:
            for alias in node.names:
                if alias.name in (ANY, "*"):
                    any_names.add(alias.asname or ANY)
                    imports.setdefault(node.lineno, f"imports {alias.name} from {node.module}")
    return imports, frozenset(any_names), frozenset(module_names)


def check_source(source: str, filename: str) -> dict[int, str]:
    """What each offending line of one module does with typing.Any, by line."""
    tree: Final = ast.parse(source, filename=filename)
    imports, any_names, module_names = _typing_bindings(tree)
    findings: Final = dict(imports)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in any_names:
            findings.setdefault(node.lineno, f"uses {node.id} (typing.Any)")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == ANY
            and isinstance(node.value, ast.Name)
            and node.value.id in module_names
        ):
            findings.setdefault(node.lineno, f"uses {node.value.id}.Any")
    for annotation in _annotations(tree):
        for line in _any_lines(annotation):
            findings.setdefault(line, "Any in an annotation")
    return dict(sorted(findings.items()))


def _python_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(file for file in path.rglob("*.py") if "__pycache__" not in file.parts)
        else:
            yield path


def _display(path: Path) -> str:
    resolved: Final = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def main(argv: Sequence[str]) -> int:
    paths: Final = [Path(argument) for argument in argv] or list(DEFAULT_PATHS)
    missing: Final = [path for path in paths if not path.exists()]
    if missing:
        print(f"check_no_any: no such path: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    files: Final = list(_python_files(paths))
    failures = 0
    for file in files:
        for line, message in check_source(file.read_text(encoding="utf-8"), str(file)).items():
            print(f"{_display(file)}:{line}: {message}")
            failures += 1
    if failures:
        print(f"check_no_any: typing.Any is not allowed here ({failures} found)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
