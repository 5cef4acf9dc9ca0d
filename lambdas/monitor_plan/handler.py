"""Lambda entry point of the monitoring machine's ``Plan`` state (``logic.plan``):
``{"input", "execution_name", "started"}`` -> the plan. Environment (Terraform): ENDPOINT_NAME,
BUCKET, MONITOR_CODE_URI, WINDOW_MINUTES, MIN_ROWS, POLL_INTERVAL_SECONDS, MAX_POLLS."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3

try:
    from . import logic
    from .settings import Settings
except ImportError:  # in the zip, the modules sit side by side at the root
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]
    from settings import Settings  # type: ignore[no-redef,import-not-found,unused-ignore]


@lru_cache(maxsize=1)
def clients() -> logic.Clients:
    return logic.Clients(sagemaker=boto3.client("sagemaker"), s3=boto3.client("s3"))


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return logic.plan(event, clients(), Settings.from_env(os.environ))
