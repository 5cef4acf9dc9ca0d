"""Processing jobs a caller creates (a state machine's CreateProcessingJob) run for real.

``emulator/aws/sagemaker/processing.py`` hands each created job to the runner
(``emulator/runner.py`` ``local_processing_jobs``): InProgress, then Completed (outputs in S3),
Failed (FailureReason and the script's ExitMessage) or Stopped, as DescribeProcessingJob reports
a job on AWS. Jobs a pipeline step creates are still run by the pipeline executor alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.aws import sagemaker
from emulator.aws.sagemaker.jobs import EmulatorJobRecords
from emulator.runner import local_processing_jobs
from emulator.tests.helpers import ACCOUNT

pytestmark = pytest.mark.integration

BUCKET = "jobs-test"
ROLE_NAME = "processing"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPT = """
import pathlib, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
text = (pathlib.Path(args["--input"]) / "numbers.txt").read_text()
if "fail" in text:
    pathlib.Path(args["--message"]).write_text("NumbersError: not a number: fail")
    sys.exit(2)
if "sleep" in text:
    import time
    time.sleep(60)
total = sum(int(n) for n in text.split())
pathlib.Path(args["--output"], "total.txt").write_text(str(total))
"""
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def aws(emulator: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="code/sum.py", Body=SCRIPT.encode())
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                    }
                ],
            }
        ),
    )
    runner = local_processing_jobs(tmp_path / "jobs")
    sagemaker.set_processing_job_runner(runner)
    yield {"s3": s3, "sm": boto3.client("sagemaker", region_name="us-east-1"), "runner": runner}
    runner.join(30)
    sagemaker.set_processing_job_runner(None)


def create_job(aws: dict[str, Any], name: str, numbers: str, role: str = ROLE) -> None:
    aws["s3"].put_object(Bucket=BUCKET, Key=f"in/{name}/numbers.txt", Body=numbers.encode())
    aws["sm"].create_processing_job(
        ProcessingJobName=name,
        RoleArn=role,
        AppSpecification={
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/sum.py"],
            "ContainerArguments": [
                "--input",
                "/opt/ml/processing/numbers",
                "--output",
                "/opt/ml/processing/total",
                "--message",
                "/opt/ml/output/message",
            ],
        },
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.t3.medium",
                "VolumeSizeInGB": 1,
            }
        },
        ProcessingInputs=[
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/code/",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
            {
                "InputName": "numbers",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/in/{name}/",
                    "LocalPath": "/opt/ml/processing/numbers",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "total",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/out/{name}",
                        "LocalPath": "/opt/ml/processing/total",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )


def wait_for(aws: dict[str, Any], name: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = aws["sm"].describe_processing_job(ProcessingJobName=name)
        if job["ProcessingJobStatus"] in {"Completed", "Failed", "Stopped"}:
            return dict(job)
        assert time.monotonic() < deadline, f"{name} still {job['ProcessingJobStatus']}"
        time.sleep(0.1)


def test_a_created_job_runs_in_progress_then_completed_with_its_outputs(
    aws: dict[str, Any],
) -> None:
    create_job(aws, "sum-ok", "1 2 39")

    first = aws["sm"].describe_processing_job(ProcessingJobName="sum-ok")["ProcessingJobStatus"]
    job = wait_for(aws, "sum-ok")

    assert first == "InProgress"
    assert job["ProcessingJobStatus"] == "Completed"
    body = aws["s3"].get_object(Bucket=BUCKET, Key="out/sum-ok/total.txt")["Body"].read()
    assert body == b"42"


def test_a_failing_script_fails_the_job_with_its_exit_message(aws: dict[str, Any]) -> None:
    create_job(aws, "sum-bad", "1 fail")

    job = wait_for(aws, "sum-bad")

    assert job["ProcessingJobStatus"] == "Failed"
    assert job["ExitMessage"] == "NumbersError: not a number: fail"
    assert job["FailureReason"].startswith("AlgorithmError")


def test_a_role_sagemaker_cannot_assume_fails_the_job(aws: dict[str, Any]) -> None:
    create_job(aws, "sum-norole", "1", role=f"arn:aws:iam::{ACCOUNT}:role/missing")

    job = wait_for(aws, "sum-norole")

    assert job["ProcessingJobStatus"] == "Failed"
    assert "Could not assume role" in job["FailureReason"]


def test_a_stopped_job_ends_stopped(aws: dict[str, Any]) -> None:
    create_job(aws, "sum-slow", "sleep")
    deadline = time.monotonic() + 30
    while not list((Path(aws["runner"].workdir) / "sum-slow").rglob("numbers.txt")):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)

    aws["sm"].stop_processing_job(ProcessingJobName="sum-slow")

    assert wait_for(aws, "sum-slow")["ProcessingJobStatus"] == "Stopped"


def test_jobs_a_pipeline_creates_are_not_handed_to_the_runner(aws: dict[str, Any]) -> None:
    handed: list[str] = []
    sagemaker.set_processing_job_runner(lambda job: handed.append(job.name))
    records = EmulatorJobRecords(aws["sm"], ACCOUNT, "us-east-1")
    request = {
        "ProcessingJobName": "pipeline-step-job",
        "AppSpecification": {"ImageUri": IMAGE},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.t3.medium",
                "VolumeSizeInGB": 1,
            }
        },
        "RoleArn": ROLE,
    }

    records.create("ProcessingJob", request, {"ProcessingJobStatus": "InProgress"})
    create_job(aws, "caller-job", "1")

    assert handed == ["caller-job"]
