"""The trigger as terraform/trigger.tf wires it, built on the emulator through the AWS API:

    S3 upload ──────────► rule "uploads" ─────────────► uploads.fifo (group "uploads") ─┐
    registry approval ──► rule "model-package-approved" ► deployments.fifo             │
    registry rejection ─► rule "model-package-rejected" ┘  (group: the endpoint)       │
                                   each queue ─► event source mapping ─► its trigger ──┘
                                   (batch 1)      (the real zip)  ─► StartExecution of
                                                                     its state machine

What Terraform decides is read from it (terraform_render.py): the rules' event patterns, the
targets' message groups, each queue's policy (only the project's rules send), each function's
environment and role policy; only names, the retry delay and the queue attributes unit-tested
against trigger.tf (tests/unit/test_trigger.py) are set here. The state machines are one Pass
state: with the emulator's ``execute_state_machines`` off an execution stays RUNNING until
stopped, which plays "a run in progress". ``clients`` is a factory of boto3 clients: the
in-process emulator's or a server's (``Emulator.client``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools import build
from emulator.tests.helpers import LAMBDA_TRUST, allow_rule_to_send, create_queue
from tests.helpers import terraform_render as tf

BUCKET = "iris-data"
GROUP = "iris-models"
ENDPOINT = "iris-endpoint"
MODEL_PREFIX = "iris-xgb"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
#: The queues, their machines and their rules (rule name -> the registry status it forwards).
QUEUES = {"uploads": "training", "deployments": "deployment"}
UPLOADS_RULE = "uploads"
REGISTRY_RULES = {"approved": "Approved", "rejected": "Rejected"}
DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Queue:
    """One request queue, its dead-letter queue, its function and the machine it starts."""

    url: str
    arn: str
    dead_letter_url: str
    function: str
    machine_arn: str
    group: str


@dataclass(frozen=True)
class TriggerStack:
    queues: dict[str, Queue]
    notifications_url: str
    #: Where EventBridge puts events it could not deliver.
    undelivered_url: str

    @property
    def uploads(self) -> Queue:
        return self.queues["uploads"]

    @property
    def deployments(self) -> Queue:
        return self.queues["deployments"]


def _values(client: Callable[[str], Any], topic: str) -> dict[str, Any]:
    """Terraform's references that are the same for every instance."""
    region = client("sqs").meta.region_name
    account = client("sts").get_caller_identity()["Account"]
    rules = f"arn:aws:events:{region}:{account}:rule"
    registry_rules = [f"{rules}/model-package-{key}" for key in REGISTRY_RULES]
    values: dict[str, Any] = {
        "local.partition": "aws",
        "local.region": region,
        "local.account_id": account,
        "local.bucket_name": BUCKET,
        "local.bucket_arn": f"arn:aws:s3:::{BUCKET}",
        "local.s3_prefix.data_raw": "data/raw/",
        "local.model_package_group_name": GROUP,
        "local.endpoint_name": ENDPOINT,
        "local.model_name_prefix": MODEL_PREFIX,
        "local.sagemaker_arn_prefix": f"arn:aws:sagemaker:{region}:{account}",
        "local.sns_kms_key_arn": f"arn:aws:kms:{region}:{account}:key/none",
        "aws_sns_topic.notifications.arn": topic,
        "var.trigger_log_level": "INFO",
        "local.trigger_rule_arn": f"{rules}/{UPLOADS_RULE}",
        "local.registry_rule_arns": registry_rules,
        "concat([local.trigger_rule_arn], local.registry_rule_arns)": [
            f"{rules}/{UPLOADS_RULE}",
            *registry_rules,
        ],
    }
    # The serving-package lookup the deployments trigger shares with the functions (lambdas.tf).
    lookup = tf.block("lambdas.tf", "locals", "serving_package_lookup", "")
    values["local.serving_package_lookup.actions"] = lookup["actions"]
    values["local.serving_package_lookup.resources"] = tf.render(lookup["resources"], values)
    return values


