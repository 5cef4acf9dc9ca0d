"""The product's trigger and notification policies on the emulator's event delivery.

S3 upload ─► EventBridge rule ─► SQS FIFO ─► event source mapping ─► the real trigger zip, run in
process ─► StartExecution; and terraform/notifications.tf's key and topic policies deciding
whether EventBridge and CloudWatch alarms may publish to the encrypted topic. The delivery
itself is tested with the emulator: emulator/tests/test_event_delivery.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from emulator.aws import core, sqs
from emulator.process import Emulator
from emulator.tests.helpers import create_queue, eventually, lambda_role, received
from tests.integration.test_trigger_moto import BUCKET, build_trigger_stack

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
DEADLINE_SECONDS = 20.0
FAILURE_EVENT = {"Source": "test.pipeline", "DetailType": "Failed", "Detail": "{}"}


@pytest.fixture
def aws(clients: Callable[[str], Any]) -> Callable[[str], Any]:
    """The test's clients, with the role the test functions run as."""
    lambda_role(clients("iam"))
    return clients


def _log_messages(logs: Any, group: str) -> list[str]:
    return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]


def _rule(events: Any, name: str) -> str:
    pattern = {"source": [FAILURE_EVENT["Source"]]}
    return str(events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"])


def terraform_policy(file: str, name: str, values: dict[str, str]) -> dict[str, Any]:
    """``data "aws_iam_policy_document" name`` of terraform/``file`` as the JSON policy Terraform
    renders, with ``values`` substituted for its ``${...}`` references."""
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(
        with_comments=False, explicit_blocks=False, strip_string_quotes=True
    )
    with (TERRAFORM / file).open() as handle:
        parsed = hcl2.load(handle, serialization_options=options)
    [document] = [
        block["aws_iam_policy_document"][name]
        for block in parsed["data"]
        if name in block.get("aws_iam_policy_document", {})
    ]
    text = json.dumps(document)
    for reference, value in values.items():
        text = text.replace("${" + reference + "}", value)
    statements = []
    for statement in json.loads(text)["statement"]:
        rendered: dict[str, Any] = {
            "Sid": statement.get("sid", ""),
            "Effect": statement.get("effect", "Allow"),
            "Action": statement["actions"],
            "Resource": statement["resources"],
            "Principal": {p["type"]: p["identifiers"] for p in statement["principals"]},
        }
        if rendered["Principal"] == {"*": ["*"]}:
            rendered["Principal"] = "*"
        for condition in statement.get("condition", []):
            tests = rendered.setdefault("Condition", {}).setdefault(condition["test"], {})
            tests[condition["variable"]] = condition["values"]
        statements.append(rendered)
    return {"Version": "2012-10-17", "Statement": statements}


OLD_KEY_CONDITION = {"StringEquals": {"aws:SourceAccount": [ACCOUNT]}}


def test_s3_upload_runs_the_trigger_lambda_which_starts_an_execution(aws: Any) -> None:
    # The emulator fixture makes the trigger's iam role itself; the stack adds its own.
    stack = build_trigger_stack(aws)
    machine, sfn = stack.state_machine_arn, aws("stepfunctions")

    aws("s3").put_object(Bucket=BUCKET, Key="data/raw/x.csv", Body=b"a,b\n1,2\n")

    executions = eventually(
        lambda: sfn.list_executions(stateMachineArn=machine)["executions"], "the execution"
    )
    assert len(executions) == 1
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == {"data_uri": f"s3://{BUCKET}/data/raw/x.csv"}
    assert executions[0]["name"].startswith("s3-x-")
    assert sqs.wait_idle(DEADLINE_SECONDS)
    messages = _log_messages(aws("logs"), "/aws/lambda/trigger")
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
        executions = eventually(
            lambda: sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"],
            "the execution",
        )
        described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
        assert json.loads(described["input"]) == {"data_uri": f"s3://{BUCKET}/data/raw/y.csv"}


@pytest.mark.parametrize("key_policy", ["terraform", "terraform-with-source-account"])
def test_eventbridge_publishes_to_the_encrypted_topic_only_when_the_key_policy_allows(
    aws: Any, key_policy: str
) -> None:
    # SNS encrypts with the topic's key for the publisher, so EventBridge must be allowed
    # kms:GenerateDataKey* and kms:Decrypt by the key policy as well as sns:Publish by the topic
    # policy (SNS developer guide, sns-key-management.html#compatibility-with-aws-services).
    # terraform/notifications.tf's own policies are used: reverting its key statement to the
    # old aws:SourceAccount-conditioned one fails the "terraform" case.
    kms, sns, events, sqs_client = aws("kms"), aws("sns"), aws("events"), aws("sqs")
    refs = {"local.partition": "aws", "local.account_id": ACCOUNT}
    key_document = terraform_policy("notifications.tf", "sns_key", refs)
    if key_policy == "terraform-with-source-account":
        for statement in key_document["Statement"]:
            if statement["Principal"] == {
                "Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
            }:
                statement["Condition"] = OLD_KEY_CONDITION
    key = kms.create_key(Policy=json.dumps(key_document))["KeyMetadata"]["Arn"]
    topic = sns.create_topic(Name="notifications", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    topic_policy = terraform_policy(
        "notifications.tf", "notifications", {**refs, "aws_sns_topic.notifications.arn": topic}
    )
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(topic_policy)
    )
    inbox, inbox_arn = create_queue(sqs_client, "inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    dlq, dlq_arn = create_queue(sqs_client, "events-dlq")
    _rule(events, "failures")
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


@pytest.mark.parametrize("key_policy", ["terraform", "terraform-with-source-account"])
def test_an_alarm_publishes_to_the_encrypted_topic_only_when_the_key_policy_allows(
    aws: Any, key_policy: str
) -> None:
    # The same two policies decide for CloudWatch alarms (emulator/aws/cloudwatch.py).
    kms, sns, cw, sqs_client = aws("kms"), aws("sns"), aws("cloudwatch"), aws("sqs")
    refs = {"local.partition": "aws", "local.account_id": ACCOUNT}
    key_document = terraform_policy("notifications.tf", "sns_key", refs)
    if key_policy == "terraform-with-source-account":
        for statement in key_document["Statement"]:
            if "Service" in statement["Principal"]:
                statement["Condition"] = OLD_KEY_CONDITION
    key = kms.create_key(Policy=json.dumps(key_document))["KeyMetadata"]["Arn"]
    topic = sns.create_topic(Name="notifications", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    topic_policy = terraform_policy(
        "notifications.tf", "notifications", {**refs, "aws_sns_topic.notifications.arn": topic}
    )
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(topic_policy)
    )
    inbox, inbox_arn = create_queue(sqs_client, "inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
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

    delivered = received(sqs_client, inbox)
    if key_policy == "terraform":
        [message] = delivered
        alarm = json.loads(json.loads(message["Body"])["Message"])
        assert (alarm["AlarmName"], alarm["NewStateValue"]) == ("trigger-errors", "ALARM")
    else:
        assert delivered == []
