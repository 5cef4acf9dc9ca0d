"""DescribeAlarms applies every filter it is given, as CloudWatch does.

botocore's cloudwatch model, DescribeAlarmsInput: ``StateValue`` "receive information only about
alarms that are currently in the state that you specify"; ``ActionPrefix`` "filter the results
... to only those alarms that use a certain alarm action"; ``AlarmNamePrefix`` "If this parameter
is specified, you cannot specify AlarmNames". moto used only the first filter it found, so the
state machine's ``FindTrippedAlarms`` (AlarmNames + StateValue ALARM) named every rollback alarm
as tripped.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration

TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


@pytest.fixture
def cloudwatch(emulator: None) -> Any:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    for name, actions in (("a-ok", [TOPIC]), ("a-alarm", [TOPIC]), ("b-alarm", [])):
        client.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=actions,
        )
    client.set_alarm_state(AlarmName="a-ok", StateValue="OK", StateReason="test")
    for name in ("a-alarm", "b-alarm"):
        client.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    return client


def names(answer: dict[str, Any]) -> list[str]:
    return sorted(alarm["AlarmName"] for alarm in answer["MetricAlarms"])


def test_alarm_names_and_state_value_both_filter(cloudwatch: Any) -> None:
    answer = cloudwatch.describe_alarms(AlarmNames=["a-ok", "a-alarm"], StateValue="ALARM")
    assert names(answer) == ["a-alarm"]
    answer = cloudwatch.describe_alarms(AlarmNames=["a-ok"], StateValue="ALARM")
    assert names(answer) == []


def test_prefix_state_and_action_filters_combine(cloudwatch: Any) -> None:
    assert names(cloudwatch.describe_alarms(AlarmNamePrefix="a-", StateValue="ALARM")) == [
        "a-alarm"
    ]
    assert names(cloudwatch.describe_alarms(ActionPrefix=TOPIC, StateValue="ALARM")) == ["a-alarm"]
    assert names(cloudwatch.describe_alarms(StateValue="ALARM")) == ["a-alarm", "b-alarm"]
    assert names(cloudwatch.describe_alarms()) == ["a-alarm", "a-ok", "b-alarm"]


def test_alarm_names_with_a_name_prefix_is_refused(cloudwatch: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloudwatch.describe_alarms(AlarmNames=["a-ok"], AlarmNamePrefix="a-")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterCombination"
