"""Decide what one S3 "Object Created" event means for the training state machine.

    EventBridge event ─► parse_event ─► ignore_reason? ──yes──► ignored
                                            │ no
                                            ▼
                      ListExecutions(RUNNING) ─► same name ─► duplicate
                                            │  other name ─► skipped (upload not lost: re-run it)
                                            ▼ none
                      StartExecution(deterministic name) ─► started
                                            └─ ExecutionAlreadyExists ─► duplicate

Everything here is a pure function of its arguments; the Step Functions client is passed in, so the
unit tests use a fake and the integration tests use moto. Only boto3/botocore, which the Lambda
runtime provides, are imported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from botocore.exceptions import ClientError

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda runtime does not have them
    from mypy_boto3_stepfunctions.client import SFNClient

STATE_MACHINE_ARN_ENV = "STATE_MACHINE_ARN"
DATA_PREFIX_ENV = "DATA_PREFIX"
LOG_LEVEL_ENV = "LOG_LEVEL"
DEFAULT_DATA_PREFIX = "data/raw/"
DEFAULT_LOG_LEVEL = "INFO"

EXPECTED_SOURCE = "aws.s3"
EXPECTED_DETAIL_TYPE = "Object Created"
DATA_SUFFIX = ".csv"

# Step Functions accepts 1-80 characters; this alphabet is the subset that also stays valid in
# CloudWatch log stream names and in the execution ARN without escaping.
MAX_EXECUTION_NAME = 80
NAME_PREFIX = "s3-"
HASH_CHARS = 16
_MAX_STEM = MAX_EXECUTION_NAME - len(NAME_PREFIX) - 1 - HASH_CHARS
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")

LOGGER = logging.getLogger(__name__)

Status = Literal["started", "ignored", "duplicate", "skipped"]


class MalformedEventError(ValueError):
    """The Lambda received something that is not an S3 "Object Created" EventBridge event."""


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete (Terraform sets it in terraform/trigger.tf)."""


class TriggerResult(TypedDict):
    """What the Lambda returns, one per event; unused fields are None."""

    status: Status
    execution_name: str | None
    execution_arn: str | None
    reason: str


@dataclass(frozen=True)
class Config:
    """Settings read from the function's environment variables."""

    state_machine_arn: str
    data_prefix: str = DEFAULT_DATA_PREFIX


@dataclass(frozen=True)
class S3Upload:
    """The fields of an S3 EventBridge event that the trigger uses.

    `key` is kept verbatim: EventBridge delivers the key as stored, unlike S3 event
    notifications (SQS/SNS/Lambda) which URL-encode it, so decoding here would corrupt a real
    `+` or `%` in a file name.
    """

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


def load_config(environ: Mapping[str, str]) -> Config:
    """Read the settings from `environ`; fail clearly when the state machine ARN is missing."""
    arn = environ.get(STATE_MACHINE_ARN_ENV, "").strip()
    if not arn:
        raise ConfigurationError(
            f"environment variable {STATE_MACHINE_ARN_ENV} is not set: it must hold the ARN of "
            "the training state machine (Terraform sets it on the trigger function)"
        )
    prefix = environ.get(DATA_PREFIX_ENV, DEFAULT_DATA_PREFIX).strip().lstrip("/")
    # "data/raw" must not also match "data/raw-old/..."; an empty prefix means the whole bucket.
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return Config(state_machine_arn=arn, data_prefix=prefix)


def log_level(value: str | None) -> int:
    """Map a LOG_LEVEL value to a logging level; an unknown value falls back to INFO."""
    level = logging.getLevelName((value or DEFAULT_LOG_LEVEL).strip().upper())
    return level if isinstance(level, int) else logging.INFO


def _required_str(mapping: Mapping[str, Any], field: str, path: str) -> str:
    value = mapping.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedEventError(f"event field {path} must be a non-empty string, got {value!r}")
    return value


def _optional_str(mapping: Mapping[str, Any], field: str, path: str) -> str | None:
    value = mapping.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedEventError(f"event field {path} must be a non-empty string, got {value!r}")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedEventError(f"event field {path} must be an object, got {value!r}")
    return value


