"""The monitoring machine on the in-process emulator, beside a ``Stack``'s two machines.

``Monitoring(stack, work)`` adds what terraform/monitoring.tf and terraform/lambdas.tf create:
the SageMaker role (jobs and capture act as it), the monitor's code bundle under ``code/``, the
uploads queue a drift's training request goes to, the two Lambdas with roles scoped like
Terraform's, and the machine rendered as ``templatefile()`` would. ``package`` registers a real
model with the evaluation report and the drift baseline ``ml/evaluate.py`` writes for it;
``send`` invokes the endpoint with ``ops/traffic.py``'s rows; ``run`` runs the machine. Processing
jobs run for real (``emulator.runner.local_processing_jobs``): ``ml/monitor.py`` judges.
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import boto3

from contracts import registry
from devtools.generated import render
from emulator.aws import sagemaker
from emulator.runner import local_processing_jobs
from ml import evaluate, train
from ml.pipeline import bundle_sources
from ops import traffic
from statemachines import BY_NAME
from tests.helpers.models import model_tar_gz, split_iris, train_model_dir
from tests.helpers.stack import (
    ACCOUNT,
    BUCKET,
    ENDPOINT,
    GROUP,
    REGION,
    ROLE_ARN,
    XGBOOST_IMAGE,
    Run,
    Stack,
    summary_for,
)

ROOT = Path(__file__).resolve().parents[2]
ROLE_NAME = ROLE_ARN.rsplit("/", 1)[-1]
SKLEARN_IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CODE_PREFIX = "code/monitor/"
NAMESPACE = "MLOps/Drift"
OBJECTS = f"arn:aws:s3:::{BUCKET}"
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _allow(actions: list[str], resources: list[str], **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


#: The SageMaker role's share of terraform/iam.tf that capture and the drift job use.
SAGEMAKER_POLICY = _policy(
    _allow(["s3:ListBucket"], [OBJECTS]),
    _allow(["s3:GetObject"], [f"{OBJECTS}/{p}*" for p in ("code/", "evaluation/", "data-capture/",
                                                          "monitoring/")]),
    _allow(["s3:PutObject"], [f"{OBJECTS}/data-capture/*", f"{OBJECTS}/monitoring/*"]),
)  # fmt: skip


def lambda_policies(queue_arn: str) -> dict[str, dict[str, Any]]:
    """Each monitoring function's role, scoped like terraform/lambdas.tf's."""
    return {
        "monitor_plan": _policy(
            _allow(
                [
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeModelPackage",
                ],
                ["*"],
            ),
            _allow(["s3:GetObject"], [f"{OBJECTS}/evaluation/*"]),
            _allow(["s3:ListBucket"], [OBJECTS]),
            _allow(["s3:PutObject"], [f"{OBJECTS}/monitoring/*"]),
        ),
        "monitor_outcome": _policy(
            _allow(["sagemaker:DescribeProcessingJob"], ["*"]),
            _allow(["s3:GetObject"], [f"{OBJECTS}/monitoring/*"]),
            _allow(
                ["cloudwatch:PutMetricData"],
                ["*"],
                StringEquals={"cloudwatch:namespace": NAMESPACE},
            ),
            _allow(["sqs:SendMessage"], [queue_arn]),
        ),
    }


@functools.cache
def served_model(bucket: str = BUCKET) -> tuple[bytes, dict[str, Any], str, str, str]:
    """(model.tar.gz, evaluation.json, baseline.json, the test split, the contract) of a real
    iris model whose artifact lives at ``s3://<bucket>/models/monitored/model.tar.gz``, as the
    pipeline's steps write them (ml/prepare.py, ml/train.py, ml/evaluate.py)."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        split = split_iris(root / "raw", root / "split")
        model_dir = train_model_dir(split, root / "model")
        train.copy_code_into_model(model_dir)
        out = root / "evaluation"
        artifact_uri = f"s3://{bucket}/models/monitored/model.tar.gz"
        report = evaluate.run(
            model_dir,
            split / "test",
            out,
            artifact_uri,
            split / "baseline",
            gate=evaluate.Gate(threshold=0.5),
        )
        return (
            model_tar_gz(model_dir),
            report,
            (out / "baseline.json").read_text(),
            (split / "test" / "test.csv").read_text(),
            (split / "contract" / "contract.json").read_text(),
        )


def register_served_model(
    s3: Any, sagemaker: Any, bucket: str, group: str, *, baseline: bool = True
) -> str:
    """Upload ``served_model(bucket)`` and register it Approved in ``group`` as the training
    machine registers a model: its evaluation report and (if asked) its drift baseline."""
    artifact, report, baseline_text, _, _ = served_model(bucket)
    s3.put_object(Bucket=bucket, Key="models/monitored/model.tar.gz", Body=artifact)
    prefix = "evaluation/monitored"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/evaluation.json", Body=json.dumps(report).encode())
    s3.put_object(Bucket=bucket, Key=f"{prefix}/baseline.json", Body=baseline_text.encode())
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": XGBOOST_IMAGE,
                    "ModelDataUrl": report["model"]["artifact_uri"],
                    "Environment": {
                        "SAGEMAKER_PROGRAM": "train.py",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                    },
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{bucket}/{prefix}/evaluation.json",
                }
            }
        },
        "CustomerMetadataProperties": registry.checked_metadata(
            summary_for(report)["registration"]["metadata"]
        ),
    }
    if baseline:
        request["DriftCheckBaselines"] = {
            "ModelDataQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{bucket}/{prefix}/baseline.json",
                }
            }
        }
    return str(sagemaker.create_model_package(**request)["ModelPackageArn"])


