"""CloudWatch alarms run their SNS actions, authorised as CloudWatch is (moto's ``cloudwatch``).

moto records an alarm's state change but runs none of its actions, so an alarm could never tell
anyone anything. Here, when an alarm's state changes (``SetAlarmState``; moto evaluates no metric
data), each SNS topic among the new state's actions (``AlarmActions``, ``OKActions``,
``InsufficientDataActions``; none while ``ActionsEnabled`` is false) gets the notification,
provided CloudWatch may publish to it:

- the topic policy must allow ``cloudwatch.amazonaws.com`` ``sns:Publish``, with the alarm's ARN
  and account as ``aws:SourceArn``/``aws:SourceAccount`` (SNS developer guide, "Amazon SNS
  access control: ... service principal", and the confused-deputy guidance:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html);
- for an encrypted topic, the key policy must allow it ``kms:GenerateDataKey*`` and
  ``kms:Decrypt`` (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).

A refused action is dropped and logged, as AWS records it in the alarm's history ("Failed to
execute action"). The message has the documented notification fields (AlarmName, NewStateValue,
NewStateReason, StateChangeTime, Region, AlarmArn, OldStateValue, AWSAccountId); its Subject
names the region by code, where AWS writes the region's long name. Not modelled: other action
types (Auto Scaling, EC2, Systems Manager).

Metric alarms change state from metric data: each PutMetricData evaluates the alarms that watch
the metrics it wrote (Statistic, Period, EvaluationPeriods, DatapointsToAlarm, Threshold,
ComparisonOperator, TreatMissingData; see "metric alarms" below for the rules and what is not
modelled); other services may listen to alarm state changes (``add_state_listener``: SageMaker's
deployment guardrails). GetMetricStatistics matches the requested dimension set exactly, as
CloudWatch does. Tested in ``tests/integration/test_event_delivery.py``,
``tests/integration/test_endpoint_metrics.py`` and ``test_deployment_guardrails.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.exceptions import InvalidParameterCombination
from moto.cloudwatch.models import (
    Alarm,
    CloudWatchBackend,
    Dimension,
    MetricDatum,
    cloudwatch_backends,
)
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.core.utils import utcnow

from emulator.aws import core, iam, lambda_

LOGGER = logging.getLogger(__name__)
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"


def _account(alarm: Any) -> str:
    return str(alarm.alarm_arn).split(":")[4]  # moto keeps the account only in the ARN


def actions_for(alarm: Any, state: str) -> list[str]:
    """The actions an alarm runs on entering ``state``."""
    if not alarm.actions_enabled:
        return []
    by_state = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }
    return list(by_state.get(state) or [])


def publish_refusal(alarm: Any, topic_arn: str) -> str | None:
    """Why CloudWatch may not publish ``alarm``'s notification to ``topic_arn`` (``None``: it
    may)."""
    decision, message = iam.service_delivery_decision(
        CLOUDWATCH_PRINCIPAL,
        "sns:Publish",
        topic_arn,
        source_arn=str(alarm.alarm_arn),
        source_account=_account(alarm),
    )
    if decision is not iam.Decision.ALLOW:
        return message
    decision, message = iam.topic_key_decision(CLOUDWATCH_PRINCIPAL, topic_arn)
    return None if decision is iam.Decision.ALLOW else message


def notification(alarm: Any, old_state: str) -> dict[str, Any]:
    """The alarm's SNS message (its documented fields)."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": _account(alarm),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": alarm.state_updated_timestamp.isoformat(),
        "Region": alarm.region_name,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
    }


def run_actions(alarm: Any, old_state: str) -> None:
    """Publish ``alarm``'s notification to each SNS action of its new state it may publish to."""
    for action in actions_for(alarm, alarm.state_value):
        if action.split(":")[2:3] != ["sns"]:
            continue
        refusal = publish_refusal(alarm, action)
        if refusal is not None:
            LOGGER.warning("alarm %s: failed to execute action %s: %s", alarm.name, action, refusal)
            continue
        lambda_.send_to_queue_or_topic(action, json.dumps(notification(alarm, old_state)), {})


