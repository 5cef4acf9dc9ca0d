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
types (Auto Scaling, EC2, Systems Manager), and alarms changing state from metric data.
Tested in ``tests/integration/test_event_delivery.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from moto.cloudwatch.models import Alarm

from local.aws import core, iam, lambda_

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


def _update_state(original: Callable[..., None]) -> Callable[..., None]:
    def update_state(self: Any, reason: str, reason_data: str, state_value: str) -> None:
        old_state = self.state_value
        original(self, reason, reason_data, state_value)
        if state_value != old_state:
            run_actions(self, old_state)

    return update_state


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """Alarms run their SNS actions when their state changes."""
    Alarm.update_state = _update_state(Alarm.update_state)  # type: ignore[method-assign]


def reset() -> None:
    """Nothing kept here: alarms live on moto's backends."""
