"""Lambda entry point: EventBridge S3 "Object Created" event → at most one Step Functions run.

Thin by design: it reads the environment, owns the one Step Functions client, and hands both to
`logic.handle_event`. Environment: STATE_MACHINE_ARN (required), DATA_PREFIX (default
`data/raw/`), LOG_LEVEL (default INFO).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3

# In the zip, handler.py and logic.py sit side by side at the root; in the repository they form
# the package `lambdas.trigger`. The relative import fails with ImportError outside a package.
try:
    from . import logic
except ImportError:
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient

logic.LOGGER.setLevel(logic.log_level(os.environ.get(logic.LOG_LEVEL_ENV)))


@lru_cache(maxsize=1)
def stepfunctions_client() -> SFNClient:
    """The function's one client, created on first use and reused by warm invocations."""
    return boto3.client("stepfunctions")


def lambda_handler(event: dict[str, object], context: object) -> logic.TriggerResult:
    """Start, or decline to start, the training run for one S3 upload event."""
    config = logic.load_config(os.environ)
    return logic.handle_event(event, stepfunctions_client(), config)
