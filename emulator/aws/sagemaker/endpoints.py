"""SageMaker's endpoint status machine, and UpdateEndpoint (which moto lacks).

Endpoints follow SageMaker's status machine (Creating, Updating, RollingBack, Deleting take
``endpoint_transition_seconds()``; a model that cannot be loaded ends Failed; UpdateEndpoint
only from InService). UpdateEndpoint's ``DeploymentConfig`` runs the deployment guardrails
(``guardrails.py``). Tested in ``emulator/tests/test_endpoint_lifecycle.py`` and
``test_deployment_guardrails.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse

from emulator.aws import cloudwatch
from emulator.aws.sagemaker import guardrails, hosting
from emulator.aws.sagemaker.state import (
    LIFECYCLE_LOCK,
    EndpointGuardrails,
    EndpointTransition,
    apply_config,
    begin,
    endpoint_guardrails,
    endpoint_transition_seconds,
    endpoint_transitions,
    moto_backend,
)

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


def model_load_failure(backend: Any, endpoint: Any, config_name: str) -> str | None:
    """Why ``config_name``'s model cannot be served on ``endpoint`` (``None``: it loads).

    The wording follows the FailureReason SageMaker reports: a missing artifact is "Failed to
    download model data ..."; anything else fails the container's ping health check.
    """
    variant = "AllTraffic"
    try:
        spec = hosting.serving_spec(backend, endpoint.endpoint_name, config_name)
        variant = spec.variant_name
        hosting.served_model(spec, backend.account_id, backend.region_name)
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
    with LIFECYCLE_LOCK:
        now = time.monotonic() if now is None else now
        transitions = endpoint_transitions(backend)
        guardrails.roll_back_if_tripped(backend, name, now)
        while name in transitions and transitions[name].ends_at <= now:
            transition = transitions.pop(name)
            endpoint = backend.endpoints.get(name)
            if endpoint is None:
                return
            if transition.status == "Deleting":
                del backend.endpoints[name]
                endpoint_guardrails(backend).pop(name, None)
                hosting.retire_fleet(backend, endpoint.endpoint_config_name)
                return
            endpoint.last_modified_time = utcnow()
            if transition.deployment is not None and transition.deployment.step >= 0:
                guardrails.next_traffic_step(backend, endpoint, transition, transition.ends_at)
                continue
            if transition.status == "RollingBack":
                endpoint.endpoint_status = "InService"
                endpoint.failure_reason = transition.failure_reason
                hosting.retire_fleet(backend, transition.previous_config)  # the abandoned one
                continue
            reason = model_load_failure(backend, endpoint, transition.config_name)
            if reason is None and transition.deployment is not None:
                # The green fleet is up once its model has loaded (which takes real time here):
                # the first traffic step begins then (guardrails below).
                started = max(transition.ends_at, time.monotonic())
                guardrails.next_traffic_step(backend, endpoint, transition, started)
            elif reason is None:
                apply_config(backend, endpoint, transition.config_name)
                endpoint.endpoint_status = "InService"
                endpoint.failure_reason = None
                hosting.retire_fleet(backend, transition.previous_config)
            elif transition.status == "Creating":
                endpoint.endpoint_status = "Failed"
                endpoint.failure_reason = reason
            else:
                # An update whose model does not load goes back to the config it replaced and
                # ends InService with a FailureReason (DescribeEndpoint: FailureReason is set
                # when "the status is InService but update operation fails"). DescribeEndpoint
                # names the way back RollingBack for weight/capacity updates; it is modelled for
                # every failed update, so callers' wait loops must handle it (the stricter case).
                begin(
                    backend,
                    endpoint,
                    EndpointTransition(
                        "RollingBack",
                        transition.ends_at + endpoint_transition_seconds(),
                        str(transition.previous_config),
                        # A RollingBack transition's previous config is the one abandoned.
                        previous_config=transition.config_name,
                        failure_reason=reason,
                    ),
                )


def _advance_all(backend: Any) -> None:
    for name in list(endpoint_transitions(backend)):
        advance_endpoint(backend, name)


def _endpoint_arn(backend: Any, name: str) -> str:
    return str(sm_models.FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name))


def _create_endpoint_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any) -> Any:
        from moto.sagemaker.exceptions import ValidationError

        with LIFECYCLE_LOCK:
            advance_endpoint(self, endpoint_name)
            if endpoint_name in self.endpoints:
                # Names are unique per account and region; moto silently replaced the endpoint.
                # AWS's message, as the aws provider reports it (hashicorp/terraform-provider-aws
                # and aws/sagemaker-python-sdk#101).
                arn = _endpoint_arn(self, endpoint_name)
                raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
            endpoint = original(self, endpoint_name, endpoint_config_name, tags)
            endpoint_guardrails(self).pop(endpoint_name, None)
            seconds = endpoint_transition_seconds()
            begin(
                self,
                endpoint,
                EndpointTransition("Creating", time.monotonic() + seconds, endpoint_config_name),
            )
            return endpoint

    return create


def _describe_endpoint_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(self: Any, endpoint_name: str) -> Any:
        with LIFECYCLE_LOCK:
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
        with LIFECYCLE_LOCK:
            advance_endpoint(self, endpoint_name)
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None:
                original(self, endpoint_name)  # AWS's "Could not find endpoint" ValidationException
                return
            if endpoint.endpoint_status == "Deleting":
                return
            # Any status may be deleted; a Failed endpoint may *only* be deleted.
            seconds = endpoint_transition_seconds()
            begin(
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


def _describe_with_deployment(backend: Any, name: str, described: dict[str, Any]) -> dict[str, Any]:
    """DescribeEndpoint's PendingDeploymentSummary ("only returned when the endpoint is creating
    or updating with a new endpoint configuration") and LastDeploymentConfig."""
    described = dict(described)
    transition = endpoint_transitions(backend).get(name)
    if transition is not None and transition.status in {"Creating", "Updating"}:
        described["PendingDeploymentSummary"] = guardrails.pending_deployment_summary(
            backend, transition
        )
    state = endpoint_guardrails(backend).get(name)
    if state is not None and state.last_deployment_config is not None:
        described["LastDeploymentConfig"] = state.last_deployment_config
    return described


