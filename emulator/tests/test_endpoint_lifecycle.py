"""Endpoints follow SageMaker's documented status machine on the emulator.

CreateEndpoint, UpdateEndpoint, DescribeEndpoint and DeleteEndpoint as their API reference pages
describe them (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html,
"EndpointStatus"): Creating -> InService | Failed, Updating -> InService | RollingBack, an update
only from InService, a Failed endpoint can only be deleted, and every transition takes time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws import sagemaker
from emulator.aws.sagemaker import hosting
from emulator.tests.endpoints import (
    BUCKET,
    IMAGE,
    INFERENCE_SCRIPT,
    PROGRAM,
    ROLE,
    SAMPLE,
    SOURCE_URI,
    model_tar_gz,
)
from emulator.tests.helpers import tar_gz

pytestmark = pytest.mark.integration

TRANSITION_SECONDS = 0.3
DEADLINE_SECONDS = 30.0


@pytest.fixture
def model_bytes(model_dir: Path) -> bytes:
    return model_tar_gz(model_dir)


@pytest.fixture
def sm(emulator: None, tmp_path: Path, model_bytes: bytes) -> Iterator[Any]:
    hosting.set_endpoint_cache_dir(tmp_path / "endpoint-cache")
    sagemaker.set_endpoint_transition_seconds(TRANSITION_SECONDS)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=tar_gz({PROGRAM: INFERENCE_SCRIPT})
    )
    s3.put_object(Bucket=BUCKET, Key="models/good/model.tar.gz", Body=model_bytes)
    client = boto3.client("sagemaker")
    for name, key in (("good", "models/good/model.tar.gz"), ("broken", "models/gone.tar.gz")):
        client.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": f"s3://{BUCKET}/{key}",
                "Environment": {
                    "SAGEMAKER_PROGRAM": PROGRAM,
                    "SAGEMAKER_SUBMIT_DIRECTORY": SOURCE_URI,
                },
            },
        )
        client.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    yield client
    sagemaker.set_endpoint_transition_seconds(None)
    hosting.set_endpoint_cache_dir(None)


def status(sm: Any, name: str) -> str:
    return str(sm.describe_endpoint(EndpointName=name)["EndpointStatus"])


def wait_while(sm: Any, name: str, transient: str) -> dict[str, Any]:
    """Poll DescribeEndpoint until it leaves ``transient``; returns the description."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        described = dict(sm.describe_endpoint(EndpointName=name))
        if described["EndpointStatus"] != transient:
            return described
        assert time.monotonic() < deadline, f"{name} still {transient}"
        time.sleep(0.05)


