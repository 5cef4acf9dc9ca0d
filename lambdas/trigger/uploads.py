"""The uploads queue's messages -> training runs.

Two kinds of message arrive on it:

- S3 "Object Created" events (EventBridge, for keys under the data prefix): a run trains on
  exactly the uploaded version, with the dataset settings the upload's metadata carries
  (``x-amz-meta-label-column`` ..., ``contracts.execution_input.UPLOAD_METADATA``);
- training requests the project sends itself (``make start``, the drift monitor's retraining):
  ``{"source": "mlops.project", "detail-type": "Training Request", "id", "detail": {"input"}}``.

`key` is kept verbatim: EventBridge delivers the key as stored, unlike S3 event notifications
(SQS/SNS/Lambda) which URL-encode it, so decoding here would corrupt a real `+` or `%`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from contracts import deployment as requests
from contracts import execution_input
from contracts import training_request as training_requests

try:
    from .jobs import Job, MalformedEventError, NotRun, mapping, optional_str, required_str
except ImportError:  # in the zip, the modules sit side by side at the root
    from jobs import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        Job,
        MalformedEventError,
        NotRun,
        mapping,
        optional_str,
        required_str,
    )

EXPECTED_SOURCE = "aws.s3"
EXPECTED_DETAIL_TYPE = "Object Created"
DATA_SUFFIX = ".csv"
MAX_EXECUTION_NAME = 80
NAME_PREFIX = "s3-"
HASH_CHARS = 16
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class S3Upload:
    """The fields of an S3 EventBridge event that the trigger uses."""

    bucket: str
    key: str
    size: int | None
    version_id: str | None
    sequencer: str | None
    etag: str | None
    source: str
    detail_type: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_event(event: Any) -> S3Upload:
    """Turn an EventBridge S3 event into an `S3Upload`, or raise `MalformedEventError`."""
    root = mapping(event, "(event)")
    detail = mapping(root.get("detail"), "detail")
    bucket = mapping(detail.get("bucket"), "detail.bucket")
    obj = mapping(detail.get("object"), "detail.object")
    size = obj.get("size")
    # bool is an int subclass; a JSON true is not a size.
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise MalformedEventError(
            f"event field detail.object.size must be a non-negative integer, got {size!r}"
        )
    version_id = optional_str(obj, "version-id", "detail.object.version-id")
    sequencer = optional_str(obj, "sequencer", "detail.object.sequencer")
    if version_id is None and sequencer is None:
        # Without either, two uploads of the same key would get the same execution name.
        raise MalformedEventError(
            "event has neither detail.object.version-id nor detail.object.sequencer, so the "
            "upload cannot be told apart from an earlier one of the same key"
        )
    return S3Upload(
        bucket=required_str(bucket, "name", "detail.bucket.name"),
        key=required_str(obj, "key", "detail.object.key"),
        size=size,
        version_id=version_id,
        sequencer=sequencer,
        # S3 spells it "etag"; moto's emulated EventBridge event spells it "eTag".
        etag=optional_str(obj, "etag", "detail.object.etag")
        or optional_str(obj, "eTag", "detail.object.eTag"),
        source=required_str(root, "source", "source"),
        detail_type=required_str(root, "detail-type", "detail-type"),
    )


def ignore_reason(upload: S3Upload, data_prefix: str) -> str | None:
    """Say why this upload must not start a run, or return None when it should."""
    if upload.source != EXPECTED_SOURCE or upload.detail_type != EXPECTED_DETAIL_TYPE:
        return (
            f"event is {upload.source!r}/{upload.detail_type!r}, not "
            f"{EXPECTED_SOURCE!r}/{EXPECTED_DETAIL_TYPE!r}"
        )
    if not upload.key.startswith(data_prefix):
        return f"key {upload.key!r} is outside the data prefix {data_prefix!r}"
    if not upload.key.lower().endswith(DATA_SUFFIX):
        return f"key {upload.key!r} does not end with {DATA_SUFFIX!r}"
    if upload.size == 0:
        return f"object {upload.uri} is empty (0 bytes)"
    return None


def upload_fingerprint(upload: S3Upload) -> str:
    """Hex sha256 over everything that identifies one upload event.

    S3 redelivers an event with the same version id, sequencer and etag, so a replay maps to the
    same value, while a new upload of the same key gets a new sequencer (and version id when the
    bucket is versioned). The etag is included because moto's emulated events carry a constant
    sequencer; it changes nothing on AWS.
    """
    identity = [upload.bucket, upload.key, upload.version_id, upload.sequencer, upload.etag]
    return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()


def _name(prefix: str, stem: str, digest: str) -> str:
    """``<prefix><stem, sanitised, truncated to what the prefix leaves>-<16 hex>``."""
    room = MAX_EXECUTION_NAME - len(prefix) - 1 - HASH_CHARS
    clean = _UNSAFE_NAME_CHARS.sub("-", stem).strip("-")[:room].rstrip("-") or "upload"
    return f"{prefix}{clean}-{digest[:HASH_CHARS]}"


def execution_name(upload: S3Upload) -> str:
    """`s3-<file stem, sanitised and truncated>-<16 hex of the fingerprint>`, at most 80
    characters of `[A-Za-z0-9_-]`."""
    name = PurePosixPath(upload.key).name
    if name.lower().endswith(DATA_SUFFIX):
        name = name[: -len(DATA_SUFFIX)]
    return _name(NAME_PREFIX, name, upload_fingerprint(upload))


def upload_settings(s3: Any, upload: S3Upload) -> dict[str, Any]:
    """The dataset settings the uploaded version carries as user metadata (none: {})."""
    request = {"Bucket": upload.bucket, "Key": upload.key}
    if upload.version_id:
        request["VersionId"] = upload.version_id
    try:
        head = s3.head_object(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion"):
            return {}  # gone since: the run's input check says so, with the URI
        raise
    return execution_input.settings_from_metadata(head.get("Metadata") or {})


def execution_input_for(upload: S3Upload, settings: Mapping[str, Any]) -> str:
    """The run's input: the data location, the uploaded version, the upload's settings."""
    document: dict[str, Any] = {"data_uri": upload.uri, **settings}
    if upload.version_id is not None:
        document["data_version_id"] = upload.version_id
    return json.dumps(document, sort_keys=True)


def training_request(body: Mapping[str, Any]) -> Job:
    """A training request the project sent (make start, the drift monitor)."""
    request_id = required_str(body, "id", "id")
    detail = mapping(body.get("detail"), "detail")
    document = detail.get("input")
    if not isinstance(document, Mapping):
        raise MalformedEventError("a training request needs detail.input, an object")
    reason = str(detail.get("reason") or "request")
    return Job(
        name=training_requests.execution_name(reason, request_id),
        input=json.dumps(dict(document), sort_keys=True),
        what=f"training request {request_id} ({reason})",
    )


def job_for(body: Any, s3: Any, data_prefix: str) -> Job | NotRun:
    """What one message of the uploads queue asks for."""
    root = mapping(body, "(event)")
    if root.get("source") == requests.REQUEST_SOURCE:
        if root.get("detail-type") != requests.TRAINING_REQUEST:
            raise MalformedEventError(f"not a training request: {root.get('detail-type')!r}")
        return training_request(root)
    upload = parse_event(root)
    reason = ignore_reason(upload, data_prefix)
    if reason is not None:
        return NotRun("ignored", reason, upload.uri)
    settings = upload_settings(s3, upload)
    return Job(
        name=execution_name(upload),
        input=execution_input_for(upload, settings),
        what=upload.uri,
        log={"bucket": upload.bucket, "key": upload.key, "version_id": upload.version_id},
    )