def _update_endpoint(self: Any) -> ActionResult:
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    requested = self._get_param("DeploymentConfig")
    with LIFECYCLE_LOCK:
        backend.describe_endpoint(name)  # advances; ValidationException when it does not exist
        backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[name]
        refusal = update_endpoint_refusal(endpoint.endpoint_status, endpoint.arn)
        if refusal is not None:
            raise ValidationError(refusal)
        state = endpoint_guardrails(backend).setdefault(name, EndpointGuardrails())
        if requested is None and self._get_param("RetainDeploymentConfig"):
            # "set RetainDeploymentConfig to True to keep the DeploymentConfig options" (canary
            # guide, "How to update an endpoint with an existing blue/green update policy").
            requested = state.last_deployment_config
        deployment = None
        if requested is not None:
            deployment = guardrails.plan_deployment(backend, endpoint, config_name, requested)
            state.last_deployment_config = requested
        seconds = endpoint_transition_seconds()
        begin(
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


def _alarm_state_changed(alarm: Any, old_state: str) -> None:
    """CloudWatch listener: an auto-rollback alarm entering ALARM during a step rolls back."""
    if alarm.state_value != "ALARM":
        return
    account, region = str(alarm.alarm_arn).split(":")[4], alarm.region_name
    backend = moto_backend(account, region)
    if backend is None:
        return
    with LIFECYCLE_LOCK:
        for name, transition in list(endpoint_transitions(backend).items()):
            deployment = transition.deployment
            if deployment is None or alarm.name not in deployment.alarms:
                continue
            advance_endpoint(backend, name)  # the step under way now, not when last looked at
            current = endpoint_transitions(backend).get(name)
            if current is None or current.deployment is not deployment or deployment.step < 0:
                continue
            if current.status == "Updating" and deployment.tripped is None:
                deployment.tripped = str(alarm.name)
                advance_endpoint(backend, name)


def install() -> None:
    """The status machine on moto's endpoint methods; UpdateEndpoint; the alarm listener."""
    backend = sm_models.SageMakerModelBackend
    SageMakerResponse.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    backend.create_endpoint = _create_endpoint_lifecycle(backend.create_endpoint)  # type: ignore[method-assign]
    backend.describe_endpoint = _describe_endpoint_lifecycle(backend.describe_endpoint)  # type: ignore[method-assign]
    backend.list_endpoints = _list_endpoints_lifecycle(backend.list_endpoints)  # type: ignore[method-assign]
    backend.delete_endpoint = _delete_endpoint_lifecycle(backend.delete_endpoint)  # type: ignore[method-assign]
    cloudwatch.add_state_listener(_alarm_state_changed)
