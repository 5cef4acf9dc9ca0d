"""Both triggers as deployed (tests/helpers/trigger_stack.py, read from terraform/trigger.tf):

    S3 upload ─► EventBridge ─► uploads.fifo ─► uploads trigger ─► the training machine
    registry approval / rejection ─► EventBridge ─► deployments.fifo ─► deployments trigger
    the project's requests ─► the same queues                             ─► the deployment machine

Everything runs on the emulator in process: EventBridge delivers S3's and SageMaker's events to
the FIFO queues, ``emulator/aws/sqs.py`` polls them as Lambda does and runs the real trigger zip
as its role. Step Functions does not execute the machines here, so an execution stays RUNNING
until the test stops it: that plays "a run (or a deployment) in progress".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contracts import deployment as requests
from emulator.aws import sagemaker as aws_sagemaker
from emulator.aws import sqs as aws_sqs
from emulator.tests.helpers import eventually
from tests.helpers.trigger_stack import (
    BUCKET,
    DEADLINE_SECONDS,
    ENDPOINT,
    GROUP,
    MODEL_PREFIX,
    Queue,
    TriggerStack,
    build_trigger_stack,
    drain_runs,
    executions,
    notifications,
    queue_depth,
    tap,
)

pytestmark = pytest.mark.integration

Clients = Callable[[str], Any]
SAGEMAKER_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture
def execute_state_machines() -> bool:
    """Step Functions executions stay RUNNING until stopped: "a run in progress"."""
    return False


@pytest.fixture
def stack(clients: Clients) -> TriggerStack:
    return build_trigger_stack(clients)


def inputs(aws: Clients, queue: Queue) -> list[dict[str, Any]]:
    """The input of every execution of ``queue``'s machine, oldest first."""
    return [json.loads(e["input"]) for e in executions(aws("stepfunctions"), queue.machine_arn)]


def settle(aws: Clients, queue: Queue) -> None:
    """Wait until ``queue`` is empty and no batch is in delivery."""
    eventually(lambda: queue_depth(aws("sqs"), queue.url) == 0, "the queue to drain")
    assert aws_sqs.wait_idle(DEADLINE_SECONDS)


def receive_count(queue: Queue) -> int:
    """How often the head message of ``queue`` has been received (moto keeps the count)."""
    from moto.sqs.models import sqs_backends

    name = queue.url.rsplit("/", 1)[1]
    found = sqs_backends["123456789012"]["us-east-1"].queues[name]
    return max((m.approximate_receive_count for m in found._messages), default=0)


def decisions(aws: Clients, queue: Queue) -> list[dict[str, Any]]:
    """The trigger's decision log lines (a quiet deletion leaves no other trace)."""
    logs = aws("logs")
    group = f"/aws/lambda/{queue.function}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    events = logs.filter_log_events(logGroupName=group, filterPattern='"trigger decision"')
    lines = [e["message"] for e in events["events"]]
    return [json.loads(line[line.index("{") :]) for line in lines]


def register(aws: Clients, status: str = "Approved") -> str:
    """A model package of the project's group; registering it emits its state change."""
    return str(
        aws("sagemaker").create_model_package(
            ModelPackageGroupName=GROUP, ModelApprovalStatus=status
        )["ModelPackageArn"]
    )


# --------------------------------------------------------------------------- uploads


