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
4. ``UpdateEndpoint`` switches an endpoint to a new endpoint config (moto lacks it).
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
    ``SAGEMAKER_PROGRAM`` script from the emulated S3, run through ``model_fn`` / ``input_fn`` /
    ``predict_fn`` / ``output_fn``; bad input is a ``ModelError`` (tested in
    ``tests/integration/test_invoke_endpoint.py``).
11. EventBridge delivers to Lambda, Step Functions and SNS targets (``Input``, ``InputPath``,
    ``InputTransformer``); a Python zip Lambda runs in process, for ``Invoke`` too, with its
    environment and ``AWS_ENDPOINT_URL``, logging to ``/aws/lambda/<name>``; S3 events take AWS's
    shape; SageMaker emits "Model Package State Change" (tested in
    ``tests/integration/test_event_delivery.py``).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import fnmatch
import hashlib
import importlib.util
import io
import json
import logging
import os
import re
import shutil
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

from local import sfn_errors

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
# first inference container) ─► model.tar.gz + sourcedir.tar.gz from the emulated S3 ─► the
# script's model_fn / input_fn / predict_fn / output_fn, as SageMaker's XGBoost container runs them.

#: Where endpoint models are extracted, one directory per endpoint config and artifact ETags.
DEFAULT_ENDPOINT_CACHE_DIR = Path(tempfile.gettempdir()) / "moto-endpoint-models"
_endpoint_cache_dir = DEFAULT_ENDPOINT_CACHE_DIR
_served_models: dict[str, ServedModel] = {}
_serve_lock = threading.Lock()
SAGEMAKER_PROGRAM = "SAGEMAKER_PROGRAM"
SAGEMAKER_SUBMIT_DIRECTORY = "SAGEMAKER_SUBMIT_DIRECTORY"
HANDLER_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn")


def set_endpoint_cache_dir(path: Path | None) -> None:
    """Extract endpoint models under ``path`` (``None``: a directory in the system temp dir)."""
    global _endpoint_cache_dir
    _endpoint_cache_dir = DEFAULT_ENDPOINT_CACHE_DIR if path is None else path


class InvocationValidationError(JsonRESTError):
    """The request names no endpoint this account has (AWS: ``ValidationError``, 400)."""

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


@dataclass(frozen=True)
class ServingSpec:
    """What an endpoint serves: its config, variant, model artifact and container environment."""

    endpoint_name: str
    endpoint_config_name: str
    variant_name: str
    model_data_url: str
    environment: dict[str, str]


@dataclass
class ServedModel:
    """A loaded model and the serving functions of the script that loaded it."""

    model: Any
    handlers: dict[str, Callable[..., Any]]


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


def _prepare_model_dir(spec: ServingSpec, account_id: str, region: str) -> tuple[Path, Path]:
    """Download and extract model + code once per config and ETags; return (model dir, script)."""
    model_bytes, model_etag = _read_s3_object(account_id, region, spec.model_data_url)
    program = spec.environment.get(SAGEMAKER_PROGRAM, "")
    source_uri = spec.environment.get(SAGEMAKER_SUBMIT_DIRECTORY, "")
    if not program or not source_uri:
        raise FileNotFoundError(
            f"the container environment needs {SAGEMAKER_PROGRAM} and {SAGEMAKER_SUBMIT_DIRECTORY}"
        )
    source_bytes, source_etag = _read_s3_object(account_id, region, source_uri)
    digest = hashlib.sha256(
        "|".join([spec.model_data_url, model_etag, source_uri, source_etag]).encode()
    ).hexdigest()[:16]
    target = _endpoint_cache_dir / f"{spec.endpoint_config_name}-{digest}"
    if not target.is_dir():
        # Extract beside the target and rename, so a crash never leaves a half-written model.
        _endpoint_cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=_endpoint_cache_dir, prefix=".extract-"))
        try:
            _extract_tar_gz(model_bytes, staging / "model")
            _extract_tar_gz(source_bytes, staging / "code")
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():
                raise
    script = target / "code" / program
    if not script.is_file():
        raise FileNotFoundError(f"{source_uri} has no {program}")
    return target / "model", script


