"""Walking parsed JSON documents in tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def json_strings(node: Any) -> Iterator[str]:
    """Every string value and key in a parsed JSON document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from json_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from json_strings(item)
