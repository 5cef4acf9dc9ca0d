"""The IAM evaluator's rules (emulator/aws/iam/policy.py, resources.py), as pure functions:
each rule cites the AWS page it comes from in policy.py's docstring. The same rules on requests
signed with STS credentials against moto: test_access_control.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulator.aws.iam import decisions, resources, s3_kms
from emulator.aws.iam import policy as evaluator
from emulator.aws.iam.policy import Decision, Principal, Request
from emulator.tests.helpers import ACCOUNT

ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"
CALLER = Principal(arn=SESSION, role_arn=ROLE, account=ACCOUNT)


def req(action: str, resource: str = "*", **context: str | list[str]) -> Request:
    keys = {k.lower(): tuple(v) if isinstance(v, list) else (v,) for k, v in context.items()}
    return Request(action, resource, CALLER, keys)


def allow(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


POWER_USER = allow(
    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
    {
        "Effect": "Allow",
        "Action": ["iam:CreateServiceLinkedRole", "iam:ListRoles"],
        "Resource": "*",
    },
)


def test_not_action_allows_everything_but_the_listed_services() -> None:
    assert evaluator.decide(req("s3:PutObject", "arn:aws:s3:::b/k"), [POWER_USER]) is Decision.ALLOW
    assert evaluator.decide(req("iam:CreateRole", ROLE), [POWER_USER]) is Decision.IMPLICIT_DENY
    assert (
        evaluator.decide(req("IAM:ListRoles"), [POWER_USER]) is Decision.ALLOW
    )  # actions: any case


def test_explicit_deny_wins_over_any_allow() -> None:
    deny = allow({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"})
    assert evaluator.decide(req("s3:GetObject", "arn:aws:s3:::b/k"), [POWER_USER, deny]) is (
        Decision.EXPLICIT_DENY
    )
    assert evaluator.decide(req("s3:GetObject", "arn:aws:s3:::c/k"), [POWER_USER, deny]) is (
        Decision.ALLOW
    )


def test_wildcards_and_not_resource() -> None:
    policy = allow(
        {"Effect": "Allow", "Action": "states:Describe*", "Resource": "arn:aws:states:*:*:x?"},
        {"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:secret"},
    )
    assert evaluator.decide(req("states:DescribeExecution", "arn:aws:states:r:1:xy"), [policy]) is (
        Decision.ALLOW
    )
    assert evaluator.decide(
        req("states:DescribeExecution", "arn:aws:states:r:1:xyz"), [policy]
    ) is (Decision.IMPLICIT_DENY)
    assert evaluator.decide(req("sns:Publish", "arn:aws:sns:r:1:open"), [policy]) is Decision.ALLOW
    assert evaluator.decide(req("sns:Publish", "arn:aws:sns:r:1:secret"), [policy]) is (
        Decision.IMPLICIT_DENY
    )
    # Resources are case-sensitive.
    assert (
        evaluator.decide(req("sns:Publish", "arn:aws:sns:r:1:SECRET"), [policy]) is Decision.ALLOW
    )


@pytest.mark.parametrize(
    ("operator", "key", "expected", "context", "holds"),
    [
        ("StringEquals", "iam:PassedToService", ["a", "b"], {"iam:passedtoservice": ("b",)}, True),
        ("StringEquals", "iam:PassedToService", ["a"], {"iam:passedtoservice": ("B",)}, False),
        ("StringEquals", "iam:PassedToService", ["a"], {}, False),  # absent: false
        ("StringNotEquals", "aws:SourceAccount", ["1"], {}, True),  # absent + negated: true
        ("StringNotEquals", "aws:SourceAccount", ["1"], {"aws:sourceaccount": ("1",)}, False),
        (
            "StringLike",
            "aws:SourceArn",
            "arn:aws:events:*:1:rule/*",
            {"aws:sourcearn": ("arn:aws:events:r:1:rule/x",)},
            True,
        ),
        (
            "ArnLike",
            "aws:SourceArn",
            "arn:aws:events:*:2:rule/*",
            {"aws:sourcearn": ("arn:aws:events:r:1:rule/x",)},
            False,
        ),
        (
            "ArnEquals",
            "aws:SourceArn",
            "arn:aws:events:r:1:rule/x",
            {"aws:sourcearn": ("arn:aws:events:r:1:rule/x",)},
            True,
        ),
        ("Bool", "aws:SecureTransport", "false", {"aws:securetransport": ("false",)}, True),
        ("Bool", "aws:SecureTransport", "false", {"aws:securetransport": ("true",)}, False),
        ("StringEqualsIfExists", "aws:SourceAccount", "1", {}, True),
        ("StringEqualsIfExists", "aws:SourceAccount", "1", {"aws:sourceaccount": ("2",)}, False),
        ("Null", "aws:SourceArn", "true", {}, True),
        ("Null", "aws:SourceArn", "false", {}, False),
        ("ForAnyValue:StringLike", "k:tags", ["a*"], {"k:tags": ("b", "ax")}, True),
        ("ForAnyValue:StringLike", "k:tags", ["a*"], {}, False),
        ("ForAllValues:StringEquals", "k:tags", ["a", "b"], {"k:tags": ("a", "c")}, False),
        ("ForAllValues:StringEquals", "k:tags", ["a", "b"], {}, True),  # vacuous truth
    ],
)
def test_condition_operators(
    operator: str, key: str, expected: Any, context: dict[str, tuple[str, ...]], holds: bool
) -> None:
    assert evaluator.condition_holds(operator, key, expected, context) is holds


def test_an_unknown_condition_operator_is_refused_not_guessed() -> None:
    with pytest.raises(evaluator.UnsupportedCondition):
        evaluator.condition_holds("DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", {})


def test_resource_policy_grants_and_account_principal_only_delegates() -> None:
    bucket = "arn:aws:s3:::b/k"
    to_role = allow(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE},
            "Action": "s3:GetObject",
            "Resource": bucket,
        }
    )
    to_account = allow(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "s3:GetObject",
            "Resource": bucket,
        }
    )
    assert evaluator.decide(req("s3:GetObject", bucket), [], to_role) is Decision.ALLOW
    assert evaluator.decide(req("s3:GetObject", bucket), [], to_account) is Decision.IMPLICIT_DENY


def test_kms_key_policy_must_allow_or_delegate() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    identity = allow({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    service_only = allow(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    delegating = allow(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:*", "Resource": "*"}
    )
    decrypt = req("kms:Decrypt", key)
    assert evaluator.decide(decrypt, [identity], service_only, key_policy=True) is (
        Decision.IMPLICIT_DENY
    )
    assert evaluator.decide(decrypt, [identity], delegating, key_policy=True) is Decision.ALLOW
    assert evaluator.decide(decrypt, [], delegating, key_policy=True) is Decision.IMPLICIT_DENY


def test_service_trust_with_source_account() -> None:
    trust = allow(
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    )
    own = {"aws:sourceaccount": (ACCOUNT,)}
    assert evaluator.trust_allows_service(trust, "states.amazonaws.com", own)
    assert not evaluator.trust_allows_service(trust, "lambda.amazonaws.com", own)
    assert not evaluator.trust_allows_service(
        trust, "states.amazonaws.com", {"aws:sourceaccount": ("1",)}
    )
    assert not evaluator.trust_allows_service(allow(), "states.amazonaws.com", own)


def test_resource_arns_per_action() -> None:
    def arn(action: str, params: dict[str, Any], path: str = "") -> str:
        return resources.resource_arn(
            action, params, partition="aws", region="us-east-1", account=ACCOUNT, path=path
        )

    assert arn("iam:CreateRole", {"RoleName": "x"}) == f"arn:aws:iam::{ACCOUNT}:role/x"
    assert arn("iam:PutRolePolicy", {"RoleName": "x"}) == f"arn:aws:iam::{ACCOUNT}:role/x"
    assert arn(
        "lambda:UpdateFunctionConfiguration", {}, "/2015-03-31/functions/f/configuration"
    ) == (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f")
    assert arn("states:CreateStateMachine", {"name": "sm"}) == (
        f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:sm"
    )
    assert arn("sagemaker:CreatePipeline", {"PipelineName": "Pipe"}) == (
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/pipe"
    )
    assert arn("events:PutTargets", {"Rule": "r"}) == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    assert arn("sqs:GetQueueAttributes", {"QueueUrl": "http://h/1/q"}) == (
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    )
    assert arn("sagemaker:CreateEndpoint", {"EndpointName": "E", "EndpointConfigName": "c"}) == (
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/e"
    )
    assert arn("sagemaker:ListModels", {}) == "*"


def test_access_denied_bodies_follow_each_protocol() -> None:
    # Query: <ErrorResponse><Error>, the shape the Go SDK (Terraform) parses; JSON: __type.
    query = decisions.access_denied("iam", "query", "User: x is not authorized")
    assert "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>" in (
        query.get_body()  # type: ignore[attr-defined]
    )
    assert query.code == 403  # type: ignore[attr-defined]
    assert (
        "<Code>AuthorizationError</Code>" in decisions.access_denied("sns", "query", "m").get_body()
    )  # type: ignore[attr-defined]
    body = json.loads(decisions.access_denied("states", "json", "m").get_body())  # type: ignore[attr-defined]
    assert body["__type"] == "AccessDeniedException"


#: Where AWS checks iam:PassRole (each service's API reference), and the receiving service.
EXPECTED_PASS_ROLE = {
    "states:CreateStateMachine": "states.amazonaws.com",
    "states:UpdateStateMachine": "states.amazonaws.com",
    "lambda:CreateFunction": "lambda.amazonaws.com",
    "lambda:UpdateFunctionConfiguration": "lambda.amazonaws.com",
    "sagemaker:CreatePipeline": "sagemaker.amazonaws.com",
    "sagemaker:UpdatePipeline": "sagemaker.amazonaws.com",
    "sagemaker:CreateModel": "sagemaker.amazonaws.com",
    "events:PutTargets": "events.amazonaws.com",
}


@pytest.mark.parametrize(("action", "service"), sorted(EXPECTED_PASS_ROLE.items()))
def test_pass_role_parameters_exist_in_the_service_model(action: str, service: str) -> None:
    """Each role parameter the check reads is a member of the operation's input shape in
    botocore's service model (a misspelt name would silently skip the check)."""
    import botocore.session

    prefix, operation = action.split(":")
    model = botocore.session.get_session().get_service_model(
        {"states": "stepfunctions"}.get(prefix, prefix)
    )
    shape = model.operation_model(operation).input_shape
    to_service, _ = resources.PASS_ROLE[action]
    assert to_service == service
    for path in resources.PASS_ROLE[action][1]:
        member = shape
        for part in path.split("."):
            name = part.removesuffix("[]")
            member = member.members[name]
            if part.endswith("[]"):
                member = member.member
        assert member.type_name == "string", path


