"""JSON helpers every module of the fake uses: lenient views of decoded JSON and the exact bytes it writes."""

from __future__ import annotations

import json

JsonDict = dict[str, object]


def as_dict(value: object) -> JsonDict:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def as_int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def utf8(text: str) -> bytes:
    """UTF-8, with a lone surrogate (which a JSON request may carry as an escape) written back as the JSON escape
    `\\udXXX`, as the real server's JSON.stringify does; only ever called on JSON text, where that escape is valid."""
    return text.encode("utf-8", "backslashreplace")
