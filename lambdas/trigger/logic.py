"""Serialize queued requests into state machine executions: one at a time, in order, none lost.

The trigger reads one SQS FIFO queue with one message group per serialized resource (uploads:
one group; deployments: one group per endpoint), through a Lambda event source mapping with batch
size 1. For a FIFO queue Lambda hands one batch per message group at a time to the function, in
order, and the next message of the group is not received while one is in flight ("Using Lambda
with Amazon SQS", https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html); so the message of
the current execution is the queue's lock:

    SQS record ─► job_for (uploads.py / deployments.py) ─► not runnable ─► notify, delete
                     ▼
     DescribeExecution(deterministic name) ─► RUNNING ──────────────────► running:  keep
                     │                     ─► ended ────────────────────► done:     delete
                     ▼ does not exist
     ListExecutions(RUNNING) of the machine ─► another one ──────────────► waiting:  keep
                     ▼ none
     StartExecution(deterministic name) ──────────────────────────────────► started: keep
                     └─ ExecutionAlreadyExists ──────────────────────────► done:     delete

"keep" reports the message as a batch item failure after moving its visibility to
RETRY_DELAY_SECONDS: it comes back after that delay and blocks the messages behind it until its
execution has ended. Nothing is ever dropped: a message is deleted only once its execution has
ended, or after a notification said why it will not run.

Everything here is a pure function of its arguments; the AWS clients are passed in, so the unit
tests use fakes and the integration tests use the emulator. Only boto3/botocore, which the Lambda
runtime provides, and the contracts package are imported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

from botocore.exceptions import ClientError

from contracts import notifications

try:
    from . import deployments, uploads
    from .jobs import Job, MalformedEventError, NotRun, mapping, required_str
except ImportError:  # in the zip, the modules sit side by side at the root
    import deployments  # type: ignore[no-redef,import-not-found,unused-ignore]
    import uploads  # type: ignore[no-redef,import-not-found,unused-ignore]
    from jobs import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        Job,
        MalformedEventError,
        NotRun,
        mapping,
        required_str,
    )

if TYPE_CHECKING:  # the stubs are a dev dependency; the Lambda runtime does not have them
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_stepfunctions.client import SFNClient

STATE_MACHINE_ARN_ENV = "STATE_MACHINE_ARN"
NOTIFICATION_TOPIC_ARN_ENV = "NOTIFICATION_TOPIC_ARN"
QUEUE_URL_ENV = "QUEUE_URL"
RETRY_DELAY_ENV = "RETRY_DELAY_SECONDS"
REQUESTS_ENV = "REQUESTS"
DATA_PREFIX_ENV = "DATA_PREFIX"
ENDPOINT_NAME_ENV = "ENDPOINT_NAME"
LOG_LEVEL_ENV = "LOG_LEVEL"
DEFAULT_DATA_PREFIX = "data/raw/"
DEFAULT_LOG_LEVEL = "INFO"
#: What a queue carries: uploads (and training requests) or deployment requests.
UPLOADS = "uploads"
DEPLOYMENTS = "deployments"
#: Per queue: how a notification names a request that will not run, and what a person can do.
NOT_RUN_TEXT: dict[str, tuple[str, str]] = {
    UPLOADS: (
        "Upload not run",
        "Upload a non-empty .csv file under the data prefix to start a training run.",
    ),
    DEPLOYMENTS: (
        "Deployment request not run",
        "Approve a model package of this project to deploy it (make approve), or redeploy the "
        "previously serving one (make rollback).",
    ),
}
#: ChangeMessageVisibility accepts 0 to 43,200 seconds (12 hours).
MAX_VISIBILITY_SECONDS = 43_200

LOGGER = logging.getLogger(__name__)

Status = Literal["started", "running", "waiting", "done", "ignored", "rejected"]
#: Outcomes that leave the message in the queue, so the messages behind it keep waiting.
KEEP_IN_QUEUE: frozenset[str] = frozenset({"started", "running", "waiting"})


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete (Terraform sets it)."""


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
    #: Reads an upload's metadata (uploads queue) / a package's approval (deployments queue).
    s3: Any = None
    sagemaker: Any = None


