"""EventBridge delivery and in-process Lambda (emulator/aws/events.py and emulator/aws/lambda_.py).

S3 upload ─► EventBridge rule ─► a function, a queue or a state machine, each delivery
authorised; model package approved ─► rule with InputTransformer ─► StartExecution; functions
run in process, as their execution role, with their own environment. The product's trigger on
the same path: tests/integration/test_event_delivery.py.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from emulator.aws import core
from emulator.aws.events import target_input, transform_input
from emulator.tests.helpers import (
    allow_rule_to_send,
    create_queue,
    eventually,
    lambda_role,
    received,
    zip_files,
)

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "iris-data"
ROLE = "arn:aws:iam::123456789012:role/lambda"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
TRIGGER_PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": [BUCKET]}, "object": {"key": [{"wildcard": "data/raw/*.csv"}]}},
}
DEADLINE_SECONDS = 20.0


def _log_messages(logs: Any, group: str) -> list[str]:
    events = logs.filter_log_events(logGroupName=group)["events"]
    return [e["message"] for e in events]


def allow_rule_to_invoke(lam: Any, function: str, rule_arn: str) -> None:
    """The function policy terraform's aws_lambda_permission gives: EventBridge, this rule."""
    lam.add_permission(
        FunctionName=function,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )


def registry_events_role(iam: Any, machine_arn: str, *, allowed: bool = True) -> str:
    """terraform/trigger.tf's registry-events role: EventBridge may start ``machine_arn``."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            }
        ],
    }
    role = iam.create_role(RoleName="registry-events", AssumeRolePolicyDocument=json.dumps(trust))
    if allowed:
        grant = {"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine_arn}
        iam.put_role_policy(
            RoleName="registry-events",
            PolicyName="start",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]}),
        )
    return str(role["Role"]["Arn"])


@pytest.fixture
def aws(clients: Callable[[str], Any]) -> Callable[[str], Any]:
    """The test's clients (``clients``), with the role every function here runs as."""
    lambda_role(clients("iam"))
    return clients


def _filtered_lambda_setup(client: Callable[[str], Any]) -> None:
    """Bucket with EventBridge on and a recording Lambda behind TRIGGER_PATTERN."""
    s3, events, lam = client("s3"), client("events"), client("lambda")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    function = lam.create_function(
        FunctionName="filtered",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.lambda_handler",
        Code={"ZipFile": zip_files({"app.py": "def lambda_handler(e, c):\n  return e['id']\n"})},
    )
    rule = events.put_rule(Name="filtered", EventPattern=json.dumps(TRIGGER_PATTERN))["RuleArn"]
    allow_rule_to_invoke(lam, "filtered", rule)
    events.put_targets(Rule="filtered", Targets=[{"Id": "fn", "Arn": function["FunctionArn"]}])


# --------------------------------------------------------------------------- pure functions


def test_input_transformer_writes_json_outside_strings_and_text_inside() -> None:
    event = {"id": "e1", "detail": {"arn": "arn:aws:x", "n": 3, "obj": {"a": "b"}}}
    paths = {"arn": "$.detail.arn", "n": "$.detail.n", "obj": "$.detail.obj", "gone": "$.nope"}

    assert json.loads(transform_input(event, paths, '{"approved_model_package_arn": <arn>}')) == {
        "approved_model_package_arn": "arn:aws:x"
    }
    assert json.loads(transform_input(event, paths, '{"n": <n>, "o": <obj>, "g": <gone>}')) == {
        "n": 3,
        "o": {"a": "b"},
        "g": None,
    }
    assert json.loads(transform_input(event, paths, '"run <arn> got <obj>, <unknown>"')) == (
        'run arn:aws:x got {"a": "b"}, <unknown>'
    )
    assert json.loads(transform_input(event, None, "<aws.events.event.json>")) == event


def test_target_input_uses_input_then_input_path_then_the_event() -> None:
    event = {"id": "e1", "detail": {"key": "data/raw/x.csv"}}
    assert target_input({"Arn": "a", "Input": '{"fixed": 1}'}, event) == '{"fixed": 1}'
    assert json.loads(target_input({"Arn": "a", "InputPath": "$.detail"}, event)) == {
        "key": "data/raw/x.csv"
    }
    assert json.loads(target_input({"Arn": "a"}, event)) == event


# --------------------------------------------------------------------------- S3 ─► Lambda ─► SFN


def test_keys_outside_the_rule_pattern_invoke_nothing(aws: Any) -> None:
    _filtered_lambda_setup(aws)
    s3 = aws("s3")

    s3.put_object(Bucket=BUCKET, Key="data/other/x.csv", Body=b"a\n")
    s3.put_object(Bucket=BUCKET, Key="data/raw/notes.txt", Body=b"a\n")

    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)
    assert aws("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"] == []

    s3.put_object(Bucket=BUCKET, Key="data/raw/x.csv", Body=b"a\n")
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)
    assert _log_messages(aws("logs"), "/aws/lambda/filtered")  # the pattern does match this one


