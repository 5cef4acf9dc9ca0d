"""The S3 trigger as deployed: S3 ─► EventBridge ─► SQS FIFO ─► event source mapping ─► Lambda.

Everything runs on moto with the project's extensions: EventBridge delivers the S3 events to the
FIFO queue, `emulator/aws/sqs.py` polls it as Lambda does and runs the real trigger zip
in process. moto's Step Functions does not execute the state machine here, so an execution stays
RUNNING until the test stops it: the tests play "a run in progress" with that.

`build_trigger_stack` is the one description of that wiring for the tests (terraform/trigger.tf
is the real one); tests/integration/test_event_delivery.py uses it in server mode too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devtools import build
from emulator.aws import sqs as aws_sqs
from emulator.tests.helpers import LAMBDA_TRUST, allow_rule_to_send
from lambdas.trigger import logic

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "iris-data"
GROUP = "uploads"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
DEPLOY_ONLY_KEYS = ("approved_model_package_arn", "rejected_model_package_arn")
DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class TriggerStack:
    state_machine_arn: str
    queue_url: str
    dead_letter_url: str
    notifications_url: str


def build_trigger_stack(
    client: Callable[[str], Any], *, retry_delay_seconds: int = 1, max_receive_count: int = 50
) -> TriggerStack:
    """Bucket, rule, FIFO queue (+ dead-letter queue), trigger Lambda and its mapping, topic."""
    s3, sfn, sqs = client("s3"), client("stepfunctions"), client("sqs")
    events, lam, sns, iam = client("events"), client("lambda"), client("sns"), client("iam")
    role = iam.create_role(RoleName="trigger", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    machine = sfn.create_state_machine(
        name="training", definition=PASS_DEFINITION, roleArn=role["Role"]["Arn"]
    )["stateMachineArn"]

    def queue_arn(url: str) -> str:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    dead = sqs.create_queue(QueueName="uploads-dlq.fifo", Attributes={"FifoQueue": "true"})
    redrive = {"deadLetterTargetArn": queue_arn(dead["QueueUrl"]), "maxReceiveCount": 0}
    redrive["maxReceiveCount"] = max_receive_count
    queue = sqs.create_queue(
        QueueName="uploads.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "VisibilityTimeout": "180",
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    inbox = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(inbox))
    function = lam.create_function(
        FunctionName="trigger",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.lambda_handler",
        Timeout=30,
        Code={"ZipFile": build.zip_bytes(build.TRIGGER_FILES)},
        Environment={
            "Variables": {
                logic.STATE_MACHINE_ARN_ENV: machine,
                logic.NOTIFICATION_TOPIC_ARN_ENV: topic,
                logic.QUEUE_URL_ENV: queue,
                logic.RETRY_DELAY_ENV: str(retry_delay_seconds),
                logic.DEPLOY_ONLY_INPUT_KEYS_ENV: ",".join(DEPLOY_ONLY_KEYS),
            }
        },
    )
    lam.create_event_source_mapping(
        EventSourceArn=queue_arn(queue),
        FunctionName=function["FunctionArn"],
        BatchSize=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [BUCKET]}, "object": {"key": [{"prefix": "data/raw/"}]}},
    }
    rule = events.put_rule(Name="trigger", EventPattern=json.dumps(pattern))["RuleArn"]
    allow_rule_to_send(sqs, queue, rule)
    events.put_targets(
        Rule="trigger",
        Targets=[
            {"Id": "queue", "Arn": queue_arn(queue), "SqsParameters": {"MessageGroupId": GROUP}}
        ],
    )
    # The trigger Lambda runs as its role (emulator/aws/lambda_.py): as terraform/trigger.tf grants.
    region = sqs.meta.region_name
    execution = machine.replace(":stateMachine:", ":execution:") + ":*"
    grants = [
        (["states:StartExecution", "states:ListExecutions"], machine),
        (["states:DescribeExecution"], execution),
        (
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            queue_arn(queue),
        ),
        (["sns:Publish"], topic),
        (["logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{region}:*"),
    ]
    iam.put_role_policy(
        RoleName="trigger",
        PolicyName="trigger",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": actions, "Resource": resource}
                    for actions, resource in grants
                ],
            }
        ),
    )
    return TriggerStack(machine, queue, dead["QueueUrl"], inbox)


@pytest.fixture
def execute_state_machines() -> bool:
    """Step Functions executions stay RUNNING until stopped: "a run in progress"."""
    return False


@pytest.fixture
def aws(clients: Callable[[str], Any]) -> Callable[[str], Any]:
    """moto with the extensions (``emulator/tests/fixtures.py``: one client per service)."""
    return clients


@pytest.fixture
def stack(aws: Callable[[str], Any]) -> TriggerStack:
    return build_trigger_stack(aws)


def _eventually(probe: Callable[[], Any], what: str, timeout: float = DEADLINE_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def _executions(aws: Callable[[str], Any], machine: str) -> list[dict[str, Any]]:
    pages = aws("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=machine)
    return [e for page in pages for e in page["executions"]]


def _training_inputs(aws: Callable[[str], Any], machine: str) -> dict[str, str]:
    """data_uri -> execution name, for every execution started by the trigger."""
    sfn = aws("stepfunctions")
    found: dict[str, str] = {}
    for execution in _executions(aws, machine):
        document = json.loads(
            sfn.describe_execution(executionArn=execution["executionArn"])["input"]
        )
        if "data_uri" in document:
            assert document["data_uri"] not in found, f"two runs for {document['data_uri']}"
            found[document["data_uri"]] = execution["name"]
    return found


def _queue_depth(aws: Callable[[str], Any], url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)
    return sum(int(attributes["Attributes"][n]) for n in names)


def _notifications(aws: Callable[[str], Any], url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while (
        batch := aws("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        .get("Messages", [])
    ):
        for message in batch:
            envelope = json.loads(message["Body"])
            out.append({"subject": envelope.get("Subject"), **json.loads(envelope["Message"])})
            aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return out


def _drain_runs(aws: Callable[[str], Any], stack: TriggerStack, expected: int) -> list[str]:
    """Play the runs: end each RUNNING one; assert never two at once; return the start order."""
    sfn = aws("stepfunctions")
    order: list[str] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(order) < expected or _queue_depth(aws, stack.queue_url):
        assert time.monotonic() < deadline, f"only {len(order)} of {expected} runs started"
        running = [e for e in _executions(aws, stack.state_machine_arn) if e["status"] == "RUNNING"]
        assert len(running) <= 1, f"two runs at once: {[e['name'] for e in running]}"
        if running:
            if running[0]["name"] not in order:
                order.append(running[0]["name"])
            time.sleep(0.2)  # the run "works"; the uploads behind it must keep waiting
            sfn.stop_execution(executionArn=running[0]["executionArn"])
        time.sleep(0.05)
    return order


# --------------------------------------------------------------------------- the burst


def test_ten_simultaneous_uploads_run_one_at_a_time_each_exactly_once(
    aws: Callable[[str], Any], stack: TriggerStack
) -> None:
    s3 = aws("s3")
    keys = [f"data/raw/burst-{i:02d}.csv" for i in range(10)]
    barrier = threading.Barrier(len(keys))

    def upload(key: str) -> None:
        barrier.wait(timeout=10)
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"a,b\n1,2\n")

    threads = [threading.Thread(target=upload, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    order = _drain_runs(aws, stack, expected=len(keys))

    runs = _training_inputs(aws, stack.state_machine_arn)
    assert sorted(runs) == sorted(f"s3://{BUCKET}/{key}" for key in keys)
    assert len(order) == len(keys) == len(_executions(aws, stack.state_machine_arn))
    assert _notifications(aws, stack.notifications_url) == []
    assert _queue_depth(aws, stack.queue_url) == _queue_depth(aws, stack.dead_letter_url) == 0


def test_uploads_run_in_arrival_order(aws: Callable[[str], Any], stack: TriggerStack) -> None:
    keys = [f"data/raw/ordered-{i}.csv" for i in range(4)]
    for key in keys:
        aws("s3").put_object(Bucket=BUCKET, Key=key, Body=b"a\n1\n")

    order = _drain_runs(aws, stack, expected=len(keys))

    by_name = {name: uri for uri, name in _training_inputs(aws, stack.state_machine_arn).items()}
    assert [by_name[name] for name in order] == [f"s3://{BUCKET}/{key}" for key in keys]


# --------------------------------------------------------------------------- what blocks


def test_a_deploy_only_execution_does_not_block_an_upload(
    aws: Callable[[str], Any], stack: TriggerStack
) -> None:
    sfn = aws("stepfunctions")
    deploy = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn,
        name="registry-approval",
        input=json.dumps({"approved_model_package_arn": "arn:aws:sagemaker:x:1:model-package/p/1"}),
    )

    aws("s3").put_object(Bucket=BUCKET, Key="data/raw/during-deploy.csv", Body=b"a\n1\n")

    runs = _eventually(lambda: _training_inputs(aws, stack.state_machine_arn), "the run")
    assert list(runs) == [f"s3://{BUCKET}/data/raw/during-deploy.csv"]
    assert sfn.describe_execution(executionArn=deploy["executionArn"])["status"] == "RUNNING"


def test_an_upload_waits_for_a_training_run_then_starts(
    aws: Callable[[str], Any], stack: TriggerStack
) -> None:
    sfn = aws("stepfunctions")
    manual = sfn.start_execution(stateMachineArn=stack.state_machine_arn, name="manual", input="{}")

    aws("s3").put_object(Bucket=BUCKET, Key="data/raw/later.csv", Body=b"a\n1\n")
    # The trigger sees it (receive count grows) and keeps it: no second run, nothing dropped.
    _eventually(lambda: _receive_count(aws, stack.queue_url) >= 2, "the trigger to retry")
    assert [e["name"] for e in _executions(aws, stack.state_machine_arn)] == ["manual"]
    assert _queue_depth(aws, stack.queue_url) == 1

    sfn.stop_execution(executionArn=manual["executionArn"])

    runs = _eventually(lambda: _training_inputs(aws, stack.state_machine_arn), "the run")
    assert list(runs) == [f"s3://{BUCKET}/data/raw/later.csv"]
    assert _notifications(aws, stack.notifications_url) == []


def _receive_count(aws: Callable[[str], Any], url: str) -> int:
    from moto.sqs.models import sqs_backends

    queue = sqs_backends["123456789012"][REGION].queues[url.rsplit("/", 1)[1]]
    return max((m.approximate_receive_count for m in queue._messages), default=0)


# --------------------------------------------------------------------------- never only a log


def test_uploads_that_are_not_training_data_are_notified_not_dropped(
    aws: Callable[[str], Any], stack: TriggerStack
) -> None:
    s3 = aws("s3")
    s3.put_object(Bucket=BUCKET, Key="data/raw/empty.csv", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="data/raw/notes.txt", Body=b"hello")
    s3.put_object(Bucket=BUCKET, Key="data/raw/UPPER.CSV", Body=b"a\n1\n")

    runs = _eventually(lambda: _training_inputs(aws, stack.state_machine_arn), "the .CSV run")
    notes = _eventually(lambda: _notifications(aws, stack.notifications_url), "notifications")
    while len(notes) < 2:
        notes += _eventually(lambda: _notifications(aws, stack.notifications_url), "the other")

    assert list(runs) == [f"s3://{BUCKET}/data/raw/UPPER.CSV"]
    by_upload = {n["upload"]: n for n in notes}
    assert set(by_upload) == {
        f"s3://{BUCKET}/data/raw/empty.csv",
        f"s3://{BUCKET}/data/raw/notes.txt",
    }
    assert "is empty (0 bytes)" in by_upload[f"s3://{BUCKET}/data/raw/empty.csv"]["reason"]
    assert "does not end with '.csv'" in by_upload[f"s3://{BUCKET}/data/raw/notes.txt"]["reason"]
    assert {n["status"] for n in notes} == {"ignored"}
    assert all(n["subject"].startswith("Upload not run (ignored): s3://") for n in notes)


def test_a_message_that_is_not_an_s3_event_is_notified_and_does_not_block(
    aws: Callable[[str], Any], stack: TriggerStack
) -> None:
    aws("sqs").send_message(QueueUrl=stack.queue_url, MessageBody="not json", MessageGroupId=GROUP)
    aws("s3").put_object(Bucket=BUCKET, Key="data/raw/after.csv", Body=b"a\n1\n")

    runs = _eventually(lambda: _training_inputs(aws, stack.state_machine_arn), "the run")
    notes = _eventually(lambda: _notifications(aws, stack.notifications_url), "notification")

    assert list(runs) == [f"s3://{BUCKET}/data/raw/after.csv"]
    assert [n["status"] for n in notes] == ["rejected"]
    assert "is not an S3 event" in notes[0]["reason"]


# --------------------------------------------------------------------------- duplicates


def test_a_replayed_event_never_starts_a_second_run(
    aws: Callable[[str], Any], stack: TriggerStack
) -> None:
    sqs = aws("sqs")
    # A second target records the event exactly as EventBridge delivered it.
    tap = sqs.create_queue(QueueName="tap")["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])
    allow_rule_to_send(sqs, tap, aws("events").describe_rule(Name="trigger")["Arn"])
    aws("events").put_targets(
        Rule="trigger", Targets=[{"Id": "tap", "Arn": tap_arn["Attributes"]["QueueArn"]}]
    )
    aws("s3").put_object(Bucket=BUCKET, Key="data/raw/once.csv", Body=b"a\n1\n")
    [name] = _drain_runs(aws, stack, expected=1)
    [delivered] = sqs.receive_message(QueueUrl=tap)["Messages"]

    # The same S3 event again, as a new message (as after the queue's 5-minute deduplication).
    sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=delivered["Body"],
        MessageGroupId=GROUP,
        MessageDeduplicationId="replay",
    )
    _eventually(lambda: _queue_depth(aws, stack.queue_url) == 0, "the replay to be handled")
    assert aws_sqs.wait_idle(DEADLINE_SECONDS)

    assert [e["name"] for e in _executions(aws, stack.state_machine_arn)] == [name]
    assert _notifications(aws, stack.notifications_url) == []


def test_a_redelivered_event_is_deduplicated_by_the_queue(
    aws: Callable[[str], Any], stack: TriggerStack
) -> None:
    sqs = aws("sqs")
    body = json.dumps({"id": "same-event", "detail": {}})
    for _ in range(2):
        sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body, MessageGroupId=GROUP)

    notes = _eventually(lambda: _notifications(aws, stack.notifications_url), "notification")
    _eventually(lambda: _queue_depth(aws, stack.queue_url) == 0, "the queue to drain")
    assert aws_sqs.wait_idle(DEADLINE_SECONDS)
    notes += _notifications(aws, stack.notifications_url)

    assert len(notes) == 1  # content-based deduplication: one message, one decision
