"""What IAM decisions read from moto's backends: sessions, roles, keys and resource policies.

The only place the evaluator's inputs are looked up in moto's state; each function answers
``None`` (or nothing) for a resource that does not exist, so the request is decided as AWS
would decide it for a missing resource, and fails later with the service's own error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def session_of(access_key_id: str) -> Any:
    """The moto STS session (``AssumedRole``) holding this access key, in any account."""
    from moto.sts.models import sts_backends

    for _account, partitions in list(sts_backends.items()):
        for backend in list(partitions.values()):
            found = backend.get_assumed_role_from_access_key(access_key_id)
            if found is not None:
                return found
    return None


def role_path(account: str, partition: str, name: str) -> str | None:
    from moto.iam.models import iam_backends

    try:
        return str(iam_backends[account][partition].get_role(name).path)
    except Exception:  # no such role: the request fails later with NoSuchEntity
        return None


def kms_key_arn(account: str, region: str, key_id: str) -> str | None:
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


def identity_policies(session: Any) -> list[dict[str, Any]]:
    """The role's inline and attached policies, via moto's own ``AssumedRoleAccessKey``."""
    from moto.iam.access_control import IAMPolicy
    from moto.iam.models import iam_backends

    role_name = session.role_arn.split("/")[-1]
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
