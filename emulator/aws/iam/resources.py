"""Which IAM action and which resource a request is authorised for, from the request alone.

Pure: the request's operation, parameters and path go in (plus a ``lookup`` for the two facts
only a backend knows: a role's path, a KMS key's ARN); the IAM action and the resource's ARN
come out. One resolver per service (``RESOURCE_RESOLVERS``), each written from the service
authorization reference's resource types for that service
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
A resource a resolver cannot name is ``*``, literally: an Allow scoped to specific ARNs then does
not match (the stricter reading). A request naming several resources is authorised against the
first one only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from emulator.aws.iam.policy import as_list

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


#: ``lookup(kind, identifier)``: a backend fact the request does not carry (``"role"``: the
#: role's path; ``"kms-key"``: the key's ARN), ``None`` when unknown.
Lookup = Callable[[str, str], "str | None"]


def _no_lookup(kind: str, ident: str) -> str | None:
    return None


@dataclass(frozen=True)
class Target:
    """One request as a resolver sees it: where it is made, and its parameters."""

    service: str
    operation: str
    #: The request's parameters, names lower-cased (the protocols spell them differently).
    params: Mapping[str, Any]
    partition: str
    region: str
    account: str
    path: str = ""
    lookup: Lookup = _no_lookup

    @property
    def base(self) -> str:
        """``arn:<partition>:<service>:<region>:<account>``, the prefix of regional ARNs."""
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}"

    def get(self, name: str) -> Any:
        return self.params.get(name.lower())

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return value if isinstance(value, str) else None

    def arn_param(self, *names: str) -> str | None:
        """The first of ``names`` whose value is an ARN."""
        for name in names:
            value = self.text(name)
            if value is not None and value.startswith("arn:"):
                return value
        return None


def _name_of(value: str, marker: str) -> str:
    """The name in ``value``, which may be a name or an ARN ending in ``<marker><name>``."""
    return value.rsplit(marker, 1)[-1] if value.startswith("arn:") else value


def _iam(t: Target) -> str | None:
    iam = f"arn:{t.partition}:iam::{t.account}"
    role = t.get("RoleName")
    if role is not None:
        path = t.get("Path") if t.operation == "CreateRole" else t.lookup("role", role)
        return f"{iam}:role{path or '/'}{role}"
    for name in ("PolicyArn", "OpenIDConnectProviderArn"):
        if t.get(name) is not None:
            return str(t.get(name))
    if t.operation == "CreatePolicy" and t.get("PolicyName") is not None:
        return f"{iam}:policy{t.get('Path') or '/'}{t.get('PolicyName')}"
    if t.operation == "CreateOpenIDConnectProvider" and t.get("Url") is not None:
        url = str(t.get("Url"))
        return f"{iam}:oidc-provider/{urlparse(url).netloc or url}"
    return None


def _sts(t: Target) -> str | None:
    return t.arn_param("RoleArn")


def _kms(t: Target) -> str | None:
    key_id = t.text("KeyId") or t.text("TargetKeyId")
    if key_id is not None:
        return t.lookup("kms-key", key_id) or (
            key_id if key_id.startswith("arn:") else f"{t.base}:key/{key_id}"
        )
    alias = t.get("AliasName")
    return f"{t.base}:{alias}" if alias is not None else None


def _sns(t: Target) -> str | None:
    if t.operation == "CreateTopic" and t.get("Name") is not None:
        return f"{t.base}:{t.get('Name')}"
    return t.arn_param("TopicArn", "TargetArn", "ResourceArn", "SubscriptionArn")


def _sqs(t: Target) -> str | None:
    url = t.text("QueueUrl")
    if url is not None:
        return f"{t.base}:{url.rstrip('/').rsplit('/', 1)[-1]}"
    name = t.get("QueueName")
    return f"{t.base}:{name}" if name is not None else None


def _lambda(t: Target) -> str | None:
    match = re.search(r"/functions/([^/?]+)", t.path)
    name = unquote(match.group(1)) if match else t.text("FunctionName")
    if name is None:
        return None
    return f"{t.base}:function:{_name_of(name, ':function:').split(':')[0]}"


def _states(t: Target) -> str | None:
    found = t.arn_param("stateMachineArn", "executionArn", "resourceArn", "activityArn")
    if found is None and t.operation == "CreateStateMachine" and t.get("name") is not None:
        return f"{t.base}:stateMachine:{t.get('name')}"
    return found


def _events(t: Target) -> str | None:
    found = t.arn_param("Arn", "ResourceARN")
    if found is not None:
        return found
    rule = t.text("Rule") or (t.text("Name") if "Rule" in t.operation else None)
    if rule is not None:
        bus = t.text("EventBusName")
        prefix = f"rule/{bus}/" if bus is not None and bus != "default" else "rule/"
        return f"{t.base}:{prefix}{rule}"
    return f"{t.base}:event-bus/default" if t.operation == "PutEvents" else None


def _logs(t: Target) -> str | None:
    group = t.text("LogGroupName")
    return f"{t.base}:log-group:{group}" if group is not None else None


def _cloudwatch(t: Target) -> str | None:
    names = t.get("AlarmNames") or t.get("AlarmName")
    name = as_list(names)[0] if names else None
    return f"{t.base}:alarm:{name}" if name else None


#: SageMaker's name parameters and the resource type each names. CreateEndpoint and
#: UpdateEndpoint name both an endpoint and its config: they act on the endpoint, listed first.
SAGEMAKER_NAMES = (
    ("PipelineName", "pipeline"),
    ("ModelPackageGroupName", "model-package-group"),
    ("EndpointName", "endpoint"),
    ("EndpointConfigName", "endpoint-config"),
    ("ModelName", "model"),
    ("TrainingJobName", "training-job"),
    ("ProcessingJobName", "processing-job"),
    ("HyperParameterTuningJobName", "hyper-parameter-tuning-job"),
)


def _sagemaker(t: Target) -> str | None:
    found = t.arn_param(
        "PipelineExecutionArn", "ModelPackageName", "ModelPackageArn", "ResourceArn"
    )
    if found is not None:
        return found
    for param, kind in SAGEMAKER_NAMES:
        name = t.text(param)
        if name is not None:
            # SageMaker resource names are case-insensitive and their ARNs lower-case.
            return f"{t.base}:{kind}/{_name_of(name, f'{kind}/').lower()}"
    return None


#: One resolver per service: the resource a request is authorised against, ``None`` when the
#: request does not name one (then ``*``). S3 is not here: moto's S3 handlers name the resource
#: themselves when they call the authorization hook.
RESOURCE_RESOLVERS: Mapping[str, Callable[[Target], str | None]] = {
    "iam": _iam,
    "sts": _sts,
    "kms": _kms,
    "sns": _sns,
    "sqs": _sqs,
    "lambda": _lambda,
    "states": _states,
    "events": _events,
    "logs": _logs,
    "cloudwatch": _cloudwatch,
    "sagemaker": _sagemaker,
}


def resource_arn(
    action: str,
    params: Mapping[str, Any],
    *,
    partition: str,
    region: str,
    account: str,
    path: str = "",
    lookup: Lookup = _no_lookup,
) -> str:
    """The ARN ``action`` is authorised against, from the request; ``*`` when not derivable."""
    service, operation = action.split(":", 1)
    resolver = RESOURCE_RESOLVERS.get(service)
    if resolver is None:
        return "*"
    lowered = {k.lower(): v for k, v in params.items()}
    target = Target(service, operation, lowered, partition, region, account, path, lookup)
    return resolver(target) or "*"


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


#: Service-specific condition keys a request carries, from its parameters (the service
#: authorization reference's "Condition keys" column for the action): action -> key -> member.
#: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
#: (PutMetricData: cloudwatch:namespace, "Filters actions based on the presence of optional
#: namespace values").
REQUEST_CONDITION_KEYS: dict[str, dict[str, str]] = {
    "cloudwatch:PutMetricData": {"cloudwatch:namespace": "Namespace"},
}


def request_condition_keys(action: str, params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The service-specific condition keys of this request, lower-cased as the evaluator reads
    them; a key whose member is absent is left out (a condition on it is then false)."""
    keys = REQUEST_CONDITION_KEYS.get(action, {})
    return {
        key.lower(): (str(params[member]),)
        for key, member in keys.items()
        if params.get(member) is not None
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
                for item in as_list(params.get(list_name))
                if isinstance(item, Mapping) and item.get(member)
            ]
        elif params.get(path):
            roles.append(str(params[path]))
    return service, roles
