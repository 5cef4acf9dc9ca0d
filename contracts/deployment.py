"""Deployment requests: what starts the deployment machine, and the governance rules it applies.

Only an approval starts a deployment: a manual approval, an automatic one (a package registered
Approved), ``make approve`` of an already Approved package, or ``make rollback``. Each becomes one
request on the deployments queue (SQS FIFO, one message group per endpoint), so deployments of
an endpoint run one at a time, in order. Its execution name derives from the approval itself
(package and the time of its last approval), so the same approval delivered twice deploys once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Why a request exists.
APPROVAL = "approval"  # a Model Registry approval event (manual or at registration)
MANUAL = "manual"  # make approve of a package that is already Approved
ROLLBACK = "rollback"  # make rollback: the previously serving approved package
REASONS = (APPROVAL, MANUAL, ROLLBACK)
#: An approval whose description starts with this accepts a change of the endpoint's API (the
#: features, their order, or the classes differ from the serving model's).
API_CHANGE_ACCEPTED = "API change accepted:"
#: The source and detail type of requests the project sends itself (ops, monitoring).
REQUEST_SOURCE = "mlops.project"
DEPLOYMENT_REQUEST = "Deployment Request"
TRAINING_REQUEST = "Training Request"
#: Step Functions execution names: 1 to 80 characters; this alphabet also stays valid in log
#: stream names and ARNs without escaping.
EXECUTION_NAME_MAX = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class RequestError(ValueError):
    """A message that is not a deployment request."""


@dataclass(frozen=True)
class Request:
    model_package_arn: str
    reason: str
    requested_by: str = ""
    #: For a rollback or a manual request: a unique id, so a repeated command deploys again.
    request_id: str = ""

    def as_input(self) -> dict[str, Any]:
        return {
            "model_package_arn": self.model_package_arn,
            "reason": self.reason,
            "requested_by": self.requested_by,
            "request_id": self.request_id,
        }


def request_message(request: Request) -> str:
    """The body ops sends to the deployments queue."""
    return json.dumps(
        {"source": REQUEST_SOURCE, "detail-type": DEPLOYMENT_REQUEST, "detail": request.as_input()},
        sort_keys=True,
    )


def parse_message(body: Mapping[str, Any]) -> Request:
    """A Model Registry approval event, or a request the project sent."""
    detail = body.get("detail")
    if not isinstance(detail, Mapping):
        raise RequestError("no detail object")
    if body.get("source") == "aws.sagemaker":
        arn = detail.get("ModelPackageArn")
        if detail.get("ModelApprovalStatus") != "Approved":
            raise RequestError(f"not an approval: status {detail.get('ModelApprovalStatus')!r}")
        if not isinstance(arn, str) or not arn:
            raise RequestError("approval event without ModelPackageArn")
        return Request(model_package_arn=arn, reason=APPROVAL, requested_by="Model Registry")
    if body.get("source") == REQUEST_SOURCE and body.get("detail-type") == DEPLOYMENT_REQUEST:
        reason = detail.get("reason")
        arn = detail.get("model_package_arn")
        if reason not in (MANUAL, ROLLBACK) or not isinstance(arn, str) or not arn:
            raise RequestError(
                f"a deployment request needs model_package_arn and a reason of "
                f"{MANUAL} or {ROLLBACK}; got {dict(detail)!r}"
            )
        return Request(
            model_package_arn=arn,
            reason=str(reason),
            requested_by=str(detail.get("requested_by", "")),
            request_id=str(detail.get("request_id", "")),
        )
    raise RequestError(f"unknown message source {body.get('source')!r}")


def approval_time(package: Mapping[str, Any]) -> str:
    """When the package's current approval status was set: its last modification, or its
    creation when it was registered Approved and never modified."""
    when = package.get("LastModifiedTime") or package.get("CreationTime")
    return when.isoformat() if isinstance(when, datetime) else str(when)


def approved_at_registration(package: Mapping[str, Any]) -> bool:
    """Registered Approved and never modified since: the approval is the registering run's.

    DescribeModelPackage's LastModifiedTime is absent before any update (moto leaves it unset)
    or, read strictly, may equal CreationTime: both mean unmodified.
    """
    modified = package.get("LastModifiedTime")
    return modified is None or modified == package.get("CreationTime")


def execution_name(request: Request, package: Mapping[str, Any]) -> str:
    """Deterministic per approval: ``deploy-v<version>-<hash>``; a rollback or manual request
    hashes its own id instead, so repeating the command deploys again."""
    version = package.get("ModelPackageVersion", "x")
    if request.reason == APPROVAL:
        identity = [request.model_package_arn, approval_time(package)]
        kind = "deploy"
    else:
        identity = [request.model_package_arn, request.reason, request.request_id]
        kind = request.reason
    digest = hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()[:16]
    name = _UNSAFE.sub("-", f"{kind}-v{version}-{digest}")
    return name[:EXECUTION_NAME_MAX]


def metadata_flag(package: Mapping[str, Any], key: str) -> bool | None:
    value = (package.get("CustomerMetadataProperties") or {}).get(key)
    if value is None:
        return None
    return str(value).lower() == "true"


def api_change_accepted(package: Mapping[str, Any]) -> bool:
    return str(package.get("ApprovalDescription") or "").startswith(API_CHANGE_ACCEPTED)


#: The models and endpoint configs a deployment creates are named ``<prefix>-v<version>-<8 hex>``
#: (the prefix is Terraform's project name; SageMaker names are at most 63 characters), so the
#: ones this project's deployments created can be told from anything else in the account.
RESOURCE_NAME_MAX = 63
_RESOURCE_TAIL = re.compile(r"-v[0-9A-Za-z]+-[0-9a-f]{8}\Z")


def created_by_deployments(prefix: str, name: str) -> bool:
    """Whether ``name`` is a model or endpoint config a deployment of ``prefix`` created."""
    tail = _RESOURCE_TAIL.search(name)
    if tail is None or len(name) > RESOURCE_NAME_MAX:
        return False
    stem = name[: tail.start()]
    return stem == prefix[: RESOURCE_NAME_MAX - (len(name) - tail.start())].rstrip("-")
