"""Deployments: the endpoint's history (the records the deployment machine writes), and the
requests ops sends the deployments queue (``make approve`` of an Approved package, ``make
rollback``), whose execution names are known before the trigger starts them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from contracts import deployment as requests
from contracts import s3_layout
from ops import executions
from ops.aws import read_json

DEPLOYED = "deployed"


@dataclass
class DeploymentRecord:
    """One deployment attempt, as ``deployments/<endpoint>/<start>-<execution>.json`` holds it."""

    started: str
    ended: str
    execution: str
    model_package_arn: str
    model_package_version: str
    outcome: str
    detail: str
    endpoint_config: str
    previous_config: str
    reason: str
    requested_by: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> DeploymentRecord | None:
        """A record, or None for one without the package, the outcome or the start."""
        if not all(data.get(k) for k in ("model_package_arn", "outcome", "started")):
            return None
        return cls(**{name: str(data.get(name) or "") for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def history(s3: Any, bucket: str, endpoint_name: str) -> list[DeploymentRecord]:
    """The endpoint's deployment attempts, newest first (unreadable records are skipped)."""
    prefix = s3_layout.deployment_records_prefix(endpoint_name)
    keys: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**kwargs)
        keys.extend(item["Key"] for item in page.get("Contents", []))
        if not page.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    records = []
    for key in keys:
        data = read_json(s3, s3_layout.s3_uri(bucket, key))
        record = DeploymentRecord.parse(data) if data else None
        if record is not None:
            records.append(record)
    return sorted(records, key=lambda r: (r.started, r.ended), reverse=True)


def previous_target(
    records: Iterable[DeploymentRecord], serving: str | None
) -> DeploymentRecord | None:
    """The newest successful deployment of a package other than the one serving now."""
    for record in records:
        if record.outcome == DEPLOYED and record.model_package_arn != serving:
            return record
    return None


@dataclass(frozen=True)
class Sent:
    """A deployment request on the queue, and the execution it will start."""

    request: requests.Request
    execution_name: str
    execution_arn: str


def send_request(
    sqs: Any,
    outputs: Mapping[str, Any],
    package: Mapping[str, Any],
    reason: str,
    requested_by: str,
) -> Sent:
    """A ``manual`` or ``rollback`` request for ``package`` (a DescribeModelPackage answer) on the
    deployments queue, in the endpoint's message group: the trigger starts it after the
    deployments ahead of it, under the name ``contracts.deployment.execution_name`` gives."""
    request = requests.Request(
        model_package_arn=str(package["ModelPackageArn"]),
        reason=reason,
        requested_by=requested_by,
        request_id=str(uuid.uuid4()),
    )
    body = requests.request_message(request)
    sqs.send_message(
        QueueUrl=str(outputs["deployments_queue_url"]),
        MessageBody=body,
        MessageGroupId=str(outputs["endpoint_name"]),
        MessageDeduplicationId=request.request_id,
    )
    name = requests.execution_name(request, package)
    machine = str(outputs["deployment_state_machine_arn"])
    return Sent(request, name, executions.execution_arn(machine, name))


def approval_execution(outputs: Mapping[str, Any], package: Mapping[str, Any]) -> tuple[str, str]:
    """The (name, ARN) of the deployment a package's approval starts (the registry event's)."""
    request = requests.Request(str(package["ModelPackageArn"]), requests.APPROVAL, "Model Registry")
    name = requests.execution_name(request, package)
    return name, executions.execution_arn(str(outputs["deployment_state_machine_arn"]), name)
