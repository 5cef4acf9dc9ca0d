"""Read a finished pipeline execution: its bounded summary, or why it failed.

    Succeeded ─► the evaluation step's job ─► its "evaluation" output ─► summary.json (bounded)
              ─► the approval status: Approved only if the run asks, Terraform allows, and the
                 evaluation step found the candidate auto-approvable
    Failed / Stopped ─► the failed steps and their reasons; a data error (the data step's
              ExitMessage starts with contracts.failures.DATA_ERROR_MARKER) named first

The answer always has every key (null where it does not apply), so the state machine can select
them. SageMaker returns a processing container's message as ExitMessage ("the first 1 KB of
/opt/ml/output/message", https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from contracts import evaluation, failures, pipeline, s3_layout

KEYS = (
    "succeeded",
    "error",
    "cause",
    "summary",
    "approval_status",
    "evaluation_uri",
    "report_uri",
    "baseline_uri",
)
CAUSE_MAX = 4000


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any


def answer(**fields: Any) -> dict[str, Any]:
    unknown = set(fields) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown answer fields {sorted(unknown)}")
    return {key: fields.get(key) for key in KEYS}


def failed(error: str, cause: str) -> dict[str, Any]:
    text = cause if len(cause) <= CAUSE_MAX else cause[: CAUSE_MAX - 3] + "..."
    return answer(succeeded=False, error=error, cause=text)


def steps(sagemaker: Any, arn: str) -> Iterator[dict[str, Any]]:
    """The execution's steps, first step first."""
    token: str | None = None
    while True:
        page = sagemaker.list_pipeline_execution_steps(
            PipelineExecutionArn=arn,
            SortOrder="Ascending",
            **({"NextToken": token} if token else {}),
        )
        yield from page.get("PipelineExecutionSteps", [])
        token = page.get("NextToken")
        if not token:
            return


def processing_job(sagemaker: Any, step: Mapping[str, Any]) -> dict[str, Any] | None:
    arn = ((step.get("Metadata") or {}).get("ProcessingJob") or {}).get("Arn")
    if not arn:
        return None
    return dict(sagemaker.describe_processing_job(ProcessingJobName=arn.rsplit("/", 1)[-1]))


def output_uri(job: Mapping[str, Any], name: str) -> str | None:
    for output in (job.get("ProcessingOutputConfig") or {}).get("Outputs", []):
        if output.get("OutputName") == name:
            return str(output["S3Output"]["S3Uri"]).rstrip("/")
    return None


def approval_status(
    summary: Mapping[str, Any], config: Mapping[str, Any], policy: Mapping[str, Any]
) -> str:
    wanted = bool(config.get("auto_approve")) and bool(policy.get("auto_approve_allowed"))
    allowed = bool(summary["promotion"]["auto_approvable"])
    return "Approved" if wanted and allowed else "PendingManualApproval"


def succeeded(
    clients: Clients, arn: str, config: Mapping[str, Any], policy: Mapping[str, Any]
) -> dict[str, Any]:
    evaluation_prefix = None
    for step in steps(clients.sagemaker, arn):
        name = str(step.get("StepName", ""))
        if step.get("StepStatus") != "Succeeded" or not name.startswith(
            pipeline.EVALUATE_STEP_PREFIX
        ):
            continue
        job = processing_job(clients.sagemaker, step)
        if job is not None:
            evaluation_prefix = output_uri(job, pipeline.OUTPUT_EVALUATION)
    if evaluation_prefix is None:
        return failed(
            "EvaluationMissing",
            f"Pipeline execution {arn} succeeded but no evaluation step with an "
            f"'{pipeline.OUTPUT_EVALUATION}' output ran: nothing to gate on.",
        )
    summary_uri = f"{evaluation_prefix}/{s3_layout.SUMMARY_FILE}"
    bucket, key = s3_layout.split_s3_uri(summary_uri)
    try:
        text = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return failed(
                "EvaluationMissing",
                f"The pipeline succeeded but {summary_uri} does not exist: the evaluation step "
                "did not write its summary.",
            )
        raise
    try:
        summary = evaluation.read_summary(text)
    except (ValueError, evaluation.ReportError) as error:
        return failed("EvaluationInvalid", f"{summary_uri} does not follow the contract: {error}")
    return answer(
        succeeded=True,
        summary=summary,
        approval_status=approval_status(summary, config, policy),
        evaluation_uri=f"{evaluation_prefix}/{s3_layout.EVALUATION_FILE}",
        report_uri=f"{evaluation_prefix}/{s3_layout.REPORT_FILE}",
        # the evaluation step's complete drift baseline, kept with the evaluation for as long as
        # the package that names it (prepare's partial one lives under an expiring prefix)
        baseline_uri=f"{evaluation_prefix}/{s3_layout.BASELINE_FILE}",
    )


def explain(clients: Clients, arn: str, status: str) -> dict[str, Any]:
    """Why the execution failed: a data error's own message first, else every failed step."""
    all_steps = list(steps(clients.sagemaker, arn))
    if all_steps and all_steps[0].get("StepName") == pipeline.STEP_PREPARE:
        job = processing_job(clients.sagemaker, all_steps[0])
        message = (job or {}).get("ExitMessage")
        if job is not None and failures.is_data_error(message):
            return failed(
                "DataValidationError",
                f"{message} (SageMaker pipeline execution {arn}, processing job "
                f"{job.get('ProcessingJobName')})",
            )
    reasons = [
        {"step": s.get("StepName"), "status": s.get("StepStatus"), "reason": s.get("FailureReason")}
        for s in all_steps
        if s.get("StepStatus") in ("Failed", "Stopped") or s.get("FailureReason")
    ]
    # The execution's own reason: what failed before any step did (a refused parameter...).
    execution = clients.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    why = execution.get("FailureReason")
    return failed(
        "PipelineExecutionFailed",
        f"SageMaker pipeline execution {arn} ended with status {status}"
        + (f": {why}" if why else "")
        + f". Steps and failure reasons: {json.dumps(reasons, ensure_ascii=False)}",
    )


def outcome(event: Mapping[str, Any], clients: Clients) -> dict[str, Any]:
    arn = str(event["pipeline_execution_arn"])
    status = str(event["status"])
    if status == "Succeeded":
        return succeeded(clients, arn, event.get("config") or {}, event.get("policy") or {})
    return explain(clients, arn, status)
