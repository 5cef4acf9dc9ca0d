"""One test per extension in local/aws/ (core, stepfunctions, sagemaker, s3)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from local.aws import core, s3, sagemaker
from local.aws.sagemaker import PipelineRun
from local.aws.stepfunctions import aws_error_name, normalise_result

pytestmark = pytest.mark.integration


def test_results_are_normalised_to_json_types() -> None:
    body = StreamingBody(io.BytesIO(b'{"a": 1}'), 8)
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    assert normalise_result({"Body": body, "At": when, "L": [when], "B": b"x"}) == {
        "Body": '{"a": 1}',
        "At": "2026-01-02T03:04:05+00:00",
        "L": ["2026-01-02T03:04:05+00:00"],
        "B": "x",
    }


@pytest.mark.parametrize(
    ("service", "exception", "expected"),
    [
        ("s3", "NoSuchKey", "S3.NoSuchKeyException"),
        ("sagemaker", "ClientError", "SageMaker.AmazonSageMakerException"),
        ("sagemaker", "ResourceNotFound", "SageMaker.ResourceNotFoundException"),
        ("sns", "ClientError", "SNS.SNSException"),
    ],
)
def test_error_names_follow_aws(service: str, exception: str, expected: str) -> None:
    assert aws_error_name(service, exception) == expected


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


def test_injected_fault_fails_the_next_calls_only(emulator: None) -> None:
    sm = boto3.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    fault = core.inject_fault("sagemaker", "ListEndpoints", times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.list_endpoints()
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert sm.list_endpoints()["Endpoints"] == []
    assert fault.remaining == 0


def test_s3_body_reaches_the_state_machine_as_text(emulator: None) -> None:
    s3 = boto3.client("s3")
    sfn = boto3.client("stepfunctions")
    s3.create_bucket(Bucket="bucket-b")
    s3.put_object(Bucket="bucket-b", Key="k.json", Body=b'{"accuracy": 0.97}')
    definition = {
        "StartAt": "Get",
        "States": {
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "bucket-b", "Key": "k.json"},
                "ResultSelector": {
                    "report.$": "States.StringToJson($.Body)",
                    "modified.$": "$.LastModified",
                },
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="x")["executionArn"]
    import time

    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["report"] == {"accuracy": 0.97}
    assert isinstance(output["modified"], str)


def test_validate_state_machine_definition(emulator: None) -> None:
    sfn = boto3.client("stepfunctions")
    good = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    assert sfn.validate_state_machine_definition(definition=json.dumps(good))["result"] == "OK"
    broken = sfn.validate_state_machine_definition(definition='{"StartAt": "A"')
    assert broken["result"] == "FAIL"
    assert broken["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"
    invalid = sfn.validate_state_machine_definition(definition='{"StartAt": "A", "States": {}}')
    assert invalid["result"] == "FAIL"


def test_list_state_machine_versions(emulator: None) -> None:
    sfn = boto3.client("stepfunctions")
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    arn = sfn.create_state_machine(
        name="v", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []


def test_delete_model_package_group(emulator: None) -> None:
    sm = boto3.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    sm.delete_model_package_group(ModelPackageGroupName="g")
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    with pytest.raises(ClientError):
        sm.delete_model_package_group(ModelPackageGroupName="g")


def test_lifecycle_put_reports_the_transition_size_header(emulator: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bucket-l")
    put = s3.put_bucket_lifecycle_configuration(
        Bucket="bucket-l",
        LifecycleConfiguration={
            "Rules": [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 9}}]
        },
    )
    assert put["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    got = s3.get_bucket_lifecycle_configuration(Bucket="bucket-l")
    assert got["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"


@pytest.mark.parametrize(
    ("operator", "expected", "holds"),
    [("Bool", "false", False), ("Bool", "true", True), ("StringLike", "tr*", True)],
)
def test_bucket_policy_conditions(operator: str, expected: str, holds: bool) -> None:
    context = s3.REQUEST_CONTEXT
    assert s3.condition_holds(operator, "aws:SecureTransport", expected, context) is holds
    assert not s3.condition_holds("StringEquals", "aws:SourceVpc", "v", context)


def test_deny_insecure_transport_policy_does_not_block_the_emulator(emulator: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bucket-p")
    deny_http = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::bucket-p", "arn:aws:s3:::bucket-p/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::bucket-p/locked/*",
            },
        ]
    }
    s3.put_bucket_policy(Bucket="bucket-p", Policy=json.dumps(deny_http))
    s3.put_object(Bucket="bucket-p", Key="code/x.py", Body=b"x")
    with pytest.raises(ClientError):
        s3.put_object(Bucket="bucket-p", Key="locked/x.py", Body=b"x")


def test_bucket_eventbridge_notification_is_reported(emulator: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bucket-n")
    s3.put_bucket_notification_configuration(
        Bucket="bucket-n", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    got = s3.get_bucket_notification_configuration(Bucket="bucket-n")
    assert got["EventBridgeConfiguration"] == {}


def test_lambda_dead_letter_config_is_reported(emulator: None) -> None:
    import zipfile

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    fn = boto3.client("lambda")
    fn.create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": raw.getvalue()},
        DeadLetterConfig={"TargetArn": dlq},
    )
    assert fn.get_function(FunctionName="f")["Configuration"]["DeadLetterConfig"] == {
        "TargetArn": dlq
    }


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


def test_indexed_json_path_selects_one_value(emulator: None) -> None:
    sfn = boto3.client("stepfunctions")
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Pass",
                "Parameters": {"one.$": "$.items[0].name", "all.$": "$.items[*].name"},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="paths", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )
    arn = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        name="x",
        input=json.dumps({"items": [{"name": "a"}, {"name": "b"}]}),
    )["executionArn"]
    import time

    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert json.loads(described["output"]) == {"one": "a", "all": ["a", "b"]}


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_nameless_executions_get_a_generated_uuid_name(emulator: None) -> None:
    # StartExecution API reference: without ``name`` Step Functions generates a UUID.
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="m",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]

    first = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]

    assert first != second  # not one "None" execution returned twice
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
    assert sorted(names) == sorted([first.rsplit(":", 1)[1], second.rsplit(":", 1)[1]])
    assert all(UUID.fullmatch(name) for name in names), names
    assert "None" not in names
    assert sfn.describe_execution(executionArn=first)["name"] == first.rsplit(":", 1)[1]


def test_named_executions_keep_their_name(emulator: None) -> None:
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="m",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="run-1")["executionArn"]
    assert arn.endswith(":execution:m:run-1")
