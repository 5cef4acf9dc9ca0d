"""S3 as Terraform and the trigger see it (moto's ``s3`` service).

1. The lifecycle ``TransitionDefaultMinimumObjectSize`` header on Put/Get, as AWS sends it.
2. Bucket-policy conditions evaluated (moto applied ``Deny unless aws:SecureTransport`` to all).
3. No perpetual Terraform drift: the bucket's ``EventBridgeConfiguration`` is reported back.
4. S3 events reach EventBridge in AWS's shape ("Object Created", sequencer, reason).
5. Every bucket and object request is validated against botocore's s3 model
   (``validation.check_s3_request``) and refused with S3's own error before moto serves it.
6. A single CopyObject copies at most 5 GB (``COPY_LIMIT_ENV`` lowers it for tests); larger
   objects are copied with UploadPartCopy, each part within the same limit.

Tested in ``tests/integration/test_aws_s3.py`` and ``test_event_delivery.py``.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from emulator.aws import core, validation

LOGGER = logging.getLogger(__name__)
_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}
_sequencer_lock = threading.Lock()


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    #: The last S3 event ``sequencer`` handed out (they only grow).
    last_sequencer: int = 0


_STATE = _State()


# --------------------------------------------------------------------------- 6. Terraform

#: AWS's default for ``TransitionDefaultMinimumObjectSize`` (the only one moto reports).
DEFAULT_TRANSITION_MIN_SIZE = "all_storage_classes_128K"
_TRANSITION_HEADER = "x-amz-transition-default-minimum-object-size"


def _bucket_response_put(original: Callable[..., Any]) -> Callable[..., Any]:
    # AWS answers PutBucketLifecycleConfiguration with the transition-size header, and the aws
    # provider waits until GetBucketLifecycleConfiguration reports the same value: without the
    # header that wait only ends after about a minute.
    def put(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        response = original(self, request, bucket_name, querystring)
        if "lifecycle" not in querystring or response != "":
            return response
        size = request.headers.get(_TRANSITION_HEADER) or DEFAULT_TRANSITION_MIN_SIZE
        self.backend.get_bucket(bucket_name).__dict__["transition_min_size"] = size
        return 200, {_TRANSITION_HEADER: size}, ""

    return put


def _get_bucket_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def get(self: Any) -> Any:
        status, headers, body = original(self)
        bucket = self.backend.get_bucket(self.bucket_name)
        size = bucket.__dict__.get("transition_min_size", DEFAULT_TRANSITION_MIN_SIZE)
        headers[_TRANSITION_HEADER] = size
        if isinstance(body, bytes) and b"<TransitionDefaultMinimumObjectSize>" in body:
            body = re.sub(
                rb"<TransitionDefaultMinimumObjectSize>[^<]*</TransitionDefaultMinimumObjectSize>",
                b"",
                body,
            )
        return status, headers, body

    return get


#: The request context the emulator claims for bucket-policy conditions: it stands in for
#: AWS's HTTPS endpoints, so a "deny unless TLS" statement must not deny its plain-http calls.
REQUEST_CONTEXT = {"aws:securetransport": "true"}


def condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    """One IAM condition against the request context; an absent key does not match (as AWS)."""
    values = [str(v).lower() for v in (expected if isinstance(expected, list) else [expected])]
    actual = context.get(key.lower())
    if operator.endswith("IfExists") and actual is None:
        return True
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return (actual is None) == (values[0] == "true")
    if actual is None:
        return False
    actual = actual.lower()
    if operator in {"Bool", "StringEquals", "StringEqualsIgnoreCase"}:
        return actual in values
    if operator in {"StringNotEquals", "StringNotEqualsIgnoreCase"}:
        return actual not in values
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(actual, v) for v in values)
    if operator == "StringNotLike":
        return not any(fnmatch.fnmatchcase(actual, v) for v in values)
    return False  # an operator we do not model: the statement does not apply


def statement_applies(statement: dict[str, Any], context: dict[str, str]) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, expected in block.items()
    )


def _bucket_get_permission(self: Any, action: str, resource: str) -> Any:
    # moto ignores conditions it does not know (e.g. Bool), so a conditional Deny denies all.
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy)
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    permitted = False
    for statement in statements:
        if not statement_applies(statement, REQUEST_CONTEXT):
            continue
        unconditional = {k: v for k, v in statement.items() if k != "Condition"}
        result = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return result
        permitted = permitted or result == PermissionResult.PERMITTED
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


# --------------------------------------------------------------------------- 7. drift

# Without these, `terraform plan` after `apply` is never clean: moto accepts the settings but
# leaves them out of its answers.


def _get_bucket_notification(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto stores EventBridgeConfiguration but GetBucketNotificationConfiguration omits it.
    def get(self: Any) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or config.event_bridge is None:
            return original(self)
        status, headers, body = original(self)
        text = body.decode() if isinstance(body, bytes) else str(body)
        marker = "</NotificationConfiguration>"
        if marker in text:
            text = text.replace(marker, "<EventBridgeConfiguration/>" + marker)
        else:  # no other configuration: moto answered an empty result
            text = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<NotificationConfiguration '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EventBridgeConfiguration/>'
                "</NotificationConfiguration>"
            )
        return status, headers, text.encode()

    return get


# --------------------------------------------------------------------------- 8. validation


def _validated(original: Callable[..., Any], with_key: bool) -> Callable[..., Any]:
    # ``_bucket_response``/``_key_response`` run after ``setup_class`` (bucket name, decoded
    # body) and inside moto's ``except S3ClientError``, so a refusal is rendered as S3's
    # <Error> document with its status.
    def respond(self: Any, request: Any, full_url: str) -> Any:
        if validation.enabled() and self.bucket_name:
            from urllib.parse import parse_qs, urlparse

            refusal = validation.check_s3_request(
                method=request.method,
                bucket=self.bucket_name,
                key=self.parse_key_name() if with_key else None,
                query=parse_qs(urlparse(full_url).query, keep_blank_values=True),
                headers=dict(request.headers),
                body=self.body if isinstance(self.body, bytes) else bytes(self.body or b""),
            )
            if refusal is not None:
                raise s3_error(refusal)
        return original(self, request, full_url)

    return respond


def s3_error(refusal: validation.S3Refusal) -> Exception:
    """The refusal as moto's S3 error (status 400, S3's <Error> document)."""
    from moto.s3.exceptions import InvalidArgumentError, S3ClientError

    if refusal.argument_name is not None:
        return InvalidArgumentError(
            refusal.message, refusal.argument_name, refusal.argument_value or ""
        )
    return S3ClientError(refusal.code, refusal.message)


# --------------------------------------------------------------------------- 7. copy limit

# "You create a copy of your object up to 5 GB in size in a single atomic action using this
# API. However, to copy an object greater than 5 GB, you must use the multipart upload Upload
# Part - Copy (UploadPartCopy) API" (S3 API reference, CopyObject; botocore's s3 model repeats
# it in CopyObject's documentation). S3 answers a larger source with 400 ``InvalidRequest``
# "The specified copy source is larger than the maximum allowable size for a copy source:
# 5368709120" (the answer reported by users of the AWS CLI, the Go SDK and the aws provider,
# e.g. hashicorp/terraform-provider-aws#38102). moto copied any size.
# UploadPartCopy copies one part, and a part is at most 5 GiB ("Amazon S3 multipart upload
# limits", https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): a part whose
# range (or whole source, without CopySourceRange) is larger is refused the same way. S3's
# wording for that case is not documented; the code and message are CopyObject's (stricter:
# refused, not silently copied).

#: The emulator's environment variable lowering the limit (bytes), so tests can reach it.
COPY_LIMIT_ENV = "EMULATOR_S3_COPY_MAX_BYTES"
COPY_LIMIT_BYTES = 5 * 1024**3


def copy_limit_bytes() -> int:
    """The single-copy limit in force: ``$EMULATOR_S3_COPY_MAX_BYTES`` or S3's 5 GiB."""
    value = os.environ.get(COPY_LIMIT_ENV, "").strip()
    if not value:
        return COPY_LIMIT_BYTES
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise ValueError(f"${COPY_LIMIT_ENV}={value!r}: expected a number of bytes above 0")
    return limit


