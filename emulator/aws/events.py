"""EventBridge delivering to its targets (moto's ``events`` service).

moto matches events to rules but delivers only to SQS, logs, archives and buses; here a rule
also delivers to Lambda, Step Functions and SNS targets, with the target's ``Input``,
``InputPath`` or ``InputTransformer``, asynchronously as on AWS. PutEvents refuses an entry whose
source begins with ``aws.`` (only AWS services emit those). Tested in
``emulator/tests/test_event_delivery.py``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from jsonpath_ng import ext as jsonpath_ext
from moto.core.utils import utcnow
from moto.events.models import Rule as EventRule
from moto.events.responses import EventsHandler

from emulator.aws import core, iam, lambda_

# --------------------------------------------------------------------------- event delivery

# moto matches events to rules but delivers only to SQS, logs, archives and buses; a Lambda, Step
# Functions or SNS target raises NotImplementedError, which moto's S3 notifier swallows, so an
# upload silently starts nothing. Here:
#
#   S3 PutObject ─► "Object Created" (AWS's shape) ─┐
#   CreateModelPackage / approval change ───────────┼─► rule matches ─► target input
#   PutEvents ──────────────────────────────────────┘     ├─ Lambda ─► in-process handler (thread)
#                                                         ├─ Step Functions ─► StartExecution
#                                                         ├─ SNS ─► Publish
#                                                         └─ the rest ─► moto (SQS, logs, ...)
#
# A Python zip Lambda runs in this process: its code is extracted once per CodeSha256 and
# imported under a unique package name, and its environment (plus ``AWS_ENDPOINT_URL`` = the
# emulator in server mode) is applied while it runs. Delivery is asynchronous, as on AWS.

LOGGER = logging.getLogger(__name__)
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def event_time(value: Any) -> str:
    """An event's ``time`` as EventBridge writes it (``2026-01-02T03:04:05Z``)."""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def select_path(document: Any, path: str) -> Any:
    """The first value ``path`` (JSONPath) selects in ``document``, or ``None``."""
    matches = jsonpath_ext.parse(path).find(document)
    return matches[0].value if matches else None


def _render(value: Any, in_string: bool) -> str:
    if not in_string:
        return json.dumps(value)
    text = value if isinstance(value, str) else json.dumps(value)
    return json.dumps(text)[1:-1]  # escaped, without the quotes the template already has