def _instance(
    values: dict[str, Any], key: str, machine: tuple[str, str], queue: tuple[str, str]
) -> dict[str, Any]:
    """The references of the ``key`` instance of trigger.tf's ``for_each`` blocks."""
    queues = tf.block("trigger.tf", "locals", "request_queues", "")
    return {
        **values,
        "each.key": key,
        "each.value.senders": tf.render(queues[key]["senders"], values),
        "aws_sfn_state_machine.this[each.value.machine].arn": machine[0],
        "local.state_machines[each.value.machine].name": machine[1],
        "aws_sqs_queue.request[each.key].url": queue[0],
        "aws_sqs_queue.request[each.key].arn": queue[1],
        "local.request_queue_arns[each.key]": queue[1],
    }


def _queue(sqs: Any, key: str, max_receive_count: int) -> tuple[str, str, str]:
    """A FIFO request queue and its FIFO dead-letter queue, as trigger.tf's attributes."""
    dead = sqs.create_queue(QueueName=f"{key}-dlq.fifo", Attributes={"FifoQueue": "true"})
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead["QueueUrl"], AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": max_receive_count,
    }
    url = sqs.create_queue(
        QueueName=f"{key}.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "DeduplicationScope": "queue",
            "FifoThroughputLimit": "perQueue",
            "VisibilityTimeout": "180",
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"], dead["QueueUrl"]


def _function(client: Callable[[str], Any], name: str, values: dict[str, Any]) -> str:
    """The trigger function of one queue: its role with Terraform's policy, the real zip, and
    Terraform's environment (the retry delay aside)."""
    iam, key = client("iam"), values["each.key"]
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    document = tf.policy("trigger.tf", "trigger", values, each_key=key)
    iam.put_role_policy(RoleName=name, PolicyName="trigger", PolicyDocument=json.dumps(document))
    environment = tf.render(
        tf.block("trigger.tf", "module", "", "trigger")["environment_variables"], values
    )
    return str(
        client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="handler.lambda_handler",
            Timeout=30,
            Code={"ZipFile": build.zip_bytes(build.TRIGGER_FILES)},
            Environment={"Variables": environment},
        )["FunctionArn"]
    )


def _rule(client: Callable[[str], Any], name: str, resource: str, values: dict[str, Any]) -> None:
    """Rule ``name`` with trigger.tf's pattern and target: the queue, the message group, the
    retry policy and the dead-letter queue of aws_cloudwatch_event_target ``resource``."""
    events = client("events")
    rule = tf.block("trigger.tf", "resource", "aws_cloudwatch_event_rule", resource)
    events.put_rule(
        Name=name, EventPattern=json.dumps(tf.event_pattern(rule["event_pattern"], values))
    )
    block = tf.block("trigger.tf", "resource", "aws_cloudwatch_event_target", resource)
    fields = ("target_id", "arn", "sqs_target", "retry_policy", "dead_letter_config")
    target = tf.render({field: block[field] for field in fields}, values)
    [sqs_target], [retry], [dead_letters] = (
        target["sqs_target"],
        target["retry_policy"],
        target["dead_letter_config"],
    )
    events.put_targets(
        Rule=name,
        Targets=[
            {
                "Id": target["target_id"],
                "Arn": target["arn"],
                "SqsParameters": {"MessageGroupId": sqs_target["message_group_id"]},
                "RetryPolicy": {
                    "MaximumEventAgeInSeconds": retry["maximum_event_age_in_seconds"],
                    "MaximumRetryAttempts": retry["maximum_retry_attempts"],
                },
                "DeadLetterConfig": {"Arn": dead_letters["arn"]},
            }
        ],
    )


