"""Guarded deployment through the real state machine on the emulator.

Real models are served by the emulator: a corrupt artifact cannot be loaded (an update is rolled
back by SageMaker, a new endpoint ends Failed), and a model that answers differently from its
evaluation fails the smoke test. Each test checks the run's error and cause, the notification,
which config serves afterwards (and that it still answers), and the deployment history.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from emulator.aws import sagemaker, sagemaker_runtime
from emulator.aws.sagemaker import PipelineRun
from tests.helpers.stack import (
    BUCKET,
    ENDPOINT,
    GUARDRAILS,
    REGION,
    SMOKE_TEST_BODY,
    Stack,
    evaluation_report,
)

pytestmark = pytest.mark.integration

RUN = {"deploy": True, "auto_approve": True}


@pytest.fixture
def stack(emulator: None) -> Iterator[Stack]:
    sagemaker.set_endpoint_transition_seconds(0.3)
    yield Stack()
    sagemaker.set_endpoint_transition_seconds(None)


def pipeline_writing(stack: Stack, report: dict[str, Any], artifact: bytes | None = None) -> None:
    """The next runs' pipeline writes ``report`` and, if given, ``artifact`` as the model."""

    def runner(run: PipelineRun) -> None:
        for step in ("PrepareData", "TuneXGBoost", "EvaluateModel"):
            run.set_step(step, "Succeeded")
        stack.put_evaluation(run.execution_id, report)
        if artifact is not None:
            key = report["model"]["artifact_uri"].removeprefix(f"s3://{BUCKET}/")
            stack.s3.put_object(Bucket=BUCKET, Key=key, Body=artifact)
        run.set_status("Succeeded")

    sagemaker.set_pipeline_runner(runner)


def good(stack: Stack, execution_id: str = "good") -> None:
    pipeline_writing(stack, evaluation_report(0.97, execution_id=execution_id))


def corrupt(stack: Stack) -> None:
    report = evaluation_report(0.97, execution_id="corrupt")
    pipeline_writing(stack, report, artifact=b"this is not a gzipped tar archive")


def disagreeing(stack: Stack) -> None:
    """A model that loads and answers, but not what its evaluation predicted."""
    report = evaluation_report(0.97, execution_id="disagreeing")
    report["smoke_test"]["probabilities"][1] = [0.9, 0.05, 0.05]
    pipeline_writing(stack, report)


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


def history(stack: Stack) -> list[dict[str, Any]]:
    listed = stack.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"deployments/{ENDPOINT}/")
    return [
        json.loads(stack.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
        for item in sorted(listed.get("Contents", []), key=lambda item: item["Key"])
    ]


def deployed_good_model(stack: Stack) -> tuple[str, list[list[float]]]:
    good(stack)
    first = stack.run(RUN)
    assert first.status == "SUCCEEDED", first.cause
    stack.notifications()
    return serving_config(stack), invoke()


def test_a_good_model_is_smoke_tested_deployed_and_recorded(stack: Stack) -> None:
    good(stack)
    run = stack.run(RUN)

    assert run.status == "SUCCEEDED", run.cause
    states = run.states
    assert states.index("CreateEndpoint") < states.index("SmokeTest") < states.index("Deployed")
    assert run.output["deployment"]["smoke_test"] == "3 rows answered as the evaluation predicted"
    [record] = history(stack)
    assert record["outcome"] == "deployed"
    assert record["mode"] == "create"
    assert record["previous_config"] == "none"
    assert record["model_package_arn"] == run.output["model_package_arn"]
    assert record["endpoint_config"] == serving_config(stack)
    assert record["started"] <= record["ended"]


def test_an_update_is_a_blue_green_canary_with_the_rollback_alarms(stack: Stack) -> None:
    previous, _ = deployed_good_model(stack)
    good(stack, "second")

    run = stack.run(RUN)

    assert run.status == "SUCCEEDED", run.cause
    [scheduled] = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in run.history
        if e.get("taskScheduledEventDetails", {}).get("resource") == "updateEndpoint"
    ]
    config = scheduled["DeploymentConfig"]
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        "WaitIntervalInSeconds": 1,
    }
    assert [a["AlarmName"] for a in config["AutoRollbackConfiguration"]["Alarms"]] == [
        f"{ENDPOINT}-invocation-4xx",
        f"{ENDPOINT}-invocation-5xx",
        f"{ENDPOINT}-model-latency",
    ]
    records = history(stack)
    assert [r["outcome"] for r in records] == ["deployed", "deployed"]
    assert records[1]["previous_config"] == previous
    assert records[1]["mode"] == "update"


def test_a_corrupt_artifact_is_rolled_back_and_the_old_model_keeps_answering(
    stack: Stack,
) -> None:
    previous, answer = deployed_good_model(stack)
    corrupt(stack)

    run = stack.run(RUN)

    assert run.status == "FAILED"
    assert run.error == "DeploymentFailed"
    package = run_package(stack)
    assert f"SageMaker rolled back the deployment of model package {package}" in run.cause
    assert f"Configuration restored: {previous} serves again" in run.cause
    assert "did not pass the ping health check" in run.cause  # the FailureReason
    assert "SmokeTest" not in run.states
    assert serving_config(stack) == previous
    assert invoke() == answer
    [note] = stack.notifications()
    assert note["subject"] == "Training run failed: DeploymentFailed"
    assert note["message"]["state"] == "RolledBack"
    assert note["message"]["model_package_arn"] == package
    assert note["message"]["restored_config"] == previous
    assert note["message"]["alarms"] == []  # no alarm: the new fleet could not start
    assert [r["outcome"] for r in history(stack)] == ["deployed", "rolled back"]


