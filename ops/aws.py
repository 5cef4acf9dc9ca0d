"""Small helpers every command shares: how AWS says "not found", paging, reading JSON from S3."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from contracts import s3_layout

#: Codes that always mean "no such thing".
MISSING_CODES = frozenset(
    {
        "ResourceNotFound",
        "ResourceNotFoundException",
        "ExecutionDoesNotExist",
        "StateMachineDoesNotExist",
        "NoSuchKey",
        "NoSuchBucket",
        "404",
        "NotFound",
    }
)
#: SageMaker reports a missing resource as a ValidationException "Could not find ...".
_NOT_FOUND_WORDS = ("could not find", "not found", "does not exist", "cannot find")


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def is_not_found(err: ClientError) -> bool:
    """A missing resource, however the service says it."""
    code = error_code(err)
    if code in MISSING_CODES:
        return True
    message = str(err.response.get("Error", {}).get("Message", "")).lower()
    return code == "ValidationException" and any(word in message for word in _NOT_FOUND_WORDS)


def pages(
    call: Callable[..., dict[str, Any]],
    items: str,
    token: str = "NextToken",
    request_token: str | None = None,
    **kwargs: Any,
) -> Iterator[Any]:
    """Every item of a paged list call (``items`` is the list's key in the answer)."""
    while True:
        page = call(**kwargs)
        yield from page.get(items, [])
        following = page.get(token)
        if not following:
            return
        kwargs[request_token or token] = following


def number(value: Any) -> float | None:
    """A finite float, or None (metadata values are text)."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def read_json(s3: Any, uri: str) -> dict[str, Any] | None:
    """A JSON object from S3, or ``None`` when it is missing or unreadable."""
    try:
        bucket, key = s3_layout.split_s3_uri(uri)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        data = json.loads(body)
    except (ClientError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def exists(s3: Any, uri: str) -> bool:
    bucket, key = s3_layout.split_s3_uri(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if error_code(err) in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def statistics_uri(package: dict[str, Any]) -> str | None:
    """The evaluation report a package's ModelMetrics names (evaluation/<id>/evaluation.json)."""
    quality = (package.get("ModelMetrics") or {}).get("ModelQuality") or {}
    uri = (quality.get("Statistics") or {}).get("S3Uri")
    return str(uri) if uri else None
