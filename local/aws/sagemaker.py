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
   which moto lacks, only from InService).

Tested in ``tests/integration/test_aws_sagemaker.py`` (pipelines, model packages),
``test_endpoint_lifecycle.py`` and ``test_event_delivery.py`` (model package events).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse

from local.aws import core, sagemaker_runtime

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
    saved = endpoint.endpoint_config_name
    endpoint.endpoint_config_name = config_name
    variant = "AllTraffic"
    try:
        spec = sagemaker_runtime.serving_spec(backend, endpoint.endpoint_name)
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
    finally:
        endpoint.endpoint_config_name = saved
    return None


def advance_endpoint(backend: Any, name: str, now: float | None = None) -> None:
    """Move ``name`` along its transitions that have run their time (it may disappear)."""
    with _endpoint_lifecycle_lock:
        now = time.monotonic() if now is None else now
        transitions = _transitions(backend)
        while name in transitions and transitions[name].ends_at <= now:
            transition = transitions.pop(name)
            endpoint = backend.endpoints.get(name)
            if endpoint is None:
                return
            if transition.status == "Deleting":
                del backend.endpoints[name]
                return
            endpoint.last_modified_time = utcnow()
            if transition.status == "RollingBack":
                endpoint.endpoint_status = "InService"
                endpoint.failure_reason = transition.failure_reason
                continue
            reason = model_load_failure(backend, endpoint, transition.config_name)
            if reason is None:
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
        advance_endpoint(self, endpoint_name)
        return original(self, endpoint_name)

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


def _update_endpoint(self: Any) -> ActionResult:
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    with _endpoint_lifecycle_lock:
        backend.describe_endpoint(name)  # advances; ValidationException when it does not exist
        backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[name]
        refusal = update_endpoint_refusal(endpoint.endpoint_status, endpoint.arn)
        if refusal is not None:
            raise ValidationError(refusal)
        seconds = endpoint_transition_seconds()
        _begin(
            backend,
            endpoint,
            EndpointTransition(
                "Updating",
                time.monotonic() + seconds,
                config_name,
                previous_config=endpoint.endpoint_config_name,
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


def reset() -> None:
    """No pipeline runner; endpoint transitions take the configured default again."""
    _STATE.runner = None
    _STATE.endpoint_seconds = None
