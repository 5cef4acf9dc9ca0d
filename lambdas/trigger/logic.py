"""Decide what one queued S3 "Object Created" event means for the training state machine.

Uploads reach the function through an SQS FIFO queue with one message group (terraform/trigger.tf),
read by a Lambda event source mapping with batch size 1. For a FIFO queue Lambda hands one batch
per message group at a time to the function, in order, and the next message of the group is not
received while one is in flight ("Using Lambda with Amazon SQS",
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html); so the message of the current run is
the queue's lock:

    SQS record ─► parse ─► not an S3 event ───────────────────────────► rejected: notify, delete
                     │  ─► ignore_reason? (empty, not .csv, ...) ──────► ignored:  notify, delete
                     ▼
     DescribeExecution(deterministic name) ─► RUNNING ─────────────────► running:  keep
                     │                     ─► ended ───────────────────► done:     delete
                     ▼ does not exist
     ListExecutions(RUNNING), minus deploy-only ones ─► a training run ► waiting:  keep
                     ▼ none
     StartExecution(deterministic name) ─────────────────────────────────► started: keep
                     └─ ExecutionAlreadyExists ─────────────────────────► done:     delete

"keep" reports the message as a batch item failure after moving its visibility to
RETRY_DELAY_SECONDS: it comes back after that delay and blocks the uploads behind it until its run
has ended. Nothing is ever dropped: a message is deleted only once its run has ended, or after a
notification said why it will not run. Deploy-only executions (started by Model Registry approval
or rejection events, recognised by their input keys) never block an upload.

Everything here is a pure function of its arguments; the AWS clients are passed in, so the unit
tests use fakes and the integration tests use moto. Only boto3/botocore, which the Lambda runtime
provides, are imported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

from botocore.exceptions import ClientError

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda runtime does not have them
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_stepfunctions.client import SFNClient

STATE_MACHINE_ARN_ENV = "STATE_MACHINE_ARN"
NOTIFICATION_TOPIC_ARN_ENV = "NOTIFICATION_TOPIC_ARN"
QUEUE_URL_ENV = "QUEUE_URL"
RETRY_DELAY_ENV = "RETRY_DELAY_SECONDS"
DEPLOY_ONLY_INPUT_KEYS_ENV = "DEPLOY_ONLY_INPUT_KEYS"
DATA_PREFIX_ENV = "DATA_PREFIX"
LOG_LEVEL_ENV = "LOG_LEVEL"
DEFAULT_DATA_PREFIX = "data/raw/"
DEFAULT_LOG_LEVEL = "INFO"
#: ChangeMessageVisibility accepts 0 to 43,200 seconds (12 hours).
MAX_VISIBILITY_SECONDS = 43_200

EXPECTED_SOURCE = "aws.s3"
EXPECTED_DETAIL_TYPE = "Object Created"
DATA_SUFFIX = ".csv"
#: SNS Publish: a subject is at most 100 printable ASCII characters.
MAX_SUBJECT = 100

# Step Functions accepts 1-80 characters; this alphabet is the subset that also stays valid in
# CloudWatch log stream names and in the execution ARN without escaping.
MAX_EXECUTION_NAME = 80
NAME_PREFIX = "s3-"
HASH_CHARS = 16
_MAX_STEM = MAX_EXECUTION_NAME - len(NAME_PREFIX) - 1 - HASH_CHARS
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_UNSAFE_SUBJECT_CHARS = re.compile(r"[^ -~]+")

LOGGER = logging.getLogger(__name__)

Status = Literal["started", "running", "waiting", "done", "ignored", "rejected"]
#: Outcomes that leave the message in the queue, so the uploads behind it keep waiting.
KEEP_IN_QUEUE: frozenset[str] = frozenset({"started", "running", "waiting"})


class MalformedEventError(ValueError):
    """The Lambda received something that is not an S3 "Object Created" EventBridge event."""


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete (Terraform sets it in terraform/trigger.tf)."""


class TriggerResult(TypedDict):
    """The decision for one queued message; unused fields are None."""

    status: Status
    execution_name: str | None
    execution_arn: str | None
    reason: str


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    """What the function returns: Lambda's partial batch response (ReportBatchItemFailures)."""

    batchItemFailures: list[BatchItemFailure]


