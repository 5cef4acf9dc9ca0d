"""SageMaker extensions (emulator/aws/sagemaker/): pipeline executions, UpdateEndpoint, model
packages. The endpoint status machine: test_endpoint_lifecycle.py."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws import sagemaker
from emulator.aws.sagemaker import PipelineRun

pytestmark = pytest.mark.integration


def _pipeline(sm) -> None:  # type: ignore[no-untyped-def]
    sm.create_pipeline(
        PipelineName="p", PipelineDefinition="{}", RoleArn="arn:aws:iam::123456789012:role/r"
    )


def _start(sm, token: str = "t" * 40) -> str:  # type: ignore[no-untyped-def]
    return str(
        sm.start_pipeline_execution(
            PipelineName="p",
            ClientRequestToken=token,
            PipelineParameters=[{"Name": "InputDataUri", "Value": "s3://b/k.csv"}],
        )["PipelineExecutionArn"]
    )


def test_pipeline_runner_sees_parameters_and_drives_status(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    _pipeline(sm)
    seen: list[PipelineRun] = []

    def runner(run: PipelineRun) -> None:
        seen.append(run)
        run.set_step("PrepareData", "Failed", failure_reason="bad row 3")
        run.set_status("Failed", "Step failure")

    sagemaker.set_pipeline_runner(runner)
    arn = _start(sm)

    assert seen[0].parameters == {"InputDataUri": "s3://b/k.csv"}
    assert seen[0].execution_id == arn.rsplit("/", 1)[-1]
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert described["FailureReason"] == "Step failure"
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"], s["FailureReason"]) for s in steps] == [
        ("PrepareData", "Failed", "bad row 3")
    ]


def test_failure_reason_is_absent_when_there_is_none(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    _pipeline(sm)
    arn = _start(sm)
    described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert "FailureReason" not in described


def test_client_request_token_makes_start_idempotent(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    _pipeline(sm)
    assert _start(sm, "a" * 40) == _start(sm, "a" * 40)
    assert _start(sm, "b" * 40) != _start(sm, "a" * 40)
    assert len(sm.list_pipeline_executions(PipelineName="p")["PipelineExecutionSummaries"]) == 2


def test_stop_pipeline_execution(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    _pipeline(sm)
    sagemaker.set_pipeline_runner(lambda run: None)  # stays Executing
    arn = _start(sm)
    sm.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="s" * 40)
    status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
    assert status == "Stopping"  # the runner, which sees stop_requested, finishes the stop


def test_update_endpoint(emulator: None) -> None:
    # The endpoint status machine itself is tested in test_endpoint_lifecycle.py; here: moto has
    # no UpdateEndpoint, and an update of an endpoint that does not exist is AWS's error.
    sm = boto3.client("sagemaker")
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sm.update_endpoint(EndpointName="missing", EndpointConfigName="c2")


def test_delete_model_package_group(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    sm.delete_model_package_group(ModelPackageGroupName="g")
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    with pytest.raises(ClientError):
        sm.delete_model_package_group(ModelPackageGroupName="g")


def _package(sm) -> str:  # type: ignore[no-untyped-def]
    return str(
        sm.create_model_package(
            ModelPackageGroupName="g",
            InferenceSpecification={
                "Containers": [{"Image": "img"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )["ModelPackageArn"]
    )


def test_delete_model_package_then_its_empty_group(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    first, second = _package(sm), _package(sm)
    # the stricter reading of ConflictException: a group that still holds versions stays
    with pytest.raises(ClientError) as refused:
        sm.delete_model_package_group(ModelPackageGroupName="g")
    assert refused.value.response["Error"]["Code"] == "ConflictException"

    sm.delete_model_package(ModelPackageName=first)
    listed = sm.list_model_packages(ModelPackageGroupName="g")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [second]
    with pytest.raises(ClientError) as missing:
        sm.describe_model_package(ModelPackageName=first)
    assert missing.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as again:
        sm.delete_model_package(ModelPackageName=first)
    assert again.value.response["Error"]["Code"] == "ValidationException"

    sm.delete_model_package(ModelPackageName=second)
    sm.delete_model_package_group(ModelPackageGroupName="g")
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_update_model_package_keeps_what_the_request_omits(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    arn = sm.create_model_package(
        ModelPackageGroupName="g",
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"accuracy": "0.97", "deployed_by_run": "true"},
        InferenceSpecification={
            "Containers": [{"Image": "img"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]

    sm.update_model_package(
        ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["deployed_by_run"]
    )
    package = sm.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["CustomerMetadataProperties"] == {"accuracy": "0.97"}

    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    package = sm.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"] == {"accuracy": "0.97"}
