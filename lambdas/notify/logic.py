"""Finish an execution: record a deployment attempt, clean up its alarms, and notify the topic
(for the drift monitor: the verdict, the drifted features with their numbers, what happens next).

Every machine's paths end at ``Finish`` with ``$.outcome`` (``status`` SUCCEEDED, SKIPPED or
FAILED; a failure's ``error``, ``cause`` and ``state``). For the deployment machine the outcome
carries the plan's ``deployment`` block; an attempt that got as far as a plan is recorded as
``deployments/<endpoint>/<start>-<execution>.json`` (read by ``make status``), whatever its end.
The record's writing failing does not hide the outcome: the notification says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import monitoring, notifications, s3_layout


@dataclass(frozen=True)
class Clients:
    s3: Any
    sns: Any
    cloudwatch: Any


@dataclass(frozen=True)
class Settings:
    topic_arn: str
    bucket: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(topic_arn=environ["TOPIC_ARN"], bucket=environ["BUCKET"])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tripped_alarms(cloudwatch: Any, names: list[str]) -> list[str]:
    """Which of the attempt's rollback alarms are in ALARM (every filter applies)."""
    if not names:
        return []
    found = cloudwatch.describe_alarms(AlarmNames=names, StateValue="ALARM")
    return [alarm["AlarmName"] for alarm in found.get("MetricAlarms", [])]


def record(outcome: Mapping[str, Any], execution_name: str, tripped: list[str]) -> dict[str, Any]:
    deployment = outcome.get("deployment") or {}
    return {
        "endpoint_name": deployment.get("endpoint_name"),
        "execution": execution_name,
        "model_package_arn": deployment.get("model_package_arn"),
        "model_package_version": deployment.get("model_package_version"),
        "endpoint_config": deployment.get("config"),
        "previous_config": deployment.get("previous_config"),
        "mode": deployment.get("mode"),
        "reason": deployment.get("reason"),
        "requested_by": deployment.get("requested_by"),
        "started": deployment.get("started"),
        "ended": _now(),
        "outcome": outcome.get("label") or str(outcome.get("status", "")).lower(),
        "error": outcome.get("error"),
        "detail": outcome.get("smoke_test") or outcome.get("cause") or outcome.get("reason"),
        "restored_config": outcome.get("restored_config"),
        "alarms_in_alarm": tripped,
        "notes": deployment.get("notes", []),
    }


def finish_deployment(
    outcome: Mapping[str, Any], execution_name: str, clients: Clients, settings: Settings
) -> dict[str, Any]:
    """Record the attempt (not a skip) and delete its rollback alarms; return what to tell."""
    deployment = outcome.get("deployment") or {}
    alarms = list(deployment.get("alarms") or [])
    tripped = (
        tripped_alarms(clients.cloudwatch, alarms) if outcome.get("label") == "rolled back" else []
    )
    told: dict[str, Any] = {"alarms_in_alarm": tripped}
    if outcome.get("status") != "SKIPPED" and deployment.get("endpoint_name"):
        entry = record(outcome, execution_name, tripped)
        key = s3_layout.deployment_record_key(
            str(deployment["endpoint_name"]),
            str(deployment.get("started") or _now()),
            execution_name,
        )
        try:
            clients.s3.put_object(
                Bucket=settings.bucket,
                Key=key,
                Body=json.dumps(entry, indent=2).encode("utf-8"),
                ContentType="application/json",
            )
            told["record"] = s3_layout.s3_uri(settings.bucket, key)
        except Exception as error:  # the model serves either way: say so, do not fail
            told["record_error"] = f"the attempt could not be recorded: {error}"
    if alarms:
        clients.cloudwatch.delete_alarms(AlarmNames=alarms)
    return told