def test_s3_events_have_aws_shape_and_reach_moto_targets_too(aws: Any) -> None:
    s3, sqs, events = aws("s3"), aws("sqs"), aws("events")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    queue = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    pattern = {"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "data/raw/"}]}}}
    rule = events.put_rule(Name="uploads", EventPattern=json.dumps(pattern))["RuleArn"]
    allow_rule_to_send(sqs, queue, rule)
    events.put_targets(
        Rule="uploads",
        Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )

    for _ in range(2):
        s3.put_object(Bucket=BUCKET, Key="data/raw/iris.csv", Body=b"abc")
    s3.put_object(Bucket=BUCKET, Key="code/train.py", Body=b"x")

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in received]
    assert len(bodies) == 2
    first, second = (body["detail"] for body in bodies)
    assert bodies[0]["detail-type"] == "Object Created"
    assert first["bucket"] == {"name": BUCKET}
    assert first["object"]["key"] == "data/raw/iris.csv"
    assert first["object"]["size"] == 3
    assert first["object"]["etag"] == "900150983cd24fb0d6963f7d28e17f72"  # md5("abc")
    assert first["reason"] == "PutObject"
    # S3 gives every event of a key a larger sequencer; moto's was a constant.
    assert second["object"]["sequencer"] > first["object"]["sequencer"]
    assert bodies[0]["id"] != bodies[1]["id"]


# --------------------------------------------------------------------------- Lambda Invoke


HANDLER = """
import os
import helper

def lambda_handler(event, context):
    return {
        "doubled": helper.double(event["n"]),
        "greeting": os.environ["GREETING"],
        "function": context.function_name,
        "has_time_left": context.get_remaining_time_in_millis() > 0,
    }
"""
FAILING_HANDLER = """
def lambda_handler(event, context):
    raise ValueError("boom: " + event["why"])
"""


def test_invoke_runs_the_handler_with_its_environment_and_sibling_modules(aws: Any) -> None:
    lam = aws("lambda")
    lam.create_function(
        FunctionName="doubler",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.lambda_handler",
        Code={
            "ZipFile": zip_files({"app.py": HANDLER, "helper.py": "def double(n):\n  return 2*n\n"})
        },
        Environment={"Variables": {"GREETING": "hello"}},
    )

    response = lam.invoke(FunctionName="doubler", Payload=json.dumps({"n": 21}), LogType="Tail")

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "doubled": 42,
        "greeting": "hello",
        "function": "doubler",
        "has_time_left": True,
    }
    assert "START RequestId" in base64.b64decode(response["LogResult"]).decode()


def test_functions_with_same_named_modules_do_not_share_them(aws: Any) -> None:
    lam = aws("lambda")
    for name in ("one", "two"):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="handler.lambda_handler",
            Code={
                "ZipFile": zip_files(
                    {
                        "handler.py": "import logic\ndef lambda_handler(e, c):\n"
                        "  return logic.NAME\n",
                        "logic.py": f"NAME = {name!r}\n",
                    }
                )
            },
        )

    answers = [json.loads(lam.invoke(FunctionName=n)["Payload"].read()) for n in ("one", "two")]

    assert answers == ["one", "two"]


def test_handler_exception_is_returned_logged_and_dead_lettered(aws: Any) -> None:
    lam, sqs = aws("lambda"), aws("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    lam.create_function(
        FunctionName="failing",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.lambda_handler",
        Code={"ZipFile": zip_files({"app.py": FAILING_HANDLER})},
        DeadLetterConfig={"TargetArn": dlq_arn["QueueArn"]},
    )

    response = lam.invoke(FunctionName="failing", Payload=json.dumps({"why": "sync"}))
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "boom: sync")

    asynchronous = lam.invoke(
        FunctionName="failing", InvocationType="Event", Payload=json.dumps({"why": "async"})
    )
    assert asynchronous["StatusCode"] == 202
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)
    messages = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(messages[0]["Body"]) == {"why": "async"}
    assert "boom: async" in messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"]
    logged = [json.loads(m) for m in _log_messages(aws("logs"), "/aws/lambda/failing") if "{" in m]
    assert sorted(e["errorMessage"] for e in logged) == ["boom: async", "boom: sync"]


# --------------------------------------------------------------------------- Model Registry


