"""``make logs [EXECUTION=...] [MACHINE=deployment]``: a run's timeline and recent log events of
its machine and of the trigger that started it."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from ops import executions, render
from ops.aws import is_not_found
from ops.errors import NotFoundError
from ops.session import Command, Context, Result, positive

MACHINE_OUTPUTS = {
    "training": "training_state_machine_arn",
    "deployment": "deployment_state_machine_arn",
}
#: The trigger that starts each machine's runs (a key of the trigger_function_arns output).
TRIGGERS = {"training": "uploads", "deployment": "deployments"}


def log_group_of_state_machine(sfn: Any, state_machine_arn: str) -> str | None:
    """The CloudWatch log group the state machine logs to (Terraform configures one)."""
    described = sfn.describe_state_machine(stateMachineArn=state_machine_arn)
    for destination in described.get("loggingConfiguration", {}).get("destinations", []):
        arn = destination.get("cloudWatchLogsLogGroup", {}).get("logGroupArn", "")
        # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        _, marker, rest = arn.partition(":log-group:")
        if marker:
            return rest.removesuffix(":*")
    return None


def log_group_of_function(function_arn: str | None) -> str | None:
    """``arn:aws:lambda:<r>:<a>:function:<name>`` -> ``/aws/lambda/<name>``."""
    _, marker, rest = (function_arn or "").partition(":function:")
    return f"/aws/lambda/{rest.split(':')[0]}" if marker and rest else None


def recent_log_events(
    logs: Any, group: str, since: dt.datetime, limit: int
) -> list[dict[str, Any]] | None:
    """The newest ``limit`` events of ``group`` since ``since``; ``None`` if the group is absent."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(since.timestamp() * 1000)}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events.extend(page.get("events", []))
            if not page.get("nextToken") or len(events) >= 10_000:
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as err:
        if is_not_found(err):
            return None
        raise
    events.sort(key=lambda e: e.get("timestamp", 0))
    return events[-limit:]


def log_events_text(group: str, events: list[dict[str, Any]] | None) -> str:
    if events is None:
        return f"== {group}: log group does not exist (yet)"
    if not events:
        return f"== {group}: no events in the time window"
    lines = [f"== {group}: last {len(events)} events"]
    for event in events:
        moment = dt.datetime.fromtimestamp(event["timestamp"] / 1000, tz=dt.UTC)
        lines.append(f"{render.timestamp(moment)}  {render.shorten(event.get('message'), 400)}")
    return "\n".join(lines)


def run(ctx: Context) -> Result:
    machine_arn = ctx.output(MACHINE_OUTPUTS[ctx.args.machine])
    sfn = ctx.clients.sfn
    arn = executions.resolve(sfn, machine_arn, ctx.args.execution)
    try:
        events = executions.history(sfn, arn)
    except ClientError as err:
        if is_not_found(err):
            raise NotFoundError(f"execution {arn} does not exist") from err
        raise
    name = arn.rsplit(":", 1)[-1]
    since = ctx.now() - dt.timedelta(minutes=ctx.args.since)
    functions = ctx.outputs.get("trigger_function_arns") or {}
    groups = [
        log_group_of_state_machine(sfn, machine_arn),
        log_group_of_function(functions.get(TRIGGERS[ctx.args.machine])),
    ]
    logged = {
        group: recent_log_events(ctx.clients.logs, group, since, ctx.args.limit)
        for group in filter(None, groups)
    }
    data = {
        "execution": name,
        "arn": arn,
        "history": [{**e, "timestamp": e["timestamp"].isoformat()} for e in events],
        "log_events": logged,
    }
    parts = [f"== history of {name}", render.timeline(events)]
    parts += [log_events_text(group, found) for group, found in logged.items()]
    return Result(data, "\n\n".join(parts))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--execution", help="execution name or ARN (default: the latest)")
    parser.add_argument("--machine", choices=sorted(MACHINE_OUTPUTS), default="training")
    parser.add_argument("--since", type=positive, default=60, help="minutes of logs")
    parser.add_argument("--limit", type=positive, default=50, help="log events per group")


COMMAND = Command(
    "logs", "a run's history timeline and recent CloudWatch log events", run, add_arguments
)
