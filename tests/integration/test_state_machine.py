"""The real ASL executed by moto's Step Functions interpreter: one test per path.

Each test scripts what the SageMaker pipeline does (through the pipeline-runner extension) and
asserts the terminal status, the error name, the SNS messages and the states visited.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import regex

from emulator.aws import core, sagemaker
from emulator.aws.sagemaker import PipelineRun, moto_backend
from emulator.sagemaker_executor.jobs import S3Transfer
from tests.helpers.stack import (
    ACCOUNT,
    BUCKET,
    ENDPOINT,
    REGION,
    ROLE_ARN,
    XGBOOST_IMAGE,
    Run,
    Stack,
    evaluation_report,
)

pytestmark = pytest.mark.integration

PACKAGE_ARN_NOT_SERVING = "arn:aws:sagemaker:us-east-1:123456789012:model-package/iris-xgboost/9"


def succeed_with(
    stack: Stack, report: dict[str, Any] | str | None
) -> Callable[[PipelineRun], None]:
    """A pipeline that succeeds, having written ``report`` (or nothing) as its evaluation."""

    def runner(run: PipelineRun) -> None:
        for step in ("PrepareData", "TuneXGBoost", "EvaluateModel"):
            run.set_step(step, "Succeeded")
        if report is not None:
            stack.put_evaluation(run.execution_id, report)
        run.set_status("Succeeded")

    return runner


def fail_with(reason: str) -> Callable[[PipelineRun], None]:
    def runner(run: PipelineRun) -> None:
        run.set_step("PrepareData", "Failed", failure_reason=reason)
        run.set_status("Failed", "Step failure: One or multiple steps failed.")

    return runner


def never_finishes(run: PipelineRun) -> None:
    run.set_step("PrepareData", "Executing")


@pytest.fixture
def stack(emulator: None) -> Iterator[Stack]:
    # Endpoints really go through Creating/Updating/Deleting; short transitions keep each path
    # within the stack's small endpoint poll budget (tests/integration/test_endpoint_lifecycle.py
    # covers the status machine itself).
    sagemaker.set_endpoint_transition_seconds(0.3)
    yield Stack()
    sagemaker.set_endpoint_transition_seconds(None)


def passing(stack: Stack, accuracy: float = 0.97) -> None:
    sagemaker.set_pipeline_runner(succeed_with(stack, evaluation_report(accuracy)))


def scheduled_actions(run: Run) -> list[str]:
    """The API actions the run's Task states called, in order."""
    return [
        e["taskScheduledEventDetails"]["resource"]
        for e in run.history
        if e["type"] == "TaskScheduled"
    ]


def task_errors(run: Run, resource: str) -> list[str]:
    """Error names of the failed attempts of tasks calling ``resource`` (e.g. describeEndpoint)."""
    return [
        e["taskFailedEventDetails"]["error"]
        for e in run.history
        if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["resource"] == resource
    ]


def test_gate_passes_registers_without_deploy(stack: Stack) -> None:
    passing(stack)

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    assert run.states[:6] == [
        "CheckInput",
        "InputChecked",
        "LoadDefaults",
        "ApplyDefaults",
        "RouteRequest",
        "LocateInput",
    ]
    for state in (
        "SnapshotInput",
        "StartPipeline",
        "DescribePipeline",
        "ReadEvaluation",
        "QualityGate",
        "AwaitManualApproval",
        "RegisterModel",
        "NoDeploy",
        "NotifySuccess",
    ):
        assert state in run.states
    assert "CreateModel" not in run.states
    packages = stack.model_packages()
    assert len(packages) == 1
    package = packages[0]
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelPackageArn"] == run.output["model_package_arn"]
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["S3Uri"].endswith("/evaluation.json")
    assert statistics["S3Uri"] == run.output["evaluation_uri"]
    assert run.output["accuracy"] == 0.97
    assert run.output["deployment"]["deployed"] is False
    assert stack.endpoints() == []
    [note] = stack.notifications()
    assert note["subject"] == "Training run succeeded"
    assert note["message"]["model_package_arn"] == package["ModelPackageArn"]


def test_defaults_come_from_terraform_and_input_overrides_them(stack: Stack) -> None:
    passing(stack, accuracy=0.92)

    stack.put_data(f"s3://{BUCKET}/data/raw/x.csv", b"x\n")
    run = stack.run({"accuracy_threshold": 0.95, "data_uri": f"s3://{BUCKET}/data/raw/x.csv"})

    assert run.status == "FAILED"
    assert run.error == "QualityGateFailed"
    started = [
        e
        for e in run.history
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resource"] == "startPipelineExecution"
    ]
    parameters = started[0]["taskScheduledEventDetails"]["parameters"]
    assert f"s3://{BUCKET}/runs/test-run-1/input/x.csv" in parameters


