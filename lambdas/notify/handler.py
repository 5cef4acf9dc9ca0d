"""Lambda entry point of every machine's ``Finish`` state (``logic.finish``):
``{"machine", "execution_name", "outcome"}`` -> ``{"notified", "message_id", ...}``.
Environment (Terraform): TOPIC_ARN, BUCKET. A failure to publish fails the function: the state
machine then still ends with the outcome's own error."""

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
        s3=boto3.client("s3"), sns=boto3.client("sns"), cloudwatch=boto3.client("cloudwatch")
    )


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return logic.finish(event, clients(), logic.Settings.from_env(os.environ))
