"""The deployment machine's real ASL executed by the emulator: one test per path.

Real models are served by the emulator: a corrupt artifact cannot be loaded (an update is rolled
back by SageMaker, a new endpoint ends Failed), and a model that answers differently from its
evaluation fails the smoke test. Each test checks what a user sees: the run's error and cause,
the notification (which names the package), which config serves afterwards, and the record of
every attempt under deployments/<endpoint>/.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.sagemaker.models import sagemaker_backends

from contracts import deployment as requests
from emulator.aws import sagemaker, sagemaker_runtime
from tests.helpers.stack import (
    ACCOUNT,
    BUCKET,
    ENDPOINT,
    GUARDRAILS,
    REGION,
    SMOKE_TEST_BODY,
    VARIANT,
    Run,
    Stack,
    evaluation_report,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(emulator: None) -> Iterator[Stack]:
    # Endpoints really go through Creating/Updating/Deleting; short transitions keep each path
    # within the plan's small poll budget.
    sagemaker.set_endpoint_transition_seconds(0.3)
    yield Stack()
    sagemaker.set_endpoint_transition_seconds(None)


def good(stack: Stack, execution_id: str = "good", **metadata: str) -> str:
    return stack.register(evaluation_report(0.97, execution_id=execution_id), metadata=metadata)


def corrupt(stack: Stack) -> str:
    report = evaluation_report(0.97, execution_id="corrupt")
    arn = stack.register(report)
    key = report["model"]["artifact_uri"].removeprefix(f"s3://{BUCKET}/")
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"this is not a gzipped tar archive")
    return arn


def disagreeing(stack: Stack, status: str = "Approved") -> str:
    """A model that loads and answers, but not what its evaluation predicted."""
    report = evaluation_report(0.97, execution_id="disagreeing")
    report["smoke_test"]["probabilities"][1] = [0.9, 0.05, 0.05]
    return stack.register(report, status=status)


def invoke() -> list[list[float]]:
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)
    answer = runtime.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="text/csv", Body=SMOKE_TEST_BODY.encode()
    )
    rows: list[list[float]] = json.loads(answer["Body"].read())
    return rows


def serving_config(stack: Stack) -> str:
    endpoint = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointStatus"] == "InService"
    return str(endpoint["EndpointConfigName"])


def deployed(stack: Stack) -> tuple[str, str, list[list[float]]]:
    """A first good package deployed: (its ARN, the serving config, its answer)."""
    arn = good(stack)
    run = stack.deploy(arn)
    assert run.status == "SUCCEEDED", run.cause
    stack.notifications()
    return arn, serving_config(stack), invoke()


def scheduled(run: Run, action: str) -> list[dict[str, Any]]:
    return [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in run.history
        if e.get("taskScheduledEventDetails", {}).get("resource") == action
    ]


def wait_until_gone(stack: Stack, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ENDPOINT not in stack.endpoints():
            return True
        time.sleep(0.2)
    return False


def test_a_first_deployment_creates_smoke_tests_and_records_the_endpoint(stack: Stack) -> None:
    arn = good(stack)

    run = stack.deploy(arn)

    assert run.status == "SUCCEEDED", run.cause
    states = run.states
    assert states.index("CreateEndpoint") < states.index("SmokeTest") < states.index("Deployed")
    assert stack.serving_package() == arn
    config = stack.sagemaker.describe_endpoint_config(EndpointConfigName=serving_config(stack))
    [variant] = config["ProductionVariants"]
    assert (variant["VariantName"], variant["InitialInstanceCount"]) == (VARIANT, 1)
    capture = config["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == f"s3://{BUCKET}/data-capture"
    assert capture["InitialSamplingPercentage"] == 20
    [record] = stack.deployment_records()
    assert (record["outcome"], record["mode"], record["model_package_arn"]) == (
        "deployed",
        "create",
        arn,
    )
    assert record["endpoint_config"] == serving_config(stack)
    assert record["started"] <= record["ended"]
    [note] = stack.notifications()
    assert note["subject"] == f"Model deployed: v1 on {ENDPOINT}"
    assert note["message"]["smoke_test"] == "3 rows answered as the evaluation predicted"


def test_an_update_is_blue_green_with_alarms_on_the_new_fleet_only(stack: Stack) -> None:
    _, previous, _ = deployed(stack)
    second = good(stack, "second")

    run = stack.deploy(second)

    assert run.status == "SUCCEEDED", run.cause
    [update] = scheduled(run, "updateEndpoint")
    policy = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 1,
    }
    new_config = update["EndpointConfigName"]
    alarms = [
        a["AlarmName"] for a in update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    ]
    assert alarms == [
        f"{ENDPOINT}-rollback-{new_config}-model-5xx",
        f"{ENDPOINT}-rollback-{new_config}-model-latency",
    ]
    # Cleaned up once the attempt ended.
    left = stack.cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]
    assert left == []
    records = stack.deployment_records()
    assert [r["outcome"] for r in records] == ["deployed", "deployed"]
    assert (records[1]["mode"], records[1]["previous_config"]) == ("update", previous)
    assert stack.serving_package() == second


def test_a_package_already_serving_is_skipped(stack: Stack) -> None:
    arn, config, _ = deployed(stack)

    run = stack.deploy(arn)

    assert run.status == "SUCCEEDED", run.cause
    assert "CreateModel" not in run.states
    assert serving_config(stack) == config
    [note] = stack.notifications()
    assert note["subject"] == "Deployment skipped: v1"
    assert "already serves" in note["message"]["summary"]
    assert len(stack.deployment_records()) == 1


def test_an_unapproved_package_is_refused(stack: Stack) -> None:
    arn = stack.register(evaluation_report(0.97), status="PendingManualApproval")

    run = stack.deploy(arn)

    assert (run.status, run.error) == ("FAILED", "ModelPackageNotDeployable")
    assert "PendingManualApproval" in (run.cause or "")
    assert stack.endpoints() == []
    [note] = stack.notifications()
    assert note["message"]["model_package_arn"] == arn


def test_a_package_registered_approved_by_a_deploy_false_run_is_not_deployed(
    stack: Stack,
) -> None:
    arn = good(stack, deploy="false", sfn_execution="run-1")

    run = stack.deploy(arn)

    assert run.status == "SUCCEEDED", run.cause
    assert stack.endpoints() == []
    [note] = stack.notifications()
    assert "deploy=false" in note["message"]["summary"]
    assert f"make approve PACKAGE={arn}" in note["message"]["summary"]


def test_a_manual_approval_of_a_pending_deploy_false_package_deploys_it(stack: Stack) -> None:
    arn = stack.register(
        evaluation_report(0.97), status="PendingManualApproval", metadata={"deploy": "false"}
    )
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    run = stack.deploy(arn)

    assert run.status == "SUCCEEDED", run.cause
    assert stack.serving_package() == arn


def test_make_approve_of_an_approved_package_deploys_it(stack: Stack) -> None:
    arn = good(stack, deploy="false")

    run = stack.deploy(arn, reason=requests.MANUAL)

    assert run.status == "SUCCEEDED", run.cause
    assert stack.serving_package() == arn


def test_a_different_api_is_refused_unless_the_approval_accepts_it(stack: Stack) -> None:
    deployed(stack)
    report = evaluation_report(0.97, execution_id="reordered", features=["f2", "f1", "f3", "f4"])
    arn = stack.register(report)

    run = stack.deploy(arn)

    assert (run.status, run.error) == ("FAILED", "ApiChangeNotAccepted")
    assert "ACCEPT_API_CHANGE=1" in (run.cause or "")
    stack.sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ApprovalDescription=f"{requests.API_CHANGE_ACCEPTED} reordered features",
    )

    accepted = stack.deploy(arn, reason=requests.MANUAL)

    assert accepted.status == "SUCCEEDED", accepted.cause
    assert stack.serving_package() == arn


def set_status_when_planning(stack: Stack, status: str, *, then: str | None = None) -> None:
    """Put the endpoint in ``status`` now; with ``then``, switch to it once a plan has waited."""
    endpoints = sagemaker_backends[ACCOUNT][REGION].endpoints
    endpoints[ENDPOINT].endpoint_status = status
    if then is None:
        return

    def later() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for execution in stack.sfn.list_executions(
                stateMachineArn=stack.machines["deployment"], statusFilter="RUNNING"
            )["executions"]:
                events = stack.sfn.get_execution_history(
                    executionArn=execution["executionArn"], maxResults=1000
                )["events"]
                if any(
                    e.get("stateEnteredEventDetails", {}).get("name") == "WaitBeforeReplan"
                    for e in events
                ):
                    endpoints[ENDPOINT].endpoint_status = then
                    return
            time.sleep(0.2)

    threading.Thread(target=later, daemon=True).start()


@pytest.mark.parametrize("status", ["Creating", "Updating", "RollingBack"])
def test_a_busy_endpoint_is_waited_for_then_updated(stack: Stack, status: str) -> None:
    deployed(stack)
    second = good(stack, "second")
    set_status_when_planning(stack, status, then="InService")

    run = stack.deploy(second)

    assert run.status == "SUCCEEDED", run.cause
    assert run.entered("WaitBeforeReplan") >= 1
    assert stack.serving_package() == second


def test_an_endpoint_that_stays_busy_is_refused_within_the_budget(stack: Stack) -> None:
    deployed(stack)
    second = good(stack, "second")
    set_status_when_planning(stack, "Updating")

    run = stack.deploy(second, timeout=120)

    assert (run.status, run.error) == ("FAILED", "EndpointNotUpdatable")
    assert f"make approve PACKAGE={second}" in (run.cause or "")
    [note] = stack.notifications()
    assert note["message"]["model_package_arn"] == second
    assert stack.deployment_records()[-1]["outcome"] == "failed"


def test_a_failed_endpoint_is_deleted_then_created_again(stack: Stack) -> None:
    deployed(stack)
    second = good(stack, "second")
    set_status_when_planning(stack, "Failed")

    run = stack.deploy(second, timeout=120)

    assert run.status == "SUCCEEDED", run.cause
    assert "DeleteFailedEndpoint" in run.states
    assert stack.serving_package() == second
    record = stack.deployment_records()[-1]
    assert record["mode"] == "create"
    assert any("was Failed" in note for note in record["notes"])


def test_a_corrupt_artifact_is_rolled_back_and_the_old_model_keeps_answering(
    stack: Stack,
) -> None:
    first, previous, answer = deployed(stack)
    arn = corrupt(stack)

    run = stack.deploy(arn)

    assert (run.status, run.error) == ("FAILED", "DeploymentFailed")
    assert f"SageMaker rolled back the deployment of model package {arn}" in (run.cause or "")
    assert f"{previous} serves again" in (run.cause or "")
    assert "SmokeTest" not in run.states
    assert serving_config(stack) == previous
    assert invoke() == answer
    [note] = stack.notifications()
    assert note["subject"] == "Deployment of v2 failed: rolled back"
    assert note["message"]["model_package_arn"] == arn
    assert note["message"]["restored_config"] == previous
    assert [r["outcome"] for r in stack.deployment_records()] == ["deployed", "rolled back"]
    assert stack.serving_package() == first


def test_a_slow_new_fleet_trips_its_latency_alarm_and_the_rollback_names_it(
    emulator: None,
) -> None:
    sagemaker.set_endpoint_transition_seconds(0.3)
    stack = Stack(guardrails={**GUARDRAILS, "baking_seconds": 8})
    _, previous, answer = deployed(stack)
    arn = good(stack, "slow")
    execution = stack.start({"model_package_arn": arn, "reason": "approval"}, machine="deployment")
    slow_config = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT).get(
            "PendingDeploymentSummary"
        )
        if pending and not slow_config:
            slow_config = pending["EndpointConfigName"]
            sagemaker_runtime.set_model_latency(slow_config, 3.0)
        if pending and pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Baking":
            invoke()  # all traffic goes to the new fleet while it bakes
            break
        time.sleep(0.05)
    run = stack.wait(execution)
    sagemaker_runtime.set_model_latency(slow_config, None)
    sagemaker.set_endpoint_transition_seconds(None)

    assert (run.status, run.error) == ("FAILED", "DeploymentFailed"), run.cause
    alarm = f"{ENDPOINT}-rollback-{slow_config}-model-latency"
    assert serving_config(stack) == previous
    assert invoke() == answer
    [note] = stack.notifications()
    assert note["message"]["alarms_in_alarm"] == [alarm]
    assert note["message"]["model_package_arn"] == arn
    assert stack.deployment_records()[-1]["alarms_in_alarm"] == [alarm]


FAILING_INPUT_FN = """
_input_fn = input_fn