@dataclass(frozen=True)
class Config:
    """Settings read from the function's environment variables."""

    state_machine_arn: str
    notification_topic_arn: str
    requests: str = UPLOADS
    data_prefix: str = DEFAULT_DATA_PREFIX
    #: The endpoint whose deployments the deployments queue serializes (rejection reports).
    endpoint_name: str = ""
    #: Where a kept message's visibility is changed; without both, it comes back after the
    #: queue's own visibility timeout.
    queue_url: str | None = None
    retry_delay_seconds: int | None = None


@dataclass(frozen=True)
class QueuedMessage:
    """The fields of an SQS record (Lambda's event for an SQS event source) the trigger uses."""

    message_id: str
    receipt_handle: str
    body: str


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
    arn = _required_env(environ, STATE_MACHINE_ARN_ENV, "the ARN of the state machine to start")
    topic = _required_env(environ, NOTIFICATION_TOPIC_ARN_ENV, "the ARN of the notification topic")
    kind = environ.get(REQUESTS_ENV, UPLOADS).strip()
    if kind not in (UPLOADS, DEPLOYMENTS):
        raise ConfigurationError(
            f"environment variable {REQUESTS_ENV} must be {UPLOADS} or {DEPLOYMENTS}, got {kind!r}"
        )
    endpoint = environ.get(ENDPOINT_NAME_ENV, "").strip()
    if kind == DEPLOYMENTS:
        # Without it, a rejected package that still serves would go unreported.
        endpoint = _required_env(environ, ENDPOINT_NAME_ENV, "the name of the endpoint deployed")
    prefix = environ.get(DATA_PREFIX_ENV, DEFAULT_DATA_PREFIX).strip().lstrip("/")
    # "data/raw" must not also match "data/raw-old/..."; an empty prefix means the whole bucket.
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return Config(
        state_machine_arn=arn,
        notification_topic_arn=topic,
        requests=kind,
        data_prefix=prefix,
        endpoint_name=endpoint,
        queue_url=environ.get(QUEUE_URL_ENV, "").strip() or None,
        retry_delay_seconds=_retry_delay(environ),
    )


def log_level(value: str | None) -> int:
    """Map a LOG_LEVEL value to a logging level; an unknown value falls back to INFO."""
    level = logging.getLevelName((value or DEFAULT_LOG_LEVEL).strip().upper())
    return level if isinstance(level, int) else logging.INFO


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
    root = mapping(record, "Records[]")
    return QueuedMessage(
        message_id=required_str(root, "messageId", "Records[].messageId"),
        receipt_handle=required_str(root, "receiptHandle", "Records[].receiptHandle"),
        body=str(root.get("body") or ""),
    )


def parse_records(event: Any) -> list[QueuedMessage]:
    """All records of Lambda's SQS event, in the order Lambda delivered them."""
    records = mapping(event, "(event)").get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedEventError(
            "event has no Records: the trigger reads its SQS queue (an event source mapping), "
            "not EventBridge directly"
        )
    return [parse_record(record) for record in records]


def _running_executions(client: SFNClient, state_machine_arn: str) -> Iterator[dict[str, Any]]:
    pages = client.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn, statusFilter="RUNNING"
    )
    for page in pages:
        for execution in page["executions"]:
            yield dict(execution)


def blocking_run(client: SFNClient, state_machine_arn: str, own_name: str) -> dict[str, Any] | None:
    """The first RUNNING execution of the machine other than this message's, or None."""
    for execution in _running_executions(client, state_machine_arn):
        if execution["name"] != own_name:  # ListExecutions may lag DescribeExecution
            return execution
    return None


