"""``InvokeEndpoint`` answers with the deployed model (moto's ``sagemakerruntime`` service).

The endpoint's model is served through the XGBoost 1.7-1 container's own serving stack
(``emulator/aws/sagemaker/hosting.py``); AWS's request limits (6 MB body, ``ContentType``) are
enforced, a non-200 answer is a ``ModelError``, and only an endpoint whose status serves
(``SERVING_ENDPOINT_STATUSES``) is reached. Each invocation records SageMaker's documented
invocation metrics (AWS/SageMaker: Invocations, Invocation4XXErrors, Invocation5XXErrors,
InvocationsPerInstance, ModelLatency, OverheadLatency) in CloudWatch, whose alarms evaluate them
(``emulator/aws/cloudwatch.py``); ``set_model_latency`` (or ``$EMULATOR_MODEL_LATENCY_SECONDS``)
makes a model (or one fleet) slow on purpose. During a guarded update
(``guardrails.route_invocation``) a request reaches the old or the new fleet. Tested in
``emulator/tests/test_invoke_endpoint.py``, ``test_endpoint_metrics.py`` and
``test_deployment_guardrails.py``. An answered invocation is captured as the endpoint config's
``DataCaptureConfig`` says (``emulator/aws/sagemaker/capture.py``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.sagemaker import models as sm_models
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from emulator.aws import cloudwatch, core
from emulator.aws.sagemaker import capture, endpoints, guardrails, hosting
from emulator.aws.sagemaker.state import SERVING_ENDPOINT_STATUSES


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    #: Injected model latency in seconds, by endpoint name (``set_model_latency``).
    model_latency: dict[str, float] = field(default_factory=dict)


_STATE = _State()

# InvokeEndpoint's request constraints, from botocore's service model
# (botocore/data/sagemaker-runtime/2017-05-13/service-2.json): Body is a blob of at most
# 6291456 bytes (6 MB, the documented payload limit), ContentType and Accept are strings of at
# most 1024 characters matching \p{ASCII}*, EndpointName matches ^[a-zA-Z0-9](-*[a-zA-Z0-9])* and
# has at most 63 characters. A breach is the front door's ValidationError (400).
MAX_PAYLOAD_BYTES = 6291456
MAX_HEADER_LENGTH = 1024
ENDPOINT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
MAX_ENDPOINT_NAME_LENGTH = 63


def validate_invocation(
    endpoint_name: str, body: bytes, content_type: str | None, accept: str | None
) -> None:
    """InvokeEndpoint's request constraints (botocore's model, see MAX_PAYLOAD_BYTES)."""
    if len(endpoint_name) > MAX_ENDPOINT_NAME_LENGTH or not ENDPOINT_NAME_PATTERN.fullmatch(
        endpoint_name
    ):
        raise hosting.InvocationValidationError(
            f"1 validation error detected: Value '{endpoint_name}' at 'endpointName' failed to "
            f"satisfy constraint: Member must satisfy regular expression pattern: "
            f"^[a-zA-Z0-9](-*[a-zA-Z0-9])* and length <= {MAX_ENDPOINT_NAME_LENGTH}"
        )
    if len(body) > MAX_PAYLOAD_BYTES:
        raise hosting.InvocationValidationError(
            f"1 validation error detected: Value at 'body' failed to satisfy constraint: Member "
            f"must have length less than or equal to {MAX_PAYLOAD_BYTES} (got {len(body)} bytes)"
        )
    for member, value in (("contentType", content_type), ("accept", accept)):
        if value is not None and (len(value) > MAX_HEADER_LENGTH or not value.isascii()):
            raise hosting.InvocationValidationError(
                f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_HEADER_LENGTH} and satisfy "
                r"regular expression pattern: \p{ASCII}*"
            )


def invoke_model(
    served: hosting.ServedModel,
    body: bytes | str,
    content_type: str | None,
    accept: str | None,
    delay_seconds: float = 0.0,
) -> hosting.ContainerAnswer:
    """One request through the container's serving stack; the container's status and type.

    ``delay_seconds`` makes the model that much slower to answer (``set_model_latency``); a
    delay past the invocation timeout is the container not answering in time.
    """
    payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if delay_seconds > 0:
        time.sleep(min(delay_seconds, hosting.INVOCATION_TIMEOUT_SECONDS))
        if delay_seconds >= hosting.INVOCATION_TIMEOUT_SECONDS:
            raise hosting.ServingError(
                f"the model did not answer within {hosting.INVOCATION_TIMEOUT_SECONDS:.0f}s "
                f"(injected latency {delay_seconds}s)"
            )
    return served.server.invoke(payload, content_type, accept)


# --------------------------------------------------------------------------- injected latency

# A test/ops hook, not AWS behaviour: a slow model is otherwise hard to make on purpose, and the
# guardrails must be shown to trip on one. The delay is spent inside the model's
# time, so ModelLatency measures it as it would measure a slow container.

#: Injected latency for the server process: a number of seconds for every endpoint, or
#: comma-separated ``endpoint=seconds`` pairs.
MODEL_LATENCY_ENV = "EMULATOR_MODEL_LATENCY_SECONDS"


def set_model_latency(endpoint_name: str, seconds: float | None) -> None:
    """Delay ``endpoint_name``'s model answers by ``seconds`` (``None``: env or no delay).

    ``endpoint_name`` may also be an endpoint config's name: only that fleet is slow."""
    if seconds is None:
        _STATE.model_latency.pop(endpoint_name, None)
    elif seconds < 0:
        raise ValueError(f"model latency for {endpoint_name} must be >= 0 seconds, not {seconds}")
    else:
        _STATE.model_latency[endpoint_name] = float(seconds)


