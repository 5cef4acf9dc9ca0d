"""Data capture: InvokeEndpoint writes the invocations its endpoint config says to capture, in
AWS's documented file layout and record format (``emulator/aws/sagemaker/capture.py``).

The record is compared with AWS's own example (SageMaker developer guide, "Capture data from
real-time endpoint", View Captured Data); the endpoints are served by the XGBoost container's
stack (``endpoints.py``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.aws.sagemaker import capture
from emulator.tests.endpoints import (
    BUCKET,
    ROLE,
    SAMPLE,
    TWO_ROWS,
    container,
    invoke,
    upload_model,
    wait_until_settled,
)
from emulator.tests.helpers import ACCOUNT

pytestmark = pytest.mark.integration

#: AWS's example record (model-monitor-data-capture-endpoint.html, "View Captured Data").
DOCUMENTED = {
    "captureData": {
        "endpointInput": {
            "observedContentType": "text/csv",
            "mode": "INPUT",
            "data": "69,0,153.7\n",
            "encoding": "CSV",
        },
        "endpointOutput": {
            "observedContentType": "text/csv; charset=utf-8",
            "mode": "OUTPUT",
            "data": "0.0254181120544672",
            "encoding": "CSV",
        },
    },
    "eventMetadata": {
        "eventId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "inferenceTime": "2022-02-14T17:25:49Z",
    },
    "eventVersion": "0",
}
DESTINATION = f"s3://{BUCKET}/data-capture"
CAPTURE_HEADER = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and value types, not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


@pytest.fixture
def aws(endpoint_clients: dict[str, Any]) -> Iterator[dict[str, Any]]:
    capture.reset()
    yield endpoint_clients
    capture.reset()


def sagemaker_role(may_write_capture: bool = True) -> None:
    """The models' execution role (endpoints.ROLE), trusted by SageMaker."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="sagemaker", AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))
    resource = f"arn:aws:s3:::{BUCKET}/{'data-capture' if may_write_capture else 'elsewhere'}/*"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": resource}],
    }
    iam.put_role_policy(
        RoleName="sagemaker", PolicyName="capture", PolicyDocument=json.dumps(policy)
    )


def deploy_captured(aws: dict[str, Any], model_dir: Path, data_capture: dict[str, Any]) -> str:
    sm = aws["sm"]
    model_uri = upload_model(aws, model_dir, "models/c/model.tar.gz")
    sm.create_model(
        ModelName="c-model", PrimaryContainer=container(model_uri), ExecutionRoleArn=ROLE
    )
    sm.create_endpoint_config(
        EndpointConfigName="c-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "c-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig=data_capture,
    )
    sm.create_endpoint(EndpointName="captured", EndpointConfigName="c-config")
    wait_until_settled(sm, "captured")
    return "captured"


def capture_config(percent: int = 100, *modes: str, **extra: Any) -> dict[str, Any]:
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": percent,
        "DestinationS3Uri": DESTINATION,
        "CaptureOptions": [{"CaptureMode": mode} for mode in (modes or ("Input", "Output"))],
        **extra,
    }


