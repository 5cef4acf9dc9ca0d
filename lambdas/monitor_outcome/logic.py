"""Read a drift job that ended: why it failed, or what it wrote; publish its metrics and, on
drift when asked, request one training run.

    Failed / Stopped ─► DescribeProcessingJob: FailureReason and ExitMessage ("the first 1 KB of
                               /opt/ml/output/message", byoc-metadata.html); ml/monitor.py's
                               MonitorInputError named first
    <output>/summary.json      the verdict, counts, the most drifted features (bounded)
    <output>/metric_data.json  (the file summary.json names) ─► PutMetricData, at most 1,000 items
                               a call (botocore's cloudwatch model: MetricData max 1000)
    verdict drift, RETRAIN_ON_DRIFT on ─► one training request on the uploads queue; its id is the
                               monitoring run's own, so a retried Lambda sends the same request,
                               which the queue deduplicates and the trigger starts once
                               (lambdas/trigger/uploads.py names the run after the id)

The answer always has every key (null where it does not apply); the ASL only passes it on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import monitoring, s3_layout, training_request

#: botocore's cloudwatch model: PutMetricData's MetricData holds at most 1,000 items.
METRICS_PER_CALL = 1000
HTML_FILE = "drift.html"
DRIFT_FILE = "drift.json"


class DriftUnreadable(ValueError):
    """The job's summary is missing or not the monitor's: the message says which file and why."""


KEYS = monitoring.OUTCOME_KEYS
#: ml/monitor.py's input errors start with this (INPUT_ERROR_NAME there).
INPUT_ERROR = "MonitorInputError"
JOB_FAILED = "MonitorJobFailed"


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any
    cloudwatch: Any
    sqs: Any


@dataclass(frozen=True)
class Settings:
    metric_namespace: str
    retrain_on_drift: bool
    retrain_data_uri: str
    uploads_queue_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            metric_namespace=environ["METRIC_NAMESPACE"],
            retrain_on_drift=environ.get("RETRAIN_ON_DRIFT", "false").lower() == "true",
            retrain_data_uri=environ["RETRAIN_DATA_URI"],
            uploads_queue_url=environ["UPLOADS_QUEUE_URL"],
        )


def read_json(s3: Any, uri: str) -> Any:
    bucket, key = s3_layout.split_s3_uri(uri)
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        raise DriftUnreadable(f"{uri} does not exist: the drift job wrote no such file") from None
    except ValueError as error:
        raise DriftUnreadable(f"{uri} is not JSON ({error})") from None


def read_summary(s3: Any, output_uri: str, namespace: str) -> dict[str, Any]:
    uri = f"{output_uri.rstrip('/')}/{monitoring.SUMMARY_FILE}"
    summary = read_json(s3, uri)
    if not isinstance(summary, dict) or summary.get("verdict") not in monitoring.VERDICTS:
        raise DriftUnreadable(f"{uri} has no verdict of {', '.join(monitoring.VERDICTS)}")
    metrics = summary.get("metrics") or {}
    if metrics.get("namespace") != namespace:
        raise DriftUnreadable(
            f"{uri} publishes to namespace {metrics.get('namespace')!r}, not {namespace!r}: the "
            "monitor's code and the Terraform deployment disagree; deploy both from one commit"
        )
    return summary


def publish(cloudwatch: Any, namespace: str, items: list[dict[str, Any]]) -> int:
    """PutMetricData in calls of at most 1,000 items; the number published."""
    for start in range(0, len(items), METRICS_PER_CALL):
        cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=items[start : start + METRICS_PER_CALL]
        )
    return len(items)


def retrain(
    sqs: Any, settings: Settings, run: Mapping[str, Any], execution_name: str
) -> dict[str, Any]:
    """Send the one training request of this monitoring run."""
    request_id = monitoring.training_request_id(execution_name)
    body = training_request.message(
        {"data_uri": settings.retrain_data_uri},
        reason=f"drift on {run['endpoint']}",
        requested_by="drift monitor",
        request_id=request_id,
    )
    sent = sqs.send_message(
        QueueUrl=settings.uploads_queue_url,
        MessageBody=body,
        MessageGroupId=training_request.UPLOADS_GROUP,
        MessageDeduplicationId=training_request.deduplication_id(request_id),
    )
    return {
        "requested": True,
        "request_id": request_id,
        "data_uri": settings.retrain_data_uri,
        "message_id": sent.get("MessageId"),
        "advice": f"A training run on {settings.retrain_data_uri} was requested "
        f"(request {request_id}); it goes through the gate and, if approved, is deployed.",
    }


def no_retraining(settings: Settings, verdict: str) -> dict[str, Any]:
    if verdict != monitoring.DRIFT:
        advice = ""
    else:
        advice = (
            "retrain_on_drift is off, so no training run was started. To retrain on current "
            f"data, upload it as a CSV under data/raw/ of the project bucket (or start a run on "
            f"{settings.retrain_data_uri}); set retrain_on_drift = true to retrain on drift "
            "automatically."
        )
    return {"requested": False, "request_id": None, "data_uri": None, "message_id": None,
            "advice": advice}  # fmt: skip


def answer(**fields: Any) -> dict[str, Any]:
    unknown = set(fields) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown answer fields {sorted(unknown)}")
    return {key: fields.get(key) for key in KEYS}


def failed(sagemaker: Any, job_name: str, status: str) -> dict[str, Any]:
    """Why the job did not judge: the script's own message first."""
    job = sagemaker.describe_processing_job(ProcessingJobName=job_name)
    message = str(job.get("ExitMessage") or "").strip()
    reason = str(job.get("FailureReason") or "").strip()
    error = INPUT_ERROR if message.startswith(INPUT_ERROR) else JOB_FAILED
    said = "; ".join(part for part in (message, reason) if part) or "no reason given"
    return answer(
        succeeded=False,
        error=error,
        cause=f"Drift job {job_name} ended {status}: {said}",
    )


def outcome(event: Mapping[str, Any], clients: Clients, settings: Settings) -> dict[str, Any]:
    run = event["run"]
    execution_name = str(event["execution_name"])
    status = str(event.get("status", "Completed"))
    if status != "Completed":
        return failed(clients.sagemaker, str(event["job_name"]), status)
    output_uri = str(run["output_uri"]).rstrip("/")
    summary = read_summary(clients.s3, output_uri, settings.metric_namespace)
    items = read_json(clients.s3, f"{output_uri}/{summary['metrics']['file']}")
    if not isinstance(items, list):
        raise DriftUnreadable(f"{output_uri}/{summary['metrics']['file']} is not a list")
    published = publish(clients.cloudwatch, settings.metric_namespace, items)
    verdict = summary["verdict"]
    if verdict == monitoring.DRIFT and settings.retrain_on_drift:
        retraining = retrain(clients.sqs, settings, run, execution_name)
    else:
        retraining = no_retraining(settings, verdict)
    counts = summary.get("counts") or {}
    return answer(
        succeeded=True,
        verdict=verdict,
        message=summary.get("message"),
        drifted_features=summary.get("drifted_features", []),
        drifted_feature_count=summary.get("drifted_feature_count", 0),
        top_features=summary.get("top_features", []),
        prediction_psi=summary.get("prediction_psi"),
        counts={key: counts.get(key) for key in ("records", "rows", "records_refused")},
        window=summary.get("window"),
        report_uri=f"{output_uri}/{HTML_FILE}",
        drift_uri=f"{output_uri}/{DRIFT_FILE}",
        metrics_published=published,
        retraining=retraining,
    )