def clear_model_latency() -> None:
    """No latency injected by ``set_model_latency`` on any endpoint (the env still applies)."""
    _STATE.model_latency.clear()


def parse_model_latency(value: str) -> dict[str, float]:
    """``$EMULATOR_MODEL_LATENCY_SECONDS`` as latency by endpoint (``"*"``: every endpoint)."""
    value = value.strip()
    if not value:
        return {}
    try:
        if "=" not in value:
            return {"*": _non_negative(float(value))}
        pairs = (item.split("=", 1) for item in value.split(",") if item.strip())
        return {name.strip(): _non_negative(float(seconds)) for name, seconds in pairs}
    except ValueError:
        raise ValueError(
            f"${MODEL_LATENCY_ENV}={value!r}: expected seconds (every endpoint) or "
            f"endpoint=seconds pairs separated by commas, each >= 0"
        ) from None


def _non_negative(seconds: float) -> float:
    if seconds < 0:
        raise ValueError(seconds)
    return seconds


def model_latency(endpoint_name: str, endpoint_config_name: str = "") -> float:
    """The injected latency for ``endpoint_name``'s fleet of ``endpoint_config_name``
    (``set_model_latency``, then the env; a config's own setting wins over its endpoint's, so
    one fleet of a blue/green update can be made slow)."""
    for name in (endpoint_config_name, endpoint_name):
        if name and name in _STATE.model_latency:
            return _STATE.model_latency[name]
    from_env = parse_model_latency(os.environ.get(MODEL_LATENCY_ENV, ""))
    for name in (endpoint_config_name, endpoint_name, "*"):
        if name and name in from_env:
            return from_env[name]
    return 0.0


# --------------------------------------------------------------------------- invocation metrics

# SageMaker publishes per-invocation metrics for real-time endpoints in namespace AWS/SageMaker
# with dimensions EndpointName and VariantName ("Monitor Amazon SageMaker AI with Amazon
# CloudWatch", SageMaker AI endpoint invocation metrics:
# https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html; the common metrics
# are repeated in https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html):
# - Invocations: InvokeEndpoint requests sent to the endpoint (Units: None);
# - Invocation4XXErrors / Invocation5XXErrors: 1 for each request the model answered with a
#   4xx / 5xx status, otherwise 0 (Units: None);
# - InvocationsPerInstance: 1/numberOfInstances on each request, the variant's instances at
#   the time (API_ScalingPolicyMetric.html) (Units: None);
# - ModelLatency: the time the model took to answer as seen from SageMaker, including the local
#   round trip to the container (Units: Microseconds);
# - OverheadLatency: the rest of SageMaker's time on the request, from receiving it to
#   answering, minus ModelLatency (Units: Microseconds).
# A request refused before reaching the endpoint (ValidationError: bad name, body too large, no
# such or no serving endpoint) is no invocation of it and records nothing. A model that could not
# be loaded or did not answer is a 5XX without a ModelLatency (no answer was timed: the stricter
# reading, as AWS does not say).