def captured(aws: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(key, record) of every captured line, in key order."""
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="data-capture/").get("Contents", [])
    found = []
    for item in sorted(listed, key=lambda o: o["Key"]):
        body = aws["s3"].get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        found += [(item["Key"], json.loads(line)) for line in body.splitlines() if line]
    return found


# --------------------------------------------------------------------------- served invocations


def test_captured_invocations_follow_the_documented_layout_and_record(
    aws: dict[str, Any], model_dir: Path
) -> None:
    sagemaker_role()
    endpoint = deploy_captured(
        aws, model_dir, capture_config(CaptureContentTypeHeader=CAPTURE_HEADER)
    )
    before = datetime.now(UTC).replace(microsecond=0)

    answer = invoke(aws, endpoint, TWO_ROWS, InferenceId="request-7")
    invoke(aws, endpoint, SAMPLE)

    records = captured(aws)
    assert len(records) == 2
    for key, record in records:
        hour = re.fullmatch(
            rf"data-capture/{endpoint}/AllTraffic/(\d{{4}})/(\d\d)/(\d\d)/(\d\d)/[^/]+\.jsonl", key
        )
        assert hour, key
        moment = datetime.strptime(record["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")
        assert hour.groups() == tuple(f"{moment:%Y %m %d %H}".split())
        assert moment.replace(tzinfo=UTC) >= before
        documented = shape(DOCUMENTED)
        if "inferenceId" in record["eventMetadata"]:
            documented["eventMetadata"]["inferenceId"] = "str"
        assert shape(record) == documented
    with_id = next(r for _, r in records if "inferenceId" in r["eventMetadata"])
    assert with_id["eventMetadata"]["inferenceId"] == "request-7"
    assert with_id["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": TWO_ROWS,
        "encoding": "CSV",
    }
    output = with_id["captureData"]["endpointOutput"]
    assert (output["mode"], output["encoding"]) == ("OUTPUT", "JSON")
    assert json.loads(output["data"]) == answer["json"]
    assert output["observedContentType"] == answer["ContentType"]
    assert len({r["eventMetadata"]["eventId"] for _, r in records}) == 2


def test_without_content_type_headers_the_payloads_are_base64(
    aws: dict[str, Any], model_dir: Path
) -> None:
    sagemaker_role()
    endpoint = deploy_captured(aws, model_dir, capture_config())

    invoke(aws, endpoint, SAMPLE)

    [(_, record)] = captured(aws)
    given = record["captureData"]["endpointInput"]
    assert given["encoding"] == "BASE64"
    assert base64.b64decode(given["data"]).decode() == SAMPLE


def test_capture_options_keep_only_the_chosen_side(aws: dict[str, Any], model_dir: Path) -> None:
    sagemaker_role()
    endpoint = deploy_captured(aws, model_dir, capture_config(100, "Output"))

    invoke(aws, endpoint, SAMPLE)

    [(_, record)] = captured(aws)
    assert list(record["captureData"]) == ["endpointOutput"]


def test_the_sampling_percentage_decides_how_many_are_captured(
    aws: dict[str, Any], model_dir: Path
) -> None:
    sagemaker_role()
    endpoint = deploy_captured(aws, model_dir, capture_config(25))

    for _ in range(8):
        invoke(aws, endpoint, SAMPLE)

    assert len(captured(aws)) == 2


def test_disabled_capture_writes_nothing(aws: dict[str, Any], model_dir: Path) -> None:
    sagemaker_role()
    endpoint = deploy_captured(aws, model_dir, capture_config(100, EnableCapture=False))

    invoke(aws, endpoint, SAMPLE)

    assert captured(aws) == []


def test_nothing_is_written_unless_the_models_role_may_put_the_object(
    aws: dict[str, Any], model_dir: Path
) -> None:
    sagemaker_role(may_write_capture=False)
    endpoint = deploy_captured(aws, model_dir, capture_config())

    answer = invoke(aws, endpoint, SAMPLE)

    assert answer["json"]  # the invocation is served all the same
    assert captured(aws) == []


# --------------------------------------------------------------------------- the rules alone


def test_sampling_keeps_exactly_the_percentage_of_consecutive_requests() -> None:
    for percent in (0, 1, 20, 33, 50, 100):
        kept = [n for n in range(1, 301) if capture.sampled(n, percent)]
        assert len(kept) == 3 * percent
    assert [n for n in range(1, 11) if capture.sampled(n, 20)] == [5, 10]


def test_encoding_follows_the_content_type_header_without_parameters() -> None:
    config = {"CaptureContentTypeHeader": CAPTURE_HEADER}
    assert capture.encoding_of(config, "text/csv; charset=utf-8") == "CSV"
    assert capture.encoding_of(config, "Application/JSON") == "JSON"
    assert capture.encoding_of(config, "application/x-npy") == "BASE64"
    assert capture.encoding_of({}, "text/csv") == "BASE64"
    assert capture.side("INPUT", "text/csv", b"\xff\xfe", "CSV")["encoding"] == "BASE64"


def test_the_object_key_is_the_invocations_utc_hour() -> None:
    invocation = capture.Invocation(
        endpoint_name="e",
        endpoint_config_name="c",
        variant_name="AllTraffic",
        request_body=b"1",
        request_content_type="text/csv",
        response_body=b"[[1]]",
        response_content_type="application/json",
        status=200,
        inference_time=datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC),
        event_id="id",
    )
    item = capture.capture_object(capture_config(), invocation)
    assert item is not None
    assert (item.bucket, item.key) == (
        BUCKET,
        "data-capture/e/AllTraffic/2024/05/01/23/20240501T235959-id.jsonl",
    )
    assert json.loads(item.body)["eventMetadata"]["inferenceTime"] == "2024-05-01T23:59:59Z"
    error = capture.Invocation(**{**invocation.__dict__, "status": 500})
    assert capture.capture_object(capture_config(), error) is None


def test_capture_counts_per_account_endpoint_and_config() -> None:
    capture.reset()
    invocation = capture.Invocation("e", "c", "v", b"", None, b"", None, 200, datetime.now(UTC))
    assert [capture.next_number(ACCOUNT, "us-east-1", invocation) for _ in range(3)] == [1, 2, 3]
    other = capture.Invocation("e", "c2", "v", b"", None, b"", None, 200, datetime.now(UTC))
    assert capture.next_number(ACCOUNT, "us-east-1", other) == 1
    capture.reset()
