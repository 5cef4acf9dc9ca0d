"""A burst of uploads on the emulator: every one is accounted for.

Real Terraform, the real S3 -> EventBridge -> SQS FIFO -> Lambda trigger path and real training
(minimal tuning). 22 uploads land within a few seconds: good CSVs (one with an upper-case
``.CSV``), an empty file and files that are not CSV. Afterwards each upload is in exactly one
run's input or in exactly one "not run" notification, never both and never neither; the runs
never overlap; and the queue is empty. Nothing is read from a log line.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import demo
from harness.demo import Console, LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# One tuning trial keeps each good run short; no endpoint.
VARIABLES = demo.demo_variables(deploy=False, tuning_jobs=1)
GOOD = ["data/raw/burst-a.csv", "data/raw/burst-b.CSV", "data/raw/burst-c.csv"]
EMPTY = ["data/raw/burst-empty.csv"]
NOT_CSV = [f"data/raw/burst-{n:02d}.{ext}" for n, ext in enumerate(["txt", "json", "parquet"] * 6)]
SETTLE_SECONDS = 600.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local_stack = demo.start_stack(tmp_path_factory.mktemp("burst"), VARIABLES, Console())
    try:
        yield local_stack
    finally:
        local_stack.emulator.stop()


def subscribe(stack: LocalStack) -> str:
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = str(sqs.create_queue(QueueName="burst-notifications")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=stack.outputs["notification_topic_arn"], Protocol="sqs", Endpoint=arn)
    return url


def drain(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            envelope = json.loads(message["Body"])
            found.append({"subject": envelope.get("Subject"), "message": envelope["Message"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def queued(stack: LocalStack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["uploads_queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def training_runs(stack: LocalStack) -> list[dict[str, Any]]:
    """Every execution of the training machine, described."""
    sfn = stack.client("stepfunctions")
    machine = stack.outputs["training_state_machine_arn"]
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


def test_a_burst_of_uploads_is_each_in_one_run_or_one_notification(
    stack: LocalStack, tmp_path: Path
) -> None:
    notifications = subscribe(stack)
    s3, bucket = stack.client("s3"), stack.outputs["bucket_name"]
    iris = (ROOT / "data" / "raw" / "iris.csv").read_bytes()
    bodies = {key: iris for key in GOOD} | {key: b"" for key in EMPTY}
    bodies |= {key: b"not a table\n" for key in NOT_CSV}
    assert len(bodies) >= 20

    started = time.monotonic()
    for key, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert time.monotonic() - started < 10, "the uploads must arrive as a burst"

    deadline = time.monotonic() + SETTLE_SECONDS
    sent: list[dict[str, Any]] = []
    while True:
        sent += drain(stack, notifications)
        runs = training_runs(stack)
        settled = (
            len(runs) >= len(GOOD)
            and all(r["status"] != "RUNNING" for r in runs)
            and queued(stack) == 0
        )
        if settled or time.monotonic() > deadline:
            break
        time.sleep(5)
    time.sleep(2)  # a notification published just before the queue emptied
    sent += drain(stack, notifications)
    runs = training_runs(stack)
    assert settled, f"not settled after {SETTLE_SECONDS:.0f} s: {[r['status'] for r in runs]}"

    # Each upload in exactly one run's input ...
    run_inputs = Counter(json.loads(r["input"]).get("data_uri") for r in runs)
    # ... or in exactly one "not run" notification from the trigger.
    refused = Counter(
        json.loads(n["message"])["request"]
        for n in sent
        if str(n["subject"]).startswith("Upload not run")
    )
    uris = {f"s3://{bucket}/{key}": key for key in bodies}
    assert set(run_inputs) | set(refused) == set(uris), (run_inputs, refused)
    assert set(run_inputs) & set(refused) == set()
    assert all(count == 1 for count in (run_inputs + refused).values()), (run_inputs, refused)
    assert {uris[uri] for uri in run_inputs} == set(GOOD)
    assert {uris[uri] for uri in refused} == set(EMPTY + NOT_CSV)
    assert all(r["status"] == "SUCCEEDED" for r in runs), [
        (r["name"], r["status"], r.get("error"), r.get("cause")) for r in runs
    ]

    # One run at a time: each starts after the one before it stopped.
    ordered = sorted(runs, key=lambda r: r["startDate"])
    for before, after in itertools.pairwise(ordered):
        assert before["stopDate"] <= after["startDate"], (before["name"], after["name"])

    # Every run trained on its own copy of exactly its upload.
    for run in runs:
        copies = s3.list_objects_v2(Bucket=bucket, Prefix=f"runs/{run['name']}/input/")
        assert [o["Key"].rsplit("/", 1)[-1] for o in copies.get("Contents", [])] == [
            json.loads(run["input"])["data_uri"].rsplit("/", 1)[-1]
        ]
