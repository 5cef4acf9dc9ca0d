"""InvokeEndpoint records SageMaker's invocation metrics in CloudWatch, whose alarms act on them.

The metrics (AWS/SageMaker; EndpointName, VariantName) come from
``emulator/aws/sagemaker_runtime.py``; alarm evaluation and its SNS actions from
``emulator/aws/cloudwatch.py``. The endpoints are deployed with the fixtures of
``endpoints.py``, served by the XGBoost container's stack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws import sagemaker_runtime
from emulator.tests.endpoints import (
    BUCKET,
    SAMPLE,
    container,
    deploy,
    invoke,
    upload_model,
)
from emulator.tests.helpers import ACCOUNT, tar_gz

pytestmark = pytest.mark.integration


@pytest.fixture
def aws(endpoint_clients: dict[str, Any]) -> dict[str, Any]:
    return endpoint_clients


NAMESPACE = "AWS/SageMaker"
#: terraform/monitoring.tf's endpoint alarms: period 300, one evaluation period, >= threshold,
#: missing data not breaching (thresholds from terraform/locals.tf's endpoint_alarms).
ALARM_SHAPE = {
    "Namespace": NAMESPACE,
    "Period": 300,
    "EvaluationPeriods": 1,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "notBreaching",
}


@pytest.fixture(autouse=True)
def no_injected_latency() -> Iterator[None]:
    """Latency injected here must not slow another file's endpoints of the same name."""
    yield
    sagemaker_runtime.clear_model_latency()


def statistics(
    endpoint: str, metric: str, statistic: str = "Sum", variant: str = "AllTraffic"
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    answer = boto3.client("cloudwatch", region_name="us-east-1").get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=metric,
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": variant},
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=[statistic],
    )
    return list(answer["Datapoints"])


def total(endpoint: str, metric: str, statistic: str = "Sum") -> float:
    return sum(point[statistic] for point in statistics(endpoint, metric, statistic))


def raising_endpoint(aws: dict[str, Any], model_dir: Path, tmp_path: Path) -> str:
    """An endpoint whose script raises in input_fn: the container answers a 500."""
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
    source = f"s3://{BUCKET}/code/raising.tar.gz"
    return deploy(aws, container(model_uri, "raising.py", source), name="broken")


def test_a_good_invocation_records_one_invocation_and_its_latency(
    aws: dict[str, Any],
    model_dir: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))

    invoke(aws, endpoint, SAMPLE)

    assert total(endpoint, "Invocations") == 1
    assert total(endpoint, "InvocationsPerInstance") == 1  # one instance: 1/1 per request
    assert (total(endpoint, "Invocation4XXErrors"), total(endpoint, "Invocation5XXErrors")) == (
        0,
        0,
    )
    [latency] = statistics(endpoint, "ModelLatency", "SampleCount")
    assert (latency["SampleCount"], latency["Unit"]) == (1, "Microseconds")
    assert total(endpoint, "ModelLatency", "Maximum") > 0
    [overhead] = statistics(endpoint, "OverheadLatency", "SampleCount")
    assert overhead["Unit"] == "Microseconds"


def test_a_4xx_refusal_records_invocation_4xx_errors(
    aws: dict[str, Any],
    model_dir: Path,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))

    with pytest.raises(ClientError):
        invoke(aws, endpoint, "hello world")

    assert total(endpoint, "Invocations") == 1
    assert total(endpoint, "Invocation4XXErrors") == 1
    assert total(endpoint, "Invocation5XXErrors") == 0
    assert len(statistics(endpoint, "ModelLatency", "SampleCount")) == 1  # the model answered


def test_a_model_error_records_invocation_5xx_errors(
    aws: dict[str, Any],
    model_dir: Path,
    tmp_path: Path,
) -> None:
    endpoint = raising_endpoint(aws, model_dir, tmp_path)

    with pytest.raises(ClientError) as caught:
        invoke(aws, endpoint, SAMPLE)

    assert caught.value.response["OriginalStatusCode"] == 500  # type: ignore[typeddict-item]
    assert (total(endpoint, "Invocations"), total(endpoint, "Invocation5XXErrors")) == (1, 1)
    assert total(endpoint, "Invocation4XXErrors") == 0


