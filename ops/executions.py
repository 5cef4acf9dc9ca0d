"""Step Functions executions as the commands read them: history, the failing state, the latest
runs of a machine, and waiting for one with a deadline."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import is_not_found
from ops.errors import NotFoundError, WaitTimeout

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def execution_arn(state_machine_arn: str, name: str) -> str:
    """An execution's ARN: the machine's with ``:stateMachine:`` -> ``:execution:``, then
    ``:<name>`` (how Step Functions forms it)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def describe(sfn: Any, arn: str) -> dict[str, Any] | None:
    """DescribeExecution, or ``None`` while the execution does not exist (yet)."""
    try:
        return dict(sfn.describe_execution(executionArn=arn))
    except ClientError as err:
        if is_not_found(err):
            return None
        raise


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """Every history event, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _state_input(event: dict[str, Any]) -> dict[str, Any] | None:
    entered = event.get("stateEnteredEventDetails") or {}
    try:
        data = json.loads(entered.get("input") or "null")
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def failed_state(events: Iterable[dict[str, Any]]) -> str | None:
    """The state that failed: the one the failure paths record in ``$.outcome.state``, else the
    last state entered before the execution failed."""
    last: str | None = None
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        if not entered:
            continue
        last = entered["name"]
        data = _state_input(event) or {}
        outcome = data.get("outcome")
        if isinstance(outcome, dict) and outcome.get("state"):
            return str(outcome["state"])
    return last


def last_outcome(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The last ``$.outcome`` a state received ({} when none did): the run's result, also for a
    failed run, whose Fail state has no output."""
    found: dict[str, Any] = {}
    for event in events:
        data = _state_input(event)
        if data and isinstance(data.get("outcome"), dict):
            found = data["outcome"]
    return found


@dataclass
class Execution:
    machine: str
    name: str
    arn: str
    status: str
    started: dt.datetime
    stopped: dt.datetime | None = None
    error: str | None = None
    cause: str | None = None
    failed_state: str | None = None
    outcome: dict[str, Any] | None = None


def latest(sfn: Any, machine: str, state_machine_arn: str, limit: int) -> list[Execution]:
    """The newest ``limit`` executions; finished ones carry their outcome, failed ones their
    error, cause and failing state."""
    listed = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=limit)["executions"]
    listed.sort(key=lambda e: e["startDate"], reverse=True)
    found = []
    for item in listed[:limit]:
        execution = Execution(
            machine=machine,
            name=item["name"],
            arn=item["executionArn"],
            status=item["status"],
            started=item["startDate"],
            stopped=item.get("stopDate"),
        )
        if execution.status != "RUNNING":
            described = sfn.describe_execution(executionArn=execution.arn)
            execution.error = described.get("error")
            execution.cause = described.get("cause")
            execution.outcome = _outcome_of_output(described.get("output"))
        if execution.status == "FAILED":
            # A Fail state has no output: the outcome is in the history.
            events = history(sfn, execution.arn)
            execution.outcome = last_outcome(events) or None
            execution.failed_state = failed_state(events)
        found.append(execution)
    return found


def _outcome_of_output(text: str | None) -> dict[str, Any] | None:
    try:
        output = json.loads(text or "null")
    except json.JSONDecodeError:
        return None
    outcome = output.get("outcome") if isinstance(output, dict) else None
    return outcome if isinstance(outcome, dict) else None


def outcome_of(sfn: Any, described: dict[str, Any]) -> dict[str, Any]:
    """A finished execution's ``$.outcome``: from its output, else from its history."""
    return _outcome_of_output(described.get("output")) or last_outcome(
        history(sfn, described["executionArn"])
    )


def resolve(sfn: Any, state_machine_arn: str, wanted: str | None) -> str:
    """An execution ARN from an ARN, a name, or (``None``) the machine's latest execution."""
    if wanted and wanted.startswith("arn:"):
        return wanted
    if wanted:
        return execution_arn(state_machine_arn, wanted)
    listed = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=20)["executions"]
    if not listed:
        raise NotFoundError("no runs yet: start one with `make start` or `make train`")
    return str(max(listed, key=lambda e: e["startDate"])["executionArn"])


def wait_for_execution(
    sfn: Any,
    arn: str,
    timeout: float,
    interval: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """``DescribeExecution`` once it is no longer RUNNING; WaitTimeout past the deadline."""
    deadline = clock() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] in TERMINAL:
            return described
        if clock() >= deadline:
            raise WaitTimeout(
                f"execution {arn} is still {described['status']} after {timeout:.0f} s"
                " (it keeps running: follow it with `make status` / `make logs`)"
            )
        sleep(interval)


def start_execution(sfn: Any, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    return str(
        sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
        )["executionArn"]
    )