def copy_refusal(copied_bytes: int, limit: int) -> str | None:
    """S3's message when a single copy of ``copied_bytes`` is above ``limit`` (else ``None``)."""
    if copied_bytes <= limit:
        return None
    return (
        "The specified copy source is larger than the maximum allowable size for a copy "
        f"source: {limit}"
    )


def _copied_bytes(response: Any, with_range: bool) -> int | None:
    """How many bytes the request copies (``None``: no such source, moto answers that)."""
    from urllib.parse import parse_qs, unquote, urlparse

    copy_source = response.headers.get("x-amz-copy-source") or ""
    if isinstance(copy_source, bytes):
        copy_source = copy_source.decode("utf-8")
    parsed = urlparse(copy_source)
    bucket, _, key = unquote(parsed.path).lstrip("/").partition("/")
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    try:
        source = response.backend.get_object(bucket, key, version_id=version)
    except Exception:  # no such bucket, key or version: moto's own answer follows
        return None
    if source is None:
        return None
    wanted = (response.headers.get("x-amz-copy-source-range") or "") if with_range else ""
    start, _, end = wanted.partition("bytes=")[2].partition("-")
    if start.isdigit() and end.isdigit():
        return int(end) - int(start) + 1
    return int(source.size)


def _within_copy_limit(original: Callable[..., Any], with_range: bool) -> Callable[..., Any]:
    def copy(self: Any) -> Any:
        from moto.s3.exceptions import S3ClientError

        copied = _copied_bytes(self, with_range)
        refusal = copy_refusal(copied, copy_limit_bytes()) if copied is not None else None
        if refusal is not None:
            raise S3ClientError("InvalidRequest", refusal)
        return original(self)

    return copy


