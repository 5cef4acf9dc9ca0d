"""SageMaker's deployment guardrails on the emulator: blue/green updates with canary traffic
shifting and auto-rollback on CloudWatch alarms (``emulator/aws/sagemaker/guardrails.py``).

Each test deploys a real trained model (the fixtures of ``endpoints.py``), creates
the alarms as Terraform does (AWS/SageMaker, EndpointName + VariantName), updates the endpoint
with a ``DeploymentConfig`` and sends real traffic: the canary's share reaches the new fleet, its
metrics reach CloudWatch, and an alarm in ALARM during baking rolls the update back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from emulator.aws import sagemaker, sagemaker_runtime
from emulator.tests.endpoints import (
    BUCKET,
    SAMPLE,
    container,
    deploy,
    direct_prediction,
    endpoint_config,
    invoke,
    upload_model,
)
from emulator.tests.helpers import ACCOUNT, tar_gz

pytestmark = pytest.mark.integration


@pytest.fixture
def aws(endpoint_clients: dict[str, Any]) -> dict[str, Any]:
    return endpoint_clients


NAMESPACE = "AWS/SageMaker"
OLD_CONFIG = "iris-config"
NEW_CONFIG = "iris-config-2"
#: Long enough that the canary is still baking while a test sends its requests; a rollback does
#: not wait for it to end.
LONG_BAKE_SECONDS = 60
DEADLINE_SECONDS = 60.0
#: Endpoint transitions (provisioning, RollingBack) long enough for a test to see each status.
OBSERVABLE_SECONDS = 3.0


@pytest.fixture(autouse=True)
def no_injected_latency() -> Iterator[None]:
    yield
    sagemaker_runtime.clear_model_latency()


def canary_config(
    alarms: list[str], wait: int = LONG_BAKE_SECONDS, termination: int = 0, percent: int = 25
) -> dict[str, Any]:
    """A DeploymentConfig as terraform/h-deploy's state machine sends it (canary guide)."""
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": percent},
                "WaitIntervalInSeconds": wait,
            },
            "TerminationWaitInSeconds": termination,
            "MaximumExecutionTimeoutInSeconds": 1800,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarms]},
    }


def put_alarm(name: str, endpoint: str, metric: str, statistic: str, threshold: float) -> None:
    """An endpoint alarm shaped as terraform/monitoring.tf's (period 300, >=, notBreaching)."""
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
        AlarmName=name,
        Namespace=NAMESPACE,
        MetricName=metric,
        Statistic=statistic,
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        Period=300,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )


def guardrail_alarms(endpoint: str) -> list[str]:
    put_alarm("errors-5xx", endpoint, "Invocation5XXErrors", "Sum", 1)
    put_alarm("model-latency", endpoint, "ModelLatency", "Average", 300_000)  # µs
    put_alarm("errors-4xx", endpoint, "Invocation4XXErrors", "Sum", 1)
    return ["errors-5xx", "model-latency", "errors-4xx"]


def new_config(aws: dict[str, Any], primary_container: dict[str, Any]) -> str:
    aws["sm"].create_model(
        ModelName="iris-model-2",
        PrimaryContainer=primary_container,
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
    )
    endpoint_config(aws["sm"], NEW_CONFIG, "iris-model-2")
    return NEW_CONFIG


def describe(aws: dict[str, Any], endpoint: str) -> dict[str, Any]:
    return dict(aws["sm"].describe_endpoint(EndpointName=endpoint))


