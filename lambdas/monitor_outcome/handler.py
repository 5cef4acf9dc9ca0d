"""Lambda entry point of the monitoring machine's ``ReadDrift`` state (``logic.outcome``):
``{"run", "job_name", "status", "execution_name"}`` -> why the job failed, or the verdict, its
numbers and what was done about it.
Environment (Terraform): METRIC_NAMESPACE, RETRAIN_ON_DRIFT, RETRAIN_DATA_URI, UPLOADS_QUEUE_URL."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3

try:
    from . import logic
except ImportError:  # in the zip, handler.py and logic.py sit side by side at the root
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]


@lru_cache(maxsize=1)
def clients() -> logic.Clients:
    return logic.Clients(
        sagemaker=boto3.client("sagemaker"),
        s3=boto3.client("s3"),
        cloudwatch=boto3.client("cloudwatch"),
        sqs=boto3.client("sqs"),
    )


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return logic.outcome(event, clients(), logic.Settings.from_env(os.environ))
