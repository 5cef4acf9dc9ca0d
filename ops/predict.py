"""``make predict [ROW=...]``: one CSV row to the endpoint, each class's probability by name."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import is_not_found, number
from ops.errors import ConfigError, OperationError
from ops.serving import ServingContract, endpoint_status, missing_endpoint, serving_contract
from ops.session import Command, Context, Result


def parse_row(text: str, features: Sequence[str]) -> str:
    """Validate one CSV row of the contract's features; returns the body to send (text/csv)."""
    values = [v.strip() for v in text.strip().split(",")]
    if len(values) != len(features):
        shown = ",".join(features)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."
        raise ConfigError(
            f"ROW needs {len(features)} comma-separated numbers ({shown}), "
            f"got {len(values)}: {text!r}"
        )
    for name, value in zip(features, values, strict=True):
        if number(value) is None:
            raise ConfigError(f"ROW {name} must be a number, got {value!r}")
    return ",".join(values)


def parse_probabilities(body: bytes | str, num_classes: int) -> list[list[float]]:
    """The endpoint's answer as rows of class probabilities (JSON ``[[...]]`` or ``[...]``,
    or CSV lines, which the XGBoost container returns for ``Accept: text/csv``)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        data = [line.split(",") for line in text.strip().splitlines() if line.strip()]
    if isinstance(data, dict) and "predictions" in data:
        data = data["predictions"]
    if isinstance(data, list) and data and not isinstance(data[0], list):
        data = [data]
    rows: list[list[float]] = []
    for row in data if isinstance(data, list) else []:
        numbers = [number(v) for v in row] if isinstance(row, list) else []
        if len(numbers) != num_classes or any(n is None for n in numbers):
            rows = []
            break
        rows.append([n for n in numbers if n is not None])
    if rows:
        return rows
    raise OperationError(
        f"the endpoint did not answer with {num_classes} class probabilities per row: "
        f"{text[:200]!r}"
    )


@dataclass
class Prediction:
    probabilities: list[float]
    class_names: list[str]

    @property
    def label(self) -> str:
        best = max(range(len(self.probabilities)), key=self.probabilities.__getitem__)
        return self.class_names[best]

    def line(self) -> str:
        """Each class name of the contract with its probability, then the label."""
        pairs = zip(self.class_names, self.probabilities, strict=True)
        return "  ".join(f"{name}={p:.4f}" for name, p in pairs) + f"  -> {self.label}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probabilities": dict(zip(self.class_names, self.probabilities, strict=True)),
        }


def invoke(runtime: Any, endpoint_name: str, body: str) -> bytes:
    try:
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            ContentType="text/csv",
            Accept="application/json",
            Body=body.encode("utf-8"),
        )
    except ClientError as err:
        if is_not_found(err):
            raise missing_endpoint(endpoint_name) from err
        raise
    return bytes(answer["Body"].read())


def predict(
    sagemaker: Any, runtime: Any, endpoint_name: str, body: str, class_names: Sequence[str]
) -> list[Prediction]:
    """Invoke the endpoint (checked first: a clear message beats an opaque invoke error)."""
    status = endpoint_status(sagemaker, endpoint_name)
    if status is None:
        raise missing_endpoint(endpoint_name)
    if status != "InService":
        raise OperationError(f"endpoint {endpoint_name} is {status}, not InService: try later")
    rows = parse_probabilities(invoke(runtime, endpoint_name, body), len(class_names))
    return [Prediction(row, list(class_names)) for row in rows]


def run(ctx: Context) -> Result:
    endpoint = ctx.output("endpoint_name")
    contract: ServingContract = serving_contract(ctx.clients.sagemaker, ctx.clients.s3, endpoint)
    row = ctx.args.row if ctx.args.row is not None else contract.default_row
    body = parse_row(row, contract.feature_columns)
    found = predict(
        ctx.clients.sagemaker, ctx.clients.runtime, endpoint, body, contract.class_names
    )
    data = {
        "endpoint": endpoint,
        "model_package_arn": contract.package_arn,
        "label_column": contract.label_column,
        "row": body,
        "predictions": [p.as_dict() for p in found],
    }
    lines = [f"endpoint {endpoint}, label {contract.label_column}, row {body}"]
    lines += [prediction.line() for prediction in found]
    text = "\n".join(lines)
    return Result(data, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--row",
        default=None,
        help="comma-separated feature values in the order of the served model's contract "
        "(default: the first smoke_test row of its evaluation report)",
    )


COMMAND = Command(
    "predict",
    "send one CSV row to the endpoint; print each class's probability",
    run,
    add_arguments,
)
