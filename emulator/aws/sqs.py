"""Lambda's SQS event source mappings, run as the Lambda service runs them.

moto 5.2.5 stores event source mappings but only calls the function from inside ``SendMessage``
(``moto/sqs/models.py``, ``Queue.add_message``): once, synchronously in the sender's thread,
with ``ApproximateReceiveCount`` always "1", making a failed batch visible again at once and
never polling again, so a message left in the queue is never delivered. This module replaces
that with the poller the Lambda service runs:

    poller thread ─► every enabled SQS mapping ─► ReceiveMessage(BatchSize, queue's visibility
          │              timeout) on moto's queue ─► one worker per batch ─► the function, in
          │              process (``lambda_.invoke_in_process``) ─► delete what succeeded
          └─ stop()/reset(): the poller and its workers end, each within its deadline

What the Lambda service does, with the AWS documents it comes from:

- "Lambda polls the queue and invokes your function synchronously with an event that contains
  queue messages ... When your function successfully processes a batch, Lambda deletes its
  messages from the queue"; on an error "all messages in that batch become visible in the queue
  again after the visibility timeout expires"; Lambda receives with the queue's visibility
  timeout (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
- FIFO queues: "only one Lambda instance will be processing messages from a specific message
  group ID" at a time, in order
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/fifo-queue-lambda-behavior.html).
  moto's ``receive_message`` already withholds a group while one of its messages is in flight
  (``Queue.pending_message_groups``), keeps the group's order, and moves a message to the
  redrive policy's dead-letter queue once its receive count reached ``maxReceiveCount``; this
  module relies on those and does not re-implement them.
- ``ReportBatchItemFailures``: only the messages the function lists stay in the queue; the batch
  is a complete failure when the function fails, or when an ``itemIdentifier`` is missing,
  empty, not a string, or not a message of the batch; it is a complete success when the response
  or its ``batchItemFailures`` is empty or null
  (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). A response
  that is not a JSON object is treated as a complete failure: the stricter reading, since the
  document lists only objects as successes.
- CreateEventSourceMapping refuses a queue whose visibility timeout is shorter than the
  function's timeout ("Queue visibility timeout: ... is less than Function timeout: ...";
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html asks for at least the
  function's timeout and recommends six times).
- Lambda starts with five concurrent batches per standard-queue mapping (``ScalingConfig``'s
  ``MaximumConcurrency`` caps it when set); a FIFO queue adds at most one per message group.

Also here, because the trigger's queue is the first with a redrive policy: GetQueueAttributes
answers RedrivePolicy as compact JSON, as SQS does (moto adds spaces, a perpetual plan diff).

Not modelled: long polling and the scaling ramp (the poller asks every ``POLL_INTERVAL_SECONDS``),
filter criteria, and mappings to Kinesis or DynamoDB streams.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

LOGGER = logging.getLogger(__name__)

#: How often the poller asks each queue; Lambda long-polls, so a message is picked up at once.
POLL_INTERVAL_SECONDS = 0.05
#: Concurrent batches per mapping when ScalingConfig sets no MaximumConcurrency.
DEFAULT_CONCURRENT_BATCHES = 5
#: Longest stop() waits for the poller thread itself.
STOP_WAIT_SECONDS = 10.0
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


# --------------------------------------------------------------------------- pure functions


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda writes it in the event (camel case, list fields present)."""
    out: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if value.get("StringValue") is not None:
        out["stringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        binary = value["BinaryValue"]
        out["binaryValue"] = (
            base64.b64encode(binary).decode() if isinstance(binary, bytes) else str(binary)
        )
    return out


def sqs_record(message: Any, queue_arn: str, region: str, fifo: bool) -> dict[str, Any]:
    """One record of the event Lambda sends for an SQS message (with-sqs.html's examples)."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if fifo:
        attributes.update(
            SequenceNumber=str(message.sequence_number or ""),
            MessageGroupId=str(message.group_id),
            MessageDeduplicationId=str(message.deduplication_id or ""),
        )
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in (message.message_attributes or {}).items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def messages_to_delete(
    message_ids: list[str],
    payload: Any,
    failed: bool,
    report_batch_item_failures: bool,
) -> list[str]:
    """The messages Lambda deletes after invoking with a batch (services-sqs-errorhandling)."""
    if failed:
        return []
    if not report_batch_item_failures or payload is None or payload == {}:
        return list(message_ids)
    if not isinstance(payload, dict):
        return []
    items = payload.get("batchItemFailures")
    if items is None:
        return list(message_ids)
    if not isinstance(items, list):
        return []
    keep: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return []  # a bad item fails the whole batch
        keep.add(identifier)
    return [i for i in message_ids if i not in keep]


def concurrency_limit(mapping: Any) -> int:
    """Most batches of one mapping in flight at once."""
    scaling = getattr(mapping, "scaling_config", None) or {}
    maximum = scaling.get("MaximumConcurrency") if isinstance(scaling, dict) else None
    return int(maximum) if maximum else DEFAULT_CONCURRENT_BATCHES


# --------------------------------------------------------------------------- moto's state


def _lambda_backends() -> Iterator[Any]:
    # moto keeps functions in one of two backends, depending on its `lambda.use_docker` config.
    from moto.awslambda.models import lambda_backends
    from moto.awslambda_simple.models import lambda_simple_backends

    # dict.values: BackendDict's own accessors create backends; only existing ones matter here.
    all_backends: tuple[dict[str, Any], ...] = (lambda_backends, lambda_simple_backends)
    for backends in all_backends:
        for regions in list(dict.values(backends)):
            yield from list(dict.values(regions))


def sqs_mappings() -> Iterator[tuple[Any, Any]]:
    """Every enabled event source mapping on an SQS queue, with its Lambda backend."""
    for backend in _lambda_backends():
        for mapping in list(backend._event_source_mappings.values()):
            if mapping.enabled and mapping.event_source_arn.split(":")[2] == "sqs":
                yield backend, mapping


def _queue(queue_arn: str) -> tuple[Any, Any] | None:
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":", 5)
    if account not in dict.keys(sqs_backends):
        return None
    backend = sqs_backends[account][region]
    queue = backend.queues.get(name)
    return (backend, queue) if queue is not None else None


# --------------------------------------------------------------------------- the poller


@dataclass
class _Poller:
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    workers: dict[str, set[threading.Thread]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def in_flight(self, mapping_id: str) -> int:
        with self.lock:
            alive = {t for t in self.workers.get(mapping_id, set()) if t.is_alive()}
            self.workers[mapping_id] = alive
            return len(alive)

    def all_workers(self) -> list[threading.Thread]:
        with self.lock:
            return [t for threads in self.workers.values() for t in threads]


_poller = _Poller()
_install_lock = threading.Lock()
_patched = False


def _deliver(backend: Any, mapping: Any, sqs: Any, queue: Any, messages: list[Any]) -> None:
    """Invoke the function with one batch, then delete what Lambda would delete."""
    from emulator.aws.lambda_ import invoke_in_process

    fn = backend.get_function(mapping.function_arn)
    event = {
        "Records": [
            sqs_record(m, queue.queue_arn, queue.region, bool(queue.fifo_queue)) for m in messages
        ]
    }
    invocation = invoke_in_process(fn, event)
    report = REPORT_BATCH_ITEM_FAILURES in (mapping.function_response_types or [])
    ids = [m.id for m in messages]
    handles = {m.id: m.receipt_handle for m in messages}
    for message_id in messages_to_delete(
        ids, invocation.payload, invocation.error is not None, report
    ):
        try:
            sqs.delete_message(queue.name, handles[message_id])
        except Exception:  # gone already: the function deleted it, or the queue was purged
            LOGGER.debug("message %s was already gone", message_id, exc_info=True)


def poll_once() -> int:
    """One pass over every mapping; returns how many batches were handed to workers."""
    started = 0
    for backend, mapping in sqs_mappings():
        found = _queue(mapping.event_source_arn)
        if found is None:
            continue  # AWS disables a mapping whose queue is gone; nothing to receive here
        sqs, queue = found
        while _poller.in_flight(mapping.uuid) < concurrency_limit(mapping):
            messages = sqs.receive_message(
                queue.name,
                int(mapping.batch_size),
                0,
                int(queue.visibility_timeout),
                message_attribute_names=["All"],
            )
            if not messages:
                break
            worker = threading.Thread(
                target=_run_worker,
                args=(backend, mapping, sqs, queue, messages),
                name=f"esm-{mapping.uuid[:8]}",
                daemon=True,
            )
            with _poller.lock:
                _poller.workers.setdefault(mapping.uuid, set()).add(worker)
            worker.start()
            started += 1
    return started


def _run_worker(backend: Any, mapping: Any, sqs: Any, queue: Any, messages: list[Any]) -> None:
    try:
        _deliver(backend, mapping, sqs, queue, messages)
    except Exception:  # the messages stay in the queue and come back, as on AWS
        LOGGER.exception("event source mapping %s: delivery failed", mapping.uuid)


def _poll_forever(stop_event: threading.Event) -> None:
    while not stop_event.wait(POLL_INTERVAL_SECONDS):
        try:
            poll_once()
        except Exception:  # e.g. moto's state reset under the poller by mock_aws
            LOGGER.debug("event source mapping poll failed", exc_info=True)


def _validate_create(original: Any) -> Any:
    def create(self: Any, spec: dict[str, Any]) -> Any:
        arn = str(spec.get("EventSourceArn", ""))
        if arn.startswith("arn:") and arn.split(":")[2] == "sqs":
            found = _queue(arn)
            fn = self.get_function(spec.get("FunctionName", ""))
            if found is not None and int(found[1].visibility_timeout) < int(fn.timeout or 3):
                from moto.awslambda.exceptions import InvalidParameterValueException

                raise InvalidParameterValueException(
                    f"Queue visibility timeout: {found[1].visibility_timeout} seconds is less "
                    f"than Function timeout: {fn.timeout} seconds"
                )
        return original(self, spec)

    return create


def _mappings_seen_by_send(queue: Any) -> dict[str, Any]:
    # SendMessage must not invoke the function itself: the poller is the one consumer.
    return {}


def _remember_mappings(queue: Any, value: dict[str, Any]) -> None:
    queue.__dict__["lambda_event_source_mappings"] = value


def _compact_redrive_policy(original: property) -> property:
    # SQS returns RedrivePolicy as the compact JSON it was given, e.g.
    # {"deadLetterTargetArn":"arn:aws:sqs:...","maxReceiveCount":5} in the GetQueueAttributes
    # examples of the SQS API reference; moto re-serialises it with spaces, which the aws
    # provider shows as a change on every plan of a queue with a redrive policy.
    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original.fget(self)  # type: ignore[misc]
        if result.get("RedrivePolicy") and self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    return property(attributes)


def _patch_moto() -> None:
    global _patched
    if _patched:
        return
    from moto.awslambda.models import LambdaBackend
    from moto.sqs.models import Queue

    Queue.attributes = _compact_redrive_policy(Queue.attributes)  # type: ignore[arg-type,assignment,method-assign]

    # moto assigns Queue.lambda_event_source_mappings in __init__ and reads it in add_message;
    # a class property shadows it (the setter keeps the assigned dict in the instance).
    Queue.lambda_event_source_mappings = property(  # type: ignore[assignment,method-assign]
        _mappings_seen_by_send, _remember_mappings
    )
    LambdaBackend.create_event_source_mapping = _validate_create(  # type: ignore[method-assign]
        LambdaBackend.create_event_source_mapping
    )
    _patched = True


def install() -> None:
    """Take over SQS event source mappings from moto and start polling (idempotent)."""
    with _install_lock:
        _patch_moto()
        if _poller.thread is not None and _poller.thread.is_alive():
            return
        _poller.stop_event.clear()
        _poller.thread = threading.Thread(
            target=_poll_forever, args=(_poller.stop_event,), name="esm-poller", daemon=True
        )
        _poller.thread.start()


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until no batch is in delivery; ``False`` when one still runs at the deadline."""
    deadline = time.monotonic() + timeout
    for worker in _poller.all_workers():
        worker.join(max(0.0, deadline - time.monotonic()))
    return not any(w.is_alive() for w in _poller.all_workers())


def reset(timeout: float = 30.0) -> bool:
    """Stop polling and wait for the batches in flight (each within ``timeout``).

    ``install()`` starts polling again. Returns ``False`` when a thread outlived its deadline.
    """
    with _install_lock:
        _poller.stop_event.set()
        stopped = True
        if _poller.thread is not None:
            _poller.thread.join(STOP_WAIT_SECONDS)
            stopped = not _poller.thread.is_alive()
            _poller.thread = None
        idle = wait_idle(timeout)
        with _poller.lock:
            _poller.workers.clear()
        return stopped and idle