def test_a_slow_canary_trips_the_latency_alarm_and_the_rollback_names_it(emulator: None) -> None:
    """The alarm path through the state machine: the new fleet answers slowly during the canary's
    baking, SageMaker rolls back, and the run and its notification name the alarm in ALARM."""
    sagemaker.set_endpoint_transition_seconds(0.3)
    # A baking period long enough for the canary's traffic below to be measured in it.
    stack = Stack(guardrails={**GUARDRAILS, "baking_seconds": 8})
    previous, answer = deployed_good_model(stack)
    good(stack, "slow")
    execution = stack.start(RUN)
    slow_config = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the new fleet is slow; the canary's first request bakes
        pending = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT).get(
            "PendingDeploymentSummary"
        )
        if pending and not slow_config:
            slow_config = pending["EndpointConfigName"]
            # Its requests average over the alarm's 500 ms threshold, with this minute's fast ones.
            sagemaker_runtime.set_model_latency(slow_config, 3.0)
        if pending and pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Baking":
            invoke()  # request 1 of the canary phase goes to the new fleet
            break
        time.sleep(0.05)
    run = stack.wait(execution)
    sagemaker_runtime.set_model_latency(slow_config, None)
    sagemaker.set_endpoint_transition_seconds(None)

    assert run.status == "FAILED", run.cause
    assert run.error == "DeploymentFailed"
    alarm = f"{ENDPOINT}-model-latency"
    assert f'Rollback alarms in ALARM: ["{alarm}"]' in run.cause
    assert f"Configuration restored: {previous} serves again" in run.cause
    assert "SmokeTest" not in run.states
    assert serving_config(stack) == previous
    assert invoke() == answer
    [note] = stack.notifications()
    assert note["message"]["state"] == "RolledBack"
    assert note["message"]["alarms"] == [alarm]
    assert note["message"]["restored_config"] == previous
    assert note["message"]["model_package_arn"] == run_package(stack)
    assert [r["outcome"] for r in history(stack)] == ["deployed", "rolled back"]


def run_package(stack: Stack) -> str:
    """The newest package of the group."""
    packages = stack.model_packages()
    return str(max(packages, key=lambda p: p["ModelPackageVersion"])["ModelPackageArn"])


def test_an_approved_model_failing_its_smoke_test_is_replaced_by_the_previous_config(
    stack: Stack,
) -> None:
    previous, answer = deployed_good_model(stack)
    disagreeing(stack)
    registered = stack.run({})  # registered, pending: a person approves it below
    assert registered.status == "SUCCEEDED", registered.cause
    stack.notifications()
    arn = registered.output["model_package_arn"]
    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    run = stack.run({"approved_model_package_arn": arn})

    assert run.status == "FAILED"
    assert run.error == "DeploymentFailed"
    assert run.states.index("UpdateEndpoint") < run.states.index("SmokeTest")
    assert run.states.index("SmokeTest") < run.states.index("RestorePreviousConfig")
    assert f"The smoke test of model package {arn}" in run.cause
    assert "row 1: expected [0.9, 0.05, 0.05]" in run.cause
    assert f"Configuration restored: {previous} serves again" in run.cause
    assert serving_config(stack) == previous
    assert invoke() == answer
    [note] = stack.notifications()
    assert note["message"]["state"] == "SmokeTestFailedRestored"
    assert note["message"]["restored_config"] == previous
    records = history(stack)
    assert [r["outcome"] for r in records] == [
        "deployed",
        "smoke test failed: previous configuration restored",
    ]
    assert records[1]["model_package_arn"] == arn


def test_a_first_deployment_failing_its_smoke_test_deletes_the_endpoint(stack: Stack) -> None:
    disagreeing(stack)

    run = stack.run(RUN)

    assert run.status == "FAILED"
    assert run.error == "DeploymentFailed"
    assert "row 1: expected [0.9, 0.05, 0.05]" in run.cause
    assert "so the endpoint was deleted" in run.cause
    assert "DeleteUnverifiedEndpoint" in run.states
    assert wait_until_gone(stack)
    [note] = stack.notifications()
    assert note["message"]["state"] == "SmokeTestFailedEndpointDeleted"
    assert [r["outcome"] for r in history(stack)] == ["smoke test failed: endpoint deleted"]


def test_a_first_deployment_of_a_corrupt_artifact_deletes_the_endpoint(stack: Stack) -> None:
    corrupt(stack)

    run = stack.run(RUN)

    assert run.status == "FAILED"
    assert run.error == "EndpointDeploymentFailed"
    assert "could not be created with model package" in run.cause
    assert "so the endpoint was deleted" in run.cause
    assert "DeleteFailedNewEndpoint" in run.states
    assert wait_until_gone(stack)
    [note] = stack.notifications()
    assert note["message"]["state"] == "NewEndpointFailedDeleted"
    assert [r["outcome"] for r in history(stack)] == ["endpoint failed: endpoint deleted"]


def wait_until_gone(stack: Stack, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ENDPOINT not in stack.endpoints():
            return True
        time.sleep(0.2)
    return False


def test_rejecting_the_serving_package_offers_make_rollback(stack: Stack) -> None:
    deployed_good_model(stack)
    serving = stack.model_packages()[0]["ModelPackageArn"]
    stack.sagemaker.update_model_package(ModelPackageArn=serving, ModelApprovalStatus="Rejected")

    run = stack.run({"rejected_model_package_arn": serving})

    assert run.status == "SUCCEEDED", run.cause
    [note] = stack.notifications()
    assert note["subject"] == "Rejected model is still serving"
    assert "make rollback" in note["message"]["action"]