def test_gate_passes_with_deploy(stack: Stack) -> None:
    passing(stack)

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    for state in (
        "ApproveAutomatically",
        "RegisterModel",
        "NameDeployment",
        "CreateModel",
        "CreateEndpointConfig",
        "CheckEndpoint",
        "CreateEndpoint",
        "DescribeEndpoint",
        "Deployed",
        "NotifySuccess",
    ):
        assert state in run.states
    assert "UpdateEndpoint" not in run.states
    [package] = stack.model_packages()
    assert package["ModelApprovalStatus"] == "Approved"
    assert stack.endpoints() == [ENDPOINT]
    endpoint = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    config = stack.sagemaker.describe_endpoint_config(
        EndpointConfigName=endpoint["EndpointConfigName"]
    )
    assert config["DataCaptureConfig"]["DestinationS3Uri"].endswith("/data-capture")
    model = stack.sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == package["ModelPackageArn"]
    assert run.output["deployment"] == {
        "deployed": True,
        "endpoint_name": ENDPOINT,
        "model_name": model["ModelName"],
        "previous_config": "none",
        "smoke_test": "3 rows answered as the evaluation predicted",
        "reason": "deployed the approved package; the smoke test passed",
    }
    [note] = stack.notifications()
    assert note["message"]["deployment"]["deployed"] is True


def test_second_deploy_updates_the_existing_endpoint(stack: Stack) -> None:
    passing(stack)
    first = stack.run({"deploy": True, "auto_approve": True})
    assert first.status == "SUCCEEDED", first.cause

    second = stack.run({"deploy": True, "auto_approve": True})

    assert second.status == "SUCCEEDED", second.cause
    assert "UpdateEndpoint" in second.states
    assert "CreateEndpoint" not in second.states
    assert len(stack.model_packages()) == 2


def test_deploy_without_approval_registers_but_does_not_deploy(stack: Stack) -> None:
    passing(stack)

    run = stack.run({"deploy": True, "auto_approve": False})

    assert run.status == "SUCCEEDED", run.cause
    assert "DeploySkipped" in run.states
    assert "CreateModel" not in run.states
    assert stack.endpoints() == []
    assert "approve it in the Model Registry" in run.output["deployment"]["reason"]
    [note] = stack.notifications()
    assert "PendingManualApproval" in note["message"]["deployment"]["reason"]


def test_auto_approve_is_refused_when_terraform_does_not_allow_it(emulator: None) -> None:
    stack = Stack(auto_approve_allowed=False)
    passing(stack)

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    assert "AwaitManualApproval" in run.states
    assert "DeploySkipped" in run.states
    [package] = stack.model_packages()
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert stack.endpoints() == []


def test_gate_fails(stack: Stack) -> None:
    passing(stack, accuracy=0.5)

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error == "QualityGateFailed"
    assert "0.5 (label species, multiclass) is below the threshold 0.9" in run.cause
    assert run.states[-3:] == ["QualityGateFailed", "NotifyFailure", "Failed"]
    assert "RegisterModel" not in run.states
    assert stack.model_packages() == []
    [note] = stack.notifications()
    assert note["subject"] == "Training run failed: QualityGateFailed"
    assert note["message"]["error"] == "QualityGateFailed"
    assert note["message"]["state"] == "QualityGateFailed"


def test_pipeline_fails(stack: Stack) -> None:
    sagemaker.set_pipeline_runner(
        fail_with("ClientError: data/raw/iris.csv row 7, column PetalLength: 'abc' is not a number")
    )

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error == "PipelineExecutionFailed"
    assert "row 7, column PetalLength" in run.cause
    assert "PrepareData" in run.cause
    assert run.states[-5:] == [
        "FindDataStep",
        "RanDataJob",
        "PipelineFailed",
        "NotifyFailure",
        "Failed",
    ]
    assert "ReadEvaluation" not in run.states
    assert stack.model_packages() == []
    [note] = stack.notifications()
    assert note["message"]["error"] == "PipelineExecutionFailed"


def processing_job(
    stack: Stack, name: str, status: str, exit_message: str | None
) -> dict[str, dict[str, str]]:
    """A processing job as the local executor leaves it; the step metadata that names it."""
    arn = stack.sagemaker.create_processing_job(
        ProcessingJobName=name,
        AppSpecification={"ImageUri": XGBOOST_IMAGE},
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 30,
            }
        },
        RoleArn=ROLE_ARN,
    )["ProcessingJobArn"]
    job = moto_backend(ACCOUNT, REGION).processing_jobs[name]  # moto creates it Completed
    job.processing_job_status = status
    if status == "Failed":
        job.failure_reason = "AlgorithmError: See job logs for more information"
    job.exit_message = exit_message
    return {"ProcessingJob": {"Arn": arn}}


def fail_processing_with(
    stack: Stack, exit_message: str | None, step: str = "PrepareData"
) -> Callable[[PipelineRun], None]:
    """A pipeline whose ``step`` ran a processing job that failed, leaving ``exit_message``."""

    def runner(run: PipelineRun) -> None:
        prefix = f"pipelines-{run.execution_id}"
        if step != "PrepareData":
            metadata = processing_job(stack, f"{prefix}-PrepareData", "Completed", None)
            run.set_step("PrepareData", "Succeeded", metadata=metadata)
        run.set_step(
            step,
            "Failed",
            failure_reason="AlgorithmError: See job logs for more information",
            metadata=processing_job(stack, f"{prefix}-{step}", "Failed", exit_message),
        )
        run.set_status("Failed", f"Step {step} failed: AlgorithmError")

    return runner