def refused(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_creating_then_in_service(sm: Any) -> None:
    sm.create_endpoint(EndpointName="e", EndpointConfigName="good")
    assert status(sm, "e") == "Creating"
    described = wait_while(sm, "e", "Creating")
    assert described["EndpointStatus"] == "InService"
    assert "FailureReason" not in described
    runtime = boto3.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(EndpointName="e", Body=SAMPLE, ContentType="text/csv")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_creating_takes_the_configured_time(sm: Any) -> None:
    started = time.monotonic()
    sm.create_endpoint(EndpointName="e", EndpointConfigName="good")
    wait_while(sm, "e", "Creating")
    assert time.monotonic() - started >= TRANSITION_SECONDS


def test_transition_time_comes_from_setter_then_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sagemaker.set_endpoint_transition_seconds(None)
    monkeypatch.setenv(sagemaker.ENDPOINT_SECONDS_ENV, "7.5")
    assert sagemaker.endpoint_transition_seconds() == 7.5
    monkeypatch.delenv(sagemaker.ENDPOINT_SECONDS_ENV)
    assert (
        sagemaker.endpoint_transition_seconds() == sagemaker.DEFAULT_ENDPOINT_TRANSITION_SECONDS > 0
    )
    sagemaker.set_endpoint_transition_seconds(0.5)
    assert sagemaker.endpoint_transition_seconds() == 0.5
    sagemaker.set_endpoint_transition_seconds(None)


def test_unloadable_model_ends_failed_and_is_never_served(sm: Any) -> None:
    sm.create_endpoint(EndpointName="e", EndpointConfigName="broken")
    described = wait_while(sm, "e", "Creating")
    assert described["EndpointStatus"] == "Failed"
    assert "Failed to download model data" in described["FailureReason"]
    assert "models/gone.tar.gz" in described["FailureReason"]

    runtime = boto3.client("sagemaker-runtime")
    with pytest.raises(ClientError) as excinfo:
        runtime.invoke_endpoint(EndpointName="e", Body=SAMPLE, ContentType="text/csv")
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_failed_endpoint_can_only_be_deleted(sm: Any) -> None:
    sm.create_endpoint(EndpointName="e", EndpointConfigName="broken")
    arn = wait_while(sm, "e", "Creating")["EndpointArn"]
    assert refused(sm.update_endpoint, EndpointName="e", EndpointConfigName="good") == (
        "ValidationException",
        f'Cannot update failed endpoint "{arn}".',
    )
    sm.delete_endpoint(EndpointName="e")
    assert status(sm, "e") == "Deleting"
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            status(sm, "e")
        except ClientError as error:
            assert "Could not find endpoint" in str(error)
            break
        assert time.monotonic() < deadline, "endpoint never went away"
        time.sleep(0.05)
    sm.create_endpoint(EndpointName="e", EndpointConfigName="good")  # the name is free again
    assert wait_while(sm, "e", "Creating")["EndpointStatus"] == "InService"


def test_update_is_refused_unless_in_service(sm: Any) -> None:
    arn = sm.create_endpoint(EndpointName="e", EndpointConfigName="good")["EndpointArn"]
    assert refused(sm.update_endpoint, EndpointName="e", EndpointConfigName="good") == (
        "ValidationException",
        f'Cannot update in-progress endpoint "{arn}".',
    )
    wait_while(sm, "e", "Creating")
    sm.update_endpoint(EndpointName="e", EndpointConfigName="good")
    assert status(sm, "e") == "Updating"
    code, message = refused(sm.update_endpoint, EndpointName="e", EndpointConfigName="good")
    assert (code, message) == (
        "ValidationException",
        f'Cannot update in-progress endpoint "{arn}".',
    )


def test_update_switches_config_only_when_in_service_again(sm: Any) -> None:
    # A second config with the same loadable model.
    sm.create_endpoint_config(
        EndpointConfigName="good-2",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "good",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
            }
        ],
    )
    sm.create_endpoint(EndpointName="e", EndpointConfigName="good")
    wait_while(sm, "e", "Creating")
    sm.update_endpoint(EndpointName="e", EndpointConfigName="good-2")
    during = sm.describe_endpoint(EndpointName="e")
    assert (during["EndpointStatus"], during["EndpointConfigName"]) == ("Updating", "good")
    # An update loses no availability: the old config still serves.
    runtime = boto3.client("sagemaker-runtime")
    runtime.invoke_endpoint(EndpointName="e", Body=SAMPLE, ContentType="text/csv")
    after = wait_while(sm, "e", "Updating")
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "good-2")
    assert after["ProductionVariants"][0]["DesiredInstanceCount"] == 2


def test_update_to_an_unloadable_model_rolls_back(sm: Any) -> None:
    sm.create_endpoint(EndpointName="e", EndpointConfigName="good")
    wait_while(sm, "e", "Creating")
    sm.update_endpoint(EndpointName="e", EndpointConfigName="broken")
    assert wait_while(sm, "e", "Updating")["EndpointStatus"] == "RollingBack"
    after = wait_while(sm, "e", "RollingBack")
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "good")
    # DescribeEndpoint: FailureReason is set when "the status is InService but update operation
    # fails".
    assert "Failed to download model data" in after["FailureReason"]


def test_create_refuses_an_existing_name(sm: Any) -> None:
    arn = sm.create_endpoint(EndpointName="e", EndpointConfigName="good")["EndpointArn"]
    assert refused(sm.create_endpoint, EndpointName="e", EndpointConfigName="good") == (
        "ValidationException",
        f'Cannot create already existing endpoint "{arn}".',
    )


def test_list_endpoints_reports_the_status_machine(sm: Any) -> None:
    sm.create_endpoint(EndpointName="e", EndpointConfigName="good")
    listed = sm.list_endpoints()["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [("e", "Creating")]
    wait_while(sm, "e", "Creating")
    assert sm.list_endpoints(StatusEquals="InService")["Endpoints"][0]["EndpointName"] == "e"
