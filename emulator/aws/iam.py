"""IAM enforcement in the emulator: requests signed with STS-issued credentials are authorised.

    request ──► principal_of(access key)      STS session?  no ──► the account's root (as before)
                       │ yes
                       ▼
                request_context(action, resource ARN, condition keys)
                       ▼
                decide(identity policies of the role, resource policy)  ──► AccessDenied | go on
                       ▼
                passed_roles(action, params) ──► iam:PassRole with iam:PassedToService, each

Why not moto's own check: ``moto/iam/access_control.py`` (``IAMPolicyStatement``) matches Action
and, partly, Resource, but ignores NotResource, most condition operators, principals of
resource policies and ``iam:PassRole`` (its module docstring lists these TODOs), and it only runs
when ``INITIAL_NO_AUTH_ACTION_COUNT`` makes *every* caller an IAM user, which would end the
local operator's root access. PyPI has no maintained request-time evaluator (``iam-ape``
computes effective permissions, not one request's decision). So this module keeps moto's
hook (``ActionAuthenticatorMixin._authenticate_and_authorize_action``, which
``BaseResponse.call_action`` and the S3 handlers call), moto's STS sessions (access key + session
token) and moto's reading of managed policy documents (``IAMPolicy``), and evaluates each
statement by AWS's documented rules:

- Policy evaluation logic (same account): an explicit Deny in any policy wins; otherwise an
  Allow in an identity policy OR in the resource's policy allows; otherwise implicit deny.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- KMS is the exception: a key policy must allow, directly or by delegating to the account
  (principal ``arn:aws:iam::<account>:root``), before identity policies count.
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
- Action: case-insensitive, ``*`` and ``?`` wildcards; Resource: case-sensitive, same wildcards.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- Conditions: operators, ``...IfExists``, ``Null``, ``ForAnyValue:``/``ForAllValues:``; a
  missing key makes a condition false, except for negated operators, where it is true.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

Simplifications (each stricter or neutral for this repo's policies, see the fidelity notes):
- Callers with any other key (the operator's ``testing``, the emulator's internal clients) stay
  the account's root with every permission, as before: only STS sessions are enforced.
- The SigV4 signature is not verified; the session token must match the session's.
- A resource this module cannot name from the request is ``*`` (literally): an Allow scoped to
  specific ARNs then does not match (stricter), a Deny scoped to specific ARNs does not either.
- No policy variables (``${aws:username}``), session policies, permission boundaries or SCPs.
- Root is exempt from resource policies too (on AWS an explicit Deny in a bucket policy binds
  the root user as well): the local operator's and the emulator's own calls are unchanged.
- Unsigned requests are served as before (AWS refuses them, except AssumeRoleWithWebIdentity,
  which is checked here against the role's trust policy and the OIDC provider).
- S3 is authorised only where moto's S3 handlers call the hook (bucket and object operations).
- Step Functions tasks run as the state machine's role when the role trusts
  ``states.amazonaws.com``; any other role keeps moto's root client (on AWS, CreateStateMachine
  refuses a role Step Functions cannot assume). Their calls count as TLS (see _internal_keys).
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlparse

# --------------------------------------------------------------------------- 1. the evaluator


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Principal:
    """Who calls: an STS role session (``arn``) of role ``role_arn`` in ``account``."""

    arn: str
    role_arn: str
    account: str

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]


@dataclass(frozen=True)
class Request:
    """One authorisation question: may ``principal`` do ``action`` on ``resource``?"""

    action: str
    resource: str
    principal: Principal
    #: Condition keys, lower-cased names (keys are case-insensitive), each with its values.
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM's ``*`` (any run) and ``?`` (one character); nothing else is special."""
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in str(pattern)
    )
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def _matches_any(patterns: Any, value: str, *, case_sensitive: bool) -> bool:
    return any(wildcard_match(p, value, case_sensitive=case_sensitive) for p in _as_list(patterns))


def action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches_any(statement["NotAction"], action, case_sensitive=False)
    return _matches_any(statement.get("Action"), action, case_sensitive=False)


