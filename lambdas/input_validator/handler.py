"""Lambda entry point of the training machine's ``CheckInput`` state (see ``logic.check``).

Invoked with ``{"input", "execution_name"}``; answers the run's initial state, or
``{"valid": false, "error", "cause"}``. A refusal is an answer, not a function error, so a crash
of this function is never mistaken for bad input. Environment (Terraform): BUCKET,
DEFAULTS_JSON, AUTO_APPROVE_ALLOWED, ENDPOINT_NAME, NO_CHAMPION_URI.
"""

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
    return logic.Clients(s3=boto3.client("s3"), sagemaker=boto3.client("sagemaker"))


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return logic.check(event, clients(), logic.Config.from_env(os.environ))
