"""SageMaker's deployment guardrails: UpdateEndpoint's DeploymentConfig, run step by step.

Pure rules (``traffic_steps``, ``deployment_config_refusal``, ``variant_status_message``...)
and the steps of a guarded update on the endpoint's transitions (``state.py``): which fleet a
request reaches (``route_invocation``), when a step ends, and the rollback an alarm trips.
Tested in ``emulator/tests/test_deployment_guardrails.py``.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from moto.core.utils import utcnow

from emulator.aws import cloudwatch
from emulator.aws.sagemaker import hosting
from emulator.aws.sagemaker.state import (
    LIFECYCLE_LOCK,
    Deployment,
    EndpointGuardrails,
    EndpointTransition,
    TrafficStep,
    apply_config,
    begin,
    endpoint_guardrails,
    endpoint_transition_seconds,
    endpoint_transitions,
)

# UpdateEndpoint's DeploymentConfig (botocore's sagemaker service model, shapes DeploymentConfig,
# BlueGreenUpdatePolicy, TrafficRoutingConfig, CapacitySize, AutoRollbackConfig) runs a blue/green
# update with traffic shifting and auto-rollback, as the developer guide describes it
# ("Deployment guardrails", https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails.html;
# "Use canary traffic shifting", deployment-guardrails-blue-green-canary.html; "Auto-Rollback
# Configuration and Monitoring", deployment-guardrails-configuration.html):
#
#   UpdateEndpoint ─► Updating: provision the green fleet (new config; its model must load, or
#   │                 RollingBack ─► InService on the old config with FailureReason)
#   ├─► step 1: the canary share (or the first linear step, or all traffic for ALL_AT_ONCE) is
#   │           routed to green and bakes WaitIntervalInSeconds
#   ├─► ... (LINEAR: one step of LinearStepSize more per WaitIntervalInSeconds)
#   ├─► last step: all traffic on green while the blue fleet waits TerminationWaitInSeconds
#   └─► InService on the new config, blue fleet gone.
#   Any AutoRollbackConfiguration alarm in ALARM during a step ─► RollingBack (all traffic back
#   to blue at once) ─► InService on the old config, FailureReason naming the alarm.
#
# Readings where the documents leave room (the stricter one is modelled):
# - The canary guide's "final baking period" after the full shift is the
#   TerminationWaitInSeconds wait: the documented VariantStatus message is "Baking for X seconds
#   (TerminationWaitInSeconds) with traffic enabled on full capacity of Y instance(s)"
#   (automating-sagemaker-with-eventbridge.html), and BlueGreenUpdatePolicy documents
#   MaximumExecutionTimeoutInSeconds as "larger than the total waiting time specified in
#   TerminationWaitInSeconds and WaitIntervalInSeconds". Alarms are watched through it.
# - An alarm already in ALARM when a step begins trips the rollback ("if any alarms trip during
#   the baking period": being in ALARM is read as tripped). The watched alarms are re-evaluated
#   when UpdateEndpoint is called, as CloudWatch evaluates every minute, so data that has aged
#   out of an alarm's periods does not block a new deployment.
# - Every named alarm must exist when UpdateEndpoint is called (SageMaker must be able to
#   cloudwatch:DescribeAlarms them; the guide's note on the execution role), else it is refused.
# - A canary share is the request share the guide describes ("routes a portion of the incoming
#   traffic (for example, 25%) to the canary"): CAPACITY_PERCENT Value %, or INSTANCE_COUNT Value
#   / the green variant's instance count. Routing is deterministic (a counter per step: requests
#   1, 1+1/share, ... go to green) so tests are reproducible; AWS routes at random.
# - Not modelled: RollingUpdatePolicy (refused, said so), MaximumExecutionTimeoutInSeconds as a
#   running timeout (only validated), CreateEndpoint's DeploymentConfig, the ActivatingTraffic
#   VariantStatus (traffic moves at once), the "SageMaker Endpoint Deployment State Change"
#   EventBridge events (documented only by an example of an Updating endpoint).

#: VariantStatus values (botocore's VariantStatus enum) for the green fleet's phases.
GREEN_PROVISIONING_STATUS = "Creating"
GREEN_BAKING_STATUS = "Baking"
#: TrafficRoutingConfig: "Value must be less than or equal to 50% of the variant's total instance
#: count" (CanarySize); "Value must be 10-50% of the variant's total instance count"
#: (LinearStepSize).
MAX_CANARY_SHARE = 0.5
LINEAR_SHARE_RANGE = (0.1, 0.5)


def capacity_share(size: dict[str, Any], green_instances: int) -> float:
    """A CapacitySize as the share of the green fleet (and of requests) it stands for."""
    if size["Type"] == "CAPACITY_PERCENT":
        return float(size["Value"]) / 100.0
    return float(size["Value"]) / max(green_instances, 1)


def traffic_steps(deployment_config: dict[str, Any], green_instances: int) -> list[TrafficStep]:
    """The traffic phases a (validated) DeploymentConfig asks for, in order.

    Without a BlueGreenUpdatePolicy "SageMaker uses a blue/green deployment strategy with all at
    once traffic shifting by default" (DeploymentConfig), with no waits.
    """
    policy = deployment_config.get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE"}
    wait = float(routing.get("WaitIntervalInSeconds") or 0)
    termination = float(policy.get("TerminationWaitInSeconds") or 0)
    final = TrafficStep(1.0, termination, "full", "TerminationWaitInSeconds")
    if routing["Type"] == "CANARY":
        share = capacity_share(routing["CanarySize"], green_instances)
        return [TrafficStep(share, wait, "canary"), final]
    if routing["Type"] == "LINEAR":
        step = capacity_share(routing["LinearStepSize"], green_instances)
        count = int(round(1.0 / step, 6) + 0.999999)  # steps until all traffic has moved
        shares = [min(step * (index + 1), 1.0) for index in range(count - 1)]
        return [*(TrafficStep(s, wait, "linear step") for s in shares), final]
    return [TrafficStep(1.0, wait, "full"), final]


def variant_status_message(step: TrafficStep | None, green_instances: int) -> str:
    """A VariantStatus StatusMessage in the documented forms ("Launching X instance(s).",
    "Baking for X seconds (TerminationWaitInSeconds) with traffic enabled on full capacity of Y
    instance(s)."): SageMaker developer guide, automating-sagemaker-with-eventbridge.html,
    "SageMaker endpoint deployment state change")."""
    if step is None:
        return f"Launching {green_instances} instance(s)."
    instances = max(1, math.ceil(step.share * green_instances - 1e-9))
    return (
        f"Baking for {step.seconds:g} seconds ({step.wait_field}) with traffic enabled on "
        f"{step.capacity} capacity of {instances} instance(s)."
    )


def deployment_config_refusal(
    deployment_config: dict[str, Any], green_instances: int, missing_alarms: list[str]
) -> str | None:
    """Why UpdateEndpoint refuses ``deployment_config`` (``None``: it is accepted).

    botocore's model bounds are checked at the front door (emulator/aws/validation.py:
    WaitIntervalInSeconds and TerminationWaitInSeconds 0-3600, MaximumExecutionTimeoutInSeconds
    600-28800, CapacitySize Value >= 1, 1-10 alarms); these are the documented rules between
    fields. AWS's exact messages are not documented; these name the rule.
    """
    blue_green = deployment_config.get("BlueGreenUpdatePolicy")
    if deployment_config.get("RollingUpdatePolicy") is not None:
        if blue_green is not None:
            # DeploymentConfig: "Only one update policy should be used in the deployment
            # configuration."
            return (
                "Only one update policy (BlueGreenUpdatePolicy or RollingUpdatePolicy) may be used."
            )
        return (
            "RollingUpdatePolicy is not modelled by the local emulator "
            "(emulator/aws/sagemaker/guardrails.py); use BlueGreenUpdatePolicy."
        )
    if missing_alarms:
        return (
            "AutoRollbackConfiguration names CloudWatch alarms that do not exist: "
            f"{', '.join(missing_alarms)}."
        )
    if blue_green is None:
        return None
    routing = blue_green["TrafficRoutingConfiguration"]
    kind = routing["Type"]
    for size_name, wanted in (("CanarySize", "CANARY"), ("LinearStepSize", "LINEAR")):
        if kind == wanted and routing.get(size_name) is None:
            return f"TrafficRoutingConfiguration of Type {kind} requires {size_name}."
        size = routing.get(size_name)
        if kind == wanted and size["Type"] == "INSTANCE_COUNT" and size["Value"] > green_instances:
            return (
                f"{size_name} of {size['Value']} instances exceeds the new variant's "
                f"{green_instances} instances."
            )
    if kind == "CANARY":
        share = capacity_share(routing["CanarySize"], green_instances)
        if share > MAX_CANARY_SHARE:
            return (
                "CanarySize Value must be less than or equal to 50% of the variant's total "
                f"instance count (it is {share:.0%})."
            )
    if kind == "LINEAR":
        share = capacity_share(routing["LinearStepSize"], green_instances)
        low, high = LINEAR_SHARE_RANGE
        if not low <= share <= high:
            return (
                "LinearStepSize Value must be 10-50% of the variant's total instance count "
                f"(it is {share:.0%})."
            )
    timeout = blue_green.get("MaximumExecutionTimeoutInSeconds")
    waits = int(routing.get("WaitIntervalInSeconds") or 0) + int(
        blue_green.get("TerminationWaitInSeconds") or 0
    )
    if timeout is not None and timeout <= waits:
        return (
            f"MaximumExecutionTimeoutInSeconds ({timeout}) must be larger than the total waiting "
            f"time in TerminationWaitInSeconds and WaitIntervalInSeconds ({waits})."
        )
    return None


def _rollback_alarms(deployment_config: dict[str, Any]) -> list[str]:
    auto_rollback = deployment_config.get("AutoRollbackConfiguration") or {}
    return [str(alarm["AlarmName"]) for alarm in auto_rollback.get("Alarms") or []]


def _green_instances(backend: Any, config_name: str) -> int:
    variants = backend.describe_endpoint_config(config_name)["ProductionVariants"]
    return int(variants[0].get("InitialInstanceCount") or 1)


def plan_deployment(
    backend: Any, endpoint: Any, config_name: str, deployment_config: dict[str, Any]
) -> Deployment:
    """Validate ``deployment_config`` for ``endpoint`` and lay out its traffic steps."""
    from moto.sagemaker.exceptions import ValidationError

    alarms = _rollback_alarms(deployment_config)
    found = cloudwatch.find_alarms(backend.account_id, backend.region_name, alarms)
    green_instances = _green_instances(backend, config_name)
    missing = [name for name in alarms if name not in found]
    refusal = deployment_config_refusal(deployment_config, green_instances, missing)
    if refusal is not None:
        raise ValidationError(refusal)
    for alarm in found.values():  # CloudWatch evaluates on a schedule: bring them up to date
        cloudwatch.reevaluate(backend.account_id, backend.region_name, alarm)
    return Deployment(
        deployment_config=deployment_config,
        new_config=config_name,
        old_config=endpoint.endpoint_config_name,
        steps=traffic_steps(deployment_config, green_instances),
        alarms=alarms,
        started=utcnow(),
    )


def _wall_clock(monotonic: float) -> Any:
    """The wall-clock time (naive UTC, as moto keeps times) of a ``time.monotonic()`` instant."""
    return utcnow() - timedelta(seconds=time.monotonic() - monotonic)


def alarm_rollback_reason(deployment: Deployment, alarm: str) -> str:
    """DescribeEndpoint's FailureReason after an auto-rollback.

    AWS documents that FailureReason is set when "the status is InService but update operation
    fails", not its wording for an alarm; this names the alarm, the config and the step.
    """
    step = deployment.steps[deployment.step]
    return (
        f"Deployment of endpoint config {deployment.new_config} was rolled back to "
        f"{deployment.old_config}: auto-rollback alarm {alarm} was in ALARM during the baking "
        f"period with traffic enabled on {step.capacity} capacity ({step.share:.0%} of traffic)."
    )


def roll_back(backend: Any, endpoint: Any, transition: EndpointTransition, at: float) -> None:
    deployment = transition.deployment
    assert deployment is not None and deployment.tripped is not None
    begin(
        backend,
        endpoint,
        EndpointTransition(
            "RollingBack",
            at + endpoint_transition_seconds(),
            deployment.old_config,
            previous_config=deployment.new_config,  # the green fleet, torn down at the end
            failure_reason=alarm_rollback_reason(deployment, deployment.tripped),
        ),
    )


def _alarm_tripped(backend: Any, deployment: Deployment, since: Any) -> str | None:
    """The first watched alarm in ALARM that got there no later than ``since`` (wall clock)."""
    found = cloudwatch.find_alarms(backend.account_id, backend.region_name, deployment.alarms)
    for name in deployment.alarms:
        alarm = found.get(name)
        if alarm is not None and cloudwatch.in_alarm_since(alarm, since):
            return name
    return None


def next_traffic_step(
    backend: Any, endpoint: Any, transition: EndpointTransition, start: float
) -> None:
    """The step after ``transition``'s begins at ``start`` (monotonic), or the update ends."""
    deployment = transition.deployment
    assert deployment is not None
    step = deployment.step + 1
    if step == len(deployment.steps):
        apply_config(backend, endpoint, deployment.new_config)
        endpoint.endpoint_status = "InService"
        endpoint.failure_reason = None
        hosting.retire_fleet(backend, deployment.old_config)  # the blue fleet is terminated
        return
    deployment.step, deployment.requests = step, 0
    deployment.step_started = _wall_clock(start)
    endpoint_guardrails(backend).setdefault(
        endpoint.endpoint_name, EndpointGuardrails()
    ).config_dimension = True
    begin(
        backend,
        endpoint,
        EndpointTransition(
            "Updating",
            start + deployment.steps[step].seconds,
            transition.config_name,
            previous_config=transition.previous_config,
            deployment=deployment,
        ),
    )
    deployment.tripped = _alarm_tripped(backend, deployment, deployment.step_started)
    if deployment.tripped is not None:
        roll_back(backend, endpoint, endpoint_transitions(backend)[endpoint.endpoint_name], start)


