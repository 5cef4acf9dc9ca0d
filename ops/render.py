"""Plain-text rendering of what the operations return: tables, timelines, summaries."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from ops.commands import (
    DEPLOYED,
    Approval,
    DeploymentRecord,
    Execution,
    ModelPackage,
    Prediction,
    QueueDepth,
    Rollback,
    Teardown,
)

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


def result_of(execution: Execution) -> str | None:
    """One line on what a finished run produced."""
    out = execution.output
    if not isinstance(out, dict):
        return None
    deployment = out.get("deployment") or {}
    parts = [
        f"accuracy {fmt(out['accuracy'])}" if isinstance(out.get("accuracy"), int | float) else "",
        str(out.get("approval_status") or ""),
        "deployed" if deployment.get("deployed") else "not deployed",
    ]
    return ", ".join(p for p in parts if p)


def executions(items: Sequence[Execution]) -> str:
    if not items:
        return "No executions yet: start one with `make start`."
    lines = [
        table(
            ("EXECUTION", "STATUS", "STARTED (UTC)", "DURATION", "RESULT"),
            (
                (
                    e.name,
                    e.status,
                    timestamp(e.started),
                    duration(e.started, e.stopped),
                    result_of(e),
                )
                for e in items
            ),
        )
    ]
    failed = [e for e in items if e.error or e.cause]
    for e in failed:
        lines.append("")
        lines.append(f"{e.name} failed in state {e.failed_state or '?'}")
        lines.append(f"  error: {e.error or '-'}")
        lines.append(f"  cause: {flatten(e.cause)}")
    return "\n".join(lines)


def queues(items: Sequence[QueueDepth]) -> str:
    """The upload queues' approximate depths (SQS counts are approximate by design)."""
    if not items:
        return "Upload queues: not in the Terraform outputs (re-run `make deploy`)."
    return "Upload queues (approximate):\n" + table(
        ("QUEUE", "WAITING", "IN FLIGHT", "HOLDS"),
        ((q.name, q.waiting, q.in_flight, q.error or q.holds) for q in items),
    )


def summary(described: dict[str, Any]) -> str:
    """A finished execution: its output summary, or its error and cause."""
    status = described["status"]
    if status == "SUCCEEDED":
        try:
            output = json.loads(described.get("output") or "null")
        except json.JSONDecodeError:
            output = described.get("output")
        return f"{status}\n{json.dumps(output, indent=2, sort_keys=True)}"
    return (
        f"{status}\n  error: {described.get('error') or '-'}\n"
        f"  cause: {flatten(described.get('cause'))}"
    )


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


def log_events(group: str, events: Sequence[dict[str, Any]] | None) -> str:
    if events is None:
        return f"== {group}: log group does not exist (yet)"
    if not events:
        return f"== {group}: no events in the time window"
    lines = [f"== {group}: last {len(events)} events"]
    for event in events:
        moment = dt.datetime.fromtimestamp(event["timestamp"] / 1000, tz=dt.UTC)
        lines.append(f"{timestamp(moment)}  {shorten(event.get('message'), 400)}")
    return "\n".join(lines)


def models(items: Sequence[ModelPackage], group: str) -> str:
    if not items:
        return f"Model package group {group} has no packages yet: run `make start`."
    return table(
        ("VERSION", "STATUS", "APPROVAL", "ACCURACY", "F1", "CREATED (UTC)", "EXECUTION"),
        (
            (
                p.version,
                p.status,
                p.approval,
                fmt(p.accuracy),
                fmt(p.f1),
                timestamp(p.created),
                p.execution,
            )
            for p in items
        ),
    )


def approval(result: Approval) -> str:
    name = f"model package version {result.version} ({result.arn})"
    if not result.changed:
        return f"{name} is already Approved: nothing to do."
    return (
        f"Approved {name} (was {result.previous}).\n"
        "The approval starts the deploy path: the Model Registry event reaches the state "
        "machine (EventBridge, input approved_model_package_arn), which deploys the package "
        "to the endpoint; follow it with `make status`."
    )


def predictions(items: Sequence[Prediction]) -> str:
    """One line per row: each class name of the contract with its probability, then the label."""
    return "\n".join(
        "  ".join(
            f"{name}={p:.4f}" for name, p in zip(item.class_names, item.probabilities, strict=True)
        )
        + f"  -> {item.label}"
        for item in items
    )


def teardown(result: Teardown, endpoint_name: str) -> str:
    if result.endpoint is None:
        return f"endpoint {endpoint_name} does not exist: nothing to delete (no endpoint cost)."
    lines = [f"deleted endpoint {result.endpoint}"]
    if result.endpoint_config:
        lines.append(f"deleted endpoint config {result.endpoint_config}")
    lines.extend(f"deleted model {m}" for m in result.models)
    return "\n".join(lines)


def deployments(records: Sequence[DeploymentRecord], endpoint_name: str, limit: int) -> str:
    """The endpoint's deployment history: which package, when, and the outcome (and why)."""
    if not records:
        return f"Deployments of {endpoint_name}: none recorded yet."
    shown = records[:limit]
    lines = [
        f"Deployments of {endpoint_name} (newest first):",
        table(
            ("STARTED (UTC)", "PACKAGE", "OUTCOME", "ENDPOINT CONFIG", "EXECUTION"),
            (
                (
                    r.started[:19].replace("T", " "),
                    f"v{r.model_package_version}",
                    r.outcome,
                    r.endpoint_config,
                    r.execution,
                )
                for r in shown
            ),
        ),
    ]
    for record in shown:
        if record.outcome != DEPLOYED:
            detail = flatten(record.detail)
            lines.append(f"  v{record.model_package_version} {record.outcome}: {detail}")
    return "\n".join(lines)


def rollback(result: Rollback) -> str:
    target = result.target
    return (
        f"rolling back to model package version {target.model_package_version} "
        f"({target.model_package_arn}), deployed {target.started[:19].replace('T', ' ')} UTC "
        f"by {target.execution}\n"
        f"  serving now: {result.serving or 'no model package'}\n"
        f"started {result.execution_name}: the same guarded path as an approval (canary, "
        f"rollback alarms, smoke test)\n  arn:   {result.execution_arn}"
    )
