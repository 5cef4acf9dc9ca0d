"""SageMaker's control plane where the system relies on it (moto's ``sagemaker`` service).

1. Pipeline executions get a lifecycle: a *pipeline runner* (``set_pipeline_runner``) decides
   what an execution does; ``ClientRequestToken`` makes starts idempotent; ``FailureReason`` is
   reported only when there is one; ``ListPipelineExecutionSteps`` and
   ``StopPipelineExecution`` are implemented.
2. ``UpdateModelPackage`` leaves the fields a request omits unchanged (moto resets them);
   ``DeleteModelPackageGroup`` exists (Terraform needs it); creating a model package or changing
   its approval emits "SageMaker Model Package State Change" to EventBridge.
3. Endpoints follow SageMaker's status machine (Creating, Updating, RollingBack, Deleting take
   ``endpoint_transition_seconds()``; a model that cannot be loaded ends Failed; UpdateEndpoint,
   which moto lacks, only from InService). UpdateEndpoint's ``DeploymentConfig`` runs the
   deployment guardrails: blue/green traffic steps, routed by ``route_invocation``, rolled back
   when an auto-rollback alarm is in ALARM while they bake.

Tested in ``tests/integration/test_aws_sagemaker.py`` (pipelines, model packages),
``test_endpoint_lifecycle.py``, ``test_deployment_guardrails.py`` and ``test_event_delivery.py``
(model package events).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse

from emulator.aws import cloudwatch, core, sagemaker_runtime

LOGGER = logging.getLogger(__name__)
MODEL_PACKAGE_DETAIL_TYPE = "SageMaker Model Package State Change"


# --------------------------------------------------------------------------- 3. pipelines

TERMINAL_PIPELINE_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})


@dataclass
class PipelineRun:
    """One pipeline execution as a runner sees it, with the methods to move it along."""

    pipeline_name: str
    arn: str
    definition: str
    parameters: dict[str, str]
    execution: Any = field(repr=False)
    #: The pipeline's RoleArn (CreatePipeline/UpdatePipeline): SageMaker Pipelines makes the
    #: execution's own calls (Create*Job with iam:PassRole, Std:JsonGet's S3 reads) as this role.
    role_arn: str = ""

    @property
    def execution_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def status(self) -> str:
        return str(self.execution.pipeline_execution_status)

    def set_status(self, status: str, failure_reason: str | None = None) -> None:
        self.execution.pipeline_execution_status = status
        self.execution.pipeline_execution_failure_reason = failure_reason
        self.execution.last_modified_time = utcnow()

    def set_step(
        self,
        name: str,
        status: str,
        *,
        step_type: str = "Processing",
        failure_reason: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Add or update a step as ``ListPipelineExecutionSteps`` reports it."""
        steps: list[dict[str, Any]] = self.execution.__dict__.setdefault("steps", [])
        step = next((s for s in steps if s["StepName"] == name), None)
        now = utcnow()
        if step is None:
            step = {
                "StepName": name,
                "StepDisplayName": name,
                "StepType": step_type,
                "StartTime": now,
                "AttemptCount": 1,
            }
            steps.append(step)
        step["StepStatus"] = status
        if status in {"Succeeded", "Failed", "Stopped"}:
            step["EndTime"] = now
        if failure_reason is not None:
            step["FailureReason"] = failure_reason
        if metadata is not None:
            step["Metadata"] = metadata

    @property
    def stop_requested(self) -> bool:
        return bool(self.execution.__dict__.get("stop_requested", False))


PipelineRunner = Callable[[PipelineRun], None]


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    #: What a pipeline execution does (``set_pipeline_runner``).
    runner: PipelineRunner | None = None
    #: Each endpoint transition's duration, when set (``set_endpoint_transition_seconds``).
    endpoint_seconds: float | None = None


_STATE = _State()


def set_pipeline_runner(runner: PipelineRunner | None) -> None:
    """Decide what started pipeline executions do (``None``: moto's default, Succeeded at once)."""
    _STATE.runner = runner


