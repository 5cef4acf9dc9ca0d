"""A test stack on the in-process emulator: both state machines from the committed ASL, their real
Lambdas (the zips ``make build`` ships), and the resources they touch.

``Stack`` creates the bucket (versioned), the SNS topic (an SQS queue subscribed, so tests read
what was published), the model package group, a pipeline, the Lambdas with roles scoped like
Terraform's, and the training and deployment machines rendered the way ``templatefile()`` would.
``run`` starts a training execution, ``deploy`` a deployment, each waited for with a deadline;
``Run`` exposes the terminal status, error, output and the states visited. ``Pipeline`` scripts
what a pipeline execution does (``scripted``), as the evaluation step would leave it.
"""

from __future__ import annotations

import functools
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from contracts import evaluation as reports
from contracts import pipeline as pipeline_contract
from contracts import registry, s3_layout
from devtools.build import lambda_files, zip_bytes
from devtools.generated import render
from emulator.tests.helpers import LAMBDA_TRUST
from ml import train
from statemachines import BY_NAME
from tests.helpers.models import model_tar_gz, split_iris, train_model_dir

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "mlops-test-artifacts"
PIPELINE = "iris-training-pipeline"
GROUP = "iris-xgboost"
ENDPOINT = "iris-xgboost-endpoint"
VARIANT = "AllTraffic"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
XGBOOST_IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
NO_CHAMPION_URI = f"s3://{BUCKET}/models/none/"

DEFAULTS: dict[str, Any] = {
    "data_uri": f"s3://{BUCKET}/data/raw/iris.csv",
    "label_column": "species",
    "feature_columns": [],
    "class_order": [],
    "accuracy_threshold": 0.9,
    "champion_margin": 0.0,
    "deploy": False,
    "auto_approve": False,
    "poll_interval_seconds": 1,
    "max_polls": 5,
    "max_tuning_jobs": 2,
    "parallel_tuning_jobs": 1,
}

#: The deployment plan's guardrails (terraform/deployment_guardrails.tf's shape) with the local
#: stack's short baking period: the rollback alarms measure the model (5XX, latency).
GUARDRAILS: dict[str, Any] = {
    "traffic": "ALL_AT_ONCE",
    "canary_percent": 50,
    "baking_seconds": 1,
    "termination_wait_seconds": 0,
    "max_execution_seconds": 600,
    "alarms": [
        {
            "suffix": "model-5xx",
            "metric": "Invocation5XXErrors",
            "statistic": "Sum",
            "threshold": 1,
        },
        {
            "suffix": "model-latency",
            "metric": "ModelLatency",
            "statistic": "Average",
            "threshold": 500_000,
        },
    ],
}

#: The object DEFAULTS' data_uri names (the scripted pipelines never parse it).
DEFAULT_DATA = b"sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,0\n"


