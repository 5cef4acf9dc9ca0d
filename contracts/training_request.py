"""Training requests: what the project sends the uploads queue to start a training run.

``make start`` (and the drift monitor's retraining) send one message to the uploads queue (SQS
FIFO, the one message group its uploads share), so requested runs and upload-triggered runs run
one at a time, in the order they arrived. The trigger starts the run with the request's input under
an execution name derived from the request's id: the same request delivered twice starts once, and
the sender knows the name before the run starts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from contracts.deployment import EXECUTION_NAME_MAX, REQUEST_SOURCE, TRAINING_REQUEST

#: The uploads queue's one message group (Terraform's EventBridge target uses the same).
UPLOADS_GROUP = "uploads"
NAME_PREFIX = "run-"
HASH_CHARS = 16
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_MAX_STEM = EXECUTION_NAME_MAX - len(NAME_PREFIX) - 1 - HASH_CHARS


def message(
    execution_input: Mapping[str, Any], *, reason: str, requested_by: str, request_id: str
) -> str:
    """The body sent to the uploads queue (the whole request; the trigger reads ``detail``)."""
    return json.dumps(
        {
            "source": REQUEST_SOURCE,
            "detail-type": TRAINING_REQUEST,
            "id": request_id,
            "detail": {
                "input": dict(execution_input),
                "reason": reason,
                "requested_by": requested_by,
            },
        },
        sort_keys=True,
    )


def execution_name(reason: str, request_id: str) -> str:
    """``run-<reason, sanitised and cut>-<16 hex of the id's SHA-256>``: at most 80 characters
    of ``[A-Za-z0-9_-]``, a Step Functions execution name."""
    digest = hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:HASH_CHARS]
    stem = _UNSAFE.sub("-", reason or "request").strip("-")[:_MAX_STEM].rstrip("-") or "upload"
    return f"{NAME_PREFIX}{stem}-{digest}"


def deduplication_id(request_id: str) -> str:
    """The request's SQS FIFO MessageDeduplicationId (at most 128 characters of any id): the
    same request sent twice within SQS's five-minute window is kept once."""
    return hashlib.sha256(request_id.encode("utf-8")).hexdigest()