def _start_pipeline_execution(original: Callable[..., dict[str, str]]) -> Callable[..., Any]:
    def start(
        self: Any,
        pipeline_name: str,
        display_name: str,
        parameters: Any,
        description: str,
        parallelism: Any,
        client_request_token: str,
    ) -> dict[str, str]:
        pipeline = sm_models.get_pipeline_from_name(self.pipelines, pipeline_name)
        if client_request_token:
            # AWS: the same token returns the execution it already started.
            for arn, execution in pipeline.pipeline_executions.items():
                if execution.client_request_token == client_request_token:
                    return {"PipelineExecutionArn": arn}
        result = original(
            self,
            pipeline_name,
            display_name,
            parameters,
            description,
            parallelism,
            client_request_token,
        )
        arn = result["PipelineExecutionArn"]
        execution = pipeline.pipeline_executions[arn]
        execution.__dict__["steps"] = []
        runner = _STATE.runner
        if runner is not None:
            execution.pipeline_execution_status = "Executing"
            runner(
                PipelineRun(
                    pipeline_name=pipeline.pipeline_name,
                    arn=arn,
                    definition=pipeline.pipeline_definition,
                    parameters={p["Name"]: p["Value"] for p in (parameters or [])},
                    execution=execution,
                    role_arn=str(pipeline.role_arn or ""),
                )
            )
        return result

    return start


def _describe_pipeline_execution(original: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    def describe(self: Any, pipeline_execution_arn: str) -> dict[str, Any]:
        result = original(self, pipeline_execution_arn)
        execution = sm_models.get_pipeline_execution_from_arn(
            self.pipelines, pipeline_execution_arn
        )
        result.pop("FailureReason", None)
        if execution.pipeline_execution_failure_reason:
            result["FailureReason"] = execution.pipeline_execution_failure_reason
        return result

    return describe


def _list_pipeline_execution_steps(self: Any) -> ActionResult:
    arn = self._get_param("PipelineExecutionArn")
    execution = sm_models.get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)
    steps = list(execution.__dict__.get("steps", []))
    if self._get_param("SortOrder", "Descending") == "Descending":
        steps.reverse()
    return ActionResult({"PipelineExecutionSteps": steps})


def _stop_pipeline_execution(self: Any) -> ActionResult:
    arn = self._get_param("PipelineExecutionArn")
    execution = sm_models.get_pipeline_execution_from_arn(self.sagemaker_backend.pipelines, arn)
    if execution.pipeline_execution_status not in TERMINAL_PIPELINE_STATUSES:
        execution.__dict__["stop_requested"] = True
        # A runner that watches ``stop_requested`` finishes the stop; without one, stop now.
        execution.pipeline_execution_status = "Stopping" if _STATE.runner else "Stopped"
        execution.last_modified_time = utcnow()
    return ActionResult({"PipelineExecutionArn": arn})


# --------------------------------------------------------------------------- 4. endpoints

# UpdateEndpoint (moto lacks it) and the endpoint status machine: see "endpoint lifecycle" below.


def _delete_model_package_group(self: Any) -> ActionResult:
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("ModelPackageGroupName")
    if name.startswith("arn:"):
        name = name.rsplit("/", 1)[-1]
    if backend.model_package_groups.pop(name, None) is None:
        raise ValidationError(f"Model Package Group {name} does not exist.")
    return ActionResult({})


# --------------------------------------------------------------------------- model packages


def _update_model_package(original: Callable[..., str]) -> Callable[..., str]:
    """AWS leaves the fields a request omits unchanged; moto resets them to None."""

    def update(
        self: Any,
        model_package_arn: str,
        model_approval_status: str | None,
        approval_description: str | None,
        customer_metadata_properties: Any,
        customer_metadata_properties_to_remove: list[str] | None,
        additional_inference_specifications_to_add: Any,
    ) -> str:
        name = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(name)
        if package is not None:
            if model_approval_status is None:
                model_approval_status = package.model_approval_status
            if approval_description is None:
                approval_description = package.approval_description
            merged = dict(package.customer_metadata_properties or {})
            merged.update(customer_metadata_properties or {})
            customer_metadata_properties = merged
        return original(
            self,
            model_package_arn,
            model_approval_status,
            approval_description,
            customer_metadata_properties,
            customer_metadata_properties_to_remove or [],
            additional_inference_specifications_to_add,
        )

    return update


