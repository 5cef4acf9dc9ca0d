"""IAM enforcement in the emulator (emulator/aws/iam/) on requests signed with STS credentials,
against moto with the extensions; the evaluator's rules as pure functions: test_iam_policy.py.

Each rule cites the AWS page it comes from in emulator/aws/iam/policy.py's docstring.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws.iam import decisions
from emulator.aws.iam import policy as evaluator
from emulator.aws.iam.policy import Decision
from emulator.tests.helpers import ACCOUNT


def allow(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --------------------------------------------------------------------------- against moto

TRUST_ANY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def root(emulator: None) -> Iterator[boto3.Session]:
    yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """As emulator.server does: AWS managed policies (PowerUserAccess) exist, as in any account
    (moto loads them when its IAM backend is created: ~3 s, so only where a test needs them)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def make_role(root: boto3.Session, name: str, *policies: dict[str, Any], managed: str = "") -> str:
    iam = root.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_ANY))["Role"][
        "Arn"
    ]
    for index, policy in enumerate(policies):
        iam.put_role_policy(
            RoleName=name, PolicyName=f"p{index}", PolicyDocument=json.dumps(policy)
        )
    if managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    return str(arn)


def as_role(root: boto3.Session, role_arn: str) -> boto3.Session:
    creds = root.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_root_credentials_keep_every_permission(root: boto3.Session) -> None:
    root.client("iam").create_role(RoleName="anything", AssumeRolePolicyDocument="{}")
    root.client("s3").create_bucket(Bucket="root-bucket")