NAMESPACE = "AWS/SageMaker"


@dataclass(frozen=True)
class InvocationOutcome:
    """What one invocation did, as the metrics need it."""

    status: int
    #: Seconds the model took to answer (``None``: it never answered).
    model_seconds: float | None
    total_seconds: float
    instance_count: int | None
    #: Also publish the set with the serving fleet's EndpointConfigName (after a guarded update
    #: routed traffic to a new fleet: ``guardrails.publishes_config_dimension``).
    config_dimension: bool = False


def invocation_metrics(
    spec: hosting.ServingSpec, outcome: InvocationOutcome
) -> list[dict[str, Any]]:
    """The documented AWS/SageMaker datapoints for one invocation (PutMetricData's MetricData).

    Always with dimensions EndpointName and VariantName; with ``outcome.config_dimension`` the
    same datapoints again with EndpointConfigName of the fleet that served the request as well
    ("CloudWatch publishes the metrics with the dimension EndpointConfigName:{New-Ep-Config}
    after the new fleet starts receiving traffic, and these metrics last even after the
    deployment is complete"; the old fleet's are selected by its config name: SageMaker
    developer guide, deployment-guardrails-configuration.html). Whether AWS also publishes
    EndpointConfigName before any blue/green deployment is not documented; it is not published.
    """
    endpoint_dimensions = [
        {"Name": "EndpointName", "Value": spec.endpoint_name},
        {"Name": "VariantName", "Value": spec.variant_name},
    ]
    data = _invocation_data(endpoint_dimensions, outcome)
    if outcome.config_dimension:
        config = {"Name": "EndpointConfigName", "Value": spec.endpoint_config_name}
        data += _invocation_data([*endpoint_dimensions, config], outcome)
    return data


def _invocation_data(
    dimensions: list[dict[str, str]], outcome: InvocationOutcome
) -> list[dict[str, Any]]:
    def datum(name: str, value: float, unit: str) -> dict[str, Any]:
        return {"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": unit}

    data = [
        datum("Invocations", 1.0, "None"),
        datum("Invocation4XXErrors", float(400 <= outcome.status < 500), "None"),
        datum("Invocation5XXErrors", float(500 <= outcome.status < 600), "None"),
    ]
    if outcome.instance_count:
        data.append(datum("InvocationsPerInstance", 1.0 / outcome.instance_count, "None"))
    model_seconds = outcome.model_seconds or 0.0
    if outcome.model_seconds is not None:
        data.append(datum("ModelLatency", round(model_seconds * 1e6), "Microseconds"))
    overhead = max(outcome.total_seconds - model_seconds, 0.0)
    data.append(datum("OverheadLatency", round(overhead * 1e6), "Microseconds"))
    return data


def record_invocation(
    account_id: str, region: str, spec: hosting.ServingSpec, outcome: InvocationOutcome
) -> None:
    """Publish one invocation's metrics to CloudWatch in the endpoint's account and region."""
    cloudwatch.put_metric_data(account_id, region, NAMESPACE, invocation_metrics(spec, outcome))


