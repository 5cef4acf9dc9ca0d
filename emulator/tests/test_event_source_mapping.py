"""The SQS event source mapping poller (emulator/aws/sqs.py) against moto's SQS.

A small in-process Lambda records every event it receives in a JSON-lines file and fails,
or reports batch item failures, when a message's body asks it to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.aws import sqs
from emulator.aws.sqs import messages_to_delete
from emulator.tests.helpers import LAMBDA_TRUST, zip_files

pytestmark = pytest.mark.integration

REGION = "us-east-1"
DEADLINE_SECONDS = 30.0
RECORDER = """
import json, os, time

def lambda_handler(event, context):
    bodies = [json.loads(r["body"]) for r in event["Records"]]
    with open(os.environ["RECORD_PATH"], "a") as sink:
        sink.write(json.dumps({"at": time.time(), "records": event["Records"]}) + "\\n")
    if any(b.get("fail") for b in bodies):
        raise RuntimeError("asked to fail")
    keep = [r["messageId"] for r, b in zip(event["Records"], bodies) if b.get("keep")]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in keep]}
"""


@pytest.fixture
def execute_state_machines() -> bool:
    return False  # no state machine here: moto's default


@pytest.fixture
def aws(clients: Callable[[str], Any]) -> Callable[[str], Any]:
    """moto with the extensions (``emulator/tests/fixtures.py``: one client per service)."""
    return clients


def _queue(aws: Callable[[str], Any], name: str, **attributes: str) -> tuple[str, str]:
    url = aws("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, str(arn["Attributes"]["QueueArn"])


def _function(aws: Callable[[str], Any], record_path: Path, timeout: int = 3) -> str:
    role = aws("iam").create_role(
        RoleName="fn",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
    )["Role"]["Arn"]
    return str(
        aws("lambda").create_function(
            FunctionName="recorder",
            Runtime="python3.12",
            Role=role,
            Handler="app.lambda_handler",
            Timeout=timeout,
            Code={"ZipFile": zip_files({"app.py": RECORDER})},
            Environment={"Variables": {"RECORD_PATH": str(record_path)}},
        )["FunctionArn"]
    )


def _invocations(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _eventually(probe: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (result := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def _count(aws: Callable[[str], Any], url: str, attribute: str) -> int:
    response = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])
    return int(response["Attributes"][attribute])


# --------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("payload", "failed", "report", "deleted"),
    [
        (None, False, True, ["a", "b"]),
        ({}, False, True, ["a", "b"]),
        ({"batchItemFailures": []}, False, True, ["a", "b"]),
        ({"batchItemFailures": None}, False, True, ["a", "b"]),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, False, True, ["a"]),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, False, False, ["a", "b"]),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, False, True, []),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, False, True, []),
        ({"batchItemFailures": [{"id": "b"}]}, False, True, []),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, False, True, []),
        ({"batchItemFailures": "b"}, False, True, []),
        ("ok", False, True, []),
        (None, True, True, []),
        (None, True, False, []),
    ],
)
def test_messages_to_delete_follows_lambdas_success_and_failure_conditions(
    payload: Any, failed: bool, report: bool, deleted: list[str]
) -> None:
    assert messages_to_delete(["a", "b"], payload, failed, report) == deleted


# --------------------------------------------------------------------------- FIFO


def test_a_fifo_group_is_delivered_in_order_one_batch_at_a_time(
    aws: Callable[[str], Any], tmp_path: Path
) -> None:
    url, arn = _queue(aws, "q.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for n in range(5):
        aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), MessageGroupId="g")
    record = tmp_path / "calls.jsonl"
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=_function(aws, record), BatchSize=1
    )

    calls = _eventually(lambda: len(_invocations(record)) >= 5 and _invocations(record), "calls")
    _eventually(lambda: _count(aws, url, "ApproximateNumberOfMessagesNotVisible") == 0, "deletes")

    assert [len(c["records"]) for c in calls] == [1] * 5
    records = [c["records"][0] for c in calls]
    assert [json.loads(r["body"])["n"] for r in records] == [0, 1, 2, 3, 4]
    first = records[0]
    assert (first["eventSource"], first["eventSourceARN"], first["awsRegion"]) == (
        "aws:sqs",
        arn,
        REGION,
    )
    assert first["attributes"]["MessageGroupId"] == "g"
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SequenceNumber", "MessageDeduplicationId", "SentTimestamp"} <= set(first["attributes"])
    assert _count(aws, url, "ApproximateNumberOfMessages") == 0


def test_a_failed_message_blocks_its_group_until_the_visibility_timeout_then_redrives(
    aws: Callable[[str], Any], tmp_path: Path
) -> None:
    dead_url, dead_arn = _queue(aws, "dead.fifo", FifoQueue="true")
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 2})
    url, arn = _queue(
        aws,
        "q.fifo",
        FifoQueue="true",
        ContentBasedDeduplication="true",
        VisibilityTimeout="3",
        RedrivePolicy=redrive,
    )
    queues = aws("sqs")
    queues.send_message(QueueUrl=url, MessageBody=json.dumps({"fail": True}), MessageGroupId="g")
    queues.send_message(QueueUrl=url, MessageBody=json.dumps({"n": "next"}), MessageGroupId="g")
    record = tmp_path / "calls.jsonl"
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=_function(aws, record), BatchSize=1
    )

    calls = _eventually(lambda: len(_invocations(record)) >= 3 and _invocations(record), "calls")

    bodies = [json.loads(c["records"][0]["body"]) for c in calls]
    assert bodies == [{"fail": True}, {"fail": True}, {"n": "next"}]
    counts = [c["records"][0]["attributes"]["ApproximateReceiveCount"] for c in calls[:2]]
    assert counts == ["1", "2"]
    # Not before the visibility timeout: the failed message is hidden, its group with it.
    assert calls[1]["at"] - calls[0]["at"] >= 2.5
    dead = _eventually(lambda: queues.receive_message(QueueUrl=dead_url).get("Messages"), "redrive")
    assert json.loads(dead[0]["Body"]) == {"fail": True}


# --------------------------------------------------------------------------- batches


def test_report_batch_item_failures_keeps_only_the_failed_message(
    aws: Callable[[str], Any], tmp_path: Path
) -> None:
    url, arn = _queue(aws, "standard", VisibilityTimeout="30")
    for body in ({"n": 1}, {"keep": True}, {"n": 3}):
        aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(body))
    record = tmp_path / "calls.jsonl"
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=_function(aws, record),
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    _eventually(lambda: _invocations(record), "the call")
    assert sqs.wait_idle(DEADLINE_SECONDS)

    [call] = _invocations(record)
    assert len(call["records"]) == 3
    assert _count(aws, url, "ApproximateNumberOfMessagesNotVisible") == 1
    assert _count(aws, url, "ApproximateNumberOfMessages") == 0


def test_without_report_batch_item_failures_a_returned_list_deletes_all(
    aws: Callable[[str], Any], tmp_path: Path
) -> None:
    url, arn = _queue(aws, "standard", VisibilityTimeout="30")
    aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"keep": True}))
    record = tmp_path / "calls.jsonl"
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=_function(aws, record), BatchSize=10
    )

    _eventually(lambda: _invocations(record), "the call")
    assert sqs.wait_idle(DEADLINE_SECONDS)

    assert _count(aws, url, "ApproximateNumberOfMessagesNotVisible") == 0


# --------------------------------------------------------------------------- API rules, lifecycle


def test_create_refuses_a_visibility_timeout_shorter_than_the_function_timeout(
    aws: Callable[[str], Any], tmp_path: Path
) -> None:
    _, arn = _queue(aws, "short", VisibilityTimeout="10")
    function = _function(aws, tmp_path / "calls.jsonl", timeout=30)

    with pytest.raises(ClientError, match="Queue visibility timeout: 10 seconds is less than"):
        aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=function)


def test_sending_does_not_invoke_the_function_moto_style(
    aws: Callable[[str], Any], tmp_path: Path
) -> None:
    url, arn = _queue(aws, "standard", VisibilityTimeout="30")
    record = tmp_path / "calls.jsonl"
    aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=_function(aws, record), BatchSize=1
    )
    assert sqs.reset(timeout=DEADLINE_SECONDS)

    aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1}))
    time.sleep(0.5)

    # Stopped: nothing consumed the message (moto alone would have invoked inside SendMessage).
    assert _invocations(record) == []
    assert _count(aws, url, "ApproximateNumberOfMessages") == 1

    sqs.install()
    _eventually(lambda: _invocations(record), "the call after install()")


def test_redrive_policy_reads_back_as_compact_json(aws: Callable[[str], Any]) -> None:
    _, dead_arn = _queue(aws, "dead")
    policy = json.dumps(
        {"deadLetterTargetArn": dead_arn, "maxReceiveCount": 370}, separators=(",", ":")
    )
    url, _ = _queue(aws, "source", RedrivePolicy=policy)

    read = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])

    assert read["Attributes"]["RedrivePolicy"] == policy
