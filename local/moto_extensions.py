"""Extensions that close moto 5.2.5's gaps, so the real ASL and Terraform run against it.

moto has no plugin API, so each gap is closed here, in one module, by wrapping a method or
adding one to a response class. ``apply()`` installs them all (idempotent); each has a test in
``tests/integration/test_moto_extensions.py``.

1. Step Functions aws-sdk task results are normalised like AWS does: streaming ``Body`` becomes
   text, datetimes become ISO-8601 strings (otherwise ``States.StringToJson`` on ``s3:getObject``
   fails and any datetime breaks ``DescribeExecution``).
2. aws-sdk task error names follow AWS (``S3.NoSuchKeyException``,
   ``SageMaker.AmazonSageMakerException``), not moto's lower-case service names.
3. SageMaker pipeline executions get a lifecycle: a *pipeline runner* (registered with
   ``set_pipeline_runner``) decides what an execution does; ``ClientRequestToken`` makes starts
   idempotent; ``FailureReason`` is reported only when there is one;
   ``ListPipelineExecutionSteps`` and ``StopPipelineExecution`` are implemented.
4. ``UpdateEndpoint`` switches an endpoint to a new endpoint config (moto lacks it).
5. Fault injection (``inject_fault``) makes an API call fail N times, e.g. throttling.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.response import StreamingBody
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as unsupported,
)

_applied = False
_lock = threading.Lock()

# --------------------------------------------------------------------------- 1. task results


def normalise_result(value: Any) -> Any:
    """A service response as Step Functions returns it: JSON types only."""
    if isinstance(value, dict):
        return {key: normalise_result(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalise_result(item) for item in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, StreamingBody):
        return value.read().decode("utf-8")
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8")
    return value


def _normalise_in_place(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
    # The interpreter passes the result object it keeps on its stack: mutate it, don't replace it.
    if isinstance(response, dict):
        normalised = normalise_result(response)
        response.clear()
        response.update(normalised)


# --------------------------------------------------------------------------- 2. error names

#: Step Functions' spelling of service names in aws-sdk error names.
SERVICE_ERROR_NAMES = {
    "s3": "S3",
    "sagemaker": "SageMaker",
    "sns": "SNS",
    "sqs": "SQS",
    "lambda": "Lambda",
    "dynamodb": "DynamoDb",
    "sfn": "Sfn",
    "eventbridge": "EventBridge",
}
#: The name AWS gives errors a service does not model (throttling, validation, 5xx).
GENERIC_EXCEPTIONS = {"SageMaker": "AmazonSageMakerException"}


def aws_error_name(service: str, exception_class: str) -> str:
    """``<Service>.<Exception>`` as Step Functions reports an aws-sdk task error."""
    svc = SERVICE_ERROR_NAMES.get(service.lower(), service)
    if exception_class == "ClientError":
        name = GENERIC_EXCEPTIONS.get(svc, f"{svc}Exception")
    else:
        name = exception_class
    if not name.endswith("Exception"):
        name += "Exception"
    return f"{svc}.{name}"


def _normalise_service_error_name(service_name: str) -> str:
    return service_name.lower()


def _normalise_exception_name(norm_service_name: str, ex: Exception) -> str:
    return aws_error_name(norm_service_name, ex.__class__.__name__)


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
_runner: PipelineRunner | None = None


def set_pipeline_runner(runner: PipelineRunner | None) -> None:
    """Decide what started pipeline executions do (``None``: moto's default, Succeeded at once)."""
    global _runner
    _runner = runner


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
        runner = _runner
        if runner is not None:
            execution.pipeline_execution_status = "Executing"
            runner(
                PipelineRun(
                    pipeline_name=pipeline.pipeline_name,
                    arn=arn,
                    definition=pipeline.pipeline_definition,
                    parameters={p["Name"]: p["Value"] for p in (parameters or [])},
                    execution=execution,
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
        execution.pipeline_execution_status = "Stopping" if _runner else "Stopped"
        execution.last_modified_time = utcnow()
    return ActionResult({"PipelineExecutionArn": arn})


# --------------------------------------------------------------------------- 4. endpoints


def _update_endpoint(self: Any) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    backend.describe_endpoint(name)  # ValidationException when it does not exist, as on AWS
    config = backend.describe_endpoint_config(config_name)
    endpoint = backend.endpoints[name]
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    endpoint.data_capture_config = config["DataCaptureConfig"]
    endpoint.last_modified_time = utcnow()
    return ActionResult({"EndpointArn": endpoint.arn})


# --------------------------------------------------------------------------- 5. faults


@dataclass
class Fault:
    service: str
    action: str
    code: str
    message: str
    remaining: int
    status: int = 400


_faults: list[Fault] = []


def inject_fault(
    service: str,
    action: str,
    code: str = "ThrottlingException",
    message: str = "Rate exceeded",
    times: int = 1,
    status: int = 400,
) -> Fault:
    """Make the next ``times`` calls of ``service``'s ``action`` fail with ``code``."""
    fault = Fault(service, action, code, message, times, status)
    with _lock:
        _faults.append(fault)
    return fault


def clear_faults() -> None:
    with _lock:
        _faults.clear()


def _take_fault(service: str, action: str) -> Fault | None:
    with _lock:
        for fault in _faults:
            if fault.service == service and fault.action == action and fault.remaining > 0:
                fault.remaining -= 1
                return fault
    return None


def _call_action(original: Callable[[BaseResponse], Any]) -> Callable[[BaseResponse], Any]:
    def call_action(self: BaseResponse) -> Any:
        if _faults:
            fault = _take_fault(str(self.service_name), self._get_action())
            if fault is not None:
                error = JsonRESTError(fault.code, fault.message)
                headers = dict(error.get_headers() or [])
                headers["status"] = str(fault.status)
                # botocore reads the request id from here; Step Functions puts it in the cause.
                headers["x-amzn-RequestId"] = f"injected-fault-{fault.code}"
                return fault.status, headers, error.description
        return original(self)

    return call_action


# --------------------------------------------------------------------------- install


def apply() -> None:
    """Install every extension (safe to call more than once)."""
    global _applied
    with _lock:
        if _applied:
            return
        for cls in (aws_sdk.StateTaskServiceAwsSdk, unsupported.StateTaskServiceUnsupported):
            cls._normalise_response = _normalise_in_place  # type: ignore[method-assign]
        aws_sdk.StateTaskServiceAwsSdk._normalise_service_error_name = staticmethod(  # type: ignore[method-assign]
            _normalise_service_error_name
        )
        aws_sdk.StateTaskServiceAwsSdk._normalise_exception_name = staticmethod(  # type: ignore[method-assign]
            _normalise_exception_name
        )

        backend = sm_models.SageMakerModelBackend
        backend.start_pipeline_execution = _start_pipeline_execution(  # type: ignore[method-assign]
            backend.start_pipeline_execution
        )
        backend.describe_pipeline_execution = _describe_pipeline_execution(  # type: ignore[method-assign]
            backend.describe_pipeline_execution
        )
        SageMakerResponse.list_pipeline_execution_steps = _list_pipeline_execution_steps  # type: ignore[attr-defined]
        SageMakerResponse.stop_pipeline_execution = _stop_pipeline_execution  # type: ignore[attr-defined]
        SageMakerResponse.update_endpoint = _update_endpoint  # type: ignore[attr-defined]

        BaseResponse.call_action = _call_action(BaseResponse.call_action)  # type: ignore[method-assign,assignment]
        _applied = True
