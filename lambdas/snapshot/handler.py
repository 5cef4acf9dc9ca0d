"""Lambda entry point of the training machine's ``Snapshot`` state: ``{"data": {...}}`` (the input
check's data location) -> ``{"uri", "version_id", "multipart"}``. An S3 error fails the function;
the state machine retries transient ones and then fails the run as ``InputUnreadable``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3

try:
    from . import logic
except ImportError:  # in the zip, handler.py and logic.py sit side by side at the root
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]


@lru_cache(maxsize=1)
def s3() -> Any:
    return boto3.client("s3")


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return logic.snapshot(s3(), event["data"])
