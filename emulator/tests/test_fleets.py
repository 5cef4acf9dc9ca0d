"""An endpoint's two fleets during an update: which serving processes live, and which fleet's
errors count toward which alarm (``emulator/aws/sagemaker/hosting.py``, ``guardrails.py``).

- SageMaker tears a fleet down when it is replaced: the old one after an update completes, the
  new one after a rollback, every one on DeleteEndpoint. Each fleet's model runs in a serving
  process here, so the emulator stops that process then (before, every replaced config kept its
  process until the emulator stopped).
- Both fleets publish the endpoint's metrics (``EndpointName``, ``VariantName``); "if your old
  fleet trips the alarm during the deployment, SageMaker terminates your deployment". Only the
  new fleet publishes its own ``EndpointConfigName`` metrics, so an alarm on those watches the
  new fleet alone (SageMaker developer guide, deployment-guardrails-configuration.html).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator import containers
from emulator.aws import sagemaker, sagemaker_runtime
from emulator.tests.endpoints import (
    BUCKET,
    SAMPLE,
    container,
    deploy,
    invoke,
    upload_model,
    wait_until_settled,
)
from emulator.tests.helpers import tar_gz
from emulator.tests.test_deployment_guardrails import (
    NAMESPACE,
    OLD_CONFIG,
    canary_config,
    describe,
    metric_sum,
    new_config,
    put_alarm,
    wait_until_baking,
    wait_until_in_service,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def aws(endpoint_clients: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield endpoint_clients
    sagemaker_runtime.clear_model_latency()


def serving_processes() -> list[int]:
    """The pids of this process's children that serve a model (``containers/serving.py``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == os.getpid() and str(containers.SERVING_SCRIPT).encode() in command:
            found.append(int(entry.name))
    return found


def serving_count_becomes(expected: int) -> int:
    """The serving processes once their number is ``expected`` (a retired fleet stops in the
    background, after its request in flight), or whatever it is at the deadline."""
    deadline = time.monotonic() + 10.0
    while len(serving_processes()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(serving_processes())


def raising_container(aws: dict[str, Any], model_dir: Path, tmp_path: Path) -> dict[str, Any]:
    """A model that loads and answers every request with the container's 500."""
    script = tmp_path / "raising.py"
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
    return container(model_uri, "raising.py", f"s3://{BUCKET}/code/raising.tar.gz")


# --------------------------------------------------------------------------- serving processes


def test_a_completed_update_stops_the_replaced_fleets_process(
    aws: dict[str, Any], model_dir: Path, other_model_dir: Path
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    invoke(aws, endpoint, SAMPLE)
    assert len(serving_processes()) == 1
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))

    aws["sm"].update_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert wait_until_settled(aws["sm"], endpoint) == "InService"

    assert serving_count_becomes(1) == 1  # the new fleet's; the old one is gone
    invoke(aws, endpoint, SAMPLE)
    assert len(serving_processes()) == 1


def test_a_guarded_update_stops_the_old_fleet_when_it_completes(
    aws: dict[str, Any], model_dir: Path, other_model_dir: Path
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    invoke(aws, endpoint, SAMPLE)
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))
    put_alarm("errors-5xx", endpoint, "Invocation5XXErrors", "Sum", 1)  # stays OK
    aws["sm"].update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=config,
        DeploymentConfig=canary_config(["errors-5xx"], wait=2, termination=1),
    )
    wait_until_baking(aws, endpoint)
    assert len(serving_processes()) == 2  # both fleets serve while the canary bakes

    assert wait_until_in_service(aws, endpoint)["EndpointConfigName"] == config
    assert serving_count_becomes(1) == 1


