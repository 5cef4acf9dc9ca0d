"""Extensions that close moto 5.2.5's gaps, so the real ASL and Terraform run against it.

moto has no plugin API, so each gap is closed here, in one module, by wrapping a method or
adding one to a response class. ``apply()`` installs them all (idempotent); each has a test in
``tests/integration/test_moto_extensions.py``.

1. Step Functions aws-sdk task results are normalised like AWS does: streaming ``Body`` becomes
   text, datetimes become ISO-8601 strings (otherwise ``States.StringToJson`` on ``s3:getObject``
   fails and any datetime breaks ``DescribeExecution``).
2. aws-sdk task error names follow AWS (``S3.NoSuchKeyException``,
   ``SageMaker.SageMakerException``), as ``local/sfn_errors.py`` names them.
3. SageMaker pipeline executions get a lifecycle: a *pipeline runner* (registered with
   ``set_pipeline_runner``) decides what an execution does; ``ClientRequestToken`` makes starts
   idempotent; ``FailureReason`` is reported only when there is one;
   ``ListPipelineExecutionSteps`` and ``StopPipelineExecution`` are implemented.
4. Endpoints follow SageMaker's status machine (Creating, Updating, RollingBack, Deleting take
   ``endpoint_transition_seconds()``; a model that cannot be loaded ends Failed; UpdateEndpoint,
   which moto lacks, only from InService; tested in
   ``tests/integration/test_endpoint_lifecycle.py``).
5. Fault injection (``inject_fault``) makes an API call fail N times, e.g. throttling.
6. What Terraform's aws provider (5.100) needs: ``ValidateStateMachineDefinition`` (parses the
   ASL), ``ListStateMachineVersions``, ``DeleteModelPackageGroup``; the lifecycle
   ``TransitionDefaultMinimumObjectSize`` header on Put/Get, as AWS sends it;
   bucket-policy conditions evaluated (moto applied ``Deny unless aws:SecureTransport`` to all).
7. No perpetual Terraform drift: the bucket's ``EventBridgeConfiguration`` and a Lambda's
   ``DeadLetterConfig`` are reported back.
8. ``UpdateModelPackage`` leaves the fields a request omits unchanged (moto resets them).
9. A JSONPath without wildcards, slices or filters selects one value, as on AWS
   (moto returns ``["x"]`` for ``$.list[0].field``).
10. ``InvokeEndpoint`` answers with the deployed model: the endpoint's model artifact and
    ``SAGEMAKER_PROGRAM`` script (s3:// sourcedir or ``/opt/ml/model/code``) served through the
    XGBoost 1.7-1 container's own serving stack in the xgboost 1.7 interpreter
    (``local/container_serving.py``); AWS's request limits (6 MB body, ``ContentType``) are
    enforced and a non-200 answer is a ``ModelError`` (tested in
    ``tests/integration/test_invoke_endpoint.py``).
11. EventBridge delivers to Lambda, Step Functions and SNS targets (``Input``, ``InputPath``,
    ``InputTransformer``); a Python zip Lambda runs in process, for ``Invoke`` too, with its
    environment and ``AWS_ENDPOINT_URL``, logging to ``/aws/lambda/<name>``; S3 events take AWS's
    shape; SageMaker emits "Model Package State Change" (tested in
    ``tests/integration/test_event_delivery.py``).
12. Every request is validated against botocore's service model as AWS's front door does
    (required, types, length, pattern, enum, range, list/map size) and refused with AWS's
    ``ValidationException`` (``ValidationError`` for query services) before moto stores anything
    (tested in ``tests/integration/test_request_validation.py``).
13. Lambda has a new account's limits (concurrency 10, unreserved minimum 10), configurable as a
    quota increase, and ``GetAccountSettings`` (tested in
    ``tests/integration/test_lambda_quota.py``).
14. ``StartExecution`` without ``name`` gets a generated UUID name, as on AWS.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import copy
import datetime as dt
import fnmatch
import functools
import hashlib
import importlib.util
import io
import json
import logging
import os
import re
import select
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from jsonpath_ng import ext as jsonpath_ext
from moto.awslambda.models import LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import utcnow
from moto.events.models import Rule as EventRule
from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as unsupported,
)
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.responses import StepFunctionResponse

from local import access_control, sfn_errors

_applied = False
_lock = threading.Lock()
#: The server's own URL (set by ``local.server``); in-process Lambda handlers get it as
#: ``AWS_ENDPOINT_URL`` so their boto3 calls reach the emulator. ``None`` under ``mock_aws``.
_endpoint_url: str | None = None


def set_emulator_endpoint(endpoint_url: str | None) -> None:
    """Tell the extensions the URL the emulator serves on (server mode only)."""
    global _endpoint_url
    _endpoint_url = endpoint_url


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
        # aws-sdk results are PascalCase even for camelCase APIs (Step Functions' own), as their
        # parameters are (see _pascal_case_parameters).
        response.update({k[:1].upper() + k[1:]: v for k, v in normalised.items()})


def _pascal_case_parameters(self: Any, parameters: dict[str, Any], *args: Any, **kw: Any) -> None:
    """Rename PascalCase aws-sdk parameters to the API's camelCase members, in place.

    https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html:
    "Parameters in Step Functions are expressed in PascalCase, even if the native service API is
    in camelCase" (its example: startSyncExecution with StateMachineArn). moto passes them as is.
    """
    if not isinstance(parameters, dict):
        return
    for key in list(parameters):
        camel = key[:1].lower() + key[1:]
        if camel != key and camel not in parameters and _is_member(self, camel):
            parameters[camel] = parameters.pop(key)


def _is_member(task: Any, name: str) -> bool:
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(task._get_boto_service_name())
        action = task.resource.api_action
        shape = model.operation_model(action[:1].upper() + action[1:]).input_shape
    except Exception:  # an unknown service or action: leave the parameters alone
        return False
    return shape is not None and name in shape.members


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
    # local/sfn_errors.py is the one home of Step Functions' names: modeled per operation, else
    # the SDK's base exception (SageMaker.SageMakerException for aws-sdk tasks).
    if isinstance(ex, ClientError):
        try:
            return sfn_errors.task_error_name(
                sfn_errors.AWS_SDK,
                norm_service_name,
                ex.operation_name,
                str(ex.response.get("Error", {}).get("Code", "")),
            )
        except sfn_errors.UnknownService:
            pass
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

# UpdateEndpoint (moto lacks it) and the endpoint status machine: see "endpoint lifecycle" below.


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
        if _validation_enabled:
            rejected = check_request(self)
            if rejected is not None:
                return rejected
        return original(self)

    return call_action


# --------------------------------------------------------------------------- request validation

# AWS's front door checks every request against the API's model before the service sees it; a
# violation never reaches the service and nothing is stored. botocore's service model
# (botocore/data/<service>/<version>/service-2.json) carries the same constraints: ``required``,
# member types, ``min``/``max`` (string and blob length, list and map size, numeric range),
# ``pattern`` and ``enum``. moto checks almost none of them, so here every request that goes
# through ``BaseResponse.call_action`` is parsed with moto's own protocol parsers
# (moto/core/parse.py: json, rest-json, query, rest-xml, ec2) into the operation's input shape and
# validated against it.
#
# Error shape: the validation error the service models, if any (sagemaker-runtime's
# ``ValidationError``), otherwise per protocol:
# - json / rest-json: HTTP 400, ``ValidationException`` with AWS's message, e.g. "1 validation
#   error detected: Value 'x' at 'modelPackageGroupName' failed to satisfy constraint: Member
#   must satisfy regular expression pattern: ..." (AWS API reference, "Common Errors":
#   https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html).
# - query (IAM, SNS, STS, CloudWatch): HTTP 400, ``ValidationError`` in an ``ErrorResponse``
#   (IAM API reference, "Common Errors":
#   https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html).
# - A value of the wrong JSON type: AWS's JSON protocols answer ``SerializationException``
#   before any constraint is checked; moto's parser raising on it is reported the same way.
# Not covered: S3 (rest-xml) is served by S3Response's own dispatch, not ``call_action``, and
# answers each violation with its own code (InvalidArgument, MalformedXML, ...), so its requests
# are not validated here; nor are requests moto's parsers cannot read (CloudWatch's
# smithy-rpc-v2-cbor protocol has no parser in moto 5.2.5): those are logged at debug level.

#: The error code AWS uses for a constraint violation, per protocol.
VALIDATION_ERROR_CODES = {
    "json": "ValidationException",
    "rest-json": "ValidationException",
    "query": "ValidationError",
    "ec2": "InvalidParameterValue",
    "rest-xml": "InvalidArgument",
}
_validation_enabled = True


def set_request_validation(enabled: bool) -> None:
    """Switch request validation off only to reproduce moto's own (lenient) behaviour."""
    global _validation_enabled
    _validation_enabled = enabled


