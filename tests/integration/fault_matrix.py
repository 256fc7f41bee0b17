"""The fault matrix's plumbing: the named mismatches a row can fail with, the `row` recorder, and the report
`scripts/fault-matrix` prints from pytest's JUnit XML (the proxy process comes from tests/proxy_process.py).

Run as a script it prints the matrix: `python tests/integration/fault_matrix.py REPORT.xml`."""

from __future__ import annotations

import argparse
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

EXPECTED: Final = "expected"
OBSERVED: Final = "observed"
MEASURED: Final = "measured"


class RowMismatch(AssertionError):
    """An observation that differs from the row's expectation in a named way, so that an xfail names what it
    expects to fail (`xfail(raises=...)`) and any other failure of the same row still fails the run."""


class WrongStatus(RowMismatch):
    pass


class WrongErrorClass(RowMismatch):
    pass


class RaisedDuringIteration(RowMismatch):
    """An error Command Code sent before any content surfaced while iterating the stream, not from the call."""


class MissingRetryAfter(RowMismatch):
    pass


class UpstreamRequestCount(RowMismatch):
    pass


class NotServedByTheOther(RowMismatch):
    pass


class UnclearMessage(RowMismatch):
    pass


class SentUpstream(RowMismatch):
    pass


class DisconnectNotPropagated(RowMismatch):
    pass


def check(condition: bool, mismatch: type[AssertionError], message: str) -> None:
    """Fails with the named mismatch (a RowMismatch here, any AssertionError subclass elsewhere) unless `condition`."""
    if not condition:
        raise mismatch(message)


@dataclass
class Row:
    """Records a row's expectation and observation as JUnit properties (pytest's `record_property`)."""

    record: object

    def expect(self, text: str) -> None:
        self._put(EXPECTED, text)

    def observe(self, text: str) -> None:
        self._put(OBSERVED, text)

    def measure(self, text: str) -> None:
        self._put(MEASURED, text)

    def _put(self, name: str, value: str) -> None:
        assert callable(self.record)
        self.record(name, value)


# ---------------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    name: str
    expected: str
    observed: str
    result: str
    detail: str
    measured: tuple[str, ...]


def _result(case: ElementTree.Element) -> tuple[str, str]:
    for child in case:
        if child.tag in ("failure", "error"):
            return "FAIL", (child.get("message") or "").strip()
        if child.tag == "skipped":
            kind = child.get("type") or ""
            return ("XFAIL" if kind == "pytest.xfail" else "SKIP"), (child.get("message") or "").strip()
    return "PASS", ""


def read_report(junit_xml: Path) -> list[ReportRow]:
    rows: Final[list[ReportRow]] = []
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        properties = [(item.get("name") or "", item.get("value") or "") for item in case.iter("property")]
        values = dict(properties)
        result, detail = _result(case)
        module = (case.get("classname") or "").rsplit(".", 1)[-1].removeprefix("test_")
        rows.append(
            ReportRow(
                name=f"{module}::{(case.get('name') or '').removeprefix('test_')}",
                expected=values.get(EXPECTED, ""),
                observed=values.get(OBSERVED, "" if result != "FAIL" else detail.splitlines()[0] if detail else ""),
                result=result,
                detail=detail,
                measured=tuple(value for name, value in properties if name == MEASURED),
            )
        )
    return rows


def _cell(text: str, width: int) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False) or [""]


def format_report(rows: Sequence[ReportRow], width: int) -> str:
    widths: Final = (max(20, width * 30 // 100), max(20, width * 32 // 100), max(20, width * 30 // 100), 5)
    lines: Final = [
        " | ".join(
            title.ljust(size) for title, size in zip(("row", "expected", "observed", "result"), widths, strict=True)
        ),
        "-+-".join("-" * size for size in widths),
    ]
    for row in rows:
        cells = [_cell(row.name, widths[0]), _cell(row.expected, widths[1]), _cell(row.observed, widths[2])]
        for index in range(max(len(cell) for cell in cells)):
            parts = [cell[index] if index < len(cell) else "" for cell in cells]
            parts.append(row.result if index == 0 else "")
            lines.append(" | ".join(part.ljust(size) for part, size in zip(parts, widths, strict=True)).rstrip())
    counts: Final = {result: sum(row.result == result for row in rows) for result in ("PASS", "XFAIL", "FAIL", "SKIP")}
    lines.append("")
    lines.append(", ".join(f"{count} {result}" for result, count in counts.items() if count))
    measured: Final = [(row.name, value) for row in rows for value in row.measured]
    if measured:
        lines.append("")
        lines.append("measured:")
        lines.extend(f"  {name}: {value}" for name, value in measured)
    causes: Final[dict[str, list[str]]] = {}
    for row in rows:
        if row.result == "XFAIL":
            causes.setdefault(row.detail.removeprefix("reason: "), []).append(row.name)
    if causes:
        lines.append("")
        lines.append("expected failures, by cause (the owner fixes the cause, then drops the marker):")
        for cause, names in causes.items():
            lines.extend(
                textwrap.wrap(
                    f"- {cause}", width, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False
                )
            )
            rows_text = ", ".join(names)
            lines.extend(
                textwrap.wrap(
                    rows_text, width, initial_indent="    rows: ", subsequent_indent="      ", break_on_hyphens=False
                )
            )
    failures: Final = [row for row in rows if row.result == "FAIL"]
    if failures:
        lines.append("")
        lines.append("FAILURES:")
        lines.extend(f"  {row.name}: {row.detail.splitlines()[0] if row.detail else ''}" for row in failures)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser: Final = argparse.ArgumentParser(description="Print the fault matrix from pytest's JUnit XML.")
    parser.add_argument("junit_xml", type=Path)
    parser.add_argument("--width", type=int, default=160, help="total width of the table (default 160)")
    args: Final = parser.parse_args(argv)
    rows: Final = read_report(args.junit_xml)
    print(format_report(rows, args.width))
    return 1 if not rows or any(row.result == "FAIL" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