DATA_MESSAGE = (
    "DataValidationError: iris.csv line 7, byte column 29: byte 0xe9 is not valid UTF-8 "
    "(invalid continuation byte; the file is probably Latin-1 or Windows-1252); expected an "
    "uncompressed UTF-8 CSV file with comma-separated columns "
    "SepalLength,SepalWidth,PetalLength,PetalWidth,Species: save it as UTF-8"
)


def test_a_data_error_is_named_with_the_scripts_message_first(stack: Stack) -> None:
    """The error is DataValidationError and the cause starts with the message."""
    sagemaker.set_pipeline_runner(fail_processing_with(stack, DATA_MESSAGE))

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "DataValidationError")
    assert run.cause is not None and run.cause.startswith(DATA_MESSAGE + " (SageMaker pipeline")
    assert "processing job pipelines-" in run.cause
    assert run.states[-5:] == [
        "DescribeDataJob",
        "IsDataError",
        "DataInvalid",
        "NotifyFailure",
        "Failed",
    ]
    assert stack.model_packages() == []
    [note] = stack.notifications()
    assert note["subject"] == "Training run failed: DataValidationError"
    assert note["message"]["error"] == "DataValidationError"
    assert note["message"]["cause"] == run.cause  # the whole message, not a prefix


@pytest.mark.parametrize(
    ("exit_message", "step"),
    [
        pytest.param(None, "PrepareData", id="no-exit-message"),
        pytest.param("unexpected error: MemoryError: ", "PrepareData", id="not-the-data"),
        pytest.param(
            "DataValidationError: written by a later step", "EvaluateModel", id="not-the-data-step"
        ),
    ],
)
def test_a_processing_failure_that_is_not_the_datas_keeps_its_name(
    stack: Stack, exit_message: str | None, step: str
) -> None:
    sagemaker.set_pipeline_runner(fail_processing_with(stack, exit_message, step))

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "PipelineExecutionFailed")
    assert run.states[-4:] == ["IsDataError", "PipelineFailed", "NotifyFailure", "Failed"]
    [note] = stack.notifications()
    assert note["message"]["error"] == "PipelineExecutionFailed"


def test_evaluation_missing(stack: Stack) -> None:
    sagemaker.set_pipeline_runner(succeed_with(stack, None))

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error == "EvaluationMissing"
    assert "evaluation.json does not exist" in run.cause
    assert run.states[-3:] == ["EvaluationMissing", "NotifyFailure", "Failed"]
    assert stack.model_packages() == []
    assert [n["message"]["error"] for n in stack.notifications()] == ["EvaluationMissing"]


def test_evaluation_without_accuracy_is_invalid(stack: Stack) -> None:
    report = evaluation_report(0.97)
    del report["multiclass_classification_metrics"]["accuracy"]
    sagemaker.set_pipeline_runner(succeed_with(stack, report))

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error == "EvaluationInvalid"
    assert stack.model_packages() == []


def test_binary_report_passes_the_gate_and_registers_the_contract(stack: Stack) -> None:
    sagemaker.set_pipeline_runner(succeed_with(stack, evaluation_report(0.96, binary=True)))

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    assert "BinaryEvaluation" in run.states and "MulticlassEvaluation" not in run.states
    assert run.output["accuracy"] == 0.96
    assert run.output["problem_type"] == "binary"
    assert run.output["label_column"] == "diagnosis"
    assert run.output["class_names"] == ["malignant", "benign"]
    [package] = stack.model_packages()
    metadata = package["CustomerMetadataProperties"]
    assert metadata["label_column"] == "diagnosis"
    assert metadata["problem_type"] == "binary"
    assert metadata["num_classes"] == "2"
    assert metadata["accuracy"] == "0.96"
    [note] = stack.notifications()
    assert note["message"]["label_column"] == "diagnosis"
    assert note["message"]["class_names"] == ["malignant", "benign"]


def test_binary_report_below_the_threshold_fails_the_gate_naming_the_label(stack: Stack) -> None:
    sagemaker.set_pipeline_runner(succeed_with(stack, evaluation_report(0.6, binary=True)))

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error == "QualityGateFailed"
    assert "0.6 (label diagnosis, binary) is below the threshold 0.9" in run.cause
    assert stack.model_packages() == []
    [note] = stack.notifications()
    assert note["message"]["label_column"] == "species"  # the run's setting (Terraform's)


def test_multiclass_package_records_its_label_and_class_count(stack: Stack) -> None:
    passing(stack)

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    assert "MulticlassEvaluation" in run.states
    [package] = stack.model_packages()
    metadata = package["CustomerMetadataProperties"]
    assert (metadata["label_column"], metadata["problem_type"], metadata["num_classes"]) == (
        "species",
        "multiclass",
        "3",
    )
    # The class names in label-index order, as the report made them storable.
    assert metadata["class_names"] == "Iris-setosa / Iris-versicolor / Iris-virginica"


@pytest.mark.parametrize("blocks", ["neither", "both"])
def test_a_report_without_exactly_one_metrics_block_is_refused(stack: Stack, blocks: str) -> None:
    report = evaluation_report(0.97)
    if blocks == "neither":
        del report["multiclass_classification_metrics"]
    else:
        binary = evaluation_report(0.97, binary=True)
        report["binary_classification_metrics"] = binary["binary_classification_metrics"]
    sagemaker.set_pipeline_runner(succeed_with(stack, report))

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error == "EvaluationHasNoMetrics"
    assert "exactly one of binary_classification_metrics and multiclass" in run.cause
    assert stack.model_packages() == []
    [note] = stack.notifications()
    assert note["message"]["error"] == "EvaluationHasNoMetrics"
    assert note["message"]["label_column"] == "species"