def parse_event(event: Any) -> S3Upload:
    """Turn an EventBridge S3 event into an `S3Upload`, or raise `MalformedEventError`."""
    root = _mapping(event, "(event)")
    detail = _mapping(root.get("detail"), "detail")
    bucket = _mapping(detail.get("bucket"), "detail.bucket")
    obj = _mapping(detail.get("object"), "detail.object")

    size = obj.get("size")
    # bool is an int subclass; a JSON true is not a size.
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise MalformedEventError(
            f"event field detail.object.size must be a non-negative integer, got {size!r}"
        )
    version_id = _optional_str(obj, "version-id", "detail.object.version-id")
    sequencer = _optional_str(obj, "sequencer", "detail.object.sequencer")
    if version_id is None and sequencer is None:
        # Without either, two uploads of the same key would get the same execution name.
        raise MalformedEventError(
            "event has neither detail.object.version-id nor detail.object.sequencer, so the "
            "upload cannot be told apart from an earlier one of the same key"
        )
    return S3Upload(
        bucket=_required_str(bucket, "name", "detail.bucket.name"),
        key=_required_str(obj, "key", "detail.object.key"),
        size=size,
        version_id=version_id,
        sequencer=sequencer,
        # S3 spells it "etag"; moto's emulated EventBridge event spells it "eTag".
        etag=_optional_str(obj, "etag", "detail.object.etag")
        or _optional_str(obj, "eTag", "detail.object.eTag"),
        source=_required_str(root, "source", "source"),
        detail_type=_required_str(root, "detail-type", "detail-type"),
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
    sequencer; it changes nothing on AWS. JSON keeps the fields unambiguous: keys may hold any
    character.
    """
    identity = [upload.bucket, upload.key, upload.version_id, upload.sequencer, upload.etag]
    return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()


def execution_name(upload: S3Upload) -> str:
    """Deterministic, readable Step Functions execution name for this upload.

    `s3-<file stem, sanitised and truncated>-<16 hex of the fingerprint>`, at most 80 characters
    of `[A-Za-z0-9_-]`.
    """
    name = PurePosixPath(upload.key).name
    if name.lower().endswith(DATA_SUFFIX):
        name = name[: -len(DATA_SUFFIX)]
    stem = _UNSAFE_NAME_CHARS.sub("-", name).strip("-")[:_MAX_STEM].rstrip("-") or "upload"
    return f"{NAME_PREFIX}{stem}-{upload_fingerprint(upload)[:HASH_CHARS]}"


def execution_input(upload: S3Upload) -> str:
    """The JSON input of the run: only the data location; the state machine has the defaults."""
    return json.dumps({"data_uri": upload.uri}, sort_keys=True)


def execution_arn(state_machine_arn: str, name: str) -> str:
    """ARN of the standard-workflow execution `name` of `state_machine_arn`."""
    head, sep, machine = state_machine_arn.partition(":stateMachine:")
    if not sep or not machine:
        raise ConfigurationError(
            f"{STATE_MACHINE_ARN_ENV} is not a state machine ARN: {state_machine_arn!r}"
        )
    return f"{head}:execution:{machine}:{name}"


def _result(
    status: Status, reason: str, name: str | None = None, arn: str | None = None
) -> TriggerResult:
    return {"status": status, "execution_name": name, "execution_arn": arn, "reason": reason}


def start_run(client: SFNClient, state_machine_arn: str, upload: S3Upload) -> TriggerResult:
    """Start the run for `upload` unless it already ran or another run is in progress.

    AWS errors other than ExecutionAlreadyExists propagate, so the invocation fails and the
    Lambda's retry and failure destination see the event.
    """
    name = execution_name(upload)
    running = client.list_executions(
        stateMachineArn=state_machine_arn, statusFilter="RUNNING", maxResults=1
    )["executions"]
    if running:
        current = running[0]
        if current["name"] == name:
            return _result(
                "duplicate",
                f"execution {name} for {upload.uri} is already running",
                name,
                current["executionArn"],
            )
        # One run at a time: two pipelines would race to register and deploy a model. The upload
        # stays in S3, so the reason tells the operator how to run it later.
        return _result(
            "skipped",
            f"execution {current['name']} is already running; {upload.uri} was not started. "
            f"When it finishes, upload the file again or run `make start DATA={upload.uri}`",
            name,
        )
    try:
        response = client.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=execution_input(upload)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        return _result(
            "duplicate",
            f"execution {name} for {upload.uri} already exists: this event was handled before",
            name,
            execution_arn(state_machine_arn, name),
        )
    return _result("started", f"started for {upload.uri}", name, response["executionArn"])


def log_decision(result: TriggerResult, upload: S3Upload | None = None) -> None:
    """Write one JSON line per decision so CloudWatch Logs Insights can filter on fields."""
    record: dict[str, Any] = {"message": "trigger decision", **result}
    if upload is not None:
        record.update(bucket=upload.bucket, key=upload.key, version_id=upload.version_id)
    LOGGER.info(json.dumps(record, sort_keys=True))


def handle_event(event: Any, client: SFNClient, config: Config) -> TriggerResult:
    """The whole decision for one event: parse, filter, start; logs the outcome."""
    try:
        upload = parse_event(event)
    except MalformedEventError as error:
        # Still fail the invocation (the failure destination keeps the event), but leave a line
        # that says why next to the decisions.
        LOGGER.error(json.dumps({"message": "malformed event", "error": str(error)}))
        raise
    reason = ignore_reason(upload, config.data_prefix)
    if reason is not None:
        result = _result("ignored", reason)
    else:
        result = start_run(client, config.state_machine_arn, upload)
    log_decision(result, upload)
    return result
