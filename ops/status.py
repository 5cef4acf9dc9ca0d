"""``make status``: the latest runs of both machines (why failed ones failed), how many requests
wait in each queue, and the endpoint's deployment history."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from ops import deployments, executions, render
from ops.aws import error_code
from ops.executions import Execution
from ops.session import Command, Context, Result, positive

#: The state machines, by Terraform output.
MACHINES = (
    ("training", "training_state_machine_arn"),
    ("deployment", "deployment_state_machine_arn"),
)
#: The queues (Terraform output, key of a map output or None, what it holds). Only
#: GetQueueAttributes: reading messages would hide them (visibility timeout) and so disturb the
#: queue it reports on (the running request's message is the queue's lock).
QUEUES: tuple[tuple[str, str | None, str], ...] = (
    ("uploads_queue_url", None, "uploads and training requests waiting for their run (FIFO)"),
    ("deployments_queue_url", None, "approvals and deployment requests waiting (FIFO)"),
    ("request_dlq_urls", "uploads", "uploads and training requests the trigger gave up on"),
    ("request_dlq_urls", "deployments", "deployment requests the trigger gave up on"),
    ("trigger_dlq_url", None, "events EventBridge could not deliver"),
)
QUEUE_ATTRIBUTES = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


@dataclass
class QueueDepth:
    name: str
    holds: str
    waiting: int | None  # ApproximateNumberOfMessages
    in_flight: int | None  # ApproximateNumberOfMessagesNotVisible (the request being run)
    error: str | None = None


def queue_urls(outputs: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for output, key, holds in QUEUES:
        value = outputs.get(output)
        url = value.get(key) if isinstance(value, Mapping) and key else value
        if isinstance(url, str) and url:
            found.append((url, holds))
    return found


def queue_depths(sqs: Any, outputs: Mapping[str, Any]) -> list[QueueDepth]:
    """Approximate depth of each queue the outputs name; a refused read says why."""
    depths = []
    for url, holds in queue_urls(outputs):
        name = url.rstrip("/").rsplit("/", 1)[-1]
        try:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=list(QUEUE_ATTRIBUTES)
            )["Attributes"]
        except ClientError as err:
            refused = f"{error_code(err)}: needs sqs:GetQueueAttributes on this queue"
            depths.append(QueueDepth(name, holds, None, None, refused))
            continue
        depths.append(
            QueueDepth(
                name,
                holds,
                int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            )
        )
    return depths


def result_of(execution: Execution) -> str | None:
    """One line on what a finished run produced."""
    outcome = execution.outcome or {}
    parts = [str(outcome[key]) for key in ("headline", "approval_status") if outcome.get(key)]
    if execution.machine == "deployment" and outcome.get("model_package_arn"):
        parts.append(f"package {outcome['model_package_arn'].rsplit('/', 1)[-1]}")
    return ", ".join(parts) or None


def executions_text(machine: str, items: Sequence[Execution]) -> str:
    if not items:
        return f"{machine.capitalize()} runs: none yet."
    lines = [
        f"{machine.capitalize()} runs (newest first):",
        render.table(
            ("EXECUTION", "STATUS", "STARTED (UTC)", "DURATION", "RESULT"),
            (
                (
                    e.name,
                    e.status,
                    render.timestamp(e.started),
                    render.duration(e.started, e.stopped),
                    result_of(e),
                )
                for e in items
            ),
        ),
    ]
    for e in items:
        if e.error or e.cause:
            lines += [
                "",
                f"{e.name} failed in state {e.failed_state or '?'}",
                f"  error: {e.error or '-'}",
                f"  cause: {render.flatten(e.cause)}",
            ]
    return "\n".join(lines)


def queues_text(items: Sequence[QueueDepth]) -> str:
    if not items:
        return "Queues: not in the Terraform outputs (re-run `make deploy`)."
    return "Queues (approximate):\n" + render.table(
        ("QUEUE", "WAITING", "IN FLIGHT", "HOLDS"),
        ((q.name, q.waiting, q.in_flight, q.error or q.holds) for q in items),
    )


def history_text(records: Sequence[deployments.DeploymentRecord], endpoint: str) -> str:
    """The endpoint's deployment history: which package, when, why, and the outcome."""
    if not records:
        return f"Deployments of {endpoint}: none recorded yet."
    lines = [
        f"Deployments of {endpoint} (newest first):",
        render.table(
            ("STARTED (UTC)", "PACKAGE", "REASON", "OUTCOME", "ENDPOINT CONFIG", "EXECUTION"),
            (
                (
                    r.started[:19].replace("T", " "),
                    f"v{r.model_package_version}",
                    r.reason,
                    r.outcome,
                    r.endpoint_config,
                    r.execution,
                )
                for r in records
            ),
        ),
    ]
    for record in records:
        if record.outcome != deployments.DEPLOYED and record.detail:
            detail = render.flatten(record.detail)
            lines.append(f"  v{record.model_package_version} {record.outcome}: {detail}")
    return "\n".join(lines)


def _execution_dict(execution: Execution) -> dict[str, Any]:
    data = asdict(execution)
    data["started"] = render.timestamp(execution.started)
    data["stopped"] = render.timestamp(execution.stopped)
    return data


def run(ctx: Context) -> Result:
    limit = ctx.args.limit
    runs = {
        machine: executions.latest(ctx.clients.sfn, machine, ctx.output(output), limit)
        for machine, output in MACHINES
    }
    depths = queue_depths(ctx.clients.sqs, ctx.outputs)
    endpoint, bucket = ctx.output("endpoint_name"), ctx.output("bucket_name")
    records = deployments.history(ctx.clients.s3, bucket, endpoint)[:limit]
    data = {
        **{machine: [_execution_dict(e) for e in found] for machine, found in runs.items()},
        "queues": [asdict(q) for q in depths],
        "deployments": {"endpoint": endpoint, "records": [r.as_dict() for r in records]},
    }
    parts = [executions_text(m, found) for m, found in runs.items()]
    parts += [queues_text(depths), history_text(records, endpoint)]
    return Result(data, "\n\n".join(parts))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=positive, default=10, help="runs and deployments shown")


COMMAND = Command(
    "status",
    "latest runs of both machines (why failed ones failed), queue depths, deployment history",
    run,
    add_arguments,
)