def test_a_report_without_the_dataset_contract_is_invalid(stack: Stack) -> None:
    report = evaluation_report(0.97)
    del report["dataset_contract"]
    sagemaker.set_pipeline_runner(succeed_with(stack, report))

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error == "EvaluationInvalid"
    assert "dataset_contract" in run.cause
    assert stack.model_packages() == []


def test_the_dataset_settings_reach_the_pipeline_as_parameters(stack: Stack) -> None:
    passing(stack)

    run = stack.run({"label_column": "kind", "class_order": ["b", "a"]})

    started = [
        e["taskScheduledEventDetails"]["parameters"]
        for e in run.history
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resource"] == "startPipelineExecution"
    ]
    parameters = {p["Name"]: p["Value"] for p in json.loads(started[0])["PipelineParameters"]}
    assert parameters["LabelColumn"] == "kind"
    assert parameters["FeatureColumns"] == "[]"  # Terraform's default: derive
    assert json.loads(parameters["ClassOrder"]) == ["b", "a"]


def test_evaluation_not_json_is_unreadable(stack: Stack) -> None:
    sagemaker.set_pipeline_runner(succeed_with(stack, "accuracy: high"))

    run = stack.run({})

    assert run.status == "FAILED"
    assert run.error in {"EvaluationUnreadable"}, (run.error, run.cause)
    assert stack.model_packages() == []
    assert [n["message"]["error"] for n in stack.notifications()] == ["EvaluationUnreadable"]


def test_throttled_then_retried(stack: Stack) -> None:
    passing(stack)
    fault = core.inject_fault("sagemaker", "StartPipelineExecution", times=1)

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    assert fault.remaining == 0
    assert run.entered("StartPipeline") == 1
    failed = [e for e in run.history if e["type"] == "TaskFailed"]
    # An aws-sdk task: throttling is not modeled for StartPipelineExecution, so it is the SDK's
    # base exception (emulator/sfn_errors.py).
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == [
        "SageMaker.SageMakerException"
    ]
    started = [
        e
        for e in run.history
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resource"] == "startPipelineExecution"
    ]
    assert len(started) == 2
    assert len(stack.model_packages()) == 1


def test_throttling_that_never_stops_fails_clearly(stack: Stack) -> None:
    passing(stack)
    core.inject_fault("sagemaker", "StartPipelineExecution", times=10)

    run = stack.run({}, timeout=120)

    assert run.status == "FAILED"
    assert run.error == "PipelineStartFailed"
    assert "Rate exceeded" in run.cause
    assert run.states[-3:] == ["PipelineStartFailed", "NotifyFailure", "Failed"]


def test_poll_budget_exhausted_stops_the_pipeline(stack: Stack) -> None:
    runs: list[PipelineRun] = []

    def runner(run: PipelineRun) -> None:
        runs.append(run)
        never_finishes(run)

    sagemaker.set_pipeline_runner(runner)

    run = stack.run({"max_polls": 2})

    assert run.status == "FAILED"
    assert run.error == "PipelinePollBudgetExhausted"
    assert "after 2 polls" in run.cause
    assert run.entered("DescribePipeline") == 2
    assert run.states[-4:] == ["StopPipeline", "PollBudgetExhausted", "NotifyFailure", "Failed"]
    [pipeline_run] = runs
    assert pipeline_run.stop_requested
    assert stack.model_packages() == []
    assert [n["message"]["error"] for n in stack.notifications()] == ["PipelinePollBudgetExhausted"]


# (input, field the cause must name, what the cause must say is allowed).
REFUSED_INPUTS: list[tuple[Any, str, str]] = [
    ({"deplyo": False}, "deplyo", "did you mean deploy?"),
    ({"max_tuning_jobs": 2.5}, "max_tuning_jobs", "a whole number from 1 to 500"),
    ({"max_tuning_jobs": 10000}, "max_tuning_jobs", "a whole number from 1 to 500"),
    (
        {"max_tuning_jobs": 3, "parallel_tuning_jobs": 4},
        "parallel_tuning_jobs",
        "at most max_tuning_jobs (3)",
    ),
    ({"accuracy_threshold": 1.5}, "accuracy_threshold", "a number from 0 to 1"),
    ({"accuracy_threshold": "0.9"}, "accuracy_threshold", "a number from 0 to 1"),
    ({"deploy": "yes"}, "deploy", "true or false"),
    ({"data_uri": "/tmp/iris.csv"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"data_uri": "s3://elsewhere/data/raw/x.csv"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"data_uri": f"s3://{BUCKET}/code/x.csv"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"max_polls": 0}, "max_polls", "a whole number from 1 to 10000"),
    # Wait's SecondsPath needs an integer: a fraction would fail later with States.Runtime.
    ({"poll_interval_seconds": 1.5}, "poll_interval_seconds", "a whole number from 1 to 3600"),
    ({"endpoint_poll_interval_seconds": 2.0}, "endpoint_poll_interval_seconds", "1 to 3600"),
    ({"max_endpoint_polls": 2.5}, "max_endpoint_polls", "a whole number from 1 to 10000"),
    ({"max_tuning_jobs": 1e3}, "max_tuning_jobs", "a whole number from 1 to 500"),
    ({"max_polls": {"n": 2}}, "max_polls", "a whole number from 1 to 10000"),
    ({"parallel_tuning_jobs": [1]}, "parallel_tuning_jobs", "a whole number from 1 to 500"),
    ([], "execution input", "a JSON object"),
    ("x", "execution input", "a JSON object"),
    (3, "execution input", "a JSON object"),
]