class SQSClient(Protocol):
    """The one SQS call the function makes (boto3-stubs for SQS are not a dev dependency)."""

    def change_message_visibility(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Clients:
    """The function's AWS clients, created once by the handler."""

    stepfunctions: SFNClient
    sns: SNSClient
    sqs: SQSClient


@dataclass(frozen=True)
class Config:
    """Settings read from the function's environment variables."""

    state_machine_arn: str
    notification_topic_arn: str
    data_prefix: str = DEFAULT_DATA_PREFIX
    #: Where a kept message's visibility is changed; without both, it comes back after the
    #: queue's own visibility timeout.
    queue_url: str | None = None
    retry_delay_seconds: int | None = None
    #: Input keys of executions that only deploy or report a registered package.
    deploy_only_input_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueuedMessage:
    """The fields of an SQS record (Lambda's event for an SQS event source) the trigger uses."""

    message_id: str
    receipt_handle: str
    body: str


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


def _required_env(environ: Mapping[str, str], name: str, what: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"environment variable {name} is not set: it must hold {what} (Terraform sets it on "
            "the trigger function)"
        )
    return value


def _retry_delay(environ: Mapping[str, str]) -> int | None:
    text = environ.get(RETRY_DELAY_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > MAX_VISIBILITY_SECONDS:
        raise ConfigurationError(
            f"environment variable {RETRY_DELAY_ENV} must be a whole number of seconds from 0 "
            f"to {MAX_VISIBILITY_SECONDS} (ChangeMessageVisibility's range), got {text!r}"
        )
    return int(text)


def load_config(environ: Mapping[str, str]) -> Config:
    """Read the settings from `environ`; fail clearly when a required one is missing."""
    arn = _required_env(environ, STATE_MACHINE_ARN_ENV, "the ARN of the training state machine")
    topic = _required_env(environ, NOTIFICATION_TOPIC_ARN_ENV, "the ARN of the notification topic")
    prefix = environ.get(DATA_PREFIX_ENV, DEFAULT_DATA_PREFIX).strip().lstrip("/")
    # "data/raw" must not also match "data/raw-old/..."; an empty prefix means the whole bucket.
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    keys = environ.get(DEPLOY_ONLY_INPUT_KEYS_ENV, "")
    return Config(
        state_machine_arn=arn,
        notification_topic_arn=topic,
        data_prefix=prefix,
        queue_url=environ.get(QUEUE_URL_ENV, "").strip() or None,
        retry_delay_seconds=_retry_delay(environ),
        deploy_only_input_keys=tuple(k.strip() for k in keys.split(",") if k.strip()),
    )


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
    """The JSON input of the run: the data location and, when S3 gave one, the uploaded version.

    The version pins the run to this upload: the state machine copies exactly that version, so
    a later upload of the same key (queued behind this one) cannot take its place. The state
    machine has the defaults.
    """
    document = {"data_uri": upload.uri}
    if upload.version_id is not None:
        document["data_version_id"] = upload.version_id
    return json.dumps(document, sort_keys=True)


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


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def parse_record(record: Any) -> QueuedMessage:
    """One record of Lambda's SQS event, or `MalformedEventError` when it is not one."""
    root = _mapping(record, "Records[]")
    return QueuedMessage(
        message_id=_required_str(root, "messageId", "Records[].messageId"),
        receipt_handle=_required_str(root, "receiptHandle", "Records[].receiptHandle"),
        body=str(root.get("body") or ""),
    )


def parse_records(event: Any) -> list[QueuedMessage]:
    """All records of Lambda's SQS event, in the order Lambda delivered them."""
    records = _mapping(event, "(event)").get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedEventError(
            "event has no Records: the trigger reads S3 events from its SQS queue (an event "
            "source mapping), not from EventBridge directly"
        )
    return [parse_record(record) for record in records]


def is_deploy_only(execution_input_text: str | None, deploy_only_keys: tuple[str, ...]) -> bool:
    """True when an execution's input names a registry event, so it trains nothing."""
    try:
        document = json.loads(execution_input_text or "")
    except ValueError:
        return False
    return isinstance(document, dict) and any(key in document for key in deploy_only_keys)


def _running_executions(client: SFNClient, state_machine_arn: str) -> Iterator[dict[str, Any]]:
    pages = client.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn, statusFilter="RUNNING"
    )
    for page in pages:
        for execution in page["executions"]:
            yield dict(execution)


def blocking_run(
    client: SFNClient, state_machine_arn: str, own_name: str, deploy_only_keys: tuple[str, ...]
) -> dict[str, Any] | None:
    """The first RUNNING execution that trains (not deploy-only, not this upload's), or None."""
    for execution in _running_executions(client, state_machine_arn):
        if execution["name"] == own_name:
            continue  # ListExecutions may lag DescribeExecution; never wait for oneself
        if deploy_only_keys:
            described = client.describe_execution(executionArn=execution["executionArn"])
            if is_deploy_only(described.get("input"), deploy_only_keys):
                continue
        return execution
    return None


def start_run(client: SFNClient, config: Config, upload: S3Upload) -> TriggerResult:
    """Start the run for `upload`, or say why it must wait or was handled before.

    AWS errors other than ExecutionDoesNotExist / ExecutionAlreadyExists propagate: the
    invocation fails and the message comes back after the queue's visibility timeout.
    """
    name = execution_name(upload)
    own_arn = execution_arn(config.state_machine_arn, name)
    try:
        own = client.describe_execution(executionArn=own_arn)
    except ClientError as error:
        if _error_code(error) != "ExecutionDoesNotExist":
            raise
    else:
        if own["status"] == "RUNNING":
            return _result(
                "running", f"execution {name} for {upload.uri} is running", name, own_arn
            )
        return _result(
            "done",
            f"execution {name} for {upload.uri} has ended ({own['status']}): this upload is "
            "handled",
            name,
            own_arn,
        )

    blocker = blocking_run(client, config.state_machine_arn, name, config.deploy_only_input_keys)
    if blocker is not None:
        # One run at a time: two pipelines would race to register and deploy a model. The
        # message stays in the queue, so this upload runs when the other run has ended.
        return _result(
            "waiting",
            f"execution {blocker['name']} is running; {upload.uri} waits in the queue and "
            "starts when it has ended",
            name,
        )
    try:
        response = client.start_execution(
            stateMachineArn=config.state_machine_arn, name=name, input=execution_input(upload)
        )
    except ClientError as error:
        if _error_code(error) != "ExecutionAlreadyExists":
            raise
        return _result(
            "done",
            f"execution {name} for {upload.uri} already exists: this upload was handled before",
            name,
            own_arn,
        )
    return _result("started", f"started for {upload.uri}", name, response["executionArn"])


def notification_subject(text: str) -> str:
    """An SNS subject: printable ASCII, at most 100 characters."""
    subject = _UNSAFE_SUBJECT_CHARS.sub("?", text).strip()
    return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 3] + "..."