# Event sources -----------------------------------------------------------------------------------


def next_sequencer() -> str:
    """A strictly increasing hex sequencer, like the one S3 gives each event of a key."""
    with _sequencer_lock:
        _STATE.last_sequencer = max(_STATE.last_sequencer + 1, time.time_ns())
        return f"{_STATE.last_sequencer:018X}"


def s3_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any]:
    """The EventBridge event S3 sends for ``event_name`` on ``key``, in AWS's shape."""
    from moto.s3.notifications import _detail_type

    obj: dict[str, Any] = {
        "key": key.name,
        "size": key.size,
        "etag": key.etag.replace('"', ""),
        "sequencer": next_sequencer(),
    }
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    now = time.time()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": _detail_type(event_name),
        "source": "aws.s3",
        "account": account_id,
        "time": now,
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": _S3_REASONS.get(event_name, event_name.split(":")[1]),
        },
        # moto's InputTransformer for SQS/log targets reads it; our targets drop it.
        "ingestion-time": now,
    }


def _send_s3_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    from moto.events.models import events_backends
    from moto.s3.models import s3_backends

    try:
        if event_name == s3_notifications.S3NotificationEvent.OBJECT_TAGGING_PUT_EVENT:
            # moto's PutObject always sets the (often empty) tag set: no "Object Tags Added".
            tagger = s3_backends[account_id][key.partition].tagger
            if not tagger.list_tags_for_resource(key.arn)["Tags"]:
                return
        event: Any = s3_event(account_id, bucket, event_name, key)  # moto's EventMessageType
        default_bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
        for rule in list(default_bus.rules.values()) if default_bus else []:
            rule.send_to_targets(event)
    except Exception:  # S3 sends events asynchronously: the upload itself never fails
        LOGGER.exception("S3 event for s3://%s/%s not delivered", bucket.name, key.name)


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """Lifecycle header, bucket-policy conditions, notification drift, EventBridge events,
    request validation, the single-copy limit."""
    S3Response._bucket_response_put = _bucket_response_put(  # type: ignore[method-assign]
        S3Response._bucket_response_put
    )
    S3Response.get_bucket_lifecycle = _get_bucket_lifecycle(  # type: ignore[method-assign]
        S3Response.get_bucket_lifecycle
    )
    FakeBucket.get_permission = _bucket_get_permission  # type: ignore[method-assign]
    S3Response.get_bucket_notification = _get_bucket_notification(  # type: ignore[method-assign]
        S3Response.get_bucket_notification
    )
    s3_notifications._send_event_bridge_message = _send_s3_event_bridge_message
    S3Response._bucket_response = _validated(S3Response._bucket_response, with_key=False)  # type: ignore[method-assign]
    S3Response._key_response = _validated(S3Response._key_response, with_key=True)  # type: ignore[method-assign]
    S3Response.copy_object = _within_copy_limit(S3Response.copy_object, with_range=False)  # type: ignore[method-assign]
    S3Response.upload_part_copy = _within_copy_limit(S3Response.upload_part_copy, with_range=True)  # type: ignore[method-assign]


def reset() -> None:
    """Nothing to forget: sequencers only ever grow, as S3's do."""
