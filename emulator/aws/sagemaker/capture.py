"""Data capture of a real-time endpoint: the invocations InvokeEndpoint served, written to S3 as
SageMaker documents them.

The endpoint config's ``DataCaptureConfig`` (API_DataCaptureConfig.html) decides what is kept;
the file layout and the record are those of the SageMaker developer guide, "Capture data from
real-time endpoint", View Captured Data
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html)::

    <DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl   (the invocation's hour)
    {"captureData": {
        "endpointInput":  {"observedContentType", "mode": "INPUT",  "data", "encoding"},
        "endpointOutput": {"observedContentType", "mode": "OUTPUT", "data", "encoding"}},
     "eventMetadata": {"eventId", "inferenceTime": "2022-02-14T17:25:49Z"[, "inferenceId"]},
     "eventVersion": "0"}

- ``EnableCapture`` false (it defaults to true) or a sampling percentage of 0 captures nothing;
- ``CaptureOptions`` keep the input, the output or both sides (``InputAndOutput``);
- ``encoding`` is ``CSV`` or ``JSON`` when the side's content type is listed in
  ``CaptureContentTypeHeader`` (``CsvContentTypes``/``JsonContentTypes``), the data then being the
  payload's text; otherwise ``BASE64`` ("If no headers are specified SageMaker AI will by default
  base64 encode when capturing the data", API_DataCaptureConfig). The media type is compared
  without its parameters and case: AWS's own example records a ``text/csv; charset=utf-8``
  output with ``encoding`` CSV. A payload that is not UTF-8 text is kept as BASE64 whatever its
  type (the emulator's choice: AWS does not say);
- ``inferenceId`` is the caller's ``InferenceId`` when the request had one ("inferenceId - The
  caller supplies this ID when they invoke the endpoint", model-monitor-model-quality-merge.html).

The emulator's choices where AWS documents nothing, each the stricter or the simpler reading:

- **Sampling**: of the requests an endpoint config serves, request ``n`` (from 1) is captured
  when ``floor(n * p / 100)`` grows, so exactly ``p`` of every 100 consecutive requests are kept,
  spread evenly (AWS samples, and says no more). The count is per endpoint and config.
- **What is captured**: invocations the model answered with status 200; a ModelError is not
  captured.
- **Delivery**: each captured invocation is its own object, written before InvokeEndpoint
  answers (AWS buffers several per file and delivers "within a couple of minutes"); the file name
  (``<yyyymmddThhmmss>-<eventId>.jsonl``) is the emulator's own.
- **Who writes**: SageMaker writes as the model's execution role (``ExecutionRoleArn``): the role
  must trust sagemaker.amazonaws.com and allow ``s3:PutObject`` on the object, or nothing is
  written (the invocation still answers; the refusal is logged).

Tested in ``emulator/tests/test_data_capture.py``.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LOGGER = logging.getLogger("emulator.capture")
EVENT_VERSION = "0"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
#: CaptureMode's values (botocore's sagemaker model, ``CaptureMode`` enum).
INPUT, OUTPUT, INPUT_AND_OUTPUT = "Input", "Output", "InputAndOutput"
CSV, JSON, BASE64 = "CSV", "JSON", "BASE64"
CAPTURED_STATUS = 200


@dataclass(frozen=True)
class Invocation:
    """One served request, as data capture sees it."""

    endpoint_name: str
    endpoint_config_name: str
    variant_name: str
    request_body: bytes
    request_content_type: str | None
    response_body: bytes
    response_content_type: str | None
    status: int
    inference_time: datetime
    inference_id: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class CaptureObject:
    """A record to write: bucket, key, the JSON line, and the SSE-KMS key if configured."""

    bucket: str
    key: str
    body: bytes
    kms_key_id: str | None


# --------------------------------------------------------------------------- pure rules


def enabled(config: Mapping[str, Any] | None) -> bool:
    """Whether a DataCaptureConfig captures anything (EnableCapture "defaults to enabled")."""
    if not config:
        return False
    return (
        bool(config.get("EnableCapture", True))
        and int(config.get("InitialSamplingPercentage", 0)) > 0
    )


def sampled(number: int, percentage: int) -> bool:
    """Whether the ``number``-th request (from 1) is captured at ``percentage``: exactly
    ``percentage`` of every 100 consecutive requests, evenly spread (the emulator's choice)."""
    if percentage <= 0 or number < 1:
        return False
    return math.floor(number * percentage / 100) > math.floor((number - 1) * percentage / 100)


def modes(config: Mapping[str, Any]) -> set[str]:
    """The sides captured: ``{"INPUT", "OUTPUT"}`` or one of them."""
    wanted: set[str] = set()
    for option in config.get("CaptureOptions") or []:
        mode = option.get("CaptureMode")
        if mode in (INPUT, INPUT_AND_OUTPUT):
            wanted.add("INPUT")
        if mode in (OUTPUT, INPUT_AND_OUTPUT):
            wanted.add("OUTPUT")
    return wanted


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def encoding_of(config: Mapping[str, Any], content_type: str | None) -> str:
    """CSV or JSON when ``content_type`` is listed in CaptureContentTypeHeader, else BASE64."""
    header = config.get("CaptureContentTypeHeader") or {}
    observed = media_type(content_type)
    if observed and observed in {media_type(t) for t in header.get("CsvContentTypes") or []}:
        return CSV
    if observed and observed in {media_type(t) for t in header.get("JsonContentTypes") or []}:
        return JSON
    return BASE64


def side(mode: str, content_type: str | None, body: bytes, encoding: str) -> dict[str, str]:
    """``captureData.endpointInput`` / ``endpointOutput``: text as is, else base64."""
    text: str | None = None
    if encoding != BASE64:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            encoding = BASE64
    if text is None:
        text = base64.b64encode(body).decode("ascii")
    return {
        "observedContentType": content_type or "",
        "mode": mode,
        "data": text,
        "encoding": encoding,
    }


def inference_time_text(moment: datetime) -> str:
    """``2022-02-14T17:25:49Z``: UTC, whole seconds, as AWS's example writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(config: Mapping[str, Any], invocation: Invocation) -> dict[str, Any]:
    """The JSON line of one captured invocation."""
    wanted = modes(config)
    data: dict[str, Any] = {}
    if "INPUT" in wanted:
        data["endpointInput"] = side(
            "INPUT",
            invocation.request_content_type,
            invocation.request_body,
            encoding_of(config, invocation.request_content_type),
        )
    if "OUTPUT" in wanted:
        data["endpointOutput"] = side(
            "OUTPUT",
            invocation.response_content_type,
            invocation.response_body,
            encoding_of(config, invocation.response_content_type),
        )
    metadata = {
        "eventId": invocation.event_id,
        "inferenceTime": inference_time_text(invocation.inference_time),
    }
    if invocation.inference_id:
        metadata["inferenceId"] = invocation.inference_id
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": EVENT_VERSION}


def split_destination(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` (or ``https://``) -> (bucket, prefix without slashes at the ends)."""
    for scheme in ("s3://", "https://"):
        if uri.startswith(scheme):
            bucket, _, prefix = uri[len(scheme) :].partition("/")
            return bucket, prefix.strip("/")
    raise ValueError(f"DestinationS3Uri {uri!r} is not an s3:// URI")


def object_key(prefix: str, invocation: Invocation) -> str:
    """``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`` (the invocation's UTC hour)."""
    moment = invocation.inference_time.astimezone(UTC)
    name = f"{moment:%Y%m%dT%H%M%S}-{invocation.event_id}.jsonl"
    parts = [prefix, invocation.endpoint_name, invocation.variant_name, f"{moment:%Y/%m/%d/%H}"]
    return "/".join([p for p in parts if p] + [name])


def capture_object(config: Mapping[str, Any], invocation: Invocation) -> CaptureObject | None:
    """What to write for a sampled ``invocation`` (None when nothing is captured)."""
    if invocation.status != CAPTURED_STATUS or not enabled(config) or not modes(config):
        return None
    bucket, prefix = split_destination(str(config.get("DestinationS3Uri", "")))
    line = json.dumps(record(config, invocation), separators=(",", ":")) + "\n"
    return CaptureObject(
        bucket, object_key(prefix, invocation), line.encode("utf-8"), config.get("KmsKeyId")
    )


# --------------------------------------------------------------------------- moto side


@dataclass
class _State:
    """Requests counted per (account, region, endpoint, config): the sampling's counters."""

    counts: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATE = _State()


def next_number(account: str, region: str, invocation: Invocation) -> int:
    key = (account, region, invocation.endpoint_name, invocation.endpoint_config_name)
    with _STATE.lock:
        _STATE.counts[key] = _STATE.counts.get(key, 0) + 1
        return _STATE.counts[key]


def _role_may_write(account: str, role_arn: str, bucket: str, key: str) -> str | None:
    """Why the model's role may not write the capture object (``None``: it may)."""
    from emulator.aws import iam

    if not role_arn:
        return "the model has no ExecutionRoleArn"
    resource = f"arn:aws:s3:::{bucket}/{key}"
    decision, message = iam.role_decision(
        SAGEMAKER_PRINCIPAL, role_arn, "s3:PutObject", resource, {"aws:sourceaccount": (account,)}
    )
    return None if decision is iam.Decision.ALLOW else message


def _put(account: str, region: str, item: CaptureObject) -> None:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[account][get_partition(region)]
    backend.put_object(
        item.bucket,
        item.key,
        item.body,
        encryption="aws:kms" if item.kms_key_id else None,
        kms_key_id=item.kms_key_id or None,
    )


def capture(backend: Any, account: str, region: str, invocation: Invocation) -> str | None:
    """Capture ``invocation`` as its endpoint config says; the written key, or None.

    Never raises: data capture must not fail the invocation it records.
    """
    try:
        config = backend.describe_endpoint_config(invocation.endpoint_config_name)
        capture_config = config.get("DataCaptureConfig") or {}
        if not enabled(capture_config) or invocation.status != CAPTURED_STATUS:
            return None
        number = next_number(account, region, invocation)
        if not sampled(number, int(capture_config["InitialSamplingPercentage"])):
            return None
        item = capture_object(capture_config, invocation)
        if item is None:
            return None
        variant = next(
            (
                v
                for v in config["ProductionVariants"]
                if v.get("VariantName") == invocation.variant_name
            ),
            config["ProductionVariants"][0],
        )
        role = str(getattr(backend.describe_model(variant["ModelName"]), "execution_role_arn", ""))
        refusal = _role_may_write(account, role, item.bucket, item.key)
        if refusal is not None:
            LOGGER.warning("data capture of %s not written: %s", invocation.endpoint_name, refusal)
            return None
        _put(account, region, item)
        return f"s3://{item.bucket}/{item.key}"
    except Exception:  # capture never fails the invocation
        LOGGER.exception("data capture of %s failed", invocation.endpoint_name)
        return None


def reset() -> None:
    """Sampling starts afresh for every endpoint."""
    with _STATE.lock:
        _STATE.counts.clear()