def roll_back_if_tripped(backend: Any, name: str, now: float) -> None:
    transition = endpoint_transitions(backend).get(name)
    endpoint = backend.endpoints.get(name)
    if transition is None or endpoint is None or transition.deployment is None:
        return
    if transition.deployment.tripped is not None and transition.status == "Updating":
        roll_back(backend, endpoint, transition, now)


def route_invocation(backend: Any, endpoint_name: str) -> str:
    """The endpoint config (blue or green fleet) that serves the next request to the endpoint."""
    with LIFECYCLE_LOCK:
        endpoint = backend.endpoints.get(endpoint_name)
        transition = endpoint_transitions(backend).get(endpoint_name)
        deployment = transition.deployment if transition is not None else None
        if endpoint is None:
            return ""
        if deployment is None or deployment.step < 0 or transition.status != "Updating":  # type: ignore[union-attr]
            return str(endpoint.endpoint_config_name)
        served, deployment.requests = deployment.requests, deployment.requests + 1
        share = deployment.green_share
        to_green = math.ceil((served + 1) * share - 1e-9) > math.ceil(served * share - 1e-9)
        return deployment.new_config if to_green else deployment.old_config


def publishes_config_dimension(backend: Any, endpoint_name: str) -> bool:
    """Whether the endpoint's invocation metrics also carry EndpointConfigName (see above)."""
    state = endpoint_guardrails(backend).get(endpoint_name)
    return bool(state is not None and state.config_dimension)


