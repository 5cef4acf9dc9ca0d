"""The endpoint and what it serves: its status, and the dataset contract of the package behind it
(endpoint -> config -> model -> model package -> the evaluation report its ModelMetrics names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from contracts import evaluation
from ops import packages
from ops.aws import is_not_found, read_json, statistics_uri
from ops.errors import NotFoundError, OperationError


def missing_endpoint(endpoint_name: str) -> NotFoundError:
    return NotFoundError(
        f"endpoint {endpoint_name} does not exist: deploy a model (make approve, or "
        "make start DEPLOY=1) first"
    )


def endpoint_status(sagemaker: Any, endpoint_name: str) -> str | None:
    try:
        return str(sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"])
    except ClientError as err:
        if is_not_found(err):
            return None
        raise


@dataclass(frozen=True)
class ServingContract:
    """What the endpoint's model was trained on: the dataset contract as the serving package's
    evaluation report carries it, and the report's smoke rows (test rows, no header)."""

    package_arn: str
    evaluation_uri: str
    label_column: str
    feature_columns: list[str]
    class_names: list[str]
    smoke_rows: list[str]

    @property
    def default_row(self) -> str:
        if not self.smoke_rows:
            raise NotFoundError(
                f"the evaluation report {self.evaluation_uri} has no smoke_test rows to "
                "predict by default: pass ROW (make predict ROW=...)"
            )
        return self.smoke_rows[0]


def contract_of(report: Mapping[str, Any], package_arn: str, uri: str) -> ServingContract:
    """The contract in an evaluation report, checked: a clear message beats a wrong label."""
    try:
        contract = evaluation.contract_of(report)
        names, features = evaluation.class_names(report), evaluation.feature_columns(report)
    except evaluation.ReportError:
        raise OperationError(
            f"the evaluation report {uri} of model package {package_arn} has no "
            "dataset_contract with class_names and feature_columns: retrain with the current "
            "pipeline"
        ) from None
    try:
        body = evaluation.read_smoke_test(report).body
    except evaluation.ReportError:
        body = ""
    return ServingContract(
        package_arn=package_arn,
        evaluation_uri=uri,
        label_column=str(contract.get("label_column", "?")),
        feature_columns=list(features),
        class_names=list(names),
        smoke_rows=[line.strip() for line in body.splitlines() if line.strip()],
    )


def serving_package(sagemaker: Any, endpoint_name: str) -> str:
    """The package the endpoint serves; NotFoundError without an endpoint, OperationError when
    its model was not created from a package."""
    if endpoint_status(sagemaker, endpoint_name) is None:
        raise missing_endpoint(endpoint_name)
    arn = packages.serving(sagemaker, endpoint_name)
    if arn is None:
        raise OperationError(
            f"endpoint {endpoint_name} serves a model that was not created from a model "
            "package: its dataset contract is unknown"
        )
    return arn


def serving_contract(sagemaker: Any, s3: Any, endpoint_name: str) -> ServingContract:
    """The dataset contract of the package the endpoint serves (one home: the report the
    package's ModelMetrics names; ops keeps no column or class names of its own)."""
    arn = serving_package(sagemaker, endpoint_name)
    uri = statistics_uri(sagemaker.describe_model_package(ModelPackageName=arn))
    if not uri:
        raise OperationError(f"model package {arn} names no evaluation report (ModelMetrics)")
    report = read_json(s3, uri)
    if report is None:
        raise OperationError(f"the evaluation report {uri} of model package {arn} is missing")
    return contract_of(report, arn, uri)
