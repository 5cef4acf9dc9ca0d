"""Load the real-shaped event payloads kept as JSON files in `tests/events/` (and name the JSON
Lines files there, such as data capture's)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> dict[str, Any]:
    """Return a fresh copy of `tests/events/<name>.json` (the `.json` suffix is optional).

    Every call re-reads the file, so a test may mutate the result without leaking into others.
    """
    file_name = name if name.endswith(".json") else f"{name}.json"
    path = EVENTS_DIR / file_name
    if not path.is_file():
        available = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
        raise FileNotFoundError(f"no event payload {path}; available: {available}")
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def event_file(name: str) -> Path:
    """The path of `tests/events/<name>` (any suffix, e.g. a `.jsonl` capture file)."""
    path = EVENTS_DIR / name
    if not path.is_file():
        available = sorted(os.listdir(EVENTS_DIR))
        raise FileNotFoundError(f"no event file {path}; available: {available}")
    return path