@pytest.mark.parametrize(("bad_input", "field", "allowed"), REFUSED_INPUTS)
def test_invalid_input_is_rejected_before_anything_starts(
    stack: Stack, bad_input: Any, field: str, allowed: str
) -> None:
    started: list[PipelineRun] = []
    sagemaker.set_pipeline_runner(started.append)

    run = stack.wait(stack.start_raw(json.dumps(bad_input)))

    assert run.status == "FAILED"
    assert run.error == "InvalidExecutionInput"
    assert run.cause.startswith("Execution input is invalid: ")
    assert f"{field}: " in run.cause
    assert allowed in run.cause
    assert "got " in run.cause
    assert run.states == ["CheckInput", "InputChecked", "InvalidInput", "NotifyFailure", "Failed"]
    assert started == []
    [note] = stack.notifications()
    assert note["message"]["error"] == "InvalidExecutionInput"
    assert note["message"]["cause"] == run.cause


def test_a_model_registry_event_passes_the_input_check(stack: Stack) -> None:
    """Deploy-only executions enter through the same check: their key is in the schema."""
    run = stack.run({"rejected_model_package_arn": PACKAGE_ARN_NOT_SERVING})

    assert run.status == "SUCCEEDED", run.cause
    assert run.states[:5] == [
        "CheckInput",
        "InputChecked",
        "LoadDefaults",
        "ApplyDefaults",
        "RouteRequest",
    ]


def test_pipeline_start_is_idempotent_per_execution(stack: Stack) -> None:
    # The token is derived from the execution: the same execution can never start two runs.
    passing(stack)
    run = stack.run({})
    assert run.status == "SUCCEEDED", run.cause
    [scheduled] = [
        e["taskScheduledEventDetails"]["parameters"]
        for e in run.history
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resource"] == "startPipelineExecution"
    ]
    assert '"ClientRequestToken"' in scheduled


# ---------------------------------------------------------------- Model Registry events


def _registered_pending(stack: Stack) -> str:
    passing(stack)
    run = stack.run({})
    assert run.status == "SUCCEEDED", run.cause
    stack.notifications()
    return str(run.output["model_package_arn"])


def test_approving_a_package_deploys_it(stack: Stack) -> None:
    arn = _registered_pending(stack)
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    run = stack.run({"approved_model_package_arn": arn})

    assert run.status == "SUCCEEDED", run.cause
    assert run.states[:6] == [
        "CheckInput",
        "InputChecked",
        "LoadDefaults",
        "ApplyDefaults",
        "RouteRequest",
        "DescribeApprovedPackage",
    ]
    for state in (
        "PrepareApprovedDeployment",
        "CreateModel",
        "CreateEndpoint",
        "Deployed",
        "ApprovalSummary",
        "NotifySuccess",
    ):
        assert state in run.states
    assert "StartPipeline" not in run.states
    endpoint = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    config = stack.sagemaker.describe_endpoint_config(
        EndpointConfigName=endpoint["EndpointConfigName"]
    )
    model = stack.sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    [note] = stack.notifications()
    assert note["subject"] == "Approved model deployed"
    assert note["message"]["deployment"]["deployed"] is True


def test_approval_event_for_an_unapproved_package_deploys_nothing(stack: Stack) -> None:
    arn = _registered_pending(stack)

    run = stack.run({"approved_model_package_arn": arn})

    assert run.status == "FAILED"
    assert run.error == "ModelPackageNotDeployable"
    assert "PendingManualApproval" in run.cause
    assert "CreateModel" not in run.states
    assert stack.endpoints() == []


def test_registration_event_of_a_package_its_run_deploys_is_skipped(stack: Stack) -> None:
    passing(stack)
    training = stack.run({"deploy": True, "auto_approve": True})
    assert training.status == "SUCCEEDED", training.cause

    run = stack.run({"approved_model_package_arn": training.output["model_package_arn"]})

    # Its run has ended and deployed it: the endpoint serves it, so nothing is deployed again.
    assert run.status == "SUCCEEDED", run.cause
    assert "DescribeRegisteringRun" in run.states
    assert run.states[-1] == "AlreadyServing"
    assert "CreateModel" not in run.states


def test_registration_event_while_its_run_is_deploying_is_skipped(stack: Stack) -> None:
    _deployed(stack)
    stack.set_endpoint_status("Updating")  # the second run's deploy waits for the endpoint
    training = stack.start({"deploy": True, "auto_approve": True, "max_endpoint_polls": 60})
    deadline = time.monotonic() + 60
    while len(stack.model_packages()) < 2:
        assert time.monotonic() < deadline, "the second run never registered its package"
        time.sleep(0.2)
    newest = max(stack.model_packages(), key=lambda p: p["ModelPackageVersion"])

    run = stack.run({"approved_model_package_arn": newest["ModelPackageArn"]})
    stack.set_endpoint_status("InService")
    finished = stack.wait(training)

    assert run.status == "SUCCEEDED", run.cause
    assert run.states[-1] == "AlreadyDeployedByRun"
    assert "CreateModel" not in run.states
    assert finished.status == "SUCCEEDED", finished.cause