def build_trigger_stack(
    client: Callable[[str], Any], *, retry_delay_seconds: int = 1, max_receive_count: int = 50
) -> TriggerStack:
    """Bucket, package group, both machines and queues, their functions and mappings, the
    three rules, the topic (an inbox queue subscribed) and EventBridge's dead-letter queue."""
    s3, sqs, sfn = client("s3"), client("sqs"), client("stepfunctions")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
    topic = client("sns").create_topic(Name="notifications")["TopicArn"]
    inbox, inbox_arn = create_queue(sqs, "notifications")
    client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    shared = _values(client, topic)
    undelivered, shared["aws_sqs_queue.trigger_dlq.arn"] = create_queue(sqs, "undelivered")
    shared["local.trigger_dlq_arn"] = shared["aws_sqs_queue.trigger_dlq.arn"]
    document = tf.policy("trigger.tf", "trigger_dlq", shared)
    sqs.set_queue_attributes(QueueUrl=undelivered, Attributes={"Policy": json.dumps(document)})
    machine_role = client("iam").create_role(
        RoleName="machines", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )["Role"]["Arn"]
    queues: dict[str, Queue] = {}
    for key, machine_name in QUEUES.items():
        machine = sfn.create_state_machine(
            name=machine_name, definition=PASS_DEFINITION, roleArn=machine_role
        )["stateMachineArn"]
        url, arn, dead = _queue(sqs, key, max_receive_count)
        values = _instance(shared, key, (machine, machine_name), (url, arn))
        values["tostring(each.value.retry)"] = str(retry_delay_seconds)
        document = tf.policy("trigger.tf", "request_queue", values)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(document)})
        function = f"{key}-trigger"
        client("lambda").create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName=_function(client, function, values),
            BatchSize=1,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        group = ENDPOINT if key == "deployments" else "uploads"
        queues[key] = Queue(url, arn, dead, function, machine, group)
        shared[f'aws_sqs_queue.request["{key}"].arn'] = arn
    _rule(client, UPLOADS_RULE, "trigger", shared)
    for key, status in REGISTRY_RULES.items():
        values = {**shared, "each.key": key, "each.value": status}
        _rule(client, f"model-package-{key}", "model_package", values)
    return TriggerStack(queues, inbox, undelivered)


# --------------------------------------------------------------------------- observing


def executions(sfn: Any, machine: str) -> list[dict[str, Any]]:
    """The machine's executions, described (input included), oldest first."""
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
    listed = [e for page in pages for e in page["executions"]]
    described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
    return sorted(described, key=lambda e: e["startDate"])


def queue_depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def notifications(sqs: Any, url: str) -> list[dict[str, Any]]:
    """What the topic published since the last call: its subject and the message's fields."""
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            envelope = json.loads(message["Body"])
            out.append({"subject": envelope.get("Subject"), **json.loads(envelope["Message"])})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return out


def drain_runs(sfn: Any, sqs: Any, queue: Queue, expected: int) -> list[str]:
    """Play the runs of ``queue``'s machine: end each RUNNING one after a moment; assert never
    two at once; return the names in the order they started."""
    order: list[str] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(order) < expected or queue_depth(sqs, queue.url):
        assert time.monotonic() < deadline, f"only {len(order)} of {expected} runs started"
        running = [e for e in executions(sfn, queue.machine_arn) if e["status"] == "RUNNING"]
        assert len(running) <= 1, f"two runs at once: {[e['name'] for e in running]}"
        if running:
            if running[0]["name"] not in order:
                order.append(running[0]["name"])
            time.sleep(0.2)  # the run "works"; the messages behind it must keep waiting
            sfn.stop_execution(executionArn=running[0]["executionArn"])
        time.sleep(0.05)
    return order


def tap(client: Callable[[str], Any], rule: str) -> str:
    """A second target of ``rule``: a queue that records each event as EventBridge delivered it."""
    url, arn = create_queue(client("sqs"), f"tap-{rule}")
    allow_rule_to_send(client("sqs"), url, client("events").describe_rule(Name=rule)["Arn"])
    client("events").put_targets(Rule=rule, Targets=[{"Id": "tap", "Arn": arn}])
    return url