# --------------------------------------------------------------------------- endpoint lifecycle

# moto makes an endpoint InService the moment it is created, whatever its model, and deletes it
# at once. SageMaker's endpoints follow a status machine (DescribeEndpoint, "EndpointStatus":
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html):
#
#   CreateEndpoint ─► Creating ─┬─► InService ◄──────────────────────────────┐
#                               └─► Failed (FailureReason) ─► only DeleteEndpoint
#   UpdateEndpoint (InService only) ─► Updating ─┬─► InService (new config) ──┤
#                                                └─► RollingBack ────────────┘ (old config,
#                                                                     FailureReason kept)
#   DeleteEndpoint ─► Deleting ─► gone
#
# Each transition takes ``endpoint_transition_seconds()`` (``set_endpoint_transition_seconds`` or
# the ``EMULATOR_ENDPOINT_SECONDS`` variable; a few seconds by default), so callers' wait loops
# really wait. At the end of Creating/Updating the model is loaded as the container would load
# it (``served_model(serving_spec(...))``): a model that cannot be loaded makes the endpoint
# Failed (or rolls an update back) instead of serving 500s. Transitions are kept on the backend
# (``backend.endpoint_transitions``) and advanced whenever an endpoint is read or changed.

#: Seconds each endpoint transition takes when nothing else is configured.
DEFAULT_ENDPOINT_TRANSITION_SECONDS = 3.0
ENDPOINT_SECONDS_ENV = "EMULATOR_ENDPOINT_SECONDS"
#: Statuses in which an endpoint still serves its current config (an update loses no
#: availability: UpdateEndpoint's API reference, "there is no availability loss").
SERVING_ENDPOINT_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})
_endpoint_lifecycle_lock = threading.RLock()


def set_endpoint_transition_seconds(seconds: float | None) -> None:
    """How long Creating, Updating, RollingBack and Deleting last (``None``: env or default)."""
    _STATE.endpoint_seconds = seconds


def endpoint_transition_seconds() -> float:
    if _STATE.endpoint_seconds is not None:
        return _STATE.endpoint_seconds
    return float(os.environ.get(ENDPOINT_SECONDS_ENV, DEFAULT_ENDPOINT_TRANSITION_SECONDS))


@dataclass
class EndpointTransition:
    """An endpoint on its way to a new status: which config it deploys, and what it replaces."""

    status: str
    ends_at: float
    config_name: str
    previous_config: str | None = None
    failure_reason: str | None = None
    #: A guarded update (UpdateEndpoint with a DeploymentConfig): its traffic phases.
    deployment: Deployment | None = None


def _transitions(backend: Any) -> dict[str, EndpointTransition]:
    return backend.__dict__.setdefault("endpoint_transitions", {})


def _begin(backend: Any, endpoint: Any, transition: EndpointTransition) -> None:
    _transitions(backend)[endpoint.endpoint_name] = transition
    endpoint.endpoint_status = transition.status
    endpoint.last_modified_time = utcnow()


def _apply_config(backend: Any, endpoint: Any, config_name: str) -> None:
    config = backend.describe_endpoint_config(config_name)
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    endpoint.data_capture_config = config["DataCaptureConfig"]


def model_load_failure(backend: Any, endpoint: Any, config_name: str) -> str | None:
    """Why ``config_name``'s model cannot be served on ``endpoint`` (``None``: it loads).

    The wording follows the FailureReason SageMaker reports: a missing artifact is "Failed to
    download model data ..."; anything else fails the container's ping health check.
    """
    variant = "AllTraffic"
    try:
        spec = sagemaker_runtime.serving_spec(backend, endpoint.endpoint_name, config_name)
        variant = spec.variant_name
        sagemaker_runtime.served_model(spec, backend.account_id, backend.region_name)
    except FileNotFoundError as error:
        return (
            f"Failed to download model data for container of production variant {variant}: "
            f"{error}. Please ensure that there is an object located at the URL and that the "
            "role passed to CreateModel has permissions to download the object."
        )
    except Exception as error:  # the container could not load the model
        detail = getattr(error, "message", None) or str(error)
        return (
            f"The primary container for production variant {variant} did not pass the ping "
            f"health check ({type(error).__name__}: {detail}). Please check CloudWatch logs "
            "for this endpoint."
        )
    return None