def test_reapproval_after_rejection_deploys_a_package_its_run_had_deployed(stack: Stack) -> None:
    passing(stack)
    training = stack.run({"deploy": True, "auto_approve": True})
    assert training.status == "SUCCEEDED", training.cause
    arn = training.output["model_package_arn"]
    stack.sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    assert stack.run({"rejected_model_package_arn": arn}).status == "SUCCEEDED"
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    run = stack.run({"approved_model_package_arn": arn})

    assert run.status == "SUCCEEDED", run.cause
    assert "CreateEndpoint" in run.states
    assert stack.endpoints() == [ENDPOINT]


def test_rejecting_the_serving_package_is_reported(stack: Stack) -> None:
    passing(stack)
    training = stack.run({"deploy": True, "auto_approve": True})
    assert training.status == "SUCCEEDED", training.cause
    stack.notifications()
    arn = training.output["model_package_arn"]
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    run = stack.run({"rejected_model_package_arn": arn})

    assert run.status == "SUCCEEDED", run.cause
    assert run.states[-3:] == ["RejectedRoute", "RejectedWhileServing", "NotifySuccess"]
    [note] = stack.notifications()
    assert note["subject"] == "Rejected model is still serving"
    assert note["message"]["endpoint_name"] == ENDPOINT
    # Read-only: an update of the package could emit another event matching the rule.
    assert "updateModelPackage" not in scheduled_actions(run)
    package = stack.sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["CustomerMetadataProperties"]["deployed_by_run"] == "true"


def test_rejecting_a_package_that_is_not_serving_is_quiet(stack: Stack) -> None:
    arn = _registered_pending(stack)
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    run = stack.run({"rejected_model_package_arn": arn})

    assert run.status == "SUCCEEDED", run.cause
    assert run.states[-1] == "RejectedNotServing"
    assert stack.notifications() == []


# ---------------------------------------------------------------- error names


def test_first_deploy_tells_not_found_from_the_error_it_really_gets(stack: Stack) -> None:
    passing(stack)

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    # DescribeEndpoint models no errors: "Could not find endpoint" is the SDK's base exception.
    assert task_errors(run, "describeEndpoint") == ["SageMaker.SageMakerException"]
    states = run.states
    assert states[states.index("CheckEndpoint") + 1 :][:3] == [
        "EndpointLookupFailed",
        "NoteFirstDeployment",
        "CreateEndpoint",
    ]


def test_throttled_endpoint_check_is_retried_never_taken_for_not_found(stack: Stack) -> None:
    passing(stack)
    first = stack.run({"deploy": True, "auto_approve": True})
    assert first.status == "SUCCEEDED", first.cause
    core.inject_fault("sagemaker", "DescribeEndpoint", times=1)

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    assert task_errors(run, "describeEndpoint") == ["SageMaker.SageMakerException"]
    assert "CreateEndpoint" not in run.states
    assert run.entered("CheckEndpoint") == 2
    assert "WaitBeforeEndpointCheck" in run.states
    assert "UpdateEndpoint" in run.states


def test_throttled_pipeline_polling_is_retried(stack: Stack) -> None:
    passing(stack)
    fault = core.inject_fault("sagemaker", "DescribePipelineExecution", times=1)

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    assert fault.remaining == 0
    assert task_errors(run, "describePipelineExecution") == ["SageMaker.SageMakerException"]


# ---------------------------------------------------------------- metadata values

_METADATA_VALUE = (
    botocore.session.get_session().get_service_model("sagemaker").shape_for("CustomerMetadataValue")
)


def storable(value: str) -> bool:
    """Does ``value`` satisfy CustomerMetadataValue (pattern and length, botocore's model)?"""
    pattern = _METADATA_VALUE.metadata["pattern"]
    character_class = pattern[pattern.index("[") : pattern.index("]*") + 2]
    return (
        _METADATA_VALUE.metadata["min"] <= len(value) <= _METADATA_VALUE.metadata["max"]
        and regex.fullmatch(character_class, value) is not None
    )


def test_the_metadata_check_refuses_what_sagemaker_refuses() -> None:
    assert storable("s3://bucket/data/raw/iris-v2.csv")
    assert not storable("s3://bucket/data/raw/iris v2+extra 100%.CSV")
    assert not storable("x" * 257)


def test_any_data_key_registers_with_storable_metadata(stack: Stack) -> None:
    passing(stack)
    data_uri = f"s3://{BUCKET}/data/raw/iris v2+extra 100%.CSV"
    stack.put_data(data_uri, b"x\n")

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    metadata = package["CustomerMetadataProperties"]
    assert {k: v for k, v in metadata.items() if not storable(v)} == {}
    # The full URI is kept where any character may go.
    assert data_uri in package["ModelPackageDescription"]
    assert len(metadata["data_uri_sha256"]) == 64
    assert run.output["data_uri"] == data_uri


