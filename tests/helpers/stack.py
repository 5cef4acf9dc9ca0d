"""A test stack on moto: the resources the state machine touches, and the real rendered ASL.

``Stack`` creates the bucket, SNS topic (with an SQS queue subscribed, so tests can read what was
published), model package group, SageMaker pipeline and the state machine from the committed
ASL rendered the way Terraform's ``templatefile()`` would. ``run`` starts an execution and waits
for it with a deadline; ``Run`` exposes the terminal status, error, output and the states visited.
"""

from __future__ import annotations

import functools
import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.sagemaker.models import sagemaker_backends

from devtools.build import INPUT_VALIDATOR_FILES, SMOKE_TEST_FILES, zip_bytes
from devtools.generated import render
from emulator.tests.helpers import LAMBDA_TRUST
from ml import evaluate, train
from statemachines.training_pipeline import ASL_PATH
from tests.helpers.models import model_tar_gz, split_iris, train_model_dir

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "mlops-test-artifacts"
PIPELINE = "iris-training-pipeline"
GROUP = "iris-xgboost"
ENDPOINT = "iris-xgboost-endpoint"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
XGBOOST_IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"

DEFAULTS: dict[str, Any] = {
    "data_uri": f"s3://{BUCKET}/data/raw/iris.csv",
    "label_column": "species",
    "feature_columns": [],
    "class_order": [],
    "accuracy_threshold": 0.9,
    "deploy": False,
    "auto_approve": False,
    "poll_interval_seconds": 1,
    "max_polls": 5,
    "max_tuning_jobs": 2,
    "parallel_tuning_jobs": 1,
    "endpoint_poll_interval_seconds": 1,
    "max_endpoint_polls": 5,
}


#: terraform/deployment_guardrails.tf's endpoint alarms with variables.tf's default thresholds:
#: name suffix -> (metric, statistic, threshold). ModelLatency is in microseconds (500 ms).
ROLLBACK_ALARMS: dict[str, tuple[str, str, float]] = {
    "invocation-4xx": ("Invocation4XXErrors", "Sum", 5),
    "invocation-5xx": ("Invocation5XXErrors", "Sum", 1),
    "model-latency": ("ModelLatency", "Average", 500_000),
}

#: Terraform's deployment_guardrails (terraform/deployment_guardrails.tf) with the local stack's
#: short baking period; the alarms are ROLLBACK_ALARMS, which ``Stack`` creates.
GUARDRAILS: dict[str, Any] = {
    "instance_count": 2,
    "canary_percent": 50,
    "baking_seconds": 1,
    "termination_wait_seconds": 0,
    "max_execution_seconds": 1802,
    "alarms": [{"AlarmName": f"{ENDPOINT}-{suffix}"} for suffix in sorted(ROLLBACK_ALARMS)],
}