def test_identity_policy_scopes_s3_and_explicit_deny_in_bucket_policy(root: boto3.Session) -> None:
    s3 = root.client("s3")
    for bucket in ("mine", "other"):
        s3.create_bucket(Bucket=bucket)
    role = make_role(
        root,
        "app",
        allow(
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": "arn:aws:s3:::mine/*",
            }
        ),
    )
    session = as_role(root, role).client("s3")
    session.put_object(Bucket="mine", Key="a", Body=b"1")
    with pytest.raises(ClientError) as denied:
        session.put_object(Bucket="other", Key="a", Body=b"1")
    assert error_code(denied) == "AccessDenied"
    s3.put_bucket_policy(
        Bucket="mine",
        Policy=json.dumps(
            allow(
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": role},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::mine/*",
                }
            )
        ),
    )
    with pytest.raises(ClientError) as explicit:
        session.get_object(Bucket="mine", Key="a")
    # moto serialises GetObject's errors without a body: botocore sees only the status.
    assert explicit.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_bucket_policy_alone_grants_a_same_account_role(root: boto3.Session) -> None:
    s3 = root.client("s3")
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="k", Body=b"x")
    role = make_role(root, "reader")
    session = as_role(root, role).client("s3")
    with pytest.raises(ClientError):
        session.get_object(Bucket="shared", Key="k")
    s3.put_bucket_policy(
        Bucket="shared",
        Policy=json.dumps(
            allow(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": role},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::shared/*",
                }
            )
        ),
    )
    assert session.get_object(Bucket="shared", Key="k")["Body"].read() == b"x"


def test_power_user_access_cannot_manage_iam(managed_policies: None, root: boto3.Session) -> None:
    role = make_role(root, "power", managed="arn:aws:iam::aws:policy/PowerUserAccess")
    session = as_role(root, role)
    session.client("sqs").create_queue(QueueName="allowed")
    with pytest.raises(ClientError) as denied:
        session.client("iam").create_role(RoleName="x", AssumeRolePolicyDocument="{}")
    assert error_code(denied) == "AccessDenied"
    assert "iam:CreateRole" in denied.value.response["Error"]["Message"]
    assert session.client("sts").get_caller_identity()["Arn"].endswith("/test")


def pass_role_policy(services: list[str], role: str) -> dict[str, Any]:
    return allow(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": role,
            "Condition": {"StringEquals": {"iam:PassedToService": services}},
        },
    )


def test_pass_role_is_checked_with_the_receiving_service(root: boto3.Session) -> None:
    target = make_role(root, "target")
    only_sagemaker = as_role(
        root, make_role(root, "d1", pass_role_policy(["sagemaker.amazonaws.com"], target))
    )
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ClientError) as denied:
        only_sagemaker.client("stepfunctions").create_state_machine(
            name="sm", definition=definition, roleArn=target
        )
    assert error_code(denied) == "AccessDeniedException"
    assert "iam:PassRole" in denied.value.response["Error"]["Message"]
    with_states = as_role(
        root, make_role(root, "d2", pass_role_policy(["states.amazonaws.com"], target))
    )
    with_states.client("stepfunctions").create_state_machine(
        name="sm", definition=definition, roleArn=target
    )


def test_pass_role_for_event_targets(root: boto3.Session) -> None:
    target = make_role(root, "events-target")
    events_root = root.client("events")
    events_root.put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}))
    queue = root.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    assert queue.endswith("/q")
    denied_session = as_role(
        root, make_role(root, "e1", pass_role_policy(["states.amazonaws.com"], target))
    )
    with pytest.raises(ClientError) as denied:
        denied_session.client("events").put_targets(
            Rule="r", Targets=[{"Id": "1", "Arn": queue_arn, "RoleArn": target}]
        )
    assert "iam:PassRole" in denied.value.response["Error"]["Message"]
    allowed = as_role(
        root, make_role(root, "e2", pass_role_policy(["events.amazonaws.com"], target))
    )
    allowed.client("events").put_targets(
        Rule="r", Targets=[{"Id": "1", "Arn": queue_arn, "RoleArn": target}]
    )


def test_kms_key_policy_without_delegation_denies_an_allowed_role(root: boto3.Session) -> None:
    role = make_role(
        root, "kms-user", allow({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    )
    kms = root.client("kms")
    delegating = kms.create_key()["KeyMetadata"]["KeyId"]  # default policy: the account
    closed = kms.create_key(
        Policy=json.dumps(
            allow(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            )
        ),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]["KeyId"]
    session = as_role(root, role).client("kms")
    session.describe_key(KeyId=delegating)
    with pytest.raises(ClientError) as denied:
        session.describe_key(KeyId=closed)
    assert error_code(denied) == "AccessDeniedException"


def fake_jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature-not-checked"


def test_web_identity_trust_conditions_decide(root: boto3.Session) -> None:
    iam = root.client("iam")
    provider = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
    )["OpenIDConnectProviderArn"]
    trust = allow(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:o/r:environment:production",
                }
            },
        }
    )
    role = iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    sts = root.client("sts")

    def token(sub: str, aud: str = "sts.amazonaws.com") -> str:
        return fake_jwt(
            {
                "iss": "https://token.actions.githubusercontent.com",
                "aud": aud,
                "sub": sub,
                "exp": int(time.time()) + 600,
            }
        )

    with pytest.raises(ClientError) as wrong_subject:
        sts.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="ss", WebIdentityToken=token("repo:o/r:pull_request")
        )
    assert error_code(wrong_subject) == "AccessDenied"
    with pytest.raises(ClientError) as wrong_audience:
        sts.assume_role_with_web_identity(
            RoleArn=role,
            RoleSessionName="ss",
            WebIdentityToken=token("repo:o/r:environment:production", aud="other"),
        )
    assert error_code(wrong_audience) == "InvalidIdentityToken"
    creds = sts.assume_role_with_web_identity(
        RoleArn=role,
        RoleSessionName="ss",
        WebIdentityToken=token("repo:o/r:environment:production"),
    )["Credentials"]
    assert creds["AccessKeyId"]


# --------------------------------------------------------------------------- Step Functions tasks


def wait_for_execution(sfn: Any, arn: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.1)
    raise AssertionError(f"{arn} still RUNNING after {timeout} s")


def test_state_machine_tasks_run_as_the_state_machine_role(root: boto3.Session) -> None:
    sqs = root.client("sqs")
    allowed = sqs.create_queue(QueueName="allowed")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    trust = allow(
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    iam = root.client("iam")
    role = iam.create_role(RoleName="sm-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    iam.put_role_policy(
        RoleName="sm-role",
        PolicyName="send",
        PolicyDocument=json.dumps(
            allow(
                {
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:allowed",
                }
            )
        ),
    )

    def send_to(url: str) -> str:
        return json.dumps(
            {
                "StartAt": "Send",
                "States": {
                    "Send": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sqs:sendMessage",
                        "Parameters": {"QueueUrl": url, "MessageBody": "hi"},
                        "End": True,
                    }
                },
            }
        )

    sfn = root.client("stepfunctions")
    outcomes = {}
    for name, url in (("to-allowed", allowed), ("to-other", other)):
        machine = sfn.create_state_machine(name=name, definition=send_to(url), roleArn=role)
        execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run")
        outcomes[name] = wait_for_execution(sfn, execution["executionArn"])
    assert outcomes["to-allowed"]["status"] == "SUCCEEDED"
    assert outcomes["to-other"]["status"] == "FAILED"
    assert "not authorized to perform: sqs:SendMessage" in outcomes["to-other"].get("cause", "")


def test_secure_transport_over_the_emulators_listeners(tmp_path: Any) -> None:
    """Over the plain-http listener a user's session is insecure transport and a bucket policy
    denying it applies; over HTTPS it does not; the state machine's own calls (Step Functions
    calls services over TLS on AWS) are not denied either."""
    from emulator.process import Emulator

    with Emulator.start(tls=True, pipeline_workdir=None) as emu:
        client = emu.client

        s3 = client("s3")
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="k.json", Body=b'{"ok": true}')
        s3.put_bucket_policy(
            Bucket="data",
            Policy=json.dumps(
                allow(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            ),
        )
        read = allow({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
        trust = allow(
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com", "AWS": ACCOUNT},
                "Action": "sts:AssumeRole",
            }
        )
        iam = client("iam")
        role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps(read))
        creds = client("sts").assume_role(RoleArn=role, RoleSessionName="user")["Credentials"]
        session = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
        with pytest.raises(ClientError):
            client("s3", **session).get_object(Bucket="data", Key="k.json")
        assert client("s3", secure=True, **session).get_object(Bucket="data", Key="k.json")
        definition = {
            "StartAt": "Read",
            "States": {
                "Read": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                    "Parameters": {"Bucket": "data", "Key": "k.json"},
                    "End": True,
                }
            },
        }
        sfn = client("stepfunctions")
        machine = sfn.create_state_machine(
            name="read", definition=json.dumps(definition), roleArn=role
        )["stateMachineArn"]
        run = sfn.start_execution(stateMachineArn=machine, name="r1")["executionArn"]
        outcome = wait_for_execution(sfn, run)
        assert outcome["status"] == "SUCCEEDED", outcome


def test_a_condition_the_emulator_cannot_evaluate_denies(root: boto3.Session) -> None:
    role = make_role(
        root,
        "dated",
        allow(
            {
                "Effect": "Allow",
                "Action": "sqs:*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}},
            }
        ),
    )
    with pytest.raises(ClientError) as denied:
        as_role(root, role).client("sqs").create_queue(QueueName="q")
    assert "cannot evaluate" in denied.value.response["Error"]["Message"]


# --------------------------------------------------------------------------- service principals

SOURCE_RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/failures"


def key_policy_for(service: str, condition: dict[str, Any]) -> dict[str, Any]:
    return allow(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": "*",
            **({"Condition": condition} if condition else {}),
        },
    )


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({}, {}, Decision.ALLOW),
        (
            {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            {"aws:sourceaccount": (ACCOUNT,)},
            Decision.ALLOW,
        ),
        # A delivery that sends no aws:SourceAccount does not satisfy the condition.
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {}, Decision.IMPLICIT_DENY),
        (
            {"ArnLike": {"aws:SourceArn": f"arn:aws:events:*:{ACCOUNT}:rule/*"}},
            {"aws:sourcearn": (SOURCE_RULE,)},
            Decision.ALLOW,
        ),
    ],
)
def test_service_principals_are_granted_only_by_the_resource_policy(
    condition: dict[str, Any], context: dict[str, tuple[str, ...]], expected: Decision
) -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    policy = key_policy_for("events.amazonaws.com", condition)
    assert (
        evaluator.decide_for_service(
            "events.amazonaws.com", "kms:GenerateDataKey", key, policy, context
        )
        is expected
    )
    # The account's root principal grants a service nothing.
    assert (
        evaluator.decide_for_service(
            "cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, policy, context
        )
        is Decision.IMPLICIT_DENY
    )


def test_service_decision_reads_the_key_policy_on_the_emulator(root: boto3.Session) -> None:
    kms = root.client("kms")
    policy = key_policy_for(
        "events.amazonaws.com", {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    )
    key_arn = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    decide = decisions.service_decision
    assert (
        decide(
            "events.amazonaws.com",
            "kms:GenerateDataKey",
            key_arn,
            source_arn=SOURCE_RULE,
            source_account=ACCOUNT,
        )
        is Decision.ALLOW
    )
    assert (
        decide(
            "events.amazonaws.com",
            "kms:GenerateDataKey",
            key_arn,
            source_arn=SOURCE_RULE,
            source_account="999999999999",
        )
        is Decision.IMPLICIT_DENY
    )


# --------------------------------------------------------------------------- S3 with SSE-KMS

S3_OBJECTS = {
    "Effect": "Allow",
    "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::sse-kms", "arn:aws:s3:::sse-kms/*"],
}


def _sse_kms_bucket(root: boto3.Session) -> str:
    """terraform/s3.tf with ``kms_key_arn`` set: default SSE-KMS with a customer managed key
    whose (default) policy delegates to the account."""
    key_arn = str(root.client("kms").create_key()["KeyMetadata"]["Arn"])
    s3 = root.client("s3")
    s3.create_bucket(Bucket="sse-kms")
    s3.put_bucket_encryption(
        Bucket="sse-kms",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    return key_arn


def test_s3_put_object_with_sse_kms_needs_generate_data_key(root: boto3.Session) -> None:
    key_arn = _sse_kms_bucket(root)
    without = as_role(root, make_role(root, "no-kms", allow(S3_OBJECTS))).client("s3")
    with pytest.raises(ClientError) as denied:
        without.put_object(Bucket="sse-kms", Key="k", Body=b"x")
    assert error_code(denied) == "AccessDenied"
    assert f"kms:GenerateDataKey on resource: {key_arn}" in str(denied.value)
    assert "Contents" not in root.client("s3").list_objects_v2(Bucket="sse-kms")

    generate = {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key_arn}
    writer = as_role(root, make_role(root, "kms-writer", allow(S3_OBJECTS, generate))).client("s3")
    writer.put_object(Bucket="sse-kms", Key="k", Body=b"x")
    assert root.client("s3").head_object(Bucket="sse-kms", Key="k")["SSEKMSKeyId"] == key_arn


def test_s3_get_object_with_sse_kms_needs_decrypt(root: boto3.Session) -> None:
    key_arn = _sse_kms_bucket(root)
    root.client("s3").put_object(Bucket="sse-kms", Key="k", Body=b"x")
    generate = {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key_arn}
    reader = as_role(root, make_role(root, "no-decrypt", allow(S3_OBJECTS, generate)))
    with pytest.raises(ClientError) as denied:
        reader.client("s3").get_object(Bucket="sse-kms", Key="k")
    assert error_code(denied) == "AccessDenied"
    assert f"kms:Decrypt on resource: {key_arn}" in str(denied.value)
    reader.client("s3").head_object(Bucket="sse-kms", Key="k")  # HEAD decrypts nothing

    decrypt = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}
    allowed = as_role(root, make_role(root, "kms-reader", allow(S3_OBJECTS, decrypt)))
    assert allowed.client("s3").get_object(Bucket="sse-kms", Key="k")["Body"].read() == b"x"


def test_s3_sse_kms_key_policy_must_allow_or_delegate(root: boto3.Session) -> None:
    # The key policy decides too: a key whose policy names only a service principal refuses a
    # role whose identity policy allows every KMS action.
    kms = root.client("kms")
    closed = kms.create_key(
        Policy=json.dumps(
            allow(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            )
        ),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]["Arn"]
    root.client("s3").create_bucket(Bucket="sse-kms")
    everything = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
    s3 = as_role(root, make_role(root, "kms-all", allow(S3_OBJECTS, everything))).client("s3")
    with pytest.raises(ClientError) as denied:
        s3.put_object(
            Bucket="sse-kms", Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=closed
        )
    assert error_code(denied) == "AccessDenied"
    s3.put_object(Bucket="sse-kms", Key="plain", Body=b"x", ServerSideEncryption="AES256")