@dataclass(frozen=True)
class Violation:
    """One broken constraint: where, the offending value, and AWS's wording of the constraint."""

    path: str
    value: Any
    constraint: str

    def describe(self) -> str:
        value = render_value(self.value)
        return f"Value {value} at '{self.path}' failed to satisfy constraint: {self.constraint}"


def render_value(value: Any) -> str:
    """A value as AWS's validation messages print it (Java's toString: ``null``, ``{k=v}``)."""
    if value is None:
        return "null"

    def text(item: Any) -> str:
        if isinstance(item, dict):
            return "{" + ", ".join(f"{k}={text(v)}" for k, v in item.items()) + "}"
        if isinstance(item, list):
            return "[" + ", ".join(text(v) for v in item) + "]"
        if isinstance(item, bool):
            return str(item).lower()
        if isinstance(item, bytes | bytearray):
            return "java.nio.HeapByteBuffer"
        return str(item)

    return f"'{text(value)}'"


def validation_message(violations: list[Violation]) -> str:
    """AWS's message: "N validation error(s) detected: <one>; <two>"."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(v.describe() for v in violations)


# Java patterns in the models spell characters outside the BMP as surrogate pairs; Python's
# ``regex`` needs the code points themselves.
_SURROGATE_RANGE = re.compile(r"\\uD800\\uDC00-\\uDBFF\\uDFFF", re.IGNORECASE)


@functools.lru_cache(maxsize=2048)
def compiled_pattern(pattern: str) -> Any:
    """A model ``pattern`` compiled with ``regex`` (``\\p{L}`` etc. as Java has them)."""
    return regex.compile(_SURROGATE_RANGE.sub(r"\\U00010000-\\U0010FFFF", pattern))


def _lower_first(name: str) -> str:
    # AWS names members in lowerCamelCase in its messages ("modelPackageGroupName").
    return name[:1].lower() + name[1:]


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "map": lambda v: isinstance(v, dict),
    "structure": lambda v: isinstance(v, dict),
}


class RequestTypeError(ValueError):
    """A member's value has the wrong type: AWS rejects the request before validating it."""


