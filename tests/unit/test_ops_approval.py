"""make approve, make reject and make rollback with fake AWS clients: which package, what is shown
beside the serving one, what is asked, and what reaches the registry or the deployments queue."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from contracts import deployment as requests
from ops import approval, rollback
from ops.errors import ConfigError, NotFoundError
from tests.helpers.fake_aws import (
    BUCKET,
    DEPLOYMENT,
    DEPLOYMENTS_QUEUE,
    ENDPOINT,
    T0,
    FakeClients,
    FakeExecution,
    context,
    evaluation_report,
    register,
)


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients()


def serving_v1(clients: FakeClients, **report: Any) -> str:
    arn = register(clients, 1, "Approved", evaluation_report(0.95, f1=0.94, **report))
    clients.sagemaker.serve(arn, "proj-v1-0123abcd")
    return arn


def test_approve_latest_shows_both_models_asks_then_approves(clients: FakeClients) -> None:
    serving_v1(clients)
    candidate = register(clients, 2, "PendingManualApproval", evaluation_report(0.97, f1=0.96))
    register(clients, 3, "Rejected", evaluation_report(0.99))  # newer, but rejected
    ctx = context(clients, ["approve"], stdin="y\n")

    result = approval.approve(ctx)

    shown = ctx.progress.getvalue()
    assert f"model package v2 ({candidate}): PendingManualApproval" in shown
    lines = shown.splitlines()
    assert lines[1].split() == ["CANDIDATE", "SERVING", "v1"]
    assert lines[3].split() == ["accuracy", "0.9700", "0.9500"]
    assert lines[4].split() == ["F1", "0.9600", "0.9400"]
    assert "the API matches the serving model's" in shown
    assert ctx.ask.getvalue() == f"Approve model package v2 and deploy it to {ENDPOINT}? [y/N] "
    [update] = clients.sagemaker.called("update_model_package")
    assert update["ModelPackageArn"] == candidate
    assert update["ModelApprovalStatus"] == "Approved"
    assert update["ApprovalDescription"].startswith("Approved with make approve by arn:aws:iam::")
    assert result.data["action"] == "approved"
    package = clients.sagemaker.describe_model_package(ModelPackageName=candidate)
    expected = requests.execution_name(
        requests.Request(candidate, requests.APPROVAL, "Model Registry"), package
    )
    assert result.data["deployment_execution"]["name"] == expected
    assert clients.sqs.sent() == []  # the registry's event deploys it


def test_latest_is_never_a_rejected_package(clients: FakeClients) -> None:
    register(clients, 1, "Rejected", evaluation_report(0.99))
    with pytest.raises(NotFoundError, match="no package of proj-models waits for approval"):
        approval.approve(context(clients, ["approve", "--yes"]))
    assert clients.sagemaker.called("update_model_package") == []


def test_yes_does_not_ask(clients: FakeClients) -> None:
    register(clients, 1, "PendingManualApproval", evaluation_report(0.97))
    ctx = context(clients, ["approve", "--yes"])
    approval.approve(ctx)
    assert ctx.ask.getvalue() == ""
    assert "no serving model to compare the API with" in ctx.progress.getvalue()


def test_a_changed_api_is_refused_unless_accepted(clients: FakeClients) -> None:
    serving_v1(clients)
    arn = register(
        clients, 2, "PendingManualApproval", evaluation_report(0.97, features=["x2", "x1"])
    )

    with pytest.raises(ConfigError, match=r"changes the endpoint's API .* ACCEPT_API_CHANGE=1"):
        approval.approve(context(clients, ["approve", "--yes"]))
    assert clients.sagemaker.called("update_model_package") == []

    ctx = context(clients, ["approve", "--yes", "--accept-api-change", "--package", arn])
    approval.approve(ctx)
    assert "the API DIFFERS from the serving model's" in ctx.progress.getvalue()
    [update] = clients.sagemaker.called("update_model_package")
    assert update["ApprovalDescription"].startswith(requests.API_CHANGE_ACCEPTED + " ")
    assert requests.api_change_accepted(
        clients.sagemaker.describe_model_package(ModelPackageName=arn)
    )


def test_an_approved_package_that_does_not_serve_gets_a_manual_request(
    clients: FakeClients,
) -> None:
    serving_v1(clients)
    arn = register(clients, 2, "Approved", evaluation_report(0.97))

    result = approval.approve(context(clients, ["approve", "--yes", "--package", arn]))

    [sent] = clients.sqs.sent()
    assert sent["QueueUrl"] == DEPLOYMENTS_QUEUE
    assert sent["MessageGroupId"] == ENDPOINT  # one deployment of the endpoint at a time
    request = requests.parse_message(sent["Body"])
    assert (request.model_package_arn, request.reason) == (arn, requests.MANUAL)
    assert sent["MessageDeduplicationId"] == request.request_id
    package = clients.sagemaker.describe_model_package(ModelPackageName=arn)
    assert result.data["deployment_execution"]["name"] == requests.execution_name(request, package)
    assert result.data["action"] == "deployment requested"
    assert clients.sagemaker.called("update_model_package") == []


def test_the_serving_package_needs_nothing(clients: FakeClients) -> None:
    arn = serving_v1(clients)
    result = approval.approve(context(clients, ["approve", "--package", arn]))
    assert result.data["action"] == "none"
    assert "is Approved and serves: nothing to do" in result.text
    assert clients.sqs.sent() == [] and clients.sagemaker.called("update_model_package") == []


def test_a_named_rejected_package_may_be_approved(clients: FakeClients) -> None:
    arn = register(clients, 1, "Rejected", evaluation_report(0.97))
    result = approval.approve(context(clients, ["approve", "--package", arn], stdin="yes\n"))
    assert result.data["action"] == "approved"
    assert "(was Rejected)" in result.text


def test_approve_wait_follows_the_deployment_it_starts(clients: FakeClients) -> None:
    arn = register(clients, 1, "PendingManualApproval", evaluation_report(0.97))
    ctx = context(clients, ["approve", "--yes", "--wait", "--poll", "0.01"])
    # The deployment the approval starts, named as the trigger names it (the fake registry
    # stamps the update one second after T0), already finished.
    approved = {"ModelPackageVersion": 1, "LastModifiedTime": T0 + dt.timedelta(seconds=1)}
    name = requests.execution_name(requests.Request(arn, requests.APPROVAL), approved)
    done = clients.sfn.add(FakeExecution(name, DEPLOYMENT, status="SUCCEEDED"))
    done.enter("Plan")
    done.enter("Deployed", {"outcome": {"status": "SUCCEEDED", "model_package_arn": arn}})
    done.output = {"outcome": {"status": "SUCCEEDED", "model_package_arn": arn}}

    result = approval.approve(ctx)

    assert result.code == 0
    assert "  → Plan\n  → Deployed" in ctx.progress.getvalue()
    assert result.data["deployment"]["status"] == "SUCCEEDED"
    assert result.text.startswith(f"{name} SUCCEEDED")


def test_reject_latest_records_why(clients: FakeClients) -> None:
    arn = register(clients, 1, "PendingManualApproval", evaluation_report(0.8))
    ctx = context(clients, ["reject", "--description", "worse on the new data"], stdin="y\n")

    result = approval.reject(ctx)

    assert ctx.ask.getvalue() == "Reject model package v1 (PendingManualApproval)? [y/N] "
    [update] = clients.sagemaker.called("update_model_package")
    assert update == {
        "ModelPackageArn": arn,
        "ModelApprovalStatus": "Rejected",
        "ApprovalDescription": "worse on the new data",
    }
    assert result.data["still_serving"] is False
    assert "make rollback" not in result.text


def test_rejecting_the_serving_package_offers_make_rollback(clients: FakeClients) -> None:
    arn = serving_v1(clients)
    result = approval.reject(context(clients, ["reject", "--package", arn, "--yes"]))
    assert result.data["still_serving"] is True
    assert f"v1 still serves on endpoint {ENDPOINT}: `make rollback` redeploys" in result.text


def test_rejecting_a_rejected_package_changes_nothing(clients: FakeClients) -> None:
    arn = register(clients, 1, "Rejected", evaluation_report(0.8))
    result = approval.reject(context(clients, ["reject", "--package", arn]))
    assert result.data["action"] == "none"
    assert clients.sagemaker.called("update_model_package") == []


# ----------------------------------------------------------------------------- rollback


def record(clients: FakeClients, arn: str, version: int, started: str, outcome: str) -> None:
    body = {
        "model_package_arn": arn,
        "model_package_version": str(version),
        "started": started,
        "ended": started,
        "outcome": outcome,
        "execution": f"deploy-v{version}-x",
        "endpoint_config": f"proj-v{version}-0123abcd",
        "reason": "approval",
    }
    clients.s3.put(f"deployments/{ENDPOINT}/{started}-deploy-v{version}.json", json.dumps(body))


def test_rollback_requests_the_previously_serving_approved_package(clients: FakeClients) -> None:
    first = register(clients, 1, "Approved", evaluation_report(0.95))
    second = register(clients, 2, "Approved", evaluation_report(0.96))
    third = register(clients, 3, "Approved", evaluation_report(0.97))
    record(clients, first, 1, "2026-01-01T10:00:00Z", "deployed")
    record(clients, third, 3, "2026-01-01T11:00:00Z", "rolled back")
    record(clients, second, 2, "2026-01-01T12:00:00Z", "deployed")
    clients.sagemaker.serve(second, "proj-v2-0123abcd")

    result = rollback.run(context(clients, ["rollback"]))

    [sent] = clients.sqs.sent()
    request = requests.parse_message(sent["Body"])
    assert (request.model_package_arn, request.reason) == (first, requests.ROLLBACK)
    assert sent["MessageGroupId"] == ENDPOINT
    assert result.data["target"]["model_package_arn"] == first
    assert result.data["serving"] == second
    assert f"rolling back to model package v1 ({first})" in result.text
    assert "follow it with `make status`" in result.text


def test_rollback_without_a_previous_package_says_so(clients: FakeClients) -> None:
    arn = serving_v1(clients)
    record(clients, arn, 1, "2026-01-01T10:00:00Z", "deployed")
    with pytest.raises(NotFoundError, match="names no other package that was deployed"):
        rollback.run(context(clients, ["rollback"]))
    assert clients.sqs.sent() == []


def test_rollback_refuses_a_previous_package_no_longer_approved(clients: FakeClients) -> None:
    first = register(clients, 1, "Rejected", evaluation_report(0.95))
    second = serving_v1_as(clients, 2)
    record(clients, first, 1, "2026-01-01T10:00:00Z", "deployed")
    record(clients, second, 2, "2026-01-01T12:00:00Z", "deployed")
    with pytest.raises(ConfigError, match="is Rejected now: only an Approved package is deployed"):
        rollback.run(context(clients, ["rollback"]))


def serving_v1_as(clients: FakeClients, version: int) -> str:
    arn = register(clients, version, "Approved", evaluation_report(0.96))
    clients.sagemaker.serve(arn, f"proj-v{version}-0123abcd")
    return arn


def test_deployment_records_without_the_essentials_are_skipped(clients: FakeClients) -> None:
    from ops import deployments

    clients.s3.put(f"deployments/{ENDPOINT}/a.json", json.dumps({"outcome": "deployed"}))
    clients.s3.put(f"deployments/{ENDPOINT}/b.json", "not json")
    assert deployments.history(clients.s3, BUCKET, ENDPOINT) == []
