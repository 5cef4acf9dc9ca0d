"""The request queues on a test ``Stack``, wired as terraform/trigger.tf wires them: two FIFO
queues, the real trigger Lambda on each (REQUESTS=uploads / deployments, batch size 1, partial
batch responses), S3 "Object Created" under data/raw/ to the uploads queue and Model Registry
approvals and rejections to the deployments queue (one message group per endpoint).

``outputs(stack, wired)`` gives what Terraform's outputs would name, for the ops CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devtools.build import TRIGGER_FILES, zip_bytes
from emulator.tests.helpers import LAMBDA_TRUST, allow_rule_to_send
from tests.helpers.stack import ACCOUNT, BUCKET, ENDPOINT, GROUP, REGION, Stack

MODEL_NAME_PREFIX = "iris-xgb"  # tests/helpers/stack.py's MODEL_NAME_PREFIX


@dataclass(frozen=True)
class Wired:
    uploads_queue_url: str
    deployments_queue_url: str


def _queue(stack: Stack, name: str) -> tuple[str, str]:
    url = stack.sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "VisibilityTimeout": "180",
        },
    )["QueueUrl"]
    arn = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def _trigger(stack: Stack, kind: str, machine: str, queue: tuple[str, str]) -> None:
    url, queue_arn = queue
    execution = machine.replace(":stateMachine:", ":execution:") + ":*"
    sagemaker = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    statements = [
        (["states:StartExecution", "states:ListExecutions"], [machine]),
        (["states:DescribeExecution"], [execution]),
        (
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            [queue_arn],
        ),
        (["sns:Publish"], [stack.topic_arn]),
        (["logs:CreateLogStream", "logs:PutLogEvents"], [f"arn:aws:logs:{REGION}:*"]),
    ]
    if kind == "uploads":
        statements.append(
            (["s3:GetObject", "s3:GetObjectVersion"], [f"arn:aws:s3:::{BUCKET}/data/raw/*"])
        )
    else:
        statements.append(
            (
                [
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeModel",
                ],
                [
                    f"{sagemaker}:model-package/{GROUP}/*",
                    f"{sagemaker}:endpoint/{ENDPOINT}",
                    f"{sagemaker}:endpoint-config/{MODEL_NAME_PREFIX}-*",
                    f"{sagemaker}:model/{MODEL_NAME_PREFIX}-*",
                ],
            )
        )
    role = f"{kind}-trigger-role"
    stack.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    stack.iam.put_role_policy(
        RoleName=role,
        PolicyName="trigger",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": a, "Resource": r} for a, r in statements
                ],
            }
        ),
    )
    lam = stack.session.client("lambda")
    function = lam.create_function(
        FunctionName=f"{kind}-trigger",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/{role}",
        Handler="handler.lambda_handler",
        Timeout=30,
        Code={"ZipFile": zip_bytes(TRIGGER_FILES)},  # one zip for both, as Terraform deploys it
        Environment={
            "Variables": {
                "REQUESTS": kind,
                "STATE_MACHINE_ARN": machine,
                "NOTIFICATION_TOPIC_ARN": stack.topic_arn,
                "QUEUE_URL": url,
                "RETRY_DELAY_SECONDS": "1",
                "DATA_PREFIX": "data/raw/",
                "ENDPOINT_NAME": ENDPOINT,
            }
        },
    )
    lam.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function["FunctionArn"],
        BatchSize=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )


def _rule(
    stack: Stack, name: str, pattern: dict[str, Any], queue: tuple[str, str], group: str
) -> None:
    events = stack.session.client("events")
    rule = events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
    allow_rule_to_send(stack.sqs, queue[0], rule)
    events.put_targets(
        Rule=name,
        Targets=[{"Id": "queue", "Arn": queue[1], "SqsParameters": {"MessageGroupId": group}}],
    )


def wire(stack: Stack) -> Wired:
    """Both queues, their triggers and the rules that feed them."""
    uploads, deployments = _queue(stack, "uploads"), _queue(stack, "deployments")
    _trigger(stack, "uploads", stack.machines["training"], uploads)
    _trigger(stack, "deployments", stack.machines["deployment"], deployments)
    stack.s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    _rule(
        stack,
        "uploads",
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [BUCKET]}, "object": {"key": [{"prefix": "data/raw/"}]}},
        },
        uploads,
        "uploads",
    )
    _rule(
        stack,
        "model-packages",
        {
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Package State Change"],
            "detail": {
                "ModelPackageGroupName": [GROUP],
                "ModelApprovalStatus": ["Approved", "Rejected"],
            },
        },
        deployments,
        ENDPOINT,
    )
    return Wired(uploads[0], deployments[0])


def outputs(stack: Stack, wired: Wired, **extra: Any) -> dict[str, Any]:
    """The Terraform outputs the ops CLI reads, for this stack."""
    return {
        "bucket_name": BUCKET,
        "region": REGION,
        "training_state_machine_arn": stack.machines["training"],
        "deployment_state_machine_arn": stack.machines["deployment"],
        "uploads_queue_url": wired.uploads_queue_url,
        "deployments_queue_url": wired.deployments_queue_url,
        "model_package_group_name": GROUP,
        "endpoint_name": ENDPOINT,
        "notification_topic_arn": stack.topic_arn,
        "model_name_prefix": MODEL_NAME_PREFIX,
        "auto_approve_allowed": True,
        **extra,
    }