def test_a_rollback_stops_the_new_fleet_and_delete_stops_the_last(
    aws: dict[str, Any], model_dir: Path, tmp_path: Path
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    invoke(aws, endpoint, SAMPLE)
    config = new_config(aws, raising_container(aws, model_dir, tmp_path))
    put_alarm("errors-5xx", endpoint, "Invocation5XXErrors", "Sum", 1)
    aws["sm"].update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=config,
        DeploymentConfig=canary_config(["errors-5xx"]),
    )
    wait_until_baking(aws, endpoint)
    assert len(serving_processes()) == 2
    with pytest.raises(aws["runtime"].exceptions.ModelError):
        invoke(aws, endpoint, SAMPLE)  # the canary's request trips the alarm

    assert wait_until_in_service(aws, endpoint)["EndpointConfigName"] == OLD_CONFIG
    assert serving_count_becomes(1) == 1
    invoke(aws, endpoint, SAMPLE)  # the old fleet still serves

    aws["sm"].delete_endpoint(EndpointName=endpoint)
    assert describe(aws, endpoint)["EndpointStatus"] == "Deleting"
    assert len(serving_processes()) == 1  # it serves until it is gone
    wait_until_gone(aws, endpoint)
    assert serving_count_becomes(0) == 0


def wait_until_gone(aws: dict[str, Any], endpoint: str) -> None:
    deadline = time.monotonic() + 30.0
    while endpoint in {e["EndpointName"] for e in aws["sm"].list_endpoints()["Endpoints"]}:
        assert time.monotonic() < deadline, f"{endpoint} was never deleted"
        time.sleep(0.05)


# --------------------------------------------------------------------------- alarms, both fleets


def config_alarm(name: str, endpoint: str, config: str) -> None:
    """A 5XX alarm on the new fleet alone (its EndpointConfigName), as the guide recommends."""
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
        AlarmName=name,
        Namespace=NAMESPACE,
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "AllTraffic"},
            {"Name": "EndpointConfigName", "Value": config},
        ],
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )


def test_the_old_fleet_tripping_an_endpoint_alarm_rolls_the_deployment_back(
    aws: dict[str, Any], model_dir: Path, other_model_dir: Path, tmp_path: Path
) -> None:
    endpoint = deploy(aws, raising_container(aws, model_dir, tmp_path))  # the old fleet fails
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))
    put_alarm("errors-5xx", endpoint, "Invocation5XXErrors", "Sum", 1)
    deployment = canary_config(["errors-5xx"])
    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )
    wait_until_baking(aws, endpoint)

    invoke(aws, endpoint, SAMPLE)  # 25%: the first request reaches the good canary
    with pytest.raises(aws["runtime"].exceptions.ModelError):
        invoke(aws, endpoint, SAMPLE)  # the next reaches the old fleet, which fails

    after = wait_until_in_service(aws, endpoint)
    assert after["EndpointConfigName"] == OLD_CONFIG
    assert "errors-5xx" in after["FailureReason"]
    assert metric_sum(endpoint, "Invocation5XXErrors", config) == 0  # the canary never failed


def test_an_alarm_on_the_new_config_ignores_the_old_fleets_errors(
    aws: dict[str, Any], model_dir: Path, other_model_dir: Path, tmp_path: Path
) -> None:
    endpoint = deploy(aws, raising_container(aws, model_dir, tmp_path))  # the old fleet fails
    config = new_config(aws, container(upload_model(aws, other_model_dir, "models/b/model.tar.gz")))
    config_alarm("new-fleet-5xx", endpoint, config)
    deployment = canary_config(["new-fleet-5xx"], wait=4, termination=1)
    aws["sm"].update_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, DeploymentConfig=deployment
    )
    wait_until_baking(aws, endpoint)

    invoke(aws, endpoint, SAMPLE)  # the canary answers
    for _ in range(3):
        with pytest.raises(aws["runtime"].exceptions.ModelError):
            invoke(aws, endpoint, SAMPLE)  # the old fleet fails, under its own config name

    assert describe(aws, endpoint)["EndpointStatus"] == "Updating"  # not rolled back
    after = wait_until_in_service(aws, endpoint)
    assert after["EndpointConfigName"] == config
    assert "FailureReason" not in after
    assert metric_sum(endpoint, "Invocation5XXErrors", OLD_CONFIG) == 3
    sagemaker.set_endpoint_transition_seconds(None)