def advance_endpoint(backend: Any, name: str, now: float | None = None) -> None:
    """Move ``name`` along its transitions that have run their time (it may disappear)."""
    with _endpoint_lifecycle_lock:
        now = time.monotonic() if now is None else now
        transitions = _transitions(backend)
        _roll_back_if_tripped(backend, name, now)
        while name in transitions and transitions[name].ends_at <= now:
            transition = transitions.pop(name)
            endpoint = backend.endpoints.get(name)
            if endpoint is None:
                return
            if transition.status == "Deleting":
                del backend.endpoints[name]
                _guardrails(backend).pop(name, None)
                return
            endpoint.last_modified_time = utcnow()
            if transition.deployment is not None and transition.deployment.step >= 0:
                _next_traffic_step(backend, endpoint, transition, transition.ends_at)
                continue
            if transition.status == "RollingBack":
                endpoint.endpoint_status = "InService"
                endpoint.failure_reason = transition.failure_reason
                continue
            reason = model_load_failure(backend, endpoint, transition.config_name)
            if reason is None and transition.deployment is not None:
                # The green fleet is up once its model has loaded (which takes real time here):
                # the first traffic step begins then (guardrails below).
                started = max(transition.ends_at, time.monotonic())
                _next_traffic_step(backend, endpoint, transition, started)
            elif reason is None:
                _apply_config(backend, endpoint, transition.config_name)
                endpoint.endpoint_status = "InService"
                endpoint.failure_reason = None
            elif transition.status == "Creating":
                endpoint.endpoint_status = "Failed"
                endpoint.failure_reason = reason
            else:
                # An update whose model does not load goes back to the config it replaced and
                # ends InService with a FailureReason (DescribeEndpoint: FailureReason is set
                # when "the status is InService but update operation fails"). DescribeEndpoint
                # names the way back RollingBack for weight/capacity updates; it is modelled for
                # every failed update, so callers' wait loops must handle it (the stricter case).
                _begin(
                    backend,
                    endpoint,
                    EndpointTransition(
                        "RollingBack",
                        transition.ends_at + endpoint_transition_seconds(),
                        str(transition.previous_config),
                        failure_reason=reason,
                    ),
                )


def _advance_all(backend: Any) -> None:
    for name in list(_transitions(backend)):
        advance_endpoint(backend, name)


def _endpoint_arn(backend: Any, name: str) -> str:
    return str(sm_models.FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name))


def _create_endpoint_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
        from moto.sagemaker.exceptions import ValidationError

        with _endpoint_lifecycle_lock:
            advance_endpoint(self, endpoint_name)
            if endpoint_name in self.endpoints:
                # Names are unique per account and region; moto silently replaced the endpoint.
                # AWS's message, as the aws provider reports it (hashicorp/terraform-provider-aws
                # and aws/sagemaker-python-sdk#101).
                arn = _endpoint_arn(self, endpoint_name)
                raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
            endpoint = original(self, endpoint_name, endpoint_config_name, tags)
            _guardrails(self).pop(endpoint_name, None)
            seconds = endpoint_transition_seconds()
            _begin(
                self,
                endpoint,
                EndpointTransition("Creating", time.monotonic() + seconds, endpoint_config_name),
            )
            return endpoint

    return create


def _describe_endpoint_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(self: Any, endpoint_name: str) -> Any:
        with _endpoint_lifecycle_lock:
            advance_endpoint(self, endpoint_name)
            return _describe_with_deployment(self, endpoint_name, original(self, endpoint_name))

    return describe