#: Called with (alarm, old state) after an alarm changes state: other services that watch alarms
#: (SageMaker's deployment guardrails roll back on them) register here.
AlarmListener = Callable[[Any, str], None]
_STATE_LISTENERS: list[AlarmListener] = []


def add_state_listener(listener: AlarmListener) -> None:
    """Have ``listener`` told of every alarm state change (once, however often added)."""
    if listener not in _STATE_LISTENERS:
        _STATE_LISTENERS.append(listener)


def _update_state(original: Callable[..., None]) -> Callable[..., None]:
    def update_state(self: Any, reason: str, reason_data: str, state_value: str) -> None:
        old_state = self.state_value
        original(self, reason, reason_data, state_value)
        if state_value != old_state:
            run_actions(self, old_state)
            for listener in list(_STATE_LISTENERS):
                try:
                    listener(self, old_state)
                except Exception:  # a watcher's failure must not fail the metric write
                    LOGGER.exception("alarm %s: state listener %r failed", self.name, listener)

    return update_state


def find_alarms(account_id: str, region: str, names: list[str]) -> dict[str, Any]:
    """The metric alarms among ``names`` that exist in ``account_id`` and ``region``."""
    alarms = cloudwatch_backends[account_id][region].alarms
    return {name: alarms[name] for name in names if name in alarms}


def in_alarm_since(alarm: Any, moment: datetime) -> bool:
    """Whether ``alarm`` is in ALARM and entered it no later than ``moment`` (naive UTC)."""
    return bool(
        alarm.state_value == "ALARM" and _naive_utc(alarm.state_updated_timestamp) <= moment
    )


def reevaluate(account_id: str, region: str, alarm: Any) -> None:
    """Evaluate ``alarm`` now, as CloudWatch's schedule would (data may have aged out)."""
    if evaluable(alarm):
        evaluate_alarm(cloudwatch_backends[account_id][region], alarm, utcnow())


# --------------------------------------------------------------------------- metric alarms

# moto stores metric data and alarms but never compares one with the other, so an alarm could
# never leave OK on its own. Here every PutMetricData (a client's or the emulator's own, e.g.
# SageMaker's invocation metrics) evaluates the alarms watching the metrics it wrote, as
# CloudWatch's "Evaluating an alarm" describes
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html):
# the alarm's Statistic over each of its last EvaluationPeriods periods of Period seconds is
# compared with Threshold by ComparisonOperator; DatapointsToAlarm (default: EvaluationPeriods)
# breaching periods make it ALARM, otherwise OK; periods without data count as TreatMissingData
# says (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html:
# breaching, notBreaching, ignore keeps the state, missing (the default) goes to
# INSUFFICIENT_DATA when every period is missing). AWS evaluates on a schedule (every minute);
# here evaluation follows each datapoint, so a datapoint acts at once and an alarm whose data
# only ages out keeps its state. Not modelled (such alarms are left alone): extended statistics
# (percentiles), metric-math alarms (Metrics), anomaly-detection operators, and the look-back
# beyond the evaluation range that ignore/missing alarms do for partially missing data.

#: The statistics an alarm's Statistic may name (PutMetricAlarm's Statistic enum in botocore's
#: cloudwatch service model).
STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "SampleCount": lambda values: float(len(values)),
    "Sum": lambda values: float(sum(values)),
    "Average": lambda values: float(sum(values)) / len(values),
    "Minimum": lambda values: float(min(values)),
    "Maximum": lambda values: float(max(values)),
}
#: The static-threshold ComparisonOperator values and what "breaching" means for each.
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
#: How the notification's reason words each operator (as CloudWatch writes its StateReason).
COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def period_values(
    datapoints: list[tuple[datetime, float]],
    statistic: str,
    period_seconds: int,
    periods: int,
    now: datetime,
) -> list[float | None]:
    """The statistic of each of the last ``periods`` periods ending at ``now``, oldest first
    (``None``: no datapoint in that period)."""
    values: list[float | None] = []
    for index in range(periods, 0, -1):
        end = now - timedelta(seconds=period_seconds * (index - 1))
        start = end - timedelta(seconds=period_seconds)
        inside = [value for stamp, value in datapoints if start < stamp <= end]
        values.append(STATISTICS[statistic](inside) if inside else None)
    return values