def notify_not_run(sns: SNSClient, topic_arn: str, what: str, result: TriggerResult) -> None:
    """Tell the topic's subscribers that an upload will not be trained on, and why."""
    status = result["status"]
    message = {
        "status": status,
        "upload": what,
        "reason": result["reason"],
        "action": "Upload a non-empty .csv file under the data prefix to start a run.",
    }
    sns.publish(
        TopicArn=topic_arn,
        Subject=notification_subject(f"Upload not run ({status}): {what}"),
        Message=json.dumps(message, indent=2, sort_keys=True),
    )


def decide(message: QueuedMessage, clients: Clients, config: Config) -> TriggerResult:
    """The whole decision for one queued message; notifies when the upload will not run."""
    try:
        upload = parse_event(json.loads(message.body))
    except ValueError as error:  # MalformedEventError and json.JSONDecodeError
        # Retrying cannot repair it, and in a FIFO group it would hold up every later upload.
        result = _result("rejected", f"message {message.message_id} is not an S3 event: {error}")
        notify_not_run(clients.sns, config.notification_topic_arn, message.message_id, result)
        log_decision(result, message)
        return result
    reason = ignore_reason(upload, config.data_prefix)
    if reason is not None:
        result = _result("ignored", reason)
        notify_not_run(clients.sns, config.notification_topic_arn, upload.uri, result)
    else:
        result = start_run(clients.stepfunctions, config, upload)
    log_decision(result, message, upload)
    return result


def keep_in_queue(sqs: SQSClient, config: Config, message: QueuedMessage) -> None:
    """Make `message` visible again after the retry delay instead of the visibility timeout."""
    if config.queue_url is None or config.retry_delay_seconds is None:
        return
    try:
        sqs.change_message_visibility(
            QueueUrl=config.queue_url,
            ReceiptHandle=message.receipt_handle,
            VisibilityTimeout=config.retry_delay_seconds,
        )
    except ClientError as error:
        # The message still comes back, after the queue's own visibility timeout.
        LOGGER.warning(
            json.dumps(
                {
                    "message": "could not change the message's visibility",
                    "message_id": message.message_id,
                    "error": str(error),
                }
            )
        )


def handle_batch(event: Any, clients: Clients, config: Config) -> BatchResponse:
    """Decide every record in order; report those that stay in the queue as batch item failures.

    For a FIFO queue, the records after one that stays are not processed and are reported too,
    as the Lambda developer guide asks, so the order of the group is kept.
    """
    try:
        messages = parse_records(event)
    except MalformedEventError as error:
        LOGGER.error(json.dumps({"message": "malformed event", "error": str(error)}))
        raise
    failures: list[BatchItemFailure] = []
    for message in messages:
        if not failures:
            result = decide(message, clients, config)
            if result["status"] not in KEEP_IN_QUEUE:
                continue
            keep_in_queue(clients.sqs, config, message)
        failures.append({"itemIdentifier": message.message_id})
    return {"batchItemFailures": failures}


def log_decision(
    result: TriggerResult, message: QueuedMessage, upload: S3Upload | None = None
) -> None:
    """Write one JSON line per decision so CloudWatch Logs Insights can filter on fields."""
    record: dict[str, Any] = {
        "message": "trigger decision",
        "message_id": message.message_id,
        **result,
    }
    if upload is not None:
        record.update(bucket=upload.bucket, key=upload.key, version_id=upload.version_id)
    LOGGER.info(json.dumps(record, sort_keys=True))