def input_fn(body, content_type):
    text = body.decode() if isinstance(body, bytes) else body
    if {marker!r} in text:
        raise RuntimeError("the model fails this caller")
    return _input_fn(body, content_type)
"""


def failing_on(stack: Stack, marker: str) -> str:
    """A package whose model answers its smoke rows, but errors (500) on any row with
    ``marker``: a serving model that fails its callers."""
    report = evaluation_report(0.97, execution_id="failing")
    arn = stack.register(report)
    key = report["model"]["artifact_uri"].removeprefix(f"s3://{BUCKET}/")
    body = stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    patched = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(body)) as original,
        tarfile.open(fileobj=patched, mode="w:gz") as archive,
    ):
        for member in original.getmembers():
            data = original.extractfile(member) if member.isfile() else None
            if member.name == "code/train.py" and data is not None:
                text = data.read() + FAILING_INPUT_FN.format(marker=marker).encode()
                member.size = len(text)
                data = io.BytesIO(text)
            archive.addfile(member, data)
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=patched.getvalue())
    return arn


def test_a_serving_model_answering_5xx_is_replaced_by_a_good_one(stack: Stack) -> None:
    """While the serving model answers 5XX, its replacement must still deploy: the rollback
    alarms watch the new fleet's EndpointConfigName, which the old fleet never publishes (an
    alarm on {EndpointName, VariantName} counts both fleets and would roll every fix back)."""
    failing = failing_on(stack, "-999")
    assert stack.deploy(failing).status == "SUCCEEDED"
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)
    for _ in range(3):
        with pytest.raises(ClientError) as caught:
            runtime.invoke_endpoint(
                EndpointName=ENDPOINT, ContentType="text/csv", Body="-999,1,1,1\n"
            )
        assert caught.value.response["OriginalStatusCode"] == 500  # type: ignore[typeddict-item]
    stack.notifications()
    fix = good(stack, "fix")

    run = stack.deploy(fix)

    assert run.status == "SUCCEEDED", run.cause
    assert stack.serving_package() == fix
    expected = evaluation_report(0.97)["smoke_test"]["probabilities"]
    for got, row in zip(invoke(), expected, strict=True):
        assert got == pytest.approx(row, abs=1e-4)
    assert [r["outcome"] for r in stack.deployment_records()] == ["deployed", "deployed"]


def test_a_slow_canary_beside_a_fast_fleet_trips_its_own_latency_alarm(emulator: None) -> None:
    """A canary at 950 ms beside an old fleet at 50 ms: an alarm on both fleets sees their average
    (about 500 ms, at the 500 ms threshold's edge, and below it with more old-fleet traffic); the
    new fleet's own alarm sees 950 ms and rolls the deployment back."""
    sagemaker.set_endpoint_transition_seconds(0.3)
    guardrails = {**GUARDRAILS, "traffic": "CANARY", "canary_percent": 50, "baking_seconds": 8}
    stack = Stack(guardrails=guardrails, instance_count=2)
    _, previous, answer = deployed(stack)
    sagemaker_runtime.set_model_latency(previous, 0.05)
    arn = good(stack, "slow-canary")
    execution = stack.start({"model_package_arn": arn, "reason": "approval"}, machine="deployment")
    canary = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT).get(
            "PendingDeploymentSummary"
        )
        if pending and not canary:
            canary = pending["EndpointConfigName"]
            sagemaker_runtime.set_model_latency(canary, 0.95)
        if pending and pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Baking":
            for _ in range(6):  # traffic split between the canary and the old fleet
                invoke()
            break
        time.sleep(0.05)
    run = stack.wait(execution)
    sagemaker_runtime.set_model_latency(canary, None)
    sagemaker_runtime.set_model_latency(previous, None)
    sagemaker.set_endpoint_transition_seconds(None)

    assert (run.status, run.error) == ("FAILED", "DeploymentFailed"), run.cause
    assert serving_config(stack) == previous
    assert invoke() == answer
    [note] = stack.notifications()
    assert note["message"]["alarms_in_alarm"] == [f"{ENDPOINT}-rollback-{canary}-model-latency"]