def test_model_package_approval_starts_the_state_machine_with_transformed_input(
    aws: Any,
) -> None:
    sm, sfn, events = aws("sagemaker"), aws("stepfunctions"), aws("events")
    machine = sfn.create_state_machine(name="deploy", definition=PASS_DEFINITION, roleArn=ROLE)
    machine_arn = machine["stateMachineArn"]
    events_role = registry_events_role(aws("iam"), machine_arn)
    sm.create_model_package_group(ModelPackageGroupName="iris")
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["iris"], "ModelApprovalStatus": ["Approved"]},
    }
    events.put_rule(Name="approved", EventPattern=json.dumps(pattern))
    transformer = {
        "InputPathsMap": {"arn": "$.detail.ModelPackageArn"},
        "InputTemplate": '{"approved_model_package_arn": <arn>}',
    }
    events.put_targets(
        Rule="approved",
        Targets=[
            {
                "Id": "sfn",
                "Arn": machine_arn,
                "RoleArn": events_role,
                "InputTransformer": transformer,
            }
        ],
    )
    spec = {
        "Containers": [{"Image": "xgboost:1", "ModelDataUrl": "s3://b/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"],
    }

    package = sm.create_model_package(
        ModelPackageGroupName="iris",
        InferenceSpecification=spec,
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)
    assert sfn.list_executions(stateMachineArn=machine_arn)["executions"] == []

    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")

    executions = eventually(
        lambda: sfn.list_executions(stateMachineArn=machine_arn)["executions"], "the execution"
    )
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == {"approved_model_package_arn": package}


# --------------------------------------------------------------------------- server mode


# --------------------------------------------------------------------------- the function's role

WHO_AM_I = """
import boto3

def lambda_handler(event, context):
    arn = boto3.client("sts").get_caller_identity()["Arn"]
    try:
        boto3.client("s3").list_buckets()
        listed = "allowed"
    except Exception as error:
        listed = error.response["Error"]["Code"]
    return {"arn": arn, "list_buckets": listed}
"""


def test_a_function_calls_aws_as_its_execution_role(aws: Any) -> None:
    # Lambda assumes the execution role and hands its session to the function
    # (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html): its calls
    # are decided by the role's policies, and the session is named after the function.
    lam = aws("lambda")
    lam.create_function(
        FunctionName="whoami",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.lambda_handler",
        Code={"ZipFile": zip_files({"app.py": WHO_AM_I})},
    )

    denied = json.loads(lam.invoke(FunctionName="whoami")["Payload"].read())
    aws("iam").put_role_policy(
        RoleName="lambda",
        PolicyName="list",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
                ],
            }
        ),
    )
    allowed = json.loads(lam.invoke(FunctionName="whoami")["Payload"].read())

    assert denied == {
        "arn": "arn:aws:sts::123456789012:assumed-role/lambda/whoami",
        "list_buckets": "AccessDenied",
    }
    assert allowed["list_buckets"] == "allowed"


SLOW_HANDLER = """
import os, pathlib, time

def lambda_handler(event, context):
    pathlib.Path(event["started"]).touch()
    time.sleep(1.0)
    return {"marker": os.environ.get("MARKER"), "key": os.environ["AWS_ACCESS_KEY_ID"]}
"""


def test_a_functions_environment_is_visible_only_to_its_own_invocation(
    aws: Any, tmp_path: Any
) -> None:
    # Each function has its own execution environment; nothing else in the emulator sees its
    # variables or credentials, and nothing else's environment changes while it runs.
    lam = aws("lambda")
    lam.create_function(
        FunctionName="slow",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.lambda_handler",
        Timeout=10,
        Code={"ZipFile": zip_files({"app.py": SLOW_HANDLER})},
        Environment={"Variables": {"MARKER": "only-mine"}},
    )
    started = tmp_path / "started"
    outer_key = os.environ["AWS_ACCESS_KEY_ID"]
    answers: list[Any] = []
    payload = json.dumps({"started": str(started)})
    invoker = threading.Thread(
        target=lambda: answers.append(lam.invoke(FunctionName="slow", Payload=payload))
    )
    invoker.start()
    eventually(started.exists, "the handler to start")

    seen_outside = {"marker": os.environ.get("MARKER"), "key": os.environ["AWS_ACCESS_KEY_ID"]}
    boto3.client("sts", region_name=REGION)  # what raced: a client made meanwhile, elsewhere
    invoker.join(DEADLINE_SECONDS)
    seen_inside = json.loads(answers[0]["Payload"].read())

    assert seen_outside == {"marker": None, "key": outer_key}
    assert seen_inside["marker"] == "only-mine"
    assert seen_inside["key"] != outer_key  # the execution role's session


# --------------------------------------------------------------------------- target authorisation

ACCOUNT = "123456789012"


FAILURE_EVENT = {"Source": "test.pipeline", "DetailType": "Failed", "Detail": "{}"}


