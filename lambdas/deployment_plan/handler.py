"""Lambda entry point of the deployment machine's ``Plan`` state (see ``logic.Planner``):
``{"state", "execution_name"}`` -> the plan. Environment (Terraform): ENDPOINT_NAME,
MODEL_PACKAGE_GROUP, MODEL_NAME_PREFIX, VARIANT_NAME, INSTANCE_TYPE, INSTANCE_COUNT,
CAPTURE_PERCENT, CAPTURE_DESTINATION, GUARDRAILS_JSON, POLL_INTERVAL_SECONDS, MAX_POLLS."""

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
    return logic.Clients(sagemaker=boto3.client("sagemaker"), cloudwatch=boto3.client("cloudwatch"))


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return logic.plan(event, clients(), Settings.from_env(os.environ))