def describe(machine: str, outcome: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, summary sentence) for the outcome."""
    status = outcome.get("status")
    version = notifications.package_version(outcome.get("model_package_arn"))
    if machine == "training":
        if status == "SUCCEEDED":
            approval = outcome.get("approval_status")
            subject = f"Model registered: {version} ({approval})"
            deploy = outcome.get("deploy")
            if approval == "Approved":
                next_step = (
                    "it is deployed next (the deployment machine reports it)"
                    if deploy
                    else "deploy=false: it is not deployed"
                )
            else:
                next_step = "it waits for approval: make approve PACKAGE=<arn>"
            return subject, f"{outcome.get('headline', '')}; {next_step}."
        return (
            f"Training run failed: {outcome.get('error')}",
            str(outcome.get("cause", "")),
        )
    if machine == "deployment":
        endpoint = (outcome.get("deployment") or {}).get("endpoint_name", "")
        if status == "SUCCEEDED":
            return (
                f"Model deployed: {version} on {endpoint}",
                f"Model package {outcome.get('model_package_arn')} serves on {endpoint}; "
                f"smoke test: {outcome.get('smoke_test')}.",
            )
        if status == "SKIPPED":
            return f"Deployment skipped: {version}", str(outcome.get("reason", ""))
        label = outcome.get("label") or outcome.get("error")
        return (
            f"Deployment of {version} failed: {label}",
            str(outcome.get("cause", "")),
        )
    if machine == "monitoring":
        return describe_monitoring(outcome)
    return f"{machine.capitalize()} {str(status).lower()}", str(outcome.get("cause") or "")


def _feature_numbers(outcome: Mapping[str, Any]) -> str:
    """The drifted features with their numbers: ``width (PSI 2.767, KS 0.533)``."""
    drifted = set(outcome.get("drifted_features") or [])
    parts = [
        f"{f.get('name')} (PSI {f.get('psi')}, KS {f.get('ks')})"
        for f in outcome.get("top_features") or []
        if f.get("name") in drifted
    ]
    more = int(outcome.get("drifted_feature_count") or 0) - len(parts)
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def describe_monitoring(outcome: Mapping[str, Any]) -> tuple[str, str]:
    """The drift monitor's verdict: what drifted, by how much, and what happens next."""
    status, verdict = outcome.get("status"), outcome.get("verdict")
    endpoint = outcome.get("endpoint", "")
    if status == "FAILED":
        return f"Drift monitor failed: {outcome.get('error')}", str(outcome.get("cause", ""))
    if status == "SKIPPED":
        return f"Drift not judged on {endpoint}: {verdict}", str(outcome.get("reason", ""))
    window = outcome.get("window") or {}
    span = f"{window.get('start')} to {window.get('end')}"
    if verdict == monitoring.DRIFT:
        retraining = outcome.get("retraining") or {}
        return (
            f"Drift detected on {endpoint}: {', '.join(outcome.get('drifted_features') or [])}",
            f"{outcome.get('message')} ({span}). Drifted: {_feature_numbers(outcome)}. "
            f"{retraining.get('advice', '')} Report: {outcome.get('report_uri')}",
        )
    if verdict == monitoring.INSUFFICIENT_DATA:
        return (
            f"Drift not judged on {endpoint}: insufficient data",
            f"{outcome.get('message')} ({span}).",
        )
    return f"No drift on {endpoint}", f"{outcome.get('message')} ({span})."


def finish(event: Mapping[str, Any], clients: Clients, settings: Settings) -> dict[str, Any]:
    machine = str(event["machine"])
    execution_name = str(event["execution_name"])
    outcome = dict(event["outcome"])
    told: dict[str, Any] = {}
    if machine == "deployment":
        told = finish_deployment(outcome, execution_name, clients, settings)
    subject, summary = describe(machine, outcome)
    fields: dict[str, Any] = {"machine": machine, "execution": execution_name, **outcome, **told}
    message_id: str | None = clients.sns.publish(
        TopicArn=settings.topic_arn,
        Subject=notifications.subject(subject),
        Message=notifications.message(subject, summary, fields),
    ).get("MessageId")
    return {"notified": True, "message_id": message_id, **told}