def traffic_bodies(rows: int, shift: str = "", bucket: str = BUCKET) -> list[str]:
    """``make traffic ROWS=<rows> SHIFT=<shift>``'s request bodies for the served model."""
    _, _, _, test_split, contract = served_model(bucket)
    features = json.loads(contract)["feature_columns"]
    return traffic.traffic(test_split, features, str(rows), shift)


class Monitoring:
    """The monitoring machine and what it needs, added to ``stack``."""

    def __init__(
        self,
        stack: Stack,
        work: Path,
        *,
        retrain_on_drift: bool = False,
        min_rows: int = 200,
        max_polls: int = 120,
    ) -> None:
        self.stack = stack
        iam = stack.iam
        iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))
        iam.put_role_policy(
            RoleName=ROLE_NAME, PolicyName="jobs", PolicyDocument=json.dumps(SAGEMAKER_POLICY)
        )
        for name, source in bundle_sources("monitor").items():
            stack.s3.put_object(Bucket=BUCKET, Key=CODE_PREFIX + name, Body=source.read_bytes())
        self.queue_url = stack.sqs.create_queue(
            QueueName="uploads.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        queue_arn = stack.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        environments = {
            "monitor_plan": {
                "ENDPOINT_NAME": ENDPOINT,
                "BUCKET": BUCKET,
                "MONITOR_CODE_URI": f"s3://{BUCKET}/{CODE_PREFIX}",
                "WINDOW_MINUTES": "60",
                "MIN_ROWS": str(min_rows),
                "POLL_INTERVAL_SECONDS": "1",
                "MAX_POLLS": str(max_polls),
            },
            "monitor_outcome": {
                "METRIC_NAMESPACE": NAMESPACE,
                "RETRAIN_ON_DRIFT": "true" if retrain_on_drift else "false",
                "RETRAIN_DATA_URI": stack.defaults["data_uri"],
                "UPLOADS_QUEUE_URL": self.queue_url,
            },
        }
        policies = lambda_policies(queue_arn)
        functions = {
            name: stack._create_lambda(name, environments[name], policies[name])
            for name in environments
        }
        values = {
            "monitor_plan_function_arn": functions["monitor_plan"],
            "monitor_outcome_function_arn": functions["monitor_outcome"],
            "notify_function_arn": stack.functions["notify"],
            "sagemaker_role_arn": ROLE_ARN,
            "sklearn_image_uri": SKLEARN_IMAGE,
            "monitoring_instance_type": "ml.t3.medium",
        }
        asl = render(BY_NAME["monitoring"].asl_path.read_text(encoding="utf-8"), values)
        stack.machines["monitoring"] = stack.sfn.create_state_machine(
            name="monitoring", definition=asl, roleArn=stack.machine_role
        )["stateMachineArn"]
        self.jobs = local_processing_jobs(work / "jobs")
        sagemaker.set_processing_job_runner(self.jobs)
        self.runtime = boto3.client("sagemaker-runtime", region_name=REGION)

    # ------------------------------------------------------------------ the served model

    def package(self, *, baseline: bool = True) -> str:
        """A real model registered Approved with its evaluation and (if asked) its baseline."""
        return register_served_model(
            self.stack.s3, self.stack.sagemaker, BUCKET, GROUP, baseline=baseline
        )

    def serve(self, *, baseline: bool = True) -> str:
        """Deploy a monitored package with the deployment machine; its ARN."""
        arn = self.package(baseline=baseline)
        run = self.stack.deploy(arn)
        assert run.status == "SUCCEEDED", run.cause
        self.stack.notifications()
        return arn

    def send(self, rows: int, shift: str = "") -> int:
        """``make traffic ROWS=<rows> SHIFT=<shift>``'s requests; the number sent."""
        bodies = traffic_bodies(rows, shift)
        for body in bodies:
            self.runtime.invoke_endpoint(
                EndpointName=ENDPOINT, ContentType="text/csv", Body=body.encode()
            )
        return len(bodies)

    # ------------------------------------------------------------------ runs

    def run(self, execution_input: dict[str, Any] | None = None, timeout: float = 120.0) -> Run:
        arn = self.stack.start(execution_input, machine="monitoring")
        return self.stack.wait(arn, timeout=timeout)

    def requests(self) -> list[dict[str, Any]]:
        """Training requests sent to the uploads queue so far (received and deleted)."""
        found = []
        while True:
            batch = self.stack.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                self.stack.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def drift_metric(self, name: str = "DriftDetected") -> list[dict[str, Any]]:
        """The datapoints of ``name`` published for the endpoint."""
        from datetime import UTC, datetime, timedelta

        now = datetime.now(UTC)
        return list(
            self.stack.cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=name,
                Dimensions=[{"Name": "EndpointName", "Value": ENDPOINT}],
                StartTime=now - timedelta(hours=3),
                EndTime=now + timedelta(hours=1),
                Period=60,
                Statistics=["Maximum"],
            )["Datapoints"]
        )

    def metric_names(self) -> set[str]:
        listed = self.stack.cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
        return {metric["MetricName"] for metric in listed}

    def close(self) -> None:
        self.jobs.join(60)
        sagemaker.set_processing_job_runner(None)


__all__ = ["ACCOUNT", "Monitoring", "register_served_model", "served_model", "traffic_bodies"]