def start_run(client: SFNClient, config: Config, job: Job) -> TriggerResult:
    """Start the execution for `job`, or say why it must wait or was handled before.

    AWS errors other than ExecutionDoesNotExist / ExecutionAlreadyExists propagate: the
    invocation fails and the message comes back after the queue's visibility timeout.
    """
    name = job.name
    own_arn = execution_arn(config.state_machine_arn, name)
    try:
        own = client.describe_execution(executionArn=own_arn)
    except ClientError as error:
        if _error_code(error) != "ExecutionDoesNotExist":
            raise
    else:
        if own["status"] == "RUNNING":
            return _result("running", f"execution {name} for {job.what} is running", name, own_arn)
        return _result(
            "done",
            f"execution {name} for {job.what} has ended ({own['status']}): this message is handled",
            name,
            own_arn,
        )
    blocker = blocking_run(client, config.state_machine_arn, name)
    if blocker is not None:
        # One at a time: two runs would race to register, two deployments to update the
        # endpoint. The message stays in the queue and starts when the other has ended.
        return _result(
            "waiting",
            f"execution {blocker['name']} is running; {job.what} waits in the queue and starts "
            "when it has ended",
            name,
        )
    try:
        response = client.start_execution(
            stateMachineArn=config.state_machine_arn, name=name, input=job.input
        )
    except ClientError as error:
        if _error_code(error) != "ExecutionAlreadyExists":
            raise
        return _result(
            "done",
            f"execution {name} for {job.what} already exists: this message was handled before",
            name,
            own_arn,
        )
    return _result("started", f"started for {job.what}", name, response["executionArn"])


def notification_subject(text: str) -> str:
    """An SNS subject: printable ASCII, at most 100 characters."""
    return notifications.subject(text)


def notify_not_run(
    sns: SNSClient, config: Config, what: str, result: TriggerResult, title: str | None = None
) -> None:
    """Tell the topic's subscribers that a message of ``config``'s queue will not run, and why:
    ``what`` names the request (an upload's URI, a package ARN, or the message id)."""
    status = result["status"]
    heading, action = NOT_RUN_TEXT[config.requests]
    title = title or f"{heading} ({status}): {what}"
    sns.publish(
        TopicArn=config.notification_topic_arn,
        Subject=notification_subject(title),
        Message=notifications.message(
            title,
            result["reason"],
            {"status": status, "request": what, "reason": result["reason"], "action": action},
        ),
    )


def job_for(message: QueuedMessage, clients: Clients, config: Config) -> Job | NotRun:
    body = json.loads(message.body)
    if config.requests == DEPLOYMENTS:
        return deployments.job_for(body, clients.sagemaker, config.endpoint_name)
    return uploads.job_for(body, clients.s3, config.data_prefix)


def decide(message: QueuedMessage, clients: Clients, config: Config) -> TriggerResult:
    """The whole decision for one queued message; notifies when it will not run."""
    try:
        job = job_for(message, clients, config)
    except ValueError as error:  # MalformedEventError and json.JSONDecodeError
        # Retrying cannot repair it, and in a FIFO group it would hold up every later message.
        result = _result("rejected", f"message {message.message_id} is not understood: {error}")
        notify_not_run(clients.sns, config, message.message_id, result)
        log_decision(result, message)
        return result
    if isinstance(job, NotRun):
        result = _result(job.status, job.reason)  # type: ignore[arg-type]
        if job.notify:
            notify_not_run(clients.sns, config, job.what, result, job.title)
        log_decision(result, message)
        return result
    result = start_run(clients.stepfunctions, config, job)
    log_decision(result, message, job.log)
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
    result: TriggerResult, message: QueuedMessage, fields: Mapping[str, Any] | None = None
) -> None:
    """Write one JSON line per decision so CloudWatch Logs Insights can filter on fields."""
    record: dict[str, Any] = {
        "message": "trigger decision",
        "message_id": message.message_id,
        **result,
        **(fields or {}),
    }
    LOGGER.info(json.dumps(record, sort_keys=True))
