"""ListTrainingJobsForHyperParameterTuningJob, which moto lacks (it answered HTTP 500).

The trials of a tuning job are the training jobs the tuning service created for it: the local
executor records each one with its ``TuningJobArn``, its hyperparameters, its status and its
final metrics (``jobs.EmulatorJobRecords``), so the list is read from those records.

The answer follows botocore's sagemaker model (``ListTrainingJobsForHyperParameterTuningJob``,
``HyperParameterTrainingJobSummary``) and the API reference
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTrainingJobsForHyperParameterTuningJob.html):

- ``SortBy`` defaults to ``Name``, ``SortOrder`` to ``Ascending``, ``MaxResults`` to 10;
- "If the value of this field is FinalObjectiveMetricValue, any training jobs that did not
  return an objective metric are not listed";
- ``StatusEquals`` keeps the training jobs in that status;
- a tuning job that does not exist is ``ResourceNotFound``.

Each summary's ``TunedHyperParameters`` are the job's values of the tuning job's
``ParameterRanges`` (not its static hyperparameters); ``ObjectiveStatus`` is ``Succeeded`` once
the objective metric was read, ``Pending`` while the job runs, else ``Failed``. The
``NextToken`` is an offset into the sorted list (AWS's tokens are opaque).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.responses import SageMakerResponse

DEFAULT_MAX_RESULTS = 10
RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")


def tuned_names(config: Mapping[str, Any]) -> set[str]:
    """The hyperparameters a tuning job's ``ParameterRanges`` tune."""
    ranges = config.get("ParameterRanges") or {}
    return {str(r["Name"]) for kind in RANGE_KINDS for r in ranges.get(kind) or []}


def trial_summary(
    job: Mapping[str, Any], tuning_name: str, objective: Mapping[str, Any], tuned: set[str]
) -> dict[str, Any]:
    """A ``HyperParameterTrainingJobSummary`` of one training job (its Describe fields)."""
    metric = next(
        (
            m
            for m in job.get("FinalMetricDataList") or []
            if m.get("MetricName") == objective.get("MetricName")
        ),
        None,
    )
    status = str(job["TrainingJobStatus"])
    summary: dict[str, Any] = {
        "TrainingJobName": job["TrainingJobName"],
        "TrainingJobArn": job["TrainingJobArn"],
        "TuningJobName": tuning_name,
        "CreationTime": job["CreationTime"],
        "TrainingStartTime": job.get("TrainingStartTime"),
        "TrainingEndTime": job.get("TrainingEndTime") if status != "InProgress" else None,
        "TrainingJobStatus": status,
        "TunedHyperParameters": {
            k: str(v) for k, v in (job.get("HyperParameters") or {}).items() if k in tuned
        },
        "FailureReason": job.get("FailureReason"),
        "ObjectiveStatus": (
            "Succeeded" if metric is not None else "Pending" if status == "InProgress" else "Failed"
        ),
    }
    if metric is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": float(metric["Value"]),
        }
    return {k: v for k, v in summary.items() if v is not None}


def _sort_key(sort_by: str) -> Any:
    if sort_by == "CreationTime":
        return lambda s: s["CreationTime"]
    if sort_by == "Status":
        return lambda s: s["TrainingJobStatus"]
    if sort_by == "FinalObjectiveMetricValue":
        return lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    return lambda s: s["TrainingJobName"]


def list_trials(
    summaries: Iterable[dict[str, Any]],
    *,
    status: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the summaries as the API lists them, and the next page's token."""
    sort_by = sort_by or "Name"
    chosen = [s for s in summaries if status is None or s["TrainingJobStatus"] == status]
    if sort_by == "FinalObjectiveMetricValue":
        chosen = [s for s in chosen if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    chosen.sort(key=_sort_key(sort_by), reverse=sort_order == "Descending")
    start = int(next_token or 0)
    end = start + (max_results or DEFAULT_MAX_RESULTS)
    return chosen[start:end], (str(end) if end < len(chosen) else None)


def _job_fields(job: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "CreationTime": job.creation_time,
        "TrainingStartTime": getattr(job, "training_start_time", None),
        "TrainingEndTime": getattr(job, "training_end_time", None),
        "TrainingJobStatus": job.training_job_status,
        "HyperParameters": job.hyper_parameters,
        "FailureReason": getattr(job, "failure_reason", None),
        "FinalMetricDataList": getattr(job, "final_metric_data_list", None),
    }


def _list_training_jobs_for_tuning_job(self: Any) -> ActionResult:
    from moto.sagemaker.exceptions import ResourceNotFound

    backend = self.sagemaker_backend
    name = self._get_param("HyperParameterTuningJobName")
    tuning = backend.hyper_parameter_tuning_jobs.get(name)
    if tuning is None:
        raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
    config = tuning.hyper_parameter_tuning_job_config
    objective = config["HyperParameterTuningJobObjective"]
    tuned = tuned_names(config)
    summaries = [
        trial_summary(_job_fields(job), name, objective, tuned)
        for job in list(backend.training_jobs.values())
        if getattr(job, "tuning_job_arn", None) == tuning.arn
    ]
    page, token = list_trials(
        summaries,
        status=self._get_param("StatusEquals"),
        sort_by=self._get_param("SortBy"),
        sort_order=self._get_param("SortOrder"),
        max_results=self._get_param("MaxResults"),
        next_token=self._get_param("NextToken"),
    )
    answer: dict[str, Any] = {"TrainingJobSummaries": page}
    if token is not None:
        answer["NextToken"] = token
    return ActionResult(answer)


def install() -> None:
    """Add the operation to moto's SageMaker responses."""
    SageMakerResponse.list_training_jobs_for_hyper_parameter_tuning_job = (  # type: ignore[attr-defined]
        _list_training_jobs_for_tuning_job
    )