@pytest.mark.parametrize("name", ["retrain(1)", "Bob's-run", "now!"])
def test_an_execution_name_that_cannot_be_stored_is_refused_before_the_pipeline(
    stack: Stack, name: str
) -> None:
    started: list[PipelineRun] = []
    sagemaker.set_pipeline_runner(started.append)

    run = stack.run({}, name=name)

    assert run.status == "FAILED"
    assert run.error == "InvalidExecutionInput"
    assert name in run.cause
    assert started == []
    assert [n["message"]["error"] for n in stack.notifications()] == ["InvalidExecutionInput"]


# ---------------------------------------------------------------- endpoint status


def _deployed(stack: Stack) -> None:
    passing(stack)
    first = stack.run({"deploy": True, "auto_approve": True})
    assert first.status == "SUCCEEDED", first.cause
    stack.notifications()


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack"])
def test_a_busy_endpoint_is_waited_for_then_updated(stack: Stack, status: str) -> None:
    _deployed(stack)
    stack.set_endpoint_status(status)
    stack.set_endpoint_status("InService", once_waiting=True)

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    assert run.entered("CheckEndpoint") >= 2
    assert "WaitBeforeEndpointCheck" in run.states
    assert run.entered("UpdateEndpoint") == 1
    assert "CreateEndpoint" not in run.states
    assert "DeleteFailedEndpoint" not in run.states


def test_an_endpoint_that_stays_busy_fails_within_the_poll_budget(stack: Stack) -> None:
    _deployed(stack)
    stack.set_endpoint_status("Updating")

    run = stack.run({"deploy": True, "auto_approve": True, "max_endpoint_polls": 2})

    assert run.status == "FAILED"
    assert run.error == "EndpointNotUpdatable"
    assert "after 2 checks" in run.cause
    assert run.entered("CheckEndpoint") == 3
    assert "UpdateEndpoint" not in run.states
    assert [n["message"]["error"] for n in stack.notifications()] == ["EndpointNotUpdatable"]


def test_a_failed_endpoint_is_deleted_then_created_with_a_notification(stack: Stack) -> None:
    _deployed(stack)
    stack.set_endpoint_status("Failed")

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    states = run.states
    assert states.index("DeleteFailedEndpoint") < states.index("CreateEndpoint")
    assert "UpdateEndpoint" not in states
    subjects = [n["subject"] for n in stack.notifications()]
    assert subjects == [f"Endpoint {ENDPOINT} was Failed: replacing it", "Training run succeeded"]
    endpoint = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == run.output["deployment"]["model_name"]


def test_a_deleting_endpoint_is_waited_for_then_created(stack: Stack) -> None:
    _deployed(stack)
    stack.set_endpoint_status("Deleting")
    stack.set_endpoint_status("gone", once_waiting=True)

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    assert "WaitBeforeEndpointCheck" in run.states
    assert run.entered("CreateEndpoint") == 1
    assert "UpdateEndpoint" not in run.states
    assert "DeleteFailedEndpoint" not in run.states


# ------------------------------------------------------------ idempotent events


