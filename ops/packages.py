"""Model packages as the commands show them: metrics, the endpoint's API, approval, and which
package the endpoint serves. The evaluation report is read only through ``contracts.evaluation``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from contracts import evaluation
from ops.aws import is_not_found, number, read_json, statistics_uri
from ops.errors import NotFoundError

APPROVED = "Approved"
PENDING = "PendingManualApproval"
REJECTED = "Rejected"


@dataclass
class Package:
    arn: str
    version: int | None
    approval: str
    status: str
    created: dt.datetime | None
    accuracy: float | None = None
    f1: float | None = None
    api_fingerprint: str | None = None
    label_column: str | None = None
    problem_type: str | None = None
    execution: str | None = None
    evaluation_uri: str | None = None
    approval_description: str = ""
    report: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "version": self.version,
            "approval": self.approval,
            "status": self.status,
            "created": self.created.isoformat() if self.created else None,
            "accuracy": self.accuracy,
            "f1": self.f1,
            "api_fingerprint": self.api_fingerprint,
            "label_column": self.label_column,
            "problem_type": self.problem_type,
            "execution": self.execution,
            "evaluation_uri": self.evaluation_uri,
            "approval_description": self.approval_description,
        }


def summaries(sagemaker: Any, group: str) -> list[dict[str, Any]]:
    """The group's package summaries, newest first by CreationTime."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    try:
        while True:
            page = sagemaker.list_model_packages(**kwargs)
            found.extend(page["ModelPackageSummaryList"])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    except ClientError as err:
        if is_not_found(err):
            raise NotFoundError(
                f"model package group {group} does not exist: run `make deploy` first"
            ) from err
        raise
    return sorted(found, key=lambda s: s["CreationTime"], reverse=True)


def _from_report(package: Package, report: Mapping[str, Any] | None) -> None:
    if report is None:
        return
    package.report = dict(report)
    try:
        package.f1 = evaluation.f1(report)
        if package.accuracy is None:
            package.accuracy = evaluation.accuracy(report)
        if package.problem_type is None:
            package.problem_type = evaluation.metrics_block(report)[0]
    except evaluation.ReportError:
        pass
    if package.api_fingerprint is None:
        try:
            contract = evaluation.contract_of(report)
        except evaluation.ReportError:
            return
        package.api_fingerprint = evaluation.api_fingerprint(
            [str(f) for f in contract.get("feature_columns", [])],
            [str(c) for c in contract.get("class_names", [])],
        )


def describe(sagemaker: Any, s3: Any, arn: str) -> Package:
    """One package with its metrics: the metadata the training machine registered, and F1 (and
    anything the metadata lacks) from the evaluation report its ModelMetrics names."""
    try:
        described = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as err:
        if is_not_found(err):
            raise NotFoundError(f"model package {arn} does not exist") from err
        raise
    metadata = described.get("CustomerMetadataProperties") or {}
    uri = statistics_uri(described)
    package = Package(
        arn=str(described.get("ModelPackageArn", arn)),
        version=described.get("ModelPackageVersion"),
        approval=str(described.get("ModelApprovalStatus", "?")),
        status=str(described.get("ModelPackageStatus", "?")),
        created=described.get("CreationTime"),
        accuracy=number(metadata.get("accuracy")),
        api_fingerprint=metadata.get("api_fingerprint"),
        label_column=metadata.get("label_column"),
        problem_type=metadata.get("problem_type"),
        execution=metadata.get("sfn_execution"),
        evaluation_uri=uri,
        approval_description=str(described.get("ApprovalDescription") or ""),
    )
    _from_report(package, read_json(s3, uri) if uri else None)
    return package


def latest_pending(sagemaker: Any, group: str) -> str:
    """The newest package waiting for approval (never a Rejected or Approved one)."""
    for summary in summaries(sagemaker, group):
        if summary.get("ModelApprovalStatus") == PENDING:
            return str(summary["ModelPackageArn"])
    raise NotFoundError(
        f"no package of {group} waits for approval (PendingManualApproval): name one with "
        "PACKAGE=<arn> (make models lists them)"
    )


def latest(sagemaker: Any, group: str) -> str:
    """The newest package of the group, whatever its status."""
    found = summaries(sagemaker, group)
    if not found:
        raise NotFoundError(f"model package group {group} has no packages yet: run make train")
    return str(found[0]["ModelPackageArn"])


def serving(sagemaker: Any, endpoint_name: str) -> str | None:
    """The package the endpoint serves now (``None``: no endpoint, or not from a package)."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=endpoint["EndpointConfigName"]
        )
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    except ClientError as err:
        if is_not_found(err):
            return None
        raise
    containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
    name = next((c["ModelPackageName"] for c in containers if c.get("ModelPackageName")), None)
    return str(name) if name else None