def _rule(events: Any, name: str) -> str:
    pattern = {"source": [FAILURE_EVENT["Source"]]}
    return str(events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"])


def test_a_lambda_target_is_invoked_only_when_its_function_policy_allows_the_rule(
    aws: Any,
) -> None:
    # EventBridge's permission to invoke a function is the function's resource policy
    # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html).
    lam, events, sqs_client = aws("lambda"), aws("events"), aws("sqs")
    lam.create_function(
        FunctionName="unpermitted",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.lambda_handler",
        Code={"ZipFile": zip_files({"app.py": "def lambda_handler(e, c):\n  return 1\n"})},
    )
    rule = _rule(events, "to-lambda")
    allow_rule_to_invoke(lam, "unpermitted", rule.replace("to-lambda", "another-rule"))
    dlq, dlq_arn = create_queue(sqs_client, "events-dlq")
    fn_arn = lam.get_function(FunctionName="unpermitted")["Configuration"]["FunctionArn"]
    events.put_targets(
        Rule="to-lambda",
        Targets=[{"Id": "fn", "Arn": fn_arn, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )

    events.put_events(Entries=[FAILURE_EVENT])
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)

    assert aws("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"] == []
    [dead] = received(sqs_client, dlq)
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert dead["MessageAttributes"]["RULE_ARN"]["StringValue"] == rule


def test_an_sqs_target_receives_only_what_its_queue_policy_allows(aws: Any) -> None:
    events, sqs_client = aws("events"), aws("sqs")
    closed, closed_arn = create_queue(sqs_client, "closed")
    opened, opened_arn = create_queue(sqs_client, "opened")
    rule = _rule(events, "to-queues")
    allow_rule_to_send(sqs_client, opened, rule)
    events.put_targets(
        Rule="to-queues", Targets=[{"Id": "c", "Arn": closed_arn}, {"Id": "o", "Arn": opened_arn}]
    )

    events.put_events(Entries=[FAILURE_EVENT])
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)

    assert received(sqs_client, closed) == []
    assert len(received(sqs_client, opened)) == 1


@pytest.mark.parametrize("allowed", [True, False])
def test_a_step_functions_target_starts_only_as_a_role_allowed_to(aws: Any, allowed: bool) -> None:
    # EventBridge starts a state machine as the target's RoleArn, whose policy decides
    # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
    sfn, events = aws("stepfunctions"), aws("events")
    machine = sfn.create_state_machine(name="m", definition=PASS_DEFINITION, roleArn=ROLE)
    machine_arn = machine["stateMachineArn"]
    role = registry_events_role(aws("iam"), machine_arn, allowed=allowed)
    _rule(events, "to-sfn")
    events.put_targets(Rule="to-sfn", Targets=[{"Id": "s", "Arn": machine_arn, "RoleArn": role}])

    events.put_events(Entries=[FAILURE_EVENT])
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)

    started = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
    assert len(started) == (1 if allowed else 0)


def test_put_events_refuses_an_aws_source_and_the_services_own_events_still_arrive(
    aws: Any,
) -> None:
    # "All events that come from AWS services begin with "aws." Customer-generated events can
    # have any value here, as long as it doesn't begin with "aws."" (EventBridge user guide,
    # "Events": https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html);
    # PutEvents fails such an entry with NotAuthorizedForSourceException (API reference,
    # PutEventsResultEntry), the other entries of the request are put.
    events, sqs_client, sm = aws("events"), aws("sqs"), aws("sagemaker")
    url, arn = create_queue(sqs_client, "registry")
    pattern = {"source": ["aws.sagemaker", FAILURE_EVENT["Source"]]}
    rule = events.put_rule(Name="registry", EventPattern=json.dumps(pattern))["RuleArn"]
    allow_rule_to_send(sqs_client, url, rule)
    events.put_targets(Rule="registry", Targets=[{"Id": "q", "Arn": arn}])
    forged = {
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Model Package State Change",
        "Detail": json.dumps({"ModelApprovalStatus": "Approved"}),
    }

    answer = events.put_events(Entries=[forged, FAILURE_EVENT])

    assert answer["FailedEntryCount"] == 1
    refused, put = answer["Entries"]
    assert refused["ErrorCode"] == "NotAuthorizedForSourceException", refused
    assert "EventId" not in refused and put.get("EventId"), answer
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)
    assert [json.loads(m["Body"])["source"] for m in received(sqs_client, url)] == [
        FAILURE_EVENT["Source"]
    ]

    # SageMaker's own events are not PutEvents calls of the account: they keep arriving.
    sm.create_model_package_group(ModelPackageGroupName="iris")
    sm.create_model_package(
        ModelPackageGroupName="iris",
        InferenceSpecification={
            "Containers": [{"Image": "xgboost:1", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus="Approved",
    )
    assert core.wait_for_deliveries(timeout=DEADLINE_SECONDS)
    [delivered] = eventually(lambda: received(sqs_client, url), "SageMaker's own event")
    event = json.loads(delivered["Body"])
    assert (event["source"], event["detail"]["ModelApprovalStatus"]) == (
        "aws.sagemaker",
        "Approved",
    )