def _statement(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


OBJECTS = f"arn:aws:s3:::{BUCKET}"
SAGEMAKER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
#: Each function's role, scoped like Terraform's (terraform/lambdas.tf is the real one).
LAMBDA_POLICIES: dict[str, dict[str, Any]] = {
    "input_validator": _policy(
        _statement(["s3:GetObject", "s3:GetObjectVersion"], [f"{OBJECTS}/data/*"]),
        _statement(["s3:GetObject"], [f"{OBJECTS}/evaluation/*"]),
        _statement(
            [
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:DescribeModelPackage",
            ],
            ["*"],
        ),
    ),
    "snapshot": _policy(
        _statement(["s3:GetObject", "s3:GetObjectVersion"], [f"{OBJECTS}/data/*"]),
        _statement(["s3:PutObject", "s3:AbortMultipartUpload"], [f"{OBJECTS}/runs/*"]),
    ),
    "pipeline_outcome": _policy(
        _statement(
            [
                "sagemaker:DescribePipelineExecution",
                "sagemaker:ListPipelineExecutionSteps",
                "sagemaker:DescribeProcessingJob",
            ],
            ["*"],
        ),
        _statement(["s3:GetObject"], [f"{OBJECTS}/evaluation/*"]),
    ),
    "notify": _policy(
        _statement(["sns:Publish"], ["*"]),
        _statement(["s3:PutObject"], [f"{OBJECTS}/deployments/*", f"{OBJECTS}/reports/*"]),
        _statement(["cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"], ["*"]),
    ),
    "deployment_plan": _policy(
        _statement(
            [
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
            ],
            ["*"],
        ),
        _statement(["cloudwatch:PutMetricAlarm"], ["*"]),
    ),
    "smoke_test": _policy(
        _statement(["s3:GetObject"], [f"{OBJECTS}/evaluation/*"]),
        _statement(["sagemaker:InvokeEndpoint"], [f"{SAGEMAKER}:endpoint/{ENDPOINT}"]),
    ),
}


def lambda_environment(
    name: str,
    topic_arn: str,
    *,
    defaults: dict[str, Any],
    auto_approve_allowed: bool,
    guardrails: dict[str, Any],
    instance_count: int,
    capture_percent: int = 20,
) -> dict[str, str]:
    """What Terraform sets on each function."""
    return {
        "input_validator": {
            "BUCKET": BUCKET,
            "DEFAULTS_JSON": json.dumps(defaults),
            "AUTO_APPROVE_ALLOWED": "true" if auto_approve_allowed else "false",
            "ENDPOINT_NAME": ENDPOINT,
            "NO_CHAMPION_URI": NO_CHAMPION_URI,
        },
        "notify": {"TOPIC_ARN": topic_arn, "BUCKET": BUCKET},
        "deployment_plan": {
            "ENDPOINT_NAME": ENDPOINT,
            "MODEL_PACKAGE_GROUP": GROUP,
            "MODEL_NAME_PREFIX": "iris-xgb",
            "VARIANT_NAME": VARIANT,
            "INSTANCE_TYPE": "ml.m5.large",
            "INSTANCE_COUNT": str(instance_count),
            "CAPTURE_PERCENT": str(capture_percent),
            "CAPTURE_DESTINATION": f"s3://{BUCKET}/data-capture",
            "GUARDRAILS_JSON": json.dumps(guardrails),
            "POLL_INTERVAL_SECONDS": "1",
            "MAX_POLLS": "8",
        },
    }.get(name, {})


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

    def state_output(self, state: str) -> dict[str, Any]:
        """The data ``state`` passed on (its last exit)."""
        for event in reversed(self.history):
            details = event.get("stateExitedEventDetails")
            if details and details["name"] == state:
                return dict(json.loads(details["output"]))
        raise KeyError(state)


class Stack:
    def __init__(
        self,
        *,
        auto_approve_allowed: bool = True,
        defaults: dict[str, Any] | None = None,
        guardrails: dict[str, Any] | None = None,
        instance_count: int = 1,
        capture_percent: int = 20,
    ) -> None:
        session = boto3.Session(region_name=REGION)
        self.session = session
        self.s3 = session.client("s3")
        self.sns = session.client("sns")
        self.sqs = session.client("sqs")
        self.sfn = session.client("stepfunctions")
        self.sagemaker = session.client("sagemaker")
        self.iam = session.client("iam")
        self.cloudwatch = session.client("cloudwatch")
        self.defaults = defaults or DEFAULTS

        self.s3.create_bucket(Bucket=BUCKET)
        # Versioned like terraform/s3.tf's bucket: the input check pins the version.
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.put_data(self.defaults["data_uri"], DEFAULT_DATA)
        self.s3.put_object(Bucket=BUCKET, Key="models/none/none", Body=b"no champion\n")
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
        self.machine_role = role
        functions = {
            name: self._create_lambda(
                name,
                lambda_environment(
                    name,
                    self.topic_arn,
                    defaults=self.defaults,
                    auto_approve_allowed=auto_approve_allowed,
                    guardrails=guardrails or GUARDRAILS,
                    instance_count=instance_count,
                    capture_percent=capture_percent,
                ),
            )
            for name in LAMBDA_POLICIES
        }
        values = {
            "training": {
                "input_validator_function_arn": functions["input_validator"],
                "snapshot_function_arn": functions["snapshot"],
                "pipeline_outcome_function_arn": functions["pipeline_outcome"],
                "notify_function_arn": functions["notify"],
                "pipeline_name": PIPELINE,
                "model_package_group_name": GROUP,
                "xgboost_image_uri": XGBOOST_IMAGE,
            },
            "deployment": {
                "deployment_plan_function_arn": functions["deployment_plan"],
                "smoke_test_function_arn": functions["smoke_test"],
                "notify_function_arn": functions["notify"],
                "sagemaker_role_arn": ROLE_ARN,
            },
        }
        self.machines = {
            name: self.sfn.create_state_machine(
                name=name,
                definition=render(BY_NAME[name].asl_path.read_text(encoding="utf-8"), values[name]),
                roleArn=role,
            )["stateMachineArn"]
            for name in values
        }
        self.functions = functions
        self.state_machine_arn = self.machines["training"]
        self._runs = 0

    def _create_lambda(
        self, name: str, environment: dict[str, str], policy: dict[str, Any] | None = None
    ) -> str:
        """A real Lambda (the zip ``make build`` ships) and its role, as Terraform creates them."""
        role = self.iam.create_role(
            RoleName=f"{name}-role",
            AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        )["Role"]["Arn"]
        self.iam.put_role_policy(
            RoleName=f"{name}-role",
            PolicyName=name,
            PolicyDocument=json.dumps(policy or LAMBDA_POLICIES[name]),
        )
        return str(
            self.session.client("lambda").create_function(
                FunctionName=name.replace("_", "-"),
                Runtime="python3.12",
                Role=role,
                Handler="handler.lambda_handler",
                Code={"ZipFile": zip_bytes(lambda_files(name))},
                Timeout=60,
                Environment={"Variables": environment},
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
        self,
        execution_input: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        machine: str = "training",
    ) -> str:
        """Start an execution and return its ARN without waiting."""
        return self.start_raw(json.dumps(execution_input or {}), name=name, machine=machine)

    def start_raw(self, text: str, *, name: str | None = None, machine: str = "training") -> str:
        """Start an execution with ``text`` as its input, verbatim (``[]``, ``"x"``, ``3``)."""
        self._runs += 1
        return str(
            self.sfn.start_execution(
                stateMachineArn=self.machines[machine],
                name=name or f"test-{machine}-{self._runs}",
                input=text,
            )["executionArn"]
        )

    def deploy(self, package_arn: str, *, reason: str = "approval", timeout: float = 90.0) -> Run:
        """Run the deployment machine on a request for ``package_arn``."""
        request = {"model_package_arn": package_arn, "reason": reason, "requested_by": "test"}
        return self.wait(self.start(request, machine="deployment"), timeout=timeout)

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

    def serving_package(self) -> str | None:
        endpoint = self.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
        config = self.sagemaker.describe_endpoint_config(
            EndpointConfigName=endpoint["EndpointConfigName"]
        )
        model = self.sagemaker.describe_model(
            ModelName=config["ProductionVariants"][0]["ModelName"]
        )
        return model["PrimaryContainer"].get("ModelPackageName")

    def deployment_records(self) -> list[dict[str, Any]]:
        """``deployments/<endpoint>/`` records, oldest first."""
        prefix = s3_layout.deployment_records_prefix(ENDPOINT)
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return [
            json.loads(self.s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
            for o in sorted(listed, key=lambda o: o["Key"])
        ]

    def put_data(self, uri: str, body: bytes, **extra: Any) -> str:
        """Upload ``body`` to ``uri`` (in BUCKET); return the new object version."""
        bucket, key = s3_layout.split_s3_uri(uri)
        return str(self.s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)["VersionId"])

    def put_model(self, artifact_uri: str) -> None:
        """A real model at ``artifact_uri`` with its code inside (``code/train.py``)."""
        bucket, key = s3_layout.split_s3_uri(artifact_uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=_model_artifact())

    def register(
        self,
        report: dict[str, Any],
        *,
        status: str = "Approved",
        metadata: dict[str, str] | None = None,
    ) -> str:
        """A package as the training machine registers it (its evaluation and model stored)."""
        self._runs += 1
        prefix = f"evaluation/registered-{self._runs}"
        self.s3.put_object(
            Bucket=BUCKET, Key=f"{prefix}/evaluation.json", Body=json.dumps(report).encode()
        )
        self.put_model(report["model"]["artifact_uri"])
        summary = summary_for(report)
        properties = {**summary["registration"]["metadata"], **(metadata or {})}
        return str(
            self.sagemaker.create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus=status,
                InferenceSpecification={
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
                ModelMetrics={
                    "ModelQuality": {
                        "Statistics": {
                            "ContentType": "application/json",
                            "S3Uri": f"s3://{BUCKET}/{prefix}/evaluation.json",
                        }
                    }
                },
                CustomerMetadataProperties=properties,
            )["ModelPackageArn"]
        )


# ---------------------------------------------------------------------- the scripted pipeline


def summary_for(
    report: dict[str, Any],
    *,
    threshold: float = 0.9,
    margin: float = 0.0,
) -> dict[str, Any]:
    """The summary.json the evaluation step writes for ``report`` (contracts.evaluation)."""
    contract = report.get("dataset_contract", {})
    champion = report.get("champion") or {}
    champion_accuracy = None
    if isinstance(champion.get("metrics"), dict):
        _, block = reports.metrics_block(champion["metrics"])
        champion_accuracy = reports.metric(block, "accuracy")
    verdict = reports.decide_gate(
        reports.accuracy(report),
        threshold,
        champion_accuracy=champion_accuracy,
        margin=margin,
        contract_differences=champion.get("differences", []),
        label=str(contract.get("label_column", "")),
        problem_type=reports.metrics_block(report)[0],
    )
    return reports.build_summary(report, verdict, threshold=threshold, margin=margin)


class Pipeline:
    """What a scripted pipeline execution leaves behind: steps, processing jobs, outputs."""

    def __init__(self, stack: Stack, run: Any) -> None:
        self.stack = stack
        self.run = run
        self.prefix = f"pipelines-{run.execution_id}"

    def job(
        self,
        step: str,
        status: str,
        exit_message: str | None = None,
        outputs: dict[str, str] | None = None,
    ) -> dict[str, dict[str, str]]:
        """A processing job as the local executor leaves it; the step metadata naming it."""
        from emulator.aws.sagemaker import moto_backend

        name = f"{self.prefix}-{step}"
        request: dict[str, Any] = {
            "ProcessingJobName": name,
            "AppSpecification": {"ImageUri": XGBOOST_IMAGE},
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 30,
                }
            },
            "RoleArn": ROLE_ARN,
        }
        if outputs:
            request["ProcessingOutputConfig"] = {
                "Outputs": [
                    {
                        "OutputName": output,
                        "S3Output": {
                            "S3Uri": uri,
                            "LocalPath": f"/opt/ml/processing/{output}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for output, uri in outputs.items()
                ]
            }
        arn = self.stack.sagemaker.create_processing_job(**request)["ProcessingJobArn"]
        job = moto_backend(ACCOUNT, REGION).processing_jobs[name]  # moto creates it Completed
        job.processing_job_status = status
        if status == "Failed":
            job.failure_reason = "AlgorithmError: See job logs for more information"
        job.exit_message = exit_message
        return {"ProcessingJob": {"Arn": arn}}

    def succeed(
        self,
        report: dict[str, Any] | None,
        *,
        summary: dict[str, Any] | str | None = None,
        threshold: float = 0.9,
        margin: float = 0.0,
    ) -> None:
        """PrepareData, tuning and evaluation succeed; the evaluation wrote ``report`` and its
        summary (``summary`` overrides it; a report of None writes neither)."""
        evaluation = f"s3://{BUCKET}/evaluation/{self.run.execution_id}"
        baseline = f"s3://{BUCKET}/pipelines/{self.run.execution_id}/prepare/baseline"
        self.run.set_step(
            pipeline_contract.STEP_PREPARE,
            "Succeeded",
            metadata=self.job(
                pipeline_contract.STEP_PREPARE,
                "Completed",
                outputs={pipeline_contract.OUTPUT_BASELINE: baseline},
            ),
        )
        self.run.set_step("CheckProblemType", "Succeeded", step_type="Condition")
        self.run.set_step("TuneXGBoostMulticlass", "Succeeded", step_type="Tuning")
        self.run.set_step(
            "EvaluateModelMulticlass",
            "Succeeded",
            metadata=self.job(
                "EvaluateModelMulticlass",
                "Completed",
                outputs={pipeline_contract.OUTPUT_EVALUATION: evaluation},
            ),
        )
        if report is not None:
            key = f"evaluation/{self.run.execution_id}"
            self.stack.s3.put_object(
                Bucket=BUCKET, Key=f"{key}/evaluation.json", Body=json.dumps(report).encode()
            )
            if "model" in report:
                self.stack.put_model(report["model"]["artifact_uri"])
            if summary is None:
                summary = summary_for(report, threshold=threshold, margin=margin)
            body = summary if isinstance(summary, str) else json.dumps(summary)
            self.stack.s3.put_object(Bucket=BUCKET, Key=f"{key}/summary.json", Body=body.encode())
            # the evaluation step's complete drift baseline, beside its report
            self.stack.s3.put_object(
                Bucket=BUCKET, Key=f"{key}/baseline.json", Body=b'{"schema_version": 1}'
            )
        self.run.set_status("Succeeded")

    def fail(self, step: str, exit_message: str | None) -> None:
        """``step`` ran a processing job that failed, leaving ``exit_message``."""
        if step != pipeline_contract.STEP_PREPARE:
            metadata = self.job(pipeline_contract.STEP_PREPARE, "Completed")
            self.run.set_step(pipeline_contract.STEP_PREPARE, "Succeeded", metadata=metadata)
        self.run.set_step(
            step,
            "Failed",
            failure_reason="AlgorithmError: See job logs for more information",
            metadata=self.job(step, "Failed", exit_message),
        )
        self.run.set_status("Failed", f"Step {step} failed: AlgorithmError")


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
    """evaluation.json's ``smoke_test`` for the test model (ml/evaluate.py writes the real one)."""
    probabilities = json.loads(_trained()[1])
    return {
        "content_type": "text/csv",
        "body": SMOKE_TEST_BODY,
        "rows": len(probabilities),
        "probabilities": probabilities,
        "tolerance": reports.SMOKE_TEST_TOLERANCE,
    }


def evaluation_report(
    accuracy: float,
    *,
    execution_id: str = "abc",
    binary: bool = False,
    champion_accuracy: float | None = None,
    features: list[str] | None = None,
) -> dict[str, Any]:
    """A report in the contract's shape (``ml/evaluate.py`` writes the real one): multiclass
    (the iris-like seed), or ``binary`` with SageMaker's binary_classification_metrics; with a
    champion block when ``champion_accuracy`` is given."""
    classes = (
        ["malignant", "benign"] if binary else ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    )

    def metrics(value: float) -> dict[str, Any]:
        if binary:
            block = {
                name: {"value": value, "standard_deviation": "NaN"}
                for name in ("accuracy", "precision", "recall", "f1", "auc")
            }
            block["confusion_matrix"] = {"0": {"0": 10, "1": 0}, "1": {"0": 0, "1": 10}}
            return {"binary_classification_metrics": block}
        return {
            "multiclass_classification_metrics": {
                "accuracy": {"value": value, "standard_deviation": "NaN"},
                "weighted_f1": {"value": value, "standard_deviation": "NaN"},
                "weighted_precision": {"value": value, "standard_deviation": "NaN"},
                "weighted_recall": {"value": value, "standard_deviation": "NaN"},
                "confusion_matrix": {a: {p: 10 if a == p else 0 for p in classes} for a in classes},
            }
        }

    names = features or (["mean radius", "mean texture"] if binary else ["f1", "f2", "f3", "f4"])
    report: dict[str, Any] = {
        **metrics(accuracy),
        "dataset_contract": {
            "schema_version": 1,
            "label_column": "diagnosis" if binary else "species",
            "feature_columns": names,
            "feature_types": {f: "float64" for f in names},
            "class_names": classes,
            "num_classes": len(classes),
            "problem_type": "binary" if binary else "multiclass",
            "objective": "binary:logistic" if binary else "multi:softprob",
            "tuning_metric": "validation:logloss" if binary else "validation:mlogloss",
        },
        "registry_metadata": {"class_names": registry.class_names_value(classes)},
        # The multiclass report's rows and answers are the test model's own, so a deployment of
        # it passes the smoke test.
        "smoke_test": (
            {"content_type": "text/csv", "body": "14.2,20.1\n", "rows": 1, "tolerance": 1e-4}
            if binary
            else smoke_test_block()
        ),
        "model": {
            "artifact_uri": f"s3://{BUCKET}/models/{execution_id}/training/job-001/output/"
            "model.tar.gz",
            "training_job_name": "job-001",
            "hyperparameters": {"max_depth": 4, "eta": 0.2, "num_round": 60},
        },
        "class_names": classes,
        "row_counts": {"train": 90, "validation": 30, "test": 30},
    }
    if champion_accuracy is not None:
        report["champion"] = {
            "model_package_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/1",
            "metrics": metrics(champion_accuracy),
            "contract_matches": True,
            "differences": [],
        }
    return report
