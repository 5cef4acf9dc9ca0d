"""What the demo prints: line-oriented progress (the same in a terminal, a pipe and a CI log),
one line per local SageMaker executor event, and a run's path with its polls counted."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO


class Console:
    """Line-oriented progress output (works the same in a terminal, a pipe and a CI log)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def step(self, text: str) -> None:
        self.say(f"▶ {text}")

    @contextlib.contextmanager
    def timed(self, text: str) -> Iterator[None]:
        started = time.monotonic()
        print(f"▶ {text} ...", end="", file=self.stream, flush=True)
        try:
            yield
        except BaseException:
            self.say(" failed")
            raise
        self.say(f" done ({time.monotonic() - started:.1f} s)")


def progress_bar(done: int, total: int, width: int = 20) -> str:
    total = max(total, 1)
    filled = min(width, round(width * done / total))
    return "[" + "#" * filled + "." * (width - filled) + f"] {done}/{total}"


def describe_event(event: dict[str, Any]) -> str | None:
    """One line for a local SageMaker executor event (``None``: not worth a line)."""
    kind = event.get("type")
    if kind == "step_started":
        return f"    pipeline step {event['step']} started"
    if kind == "step_finished":
        line = f"    pipeline step {event['step']}: {event['status']}"
        if event.get("seconds") is not None:
            line += f" ({float(event['seconds']):.1f} s)"
        if event.get("failure_reason"):
            line += f" - {event['failure_reason']}"
        return line
    if kind == "trial_finished":
        params = " ".join(f"{k}={_short(v)}" for k, v in sorted(event.get("params", {}).items()))
        if event.get("objective") is not None:
            outcome = f"{event.get('objective_metric', 'objective')}={event['objective']:.4f}"
        else:
            outcome = f"{event.get('status')}: {event.get('failure_reason') or 'no metric'}"
        bar = progress_bar(int(event.get("trial", 0)), int(event.get("of", 0)))
        return f"      trial {bar}  {params}  {outcome}"
    return None


def _short(value: Any) -> str:
    """Numbers (also numbers as text, as tuners pass them) with four significant digits."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else f"{number:.4g}"


#: The poll loop's states (statemachines/common.py poll_loop: WaitFor<X>, a describe, Count<X>Poll,
#: <X>Status): the live view shows each once per loop.
def is_poll_state(name: str) -> bool:
    return (
        name.startswith("WaitFor")
        or name.startswith("Describe")
        or (name.startswith("Count") and name.endswith("Poll"))
        or name.endswith("Status")
    )


def path_summary(states: list[str]) -> str:
    """The states taken, each once, with how often the polling ones ran: ``A → B (x7) → C``."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return " → ".join(f"{s} (x{n})" if n > 1 else s for s, n in counts.items())


def rel(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (what a user types)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