def test_passed_roles_per_action() -> None:
    assert resources.passed_roles(
        "events:PutTargets", {"Targets": [{"Id": "1", "RoleArn": ROLE}]}
    ) == (
        "events.amazonaws.com",
        [ROLE],
    )
    assert resources.passed_roles("states:CreateStateMachine", {"roleArn": ROLE}) == (
        "states.amazonaws.com",
        [ROLE],
    )
    assert resources.passed_roles("states:StartExecution", {}) is None


@pytest.mark.parametrize(
    ("method", "query", "headers", "expected"),
    [
        ("PUT", {}, {}, ("write", ("kms:GenerateDataKey",))),
        ("PUT", {}, {"x-amz-copy-source": "b/k"}, ("copy", ("kms:GenerateDataKey",))),
        ("POST", {"uploads": [""]}, {}, ("write-multipart", s3_kms.S3_MULTIPART_KMS)),
        (
            "PUT",
            {"uploadId": ["u"], "partNumber": ["1"]},
            {},
            ("multipart", s3_kms.S3_MULTIPART_KMS),
        ),
        ("GET", {}, {}, ("read", ("kms:Decrypt",))),
        ("GET", {"tagging": [""]}, {}, ("", ())),
        ("HEAD", {}, {}, ("", ())),
        ("DELETE", {}, {}, ("", ())),
    ],
)
def test_s3_kms_actions_per_request(
    method: str, query: dict[str, Any], headers: dict[str, str], expected: tuple[str, Any]
) -> None:
    assert s3_kms.s3_kms_actions(method, query, headers) == expected
