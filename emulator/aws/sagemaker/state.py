"""What the SageMaker extension keeps about endpoints, and where moto keeps SageMaker.

The endpoint status machine (``endpoints.py``) and the deployment guardrails
(``guardrails.py``) both read and move an endpoint's transitions; InvokeEndpoint
(``emulator/aws/sagemaker_runtime.py``) reads which statuses serve. Their shared state lives
here, on moto's backend (``backend.endpoint_transitions``, ``backend.endpoint_guardrails``), so
each account and region keeps its own and moto's reset forgets it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models


def moto_backend(account: str, region: str) -> Any | None:
    """The in-process SageMaker backend of ``account`` and ``region`` (``None`` if it has none),
    for code outside this package that must see or correct moto's objects (the local
    pipeline executor gives moto's jobs their real state)."""
    try:
        return sm_models.sagemaker_backends[account][region]
    except KeyError:
        return None


#: Seconds each endpoint transition takes when nothing else is configured.
DEFAULT_ENDPOINT_TRANSITION_SECONDS = 3.0
ENDPOINT_SECONDS_ENV = "EMULATOR_ENDPOINT_SECONDS"
#: Statuses in which an endpoint still serves its current config (an update loses no
#: availability: UpdateEndpoint's API reference, "there is no availability loss").
SERVING_ENDPOINT_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})
#: Held while an endpoint's status is read or moved (requests and the alarm listener race).
LIFECYCLE_LOCK = threading.RLock()


@dataclass
class _Settings:
    """What this module keeps between requests; ``reset_settings()`` starts it afresh."""

    #: Each endpoint transition's duration, when set (``set_endpoint_transition_seconds``).
    endpoint_seconds: float | None = None


_SETTINGS = _Settings()


def set_endpoint_transition_seconds(seconds: float | None) -> None:
    """How long Creating, Updating, RollingBack and Deleting last (``None``: env or default)."""
    _SETTINGS.endpoint_seconds = seconds


def endpoint_transition_seconds() -> float:
    if _SETTINGS.endpoint_seconds is not None:
        return _SETTINGS.endpoint_seconds
    return float(os.environ.get(ENDPOINT_SECONDS_ENV, DEFAULT_ENDPOINT_TRANSITION_SECONDS))


def reset_settings() -> None:
    """Endpoint transitions take the configured default again."""
    _SETTINGS.endpoint_seconds = None


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
class EndpointTransition:
    """An endpoint on its way to a new status: which config it deploys, and what it replaces."""

    status: str
    ends_at: float
    config_name: str
    #: The config it replaces (Updating), or abandons (RollingBack): torn down when it ends.
    previous_config: str | None = None
    failure_reason: str | None = None
    #: A guarded update (UpdateEndpoint with a DeploymentConfig): its traffic phases.
    deployment: Deployment | None = None


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


def endpoint_transitions(backend: Any) -> dict[str, EndpointTransition]:
    return backend.__dict__.setdefault("endpoint_transitions", {})


def endpoint_guardrails(backend: Any) -> dict[str, EndpointGuardrails]:
    return backend.__dict__.setdefault("endpoint_guardrails", {})


def begin(backend: Any, endpoint: Any, transition: EndpointTransition) -> None:
    endpoint_transitions(backend)[endpoint.endpoint_name] = transition
    endpoint.endpoint_status = transition.status
    endpoint.last_modified_time = utcnow()


def apply_config(backend: Any, endpoint: Any, config_name: str) -> None:
    config = backend.describe_endpoint_config(config_name)
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    endpoint.data_capture_config = config["DataCaptureConfig"]


def config_in_use(backend: Any, config_name: str) -> bool:
    """Whether an endpoint of ``backend`` serves ``config_name``, or a transition of one still
    involves it (the config it deploys, replaces, or a guarded update's two fleets)."""
    for endpoint in list(backend.endpoints.values()):
        if endpoint.endpoint_config_name == config_name:
            return True
    for transition in list(endpoint_transitions(backend).values()):
        deployment = transition.deployment
        fleets = {transition.config_name, transition.previous_config}
        if deployment is not None:
            fleets |= {deployment.old_config, deployment.new_config}
        if config_name in fleets:
            return True
    return False
