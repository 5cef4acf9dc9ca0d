"""Step Functions extensions (emulator/aws/stepfunctions.py): task results, error names, JSONPath,
nameless executions, the actions Terraform needs."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import boto3
import pytest
from botocore.response import StreamingBody

from emulator.aws.stepfunctions import aws_error_name, normalise_result

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


# ---------------------------------------------------------------- lambda:invoke


def _zip(source: str) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("handler.py", source)
    return out.getvalue()


def _invoke_machine(function_source: str) -> tuple[str, str]:
    """A one-Task machine calling a real Python function through lambda:invoke."""
    lam = boto3.client("lambda")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = boto3.client("iam").create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    fn = lam.create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": _zip(function_source)},
    )["FunctionArn"]
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn, "Payload.$": "$"},
                "End": True,
            }
        },
    }
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    return machine, fn


def _finish(machine: str, payload: str) -> dict[str, object]:
    import time

    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input=payload)["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution still RUNNING"
        time.sleep(0.2)
    return dict(described)


def test_lambda_invoke_runs_the_functions_code_and_returns_its_payload(emulator: None) -> None:
    # https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html: the result of the
    # optimized integration carries the function's answer in Payload, with StatusCode 200.
    machine, _ = _invoke_machine(
        "def lambda_handler(event, context):\n    return {'n': event['n'] + 1}\n"
    )
    described = _finish(machine, '{"n": 1}')
    assert described["status"] == "SUCCEEDED"
    output = json.loads(str(described["output"]))
    assert output["Payload"] == {"n": 2}
    assert output["StatusCode"] == 200


def test_a_function_error_surfaces_as_its_error_type(emulator: None) -> None:
    # Same page: an unhandled function error is reported with the function's errorType as the
    # error name (not Lambda.Unknown), the error payload as the cause.
    machine, _ = _invoke_machine(
        "def lambda_handler(event, context):\n    raise ValueError('bad n')\n"
    )
    described = _finish(machine, '{"n": 1}')
    assert described["status"] == "FAILED"
    assert described["error"] == "ValueError"
    assert json.loads(str(described["cause"]))["errorMessage"] == "bad n"