#: terraform/deployment_guardrails.tf's smoke-test policy (logs aside), for the test stack.
SMOKE_TEST_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/evaluation/*",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}",
        },
    ],
}


#: The object DEFAULTS' data_uri names (the scripted pipelines never parse it).
DEFAULT_DATA = b"sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,0\n"


def defaults_json(defaults: dict[str, Any]) -> str:
    """Terraform's ``trim(jsonencode(jsonencode(x)), "\\"")``: JSON escaped to sit in a string."""
    return json.dumps(json.dumps(defaults, separators=(",", ":")))[1:-1]


def asl_values(
    topic_arn: str,
    *,
    auto_approve_allowed: bool = True,
    defaults: dict[str, Any] | None = None,
    validator_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:input-validator",
    smoke_test_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:smoke-test",
    guardrails: dict[str, Any] | None = None,
) -> dict[str, str]:
    return {
        "defaults_json": defaults_json(defaults or DEFAULTS),
        "auto_approve_allowed": "true" if auto_approve_allowed else "false",
        "pipeline_name": PIPELINE,
        "bucket": BUCKET,
        "model_package_group_name": GROUP,
        "notification_topic_arn": topic_arn,
        "sagemaker_role_arn": ROLE_ARN,
        "xgboost_image_uri": XGBOOST_IMAGE,
        "endpoint_name": ENDPOINT,
        "endpoint_instance_type": "ml.m5.large",
        "model_name_prefix": "iris-xgb",
        "input_validator_function_arn": validator_arn,
        "smoke_test_function_arn": smoke_test_arn,
        "deployment_guardrails_json": defaults_json(guardrails or GUARDRAILS),
    }


@dataclass
class Run:
    """A finished execution."""

    arn: str
    status: str
    error: str | None
    cause: str | None
    output: dict[str, Any] | None
    history: list[dict[str, Any]] = field(repr=False)

    @property
    def states(self) -> list[str]:
        """State names in the order they were entered."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if "stateEnteredEventDetails" in e
        ]

    def entered(self, state: str) -> int:
        return self.states.count(state)


class Stack:
    def __init__(
        self,
        *,
        auto_approve_allowed: bool = True,
        defaults: dict[str, Any] | None = None,
        guardrails: dict[str, Any] | None = None,
    ) -> None:
        session = boto3.Session(region_name=REGION)
        self.s3 = session.client("s3")
        self.sns = session.client("sns")
        self.sqs = session.client("sqs")
        self.sfn = session.client("stepfunctions")
        self.sagemaker = session.client("sagemaker")
        self.iam = session.client("iam")

        self.s3.create_bucket(Bucket=BUCKET)
        # Versioned like terraform/s3.tf's bucket: SnapshotInput records the source version.
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.put_data(DEFAULTS["data_uri"], DEFAULT_DATA)
        self.topic_arn = self.sns.create_topic(Name="training-notifications")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        self.sagemaker.create_pipeline(
            PipelineName=PIPELINE,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn=ROLE_ARN,
        )
        role = self.iam.create_role(
            RoleName="sfn-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        self._create_rollback_alarms(session)
        self.validator_arn = self._create_lambda(session, "input-validator", INPUT_VALIDATOR_FILES)
        self.smoke_test_arn = self._create_lambda(
            session, "smoke-test", SMOKE_TEST_FILES, SMOKE_TEST_POLICY
        )
        definition = render(
            ASL_PATH.read_text(encoding="utf-8"),
            asl_values(
                self.topic_arn,
                auto_approve_allowed=auto_approve_allowed,
                defaults=defaults,
                validator_arn=self.validator_arn,
                smoke_test_arn=self.smoke_test_arn,
                guardrails=guardrails,
            ),
        )
        self.state_machine_arn = self.sfn.create_state_machine(
            name="training", definition=definition, roleArn=role
        )["stateMachineArn"]
        self._runs = 0

    @staticmethod
    def _create_rollback_alarms(session: boto3.Session) -> None:
        """The endpoint alarms GUARDRAILS names, as terraform/deployment_guardrails.tf creates them
        (SageMaker refuses an UpdateEndpoint whose rollback alarms do not exist)."""
        cloudwatch = session.client("cloudwatch")
        for suffix, (metric, statistic, threshold) in ROLLBACK_ALARMS.items():
            cloudwatch.put_metric_alarm(
                AlarmName=f"{ENDPOINT}-{suffix}",
                Namespace="AWS/SageMaker",
                MetricName=metric,
                Dimensions=[
                    {"Name": "EndpointName", "Value": ENDPOINT},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                Statistic=statistic,
                Period=60,
                EvaluationPeriods=1,
                Threshold=threshold,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="notBreaching",
            )

    @staticmethod
    def _create_lambda(
        session: boto3.Session,
        name: str,
        files: dict[str, Path],
        policy: dict[str, Any] | None = None,
    ) -> str:
        """A real Lambda (the zip ``make build`` ships) and its role, as Terraform creates them."""
        iam = session.client("iam")
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        )["Role"]["Arn"]
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
        return str(
            session.client("lambda").create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="handler.lambda_handler",
                Code={"ZipFile": zip_bytes(files)},
                Timeout=60,
            )["FunctionArn"]
        )

    # ------------------------------------------------------------------ running

    def run(
        self,
        execution_input: dict[str, Any] | None = None,
        *,
        timeout: float = 90.0,
        name: str | None = None,
    ) -> Run:
        return self.wait(self.start(execution_input, name=name), timeout=timeout)

    def start(
        self, execution_input: dict[str, Any] | None = None, *, name: str | None = None
    ) -> str:
        """Start an execution and return its ARN without waiting."""
        self._runs += 1
        return self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=name or f"test-run-{self._runs}",
            input=json.dumps(execution_input or {}),
        )["executionArn"]

    def start_raw(self, text: str, *, name: str | None = None) -> str:
        """Start an execution with ``text`` as its input, verbatim (``[]``, ``"x"``, ``3``)."""
        self._runs += 1
        return str(
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name or f"test-run-{self._runs}",
                input=text,
            )["executionArn"]
        )

    def wait(self, arn: str, *, timeout: float = 90.0) -> Run:
        """Wait (with a deadline) for the execution ``arn`` to end."""
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {arn} still RUNNING after {timeout} s")
            time.sleep(0.2)
        history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        output = described.get("output")
        return Run(
            arn=arn,
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            output=json.loads(output) if output else None,
            history=history,
        )

    # ------------------------------------------------------------------ observing

    def notifications(self) -> list[dict[str, Any]]:
        """Messages published to the topic so far: ``{"subject": ..., "message": ...}``."""
        found = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return found
            for message in batch:
                envelope = json.loads(message["Body"])
                found.append(
                    {"subject": envelope.get("Subject"), "message": json.loads(envelope["Message"])}
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def model_packages(self) -> list[dict[str, Any]]:
        summaries = self.sagemaker.list_model_packages(ModelPackageGroupName=GROUP)[
            "ModelPackageSummaryList"
        ]
        return [
            self.sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"])
            for s in summaries
        ]

    def endpoints(self) -> list[str]:
        return [e["EndpointName"] for e in self.sagemaker.list_endpoints()["Endpoints"]]

    def set_endpoint_status(
        self, status: str, *, once_waiting: bool = False, config_name: str | None = None
    ) -> None:
        """Put the endpoint in ``status`` (``"gone"`` deletes it; ``config_name`` switches its
        endpoint config): now, or ``once_waiting``.

        Sets moto's backend object directly: the emulator's own status machine is another
        module's work; here each deploy path only needs the status it starts from. With
        ``once_waiting``, a thread makes the change once a running execution has entered
        ``WaitBeforeEndpointCheck``, i.e. has seen the status it started from and waits.
        """

        def apply() -> None:
            endpoints = sagemaker_backends[ACCOUNT][REGION].endpoints
            if status == "gone":
                endpoints.pop(ENDPOINT, None)
            else:
                endpoints[ENDPOINT].endpoint_status = status
                if config_name:
                    endpoints[ENDPOINT].endpoint_config_name = config_name

        def waiting() -> bool:
            running = self.sfn.list_executions(
                stateMachineArn=self.state_machine_arn, statusFilter="RUNNING"
            )["executions"]
            for execution in running:
                events = self.sfn.get_execution_history(
                    executionArn=execution["executionArn"], maxResults=1000
                )["events"]
                if any(
                    e.get("stateEnteredEventDetails", {}).get("name") == "WaitBeforeEndpointCheck"
                    for e in events
                ):
                    return True
            return False

        def apply_once_waiting() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if waiting():
                    apply()
                    return
                time.sleep(0.2)

        if once_waiting:
            threading.Thread(target=apply_once_waiting, daemon=True).start()
        else:
            apply()

    def put_data(self, uri: str, body: bytes) -> str:
        """Upload ``body`` to ``uri`` (in BUCKET); return the new object version."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return str(self.s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"])

    def put_evaluation(self, execution_id: str, report: dict[str, Any] | str) -> None:
        body = report if isinstance(report, str) else json.dumps(report)
        self.s3.put_object(
            Bucket=BUCKET,
            Key=f"evaluation/{execution_id}/evaluation.json",
            Body=body.encode("utf-8"),
        )
        if isinstance(report, dict):
            self.put_model(report["model"]["artifact_uri"])

    def put_model(self, artifact_uri: str) -> None:
        """A real model at ``artifact_uri`` with its code inside (``code/train.py``)."""
        key = artifact_uri.removeprefix(f"s3://{BUCKET}/")
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=_model_artifact())


#: Test-split rows the smoke test sends (one per class), as evaluate.py picks them.
SMOKE_TEST_BODY = "5.0,3.4,1.5,0.2\n6.0,2.9,4.5,1.5\n6.9,3.1,5.4,2.1\n"


@functools.cache
def _trained() -> tuple[bytes, str]:
    """The test model's artifact and its answer for SMOKE_TEST_BODY (as the endpoint gives it)."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        split = split_iris(root / "raw", root / "split")
        model_dir = train_model_dir(split, root / "model")
        train.copy_code_into_model(model_dir)
        model = train.model_fn(str(model_dir))
        answer = train.probabilities_json(
            train.predict_probabilities(
                train.parse_csv_request(SMOKE_TEST_BODY, model.contract.feature_columns), model
            )
        )
        return model_tar_gz(model_dir), answer


def _model_artifact() -> bytes:
    return _trained()[0]


def smoke_test_block() -> dict[str, Any]:
    """evaluation.json's ``smoke_test`` for the test model (ml/evaluate.py; contracts/README.md)."""
    probabilities = json.loads(_trained()[1])
    return {
        "content_type": "text/csv",
        "body": SMOKE_TEST_BODY,
        "rows": len(probabilities),
        "probabilities": probabilities,
        "tolerance": 1e-4,
    }


def evaluation_report(
    accuracy: float, *, execution_id: str = "abc", binary: bool = False
) -> dict[str, Any]:
    """A report in the contract's shape (``ml/evaluate.py`` writes the real one): multiclass
    (the iris-like seed), or ``binary`` with SageMaker's binary_classification_metrics."""
    classes = (
        ["malignant", "benign"] if binary else ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    )
    metrics: dict[str, Any]
    if binary:
        metrics = {
            "binary_classification_metrics": {
                name: {"value": accuracy, "standard_deviation": "NaN"}
                for name in ("accuracy", "precision", "recall", "f1", "auc")
            }
        }
        metrics["binary_classification_metrics"]["confusion_matrix"] = {
            "0": {"0": 10, "1": 0},
            "1": {"0": 0, "1": 10},
        }
    else:
        metrics = {
            "multiclass_classification_metrics": {
                "accuracy": {"value": accuracy, "standard_deviation": "NaN"},
                "weighted_f1": {"value": accuracy, "standard_deviation": "NaN"},
                "weighted_precision": {"value": accuracy, "standard_deviation": "NaN"},
                "weighted_recall": {"value": accuracy, "standard_deviation": "NaN"},
                "confusion_matrix": {a: {p: 10 if a == p else 0 for p in classes} for a in classes},
            }
        }
    features = ["mean radius", "mean texture"] if binary else ["f1", "f2", "f3", "f4"]
    return {
        **metrics,
        "dataset_contract": {
            "schema_version": 1,
            "label_column": "diagnosis" if binary else "species",
            "feature_columns": features,
            "feature_types": {f: "float64" for f in features},
            "class_names": classes,
            "num_classes": len(classes),
            "problem_type": "binary" if binary else "multiclass",
            "objective": "binary:logistic" if binary else "multi:softprob",
            "tuning_metric": "validation:logloss" if binary else "validation:mlogloss",
        },
        "registry_metadata": {"class_names": evaluate.class_names_metadata(classes)},
        # Rows of the test split, features only (the real evaluate.py takes them from its split);
        # the multiclass report's rows and answers are the test model's own, so a deployment of it
        # passes the smoke test.
        "smoke_test": (
            {
                "content_type": "text/csv",
                "body": "14.2,20.1\n",
                "rows": 1,
                "tolerance": 1e-4,
            }
            if binary
            else smoke_test_block()
        ),
        "model": {
            "artifact_uri": f"s3://{BUCKET}/pipelines/{execution_id}/training/job-001/output/"
            "model.tar.gz",
            "training_job_name": "job-001",
            "hyperparameters": {"max_depth": 4, "eta": 0.2, "num_round": 60},
        },
        "class_names": classes,
        "row_counts": {"train": 90, "validation": 30, "test": 30},
    }
