"""Follow an execution live: each state as it is entered (a poll loop's states once per loop),
the local SageMaker executor's pipeline steps and tuning trials, until the execution ends."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import evidence
from harness.console import Console, describe_event, is_poll_state
from harness.stack import POLL_SECONDS, DemoError, LocalStack

RUN_TIMEOUT = 30 * 60.0


@dataclass
class RunResult:
    """What an execution did, for the summary, the report and the tests. A training run that
    led to a deployment carries it in ``deployment``."""

    execution_arn: str
    execution_name: str
    status: str
    states: list[str]
    error: str | None = None
    cause: str | None = None
    output: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    prediction: dict[str, Any] | None = None
    report: Path | None = None
    seconds: float = 0.0
    kept: evidence.Kept | None = None
    failing_state: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)
    deployment: RunResult | None = None


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def failed_state(events: Iterable[dict[str, Any]]) -> str | None:
    """The state that failed: the one the failure branches record in ``$.outcome.state``,
    else the last state entered before the execution failed."""
    last: str | None = None
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        if not entered:
            continue
        last = entered["name"]
        try:
            state = json.loads(entered.get("input") or "{}")
            recorded = (
                (state.get("outcome") or {}).get("state") if isinstance(state, dict) else None
            )
        except (json.JSONDecodeError, AttributeError):
            recorded = None
        if recorded:
            return str(recorded)
    return last


def last_state(events: Iterable[dict[str, Any]], key: str) -> dict[str, Any]:
    """The last state input of the execution that holds ``key`` ({} when none does)."""
    found: dict[str, Any] = {}
    for event in events:
        entered = event.get("stateEnteredEventDetails") or {}
        try:
            state = json.loads(entered.get("input") or "null")
        except json.JSONDecodeError:
            continue
        if isinstance(state, dict) and key in state:
            found = state
    return found


class EventTail:
    """New lines of the executor's events file, for one pipeline execution or all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            handle.seek(self.offset)
            text = handle.read()
        complete, _, _partial = text.rpartition("\n")
        if not complete:
            return []
        self.offset += len(complete.encode("utf-8")) + 1
        return [json.loads(line) for line in complete.splitlines() if line.strip()]


def follow(
    stack: LocalStack,
    execution_arn: str,
    console: Console,
    tail: EventTail | None = None,
    *,
    timeout: float = RUN_TIMEOUT,
) -> RunResult:
    """Print each state as it is entered and the pipeline's progress until the run ends."""
    sfn = stack.client("stepfunctions")
    started = time.monotonic()
    seen = 0
    states: list[str] = []
    trials: list[dict[str, Any]] = []
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        events = history(sfn, execution_arn)
        for event in events[seen:]:
            details = event.get("stateEnteredEventDetails")
            if details:
                name = details["name"]
                if not is_poll_state(name) or name not in states:
                    console.say(f"  → {name}")
                states.append(name)
        seen = len(events)
        for event in tail.read() if tail is not None else []:
            if event.get("type") == "trial_finished":
                trials.append(event)
            line = describe_event(event)
            if line:
                console.say(line)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() - started > timeout:
            kept = evidence.keep(stack.client, stack.workdir, execution_arn)
            raise DemoError(
                f"the execution was still RUNNING after {timeout:.0f} s: {execution_arn}. Its "
                "logs: " + "; ".join(evidence.lines(kept, stack.workdir))
            )
        time.sleep(POLL_SECONDS)
    output = described.get("output")
    return RunResult(
        execution_arn=execution_arn,
        execution_name=described["name"],
        status=described["status"],
        states=states,
        error=described.get("error"),
        cause=described.get("cause"),
        output=json.loads(output) if output else None,
        trials=trials,
        seconds=time.monotonic() - started,
        failing_state=failed_state(events) if described["status"] != "SUCCEEDED" else None,
        history=events,
    )