def transform_input(
    event: dict[str, Any],
    input_paths: dict[str, str] | None,
    template: str,
    *,
    rule_arn: str = "",
    rule_name: str = "",
) -> str:
    """EventBridge's InputTransformer: ``<name>`` placeholders filled from ``input_paths``.

    As on AWS, a value placed outside a JSON string is written as JSON (a string gets quotes, a
    missing path is ``null``), inside a string it is written as escaped text.
    """
    values: dict[str, Any] = {
        name: select_path(event, path) for name, path in (input_paths or {}).items()
    }
    values.setdefault("aws.events.rule-arn", rule_arn)
    values.setdefault("aws.events.rule-name", rule_name)
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.event", {k: v for k, v in event.items() if k != "detail"})
    out: list[str] = []
    in_string = False
    index = 0
    while index < len(template):
        char = template[index]
        if char == "\\" and in_string:
            out.append(template[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, index)
            if match is not None and match.group(1) in values:
                out.append(_render(values[match.group(1)], in_string))
                index = match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


def target_input(target: dict[str, Any], event: dict[str, Any], rule: Any = None) -> str:
    """The text a target receives: ``Input``, ``InputPath``, ``InputTransformer`` or the event."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(select_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        return transform_input(
            event,
            transformer.get("InputPathsMap"),
            transformer["InputTemplate"],
            rule_arn=str(getattr(rule, "arn", "")),
            rule_name=str(getattr(rule, "name", "")),
        )
    return json.dumps(event)


# Targets -----------------------------------------------------------------------------------------

_OUR_TARGETS = frozenset({"lambda", "states", "sns"})


def _target_service(target: dict[str, Any]) -> str:
    parts = str(target.get("Arn", "")).split(":")
    return parts[2] if len(parts) > 2 else ""


class DeliveryDenied(Exception):
    """EventBridge may not deliver to the target; ``code`` is the dead-letter ERROR_CODE."""

    code = "NO_PERMISSIONS"


#: The action EventBridge performs on each target it delivers to (service authorization
#: reference). Lambda, SNS and SQS targets are decided by their resource policy; any other
#: target (Step Functions here) by the target's RoleArn, which EventBridge assumes.
#: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
#: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
TARGET_ACTIONS = {
    "lambda": "lambda:InvokeFunction",
    "sns": "sns:Publish",
    "sqs": "sqs:SendMessage",
    "states": "states:StartExecution",
}
RESOURCE_POLICY_TARGETS = frozenset({"lambda", "sns", "sqs"})
EVENTS_PRINCIPAL = "events.amazonaws.com"


def delivery_refusal(rule: Any, target: dict[str, Any]) -> str | None:
    """Why EventBridge may not deliver ``rule``'s event to ``target`` (``None``: it may).

    A target without an action here (CloudWatch Logs, buses, ...) is not authorised by the
    emulator (listed in docs/fidelity-rows-w2a.md as not modelled).
    """
    arn = str(target.get("Arn", ""))
    service = _target_service(target)
    action = TARGET_ACTIONS.get(service)
    if action is None:
        return None
    rule_arn, account = str(rule.arn), str(rule.account_id)
    if service in RESOURCE_POLICY_TARGETS:
        decision, message = iam.service_delivery_decision(
            EVENTS_PRINCIPAL, action, arn, source_arn=rule_arn, source_account=account
        )
    elif target.get("RoleArn"):
        source = {"aws:sourcearn": (rule_arn,), "aws:sourceaccount": (account,)}
        decision, message = iam.role_decision(
            EVENTS_PRINCIPAL, str(target["RoleArn"]), action, arn, source
        )
    else:
        # PutTargets: "RoleArn ... if the target is ... a Step Functions state machine" is how
        # EventBridge gets permission; without one it has none.
        return f"{EVENTS_PRINCIPAL} has no role to perform {action} on {arn} (no RoleArn)"
    if decision is not iam.Decision.ALLOW:
        return message
    if service == "sns":
        decision, message = iam.topic_key_decision(EVENTS_PRINCIPAL, arn)
        if decision is not iam.Decision.ALLOW:
            return message
    return None


def dead_letter(rule: Any, target: dict[str, Any], event: dict[str, Any], error: Exception) -> None:
    """An event EventBridge could not deliver: logged, and kept by the target's dead-letter
    queue when it has one (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""
    arn = str(target.get("Arn", ""))
    LOGGER.warning("could not deliver event %s to %s: %s", event.get("id"), arn, error)
    queue = (target.get("DeadLetterConfig") or {}).get("Arn")
    if queue:
        attributes = {
            "RULE_ARN": str(getattr(rule, "arn", "")),
            "TARGET_ARN": arn,
            "ERROR_CODE": str(getattr(error, "code", type(error).__name__)),
            "ERROR_MESSAGE": str(error)[:1000],
        }
        lambda_.send_to_queue_or_topic(queue, json.dumps(event), attributes)


def _deliver_to_target(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = str(target["Arn"])
    _, _, service, region, account, *_ = arn.split(":")
    text = target_input(target, event, rule)
    endpoint_url = core.endpoint_url()

    def work() -> None:
        try:
            refusal = delivery_refusal(rule, target)
            if refusal is not None:
                raise DeliveryDenied(refusal)
            if service == "lambda":
                from moto.awslambda.utils import get_backend as lambda_backend

                fn = lambda_backend(account, region).get_function(arn)
                if lambda_.runs_in_process(fn):
                    invocation = lambda_.invoke_in_process(
                        fn, json.loads(text), endpoint_url=endpoint_url
                    )
                    if invocation.error is not None:
                        lambda_.deliver_failure(fn, json.loads(text), invocation)
                else:
                    fn.invoke(text, {"x-amz-invocation-type": "Event"}, {})
            elif service == "states":
                from moto.stepfunctions.responses import get_backend as sfn_backend

                sfn_backend(account, region).start_execution(
                    state_machine_arn=arn, name=str(uuid.uuid4()), execution_input=text
                )
            elif service == "sns":
                lambda_.send_to_queue_or_topic(arn, text, {})
        except Exception as error:
            dead_letter(rule, target, event, error)

    core.in_background(f"events-{service}-{event.get('id', '')}", work)


def _rule_send_to_targets(original: Callable[..., None]) -> Callable[..., None]:
    def send(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        if getattr(self, "state", "ENABLED") != "ENABLED":
            return  # moto delivers to disabled rules too
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if _target_service(t) in _OUR_TARGETS]
        if ours:
            event = copy.deepcopy(original_event)
            event.pop("ingestion-time", None)
            event["time"] = event_time(event.get("time") or utcnow())
            for target in ours:
                _deliver_to_target(self, target, event)
        rest = []
        for target in self.targets:
            if _target_service(target) in _OUR_TARGETS:
                continue
            refusal = delivery_refusal(self, target)
            if refusal is None:
                rest.append(target)
            else:
                dead_letter(self, target, original_event, DeliveryDenied(refusal))
        if rest:
            # A copy with moto's targets only: the rule itself is never modified.
            moto_rule = copy.copy(self)
            moto_rule.targets = rest
            original(moto_rule, original_event, transform_input)

    return send


# --------------------------------------------------------------------------- PutEvents sources

# "All events that come from AWS services begin with "aws." Customer-generated events can have any
# value here, as long as it doesn't begin with "aws."" (EventBridge user guide, "Events",
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html). A PutEvents
# entry with such a source fails on its own with NotAuthorizedForSourceException ("You do not
# have permissions to publish events with this source onto this event bus": API reference,
# PutEventsResultEntry); the request's other entries are put. moto accepts any source. The
# emulator's own service events (S3, SageMaker) go to the backend, not through this API. AWS does
# not document the entry's ErrorMessage; this one names the source and why.
AWS_SOURCE_PREFIX = "aws."


def refused_source(entry: Any) -> bool:
    """Whether a PutEvents entry claims a source only AWS services may use."""
    return isinstance(entry, dict) and str(entry.get("Source") or "").startswith(AWS_SOURCE_PREFIX)


def source_refusal(entry: dict[str, Any]) -> dict[str, str]:
    return {
        "ErrorCode": "NotAuthorizedForSourceException",
        "ErrorMessage": f"Not authorized for the source {entry.get('Source')}: sources beginning "
        f"with {AWS_SOURCE_PREFIX!r} are reserved for AWS services' own events.",
    }


def _put_events_refuses_aws_sources(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def put_events(self: Any) -> str:
        entries = self._get_param("Entries") or []
        refused = [refused_source(entry) for entry in entries]
        if not any(refused):
            return original(self)
        allowed = [entry for entry, no in zip(entries, refused, strict=True) if not no]
        put = iter(self.events_backend.put_events(allowed) if allowed else [])
        results = [
            source_refusal(entry) if no else next(put)
            for entry, no in zip(entries, refused, strict=True)
        ]
        failed = len([result for result in results if "ErrorCode" in result])
        return json.dumps({"FailedEntryCount": failed, "Entries": results})

    return put_events


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """Rules deliver to Lambda, Step Functions and SNS targets; PutEvents refuses AWS sources."""
    EventRule.send_to_targets = _rule_send_to_targets(EventRule.send_to_targets)  # type: ignore[method-assign]
    EventsHandler.put_events = _put_events_refuses_aws_sources(EventsHandler.put_events)  # type: ignore[method-assign,assignment]


def reset() -> None:
    """Nothing kept here: rules and targets live on moto's backends."""