def test_a_model_failing_its_smoke_test_is_replaced_by_the_previous_config(stack: Stack) -> None:
    _, previous, answer = deployed(stack)
    arn = disagreeing(stack)

    run = stack.deploy(arn)

    assert (run.status, run.error) == ("FAILED", "DeploymentFailed")
    assert run.states.index("UpdateEndpoint") < run.states.index("SmokeTest")
    assert run.states.index("SmokeTest") < run.states.index("RestorePreviousConfig")
    assert f"The smoke test of model package {arn}" in (run.cause or "")
    assert "row 1: expected [0.9, 0.05, 0.05]" in (run.cause or "")
    assert f"Configuration restored: {previous} serves again" in (run.cause or "")
    assert serving_config(stack) == previous
    assert invoke() == answer
    [note] = stack.notifications()
    assert note["message"]["restored_config"] == previous
    assert [r["outcome"] for r in stack.deployment_records()] == [
        "deployed",
        "smoke test failed: previous configuration restored",
    ]


def test_a_first_deployment_failing_its_smoke_test_deletes_the_endpoint(stack: Stack) -> None:
    arn = disagreeing(stack)

    run = stack.deploy(arn)

    assert (run.status, run.error) == ("FAILED", "DeploymentFailed")
    assert "so the endpoint was deleted" in (run.cause or "")
    assert wait_until_gone(stack)
    [note] = stack.notifications()
    assert note["message"]["model_package_arn"] == arn
    assert [r["outcome"] for r in stack.deployment_records()] == [
        "smoke test failed: endpoint deleted"
    ]


def test_a_first_deployment_of_a_corrupt_artifact_deletes_the_endpoint(stack: Stack) -> None:
    corrupt(stack)
    arn = stack.model_packages()[-1]["ModelPackageArn"]

    run = stack.deploy(arn)

    assert (run.status, run.error) == ("FAILED", "EndpointDeploymentFailed")
    assert "so the endpoint was deleted" in (run.cause or "")
    assert wait_until_gone(stack)
    assert [r["outcome"] for r in stack.deployment_records()] == [
        "endpoint failed: endpoint deleted"
    ]
