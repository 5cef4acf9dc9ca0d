"""ListTrainingJobsForHyperParameterTuningJob on the emulator (aws/sagemaker/tuning_jobs.py):
the trials of a tuning job as the local executor records them (``EmulatorJobRecords``, as the
tuning step creates and finishes its training jobs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.aws.sagemaker.jobs import EmulatorJobRecords
from emulator.tests.helpers import ACCOUNT

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
OBJECTIVE = {"Type": "Minimize", "MetricName": "validation:mlogloss"}
DEFINITION = {
    "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
    "RoleArn": ROLE,
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "StaticHyperParameters": {"num_round": "10"},
}
CONFIG = {
    "Strategy": "Bayesian",
    "HyperParameterTuningJobObjective": OBJECTIVE,
    "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
    "ParameterRanges": {
        "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}],
    },
}


def run_tuning_job(sagemaker: Any, name: str = "tune") -> str:
    """A tuning job with three trials, recorded as the executor records them: two completed
    (objective 0.4 and 0.2), one failed."""
    records = EmulatorJobRecords(sagemaker, ACCOUNT, REGION)
    tuning_arn = records.create(
        "HyperParameterTuningJob",
        {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobConfig": CONFIG,
            "TrainingJobDefinition": DEFINITION,
        },
        {"HyperParameterTuningJobStatus": "InProgress"},
    )
    start = datetime.now(UTC)
    for number, (eta, objective) in enumerate((("0.3", 0.4), ("0.2", 0.2), ("0.4", None))):
        job = f"{name}-{number + 1:03d}"
        records.create(
            "TrainingJob",
            {
                "TrainingJobName": job,
                "HyperParameters": {"num_round": "10", "eta": eta, "max_depth": "3"},
                "AlgorithmSpecification": DEFINITION["AlgorithmSpecification"],
                "RoleArn": ROLE,
                "OutputDataConfig": DEFINITION["OutputDataConfig"],
                "ResourceConfig": DEFINITION["ResourceConfig"],
                "StoppingCondition": DEFINITION["StoppingCondition"],
            },
            {
                "TrainingJobStatus": "InProgress",
                "TuningJobArn": tuning_arn,
                "CreationTime": start + timedelta(seconds=number),
                "TrainingStartTime": start + timedelta(seconds=number),
            },
        )
        finished = {
            "TrainingJobStatus": "Completed" if objective is not None else "Failed",
            "TrainingEndTime": start + timedelta(seconds=number + 10),
            "FailureReason": None if objective is not None else "AlgorithmError: exit code 1",
            "FinalMetricDataList": (
                [{"MetricName": OBJECTIVE["MetricName"], "Value": objective, "Timestamp": start}]
                if objective is not None
                else []
            ),
        }
        records.update("TrainingJob", job, finished)
    return tuning_arn


@pytest.fixture
def sagemaker(clients: Callable[[str], Any]) -> Any:
    return clients("sagemaker")


def test_the_trials_of_a_tuning_job_are_listed(sagemaker: Any) -> None:
    run_tuning_job(sagemaker)
    listed = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune"
    )["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in listed] == ["tune-001", "tune-002", "tune-003"]
    first = listed[0]
    assert first["TuningJobName"] == "tune"
    assert first["TrainingJobStatus"] == "Completed"
    # Only the tuned hyperparameters: the ranges' names, not the static ones.
    assert first["TunedHyperParameters"] == {"eta": "0.3", "max_depth": "3"}
    assert first["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Minimize",
        "MetricName": "validation:mlogloss",
        "Value": 0.4,
    }
    assert first["ObjectiveStatus"] == "Succeeded"
    failed = listed[2]
    assert failed["TrainingJobStatus"] == "Failed"
    assert failed["ObjectiveStatus"] == "Failed"
    assert failed["FailureReason"] == "AlgorithmError: exit code 1"
    assert "FinalHyperParameterTuningJobObjectiveMetric" not in failed


def test_sorting_by_the_objective_leaves_out_trials_without_one(sagemaker: Any) -> None:
    run_tuning_job(sagemaker)
    listed = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune", SortBy="FinalObjectiveMetricValue"
    )["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in listed] == ["tune-002", "tune-001"]
    failed = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune", StatusEquals="Failed"
    )["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in failed] == ["tune-003"]


def test_pages_and_order(sagemaker: Any) -> None:
    run_tuning_job(sagemaker)
    run_tuning_job(sagemaker, "other")  # another tuning job's trials are not listed
    first = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune", MaxResults=2, SortOrder="Descending"
    )
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == [
        "tune-003",
        "tune-002",
    ]
    rest = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune",
        MaxResults=2,
        SortOrder="Descending",
        NextToken=first["NextToken"],
    )
    assert [s["TrainingJobName"] for s in rest["TrainingJobSummaries"]] == ["tune-001"]
    assert "NextToken" not in rest


def test_an_unknown_tuning_job_is_resource_not_found(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as missing:
        sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="nothing"
        )
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