def load_serving_script(script: Path, module_name: str) -> dict[str, Callable[..., Any]]:
    """Import ``script`` as its own module (never the repo's ``train``) and return its handlers."""
    module_spec = importlib.util.spec_from_file_location(module_name, script)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {script}")
    module = importlib.util.module_from_spec(module_spec)
    # Registered under its unique name: dataclasses look their module up while classes are built.
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    missing = [name for name in HANDLER_NAMES if not callable(getattr(module, name, None))]
    if missing:
        raise ImportError(f"{script.name} defines no {', '.join(missing)}")
    return {name: getattr(module, name) for name in HANDLER_NAMES}


def served_model(spec: ServingSpec, account_id: str, region: str) -> ServedModel:
    """The endpoint's model, loaded on first use and kept while its artifacts are unchanged."""
    with _serve_lock:
        model_dir, script = _prepare_model_dir(spec, account_id, region)
        key = model_dir.parent.name
        cached = _served_models.get(key)
        if cached is None:
            module_name = "_endpoint_model_" + re.sub(r"\W", "_", key)
            handlers = load_serving_script(script, module_name)
            cached = ServedModel(handlers["model_fn"](str(model_dir)), handlers)
            _served_models[key] = cached
        return cached


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


def invoke_model(
    served: ServedModel, body: bytes | str, content_type: str | None, accept: str | None
) -> tuple[bytes, str]:
    """One request through input_fn ─► predict_fn ─► output_fn; returns (body, content type).

    A ``ValueError`` from input_fn or output_fn is the client's fault (raised as is); anything
    else propagates as the container's failure.
    """
    data = served.handlers["input_fn"](body, content_type)
    prediction = served.handlers["predict_fn"](data, served.model)
    output = served.handlers["output_fn"](prediction, accept)
    media_type = "application/json"
    if isinstance(output, tuple):  # handlers may name the content type they produced
        output, media_type = output
    elif accept and "*" not in accept:
        media_type = accept.split(",")[0].strip()
    payload = output.encode("utf-8") if isinstance(output, str) else bytes(output)
    return payload, media_type


def _invoke_endpoint(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    endpoint_name = self._get_params().get("EndpointName") or self.path.split("/")[2]
    backend = sm_models.sagemaker_backends[account_id][region]
    spec = serving_spec(backend, endpoint_name)
    try:
        served = served_model(spec, account_id, region)
    except Exception as error:  # the container could not load the model: a server error
        message = f"could not load the model: {type(error).__name__}: {error}"
        raise _server_error(endpoint_name, account_id, message) from None
    try:
        body, media_type = invoke_model(
            served, self.body or b"", self.headers.get("Content-Type"), self.headers.get("Accept")
        )
    except ValueError as error:
        raise _model_error(endpoint_name, account_id, 400, "client", str(error)) from None
    except Exception as error:
        raise _server_error(endpoint_name, account_id, f"{type(error).__name__}: {error}") from None
    headers = {"Content-Type": media_type, "x-Amzn-Invoked-Production-Variant": spec.variant_name}
    return 200, headers, body


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

        BaseResponse.call_action = _call_action(BaseResponse.call_action)  # type: ignore[method-assign,assignment]
        SageMakerRuntimeResponse.invoke_endpoint = _invoke_endpoint  # type: ignore[method-assign]
        EventRule.send_to_targets = _rule_send_to_targets(EventRule.send_to_targets)  # type: ignore[method-assign]
        LambdaFunction.invoke = _lambda_invoke(LambdaFunction.invoke)  # type: ignore[method-assign]
        LambdaSimpleBackend.invoke = _simple_backend_invoke(LambdaSimpleBackend.invoke)  # type: ignore[method-assign]
        s3_notifications._send_event_bridge_message = _send_s3_event_bridge_message
        backend.create_model_package = _create_model_package_emits(  # type: ignore[method-assign]
            backend.create_model_package
        )
        backend.update_model_package = _update_model_package_emits(  # type: ignore[method-assign]
            backend.update_model_package
        )
        _applied = True
