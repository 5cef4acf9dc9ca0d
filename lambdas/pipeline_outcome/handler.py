"""Lambda entry point of the training machine's ``PipelineOutcome`` state (``logic.outcome``):
``{"pipeline_execution_arn", "status", "config", "policy"}`` -> the answer of ``logic.KEYS``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3

try:
    from . import logic
except ImportError:  # in the zip, handler.py and logic.py sit side by side at the root
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]


@lru_cache(maxsize=1)
def clients() -> logic.Clients:
    return logic.Clients(sagemaker=boto3.client("sagemaker"), s3=boto3.client("s3"))


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return logic.outcome(event, clients())