def alarm_state(
    values: list[float | None],
    comparison: str,
    threshold: float,
    datapoints_to_alarm: int,
    treat_missing_data: str,
    current_state: str,
) -> str:
    """The state the evaluated periods put an alarm in (``current_state`` when ignored)."""
    breaching = missing_breach = 0
    for value in values:
        if value is None:
            missing_breach += treat_missing_data == "breaching"
        elif COMPARISONS[comparison](value, threshold):
            breaching += 1
    if breaching + missing_breach >= datapoints_to_alarm:
        return "ALARM"
    if all(value is None for value in values):
        if treat_missing_data == "ignore":
            return current_state
        if treat_missing_data == "missing":
            return "INSUFFICIENT_DATA"
    return "OK"


def evaluable(alarm: Any) -> bool:
    """Whether the evaluator models ``alarm``'s shape (see the comment above)."""
    return (
        not alarm.metric_data_queries
        and alarm.statistic in STATISTICS
        and alarm.comparison_operator in COMPARISONS
        and bool(alarm.metric_name)
    )


def _watches(alarm: Any, namespace: str, name: str, dimensions: list[Any]) -> bool:
    # An alarm watches exactly one metric: its namespace, name and full set of dimensions.
    return (
        alarm.namespace == namespace
        and alarm.metric_name == name
        and sorted((d.name, d.value) for d in alarm.dimensions)
        == sorted((d.name, d.value) for d in dimensions)
    )


def _naive_utc(stamp: Any) -> datetime:
    # moto keeps its own datapoints' times as naive UTC, a client's as it sent them.
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def _datapoints(backend: Any, alarm: Any) -> list[tuple[datetime, float]]:
    wanted = sorted((d.name, d.value) for d in alarm.dimensions)
    return [
        (_naive_utc(datum.timestamp), float(datum.value))
        for datum in backend.get_all_metrics()
        if isinstance(datum, MetricDatum)
        and datum.namespace == alarm.namespace
        and datum.name == alarm.metric_name
        and sorted((d.name, d.value) for d in datum.dimensions) == wanted
        and (not alarm.unit or datum.unit == alarm.unit)
    ]


def _reason(alarm: Any, values: list[float | None], state: str) -> tuple[str, str]:
    shown = [value for value in values if value is not None]
    word = COMPARISON_WORDS[alarm.comparison_operator]
    verb = "was" if state == "ALARM" else "was not"
    reason = (
        f"Threshold Crossed: {len(shown)} datapoint(s) {shown} {verb} {word} the threshold "
        f"({float(alarm.threshold)})."
        if shown
        else f"Threshold Crossed: no datapoints were received for {len(values)} period(s)."
    )
    data = {
        "version": "1.0",
        "statistic": alarm.statistic,
        "period": int(alarm.period),
        "recentDatapoints": shown,
        "threshold": float(alarm.threshold),
    }
    return reason, json.dumps(data)


def evaluate_alarm(backend: Any, alarm: Any, now: datetime) -> None:
    """Evaluate one alarm against its metric's data and change its state if the data says so
    (through ``Alarm.update_state``, which runs the new state's actions)."""
    periods = int(alarm.evaluation_periods)
    values = period_values(
        _datapoints(backend, alarm), alarm.statistic, int(alarm.period), periods, now
    )
    state = alarm_state(
        values,
        alarm.comparison_operator,
        float(alarm.threshold),
        int(alarm.datapoints_to_alarm or periods),
        alarm.treat_missing_data or "missing",
        alarm.state_value,
    )
    if state != alarm.state_value:
        reason, data = _reason(alarm, values, state)
        alarm.update_state(reason, data, state)


