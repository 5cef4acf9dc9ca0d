"""The product's trigger and notification policies on the emulator's event delivery.

S3 upload ─► EventBridge rule ─► SQS FIFO ─► event source mapping ─► the real trigger zip, run in
process (or in the server) ─► StartExecution; and terraform/notifications.tf's key and topic
policies deciding whether EventBridge and CloudWatch alarms may publish to the encrypted topic.
The delivery itself is tested with the emulator: emulator/tests/test_event_delivery.py; what the
triggers decide, for both queues, in tests/integration/test_trigger_moto.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from unittest.mock import ANY

import pytest

from emulator.aws import core, sqs
from emulator.process import Emulator
from emulator.tests.helpers import create_queue, eventually, received
from tests.helpers import terraform_render
from tests.helpers.trigger_stack import BUCKET, build_trigger_stack, executions

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
DEADLINE_SECONDS = 20.0
FAILURE_EVENT = {"Source": "test.pipeline", "DetailType": "Failed", "Detail": "{}"}
OLD_KEY_CONDITION = {"StringEquals": {"aws:SourceAccount": [ACCOUNT]}}
KEY_POLICIES = ["terraform", "terraform-with-source-account"]
Clients = Callable[[str], Any]


def _log_messages(logs: Any, group: str) -> list[str]:
    return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]


def test_s3_upload_runs_the_trigger_lambda_which_starts_an_execution(clients: Clients) -> None:
    stack = build_trigger_stack(clients)
    machine, sfn = stack.uploads.machine_arn, clients("stepfunctions")

    clients("s3").put_object(Bucket=BUCKET, Key="data/raw/x.csv", Body=b"a,b\n1,2\n")

    [execution] = eventually(lambda: executions(sfn, machine), "the execution")
    assert json.loads(execution["input"]) == {"data_uri": f"s3://{BUCKET}/data/raw/x.csv"}
    assert execution["name"].startswith("s3-x-")
    assert sqs.wait_idle(DEADLINE_SECONDS)
    messages = _log_messages(clients("logs"), f"/aws/lambda/{stack.uploads.function}")
    result = next(m for m in messages if m.startswith("RESULT "))
    # The run's message stays in the queue, as its lock, until the run has ended.
    assert json.loads(result.removeprefix("RESULT ")) == {
        "batchItemFailures": [{"itemIdentifier": ANY}]
    }
    assert any('"status": "started"' in m for m in messages)  # the handler's own log line


def test_server_mode_lambda_calls_reach_the_emulator_through_aws_endpoint_url() -> None:
    with Emulator.start() as emu:
        stack = build_trigger_stack(emu.client)
        sfn = emu.client("stepfunctions")

        emu.client("s3").put_object(Bucket=BUCKET, Key="data/raw/y.csv", Body=b"a\n1\n")

        # Only the handler's own boto3 client can have started it, and only through the URL;
        # the server process polls the queue for it (emulator/aws/sqs.py).
        [run] = eventually(lambda: executions(sfn, stack.uploads.machine_arn), "the run")
        assert json.loads(run["input"]) == {"data_uri": f"s3://{BUCKET}/data/raw/y.csv"}


def encrypted_topic(aws: Clients, key_policy: str) -> tuple[str, str]:
    """A topic encrypted with a key of terraform/notifications.tf's key policy (or, for
    "terraform-with-source-account", its AWS-service statement conditioned as it once was),
    with its topic policy and an inbox queue subscribed: (topic ARN, inbox URL)."""
    kms, sns = aws("kms"), aws("sns")
    refs = {"local.partition": "aws", "local.account_id": ACCOUNT}
    key_document = terraform_render.policy("notifications.tf", "sns_key", refs)
    if key_policy == "terraform-with-source-account":
        for statement in key_document["Statement"]:
            if "Service" in statement.get("Principal", {}):
                statement["Condition"] = OLD_KEY_CONDITION
    key = kms.create_key(Policy=json.dumps(key_document))["KeyMetadata"]["Arn"]
    topic = sns.create_topic(Name="notifications", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    topic_policy = terraform_render.policy(
        "notifications.tf", "notifications", {**refs, "aws_sns_topic.notifications.arn": topic}
    )
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(topic_policy)
    )
    inbox, inbox_arn = create_queue(aws("sqs"), "inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    return topic, inbox


@pytest.mark.parametrize("key_policy", KEY_POLICIES)
def test_eventbridge_publishes_to_the_encrypted_topic_only_when_the_key_policy_allows(
    clients: Clients, key_policy: str
) -> None:
    # SNS encrypts with the topic's key for the publisher, so EventBridge must be allowed
    # kms:GenerateDataKey* and kms:Decrypt by the key policy as well as sns:Publish by the topic
    # policy (SNS developer guide, sns-key-management.html#compatibility-with-aws-services).
    # terraform/notifications.tf's own policies are used: reverting its key statement to the
    # old aws:SourceAccount-conditioned one fails the "terraform" case.
    topic, inbox = encrypted_topic(clients, key_policy)
    events, sqs_client = clients("events"), clients("sqs")
    dlq, dlq_arn = create_queue(sqs_client, "events-dlq")
    events.put_rule(Name="failures", EventPattern=json.dumps({"source": ["test.pipeline"]}))
    events.put_targets(
        Rule="failures",
        Targets=[{"Id": "topic", "Arn": topic, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )

    events.put_events(Entries=[FAILURE_EVENT])
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)

    if key_policy == "terraform":
        assert len(received(sqs_client, inbox)) == 1
        assert received(sqs_client, dlq) == []
    else:
        assert received(sqs_client, inbox) == []
        [dead] = received(sqs_client, dlq)
        assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
        assert "kms:GenerateDataKey" in dead["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]


@pytest.mark.parametrize("key_policy", KEY_POLICIES)
def test_an_alarm_publishes_to_the_encrypted_topic_only_when_the_key_policy_allows(
    clients: Clients, key_policy: str
) -> None:
    # The same two policies decide for CloudWatch alarms (emulator/aws/cloudwatch.py).
    topic, inbox = encrypted_topic(clients, key_policy)
    cw = clients("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="trigger-errors",
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
    )

    cw.set_alarm_state(AlarmName="trigger-errors", StateValue="ALARM", StateReason="test")

    delivered = received(clients("sqs"), inbox)
    if key_policy == "terraform":
        [message] = delivered
        alarm = json.loads(json.loads(message["Body"])["Message"])
        assert (alarm["AlarmName"], alarm["NewStateValue"]) == ("trigger-errors", "ALARM")
    else:
        assert delivered == []
