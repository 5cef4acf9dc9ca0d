"""Unknown access keys are refused, as AWS refuses them, with each protocol's error.

The emulator knows three kinds of key (``emulator/aws/iam/keys.py``): the configured local
user's, the STS sessions it issued (assumed roles, its services' own sessions) and nothing else.
Any other key, an ``AKIA…`` key it never issued or an ``ASIA…`` key with a made-up session
token, is refused before anything is served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws.iam import keys
from emulator.tests.helpers import ACCOUNT

REGION = "us-east-1"
MADE_UP_KEY = "AKIAIOSFODNN7EXAMPLE"
MADE_UP_SESSION_KEY = "ASIAIOSFODNN7EXAMPLE"

#: (service, a call that needs no resource, the error code the client reads). Query services
#: (and the JSON services that keep their query codes, awsQueryCompatible) answer
#: InvalidClientTokenId; JSON and rest-json services UnrecognizedClientException; S3
#: InvalidAccessKeyId.
CALLS: list[tuple[str, Callable[[Any], Any], str]] = [
    ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
    ("iam", lambda c: c.list_roles(), "InvalidClientTokenId"),
    ("sns", lambda c: c.list_topics(), "InvalidClientTokenId"),
    ("sqs", lambda c: c.list_queues(), "InvalidClientTokenId"),
    ("cloudwatch", lambda c: c.describe_alarms(), "InvalidClientTokenId"),
    ("stepfunctions", lambda c: c.list_state_machines(), "UnrecognizedClientException"),
    ("lambda", lambda c: c.list_functions(), "UnrecognizedClientException"),
    ("sagemaker", lambda c: c.list_endpoints(), "UnrecognizedClientException"),
    ("events", lambda c: c.list_rules(), "UnrecognizedClientException"),
    ("logs", lambda c: c.describe_log_groups(), "UnrecognizedClientException"),
    (
        "sagemaker-runtime",
        lambda c: c.invoke_endpoint(EndpointName="e", Body=b"1", ContentType="text/csv"),
        "UnrecognizedClientException",
    ),
    ("s3", lambda c: c.list_buckets(), "InvalidAccessKeyId"),
]


def client(service: str, key: str, token: str | None = None) -> Any:
    factory: Callable[..., Any] = boto3.client
    return factory(
        service,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key="whatever",
        aws_session_token=token,
    )


@pytest.mark.parametrize(("service", "call", "code"), CALLS, ids=[c[0] for c in CALLS])
def test_a_key_the_emulator_never_issued_is_refused(
    emulator: None, service: str, call: Callable[[Any], Any], code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        call(client(service, MADE_UP_KEY))
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize(("service", "call", "code"), CALLS, ids=[c[0] for c in CALLS])
def test_a_made_up_session_token_is_refused(
    emulator: None, service: str, call: Callable[[Any], Any], code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        call(client(service, MADE_UP_SESSION_KEY, token="FwoGZXIvYXdzEMadeUp"))
    assert refused.value.response["Error"]["Code"] == code


def test_unknown_keys_change_nothing(emulator: None) -> None:
    local = client("s3", keys.local_access_key_id())
    with pytest.raises(ClientError):
        client("s3", MADE_UP_KEY).create_bucket(Bucket="not-made")
    with pytest.raises(ClientError):
        client("sqs", MADE_UP_KEY).create_queue(QueueName="not-made")
    assert local.list_buckets()["Buckets"] == []
    assert client("sqs", keys.local_access_key_id()).list_queues().get("QueueUrls", []) == []


def test_the_local_user_and_the_sessions_it_assumes_keep_working(emulator: None) -> None:
    sts = client("sts", keys.local_access_key_id())
    assert sts.get_caller_identity()["Account"] == ACCOUNT
    iam = client("iam", keys.local_access_key_id())
    trust = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        f'"Principal": {{"AWS": "{ACCOUNT}"}}, "Action": "sts:AssumeRole"}}]}}'
    )
    arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="tester")["Credentials"]
    assumed = client("sts", creds["AccessKeyId"], creds["SessionToken"])
    assert assumed.get_caller_identity()["Arn"].endswith(":assumed-role/reader/tester")
    # The session's key with another token is not the session.
    with pytest.raises(ClientError) as refused:
        client("sts", creds["AccessKeyId"], "not-its-token").get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_the_local_user_is_a_long_term_key_not_a_session(emulator: None) -> None:
    """The local user's key with a session token is not a session the emulator issued (the
    stricter reading: AWS does not document accepting a token beside a long-term key)."""
    with pytest.raises(ClientError) as refused:
        client("sts", keys.local_access_key_id(), token="testing").get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_the_local_user_is_configured_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, emulator: None
) -> None:
    monkeypatch.setenv(keys.LOCAL_ACCESS_KEY_ID_ENV, "AKIALOCALOPERATOR")
    assert keys.local_access_key_id() == "AKIALOCALOPERATOR"
    assert client("sts", "AKIALOCALOPERATOR").get_caller_identity()["Account"] == ACCOUNT
    with pytest.raises(ClientError):
        client("sts", keys.DEFAULT_LOCAL_ACCESS_KEY_ID).get_caller_identity()


def test_error_bodies_follow_each_protocol() -> None:
    query = keys.unknown_key_error("sts", "query")
    assert "<Code>InvalidClientTokenId</Code>" in query.get_body()  # type: ignore[attr-defined]
    assert query.code == 403  # type: ignore[attr-defined]
    json_error = keys.unknown_key_error("states", "json")
    assert '"__type": "UnrecognizedClientException"' in json_error.get_body()  # type: ignore[attr-defined]
    compatible = keys.unknown_key_error("sqs", "json", query_compatible=True)
    assert ("x-amzn-query-error", "InvalidClientTokenId;Sender") in compatible.get_headers()  # type: ignore[attr-defined]
    s3 = keys.unknown_key_error("s3", "rest-xml")
    assert "<Code>InvalidAccessKeyId</Code>" in s3.get_body()  # type: ignore[attr-defined]
