"""The metric alarm evaluator's rules (emulator/aws/cloudwatch.py), as pure functions.

CloudWatch user guide, "Evaluating an alarm" and "Configuring how CloudWatch alarms treat
missing data" (alarm-evaluation.html, alarms-and-missing-data.html).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from emulator.aws import cloudwatch

NOW = datetime(2026, 12, 1, 4, 0, 0)


def at(seconds_ago: float, value: float) -> tuple[datetime, float]:
    return NOW - timedelta(seconds=seconds_ago), value


def test_each_period_gets_its_statistic_and_missing_periods_are_none() -> None:
    points = [at(10, 2.0), at(20, 4.0), at(700, 9.0)]  # two in the last period, one two back

    assert cloudwatch.period_values(points, "Sum", 300, 3, NOW) == [9.0, None, 6.0]
    assert cloudwatch.period_values(points, "Average", 300, 1, NOW) == [3.0]
    assert cloudwatch.period_values(points, "Maximum", 300, 1, NOW) == [4.0]
    assert cloudwatch.period_values(points, "Minimum", 300, 1, NOW) == [2.0]
    assert cloudwatch.period_values(points, "SampleCount", 300, 1, NOW) == [2.0]
    # A datapoint older than the evaluation range does not count.
    assert cloudwatch.period_values([at(301, 5.0)], "Sum", 300, 1, NOW) == [None]


@pytest.mark.parametrize(
    ("comparison", "value", "breaching"),
    [
        ("GreaterThanOrEqualToThreshold", 1.0, True),
        ("GreaterThanThreshold", 1.0, False),
        ("LessThanThreshold", 0.5, True),
        ("LessThanOrEqualToThreshold", 1.5, False),
    ],
)
def test_the_comparison_operator_decides_breaching(
    comparison: str, value: float, breaching: bool
) -> None:
    state = cloudwatch.alarm_state([value], comparison, 1.0, 1, "notBreaching", "OK")
    assert state == ("ALARM" if breaching else "OK")


def test_datapoints_to_alarm_of_evaluation_periods_must_breach() -> None:
    op = "GreaterThanOrEqualToThreshold"
    assert cloudwatch.alarm_state([1.0, 0.0, 1.0], op, 1.0, 2, "missing", "OK") == "ALARM"
    assert cloudwatch.alarm_state([1.0, 0.0, 0.0], op, 1.0, 2, "missing", "ALARM") == "OK"


@pytest.mark.parametrize(
    ("treat_missing_data", "expected"),
    [
        ("breaching", "ALARM"),
        ("notBreaching", "OK"),
        ("ignore", "ALARM"),  # keeps the current state
        ("missing", "INSUFFICIENT_DATA"),
    ],
)
def test_missing_data_is_treated_as_the_alarm_says(treat_missing_data: str, expected: str) -> None:
    state = cloudwatch.alarm_state(
        [None], "GreaterThanOrEqualToThreshold", 1.0, 1, treat_missing_data, "ALARM"
    )
    assert state == expected


def test_alarms_the_evaluator_does_not_model_are_left_alone() -> None:
    def shape(**changes: object) -> SimpleNamespace:
        fields: dict[str, object] = {
            "metric_data_queries": [],
            "statistic": "Sum",
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "metric_name": "Invocation5XXErrors",
        }
        return SimpleNamespace(**{**fields, **changes})

    assert cloudwatch.evaluable(shape())
    percentile = shape(statistic=None)  # ExtendedStatistic (p99) instead
    band = shape(comparison_operator="LessThanLowerOrGreaterThanUpperThreshold")
    metric_math = shape(metric_data_queries=[object()])
    assert not any(cloudwatch.evaluable(alarm) for alarm in (percentile, band, metric_math))
