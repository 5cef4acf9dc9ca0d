"""Lambda configuration drift (emulator/aws/lambda_.py); limits: test_lambda_quota.py; in-process
invocation: test_event_delivery.py."""

from __future__ import annotations

import io

import boto3
import pytest

pytestmark = pytest.mark.integration


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