def evaluate_alarms_for(backend: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """Evaluate every alarm that watches a metric just written to ``backend``."""
    written = [
        (
            str(datum["MetricName"]),
            [Dimension(d["Name"], d["Value"]) for d in datum.get("Dimensions") or []],
        )
        for datum in metric_data
    ]
    now = utcnow()
    for alarm in list(backend.alarms.values()):
        if evaluable(alarm) and any(
            _watches(alarm, namespace, name, dims) for name, dims in written
        ):
            evaluate_alarm(backend, alarm, now)


def _put_metric_data(original: Callable[..., None]) -> Callable[..., None]:
    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        original(self, namespace, metric_data)
        evaluate_alarms_for(self, namespace, metric_data)

    return put_metric_data


def _get_metric_statistics(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    # GetMetricStatistics, Dimensions: "If the metric contains multiple dimensions, you must
    # include a value for each dimension. CloudWatch treats each unique combination of dimensions
    # as a separate metric. If a specific combination of dimensions was not published, you can't
    # retrieve statistics for it." (CloudWatch API reference, API_GetMetricStatistics.html).
    # moto returns every datapoint whose dimensions include the requested ones, so an
    # endpoint's {EndpointName, VariantName} statistics summed its per-config metrics in too.
    def get_metric_statistics(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        dimensions = kwargs.get("dimensions", args[6] if len(args) > 6 else [])
        wanted = sorted((d["Name"], d.get("Value")) for d in dimensions or [])
        periods = original(self, *args, **kwargs)
        for period in periods:  # each period's statistics are computed from its metric_data
            period.metric_data = [
                datum
                for datum in period.metric_data
                if sorted((d.name, d.value) for d in datum.dimensions) == wanted
            ]
        return [period for period in periods if period.metric_data]

    return get_metric_statistics


def _describe_alarms(self: Any) -> ActionResult:
    """DescribeAlarms with every filter applied (moto used the first one it found).

    botocore's cloudwatch model, DescribeAlarmsInput: ``StateValue`` gives "only ... alarms that
    are currently in the state that you specify", ``ActionPrefix`` "only those alarms that use a
    certain alarm action", and with ``AlarmNamePrefix`` "you cannot specify AlarmNames" (the error
    code is the service's common InvalidParameterCombination; the message is ours). Tested in
    ``tests/integration/test_cloudwatch_describe_alarms.py``.
    """
    names = self._get_param("AlarmNames", [])
    prefix = self._get_param("AlarmNamePrefix")
    state = self._get_param("StateValue")
    action_prefix = self._get_param("ActionPrefix")
    if names and prefix:
        raise InvalidParameterCombination(
            "AlarmNames and AlarmNamePrefix cannot be specified together."
        )
    alarms = [
        alarm
        for alarm in self.cloudwatch_backend.describe_alarms()
        if (not names or alarm.name in names)
        and (not prefix or alarm.name.startswith(prefix))
        and (not state or alarm.state_value == state)
        and (not action_prefix or any(a.startswith(action_prefix) for a in alarm.alarm_actions))
    ]
    return ActionResult(
        {
            "MetricAlarms": [a for a in alarms if a.rule is None],
            "CompositeAlarms": [a for a in alarms if a.rule is not None],
        }
    )


def put_metric_data(
    account_id: str, region: str, namespace: str, metric_data: list[dict[str, Any]]
) -> None:
    """Record datapoints as the AWS service that owns ``namespace`` would (no caller checks)."""
    cloudwatch_backends[account_id][region].put_metric_data(namespace, metric_data)


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """Alarms run their SNS actions when their state changes; metric data is evaluated by the
    alarms watching it."""
    Alarm.update_state = _update_state(Alarm.update_state)  # type: ignore[method-assign]
    CloudWatchBackend.put_metric_data = _put_metric_data(  # type: ignore[method-assign]
        CloudWatchBackend.put_metric_data
    )
    CloudWatchBackend.get_metric_statistics = _get_metric_statistics(  # type: ignore[method-assign]
        CloudWatchBackend.get_metric_statistics
    )
    CloudWatchResponse.describe_alarms = _describe_alarms  # type: ignore[method-assign]


def reset() -> None:
    """Nothing kept here: alarms live on moto's backends."""