def test_the_same_approval_delivered_twice_deploys_once(stack: Stack) -> None:
    arn = _registered_pending(stack)
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    first = stack.run({"approved_model_package_arn": arn})
    second = stack.run({"approved_model_package_arn": arn})

    assert first.status == "SUCCEEDED", first.cause
    assert second.status == "SUCCEEDED", second.cause
    assert first.entered("CreateModel") == 1
    assert second.states[-1] == "AlreadyServing"
    assert "CreateModel" not in second.states
    assert len(stack.sagemaker.list_models()["Models"]) == 1
    assert len(stack.sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1


def test_an_update_is_skipped_when_the_package_was_deployed_meanwhile(stack: Stack) -> None:
    # Two executions for one approval: the other one deployed the package while this one waited
    # for the endpoint; this one must not update the endpoint a second time.
    _deployed(stack)
    arn = _registered_pending(stack)
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    stack.sagemaker.create_model(
        ModelName="iris-xgb-other",
        PrimaryContainer={"ModelPackageName": arn},
        ExecutionRoleArn=ROLE_ARN,
    )
    stack.sagemaker.create_endpoint_config(
        EndpointConfigName="iris-xgb-other",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "iris-xgb-other",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    stack.set_endpoint_status("Updating")
    stack.set_endpoint_status("InService", once_waiting=True, config_name="iris-xgb-other")

    run = stack.run({"approved_model_package_arn": arn})

    assert run.status == "SUCCEEDED", run.cause
    assert "AlreadyDeployed" in run.states
    assert "UpdateEndpoint" not in run.states
    endpoint = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"] == "iris-xgb-other"
    assert "already serves this package" in run.output["deployment"]["reason"]


def test_model_registry_events_never_write_to_the_registry(stack: Stack) -> None:
    arn = _registered_pending(stack)
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    approved = stack.run({"approved_model_package_arn": arn})
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    rejected = stack.run({"rejected_model_package_arn": arn})

    for run in (approved, rejected):
        assert run.status == "SUCCEEDED", run.cause
        written = [a for a in scheduled_actions(run) if a.startswith(("update", "create"))]
        assert "updateModelPackage" not in written
        assert "createModelPackage" not in written


def test_approval_of_the_package_a_deleting_endpoint_had_deploys_it_again(stack: Stack) -> None:
    # A Deleting endpoint serves nothing: its package is not "already serving" (found by the
    # strict emulator, whose DeleteEndpoint takes time as SageMaker's does).
    passing(stack)
    training = stack.run({"deploy": True, "auto_approve": True})
    assert training.status == "SUCCEEDED", training.cause
    arn = training.output["model_package_arn"]
    stack.set_endpoint_status("Deleting")
    stack.set_endpoint_status("gone", once_waiting=True)

    run = stack.run({"approved_model_package_arn": arn})

    assert run.status == "SUCCEEDED", run.cause
    assert "AlreadyServing" not in run.states
    assert run.entered("CreateEndpoint") == 1
    assert stack.endpoints() == [ENDPOINT]


# ---------------------------------------------------- exact input


def reading_input(stack: Stack, read: dict[str, bytes], before: Callable[[], None]) -> None:
    """A pipeline that reads InputDataUri as PrepareData's S3Prefix input does, then succeeds.

    ``before`` runs first (an upload racing the run); ``read`` receives file name -> bytes.
    """

    def runner(run: PipelineRun) -> None:
        before()
        with tempfile.TemporaryDirectory() as directory:
            for path in S3Transfer(stack.s3).download(
                run.parameters["InputDataUri"], Path(directory)
            ):
                read[path.name] = path.read_bytes()
        succeed_with(stack, evaluation_report(0.97))(run)

    sagemaker.set_pipeline_runner(runner)


def test_a_run_reads_only_its_object_never_a_sibling_sharing_the_prefix(stack: Stack) -> None:
    data_uri = f"s3://{BUCKET}/data/raw/a.csv"
    stack.put_data(f"{data_uri}.1.csv", b"someone else's file\n")
    version = stack.put_data(data_uri, b"mine\n")
    read: dict[str, bytes] = {}
    reading_input(stack, read, lambda: None)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"a.csv": b"mine\n"}
    [package] = stack.model_packages()
    metadata = package["CustomerMetadataProperties"]
    assert metadata["data_bucket"] == BUCKET
    assert metadata["data_version_id"] == version
    assert f"{data_uri} version {version}" in package["ModelPackageDescription"]


@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_changing_the_key_during_a_run_changes_nothing_for_it(stack: Stack, change: str) -> None:
    data_uri = f"s3://{BUCKET}/data/raw/b.csv"
    version = stack.put_data(data_uri, b"original\n")
    read: dict[str, bytes] = {}

    def race() -> None:
        if change == "overwrite":
            stack.put_data(data_uri, b"replaced\n")
        else:
            stack.s3.delete_object(Bucket=BUCKET, Key="data/raw/b.csv")

    reading_input(stack, read, race)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"b.csv": b"original\n"}
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["data_version_id"] == version


@pytest.mark.parametrize(
    ("data_uri", "error"),
    [
        # The input schema refuses what is plainly not an object under an allowed prefix ...
        (f"s3://{BUCKET}/data/raw/", "InvalidExecutionInput"),
        (f"s3://{BUCKET}/data//raw/c.csv", "InvalidExecutionInput"),
        (f"s3://{BUCKET}", "InvalidExecutionInput"),
        # ... the snapshot phase what S3 would read as another key than the one named.
        (f"s3://{BUCKET}/data/raw//c.csv", "InputNotAnObject"),
        (f"s3://{BUCKET}/data/raw/x//c.csv", "InputNotAnObject"),
    ],
)
def test_a_uri_that_names_no_single_object_is_refused(
    stack: Stack, data_uri: str, error: str
) -> None:
    started: list[PipelineRun] = []
    sagemaker.set_pipeline_runner(started.append)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "FAILED"
    assert run.error == error
    assert data_uri in (run.cause or "")
    assert started == []


def test_a_missing_object_fails_before_the_pipeline_with_a_notification(stack: Stack) -> None:
    started: list[PipelineRun] = []
    sagemaker.set_pipeline_runner(started.append)

    run = stack.run({"data_uri": f"s3://{BUCKET}/data/raw/missing.csv"})

    assert run.status == "FAILED"
    assert run.error == "InputUnreadable"
    assert "The specified key does not exist" in (run.cause or "")
    assert started == []
    assert [n["message"]["error"] for n in stack.notifications()] == ["InputUnreadable"]


def test_a_named_version_is_trained_on_even_after_newer_uploads_of_the_key(stack: Stack) -> None:
    """Two uploads of one key queue two runs: each trains on its own upload."""
    data_uri = f"s3://{BUCKET}/data/raw/same.csv"
    first = stack.put_data(data_uri, b"first upload\n")
    stack.put_data(data_uri, b"second upload\n")
    read: dict[str, bytes] = {}
    reading_input(stack, read, lambda: None)

    run = stack.run({"data_uri": data_uri, "data_version_id": first})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"same.csv": b"first upload\n"}
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["data_version_id"] == first


@pytest.mark.parametrize("version", [7, "", ["v"]])
def test_a_version_that_is_not_text_is_refused(stack: Stack, version: Any) -> None:
    started: list[PipelineRun] = []
    sagemaker.set_pipeline_runner(started.append)

    run = stack.run({"data_version_id": version})

    assert run.status == "FAILED"
    assert run.error == "InvalidExecutionInput"
    assert "data_version_id" in run.cause
    assert started == []