def resource_applies(statement: Mapping[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not _matches_any(statement["NotResource"], resource, case_sensitive=True)
    if "Resource" not in statement:
        return True  # resource policies may omit it: the statement is about their resource
    return _matches_any(statement["Resource"], resource, case_sensitive=True)


def _account_principal_ids(principal: Principal) -> set[str]:
    return {principal.account, f"arn:{principal.partition}:iam::{principal.account}:root"}


def principal_applies(
    statement: Mapping[str, Any], principal: Principal, *, via_account: bool
) -> bool:
    """Whether a resource policy's Principal/NotPrincipal names the caller.

    A role session is named by its session ARN or its role ARN. The account (``<id>`` or
    ``arn:...:root``) names every principal of the account only where ``via_account`` holds:
    for a Deny (it applies to them all), and for KMS's delegation to IAM policies; an Allow to
    the account alone delegates to identity policies and grants the role nothing by itself.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    """
    own = {principal.arn, principal.role_arn}
    if via_account:
        own |= _account_principal_ids(principal)

    def names(block: Any) -> bool:
        if block == "*":
            return True
        if not isinstance(block, Mapping):
            return False
        return any(p == "*" or p in own for p in _as_list(block.get("AWS")))

    if "NotPrincipal" in statement:
        return not names(statement["NotPrincipal"])
    return names(statement.get("Principal"))


# Condition operators: name -> (compare one request value with one policy value, negated).
def _str_eq(a: str, b: str) -> bool:
    return a == b


def _str_eq_ci(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _str_like(a: str, b: str) -> bool:
    return wildcard_match(b, a)


def _bool_eq(a: str, b: str) -> bool:
    return a.lower() == str(b).lower()


def _num(op: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(a: str, b: str) -> bool:
        try:
            return op(float(a), float(b))
        except ValueError:
            return False

    return compare


OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_str_eq, False),
    "StringNotEquals": (_str_eq, True),
    "StringEqualsIgnoreCase": (_str_eq_ci, False),
    "StringNotEqualsIgnoreCase": (_str_eq_ci, True),
    "StringLike": (_str_like, False),
    "StringNotLike": (_str_like, True),
    # ARN operators compare component-wise with wildcards; matching the whole ARN with the
    # same wildcards gives the same answer for well-formed ARNs.
    "ArnEquals": (_str_like, False),
    "ArnLike": (_str_like, False),
    "ArnNotEquals": (_str_like, True),
    "ArnNotLike": (_str_like, True),
    "Bool": (_bool_eq, False),
    "NumericEquals": (_num(lambda a, b: a == b), False),
    "NumericNotEquals": (_num(lambda a, b: a == b), True),
    "NumericLessThan": (_num(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_num(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_num(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_num(lambda a, b: a >= b), False),
}


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not model (refused rather than guessed)."""


def condition_holds(
    operator: str, key: str, expected: Any, context: Mapping[str, tuple[str, ...]]
) -> bool:
    """One ``"Operator": {"key": values}`` entry against the request context."""
    policy_values = [str(v) for v in _as_list(expected)]
    actual = context.get(key.lower())
    if operator == "Null":
        # "true": the key must be absent; "false": present.
        return (actual is None) == (policy_values[0].lower() == "true")
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in OPERATORS:
        raise UnsupportedCondition(f"condition operator {operator!r} is not modelled")
    compare, negated = OPERATORS[base]
    if actual is None or (qualifier and not actual):
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True  # vacuously true for an absent or empty key (AWS's documented trap)
        if qualifier == "ForAnyValue":
            return False
        return negated

    def one(value: str) -> bool:
        matched = any(compare(value, p) for p in policy_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in actual)
    if negated:  # a single-valued key: none of the policy values may match
        return all(one(v) for v in actual)
    return any(one(v) for v in actual)


def conditions_hold(statement: Mapping[str, Any], context: Mapping[str, tuple[str, ...]]) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, expected in block.items()
    )


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _as_list(policy.get("Statement"))


def policy_effects(
    policy: Mapping[str, Any], request: Request, *, resource_policy: bool, via_account: bool
) -> set[str]:
    """The Effects (``Allow``/``Deny``) of the policy's statements that apply to the request."""
    effects: set[str] = set()
    for statement in _statements(policy):
        if not action_applies(statement, request.action):
            continue
        if not resource_applies(statement, request.resource):
            continue
        if resource_policy and not principal_applies(
            statement,
            request.principal,
            via_account=via_account or statement.get("Effect") == "Deny",
        ):
            continue
        if conditions_hold(statement, request.context):
            effects.add(str(statement.get("Effect")))
    return effects


def decide(
    request: Request,
    identity_policies: Iterable[Mapping[str, Any]],
    resource_policy: Mapping[str, Any] | None = None,
    *,
    key_policy: bool = False,
) -> Decision:
    """AWS's evaluation for a same-account request (see the module docstring).

    ``key_policy``: ``resource_policy`` is a KMS key policy, which must allow (directly, or by
    delegating to the account) before identity policies count.
    """
    identity = set().union(
        *(
            policy_effects(p, request, resource_policy=False, via_account=False)
            for p in identity_policies
        )
    )
    direct = (
        policy_effects(resource_policy, request, resource_policy=True, via_account=False)
        if resource_policy
        else set()
    )
    if "Deny" in identity or "Deny" in direct:
        return Decision.EXPLICIT_DENY
    if key_policy:
        delegated = (
            policy_effects(resource_policy, request, resource_policy=True, via_account=True)
            if resource_policy
            else set()
        )
        if "Allow" in direct or ("Allow" in delegated and "Allow" in identity):
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY
    if "Allow" in identity or "Allow" in direct:
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def denial_message(request: Request, decision: Decision, policy_kind: str) -> str:
    """AWS's AccessDenied wording, with the reason it has given since 2021.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
    """
    base = (
        f"User: {request.principal.arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource}"
    )
    if decision is Decision.EXPLICIT_DENY:
        return f"{base} with an explicit deny in {policy_kind}"
    return f"{base} because no {policy_kind} allows the {request.action} action"


def decide_for_service(
    service: str,
    action: str,
    resource: str,
    resource_policy: Mapping[str, Any] | None,
    context: Mapping[str, tuple[str, ...]],
) -> Decision:
    """A service principal (``events.amazonaws.com``...) acting on a resource for a customer:
    only the resource's policy can grant it (a service has no identity policies), with the
    request context the service sends (``aws:SourceAccount``, ``aws:SourceArn``).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    effects: set[str] = set()
    for statement in _statements(resource_policy or {}):
        if not action_applies(statement, action) or not resource_applies(statement, resource):
            continue
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if principal != "*" and service not in services:
            continue
        if conditions_hold(statement, context):
            effects.add(str(statement.get("Effect")))
    if "Deny" in effects:
        return Decision.EXPLICIT_DENY
    return Decision.ALLOW if "Allow" in effects else Decision.IMPLICIT_DENY


# --------------------------------------------------------------------------- 2. the request

#: The IAM prefix of a SigV4 signing name where the two differ.
IAM_PREFIX = {"monitoring": "cloudwatch"}

#: Operation names whose IAM action differs (service authorization reference).
#: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
#: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
ACTION_ALIASES = {
    "s3:HeadBucket": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "s3:GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "s3:PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "s3:GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "lambda:Invoke": "lambda:InvokeFunction",
}


def iam_action(signing_name: str, operation: str) -> str:
    name = f"{IAM_PREFIX.get(signing_name, signing_name)}:{operation}"
    return ACTION_ALIASES.get(name, name)


def _name_of(value: str, marker: str) -> str:
    """The name in ``value``, which may be a name or an ARN ending in ``<marker><name>``."""
    return value.rsplit(marker, 1)[-1] if value.startswith("arn:") else value


def resource_arn(
    action: str,
    params: Mapping[str, Any],
    *,
    partition: str,
    region: str,
    account: str,
    path: str = "",
    lookup: Callable[[str, str], str | None] = lambda kind, ident: None,
) -> str:
    """The ARN an action is authorised against, from the request; ``*`` when not derivable.

    Simplified per service (each from the service authorization reference's resource types):
    a request naming several resources is authorised against the first one only.
    """
    service, operation = action.split(":", 1)
    p = {k.lower(): v for k, v in params.items()}
    base = f"arn:{partition}:{service}:{region}:{account}"

    def arn_param(*names: str) -> str | None:
        for name in names:
            value = p.get(name.lower())
            if isinstance(value, str) and value.startswith("arn:"):
                return value
        return None

    if service == "iam":
        if "rolename" in p:
            role_path = (
                p.get("path") if operation == "CreateRole" else lookup("role", p["rolename"])
            )
            return f"arn:{partition}:iam::{account}:role{role_path or '/'}{p['rolename']}"
        for key in ("policyarn", "openidconnectproviderarn"):
            if key in p:
                return str(p[key])
        if "policyname" in p and operation == "CreatePolicy":
            return f"arn:{partition}:iam::{account}:policy{p.get('path') or '/'}{p['policyname']}"
        if "url" in p and operation == "CreateOpenIDConnectProvider":
            host = urlparse(str(p["url"])).netloc or str(p["url"])
            return f"arn:{partition}:iam::{account}:oidc-provider/{host}"
        return "*"
    if service == "sts":
        return arn_param("RoleArn") or "*"
    if service == "kms":
        key_id = p.get("keyid") or p.get("targetkeyid")
        if isinstance(key_id, str):
            return lookup("kms-key", key_id) or (
                key_id if key_id.startswith("arn:") else f"{base}:key/{key_id}"
            )
        if "aliasname" in p:
            return f"{base}:{p['aliasname']}"
        return "*"
    if service == "sns":
        if operation == "CreateTopic" and "name" in p:
            return f"{base}:{p['name']}"
        return arn_param("TopicArn", "TargetArn", "ResourceArn", "SubscriptionArn") or "*"
    if service == "sqs":
        url = p.get("queueurl")
        if isinstance(url, str):
            return f"{base}:{url.rstrip('/').rsplit('/', 1)[-1]}"
        if "queuename" in p:
            return f"{base}:{p['queuename']}"
        return "*"
    if service == "lambda":
        match = re.search(r"/functions/([^/?]+)", path)
        name = unquote(match.group(1)) if match else p.get("functionname")
        if isinstance(name, str):
            name = _name_of(name, ":function:").split(":")[0]
            return f"{base}:function:{name}"
        return "*"
    if service == "states":
        found = arn_param("stateMachineArn", "executionArn", "resourceArn", "activityArn")
        if found:
            return found
        if operation == "CreateStateMachine" and "name" in p:
            return f"{base}:stateMachine:{p['name']}"
        return "*"
    if service == "events":
        found = arn_param("Arn", "ResourceARN")
        if found:
            return found
        rule = p.get("rule") or (p.get("name") if "Rule" in operation else None)
        if isinstance(rule, str):
            bus = p.get("eventbusname")
            prefix = f"rule/{bus}/" if isinstance(bus, str) and bus != "default" else "rule/"
            return f"{base}:{prefix}{rule}"
        return f"{base}:event-bus/default" if operation == "PutEvents" else "*"
    if service == "logs":
        group = p.get("loggroupname")
        return f"{base}:log-group:{group}" if isinstance(group, str) else "*"
    if service == "cloudwatch":
        names = p.get("alarmnames") or p.get("alarmname")
        name = _as_list(names)[0] if names else None
        return f"{base}:alarm:{name}" if name else "*"
    if service == "sagemaker":
        found = arn_param(
            "PipelineExecutionArn", "ModelPackageName", "ModelPackageArn", "ResourceArn"
        )
        if found:
            return found
        # SageMaker resource names are case-insensitive and their ARNs lower-case.
        for key, kind in (
            ("pipelinename", "pipeline"),
            ("modelpackagegroupname", "model-package-group"),
            # CreateEndpoint/UpdateEndpoint name both: they act on the endpoint.
            ("endpointname", "endpoint"),
            ("endpointconfigname", "endpoint-config"),
            ("modelname", "model"),
            ("trainingjobname", "training-job"),
            ("processingjobname", "processing-job"),
            ("hyperparametertuningjobname", "hyper-parameter-tuning-job"),
        ):
            if isinstance(p.get(key), str):
                return f"{base}:{kind}/{_name_of(p[key], f'{kind}/').lower()}"
        return "*"
    return "*"


#: Where AWS checks iam:PassRole, and the service it passes the role to (the service's API
#: reference names the permission for each): action -> (service principal, parameter paths).
PASS_ROLE = {
    "states:CreateStateMachine": ("states.amazonaws.com", ("roleArn",)),
    "states:UpdateStateMachine": ("states.amazonaws.com", ("roleArn",)),
    "lambda:CreateFunction": ("lambda.amazonaws.com", ("Role",)),
    "lambda:UpdateFunctionConfiguration": ("lambda.amazonaws.com", ("Role",)),
    "sagemaker:CreatePipeline": ("sagemaker.amazonaws.com", ("RoleArn",)),
    "sagemaker:UpdatePipeline": ("sagemaker.amazonaws.com", ("RoleArn",)),
    "sagemaker:CreateModel": ("sagemaker.amazonaws.com", ("ExecutionRoleArn",)),
    "sagemaker:CreateTrainingJob": ("sagemaker.amazonaws.com", ("RoleArn",)),
    "sagemaker:CreateProcessingJob": ("sagemaker.amazonaws.com", ("RoleArn",)),
    "events:PutTargets": ("events.amazonaws.com", ("Targets[].RoleArn",)),
}


def passed_roles(action: str, params: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """``(service principal, role ARNs)`` passed by this request, or ``None``."""
    entry = PASS_ROLE.get(action)
    if entry is None:
        return None
    service, paths = entry
    roles: list[str] = []
    for path in paths:
        if "[]." in path:
            list_name, member = path.split("[].")
            roles += [
                str(item[member])
                for item in _as_list(params.get(list_name))
                if isinstance(item, Mapping) and item.get(member)
            ]
        elif params.get(path):
            roles.append(str(params[path]))
    return service, roles


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, NOT verified (moto cannot check GitHub's signature offline)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError) as error:
        raise ValueError(f"the web identity token is not a JWT: {error}") from error


def web_identity_context(claims: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Condition keys of AssumeRoleWithWebIdentity for an OIDC provider: ``<issuer host>:aud``,
    ``:sub``... https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
    """
    host = urlparse(str(claims.get("iss", ""))).netloc
    context = {}
    for claim in ("aud", "sub", "amr"):
        if claim in claims:
            context[f"{host}:{claim}".lower()] = tuple(str(v) for v in _as_list(claims[claim]))
    return context


def trust_allows_web_identity(
    trust_policy: Mapping[str, Any], provider_arn: str, context: Mapping[str, tuple[str, ...]]
) -> bool:
    """Whether a role's trust policy lets the OIDC provider's token assume it (no Deny)."""
    effects: set[str] = set()
    for statement in _statements(trust_policy):
        if not action_applies(statement, "sts:AssumeRoleWithWebIdentity"):
            continue
        federated = _as_list((statement.get("Principal") or {}).get("Federated"))
        if provider_arn not in federated:
            continue
        if conditions_hold(statement, context):
            effects.add(str(statement.get("Effect")))
    return "Allow" in effects and "Deny" not in effects


# --------------------------------------------------------------------------- 3. moto wiring


def _moto_errors() -> tuple[type[Exception], type[Exception]]:
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    class QueryAccessDenied(AccessDeniedError):
        """moto's own class (status 403), with our code and message, in the query protocol's
        error document: ``<ErrorResponse><Error>`` (moto's base renders ``<Errors>``, which
        botocore reads but the Go SDK, hence Terraform, does not).
        https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
        """

        def __init__(self, error_type: str, message: str) -> None:
            super(AccessDeniedError, self).__init__(error_type, message)
            from xml.sax.saxutils import escape

            self.description = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
                f"<Type>Sender</Type><Code>{escape(error_type)}</Code>"
                f"<Message>{escape(message)}</Message></Error>"
                "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            )

    class JsonAccessDenied(JsonRESTError):
        code = 403

    return QueryAccessDenied, JsonAccessDenied


def access_denied(service: str, protocol: str, message: str) -> Exception:
    """The error each protocol's clients parse as access denied (SNS names it its own way:
    https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html)."""
    query_error, json_error = _moto_errors()
    if protocol == "rest-xml":  # S3's <Error> document, status 403
        from moto.s3.exceptions import S3ClientError

        return S3ClientError("AccessDenied", message)
    if protocol in ("json", "rest-json"):
        return json_error("AccessDeniedException", message)
    return query_error("AuthorizationError" if service == "sns" else "AccessDenied", message)


def _scope(headers: Mapping[str, str], query: Mapping[str, Any]) -> list[str] | None:
    """``[key id, date, region, service, aws4_request]`` of a SigV4 header or presigned URL."""
    authorization = headers.get("Authorization") or ""
    if "Credential=" in authorization:
        return authorization.split("Credential=", 1)[1].split(",", 1)[0].strip().split("/")
    credential = query.get("X-Amz-Credential")
    if credential:
        value = credential[0] if isinstance(credential, list) else credential
        return str(value).split("/")
    return None


def _session_of(access_key_id: str) -> Any:
    """The moto STS session (``AssumedRole``) holding this access key, in any account."""
    from moto.sts.models import sts_backends

    for _account, partitions in list(sts_backends.items()):
        for backend in list(partitions.values()):
            found = backend.get_assumed_role_from_access_key(access_key_id)
            if found is not None:
                return found
    return None


def _params(response: Any) -> dict[str, Any]:
    parsed = getattr(response, "params", None)
    if isinstance(parsed, Mapping) and parsed:
        return {**dict(getattr(response, "uri_match", None) or {}), **dict(parsed)}
    body = getattr(response, "body", None)
    if body:
        try:
            loaded = json.loads(body)
        except (TypeError, ValueError):
            loaded = None
        if isinstance(loaded, dict):
            return loaded
    query = getattr(response, "querystring", None) or {}
    flat = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in query.items()}
    return {**dict(getattr(response, "uri_match", None) or {}), **flat}


def _role_path(account: str, partition: str, name: str) -> str | None:
    from moto.iam.models import iam_backends

    try:
        return str(iam_backends[account][partition].get_role(name).path)
    except Exception:  # no such role: the request fails later with NoSuchEntity
        return None


def _kms_key_arn(account: str, region: str, key_id: str) -> str | None:
    from moto.kms.models import kms_backends

    try:
        return str(kms_backends[account][region].describe_key(key_id).arn)
    except Exception:  # unknown key: authorised as named, the call then fails NotFound
        return None


def resource_policy_of(arn: str, caller_account: str) -> dict[str, Any] | None:
    """The resource-based policy on ``arn`` (bucket, key, topic, queue, function), if any.
    S3 ARNs name no account: the bucket is looked up in the caller's account."""
    from moto.awslambda.models import lambda_backends
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    _, partition, service, region, account, rest = parts
    text: Any = None
    try:
        if service == "s3":
            bucket = s3_backends[account or caller_account][partition].buckets.get(
                rest.split("/", 1)[0]
            )
            text = bucket.policy if bucket is not None else None
        elif service == "kms":
            text = kms_backends[account][region].keys[rest.split("/", 1)[-1]].policy
        elif service == "sns":
            text = sns_backends[account][region].topics[arn].policy
        elif service == "sqs":
            queue = sqs_backends[account][region].queues.get(rest)
            text = queue.policy if queue is not None else None
        elif service == "lambda":
            text = lambda_backends[account][region].get_policy(rest.split(":")[1])
    except Exception:  # no such resource, or no policy: nothing to add
        return None
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode()
    loaded = json.loads(text) if isinstance(text, str) else text
    if isinstance(loaded, Mapping) and isinstance(loaded.get("Policy"), str):
        loaded = json.loads(loaded["Policy"])  # Lambda's GetPolicy answer wraps the document
    return dict(loaded) if isinstance(loaded, Mapping) and loaded.get("Statement") else None


def service_decision(
    service: str, action: str, resource: str, *, source_arn: str, source_account: str
) -> Decision:
    """May ``service`` do ``action`` on ``resource`` (its resource policy on the emulator), for
    the rule/alarm ``source_arn`` of ``source_account``? For delivery code (EventBridge targets,
    CloudWatch alarm actions) to call before it delivers."""
    policy = resource_policy_of(resource, source_account)
    context = {"aws:sourcearn": (source_arn,), "aws:sourceaccount": (source_account,)}
    return decide_for_service(service, action, resource, policy, context)


#: The KMS actions SNS performs with a topic's key when a message is published to it; a service
#: principal publishing (EventBridge, CloudWatch alarms) must be allowed both by the key policy.
#: SNS developer guide, "Enable compatibility between event sources from AWS services and
#: encrypted topics": https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
SNS_PUBLISH_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def topic_key_decision(service: str, topic_arn: str) -> tuple[Decision, str]:
    """May ``service`` publish to ``topic_arn`` as far as the topic's KMS key is concerned?

    SNS makes the KMS calls for the publisher. They carry no ``aws:SourceAccount`` or
    ``aws:SourceArn``: the guide's statement has no condition, and published guidance says a
    key policy conditioned on them drops EventBridge's deliveries; the strict reading is that
    the request context has neither (see terraform/notifications.tf). An unencrypted topic, or
    one whose key the emulator does not know, needs nothing here.
    """
    from moto.sns.models import sns_backends

    _, _, _, region, account, _ = topic_arn.split(":", 5)
    try:
        key_id = sns_backends[account][region].topics[topic_arn].kms_master_key_id
    except Exception:  # no such topic: the publish itself fails
        return Decision.ALLOW, ""
    key_arn = _kms_key_arn(account, region, str(key_id)) if key_id else None
    if key_arn is None:
        return Decision.ALLOW, ""
    policy = resource_policy_of(key_arn, account)
    for action in SNS_PUBLISH_KMS_ACTIONS:
        decision = decide_for_service(service, action, key_arn, policy, {})
        if decision is not Decision.ALLOW:
            reason = "an explicit deny in" if decision is Decision.EXPLICIT_DENY else "no"
            return decision, (
                f"{service} is not authorized to perform: {action} on resource: {key_arn} "
                f"because {reason} key policy allows it (KMS.AccessDeniedException)"
            )
    return Decision.ALLOW, ""


def service_delivery_decision(
    service: str, action: str, resource: str, *, source_arn: str, source_account: str
) -> tuple[Decision, str]:
    """``service_decision`` with AWS's denial wording, for delivery code to log."""
    decision = service_decision(
        service, action, resource, source_arn=source_arn, source_account=source_account
    )
    if decision is Decision.EXPLICIT_DENY:
        why = "with an explicit deny in a resource-based policy"
    else:
        why = f"because no resource-based policy allows the {action} action"
    return (
        decision,
        f"{service} is not authorized to perform: {action} on resource: {resource} {why}",
    )


def _identity_policies(session: Any) -> list[dict[str, Any]]:
    """The role's inline and attached policies, via moto's own ``AssumedRoleAccessKey``."""
    from moto.iam.access_control import IAMPolicy

    role_name = session.role_arn.split("/")[-1]
    from moto.iam.models import iam_backends

    backend = iam_backends[session.account_id][session.partition]
    try:
        backend.get_role(role_name)
    except Exception:  # the role was deleted (or never existed): its sessions have no rights
        return []
    policies: list[dict[str, Any]] = []
    for name in backend.list_role_policies(role_name):
        _, document = backend.get_role_policy(role_name, name)
        policies.append(json.loads(document) if isinstance(document, str) else document)
    attached, _ = backend.list_attached_role_policies(role_name)
    for policy in attached:
        policies.append(IAMPolicy(policy)._policy_json)
    return policies


def check(
    request: Request,
    identity: list[dict[str, Any]],
    service: str,
    protocol: str,
) -> None:
    """Raise the service's AccessDenied unless AWS's evaluation allows ``request``."""
    resource_policy = (
        resource_policy_of(request.resource, request.principal.account)
        if request.resource != "*"
        else None
    )
    is_key = request.action.startswith("kms:") and resource_policy is not None
    try:
        decision = decide(request, identity, resource_policy, key_policy=is_key)
    except UnsupportedCondition as error:
        # The strict reading of a condition we cannot evaluate: the request is denied, and the
        # message says which operator to model.
        raise access_denied(
            service,
            protocol,
            f"{denial_message(request, Decision.IMPLICIT_DENY, 'policy')}"
            f" (the emulator cannot evaluate it: {error})",
        ) from error
    if decision is Decision.ALLOW:
        return
    kind = "a resource-based policy" if resource_policy else "identity-based policy"
    if decision is Decision.EXPLICIT_DENY:
        kind = "a resource-based policy" if resource_policy else "an identity-based policy"
    raise access_denied(service, protocol, denial_message(request, decision, kind))


def _protocol(response: Any) -> str:
    from moto.core.responses import get_service_model

    try:
        return str(get_service_model(response.boto3_service_name).protocol)
    except Exception:  # a service botocore does not know: the query protocol's XML error
        return "query"


def _check_web_identity(response: Any) -> None:
    """AssumeRoleWithWebIdentity: the role exists, trusts the token's registered provider, and
    the token's claims meet its conditions; the audience is one of the provider's client IDs.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
    The token's signature is NOT verified: moto cannot fetch the issuer's keys offline.
    """
    from moto.iam.models import iam_backends

    params = _params(response)
    role_arn = str(params.get("RoleArn") or "")
    denied = access_denied(
        "sts", "query", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    )
    try:
        claims = jwt_claims(str(params.get("WebIdentityToken") or ""))
        _, partition, _, _, account, _ = role_arn.split(":", 5)
        backend = iam_backends[account][partition]
        role = backend.get_role_by_arn(role_arn)
    except Exception as error:
        raise denied from error
    host = urlparse(str(claims.get("iss", ""))).netloc
    provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{host}"
    provider = backend.open_id_providers.get(provider_arn)
    if provider is None:
        raise denied
    audiences = set(map(str, _as_list(claims.get("aud"))))
    if not audiences & set(provider.client_id_list):
        query_error, _ = _moto_errors()
        raise query_error("InvalidIdentityToken", "Incorrect token audience")
    expiry = claims.get("exp")
    if isinstance(expiry, (int, float)) and expiry < datetime.datetime.now().timestamp():
        query_error, _ = _moto_errors()
        raise query_error("ExpiredTokenException", "Token is expired")
    trust = json.loads(role.assume_role_policy_document)
    if not trust_allows_web_identity(trust, provider_arn, web_identity_context(claims)):
        raise denied


def authorize(response: Any, iam_request_cls: type, resource: str = "*") -> bool:
    """Authorise one request (the hook's body); ``False``: not an STS session, not ours."""
    from moto.utilities.utils import get_partition

    query = getattr(response, "querystring", None) or {}
    if response.service_name == "sts" and response._get_action() == "AssumeRoleWithWebIdentity":
        _check_web_identity(response)
        return True
    scope = _scope(response.headers, query)
    if scope is None or len(scope) < 4:
        return False  # unsigned: as before (AWS refuses those; no client here sends them)
    session = _session_of(scope[0])
    if session is None:
        return False
    token = response.headers.get("X-Amz-Security-Token") or query.get("X-Amz-Security-Token")
    if isinstance(token, list):
        token = token[0]
    query_error, _ = _moto_errors()
    if token != session.session_token:
        raise query_error(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    if session.expiration < datetime.datetime.now(session.expiration.tzinfo):
        raise query_error("ExpiredToken", "The security token included in the request is expired")
    region, signing_name = scope[2], scope[3]
    if signing_name == "s3":
        operation = str(response.data.get("Action") or "")
    else:
        operation = response._get_action()
    action = iam_action(signing_name, operation)
    if action == "sts:GetCallerIdentity":
        return True  # "No permissions are required to perform this operation."
    partition = get_partition(region)
    account = session.account_id
    params = _params(response)
    if signing_name == "s3":
        target = resource
    else:
        target = resource_arn(
            action,
            params,
            partition=partition,
            region=region,
            account=account,
            path=urlparse(getattr(response, "uri", "") or "").path,
            lookup=lambda kind, ident: (
                _role_path(account, partition, ident)
                if kind == "role"
                else _kms_key_arn(account, region, ident)
            ),
        )
    scheme = urlparse(getattr(response, "uri", "") or "").scheme
    principal = Principal(arn=session.arn, role_arn=session.role_arn, account=account)
    context = {
        # From the connection itself (the emulator's http listener is not TLS), except for the
        # emulator's own service calls (see _internal_keys).
        "aws:securetransport": (
            "true" if scheme == "https" or scope[0] in _internal_keys else "false",
        ),
        "aws:principalarn": (session.role_arn,),
        "aws:principalaccount": (account,),
        "aws:requestedregion": (region,),
        "aws:principaltype": ("AssumedRole",),
    }
    identity = _identity_policies(session)
    service, protocol = signing_name, _protocol(response)
    check(Request(action, target, principal, context), identity, service, protocol)
    if signing_name == "s3":
        kms_context = {
            **context,
            "kms:viaservice": (f"s3.{region}.amazonaws.com",),
            "kms:calleraccount": (account,),
        }
        for kms_action, key_id in s3_kms_calls(response, account, partition):
            key_arn = _kms_key_arn(account, region, key_id)
            if key_arn is not None:
                check(
                    Request(kms_action, key_arn, principal, kms_context), identity, "s3", protocol
                )
    passed = passed_roles(action, params)
    if passed is not None:
        to_service, roles = passed
        for role in roles:
            check(
                Request(
                    "iam:PassRole",
                    role,
                    principal,
                    {**context, "iam:passedtoservice": (to_service,)},
                ),
                identity,
                service,
                protocol,
            )
    return True


# S3 calls KMS as the caller for objects encrypted with SSE-KMS: "To upload an object encrypted
# with an AWS KMS key to Amazon S3, you need kms:GenerateDataKey permissions on the key. To
# download an object encrypted with an AWS KMS key, you need kms:Decrypt permissions", and a
# multipart upload needs both (S3 user guide, "Using server-side encryption with AWS KMS keys",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms,
# and "Multipart upload API and permissions"). The key policy and the caller's identity policies
# decide, as for any KMS call (``check`` treats ``kms:`` actions on a key as key-policy
# decisions), with ``kms:ViaService`` s3.<region>.amazonaws.com. Keys named by neither the
# request nor the bucket's default encryption (SSE-S3, or the AWS managed aws/s3 key, whose
# policy allows every principal of the account through S3) need nothing here. Stricter
# readings: UploadPart needs both actions like CreateMultipartUpload; a CopyObject's source
# needs kms:Decrypt; S3 Bucket Keys do not waive the checks.
S3_WRITE_KMS = ("kms:GenerateDataKey",)
S3_MULTIPART_KMS = ("kms:GenerateDataKey", "kms:Decrypt")
S3_READ_KMS = ("kms:Decrypt",)


def s3_write_key(
    headers: Mapping[str, str], bucket_encryption: Mapping[str, Any] | None
) -> str | None:
    """The KMS key a new object will be encrypted with: the request's SSE-KMS key, else the
    bucket's default customer managed key; ``None`` for SSE-S3 or the AWS managed key."""
    algorithm = headers.get("x-amz-server-side-encryption")
    default = dict(
        (bucket_encryption or {}).get("Rule", {}).get("ApplyServerSideEncryptionByDefault") or {}
    )
    if algorithm is not None:
        if not algorithm.startswith("aws:kms"):
            return None
        return headers.get("x-amz-server-side-encryption-aws-kms-key-id") or (
            default.get("KMSMasterKeyID")
            if str(default.get("SSEAlgorithm", "")).startswith("aws:kms")
            else None
        )
    if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
        return default.get("KMSMasterKeyID") or None
    return None


def s3_kms_actions(
    method: str, query: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[str, tuple[str, ...]]:
    """Which object an object request reads or writes through KMS ("write", "read", "source",
    "multipart" or "") and the KMS actions S3 performs for it as the caller."""
    sub_resources = {"acl", "tagging", "retention", "legal-hold", "attributes", "restore", "select"}
    if sub_resources & set(query):
        return "", ()
    if method == "PUT" and "uploadId" in query:
        return "multipart", S3_MULTIPART_KMS
    if method == "POST" and "uploads" in query:
        return "write-multipart", S3_MULTIPART_KMS
    if method == "PUT":
        return ("copy" if "x-amz-copy-source" in headers else "write"), S3_WRITE_KMS
    if method == "GET" and "uploadId" not in query:
        return "read", S3_READ_KMS
    return "", ()


def s3_kms_calls(response: Any, account: str, partition: str) -> list[tuple[str, str]]:
    """The (KMS action, key id) pairs S3 performs as the caller for this object request."""
    from moto.s3.models import s3_backends

    key_name = getattr(response, "_s3_key_name", None)
    bucket_name = getattr(response, "bucket_name", None)
    if not bucket_name:
        return []
    try:
        key_name = key_name or response.parse_key_name()
    except Exception:  # a bucket request: nothing encrypted with KMS is read or written
        return []
    if not key_name:
        return []
    headers = {k.lower(): v for k, v in dict(response.headers).items()}
    query = getattr(response, "querystring", None) or {}
    kind, actions = s3_kms_actions(response.method, query, headers)
    if not kind:
        return []
    backend = s3_backends[account][partition]
    bucket = backend.buckets.get(bucket_name)
    if bucket is None:
        return []
    calls: list[tuple[str, str]] = []

    def object_key(bucket_of: Any, name: str) -> str | None:
        found = bucket_of.keys.get(name) if bucket_of is not None else None
        if found is None or not str(found.encryption or "").startswith("aws:kms"):
            return None
        return str(found.kms_key_id) if found.kms_key_id else None

    if kind == "read":
        key_id = object_key(bucket, key_name)
    elif kind == "multipart":
        upload_id = (
            query["uploadId"][0] if isinstance(query["uploadId"], list) else query["uploadId"]
        )
        upload = bucket.multiparts.get(upload_id)
        key_id = str(upload.kms_key_id) if upload is not None and upload.kms_key_id else None
    else:
        key_id = s3_write_key(headers, bucket.encryption)
    if key_id:
        calls += [(action, key_id) for action in actions]
    if kind == "copy":
        source = unquote(headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
        source_bucket, _, source_key = source.partition("/")
        source_id = object_key(backend.buckets.get(source_bucket), source_key)
        if source_id:
            calls += [(action, source_id) for action in S3_READ_KMS]
    return calls


# Step Functions tasks run as the state machine's role. moto's interpreter builds every task's
# client with ``boto_client_for(region, service, state_credentials)`` and fixed keys "ak"/"sk"
# (the account's root here); on AWS, Step Functions assumes the execution role (or the task's
# ``Credentials.RoleArn``) and calls the service with that session, so its policy decides.
# https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html
#: role ARN -> (credentials, expiry in monotonic seconds)
_task_sessions: dict[str, tuple[dict[str, str], float]] = {}
#: Access keys of those sessions. Their requests come from the emulator's own interpreter over
#: its loopback (plain http); on AWS, Step Functions calls services over TLS, so for them
#: ``aws:SecureTransport`` is true. No caller outside the emulator ever sees these keys.
_internal_keys: set[str] = set()
TASK_SESSION_SECONDS = 3600


def trust_allows_service(
    trust_policy: Mapping[str, Any], service: str, context: Mapping[str, tuple[str, ...]]
) -> bool:
    """Whether a role's trust policy lets ``service`` (a service principal) assume it."""
    effects: set[str] = set()
    for statement in _statements(trust_policy):
        if not action_applies(statement, "sts:AssumeRole"):
            continue
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if principal != "*" and service not in services:
            continue
        if conditions_hold(statement, context):
            effects.add(str(statement.get("Effect")))
    return "Allow" in effects and "Deny" not in effects


def assumable_by(service: str, role_arn: str) -> bool:
    """The role exists and trusts ``service`` with ``aws:SourceAccount`` = its account (the
    state machine's ARN, ``aws:SourceArn``, is not known where the client is built)."""
    from moto.iam.models import iam_backends

    try:
        _, partition, _, _, account, _ = role_arn.split(":", 5)
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
        trust = json.loads(role.assume_role_policy_document)
        return trust_allows_service(trust, service, {"aws:sourceaccount": (account,)})
    except Exception:  # malformed ARN, no such role, unreadable trust policy
        return False


def task_credentials(
    root_client: Callable[[str, str], Any], region: str, role_arn: str
) -> dict[str, str]:
    """A session of ``role_arn`` for a task, assumed with the root client, reused for an hour."""
    import time

    cached = _task_sessions.get(role_arn)
    if (
        cached is not None
        and cached[1] > time.monotonic() + 60
        and _session_of(cached[0]["aws_access_key_id"]) is not None  # not lost in a reset
    ):
        return cached[0]
    creds = root_client(region, "sts").assume_role(
        RoleArn=role_arn, RoleSessionName="StepFunctions", DurationSeconds=TASK_SESSION_SECONDS
    )["Credentials"]
    session = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    _task_sessions[role_arn] = (session, time.monotonic() + TASK_SESSION_SECONDS)
    _internal_keys.add(session["aws_access_key_id"])
    return session


# Other services act as a role too: Lambda runs a function with its execution role's
# credentials ("Lambda assumes the execution role ... and passes the credentials to the
# function's runtime", https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html),
# with the function's name as the session name; EventBridge calls a target as the target's
# RoleArn (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
#: (service, role ARN, session name) -> (credentials, expiry in monotonic seconds)
_service_sessions: dict[tuple[str, str, str], tuple[dict[str, str], float]] = {}
#: AssumeRole's longest session: a warm function keeps the clients it made with them.
SERVICE_SESSION_SECONDS = 43200


def service_role_credentials(
    service: str, role_arn: str, session_name: str, region: str
) -> dict[str, str] | None:
    """Credentials of ``role_arn`` for ``service`` acting as it, from AssumeRole on the
    emulator's STS, reused while valid; ``None`` when the role does not exist or does not trust
    ``service`` (the caller keeps its known fallback, as Step Functions tasks do)."""
    import time

    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    if not assumable_by(service, role_arn):
        return None
    key = (service, role_arn, session_name)
    cached = _service_sessions.get(key)
    if (
        cached is not None
        and cached[1] > time.monotonic() + 300
        and _session_of(cached[0]["aws_access_key_id"]) is not None  # not lost in a reset
    ):
        return cached[0]
    account = role_arn.split(":")[4]
    assumed = sts_backends[account][get_partition(region)].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,  # type: ignore[arg-type]  # moto's own AssumeRole passes None when absent
        duration=SERVICE_SESSION_SECONDS,
        external_id=None,  # type: ignore[arg-type]
    )
    session = {
        "aws_access_key_id": assumed.access_key_id,
        "aws_secret_access_key": assumed.secret_access_key,
        "aws_session_token": assumed.session_token,
    }
    _service_sessions[key] = (session, time.monotonic() + SERVICE_SESSION_SECONDS)
    # The service calls AWS over TLS; here its calls reach the emulator over loopback.
    _internal_keys.add(session["aws_access_key_id"])
    return session


def role_decision(
    service: str,
    role_arn: str,
    action: str,
    resource: str,
    source: Mapping[str, tuple[str, ...]],
) -> tuple[Decision, str]:
    """May ``service``, acting as ``role_arn``, do ``action`` on ``resource``? The role must
    trust ``service`` (with the request's ``source`` condition keys, e.g. ``aws:SourceArn``),
    then its identity policies and the resource's policy decide. With AWS's denial message."""
    from types import SimpleNamespace

    parts = role_arn.split(":")
    account = parts[4] if len(parts) > 5 else ""
    partition = parts[1] if len(parts) > 5 else "aws"
    principal = Principal(
        arn=f"arn:{partition}:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{service}",
        role_arn=role_arn,
        account=account,
    )
    request = Request(action, resource, principal, {**source, "aws:securetransport": ("true",)})
    trusted = assumable_by(service, role_arn)
    if not trusted:
        return Decision.IMPLICIT_DENY, (
            f"{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
    session = SimpleNamespace(role_arn=role_arn, account_id=account, partition=partition)
    resource_policy = resource_policy_of(resource, account) if resource != "*" else None
    decision = decide(request, _identity_policies(session), resource_policy)
    kind = "a resource-based policy" if resource_policy else "identity-based policy"
    return decision, denial_message(request, decision, kind)


def _task_client_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        # A role Step Functions cannot assume (missing, or not trusting states.amazonaws.com)
        # keeps moto's root client: a known gap, since on AWS CreateStateMachine refuses such a
        # role; tests/helpers/stack.py still builds its state machine with one.
        if not role_arn or not assumable_by("states.amazonaws.com", role_arn):
            return original(region, service, state_credentials)
        client = original(region, service, state_credentials)
        creds = task_credentials(original, region, role_arn)
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            config=client.meta.config,
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
            aws_session_token=creds["aws_session_token"],
        )

    return boto_client_for


def install_task_credentials() -> None:
    """Replace ``boto_client_for`` in every interpreter module that imported it."""
    import importlib
    import pkgutil
    import sys

    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    replacement = _task_client_factory(original)
    package = importlib.import_module("moto.stepfunctions.parser.asl.component.state.exec")
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
    boto_client.boto_client_for = replacement  # type: ignore[assignment]
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and (
            getattr(module, "boto_client_for", None) is original
        ):
            module.boto_client_for = replacement  # type: ignore[attr-defined]


_installed = False


def install() -> None:
    """Wrap moto's authorization hook (safe to call more than once)."""
    global _installed
    if _installed:
        return
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def hook(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if not authorize(self, iam_request_cls, resource):
            original(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = hook  # type: ignore[method-assign]
    install_task_credentials()
    _installed = True


def reset() -> None:
    """Forget the task sessions (the next task assumes its role afresh)."""
    _task_sessions.clear()
    _service_sessions.clear()
    _internal_keys.clear()


__all__ = [
    "PASS_ROLE",
    "Decision",
    "Principal",
    "Request",
    "UnsupportedCondition",
    "action_applies",
    "authorize",
    "check",
    "condition_holds",
    "decide",
    "decide_for_service",
    "denial_message",
    "iam_action",
    "install",
    "jwt_claims",
    "passed_roles",
    "reset",
    "resource_arn",
    "role_decision",
    "service_decision",
    "service_delivery_decision",
    "service_role_credentials",
    "topic_key_decision",
    "trust_allows_web_identity",
    "web_identity_context",
]
