"""Plain-text building blocks every command's output uses: tables, times, one-line causes,
execution timelines. Each command renders its own result with these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

CAUSE_WIDTH = 300


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns, two spaces apart; ``None`` shows as ``-``."""
    cells = [[str(h) for h in headers]] + [
        ["-" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def timestamp(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def duration(start: dt.datetime, end: dt.datetime | None) -> str | None:
    if end is None:
        return None
    seconds = int((end - start).total_seconds())
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def flatten(text: str | None) -> str:
    """``text`` on one line, whole: a cause's useful part (file, line, what to do) often comes
    after the first few hundred characters, so status and summaries never cut it."""
    return " ".join((text or "").split())


def shorten(text: str | None, width: int = CAUSE_WIDTH) -> str:
    flat = flatten(text)
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def fmt(value: float | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def timeline(events: Sequence[dict[str, Any]]) -> str:
    """Execution history as ``+seconds  event type  state / resource / error: cause``."""
    if not events:
        return "(no history events)"
    start = events[0]["timestamp"]
    lines = []
    for event in events:
        details = _details(event)
        what = details.get("name") or ""
        if "resource" in details:
            what = f"{details.get('resourceType', '')}:{details['resource']}".lstrip(":")
        if details.get("error") or details.get("cause"):
            what = f"{details.get('error') or ''}: {shorten(details.get('cause'), 160)}"
        offset = (event["timestamp"] - start).total_seconds()
        lines.append(f"{f'+{offset:.1f}s':>9}  {event['type']:<28} {what}".rstrip())
    return "\n".join(lines)


def finished(followed: Any) -> str:
    """A followed execution's end: its status, then the outcome's headline or error and cause."""
    outcome = followed.outcome or {}
    if followed.status == "SUCCEEDED":
        parts = [
            str(outcome.get(key))
            for key in ("headline", "approval_status", "model_package_arn", "report_uri")
            if outcome.get(key)
        ]
        return f"{followed.name} SUCCEEDED" + "".join(f"\n  {part}" for part in parts)
    return (
        f"{followed.name} {followed.status}\n  error: {followed.error or '-'}\n"
        f"  cause: {flatten(followed.cause)}"
    )
