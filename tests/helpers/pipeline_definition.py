"""The committed pipeline definition rendered for tests, as Terraform renders it.

One home for the template values the executor's tests use (unit and integration).
"""

from __future__ import annotations

import json
from typing import Any

from devtools.generated import render
from ml.pipeline import DEFINITION_PATH

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
    "prepare_script_uri": f"s3://{BUCKET}/code/prepare.py",
    "evaluate_script_uri": f"s3://{BUCKET}/code/evaluate.py",
    "train_source_uri": f"s3://{BUCKET}/code/sourcedir.tar.gz",
    "default_data_uri": f"s3://{BUCKET}/data/raw/iris.csv",
}


def rendered_text() -> str:
    return render(DEFINITION_PATH.read_text(encoding="utf-8"), VALUES)


def rendered_definition() -> dict[str, Any]:
    return dict(json.loads(rendered_text()))