def _list_endpoints_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_endpoints(self: Any, *args: Any, **kwargs: Any) -> Any:
        _advance_all(self)
        return original(self, *args, **kwargs)

    return list_endpoints


def _delete_endpoint_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete(self: Any, endpoint_name: str) -> None:
        with _endpoint_lifecycle_lock:
            advance_endpoint(self, endpoint_name)
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None:
                original(self, endpoint_name)  # AWS's "Could not find endpoint" ValidationException
                return
            if endpoint.endpoint_status == "Deleting":
                return
            # Any status may be deleted; a Failed endpoint may *only* be deleted.
            seconds = endpoint_transition_seconds()
            _begin(
                self,
                endpoint,
                EndpointTransition(
                    "Deleting", time.monotonic() + seconds, endpoint.endpoint_config_name
                ),
            )

    return delete


def update_endpoint_refusal(status: str, arn: str) -> str | None:
    """Why UpdateEndpoint is refused in ``status`` (``None``: it is allowed).

    UpdateEndpoint is allowed only on an InService endpoint; "DeleteEndpoint is the only
    operation that can be performed on a failed endpoint" (DescribeEndpoint, EndpointStatus).
    The wording for in-progress endpoints is the one AWS users report; for Failed the exact
    wording is not documented, so the stricter refusal is modelled with the same form.
    """
    if status == "InService":
        return None
    if status == "Failed":
        return f'Cannot update failed endpoint "{arn}".'
    return f'Cannot update in-progress endpoint "{arn}".'


# --------------------------------------------------------------------------- deployment guardrails

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


@dataclass(frozen=True)
class TrafficStep:
    """One phase of a guarded update: the share of requests green serves, for how long."""

    share: float
    seconds: float
    #: "canary", "linear step" or "full" (as VariantStatus messages name the capacity).
    capacity: str
    #: The DeploymentConfig field the bake's length comes from.
    wait_field: str = "WaitIntervalInSeconds"


@dataclass
class Deployment:
    """A guarded update under way: where traffic goes and which alarms can stop it."""

    deployment_config: dict[str, Any]
    new_config: str
    old_config: str
    steps: list[TrafficStep]
    alarms: list[str]
    started: Any
    #: The traffic step under way (-1: the green fleet is being provisioned).
    step: int = -1
    step_started: Any = None
    #: Requests routed in this step (the deterministic router's counter).
    requests: int = 0
    #: The alarm that tripped, once one has.
    tripped: str | None = None

    @property
    def green_share(self) -> float:
        return self.steps[self.step].share if self.step >= 0 else 0.0


@dataclass
class EndpointGuardrails:
    """What an endpoint keeps of its guarded updates beyond a single update."""

    #: DescribeEndpoint's LastDeploymentConfig ("The most recent deployment configuration").
    last_deployment_config: dict[str, Any] | None = None
    #: Since a guarded update first routed traffic to a green fleet, invocations also carry the
    #: EndpointConfigName dimension ("CloudWatch publishes the metrics with the dimension
    #: EndpointConfigName:{New-Ep-Config} after the new fleet starts receiving traffic, and
    #: these metrics last even after the deployment is complete":
    #: deployment-guardrails-configuration.html).
    config_dimension: bool = False


def _guardrails(backend: Any) -> dict[str, EndpointGuardrails]:
    return backend.__dict__.setdefault("endpoint_guardrails", {})


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
            "(emulator/aws/sagemaker.py); use BlueGreenUpdatePolicy."
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