def wait_for(aws: dict[str, Any], endpoint: str, done: Any, what: str) -> dict[str, Any]:
    """Poll DescribeEndpoint until ``done(description)``; returns that description."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        described = describe(aws, endpoint)
        if done(described):
            return described
        assert time.monotonic() < deadline, f"{endpoint} never {what}: {described}"
        time.sleep(0.05)


def green_status(described: dict[str, Any]) -> str | None:
    pending = described.get("PendingDeploymentSummary")
    if pending is None:
        return None
    return str(pending["ProductionVariants"][0]["VariantStatus"][0]["Status"])


def wait_until_baking(aws: dict[str, Any], endpoint: str) -> dict[str, Any]:
    return wait_for(aws, endpoint, lambda d: green_status(d) == "Baking", "baked")


def wait_until_in_service(aws: dict[str, Any], endpoint: str) -> dict[str, Any]:
    return wait_for(aws, endpoint, lambda d: d["EndpointStatus"] == "InService", "InService")


def metric_sum(endpoint: str, metric: str, config: str | None = None) -> float:
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    if config is not None:
        dimensions.append({"Name": "EndpointConfigName", "Value": config})
    now = datetime.now(UTC)
    answer = boto3.client("cloudwatch", region_name="us-east-1").get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in answer["Datapoints"]))


def assert_old_model_answers(aws: dict[str, Any], endpoint: str, model_dir: Path) -> None:
    answer = invoke(aws, endpoint, SAMPLE)["json"]
    np.testing.assert_allclose(answer, direct_prediction(model_dir, SAMPLE), atol=1e-6)


def assert_rolled_back(
    aws: dict[str, Any],
    endpoint: str,
    deployment: dict[str, Any],
    reason_has: list[str],
) -> dict[str, Any]:
    after = wait_until_in_service(aws, endpoint)
    assert after["EndpointConfigName"] == OLD_CONFIG
    assert "PendingDeploymentSummary" not in after
    assert after["LastDeploymentConfig"] == deployment
    for part in reason_has:
        assert part in after["FailureReason"]
    return after


def test_a_corrupt_artifact_fails_the_update_and_the_old_model_keeps_answering(
    aws: dict[str, Any],
    model_dir: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    aws["s3"].put_object(Bucket=BUCKET, Key="models/corrupt/model.tar.gz", Body=b"not a tarball")
    config = new_config(aws, container(f"s3://{BUCKET}/models/corrupt/model.tar.gz"))
    deployment = canary_config(guardrail_alarms(endpoint))
    sagemaker.set_endpoint_transition_seconds(OBSERVABLE_SECONDS)

    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )

    during = describe(aws, endpoint)
    assert (during["EndpointStatus"], during["EndpointConfigName"]) == ("Updating", OLD_CONFIG)
    assert during["PendingDeploymentSummary"]["EndpointConfigName"] == config
    assert green_status(during) == "Creating"
    assert_old_model_answers(aws, endpoint, model_dir)  # no availability loss while provisioning
    rolling = wait_for(aws, endpoint, lambda d: d["EndpointStatus"] != "Updating", "left Updating")
    assert rolling["EndpointStatus"] == "RollingBack"
    assert_rolled_back(aws, endpoint, deployment, ["did not pass the ping health check"])
    assert_old_model_answers(aws, endpoint, model_dir)
    # The corrupt fleet never took traffic.
    assert metric_sum(endpoint, "Invocations", config) == 0


def test_a_model_answering_errors_trips_the_5xx_alarm_during_baking_and_rolls_back(
    aws: dict[str, Any],
    model_dir: Path,
    tmp_path: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    script = tmp_path / "raising.py"  # loads fine, answers every request with the container's 500
    script.write_text(
        "def model_fn(model_dir):\n    return None\n"
        "def input_fn(body, content_type):\n    raise RuntimeError('broken model')\n"
        "def predict_fn(data, model):\n    return data\n"
        "def output_fn(prediction, accept):\n    return prediction\n",
        encoding="utf-8",
    )
    aws["s3"].put_object(
        Bucket=BUCKET, Key="code/raising.tar.gz", Body=tar_gz({"raising.py": script})
    )
    model_uri = upload_model(aws, model_dir, "models/r/model.tar.gz")
    config = new_config(
        aws, container(model_uri, "raising.py", f"s3://{BUCKET}/code/raising.tar.gz")
    )
    deployment = canary_config(guardrail_alarms(endpoint))
    sagemaker.set_endpoint_transition_seconds(OBSERVABLE_SECONDS)
    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )
    baking = wait_until_baking(aws, endpoint)
    assert (baking["EndpointStatus"], baking["EndpointConfigName"]) == ("Updating", OLD_CONFIG)

    # The canary's first request reaches the new fleet: the container answers 500.
    with pytest.raises(ClientError) as caught:
        invoke(aws, endpoint, SAMPLE)

    assert caught.value.response["OriginalStatusCode"] == 500  # type: ignore[typeddict-item]
    assert describe(aws, endpoint)["EndpointStatus"] == "RollingBack"
    assert_old_model_answers(aws, endpoint, model_dir)  # all traffic is back on blue
    after = assert_rolled_back(aws, endpoint, deployment, ["errors-5xx", config, OLD_CONFIG])
    assert "errors-4xx" not in after["FailureReason"]
    assert_old_model_answers(aws, endpoint, model_dir)
    # The alarm fired on real data: the new fleet's error, under both dimension sets.
    assert metric_sum(endpoint, "Invocation5XXErrors") == 1
    assert metric_sum(endpoint, "Invocation5XXErrors", config) == 1
    assert metric_sum(endpoint, "Invocation5XXErrors", OLD_CONFIG) == 0


def test_a_slow_model_trips_the_latency_alarm_and_rolls_back(
    aws: dict[str, Any],
    model_dir: Path,
    other_model_dir: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))
    sagemaker_runtime.set_model_latency(config, 1.5)  # only the new fleet is slow
    deployment = canary_config(guardrail_alarms(endpoint))
    sagemaker.set_endpoint_transition_seconds(OBSERVABLE_SECONDS)
    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )
    wait_until_baking(aws, endpoint)

    answer = invoke(aws, endpoint, SAMPLE)["json"]  # the canary answers, slowly

    np.testing.assert_allclose(answer, direct_prediction(other_model_dir, SAMPLE), atol=1e-6)
    assert describe(aws, endpoint)["EndpointStatus"] == "RollingBack"
    assert_rolled_back(aws, endpoint, deployment, ["model-latency"])
    started = time.perf_counter()
    assert_old_model_answers(aws, endpoint, model_dir)
    assert time.perf_counter() - started < 1.5


def test_a_good_model_completes_the_shift_and_serves_on_the_new_config(
    aws: dict[str, Any],
    model_dir: Path,
    other_model_dir: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))
    deployment = canary_config(guardrail_alarms(endpoint), wait=6, termination=1)
    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )
    baking = wait_until_baking(aws, endpoint)
    status = baking["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0]
    assert status["StatusMessage"] == (
        "Baking for 6 seconds (WaitIntervalInSeconds) with traffic enabled on canary capacity of "
        "1 instance(s)."
    )

    answers = [invoke(aws, endpoint, SAMPLE)["json"] for _ in range(4)]

    new = direct_prediction(other_model_dir, SAMPLE)
    on_green = [np.allclose(answer, new, atol=1e-6) for answer in answers]
    assert on_green == [True, False, False, False]  # 25%: one request in four, the first
    after = wait_until_in_service(aws, endpoint)
    assert after["EndpointConfigName"] == config
    assert "FailureReason" not in after
    assert "PendingDeploymentSummary" not in after
    assert after["LastDeploymentConfig"] == deployment
    np.testing.assert_allclose(invoke(aws, endpoint, SAMPLE)["json"], new, atol=1e-6)
    # Per-fleet metrics (EndpointConfigName) beside the endpoint's; no alarm fired.
    assert metric_sum(endpoint, "Invocations") == 5
    assert metric_sum(endpoint, "Invocations", config) == 2
    assert metric_sum(endpoint, "Invocations", OLD_CONFIG) == 3
    states = boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"]
    assert {alarm["StateValue"] for alarm in states} == {"OK"}


def test_an_update_without_deployment_config_keeps_the_plain_update(
    aws: dict[str, Any],
    model_dir: Path,
    other_model_dir: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))

    sagemaker.set_endpoint_transition_seconds(OBSERVABLE_SECONDS)
    aws["sm"].update_endpoint(EndpointName=endpoint, EndpointConfigName=config)

    assert green_status(describe(aws, endpoint)) == "Creating"
    answers = invoke(aws, endpoint, SAMPLE)["json"]  # all old while the new fleet is provisioned
    np.testing.assert_allclose(answers, direct_prediction(model_dir, SAMPLE), atol=1e-6)
    after = wait_until_in_service(aws, endpoint)
    assert after["EndpointConfigName"] == config
    assert "LastDeploymentConfig" not in after


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alarms": ["no-such-alarm"]}, "alarms that do not exist: no-such-alarm"),
        ({"percent": 60}, "CanarySize Value must be less than or equal to 50%"),
        ({"wait": 1200, "termination": 600}, "MaximumExecutionTimeoutInSeconds (1800)"),
    ],
)
def test_update_endpoint_refuses_a_deployment_config_aws_refuses(
    aws: dict[str, Any],
    model_dir: Path,
    change: dict[str, Any],
    message: str,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    config = new_config(aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz")))
    change = dict(change)
    alarms = change.pop("alarms", None) or guardrail_alarms(endpoint)

    with pytest.raises(ClientError) as caught:
        aws["sm"].update_endpoint(
            EndpointName=endpoint,
            EndpointConfigName=config,
            DeploymentConfig=canary_config(alarms, **change),
        )

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]
    assert describe(aws, endpoint)["EndpointStatus"] == "InService"  # nothing started


def test_deployment_config_rules() -> None:
    refusal = sagemaker.deployment_config_refusal
    linear = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 5},
                "WaitIntervalInSeconds": 0,
            }
        }
    }
    assert "10-50%" in str(refusal(linear, 1, []))
    canary = canary_config(["a"])
    canary["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"] = {
        "Type": "INSTANCE_COUNT",
        "Value": 1,
    }
    assert refusal(canary, 4, []) is None  # 1 of 4 instances: 25%
    assert "50%" in str(refusal(canary, 1, []))  # 1 of 1: the whole fleet is no canary
    both = {**canary_config(["a"]), "RollingUpdatePolicy": {}}
    assert "Only one update policy" in str(refusal(both, 4, []))
    no_size = canary_config(["a"])
    del no_size["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"]
    assert "requires CanarySize" in str(refusal(no_size, 4, []))
    assert refusal({"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]}}, 1, []) is None


def test_traffic_steps_follow_the_routing_type() -> None:
    steps = sagemaker.traffic_steps
    canary = [(s.share, s.seconds) for s in steps(canary_config([], wait=5, termination=2), 1)]
    assert canary == [(0.25, 5.0), (1.0, 2.0)]
    linear = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 30},
                "WaitIntervalInSeconds": 3,
            }
        }
    }
    assert [round(s.share, 2) for s in steps(linear, 1)] == [0.3, 0.6, 0.9, 1.0]
    # No update policy: "blue/green deployment strategy with all at once traffic shifting".
    assert [(s.share, s.seconds) for s in steps({}, 1)] == [(1.0, 0.0), (1.0, 0.0)]


def test_an_alarm_already_in_alarm_when_baking_begins_rolls_back(
    aws: dict[str, Any],
    model_dir: Path,
    other_model_dir: Path,
) -> None:
    # "if your old fleet trips the alarm during the deployment, SageMaker terminates your
    # deployment" (deployment-guardrails-configuration.html): a client error on the old fleet
    # puts the 4XX alarm in ALARM before the update, and it still is when the canary begins.
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))
    alarms = guardrail_alarms(endpoint)
    with pytest.raises(ClientError):
        invoke(aws, endpoint, "hello world")  # the old model answers 4xx
    deployment = canary_config(alarms)

    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )

    assert_rolled_back(aws, endpoint, deployment, ["errors-4xx"])
    assert metric_sum(endpoint, "Invocations", config) == 0  # the canary never took a request
    assert_old_model_answers(aws, endpoint, model_dir)


def test_retain_deployment_config_reuses_the_last_one(
    aws: dict[str, Any],
    model_dir: Path,
    other_model_dir: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    aws["s3"].put_object(Bucket=BUCKET, Key="models/corrupt/model.tar.gz", Body=b"not a tarball")
    corrupt = new_config(aws, container(f"s3://{BUCKET}/models/corrupt/model.tar.gz"))
    deployment = canary_config(guardrail_alarms(endpoint))
    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=corrupt, DeploymentConfig=deployment
    )
    assert_rolled_back(aws, endpoint, deployment, ["ping health check"])
    aws["sm"].create_model(
        ModelName="iris-model-3",
        PrimaryContainer=container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")),
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
    )
    endpoint_config(aws["sm"], "iris-config-3", "iris-model-3")

    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName="iris-config-3", RetainDeploymentConfig=True
    )

    baking = wait_until_baking(aws, endpoint)  # a plain update never bakes
    message = baking["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0]
    assert (
        f"Baking for {LONG_BAKE_SECONDS} seconds (WaitIntervalInSeconds)"
        in message["StatusMessage"]
    )
    assert baking["LastDeploymentConfig"] == deployment