def pending_deployment_summary(backend: Any, transition: EndpointTransition) -> dict[str, Any]:
    """DescribeEndpoint's PendingDeploymentSummary for an endpoint being created or updated."""
    deployment = transition.deployment
    variants = []
    for variant in backend.describe_endpoint_config(transition.config_name)["ProductionVariants"]:
        instances = int(variant.get("InitialInstanceCount") or 1)
        if deployment is None or deployment.step < 0:
            status = {
                "Status": GREEN_PROVISIONING_STATUS,
                "StatusMessage": variant_status_message(None, instances),
            }
            started = deployment.started if deployment is not None else None
        else:
            step = deployment.steps[deployment.step]
            status = {
                "Status": GREEN_BAKING_STATUS,
                "StatusMessage": variant_status_message(step, instances),
            }
            started = deployment.step_started
        if started is not None:
            status["StartTime"] = started
        summary = {
            "VariantName": variant["VariantName"],
            "DesiredWeight": float(variant.get("InitialVariantWeight") or 1.0),
            "DesiredInstanceCount": variant.get("InitialInstanceCount"),
            "InstanceType": variant.get("InstanceType"),
            "VariantStatus": [status],
        }
        variants.append({k: v for k, v in summary.items() if v is not None})
    pending: dict[str, Any] = {
        "EndpointConfigName": transition.config_name,
        "ProductionVariants": variants,
    }
    if deployment is not None:
        pending["StartTime"] = deployment.started
    return pending