def _plan_deployment(
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


def _roll_back(backend: Any, endpoint: Any, transition: EndpointTransition, at: float) -> None:
    deployment = transition.deployment
    assert deployment is not None and deployment.tripped is not None
    _begin(
        backend,
        endpoint,
        EndpointTransition(
            "RollingBack",
            at + endpoint_transition_seconds(),
            deployment.old_config,
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


def _next_traffic_step(
    backend: Any, endpoint: Any, transition: EndpointTransition, start: float
) -> None:
    """The step after ``transition``'s begins at ``start`` (monotonic), or the update ends."""
    deployment = transition.deployment
    assert deployment is not None
    step = deployment.step + 1
    if step == len(deployment.steps):
        _apply_config(backend, endpoint, deployment.new_config)
        endpoint.endpoint_status = "InService"
        endpoint.failure_reason = None
        return
    deployment.step, deployment.requests = step, 0
    deployment.step_started = _wall_clock(start)
    _guardrails(backend).setdefault(
        endpoint.endpoint_name, EndpointGuardrails()
    ).config_dimension = True
    _begin(
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
        _roll_back(backend, endpoint, _transitions(backend)[endpoint.endpoint_name], start)


def _roll_back_if_tripped(backend: Any, name: str, now: float) -> None:
    transition = _transitions(backend).get(name)
    endpoint = backend.endpoints.get(name)
    if transition is None or endpoint is None or transition.deployment is None:
        return
    if transition.deployment.tripped is not None and transition.status == "Updating":
        _roll_back(backend, endpoint, transition, now)


def _alarm_state_changed(alarm: Any, old_state: str) -> None:
    """CloudWatch listener: an auto-rollback alarm entering ALARM during a step rolls back."""
    if alarm.state_value != "ALARM":
        return
    account, region = str(alarm.alarm_arn).split(":")[4], alarm.region_name
    backend = moto_backend(account, region)
    if backend is None:
        return
    with _endpoint_lifecycle_lock:
        for name, transition in list(_transitions(backend).items()):
            deployment = transition.deployment
            if deployment is None or alarm.name not in deployment.alarms:
                continue
            advance_endpoint(backend, name)  # the step under way now, not when last looked at
            current = _transitions(backend).get(name)
            if current is None or current.deployment is not deployment or deployment.step < 0:
                continue
            if current.status == "Updating" and deployment.tripped is None:
                deployment.tripped = str(alarm.name)
                advance_endpoint(backend, name)


def route_invocation(backend: Any, endpoint_name: str) -> str:
    """The endpoint config (blue or green fleet) that serves the next request to the endpoint."""
    with _endpoint_lifecycle_lock:
        endpoint = backend.endpoints.get(endpoint_name)
        transition = _transitions(backend).get(endpoint_name)
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
    state = _guardrails(backend).get(endpoint_name)
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


def _describe_with_deployment(backend: Any, name: str, described: dict[str, Any]) -> dict[str, Any]:
    """DescribeEndpoint's PendingDeploymentSummary ("only returned when the endpoint is creating
    or updating with a new endpoint configuration") and LastDeploymentConfig."""
    described = dict(described)
    transition = _transitions(backend).get(name)
    if transition is not None and transition.status in {"Creating", "Updating"}:
        described["PendingDeploymentSummary"] = pending_deployment_summary(backend, transition)
    state = _guardrails(backend).get(name)
    if state is not None and state.last_deployment_config is not None:
        described["LastDeploymentConfig"] = state.last_deployment_config
    return described


def _update_endpoint(self: Any) -> ActionResult:
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    requested = self._get_param("DeploymentConfig")
    with _endpoint_lifecycle_lock:
        backend.describe_endpoint(name)  # advances; ValidationException when it does not exist
        backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[name]
        refusal = update_endpoint_refusal(endpoint.endpoint_status, endpoint.arn)
        if refusal is not None:
            raise ValidationError(refusal)
        state = _guardrails(backend).setdefault(name, EndpointGuardrails())
        if requested is None and self._get_param("RetainDeploymentConfig"):
            # "set RetainDeploymentConfig to True to keep the DeploymentConfig options" (canary
            # guide, "How to update an endpoint with an existing blue/green update policy").
            requested = state.last_deployment_config
        deployment = None
        if requested is not None:
            deployment = _plan_deployment(backend, endpoint, config_name, requested)
            state.last_deployment_config = requested
        seconds = endpoint_transition_seconds()
        _begin(
            backend,
            endpoint,
            EndpointTransition(
                "Updating",
                time.monotonic() + seconds,
                config_name,
                previous_config=endpoint.endpoint_config_name,
                deployment=deployment,
            ),
        )
    return ActionResult({"EndpointArn": endpoint.arn})


def model_package_event(package: Any) -> dict[str, Any]:
    """The PutEvents entry of SageMaker's "Model Package State Change" for ``package``."""
    created = package.creation_time
    detail = {
        "ModelPackageGroupName": package.model_package_group_name,
        "ModelPackageVersion": package.model_package_version,
        "ModelPackageArn": package.arn,
        "ModelPackageName": package.model_package_name,
        "ModelApprovalStatus": package.model_approval_status,
        "ModelPackageStatus": package.model_package_status,
        "CreationTime": int(created.timestamp() * 1000) if created else None,
    }
    return {
        "Source": "aws.sagemaker",
        "DetailType": MODEL_PACKAGE_DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "Resources": [package.arn],
    }


def _emit_model_package_event(backend: Any, arn: str) -> None:
    from moto.events.models import events_backends

    try:
        package = backend.model_packages[arn]
        events = events_backends[backend.account_id][backend.region_name]
        events.put_events([model_package_event(package)])
    except Exception:  # SageMaker emits asynchronously: the API call itself never fails
        LOGGER.exception("Model Package State Change for %s not emitted", arn)


def _create_model_package_emits(original: Callable[..., str]) -> Callable[..., str]:
    def create(self: Any, *args: Any, **kwargs: Any) -> str:
        arn = original(self, *args, **kwargs)
        _emit_model_package_event(self, arn)
        return arn

    return create


def _update_model_package_emits(original: Callable[..., str]) -> Callable[..., str]:
    def update(self: Any, model_package_arn: str, *args: Any, **kwargs: Any) -> str:
        key = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(key)
        before = package.model_approval_status if package is not None else None
        arn = original(self, model_package_arn, *args, **kwargs)
        if self.model_packages[arn].model_approval_status != before:
            _emit_model_package_event(self, arn)
        return arn

    return update


def moto_backend(account: str, region: str) -> Any | None:
    """The in-process SageMaker backend of ``account`` and ``region`` (``None`` if it has none),
    for code outside this package that must see or correct moto's objects (the local
    pipeline executor gives moto's jobs their real state)."""
    try:
        return sm_models.sagemaker_backends[account][region]
    except KeyError:
        return None


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """Pipeline executions, model packages and their events, the endpoint status machine."""
    backend = sm_models.SageMakerModelBackend
    backend.start_pipeline_execution = _start_pipeline_execution(  # type: ignore[method-assign]
        backend.start_pipeline_execution
    )
    backend.describe_pipeline_execution = _describe_pipeline_execution(  # type: ignore[method-assign]
        backend.describe_pipeline_execution
    )
    backend.update_model_package = _update_model_package(  # type: ignore[method-assign]
        backend.update_model_package
    )
    SageMakerResponse.list_pipeline_execution_steps = _list_pipeline_execution_steps  # type: ignore[attr-defined]
    SageMakerResponse.stop_pipeline_execution = _stop_pipeline_execution  # type: ignore[attr-defined]
    SageMakerResponse.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.delete_model_package_group = _delete_model_package_group  # type: ignore[attr-defined]
    backend.create_endpoint = _create_endpoint_lifecycle(backend.create_endpoint)  # type: ignore[method-assign]
    backend.describe_endpoint = _describe_endpoint_lifecycle(backend.describe_endpoint)  # type: ignore[method-assign]
    backend.list_endpoints = _list_endpoints_lifecycle(backend.list_endpoints)  # type: ignore[method-assign]
    backend.delete_endpoint = _delete_endpoint_lifecycle(backend.delete_endpoint)  # type: ignore[method-assign]
    backend.create_model_package = _create_model_package_emits(  # type: ignore[method-assign]
        backend.create_model_package
    )
    backend.update_model_package = _update_model_package_emits(  # type: ignore[method-assign]
        backend.update_model_package
    )
    cloudwatch.add_state_listener(_alarm_state_changed)


def reset() -> None:
    """No pipeline runner; endpoint transitions take the configured default again."""
    _STATE.runner = None
    _STATE.endpoint_seconds = None
