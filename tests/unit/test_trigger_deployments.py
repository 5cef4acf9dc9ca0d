"""The deployments queue's messages (``lambdas/trigger/deployments.py``): Model Registry approval
and rejection events and the project's deployment requests, each to one deployment, a report,
or nothing; deployments of the endpoint one at a time.

The approval event is SageMaker's "SageMaker Model Package State Change" as the developer guide
shows it ("Events that Amazon SageMaker AI sends to Amazon EventBridge", model package state
change: tests/events/sagemaker_model_package_approved.json); SageMaker and Step Functions are
fakes held to botocore's models (tests/helpers/trigger_fakes.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from botocore.exceptions import ClientError
from hcl2.utils import SerializationOptions

from contracts import deployment as requests
from lambdas.trigger import deployments, logic
from lambdas.trigger.jobs import Job, NotRun
from tests.helpers import terraform_render
from tests.helpers.events import load_event
from tests.helpers.trigger_fakes import Fakes, FakeSageMaker, sqs_event

ROOT = Path(__file__).resolve().parents[2]
MACHINE = "arn:aws:states:us-east-1:111122223333:stateMachine:iris-mlops-deployment"
TOPIC = "arn:aws:sns:us-east-1:111122223333:iris-mlops-notifications"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/111122223333/iris-mlops-deployments.fifo"
ENDPOINT = "iris-mlops-endpoint"
GROUP = "iris-mlops-models"
CONFIG = logic.Config(
    state_machine_arn=MACHINE,
    notification_topic_arn=TOPIC,
    requests=logic.DEPLOYMENTS,
    endpoint_name=ENDPOINT,
    queue_url=QUEUE_URL,
    retry_delay_seconds=10,
)
NAME_RULE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def registry_event(arn: str, status: str = "Approved", event_id: str = "e-1") -> dict[str, Any]:
    """SageMaker's state change event of package ``arn`` (SageMaker may send several per
    change: each has its own id)."""
    event = load_event("sagemaker_model_package_approved")
    version = int(arn.rsplit("/", 1)[1])
    event["id"] = event_id
    event["resources"] = [arn]
    event["detail"].update(
        ModelPackageArn=arn,
        ModelPackageVersion=version,
        ModelPackageName=f"{GROUP}/{version}",
        ModelApprovalStatus=status,
    )
    return event


def deployment_request(arn: str, reason: str = requests.ROLLBACK, request_id: str = "r-1") -> str:
    return requests.request_message(requests.Request(arn, reason, "ops", request_id))


def fakes_with_package(modified: int | None = 1) -> tuple[Fakes, str]:
    fakes = Fakes(MACHINE)
    return fakes, fakes.sagemaker.add_package(GROUP, 3, modified=modified)


def run(fakes: Fakes, *bodies: Any) -> list[str]:
    """The ids of the messages the batch keeps in the queue."""
    response = logic.handle_batch(sqs_event(*bodies, group=ENDPOINT), fakes.clients(), CONFIG)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def trigger_tf() -> dict[str, Any]:
    with (ROOT / "terraform" / "trigger.tf").open() as handle:
        return dict(hcl2.load(handle, serialization_options=HCL))


def test_the_event_fixture_matches_the_registry_rules_of_terraform() -> None:
    # terraform/trigger.tf forwards this source, detail type and group's Approved and Rejected.
    parsed = trigger_tf()
    [statuses] = [b["registry_events"] for b in parsed["locals"] if "registry_events" in b]
    assert set(statuses.values()) == {"Approved", "Rejected"}
    [rule] = [
        b["aws_cloudwatch_event_rule"]["model_package"]
        for b in parsed["resource"]
        if "model_package" in b.get("aws_cloudwatch_event_rule", {})
    ]
    event = load_event("sagemaker_model_package_approved")
    for field in (event["source"], event["detail-type"], "ModelPackageGroupName"):
        assert field in rule["event_pattern"]
    [target] = [
        b["aws_cloudwatch_event_target"]["model_package"]
        for b in parsed["resource"]
        if "model_package" in b.get("aws_cloudwatch_event_target", {})
    ]
    assert target["arn"] == '${aws_sqs_queue.request["deployments"].arn}'
    assert target["sqs_target"] == [{"message_group_id": "${local.endpoint_name}"}]


# --- approvals ---------------------------------------------------------------------------------


def test_an_approval_becomes_a_deployment_named_by_the_approval() -> None:
    fakes, arn = fakes_with_package()
    job = deployments.job_for(registry_event(arn), fakes.sagemaker, ENDPOINT)
    package = fakes.sagemaker.packages[arn]
    request = requests.Request(arn, requests.APPROVAL, "Model Registry")
    assert job == Job(
        name=requests.execution_name(request, package),
        input=json.dumps(request.as_input(), sort_keys=True),
        what=f"approval of {arn}",
        log={"model_package_arn": arn, "reason": requests.APPROVAL},
    )
    assert NAME_RULE.match(job.name) and job.name.startswith("deploy-v3-")
    assert fakes.sagemaker.called("DescribeModelPackage") == [{"ModelPackageName": arn}]


def test_the_same_approval_twice_has_one_name_and_deploys_once() -> None:
    fakes, arn = fakes_with_package()
    first, second = registry_event(arn, event_id="e-1"), registry_event(arn, event_id="e-2")
    assert run(fakes, first, second) == ["m0", "m1"]  # started; the second waits behind it
    assert run(fakes, second) == ["m0"]  # its own execution is still running: the lock holds
    [started] = fakes.sfn.started()
    fakes.sfn.executions[started].status = "SUCCEEDED"
    assert run(fakes, first) == [] and run(fakes, second) == []  # both done, deleted
    assert fakes.sfn.started() == [started]


def test_a_later_approval_of_the_same_package_deploys_again() -> None:
    # Approved, rejected, approved again: a new approval time, a new deployment.
    fakes, arn = fakes_with_package(modified=1)
    first = deployments.job_for(registry_event(arn), fakes.sagemaker, ENDPOINT)
    fakes.sagemaker.add_package(GROUP, 3, modified=9)
    again = deployments.job_for(registry_event(arn, event_id="e-9"), fakes.sagemaker, ENDPOINT)
    assert isinstance(first, Job) and isinstance(again, Job) and first.name != again.name


def test_a_package_registered_approved_is_named_by_its_creation() -> None:
    fakes, arn = fakes_with_package(modified=None)
    job = deployments.job_for(registry_event(arn), fakes.sagemaker, ENDPOINT)
    assert isinstance(job, Job)
    package = fakes.sagemaker.packages[arn]
    assert "LastModifiedTime" not in package
    request = requests.Request(arn, requests.APPROVAL, "Model Registry")
    assert job.name == requests.execution_name(request, package)


def test_a_deployment_waits_while_another_deployment_of_the_endpoint_runs() -> None:
    fakes, arn = fakes_with_package()
    fakes.sfn.add("rollback-v2-0123456789abcdef")
    assert run(fakes, registry_event(arn)) == ["m0"]
    assert fakes.sfn.started() == []
    [visibility] = fakes.sqs.called("ChangeMessageVisibility")
    assert (visibility["QueueUrl"], visibility["VisibilityTimeout"]) == (QUEUE_URL, 10)


# --- the project's deployment requests ---------------------------------------------------------


@pytest.mark.parametrize("reason", [requests.ROLLBACK, requests.MANUAL])
def test_a_deployment_request_becomes_a_deployment(reason: str) -> None:
    fakes, arn = fakes_with_package()
    assert run(fakes, deployment_request(arn, reason)) == ["m0"]
    [started] = fakes.sfn.called("StartExecution")
    assert started["name"].startswith(f"{reason}-v3-") and NAME_RULE.match(started["name"])
    assert json.loads(started["input"]) == {
        "model_package_arn": arn,
        "reason": reason,
        "requested_by": "ops",
        "request_id": "r-1",
    }


def test_a_repeated_command_deploys_again_a_redelivered_one_does_not() -> None:
    fakes, arn = fakes_with_package()
    one = deployments.job_for(json.loads(deployment_request(arn)), fakes.sagemaker, ENDPOINT)
    same = deployments.job_for(json.loads(deployment_request(arn)), fakes.sagemaker, ENDPOINT)
    repeated = deployments.job_for(
        json.loads(deployment_request(arn, request_id="r-2")), fakes.sagemaker, ENDPOINT
    )
    assert isinstance(one, Job) and isinstance(same, Job) and isinstance(repeated, Job)
    assert one.name == same.name != repeated.name


# --- rejections --------------------------------------------------------------------------------


def test_a_rejected_package_that_still_serves_is_reported() -> None:
    fakes, arn = fakes_with_package()
    fakes.sagemaker.serve(ENDPOINT, arn)
    assert run(fakes, registry_event(arn, "Rejected")) == []  # reported, then deleted
    assert fakes.sfn.calls == []
    [published] = fakes.sns.called("Publish")
    assert published["Subject"] == "Rejected model is still serving"
    [message] = fakes.sns.messages()
    assert (message["title"], message["status"], message["request"]) == (
        "Rejected model is still serving",
        "done",
        arn,
    )
    assert f"still serves on endpoint {ENDPOINT}" in message["reason"]
    assert "make rollback" in message["reason"]


@pytest.mark.parametrize("serving", ["another package", "a model of no package", "no endpoint"])
def test_a_rejected_package_that_does_not_serve_is_deleted_quietly(serving: str) -> None:
    fakes, arn = fakes_with_package()
    if serving == "another package":
        fakes.sagemaker.serve(ENDPOINT, fakes.sagemaker.add_package(GROUP, 2))
    elif serving == "a model of no package":
        fakes.sagemaker.serve(ENDPOINT, None)
    result = deployments.job_for(registry_event(arn, "Rejected"), fakes.sagemaker, ENDPOINT)
    assert isinstance(result, NotRun) and (result.status, result.notify) == ("done", False)
    assert run(fakes, registry_event(arn, "Rejected")) == []
    assert fakes.sns.calls == [] and fakes.sfn.calls == []


def test_an_error_reading_the_endpoint_fails_the_invocation() -> None:
    # The rejection comes back, rather than being dropped unreported.
    fakes, arn = fakes_with_package()
    fakes.sagemaker.fail("DescribeEndpoint", "ThrottlingException", "Rate exceeded")
    with pytest.raises(ClientError, match="ThrottlingException"):
        run(fakes, registry_event(arn, "Rejected"))


# --- what will not run -------------------------------------------------------------------------


def _approval_without_arn() -> dict[str, Any]:
    event = registry_event("arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3")
    del event["detail"]["ModelPackageArn"]
    return event


def _rejection_without_arn() -> dict[str, Any]:
    event = registry_event("arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3", "Rejected")
    del event["detail"]["ModelPackageArn"]
    return event


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "is not understood"),
        (load_event("s3_object_created"), "unknown message source 'aws.s3'"),
        (
            registry_event(
                "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/3",
                "PendingManualApproval",
            ),
            "not an approval",
        ),
        (_approval_without_arn(), "approval event without ModelPackageArn"),
        (_rejection_without_arn(), "detail.ModelPackageArn must be a non-empty string"),
        (
            json.loads(deployment_request("arn:aws:sagemaker:us-east-1:1:model-package/g/1"))
            | {"detail": {"reason": "approval", "model_package_arn": "x"}},
            "needs model_package_arn and a reason of manual or rollback",
        ),
    ],
)
def test_a_malformed_message_is_rejected_and_notified(body: Any, reason: str) -> None:
    fakes, _ = fakes_with_package()
    assert run(fakes, body) == []
    assert fakes.sfn.calls == []
    [published] = fakes.sns.called("Publish")
    assert published["Subject"] == "Deployment request not run (rejected): m0"
    [message] = fakes.sns.messages()
    assert (message["status"], message["request"]) == ("rejected", "m0")
    assert reason in message["reason"]
    assert "make approve" in message["action"]


def test_a_package_that_does_not_exist_is_rejected_and_notified() -> None:
    fakes = Fakes(MACHINE)
    missing = f"arn:aws:sagemaker:us-east-1:111122223333:model-package/{GROUP}/9"
    assert run(fakes, registry_event(missing)) == []
    [message] = fakes.sns.messages()
    assert (message["status"], message["request"]) == ("rejected", missing)
    assert "cannot be read" in message["reason"] and "does not exist" in message["reason"]
    assert fakes.sfn.calls == []


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException"])
def test_an_approval_is_not_dropped_when_its_package_cannot_be_read_now(code: str) -> None:
    # Retrying can succeed: the invocation fails and the approval comes back (in the end, to
    # the dead-letter queue and its alarm), instead of being deleted as "rejected".
    fakes, arn = fakes_with_package()
    fakes.sagemaker.fail("DescribeModelPackage", code)
    with pytest.raises(ClientError, match=code):
        run(fakes, registry_event(arn))
    assert fakes.sns.calls == []


def test_terraform_grants_the_deployments_trigger_exactly_the_sagemaker_calls_it_makes() -> None:
    sagemaker = FakeSageMaker()
    arn = sagemaker.add_package(GROUP, 3)
    sagemaker.serve(ENDPOINT, arn)
    deployments.job_for(registry_event(arn), sagemaker, ENDPOINT)
    deployments.job_for(registry_event(arn, "Rejected"), sagemaker, ENDPOINT)
    made = {f"sagemaker:{name}" for name, _ in sagemaker.calls}
    [document] = [
        b["aws_iam_policy_document"]["trigger"]
        for b in trigger_tf()["data"]
        if "trigger" in b.get("aws_iam_policy_document", {})
    ]
    [granted] = [
        d["statement"]["content"][0]["actions"]
        for d in document["dynamic"]
        if d["statement"]["content"][0]["sid"] == "ReadApprovals"
    ]
    # The serving-package lookup, one local every function that finds the package shares.
    assert granted == "${local.serving_package_lookup.actions}"
    lookup = terraform_render.block("lambdas.tf", "locals", "serving_package_lookup", "")
    assert made == set(lookup["actions"])