def _invoke_endpoint(self: Any) -> Any:
    started = time.perf_counter()
    invoked_at = datetime.now(UTC)
    account_id, region = self.current_account, self.region
    endpoint_name = self._get_params().get("EndpointName") or self.path.split("/")[2]
    # The raw bytes: moto decodes UTF-8 bodies to str, and a binary body must reach the container
    # unchanged (moto keeps it as bytes when it is not UTF-8).
    raw = getattr(self, "raw_body", None)
    body = raw if isinstance(raw, bytes) else (self.body or "")
    body = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    content_type, accept = self.headers.get("Content-Type"), self.headers.get("Accept")
    validate_invocation(endpoint_name, body, content_type, accept)
    backend = sm_models.sagemaker_backends[account_id][region]
    # During a guarded update the request goes to the blue or the green fleet.
    spec = hosting.serving_spec(
        backend, endpoint_name, guardrails.route_invocation(backend, endpoint_name)
    )
    status, model_seconds = 500, None
    try:
        answer, model_seconds = _serve(spec, account_id, region, body, content_type, accept)
        status = answer.status
    finally:
        outcome = InvocationOutcome(
            status,
            model_seconds,
            time.perf_counter() - started,
            spec.instance_count,
            guardrails.publishes_config_dimension(backend, endpoint_name),
        )
        record_invocation(account_id, region, spec, outcome)
    if answer.status != 200:
        kind = "client" if 400 <= answer.status < 500 else "server"
        message = answer.body.decode("utf-8", "replace")
        raise hosting.model_error(endpoint_name, account_id, answer.status, kind, message)
    capture.capture(
        backend,
        account_id,
        region,
        capture.Invocation(
            endpoint_name=endpoint_name,
            endpoint_config_name=spec.endpoint_config_name,
            variant_name=spec.variant_name,
            request_body=body,
            request_content_type=content_type,
            response_body=answer.body,
            response_content_type=answer.content_type,
            status=answer.status,
            inference_time=invoked_at,
            inference_id=self.headers.get("X-Amzn-SageMaker-Inference-Id"),
        ),
    )
    headers = {
        "Content-Type": answer.content_type,
        "x-Amzn-Invoked-Production-Variant": spec.variant_name,
    }
    return 200, headers, answer.body


def _serve(
    spec: hosting.ServingSpec,
    account_id: str,
    region: str,
    body: bytes,
    content_type: str | None,
    accept: str | None,
) -> tuple[hosting.ContainerAnswer, float]:
    """The container's answer and the seconds the model took; a failure is a 500 ModelError."""
    endpoint_name = spec.endpoint_name
    try:
        served = hosting.served_model(spec, account_id, region)
    except Exception as error:  # the container could not load the model: a server error
        message = f"could not load the model: {type(error).__name__}: {error}"
        raise hosting.server_error(endpoint_name, account_id, message) from None
    model_started = time.perf_counter()
    try:
        delay = model_latency(endpoint_name, spec.endpoint_config_name)
        answer = invoke_model(served, body, content_type, accept, delay)
    except hosting.ServingError as error:
        raise hosting.server_error(endpoint_name, account_id, str(error)) from None
    return answer, time.perf_counter() - model_started


def _invoke_requires_serving_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    # InvokeEndpoint's documented client error is ValidationError (400); an endpoint that is
    # Creating, Failed or Deleting has no container to answer, so it never reaches one (and never
    # answers 500). The exact message for such endpoints is not documented; this is the one AWS
    # gives for an endpoint it cannot route to.
    def invoke(self: Any) -> Any:
        endpoint_name = self._get_params().get("EndpointName") or self.path.split("/")[2]
        backend = sm_models.sagemaker_backends[self.current_account][self.region]
        endpoints.advance_endpoint(backend, endpoint_name)
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is not None and endpoint.endpoint_status not in SERVING_ENDPOINT_STATUSES:
            raise hosting.InvocationValidationError(
                f"Endpoint {endpoint_name} of account {self.current_account} not found."
            )
        return original(self)

    return invoke


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """InvokeEndpoint served by the deployed model, only while the endpoint serves."""
    SageMakerRuntimeResponse.invoke_endpoint = _invoke_requires_serving_endpoint(  # type: ignore[method-assign]
        _invoke_endpoint
    )
    # Keep InvokeEndpoint bodies as bytes: moto decodes every body as UTF-8 first, so a binary
    # body died in BaseResponse.setup_class with an HTML 500 before reaching the endpoint.
    SageMakerRuntimeResponse.use_raw_body = True


def reset() -> None:
    """No latency injected (the serving processes are SageMaker hosting's: its ``reset()``)."""
    clear_model_latency()