def test_ten_simultaneous_uploads_run_one_at_a_time_each_exactly_once(
    clients: Clients, stack: TriggerStack
) -> None:
    keys = [f"data/raw/burst-{i:02d}.csv" for i in range(10)]
    barrier = threading.Barrier(len(keys))

    def upload(key: str) -> None:
        barrier.wait(timeout=10)
        clients("s3").put_object(Bucket=BUCKET, Key=key, Body=b"a,b\n1,2\n")

    threads = [threading.Thread(target=upload, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    order = drain_runs(clients("stepfunctions"), clients("sqs"), stack.uploads, len(keys))

    uris = [document["data_uri"] for document in inputs(clients, stack.uploads)]
    assert sorted(uris) == sorted(f"s3://{BUCKET}/{key}" for key in keys)  # each exactly once
    assert len(order) == len(keys)
    assert notifications(clients("sqs"), stack.notifications_url) == []
    sqs = clients("sqs")
    assert queue_depth(sqs, stack.uploads.url) == queue_depth(sqs, stack.uploads.dead_letter_url)
    assert queue_depth(sqs, stack.uploads.dead_letter_url) == 0


def test_uploads_run_in_arrival_order(clients: Clients, stack: TriggerStack) -> None:
    keys = [f"data/raw/ordered-{i}.csv" for i in range(4)]
    for key in keys:
        clients("s3").put_object(Bucket=BUCKET, Key=key, Body=b"a\n1\n")

    drain_runs(clients("stepfunctions"), clients("sqs"), stack.uploads, len(keys))

    started = [document["data_uri"] for document in inputs(clients, stack.uploads)]
    assert started == [f"s3://{BUCKET}/{key}" for key in keys]


def test_a_run_trains_on_its_uploaded_version_with_the_settings_of_its_metadata(
    clients: Clients, stack: TriggerStack
) -> None:
    s3 = clients("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(
        Bucket=BUCKET, Key="data/raw/v.csv", Body=b"a,y\n1,2\n", Metadata={"label-column": "y"}
    )["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="data/raw/v.csv", Body=b"b,z\n1,2\n")  # queued behind it

    drain_runs(clients("stepfunctions"), clients("sqs"), stack.uploads, 2)

    runs = inputs(clients, stack.uploads)
    assert runs[0] == {
        "data_uri": f"s3://{BUCKET}/data/raw/v.csv",
        "data_version_id": first,
        "label_column": "y",
    }
    assert runs[1]["data_version_id"] != first and "label_column" not in runs[1]


def test_an_upload_waits_for_a_training_run_then_starts(
    clients: Clients, stack: TriggerStack
) -> None:
    sfn = clients("stepfunctions")
    manual = sfn.start_execution(
        stateMachineArn=stack.uploads.machine_arn, name="manual", input="{}"
    )

    clients("s3").put_object(Bucket=BUCKET, Key="data/raw/later.csv", Body=b"a\n1\n")
    # The trigger sees it (the receive count grows) and keeps it: no second run, nothing lost.
    eventually(lambda: receive_count(stack.uploads) >= 2, "the trigger to retry")
    assert [e["name"] for e in executions(sfn, stack.uploads.machine_arn)] == ["manual"]
    assert queue_depth(clients("sqs"), stack.uploads.url) == 1

    sfn.stop_execution(executionArn=manual["executionArn"])

    eventually(lambda: len(inputs(clients, stack.uploads)) == 2, "the run")
    assert inputs(clients, stack.uploads)[1] == {"data_uri": f"s3://{BUCKET}/data/raw/later.csv"}
    assert notifications(clients("sqs"), stack.notifications_url) == []


def test_a_message_kept_past_its_receive_limit_goes_to_the_dead_letter_queue(
    clients: Clients,
) -> None:
    stack = build_trigger_stack(clients, max_receive_count=3)
    sfn = clients("stepfunctions")
    sfn.start_execution(stateMachineArn=stack.uploads.machine_arn, name="long", input="{}")

    clients("s3").put_object(Bucket=BUCKET, Key="data/raw/patient.csv", Body=b"a\n1\n")

    # Never dropped: once SQS has handed it out maxReceiveCount times, it waits in the FIFO
    # dead-letter queue (whose alarm notifies), and nothing else started meanwhile.
    sqs = clients("sqs")
    eventually(lambda: queue_depth(sqs, stack.uploads.dead_letter_url) == 1, "the dead letter")
    [dead] = sqs.receive_message(QueueUrl=stack.uploads.dead_letter_url)["Messages"]
    assert json.loads(dead["Body"])["detail"]["object"]["key"] == "data/raw/patient.csv"
    assert queue_depth(sqs, stack.uploads.url) == 0
    assert [e["name"] for e in executions(sfn, stack.uploads.machine_arn)] == ["long"]


def test_uploads_that_are_not_training_data_are_notified_not_dropped(
    clients: Clients, stack: TriggerStack
) -> None:
    s3 = clients("s3")
    s3.put_object(Bucket=BUCKET, Key="data/raw/empty.csv", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="data/raw/notes.txt", Body=b"hello")
    s3.put_object(Bucket=BUCKET, Key="data/raw/UPPER.CSV", Body=b"a\n1\n")

    drain_runs(clients("stepfunctions"), clients("sqs"), stack.uploads, 1)
    settle(clients, stack.uploads)

    assert inputs(clients, stack.uploads) == [{"data_uri": f"s3://{BUCKET}/data/raw/UPPER.CSV"}]
    notes = {n["request"]: n for n in notifications(clients("sqs"), stack.notifications_url)}
    empty, text = f"s3://{BUCKET}/data/raw/empty.csv", f"s3://{BUCKET}/data/raw/notes.txt"
    assert set(notes) == {empty, text}
    assert "is empty (0 bytes)" in notes[empty]["reason"]
    assert "does not end with '.csv'" in notes[text]["reason"]
    assert {n["status"] for n in notes.values()} == {"ignored"}
    assert all(n["subject"].startswith("Upload not run (ignored): s3://") for n in notes.values())


def test_a_message_that_is_not_understood_is_notified_and_does_not_block(
    clients: Clients, stack: TriggerStack
) -> None:
    clients("sqs").send_message(
        QueueUrl=stack.uploads.url, MessageBody="not json", MessageGroupId="uploads"
    )
    clients("s3").put_object(Bucket=BUCKET, Key="data/raw/after.csv", Body=b"a\n1\n")

    eventually(lambda: inputs(clients, stack.uploads), "the run")
    notes = eventually(lambda: notifications(clients("sqs"), stack.notifications_url), "a note")

    assert inputs(clients, stack.uploads) == [{"data_uri": f"s3://{BUCKET}/data/raw/after.csv"}]
    assert [(n["status"], n["subject"]) for n in notes] == [
        ("rejected", f"Upload not run (rejected): {notes[0]['request']}")
    ]
    assert "is not understood" in notes[0]["reason"]


def test_a_replayed_upload_event_never_starts_a_second_run(
    clients: Clients, stack: TriggerStack
) -> None:
    recorded = tap(clients, "uploads")
    clients("s3").put_object(Bucket=BUCKET, Key="data/raw/once.csv", Body=b"a\n1\n")
    [name] = drain_runs(clients("stepfunctions"), clients("sqs"), stack.uploads, 1)
    [delivered] = clients("sqs").receive_message(QueueUrl=recorded)["Messages"]

    # The same S3 event again, as a new message (as after the queue's 5-minute deduplication).
    clients("sqs").send_message(
        QueueUrl=stack.uploads.url,
        MessageBody=delivered["Body"],
        MessageGroupId="uploads",
        MessageDeduplicationId="replay",
    )
    settle(clients, stack.uploads)

    assert [e["name"] for e in executions(clients("stepfunctions"), stack.uploads.machine_arn)] == [
        name
    ]
    assert notifications(clients("sqs"), stack.notifications_url) == []


def test_a_redelivered_message_is_deduplicated_by_the_queue(
    clients: Clients, stack: TriggerStack
) -> None:
    body = json.dumps({"id": "same-event", "detail": {}})
    for _ in range(2):
        clients("sqs").send_message(
            QueueUrl=stack.uploads.url, MessageBody=body, MessageGroupId="uploads"
        )

    settle(clients, stack.uploads)

    # Content-based deduplication: one message, one decision, one notification.
    assert len(notifications(clients("sqs"), stack.notifications_url)) == 1


# --------------------------------------------------------------------------- deployments


def test_an_approval_starts_one_deployment_of_the_approved_package(
    clients: Clients, stack: TriggerStack
) -> None:
    arn = register(clients)

    [name] = drain_runs(clients("stepfunctions"), clients("sqs"), stack.deployments, 1)

    assert name.startswith("deploy-v1-")
    assert inputs(clients, stack.deployments) == [
        {
            "model_package_arn": arn,
            "reason": requests.APPROVAL,
            "requested_by": "Model Registry",
            "request_id": "",
        }
    ]
    assert inputs(clients, stack.uploads) == []
    assert notifications(clients("sqs"), stack.notifications_url) == []


def test_the_same_approval_delivered_twice_deploys_once(
    clients: Clients, stack: TriggerStack
) -> None:
    recorded = tap(clients, "model-package-approved")
    register(clients)
    [name] = drain_runs(clients("stepfunctions"), clients("sqs"), stack.deployments, 1)
    [delivered] = clients("sqs").receive_message(QueueUrl=recorded)["Messages"]

    # SageMaker "may send multiple events to EventBridge for each state change": the same
    # change again, under an event id of its own (so the queue does not deduplicate it).
    again = json.loads(delivered["Body"]) | {"id": "another-event-id"}
    clients("sqs").send_message(
        QueueUrl=stack.deployments.url, MessageBody=json.dumps(again), MessageGroupId=ENDPOINT
    )
    settle(clients, stack.deployments)

    deployments = executions(clients("stepfunctions"), stack.deployments.machine_arn)
    assert [e["name"] for e in deployments] == [name]
    assert notifications(clients("sqs"), stack.notifications_url) == []


def test_two_approvals_deploy_one_at_a_time_in_approval_order(
    clients: Clients, stack: TriggerStack
) -> None:
    pending = register(clients, "PendingManualApproval")
    registered = register(clients)
    clients("sagemaker").update_model_package(
        ModelPackageArn=pending, ModelApprovalStatus="Approved"
    )

    drain_runs(clients("stepfunctions"), clients("sqs"), stack.deployments, 2)

    deployed = [document["model_package_arn"] for document in inputs(clients, stack.deployments)]
    assert deployed == [registered, pending]


def test_a_deployment_request_of_the_project_starts_a_deployment(
    clients: Clients, stack: TriggerStack
) -> None:
    arn = register(clients, "PendingManualApproval")  # no approval event: nothing queued
    request = requests.Request(arn, requests.ROLLBACK, "ops", "rollback-1")
    clients("sqs").send_message(
        QueueUrl=stack.deployments.url,
        MessageBody=requests.request_message(request),
        MessageGroupId=ENDPOINT,
    )

    [name] = drain_runs(clients("stepfunctions"), clients("sqs"), stack.deployments, 1)

    assert name.startswith("rollback-v1-")
    assert inputs(clients, stack.deployments) == [request.as_input()]


@pytest.fixture
def slow_endpoints() -> Iterator[None]:
    """Endpoints stay Creating: the endpoint names its config and model, no model is loaded."""
    aws_sagemaker.set_endpoint_transition_seconds(3600)
    yield
    aws_sagemaker.set_endpoint_transition_seconds(None)


def serve(aws: Clients, package_arn: str) -> None:
    """The project's endpoint with a model created from ``package_arn``."""
    sagemaker = aws("sagemaker")
    role = aws("iam").create_role(RoleName="sagemaker", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    sagemaker.create_model(
        ModelName=f"{MODEL_PREFIX}-1",
        PrimaryContainer={"ModelPackageName": package_arn},
        ExecutionRoleArn=role["Role"]["Arn"],
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{MODEL_PREFIX}-cfg-1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{MODEL_PREFIX}-1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{MODEL_PREFIX}-cfg-1")


def test_a_rejection_of_the_serving_package_is_reported(
    clients: Clients, stack: TriggerStack, slow_endpoints: None
) -> None:
    arn = register(clients, "PendingManualApproval")
    serve(clients, arn)

    clients("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    notes = eventually(lambda: notifications(clients("sqs"), stack.notifications_url), "a note")
    settle(clients, stack.deployments)
    assert [(n["subject"], n["request"]) for n in notes] == [
        ("Rejected model is still serving", arn)
    ]
    assert inputs(clients, stack.deployments) == []


def test_a_rejection_of_a_package_that_does_not_serve_is_deleted_quietly(
    clients: Clients, stack: TriggerStack
) -> None:
    arn = register(clients, "PendingManualApproval")

    clients("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    [decision] = eventually(lambda: decisions(clients, stack.deployments), "the decision")
    settle(clients, stack.deployments)
    assert (decision["status"], decision["execution_name"]) == ("done", None)
    assert decision["reason"] == f"rejected package {arn} does not serve"
    assert notifications(clients("sqs"), stack.notifications_url) == []
    assert inputs(clients, stack.deployments) == []
    assert queue_depth(clients("sqs"), stack.deployments.dead_letter_url) == 0


def test_each_trigger_calls_aws_as_its_own_role_after_the_other_has_run(
    clients: Clients, stack: TriggerStack
) -> None:
    # Both triggers run the same zip (terraform/trigger.tf). On AWS each function has execution
    # environments of its own, so module state (the handler's cached clients, holding the
    # role's credentials) is never shared between two functions, even of the same code
    # ("Lambda execution environment", Lambda developer guide: lambda-runtime-environment).
    clients("s3").put_object(Bucket=BUCKET, Key="data/raw/first.csv", Body=b"a\n1\n")
    drain_runs(clients("stepfunctions"), clients("sqs"), stack.uploads, 1)
    settle(clients, stack.uploads)

    register(clients)

    sfn = clients("stepfunctions")
    [deployment] = eventually(lambda: executions(sfn, stack.deployments.machine_arn), "it")
    assert deployment["name"].startswith("deploy-v1-")