def _scalar_constraints(shape: Any, value: Any) -> list[str]:
    """The constraints a string, blob or number breaks, in AWS's words."""
    broken: list[str] = []
    meta = shape.metadata
    if shape.type_name in {"string", "blob"}:
        size = len(value)
        if "max" in meta and size > meta["max"]:
            broken.append(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and size < meta["min"]:
            broken.append(f"Member must have length greater than or equal to {meta['min']}")
    if shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            broken.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        if pattern and compiled_pattern(pattern).fullmatch(value) is None:
            broken.append(f"Member must satisfy regular expression pattern: {pattern}")
    if shape.type_name in {"integer", "long", "float", "double"}:
        if "max" in meta and value > meta["max"]:
            broken.append(f"Member must have value less than or equal to {meta['max']}")
        if "min" in meta and value < meta["min"]:
            broken.append(f"Member must have value greater than or equal to {meta['min']}")
    return broken


def validate_value(shape: Any, value: Any, path: str) -> list[Violation]:
    """Every constraint of ``shape`` that ``value`` breaks (the model's rules, recursively).

    Lists and maps are reported the way AWS does: a list's members at ``<path>.<n>.member``
    (1-based), a map's keys and values at the map with "Map keys/value must satisfy constraint".
    """
    check = _TYPE_CHECKS.get(shape.type_name)
    if check is not None and not check(value):
        raise RequestTypeError(
            f"{type(value).__name__} value at '{path}' cannot be converted to {shape.type_name}"
        )
    if shape.type_name == "structure":
        if shape.metadata.get("document"):
            return []
        return validate_structure(shape, value, path)
    meta = shape.metadata
    if shape.type_name in {"list", "map"}:
        violations: list[Violation] = []
        size = len(value)
        if "max" in meta and size > meta["max"]:
            violations.append(
                Violation(
                    path, value, f"Member must have length less than or equal to {meta['max']}"
                )
            )
        if "min" in meta and size < meta["min"]:
            violations.append(
                Violation(
                    path, value, f"Member must have length greater than or equal to {meta['min']}"
                )
            )
        if shape.type_name == "list":
            for index, item in enumerate(value, start=1):
                violations += validate_value(shape.member, item, f"{path}.{index}.member")
            return violations
        for label, member_shape, items in (
            ("Map keys", shape.key, list(value)),
            ("Map value", shape.value, list(value.values())),
        ):
            if member_shape.type_name == "string":
                broken = sorted(
                    {c for item in items for c in _scalar_constraints(member_shape, item)}
                )
                if broken:
                    violations.append(
                        Violation(
                            path, value, f"{label} must satisfy constraint: [{', '.join(broken)}]"
                        )
                    )
            else:
                for key, item in zip(value, items, strict=True):
                    violations += validate_value(member_shape, item, f"{path}.{key}")
        return violations
    if shape.type_name in {"string", "blob", "integer", "long", "float", "double"}:
        return [Violation(path, value, c) for c in _scalar_constraints(shape, value)]
    return []


def validate_structure(shape: Any, params: dict[str, Any], path: str = "") -> list[Violation]:
    """Required members first, then every member present."""
    violations: list[Violation] = []
    for name, member in shape.members.items():
        member_path = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
        value = params.get(name)
        if value is None:
            if name in shape.required_members:
                violations.append(Violation(member_path, None, "Member must not be null"))
            continue
        violations += validate_value(member, value, member_path)
    return violations


def request_parameters(response: BaseResponse) -> tuple[str, Any, dict[str, Any]] | None:
    """(protocol, operation model, parameters) of the request ``response`` is serving."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol
    from moto.core.utils import get_service_model

    action = response._get_action()
    if not action or not response.boto3_service_name:
        return None
    try:
        service_model = get_service_model(response.boto3_service_name)
        operation = service_model.operation_model(action)
    except Exception:  # a service or action botocore does not model (OperationNotFoundError...)
        return None
    if operation.input_shape is None:
        return None
    request = response.normalized_request
    protocol = determine_request_protocol(service_model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation)
    params = parser.parse(
        {
            "method": request.method,
            "values": request.values,
            "headers": request.headers,
            "body": request.data,
            "url_path": request.path,
            "url_params": response.uri_match,
        }
    )
    return protocol, operation, dict(params or {})


def validation_error_response(protocol: str, code: str, message: str) -> Any:
    """The error AWS answers with, in the protocol's shape (JSON body or XML ErrorResponse)."""
    request_id = str(uuid.uuid4())
    if protocol in {"json", "rest-json"}:
        body = json.dumps({"__type": code, "message": message})
        headers = {
            "status": "400",
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
            "Content-Type": "application/x-amz-json-1.1",
        }
        return 400, headers, body
    escaped = (
        message.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{escaped}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 400, {"status": "400", "x-amzn-RequestId": request_id, "Content-Type": "text/xml"}, body


def check_request(response: BaseResponse) -> Any | None:
    """AWS's answer when the request breaks its operation's model, ``None`` when it is valid."""
    try:
        found = request_parameters(response)
    except Exception:  # moto's parser failed on the wire format
        LOGGER.debug("request not parsed for validation", exc_info=True)
        return None
    if found is None:
        return None
    protocol, operation, params = found
    try:
        violations = validate_structure(operation.input_shape, params)
    except RequestTypeError as error:
        if protocol in {"json", "rest-json"}:
            return validation_error_response(protocol, "SerializationException", str(error))
        return validation_error_response(protocol, VALIDATION_ERROR_CODES[protocol], str(error))
    if not violations:
        return None
    code = validation_error_code(operation.service_model, protocol)
    return validation_error_response(protocol, code, validation_message(violations))


def validation_error_code(service_model: Any, protocol: str) -> str:
    """The code a service answers constraint violations with.

    A service that models its validation error names it (sagemaker-runtime's
    ``ValidationError``, the code the InvokeEndpoint API reference lists); otherwise the
    protocol's usual code.
    """
    for name in ("ValidationException", "ValidationError"):
        if name in service_model.shape_names:
            return name
    return VALIDATION_ERROR_CODES.get(protocol, "ValidationException")


# --------------------------------------------------------------------------- 6. Terraform

#: AWS's default for ``TransitionDefaultMinimumObjectSize`` (the only one moto reports).
DEFAULT_TRANSITION_MIN_SIZE = "all_storage_classes_128K"
_TRANSITION_HEADER = "x-amz-transition-default-minimum-object-size"


def validate_state_machine_definition(definition: str) -> dict[str, Any]:
    """``ValidateStateMachineDefinition``'s answer: parse the ASL with moto's own parser."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    try:
        json.loads(definition)
    except ValueError as error:
        return _diagnostic("INVALID_JSON_DESCRIPTION", str(error))
    try:
        AmazonStateLanguageParser.parse(definition)
    except Exception as error:  # the parser raises assorted types for invalid ASL
        return _diagnostic("SCHEMA_VALIDATION_FAILED", str(error) or type(error).__name__)
    return {"result": "OK", "diagnostics": [], "truncated": False}


def _diagnostic(code: str, message: str) -> dict[str, Any]:
    return {
        "result": "FAIL",
        "diagnostics": [{"severity": "ERROR", "code": code, "message": message[:500]}],
        "truncated": False,
    }


def _validate_state_machine_definition(self: Any) -> ActionResult:
    return ActionResult(validate_state_machine_definition(self._get_param("definition")))


def _list_state_machine_versions(self: Any) -> ActionResult:
    # moto never publishes versions; Terraform only needs the (empty) list.
    self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    return ActionResult({"stateMachineVersions": []})


def _delete_model_package_group(self: Any) -> ActionResult:
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("ModelPackageGroupName")
    if name.startswith("arn:"):
        name = name.rsplit("/", 1)[-1]
    if backend.model_package_groups.pop(name, None) is None:
        raise ValidationError(f"Model Package Group {name} does not exist.")
    return ActionResult({})


def _bucket_response_put(original: Callable[..., Any]) -> Callable[..., Any]:
    # AWS answers PutBucketLifecycleConfiguration with the transition-size header, and the aws
    # provider waits until GetBucketLifecycleConfiguration reports the same value: without the
    # header that wait only ends after about a minute.
    def put(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        response = original(self, request, bucket_name, querystring)
        if "lifecycle" not in querystring or response != "":
            return response
        size = request.headers.get(_TRANSITION_HEADER) or DEFAULT_TRANSITION_MIN_SIZE
        self.backend.get_bucket(bucket_name).__dict__["transition_min_size"] = size
        return 200, {_TRANSITION_HEADER: size}, ""

    return put


def _get_bucket_lifecycle(original: Callable[..., Any]) -> Callable[..., Any]:
    def get(self: Any) -> Any:
        status, headers, body = original(self)
        bucket = self.backend.get_bucket(self.bucket_name)
        size = bucket.__dict__.get("transition_min_size", DEFAULT_TRANSITION_MIN_SIZE)
        headers[_TRANSITION_HEADER] = size
        if isinstance(body, bytes) and b"<TransitionDefaultMinimumObjectSize>" in body:
            body = re.sub(
                rb"<TransitionDefaultMinimumObjectSize>[^<]*</TransitionDefaultMinimumObjectSize>",
                b"",
                body,
            )
        return status, headers, body

    return get


#: The request context the emulator claims for bucket-policy conditions: it stands in for
#: AWS's HTTPS endpoints, so a "deny unless TLS" statement must not deny its plain-http calls.
REQUEST_CONTEXT = {"aws:securetransport": "true"}


def condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    """One IAM condition against the request context; an absent key does not match (as AWS)."""
    values = [str(v).lower() for v in (expected if isinstance(expected, list) else [expected])]
    actual = context.get(key.lower())
    if operator.endswith("IfExists") and actual is None:
        return True
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return (actual is None) == (values[0] == "true")
    if actual is None:
        return False
    actual = actual.lower()
    if operator in {"Bool", "StringEquals", "StringEqualsIgnoreCase"}:
        return actual in values
    if operator in {"StringNotEquals", "StringNotEqualsIgnoreCase"}:
        return actual not in values
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(actual, v) for v in values)
    if operator == "StringNotLike":
        return not any(fnmatch.fnmatchcase(actual, v) for v in values)
    return False  # an operator we do not model: the statement does not apply


def statement_applies(statement: dict[str, Any], context: dict[str, str]) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, expected in block.items()
    )


def _bucket_get_permission(self: Any, action: str, resource: str) -> Any:
    # moto ignores conditions it does not know (e.g. Bool), so a conditional Deny denies all.
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy)
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    permitted = False
    for statement in statements:
        if not statement_applies(statement, REQUEST_CONTEXT):
            continue
        unconditional = {k: v for k, v in statement.items() if k != "Condition"}
        result = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return result
        permitted = permitted or result == PermissionResult.PERMITTED
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


# --------------------------------------------------------------------------- 7. drift

# Without these, `terraform plan` after `apply` is never clean: moto accepts the settings but
# leaves them out of its answers.


def _get_bucket_notification(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto stores EventBridgeConfiguration but GetBucketNotificationConfiguration omits it.
    def get(self: Any) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or config.event_bridge is None:
            return original(self)
        status, headers, body = original(self)
        text = body.decode() if isinstance(body, bytes) else str(body)
        marker = "</NotificationConfiguration>"
        if marker in text:
            text = text.replace(marker, "<EventBridgeConfiguration/>" + marker)
        else:  # no other configuration: moto answered an empty result
            text = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<NotificationConfiguration '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EventBridgeConfiguration/>'
                "</NotificationConfiguration>"
            )
        return status, headers, text.encode()

    return get


def _lambda_init(original: Callable[..., None]) -> Callable[..., None]:
    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kw: Any) -> None:
        original(self, account_id, spec, *args, **kw)
        self.__dict__["dead_letter_config"] = spec.get("DeadLetterConfig")

    return init


def _lambda_update_configuration(original: Callable[..., Any]) -> Callable[..., Any]:
    def update(self: Any, config_updates: dict[str, Any]) -> Any:
        if "DeadLetterConfig" in config_updates:
            self.__dict__["dead_letter_config"] = config_updates["DeadLetterConfig"]
        return original(self, config_updates)

    return update


def _lambda_get_configuration(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto drops DeadLetterConfig from GetFunction/GetFunctionConfiguration.
    def get(self: Any, *args: Any, **kw: Any) -> dict[str, Any]:
        config = dict(original(self, *args, **kw))
        dead_letter = self.__dict__.get("dead_letter_config")
        if dead_letter and dead_letter.get("TargetArn"):
            config["DeadLetterConfig"] = {"TargetArn": dead_letter["TargetArn"]}
        return config

    return get


# --------------------------------------------------------------------------- Lambda limits

# A new account's Lambda concurrency quota is 10, and Lambda keeps a minimum of unreserved
# concurrency, so on a new account no function can reserve any (Lambda developer guide, "Lambda
# quotas": https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, and
# "Configuring reserved concurrency":
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). moto enforces a
# quota only when MOTO_LAMBDA_CONCURRENCY_QUOTA is set, with a fixed minimum of 100
# (moto/awslambda/models.py, put_function_concurrency), and has no GetAccountSettings. Here the
# limits live on the Lambda backend, default to a new account's, and can be raised as a quota
# increase would (``set_lambda_limits``, or the environment for the server process).

NEW_ACCOUNT_CONCURRENT_EXECUTIONS = 10
NEW_ACCOUNT_UNRESERVED_MINIMUM = 10
LAMBDA_CONCURRENCY_ENV = "EMULATOR_LAMBDA_CONCURRENT_EXECUTIONS"
LAMBDA_UNRESERVED_MINIMUM_ENV = "EMULATOR_LAMBDA_UNRESERVED_MINIMUM"
#: GetAccountSettings' fixed storage and package limits (the "Lambda quotas" page).
LAMBDA_CODE_LIMITS = {
    "TotalCodeSize": 80_530_636_800,
    "CodeSizeUnzipped": 262_144_000,
    "CodeSizeZipped": 52_428_800,
}


@dataclass
class LambdaLimits:
    """An account's concurrency quota in one region, and the part that must stay unreserved."""

    concurrent_executions: int
    unreserved_minimum: int


def lambda_limits(backend: Any) -> LambdaLimits:
    """The backend's limits: set ones, else the environment's, else a new account's."""
    limits = backend.__dict__.get("account_limits")
    if limits is None:
        limits = LambdaLimits(
            int(os.environ.get(LAMBDA_CONCURRENCY_ENV, NEW_ACCOUNT_CONCURRENT_EXECUTIONS)),
            int(os.environ.get(LAMBDA_UNRESERVED_MINIMUM_ENV, NEW_ACCOUNT_UNRESERVED_MINIMUM)),
        )
        backend.__dict__["account_limits"] = limits
    return limits


def set_lambda_limits(
    concurrent_executions: int,
    unreserved_minimum: int = NEW_ACCOUNT_UNRESERVED_MINIMUM,
    *,
    account_id: str = "123456789012",
    region: str = "us-east-1",
) -> None:
    """Grant a quota increase to ``account_id`` in ``region`` (in this process)."""
    from moto.awslambda.utils import get_backend

    get_backend(account_id, region).__dict__["account_limits"] = LambdaLimits(
        concurrent_executions, unreserved_minimum
    )


def reserved_elsewhere(backend: Any, function: Any = None) -> int:
    """Concurrency reserved by every function of the backend except ``function``."""
    return sum(
        int(fn.reserved_concurrency)
        for fn in backend.list_functions()
        if fn.reserved_concurrency
        and (function is None or fn.function_arn != function.function_arn)
    )


def reservation_refusal(
    limits: LambdaLimits, reserved_by_others: int, requested: int
) -> str | None:
    """AWS's message when reserving ``requested`` leaves too little unreserved (else ``None``)."""
    if limits.concurrent_executions - reserved_by_others - requested >= limits.unreserved_minimum:
        return None
    return (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of "
        f"[{limits.unreserved_minimum}]."
    )


def _put_function_concurrency(self: Any, function_name: str, reserved_concurrency: Any) -> Any:
    from moto.awslambda.exceptions import InvalidParameterValueException

    fn = self.get_function(function_name)
    refusal = reservation_refusal(
        lambda_limits(self), reserved_elsewhere(self, fn), int(reserved_concurrency)
    )
    if refusal is not None:
        raise InvalidParameterValueException(refusal)
    fn.reserved_concurrency = reserved_concurrency
    return fn.reserved_concurrency


def account_settings(backend: Any) -> dict[str, Any]:
    """GetAccountSettings' answer for the backend's account and region."""
    limits = lambda_limits(backend)
    functions = backend.list_functions()
    return {
        "AccountLimit": {
            **LAMBDA_CODE_LIMITS,
            "ConcurrentExecutions": limits.concurrent_executions,
            "UnreservedConcurrentExecutions": limits.concurrent_executions
            - reserved_elsewhere(backend),
        },
        "AccountUsage": {
            "TotalCodeSize": sum(int(getattr(fn, "code_size", 0) or 0) for fn in functions),
            "FunctionCount": len(functions),
        },
    }


def _get_account_settings(self: Any) -> Any:
    return 200, {}, json.dumps(account_settings(self.backend))


# --------------------------------------------------------------------------- nameless executions

# StartExecution's ``name`` is optional: "If you don't provide a name for the execution, Step
# Functions automatically generates a universally unique identifier (UUID) as the execution
# name" (StartExecution API reference:
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
# moto's executing backend (moto/stepfunctions/parser/models.py) uses ``None`` instead: every
# nameless execution is ``...:None``, and a second nameless start with the same input returns
# the first one as if it were an idempotent retry.


def _start_execution_named(original: Callable[..., Any]) -> Callable[..., Any]:
    def start(
        self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    return start


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


# --------------------------------------------------------------------------- JSONPath

# A path with a wildcard, slice, filter, union or recursive descent selects a list; any other
# path selects one value. moto returns a one-element list for ``$.list[0].field``.
_MULTI_SELECTOR = re.compile(r"\*|\[\s*-?\d*\s*:|\?\(|,|\.\.")


def _extract_json(original: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def extract_json(path: str, data: Any) -> Any:
        if not _MULTI_SELECTOR.search(path):
            matches = jsonpath_ext.parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return original(path, data)

    return extract_json


def _patch_extract_json() -> None:
    patched = _extract_json(json_path.extract_json)
    json_path.extract_json = patched  # type: ignore[assignment]
    # Modules that imported the function by name hold their own reference.
    for name, module in list(sys.modules.items()):
        if (
            name.startswith("moto.stepfunctions.parser")
            and getattr(module, "extract_json", None) is not patched
            and hasattr(module, "extract_json")
        ):
            module.extract_json = patched  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- endpoint inference

# moto answers InvokeEndpoint with a canned body. Here the endpoint serves its deployed model:
# endpoint ─► endpoint config ─► first variant's model ─► PrimaryContainer (or the model package's
# first inference container) ─► model.tar.gz (+ the code: SAGEMAKER_SUBMIT_DIRECTORY, an s3://
# sourcedir tarball or /opt/ml/model/code inside the model) ─► one long-lived process per model
# that runs the script through the XGBoost 1.7-1 container's own serving stack
# (local/container_serving.py: sagemaker-containers 2.8.6.post2's Transformer and Flask Worker
# under the xgboost 1.7 interpreter), so status codes, content types and error bodies are the
# container's. A non-200 answer is reported as SageMaker reports it: ModelError (424) carrying
# OriginalStatusCode and OriginalMessage.

#: Where endpoint models are extracted, one directory per endpoint config and artifact ETags.
DEFAULT_ENDPOINT_CACHE_DIR = Path(tempfile.gettempdir()) / "moto-endpoint-models"
_endpoint_cache_dir = DEFAULT_ENDPOINT_CACHE_DIR
_served_models: dict[str, ServedModel] = {}
_serve_lock = threading.Lock()
SAGEMAKER_PROGRAM = "SAGEMAKER_PROGRAM"
SAGEMAKER_SUBMIT_DIRECTORY = "SAGEMAKER_SUBMIT_DIRECTORY"
#: The container path of the model directory; the sagemaker SDK's repack puts code in
#: <model>/code, and sagemaker-containers accepts a local directory as the submit directory
#: (_files.download_and_extract: `elif os.path.isdir(uri)`).
CONTAINER_MODEL_DIR = "/opt/ml/model"
#: The interpreter with the container's serving stack (requirements-xgb17.txt); $XGB17_PYTHON
#: overrides it, as for tests/unit/test_xgboost17.py.
SERVING_PYTHON_ENV = "XGB17_PYTHON"
DEFAULT_SERVING_PYTHON = Path(__file__).resolve().parents[1] / ".venv-xgb17" / "bin" / "python"
CONTAINER_SERVING_SCRIPT = Path(__file__).resolve().with_name("container_serving.py")
#: The container must answer /ping within SageMaker's start-up health check; the model loads first.
SERVING_STARTUP_SECONDS = 120.0
#: "your model container must respond to requests within 60 seconds" (SageMaker developer guide,
#: "Use Your Own Inference Code with Hosting Services", How Containers Serve Requests).
INVOCATION_TIMEOUT_SECONDS = 60.0
# InvokeEndpoint's request constraints, from botocore's service model
# (botocore/data/sagemaker-runtime/2017-05-13/service-2.json): Body is a blob of at most
# 6291456 bytes (6 MB, the documented payload limit), ContentType and Accept are strings of at
# most 1024 characters matching \p{ASCII}*, EndpointName matches ^[a-zA-Z0-9](-*[a-zA-Z0-9])* and
# has at most 63 characters. A breach is the front door's ValidationError (400).
MAX_PAYLOAD_BYTES = 6291456
MAX_HEADER_LENGTH = 1024
ENDPOINT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
MAX_ENDPOINT_NAME_LENGTH = 63


def set_endpoint_cache_dir(path: Path | None) -> None:
    """Extract endpoint models under ``path`` (``None``: a directory in the system temp dir)."""
    global _endpoint_cache_dir
    _endpoint_cache_dir = DEFAULT_ENDPOINT_CACHE_DIR if path is None else path


class InvocationValidationError(JsonRESTError):
    """The request breaks InvokeEndpoint's constraints or names no endpoint (400)."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationError", message)


class ModelError(JsonRESTError):
    """The model container rejected the request or failed, as SageMaker reports it (424)."""

    code = 424

    def __init__(self, message: str, original_status: int, original_message: str) -> None:
        super().__init__("ModelError", message)
        self.description = json.dumps(
            {
                "__type": "ModelError",
                "message": message,
                "OriginalStatusCode": original_status,
                "OriginalMessage": original_message,
            }
        )


class ServingError(RuntimeError):
    """The serving process could not load the model or answer (the container failed)."""


@dataclass(frozen=True)
class ServingSpec:
    """What an endpoint serves: its config, variant, model artifact and container environment."""

    endpoint_name: str
    endpoint_config_name: str
    variant_name: str
    model_data_url: str
    environment: dict[str, str]


@dataclass(frozen=True)
class ContainerAnswer:
    """The container's answer to one request."""

    status: int
    content_type: str
    body: bytes


class ContainerServer:
    """One model served by ``local/container_serving.py`` in its own process (line protocol)."""

    def __init__(self, base_dir: Path, environment: dict[str, str]) -> None:
        python = Path(os.environ.get(SERVING_PYTHON_ENV) or DEFAULT_SERVING_PYTHON)
        if not python.exists():
            raise ServingError(
                f"the container's serving interpreter {python} does not exist: run `make setup` "
                f"(it installs requirements-xgb17.txt) or set ${SERVING_PYTHON_ENV}"
            )
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        env.update(environment)
        env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
        self.log_path = base_dir.parent / "serving.log"
        self._lock = threading.Lock()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(python), str(CONTAINER_SERVING_SCRIPT), str(base_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=base_dir,
            )
        ready = self._read(SERVING_STARTUP_SECONDS)
        if not ready.get("ready"):
            self.close()
            raise ServingError(str(ready.get("error") or "the serving process did not start"))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else b""
        if not line:
            self.close()
            tail = self.log_tail()
            raise ServingError(
                f"the serving process stopped or timed out after {timeout:.0f}s; log: {tail}"
            )
        return dict(json.loads(line))

    def log_tail(self) -> str:
        try:
            return self.log_path.read_bytes()[-2000:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerAnswer:
        request = {
            "body": base64.b64encode(body).decode("ascii"),
            "content_type": content_type,
            "accept": accept,
        }
        with self._lock:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
                self.process.stdin.flush()
            except OSError as error:
                raise ServingError(f"the serving process is gone: {error}") from None
            answer = self._read(INVOCATION_TIMEOUT_SECONDS)
        return ContainerAnswer(
            status=int(answer["status"]),
            content_type=str(answer.get("content_type") or ""),
            body=base64.b64decode(answer.get("body") or ""),
        )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@dataclass
class ServedModel:
    """An endpoint model, loaded by the container's serving stack in its own process."""

    server: ContainerServer
    model_dir: Path


def serving_spec(backend: Any, endpoint_name: str) -> ServingSpec:
    """Follow endpoint ─► config ─► model ─► container (or its model package) in the backend."""
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise InvocationValidationError(
            f"Endpoint {endpoint_name} of account {backend.account_id} not found."
        )
    config = backend.describe_endpoint_config(endpoint.endpoint_config_name)
    variant = config["ProductionVariants"][0]
    model = backend.describe_model(variant["ModelName"])
    container = dict(model.primary_container or (model.containers or [{}])[0])
    if container.get("ModelPackageName"):
        package = backend.describe_model_package(container["ModelPackageName"])
        container = dict((package.inference_specification or {}).get("Containers", [{}])[0])
    model_data_url = container.get("ModelDataUrl") or ""
    if not model_data_url:
        raise _server_error(endpoint_name, backend.account_id, "the model has no ModelDataUrl")
    return ServingSpec(
        endpoint_name=endpoint_name,
        endpoint_config_name=endpoint.endpoint_config_name,
        variant_name=variant.get("VariantName", "AllTraffic"),
        model_data_url=model_data_url,
        environment={k: str(v) for k, v in (container.get("Environment") or {}).items()},
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", uri)
    if match is None:
        raise ValueError(f"'{uri}' is not an s3://bucket/key URI")
    return match.group(1), match.group(2)


def _read_s3_object(account_id: str, region: str, uri: str) -> tuple[bytes, str]:
    # The emulator's own S3 backend: the same process in server mode and under mock_aws, so no
    # credentials, endpoint URL or bucket policy stand between an endpoint and its artifacts.
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    bucket, key = split_s3_uri(uri)
    try:
        obj = s3_backends[account_id][get_partition(region)].get_object(bucket, key)
    except Exception as error:  # moto raises MissingBucket and friends
        raise FileNotFoundError(f"{uri}: {error}") from None
    if obj is None:
        raise FileNotFoundError(f"{uri} does not exist")
    return bytes(obj.value), str(obj.etag).strip('"')


def _extract_tar_gz(data: bytes, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        # "data" refuses links, devices and paths that leave the destination.
        tar.extractall(destination, filter="data")


def _in_container_model_dir(uri: str) -> str | None:
    """The part of ``uri`` below /opt/ml/model, or None when ``uri`` is elsewhere."""
    if uri == CONTAINER_MODEL_DIR:
        return ""
    if uri.startswith(CONTAINER_MODEL_DIR + "/"):
        return uri[len(CONTAINER_MODEL_DIR) + 1 :].rstrip("/")
    return None


def _prepare_model_dir(spec: ServingSpec, account_id: str, region: str) -> tuple[Path, Path]:
    """Download and extract the model (and s3:// code) once per config and ETags.

    Returns (base dir standing for /opt/ml, with ``model/``; the code directory). The submit
    directory is either an s3:// sourcedir tarball (staged here, since the serving process cannot
    reach the emulated S3; the container would download it with boto3, _files.s3_download) or
    /opt/ml/model/code (code inside model.tar.gz, the sagemaker SDK's repack layout).
    """
    program = spec.environment.get(SAGEMAKER_PROGRAM, "")
    source_uri = spec.environment.get(SAGEMAKER_SUBMIT_DIRECTORY, "")
    if not program or not source_uri:
        raise FileNotFoundError(
            f"the container environment needs {SAGEMAKER_PROGRAM} and {SAGEMAKER_SUBMIT_DIRECTORY}"
        )
    inside_model = _in_container_model_dir(source_uri)
    if inside_model is None and not source_uri.startswith("s3://"):
        raise FileNotFoundError(
            f"{SAGEMAKER_SUBMIT_DIRECTORY} {source_uri} is neither an s3:// URI nor a directory "
            f"inside {CONTAINER_MODEL_DIR} (the model artifact)"
        )
    model_bytes, model_etag = _read_s3_object(account_id, region, spec.model_data_url)
    source_bytes, source_etag = b"", ""
    if inside_model is None:
        source_bytes, source_etag = _read_s3_object(account_id, region, source_uri)
    digest = hashlib.sha256(
        "|".join([spec.model_data_url, model_etag, source_uri, source_etag, program]).encode()
    ).hexdigest()[:16]
    target = _endpoint_cache_dir / f"{spec.endpoint_config_name}-{digest}"
    if not target.is_dir():
        # Extract beside the target and rename, so a crash never leaves a half-written model.
        _endpoint_cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=_endpoint_cache_dir, prefix=".extract-"))
        try:
            _extract_tar_gz(model_bytes, staging / "opt-ml" / "model")
            if inside_model is None:
                _extract_tar_gz(source_bytes, staging / "submit")
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():
                raise
    base_dir = target / "opt-ml"
    code_dir = target / "submit" if inside_model is None else base_dir / "model" / inside_model
    if not (code_dir / program).is_file():
        raise FileNotFoundError(f"{source_uri} has no {program}")
    return base_dir, code_dir


def served_model(spec: ServingSpec, account_id: str, region: str) -> ServedModel:
    """The endpoint's model, loaded on first use and kept while its artifacts are unchanged.

    Raises when the container's stack cannot load it (missing artifact or code, model_fn fails).
    """
    with _serve_lock:
        base_dir, code_dir = _prepare_model_dir(spec, account_id, region)
        key = str(base_dir)  # the full path: another cache dir is another model
        cached = _served_models.get(key)
        if cached is None or not cached.server.alive:
            environment = {
                SAGEMAKER_PROGRAM: spec.environment[SAGEMAKER_PROGRAM],
                SAGEMAKER_SUBMIT_DIRECTORY: str(code_dir),
            }
            cached = ServedModel(ContainerServer(base_dir, environment), base_dir / "model")
            _served_models[key] = cached
        return cached


def stop_served_models() -> None:
    """Stop every serving process (at exit, and when tests reset the emulator)."""
    with _serve_lock:
        for served in _served_models.values():
            served.server.close()
        _served_models.clear()


atexit.register(stop_served_models)


def _model_error(
    endpoint: str, account_id: str, status: int, kind: str, message: str
) -> ModelError:
    return ModelError(
        f'Received {kind} error ({status}) from primary with message "{message}". See '
        f"/aws/sagemaker/Endpoints/{endpoint} in account {account_id} for more information.",
        status,
        message,
    )


def _server_error(endpoint: str, account_id: str, message: str) -> ModelError:
    return _model_error(endpoint, account_id, 500, "server", message)


def validate_invocation(
    endpoint_name: str, body: bytes, content_type: str | None, accept: str | None
) -> None:
    """InvokeEndpoint's request constraints (botocore's model, see MAX_PAYLOAD_BYTES)."""
    if len(endpoint_name) > MAX_ENDPOINT_NAME_LENGTH or not ENDPOINT_NAME_PATTERN.fullmatch(
        endpoint_name
    ):
        raise InvocationValidationError(
            f"1 validation error detected: Value '{endpoint_name}' at 'endpointName' failed to "
            f"satisfy constraint: Member must satisfy regular expression pattern: "
            f"^[a-zA-Z0-9](-*[a-zA-Z0-9])* and length <= {MAX_ENDPOINT_NAME_LENGTH}"
        )
    if len(body) > MAX_PAYLOAD_BYTES:
        raise InvocationValidationError(
            f"1 validation error detected: Value at 'body' failed to satisfy constraint: Member "
            f"must have length less than or equal to {MAX_PAYLOAD_BYTES} (got {len(body)} bytes)"
        )
    for member, value in (("contentType", content_type), ("accept", accept)):
        if value is not None and (len(value) > MAX_HEADER_LENGTH or not value.isascii()):
            raise InvocationValidationError(
                f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_HEADER_LENGTH} and satisfy "
                r"regular expression pattern: \p{ASCII}*"
            )


def invoke_model(
    served: ServedModel, body: bytes | str, content_type: str | None, accept: str | None
) -> ContainerAnswer:
    """One request through the container's serving stack; the container's status and type."""
    payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return served.server.invoke(payload, content_type, accept)


def _invoke_endpoint(self: Any) -> Any:
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
    spec = serving_spec(backend, endpoint_name)
    try:
        served = served_model(spec, account_id, region)
    except Exception as error:  # the container could not load the model: a server error
        message = f"could not load the model: {type(error).__name__}: {error}"
        raise _server_error(endpoint_name, account_id, message) from None
    try:
        answer = invoke_model(served, body, content_type, accept)
    except ServingError as error:
        raise _server_error(endpoint_name, account_id, str(error)) from None
    if answer.status != 200:
        kind = "client" if 400 <= answer.status < 500 else "server"
        message = answer.body.decode("utf-8", "replace")
        raise _model_error(endpoint_name, account_id, answer.status, kind, message)
    headers = {
        "Content-Type": answer.content_type,
        "x-Amzn-Invoked-Production-Variant": spec.variant_name,
    }
    return 200, headers, answer.body


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
_endpoint_seconds: float | None = None
_endpoint_lifecycle_lock = threading.RLock()


def set_endpoint_transition_seconds(seconds: float | None) -> None:
    """How long Creating, Updating, RollingBack and Deleting last (``None``: env or default)."""
    global _endpoint_seconds
    _endpoint_seconds = seconds


def endpoint_transition_seconds() -> float:
    if _endpoint_seconds is not None:
        return _endpoint_seconds
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
        spec = serving_spec(backend, endpoint.endpoint_name)
        variant = spec.variant_name
        served_model(spec, backend.account_id, backend.region_name)
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


def _invoke_requires_serving_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    # InvokeEndpoint's documented client error is ValidationError (400); an endpoint that is
    # Creating, Failed or Deleting has no container to answer, so it never reaches one (and never
    # answers 500). The exact message for such endpoints is not documented; this is the one AWS
    # gives for an endpoint it cannot route to.
    def invoke(self: Any) -> Any:
        endpoint_name = self._get_params().get("EndpointName") or self.path.split("/")[2]
        backend = sm_models.sagemaker_backends[self.current_account][self.region]
        advance_endpoint(backend, endpoint_name)
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is not None and endpoint.endpoint_status not in SERVING_ENDPOINT_STATUSES:
            raise InvocationValidationError(
                f"Endpoint {endpoint_name} of account {self.current_account} not found."
            )
        return original(self)

    return invoke


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
#: Directory the Lambda zips are extracted to, one subdirectory per CodeSha256.
LAMBDA_CODE_DIR = Path(tempfile.gettempdir()) / "moto-lambda-code"
#: Longest an invocation waits for another one to release the process environment.
ENVIRONMENT_WAIT_SECONDS = 60.0
#: AWS returns at most the last 4 KB of the log in ``x-amz-log-result``.
LOG_TAIL_BYTES = 4096
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}
MODEL_PACKAGE_DETAIL_TYPE = "SageMaker Model Package State Change"

_handlers: dict[tuple[str, str], Callable[[Any, Any], Any]] = {}
_handlers_lock = threading.Lock()
#: One invocation at a time owns ``os.environ`` (it is process-global).
_environment_lock = threading.Lock()
_logs_lock = threading.Lock()
_deliveries: set[threading.Thread] = set()
_deliveries_lock = threading.Lock()
_sequencer_lock = threading.Lock()
_last_sequencer = 0


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


def _in_background(name: str, work: Callable[[], None]) -> None:
    def run() -> None:
        try:
            work()
        except Exception:  # a delivery never fails the request that caused it (as on AWS)
            LOGGER.exception("event delivery %s failed", name)
        finally:
            with _deliveries_lock:
                _deliveries.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _deliveries_lock:
        _deliveries.add(thread)
    thread.start()


def wait_for_deliveries(timeout: float = 30.0) -> bool:
    """Wait until every asynchronous delivery has finished; ``False`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with _deliveries_lock:
            pending = [t for t in _deliveries if t is not threading.current_thread()]
        if not pending:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        pending[0].join(min(remaining, 0.5))


# Lambda, in process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LambdaContext:
    """The context object a Python handler receives (the attributes handlers commonly use)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float = field(repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """One run of a handler: its result or error, and the log lines it left."""

    request_id: str
    payload: Any = None
    error: dict[str, Any] | None = None
    log_lines: list[str] = field(default_factory=list)

    def response_body(self) -> str:
        return json.dumps(self.error if self.error is not None else self.payload)


def runs_in_process(fn: Any) -> bool:
    """A zip function with a Python runtime and handler: one this module can run."""
    code = getattr(fn, "code_bytes", b"") or b""
    return (
        getattr(fn, "package_type", "Zip") == "Zip"
        and str(getattr(fn, "run_time", "") or "").startswith("python3")
        and "." in str(getattr(fn, "handler", "") or "")
        and zipfile.is_zipfile(io.BytesIO(code))
    )


def _code_dir(code_bytes: bytes, code_sha: str) -> Path:
    digest = hashlib.sha256(code_sha.encode()).hexdigest()[:24]
    target = LAMBDA_CODE_DIR / digest
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=f"{digest}-", dir=_ensure(LAMBDA_CODE_DIR)))
        with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
            archive.extractall(staging)  # zipfile drops absolute paths and ".." parts
        try:
            staging.rename(target)
        except OSError:  # another process extracted the same code first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_handler(code_bytes: bytes, code_sha: str, handler: str) -> Callable[[Any, Any], Any]:
    """Import ``handler`` (``module.function``) from the zip, once per code version.

    The zip's modules live under a unique package, so ``from . import logic`` resolves to the
    zip's sibling; the zip is on ``sys.path`` only while importing, for ``import logic``, and
    modules imported that way leave ``sys.modules`` again so two functions never share them.
    Call with the function's environment applied: module-level code may read it.
    """
    key = (code_sha, handler)
    with _handlers_lock:
        if key in _handlers:
            return _handlers[key]
        module_path, _, function_name = handler.rpartition(".")
        root = _code_dir(code_bytes, code_sha)
        package = "_moto_lambda_" + hashlib.sha256(code_sha.encode()).hexdigest()[:16]
        if package not in sys.modules:
            spec = importlib.util.spec_from_loader(package, None, is_package=True)
            assert spec is not None and spec.submodule_search_locations is not None
            spec.submodule_search_locations.append(str(root))
            sys.modules[package] = importlib.util.module_from_spec(spec)
        before = set(sys.modules)
        sys.path.insert(0, str(root))
        try:
            module = importlib.import_module(f"{package}.{module_path.replace('/', '.')}")
        finally:
            sys.path.remove(str(root))
            for name in set(sys.modules) - before:
                origin = getattr(sys.modules[name], "__file__", None)
                if (
                    not name.startswith(package + ".")
                    and origin
                    and Path(origin).is_relative_to(root)
                ):
                    del sys.modules[name]
        function = getattr(module, function_name)
        _handlers[key] = function
        return function


def clear_lambda_cache() -> None:
    """Forget imported handlers: the next invocation of each function is a cold start."""
    with _handlers_lock:
        _handlers.clear()
        for name in [n for n in sys.modules if n.startswith("_moto_lambda_")]:
            del sys.modules[name]


def lambda_environment(fn: Any, endpoint_url: str | None) -> dict[str, str]:
    """The variables the Lambda runtime sets, then the function's own."""
    env = {
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "_HANDLER": str(fn.handler),
    }
    if endpoint_url:
        # Server mode: the handler's boto3 calls must reach this emulator, with any credentials.
        env["AWS_ENDPOINT_URL"] = endpoint_url
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env[name] = os.environ.get(name) or "testing"
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    return env


@contextlib.contextmanager
def _applied_environment(variables: dict[str, str]) -> Iterator[None]:
    if not _environment_lock.acquire(timeout=ENVIRONMENT_WAIT_SECONDS):
        raise TimeoutError(
            f"another in-process Lambda held the environment for {ENVIRONMENT_WAIT_SECONDS} s"
        )
    saved = {name: os.environ.get(name) for name in variables}
    try:
        os.environ.update(variables)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _environment_lock.release()


class _ThreadLogs(logging.Handler):
    """Collects the log records of one thread, formatted as the Lambda Python runtime does."""

    def __init__(self, request_id: str) -> None:
        super().__init__(logging.DEBUG)
        self.request_id = request_id
        self.thread_id: int | None = None
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread_id:
            return
        when = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(f"[{record.levelname}]\t{stamp}\t{self.request_id}\t{message}")


def error_payload(error: BaseException) -> dict[str, Any]:
    """An unhandled exception as Lambda reports it."""
    frames = traceback.format_tb(error.__traceback__)
    return {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": frames}


def invoke_in_process(fn: Any, event: Any, *, endpoint_url: str | None = None) -> Invocation:
    """Run ``fn``'s handler on ``event`` here and log it to ``/aws/lambda/<name>``."""
    invocation = Invocation(request_id=str(uuid.uuid4()))
    logs = _ThreadLogs(invocation.request_id)
    started = time.monotonic()
    timeout = float(fn.timeout or 3)
    environment = lambda_environment(fn, endpoint_url if endpoint_url else _endpoint_url)

    def run() -> None:
        logs.thread_id = threading.get_ident()
        try:
            with _applied_environment(environment):
                handler = load_handler(fn.code_bytes, fn.code_sha_256, fn.handler)
                context = LambdaContext(
                    function_name=fn.function_name,
                    function_version=str(fn.version),
                    invoked_function_arn=fn.function_arn,
                    memory_limit_in_mb=int(fn.memory_size),
                    aws_request_id=invocation.request_id,
                    log_group_name=fn.logs_group_name,
                    log_stream_name=_log_stream_name(fn, invocation.request_id),
                    deadline=time.monotonic() + timeout,
                )
                result = handler(event, context)
                json.dumps(result)  # Lambda fails an invocation whose result is not JSON
                invocation.payload = result
        except Exception as error:
            invocation.error = error_payload(error)
            LOGGER.debug("Lambda %s failed", fn.function_name, exc_info=True)

    worker = threading.Thread(target=run, name=f"lambda-{fn.function_name}", daemon=True)
    root = logging.getLogger()
    root.addHandler(logs)
    try:
        worker.start()
        # The handler's own timeout, plus the time it may wait for the environment.
        worker.join(timeout + ENVIRONMENT_WAIT_SECONDS)
    finally:
        root.removeHandler(logs)
    if worker.is_alive():
        invocation.error = {
            "errorMessage": f"Task timed out after {timeout:.2f} seconds",
            "errorType": "Sandbox.Timedout",
        }
    invocation.log_lines = _write_invocation_log(
        fn, invocation, logs.lines, time.monotonic() - started
    )
    return invocation


def _log_stream_name(fn: Any, request_id: str) -> str:
    return f"{utcnow():%Y/%m/%d}/[{fn.version}]{request_id.replace('-', '')}"


def _write_invocation_log(
    fn: Any, invocation: Invocation, handler_lines: list[str], seconds: float
) -> list[str]:
    """Write the invocation's log stream as Lambda does; returns its lines."""
    request_id = invocation.request_id
    lines = [f"START RequestId: {request_id} Version: {fn.version}", *handler_lines]
    if invocation.error is not None:
        lines.append(json.dumps({**invocation.error, "requestId": request_id}))
    else:
        # Not an AWS line: the emulator records the result so `make logs` shows what happened.
        lines.append(f"RESULT {json.dumps(invocation.payload, default=str)}")
    lines += [
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: {seconds * 1000:.2f} ms",
    ]
    now = int(time.time() * 1000)
    stream = _log_stream_name(fn, request_id)
    with _logs_lock:
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.logs_backend.create_log_stream(fn.logs_group_name, stream)
        fn.logs_backend.put_log_events(
            fn.logs_group_name, stream, [{"timestamp": now, "message": m} for m in lines]
        )
    return lines


def _send_to_queue_or_topic(arn: str, body: str, attributes: dict[str, str]) -> None:
    parts = arn.split(":")
    service, region, account, name = parts[2], parts[3], parts[4], parts[5]
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(
            queue_name=name,
            message_body=body,
            message_attributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
            },
        )
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(message=body, arn=arn)
    else:
        LOGGER.warning("not delivering to %s: only SQS and SNS destinations are emulated", arn)


def _deliver_failure(fn: Any, event: Any, invocation: Invocation) -> None:
    """An asynchronous invocation failed: its dead-letter queue and OnFailure destination."""
    error = invocation.error or {}
    dead_letter = (fn.__dict__.get("dead_letter_config") or {}).get("TargetArn")
    if dead_letter:
        attributes = {
            "RequestID": invocation.request_id,
            "ErrorCode": "200",
            "ErrorMessage": str(error.get("errorMessage", ""))[:1000],
        }
        _send_to_queue_or_topic(dead_letter, json.dumps(event), attributes)
    for config in getattr(fn, "event_invoke_config", []) or []:
        destination = (
            config.config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        )
        if destination:
            record = {
                "version": "1.0",
                "timestamp": utcnow().isoformat() + "Z",
                "requestContext": {
                    "requestId": invocation.request_id,
                    "functionArn": f"{fn.function_arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 1,
                },
                "requestPayload": event,
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": error,
            }
            _send_to_queue_or_topic(destination, json.dumps(record), {})


def invoke_async(fn: Any, event: Any) -> None:
    """``InvocationType=Event``: run in the background; a failure goes to the DLQ/destination."""
    endpoint_url = _endpoint_url

    def work() -> None:
        invocation = invoke_in_process(fn, event, endpoint_url=endpoint_url)
        if invocation.error is not None:
            _deliver_failure(fn, event, invocation)

    _in_background(f"lambda-async-{fn.function_name}", work)


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _lambda_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        if not runs_in_process(self):
            return original(self, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        invocation_type = _header(request_headers, "x-amz-invocation-type") or "RequestResponse"
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            invoke_async(self, event)
            return b""
        invocation = invoke_in_process(self, event)
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
        tail = "\n".join(invocation.log_lines).encode()[-LOG_TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        response_headers["x-amz-executed-version"] = str(self.version)
        return invocation.response_body().encode()

    return invoke


def _simple_backend_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    # With ``lambda: use_docker: False`` moto echoes the payload; run Python code instead.
    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Any:
        from moto.awslambda.models import LambdaBackend

        if runs_in_process(self.get_function(function_name, qualifier)):
            return LambdaBackend.invoke(
                self, function_name, qualifier, body, headers, response_headers
            )
        return original(self, function_name, qualifier, body, headers, response_headers)

    return invoke


# Targets -----------------------------------------------------------------------------------------

_OUR_TARGETS = frozenset({"lambda", "states", "sns"})


def _target_service(target: dict[str, Any]) -> str:
    parts = str(target.get("Arn", "")).split(":")
    return parts[2] if len(parts) > 2 else ""


def _deliver_to_target(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = str(target["Arn"])
    _, _, service, region, account, *_ = arn.split(":")
    text = target_input(target, event, rule)
    endpoint_url = _endpoint_url

    def on_failure(error: Exception) -> None:
        # The target's own dead-letter queue keeps an event EventBridge could not deliver.
        LOGGER.warning("could not deliver event %s to %s: %s", event.get("id"), arn, error)
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter:
            attributes = {
                "RULE_ARN": str(getattr(rule, "arn", "")),
                "TARGET_ARN": arn,
                "ERROR_CODE": type(error).__name__,
                "ERROR_MESSAGE": str(error)[:1000],
            }
            _send_to_queue_or_topic(dead_letter, json.dumps(event), attributes)

    def work() -> None:
        try:
            if service == "lambda":
                from moto.awslambda.utils import get_backend as lambda_backend

                fn = lambda_backend(account, region).get_function(arn)
                if runs_in_process(fn):
                    invocation = invoke_in_process(fn, json.loads(text), endpoint_url=endpoint_url)
                    if invocation.error is not None:
                        _deliver_failure(fn, json.loads(text), invocation)
                else:
                    fn.invoke(text, {"x-amz-invocation-type": "Event"}, {})
            elif service == "states":
                from moto.stepfunctions.responses import get_backend as sfn_backend

                sfn_backend(account, region).start_execution(
                    state_machine_arn=arn, name=str(uuid.uuid4()), execution_input=text
                )
            elif service == "sns":
                _send_to_queue_or_topic(arn, text, {})
        except Exception as error:
            on_failure(error)

    _in_background(f"events-{service}-{event.get('id', '')}", work)


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
        rest = [t for t in self.targets if _target_service(t) not in _OUR_TARGETS]
        if rest:
            # A copy with moto's targets only: the rule itself is never modified.
            moto_rule = copy.copy(self)
            moto_rule.targets = rest
            original(moto_rule, original_event, transform_input)

    return send


# Event sources -----------------------------------------------------------------------------------


def next_sequencer() -> str:
    """A strictly increasing hex sequencer, like the one S3 gives each event of a key."""
    global _last_sequencer
    with _sequencer_lock:
        _last_sequencer = max(_last_sequencer + 1, time.time_ns())
        return f"{_last_sequencer:018X}"


def s3_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any]:
    """The EventBridge event S3 sends for ``event_name`` on ``key``, in AWS's shape."""
    from moto.s3.notifications import _detail_type

    obj: dict[str, Any] = {
        "key": key.name,
        "size": key.size,
        "etag": key.etag.replace('"', ""),
        "sequencer": next_sequencer(),
    }
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    now = time.time()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": _detail_type(event_name),
        "source": "aws.s3",
        "account": account_id,
        "time": now,
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": _S3_REASONS.get(event_name, event_name.split(":")[1]),
        },
        # moto's InputTransformer for SQS/log targets reads it; our targets drop it.
        "ingestion-time": now,
    }


def _send_s3_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    from moto.events.models import events_backends
    from moto.s3.models import s3_backends

    try:
        if event_name == s3_notifications.S3NotificationEvent.OBJECT_TAGGING_PUT_EVENT:
            # moto's PutObject always sets the (often empty) tag set: no "Object Tags Added".
            tagger = s3_backends[account_id][key.partition].tagger
            if not tagger.list_tags_for_resource(key.arn)["Tags"]:
                return
        event: Any = s3_event(account_id, bucket, event_name, key)  # moto's EventMessageType
        default_bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
        for rule in list(default_bus.rules.values()) if default_bus else []:
            rule.send_to_targets(event)
    except Exception:  # S3 sends events asynchronously: the upload itself never fails
        LOGGER.exception("S3 event for s3://%s/%s not delivered", bucket.name, key.name)


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


# --------------------------------------------------------------------------- install


def apply() -> None:
    """Install every extension (safe to call more than once)."""
    global _applied
    with _lock:
        if _applied:
            return
        for cls in (aws_sdk.StateTaskServiceAwsSdk, unsupported.StateTaskServiceUnsupported):
            cls._normalise_response = _normalise_in_place  # type: ignore[method-assign]
        aws_sdk.StateTaskServiceAwsSdk._normalise_parameters = _pascal_case_parameters  # type: ignore[method-assign]
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
        backend.update_model_package = _update_model_package(  # type: ignore[method-assign]
            backend.update_model_package
        )
        _patch_extract_json()
        SageMakerResponse.list_pipeline_execution_steps = _list_pipeline_execution_steps  # type: ignore[attr-defined]
        SageMakerResponse.stop_pipeline_execution = _stop_pipeline_execution  # type: ignore[attr-defined]
        SageMakerResponse.update_endpoint = _update_endpoint  # type: ignore[attr-defined]

        StepFunctionResponse.validate_state_machine_definition = (  # type: ignore[attr-defined]
            _validate_state_machine_definition
        )
        StepFunctionResponse.list_state_machine_versions = _list_state_machine_versions  # type: ignore[attr-defined]
        SageMakerResponse.delete_model_package_group = _delete_model_package_group  # type: ignore[attr-defined]
        S3Response._bucket_response_put = _bucket_response_put(  # type: ignore[method-assign]
            S3Response._bucket_response_put
        )
        S3Response.get_bucket_lifecycle = _get_bucket_lifecycle(  # type: ignore[method-assign]
            S3Response.get_bucket_lifecycle
        )
        FakeBucket.get_permission = _bucket_get_permission  # type: ignore[method-assign]
        S3Response.get_bucket_notification = _get_bucket_notification(  # type: ignore[method-assign]
            S3Response.get_bucket_notification
        )
        LambdaFunction.__init__ = _lambda_init(LambdaFunction.__init__)  # type: ignore[method-assign]
        LambdaFunction.update_configuration = _lambda_update_configuration(  # type: ignore[method-assign]
            LambdaFunction.update_configuration
        )
        LambdaFunction.get_configuration = _lambda_get_configuration(  # type: ignore[method-assign]
            LambdaFunction.get_configuration
        )

        from moto.awslambda import urls as lambda_urls
        from moto.awslambda.models import LambdaBackend
        from moto.awslambda.responses import LambdaResponse

        LambdaBackend.put_function_concurrency = _put_function_concurrency  # type: ignore[method-assign]
        LambdaResponse.get_account_settings = _get_account_settings  # type: ignore[attr-defined]
        # GET /2016-08-19/account-settings/ (botocore's lambda model): moto routes no such path.
        lambda_urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = (
            LambdaResponse.dispatch
        )
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        StepFunctionsParserBackend.start_execution = _start_execution_named(  # type: ignore[method-assign]
            StepFunctionsParserBackend.start_execution
        )
        BaseResponse.call_action = _call_action(BaseResponse.call_action)  # type: ignore[method-assign,assignment]
        SageMakerRuntimeResponse.invoke_endpoint = _invoke_requires_serving_endpoint(  # type: ignore[method-assign]
            _invoke_endpoint
        )
        # Keep InvokeEndpoint bodies as bytes: moto decodes every body as UTF-8 first, so a binary
        # body died in BaseResponse.setup_class with an HTML 500 before reaching the endpoint.
        SageMakerRuntimeResponse.use_raw_body = True
        backend.create_endpoint = _create_endpoint_lifecycle(backend.create_endpoint)  # type: ignore[method-assign]
        backend.describe_endpoint = _describe_endpoint_lifecycle(backend.describe_endpoint)  # type: ignore[method-assign]
        backend.list_endpoints = _list_endpoints_lifecycle(backend.list_endpoints)  # type: ignore[method-assign]
        backend.delete_endpoint = _delete_endpoint_lifecycle(backend.delete_endpoint)  # type: ignore[method-assign]
        EventRule.send_to_targets = _rule_send_to_targets(EventRule.send_to_targets)  # type: ignore[method-assign]
        LambdaFunction.invoke = _lambda_invoke(LambdaFunction.invoke)  # type: ignore[method-assign]
        LambdaSimpleBackend.invoke = _simple_backend_invoke(LambdaSimpleBackend.invoke)  # type: ignore[method-assign]
        s3_notifications._send_event_bridge_message = _send_s3_event_bridge_message
        # IAM for STS sessions (moto's authorization hook): local/access_control.py.
        access_control.install()
        backend.create_model_package = _create_model_package_emits(  # type: ignore[method-assign]
            backend.create_model_package
        )
        backend.update_model_package = _update_model_package_emits(  # type: ignore[method-assign]
            backend.update_model_package
        )
        from local import event_source_mapping  # SQS event source mappings: its own module

        event_source_mapping.install()
        _applied = True
