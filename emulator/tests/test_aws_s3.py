"""S3 extensions (emulator/aws/s3.py): lifecycle header, bucket-policy conditions, drift."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws import s3

pytestmark = pytest.mark.integration


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