def test_a_request_refused_at_the_front_door_is_no_invocation(
    aws: dict[str, Any],
) -> None:
    with pytest.raises(ClientError):
        invoke(aws, "no-such-endpoint", SAMPLE)

    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    assert cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"] == []


@pytest.mark.parametrize("how", ["set_model_latency", "env"])
def test_injected_latency_shows_in_model_latency(
    aws: dict[str, Any],
    model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    invoke(aws, endpoint, SAMPLE)
    quick = total(endpoint, "ModelLatency", "Maximum")
    if how == "env":
        monkeypatch.setenv(sagemaker_runtime.MODEL_LATENCY_ENV, f"other=9,{endpoint}=0.4")
    else:
        sagemaker_runtime.set_model_latency(endpoint, 0.4)

    started = time.perf_counter()
    invoke(aws, endpoint, SAMPLE)
    elapsed = time.perf_counter() - started

    slow = total(endpoint, "ModelLatency", "Maximum")
    assert slow >= 400_000 > quick  # microseconds: the delay is measured, not reported
    assert elapsed >= 0.4
    assert slow <= elapsed * 1e6


def test_model_latency_setting_is_checked() -> None:
    assert sagemaker_runtime.parse_model_latency("0.5") == {"*": 0.5}
    assert sagemaker_runtime.parse_model_latency("a=1, b=0") == {"a": 1.0, "b": 0.0}
    for bad in ("slow", "a=-1", "a"):
        with pytest.raises(ValueError, match="EMULATOR_MODEL_LATENCY_SECONDS"):
            sagemaker_runtime.parse_model_latency(bad if bad != "a" else "a=,b=1")
    with pytest.raises(ValueError, match=">= 0"):
        sagemaker_runtime.set_model_latency("iris", -1)


def notifications_inbox() -> tuple[str, str]:
    """An SNS topic CloudWatch may publish to (as terraform/notifications.tf allows), and an SQS
    queue subscribed to it; returns (topic ARN, queue URL)."""
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"}
                },
            }
        ],
    }
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy)
    )
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
    return topic, url


def alarm_notifications(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(message["Body"])["Message"]) for message in messages]


def put_endpoint_alarm(name: str, endpoint: str, topic: str, **shape: Any) -> None:
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
        AlarmName=name,
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        AlarmActions=[topic],
        OKActions=[topic],
        **ALARM_SHAPE,
        **shape,
    )


def alarm_state(name: str) -> str:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(alarm["StateValue"])


def test_the_5xx_alarm_goes_to_alarm_on_model_errors_and_notifies(
    aws: dict[str, Any],
    model_dir: Path,
    tmp_path: Path,
) -> None:
    topic, inbox = notifications_inbox()
    good = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    broken = raising_endpoint(aws, model_dir, tmp_path)
    for endpoint in (good, broken):
        put_endpoint_alarm(
            f"{endpoint}-5xx",
            endpoint,
            topic,
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Threshold=1,
        )

    invoke(aws, good, SAMPLE)
    with pytest.raises(ClientError):
        invoke(aws, broken, SAMPLE)

    assert (alarm_state(f"{good}-5xx"), alarm_state(f"{broken}-5xx")) == ("OK", "ALARM")
    [notification] = alarm_notifications(inbox)
    assert (notification["AlarmName"], notification["NewStateValue"]) == (f"{broken}-5xx", "ALARM")
    assert notification["OldStateValue"] == "OK"
    assert "1.0" in notification["NewStateReason"]


def test_a_slow_model_trips_the_latency_alarm(
    aws: dict[str, Any],
    model_dir: Path,
) -> None:
    topic, inbox = notifications_inbox()
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    # terraform/locals.tf: ModelLatency Average >= endpoint_latency_threshold_ms * 1000 (µs).
    threshold_ms = 300
    put_endpoint_alarm(
        "latency",
        endpoint,
        topic,
        MetricName="ModelLatency",
        Statistic="Average",
        Threshold=threshold_ms * 1000,
    )
    invoke(aws, endpoint, SAMPLE)
    assert alarm_state("latency") == "OK"

    sagemaker_runtime.set_model_latency(endpoint, 1.0)  # the average of 1 fast and 1 slow > 0.3 s
    invoke(aws, endpoint, SAMPLE)

    assert alarm_state("latency") == "ALARM"
    [notification] = alarm_notifications(inbox)
    assert (notification["AlarmName"], notification["NewStateValue"]) == ("latency", "ALARM")
