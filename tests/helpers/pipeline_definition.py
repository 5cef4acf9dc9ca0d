"""The committed pipeline definition rendered for tests, as Terraform renders it, and the
SageMaker execution role's policy read from terraform/iam.tf.

One home for the template values the executor's tests use (unit and integration).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from devtools.generated import render
from ml.pipeline import DEFINITION_PATH, bundle_sources, code_bundles

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "executor-test-bucket"
ROLE_NAME = "sagemaker-execution"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
VALUES = {
    "bucket": BUCKET,
    "sagemaker_role_arn": ROLE_ARN,
    "sklearn_image_uri": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1",
    "xgboost_image_uri": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1",
    "prepare_code_uri": f"s3://{BUCKET}/code/prepare/",
    "evaluate_code_uri": f"s3://{BUCKET}/code/evaluate/",
    "train_source_uri": f"s3://{BUCKET}/code/sourcedir.tar.gz",
    "default_data_uri": f"s3://{BUCKET}/data/raw/iris.csv",
}


def rendered_text() -> str:
    return render(DEFINITION_PATH.read_text(encoding="utf-8"), VALUES)


def rendered_definition() -> dict[str, Any]:
    return dict(json.loads(rendered_text()))


def stage_code_bundles(s3: Any, bucket: str = BUCKET) -> None:
    """Upload each processing script's bundle under its VALUES prefix, as Terraform stages it."""
    for name in code_bundles():
        uri = VALUES.get(f"{name}_code_uri")
        if uri is None:
            continue  # a bundle the pipeline does not run (the monitor's)
        prefix = uri.removeprefix(f"s3://{bucket}/")
        for entry, source in bundle_sources(name).items():
            s3.put_object(Bucket=bucket, Key=prefix + entry, Body=source.read_bytes())


# ---- the SageMaker execution role, as terraform/iam.tf writes it --------------------------

TERRAFORM_IAM = ROOT / "terraform" / "iam.tf"
SAGEMAKER_TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def sagemaker_s3_policy(bucket: str = BUCKET, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """The S3 statements of ``aws_iam_policy_document.sagemaker`` (terraform/iam.tf) for
    ``bucket``, as an IAM policy; ``without`` drops resources given as written there
    (``"${local.bucket_arn}/models/*"``), to rebuild an older, narrower policy."""
    return sagemaker_policy(bucket, without=without, services=("s3",))


def sagemaker_policy(
    bucket: str = BUCKET,
    *,
    without: tuple[str, ...] = (),
    without_actions: tuple[str, ...] = (),
    services: tuple[str, ...] = ("s3", "sagemaker", "iam"),
) -> dict[str, Any]:
    """The statements of ``aws_iam_policy_document.sagemaker`` (terraform/iam.tf) whose actions
    all belong to ``services`` (the S3 access of the jobs; the pipeline's own Create*Job and
    iam:PassRole), resolved for ``bucket`` and this account, as an IAM policy. ``without``
    drops resources as written there, ``without_actions`` drops actions
    (``"sagemaker:CreateProcessingJob"``), to rebuild a narrower policy."""
    options = SerializationOptions(
        with_comments=False, explicit_blocks=False, strip_string_quotes=True
    )
    with TERRAFORM_IAM.open() as handle:
        parsed = hcl2.load(handle, serialization_options=options)
    documents = [
        body
        for block in parsed.get("data", [])
        for name, body in block.get("aws_iam_policy_document", {}).items()
        if name == "sagemaker"
    ]
    assert len(documents) == 1, "expected one aws_iam_policy_document.sagemaker in iam.tf"
    references = {
        "${local.bucket_arn}": f"arn:aws:s3:::{bucket}",
        "${local.sagemaker_arn_prefix}": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}",
        "${local.sagemaker_role_arn}": ROLE_ARN,
    }

    def resolved(value: str) -> str:
        for reference, replacement in references.items():
            value = value.replace(reference, replacement)
        return value

    statements = []
    for statement in documents[0]["statement"]:
        if not all(action.split(":")[0] in services for action in statement["actions"]):
            continue
        actions = [a for a in statement["actions"] if a not in without_actions]
        resources = [resolved(r) for r in statement["resources"] if r not in without]
        assert not any("${" in r for r in resources), f"unresolved reference in {resources}"
        if not actions or not resources:
            continue
        converted: dict[str, Any] = {
            "Sid": statement["sid"],
            "Effect": "Allow",
            "Action": actions,
            "Resource": resources,
        }
        for condition in statement.get("condition") or []:
            block = converted.setdefault("Condition", {}).setdefault(condition["test"], {})
            block[condition["variable"]] = [resolved(v) for v in condition["values"]]
        statements.append(converted)
    assert statements, f"aws_iam_policy_document.sagemaker has no statement for {services}"
    return {"Version": "2012-10-17", "Statement": statements}
