"""Step Functions as AWS runs it (moto's ``stepfunctions`` service and its ASL interpreter).

1. aws-sdk task results are normalised like AWS does: streaming ``Body`` becomes text, datetimes
   become ISO-8601 strings (otherwise ``States.StringToJson`` on ``s3:getObject`` fails and any
   datetime breaks ``DescribeExecution``).
2. aws-sdk task error names follow AWS (``S3.NoSuchKeyException``,
   ``SageMaker.SageMakerException``), as ``emulator/sfn_errors.py`` names them; so do the
   optimized SageMaker integration's (``SageMaker.AmazonSageMakerException``).
3. A JSONPath without wildcards, slices or filters selects one value, as on AWS (moto returns
   ``["x"]`` for ``$.list[0].field``).
4. ``StartExecution`` without ``name`` gets a generated UUID name, as on AWS.
5. What Terraform's aws provider (5.100) needs: ``ValidateStateMachineDefinition`` (parses the
   ASL) and ``ListStateMachineVersions``.
6. The 256 KiB payload limit: ``States.DataLimitExceeded`` fails the execution, whatever the
   state's Retry and Catch.

Tested in ``tests/integration/test_aws_stepfunctions.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from jsonpath_ng import ext as jsonpath_ext
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as unsupported,
)
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.responses import StepFunctionResponse

from emulator import sfn_errors
from emulator.aws import core

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
    # emulator/sfn_errors.py is the one home of Step Functions' names: modeled per operation, else
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


def _optimized_task_error(original: Callable[..., Any]) -> Callable[..., Any]:
    """An optimized integration's service error named as AWS names it (``sfn_errors``): moto
    runs integrations it does not implement (``arn:aws:states:::sagemaker:createModel``...)
    through ``StateTaskServiceUnsupported``, which named every service error ``States.Runtime``,
    so a Retry on ``SageMaker.AmazonSageMakerException`` (the name the SageMaker integration's
    documented example retries) never ran."""

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        service, action = str(self.resource.api_name), str(self.resource.api_action)
        code = str(ex.response.get("Error", {}).get("Code", ""))
        try:
            error = sfn_errors.task_error_name(sfn_errors.OPTIMIZED, service, action, code)
            metadata = ex.response.get("ResponseMetadata", {})
            cause = sfn_errors.optimized_cause(
                service,
                code,
                str(ex.response.get("Error", {}).get("Message", "")),
                int(metadata.get("HTTPStatusCode", 400)),
                str(metadata.get("RequestId", "")),
            )
        except (sfn_errors.UnknownService, ValueError):  # no spelling recorded: moto's answer
            return original(self, env, ex)
        return aws_sdk.StateTaskServiceAwsSdk._get_task_failure_event(self, env, error, cause)

    return from_error


# --------------------------------------------------------------------------- 6. payload limit

# "Maximum input or output size for a task, activity, or workflow execution: 256 KiB of data as a
# UTF-8 encoded string" (Step Functions developer guide, "Step Functions service quotas"). moto's
# interpreter checks each state's output and each task's result against it
# (``moto.stepfunctions.parser.quotas``) and raises ``States.DataLimitExceeded``, but then
# - a Retry or Catch on the state handled it, although the error-handling page calls it "a
#   terminal error that can't be caught by the States.ALL error type"
#   (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html). The
#   stricter reading is modelled: no Retry or Catch handles it, not even one naming it, and the
#   execution fails with it;
# - inside a Parallel branch it became ``States.Runtime``: the branch's error is re-raised as a
#   custom error name, which moto refuses for any ``States.`` name. A branch's ``States.*`` error
#   now keeps its name, as on AWS.
TERMINAL_ERRORS = frozenset({"States.DataLimitExceeded"})


def _is_terminal(failure_event: Any) -> bool:
    return str(getattr(failure_event.error_name, "error_name", "")) in TERMINAL_ERRORS


def _no_retry_of_terminal(original: Callable[..., Any]) -> Callable[..., Any]:
    def handle_retry(self: Any, env: Any, failure_event: Any) -> Any:
        from moto.stepfunctions.parser.asl.component.common.retry.retry_outcome import (
            RetryOutcome,
        )

        if _is_terminal(failure_event):
            return RetryOutcome.CannotRetry
        return original(self, env, failure_event)

    return handle_retry


def _no_catch_of_terminal(original: Callable[..., Any]) -> Callable[..., Any]:
    def handle_catch(self: Any, env: Any, failure_event: Any) -> None:
        from moto.stepfunctions.parser.asl.component.common.catch.catch_outcome import (
            CatchOutcome,
        )

        if _is_terminal(failure_event):
            env.stack.append(CatchOutcome.NotCaught)  # what the catchers leave when none match
            return
        original(self, env, failure_event)

    return handle_catch


def branch_error_name(error_name: str | None) -> Any:
    """The error name a failed Parallel branch is re-raised with: a ``States.*`` name keeps its
    type (moto's ``CustomErrorName`` refuses those), any other stays a custom name."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )

    if error_name and error_name.startswith("States."):
        try:
            return StatesErrorName.from_name(error_name)
        except Exception:  # a States.* name the interpreter does not know: States.Runtime
            return StatesErrorName.from_name("States.Runtime")
    return CustomErrorName(error_name=error_name)


def _install_payload_limit() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl

    state = execute_state.ExecutionState
    state._handle_retry = _no_retry_of_terminal(state._handle_retry)  # type: ignore[method-assign]
    state._handle_catch = _no_catch_of_terminal(state._handle_catch)  # type: ignore[method-assign]
    branches_decl.CustomErrorName = branch_error_name  # type: ignore[misc,assignment]


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


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """Task results, error names, JSONPath, nameless executions, Terraform's actions."""
    for cls in (aws_sdk.StateTaskServiceAwsSdk, unsupported.StateTaskServiceUnsupported):
        cls._normalise_response = _normalise_in_place  # type: ignore[method-assign]
    aws_sdk.StateTaskServiceAwsSdk._normalise_parameters = _pascal_case_parameters  # type: ignore[method-assign]
    aws_sdk.StateTaskServiceAwsSdk._normalise_service_error_name = staticmethod(  # type: ignore[method-assign]
        _normalise_service_error_name
    )
    aws_sdk.StateTaskServiceAwsSdk._normalise_exception_name = staticmethod(  # type: ignore[method-assign]
        _normalise_exception_name
    )
    _patch_extract_json()
    _install_payload_limit()
    unsupported.StateTaskServiceUnsupported._from_error = _optimized_task_error(  # type: ignore[method-assign]
        unsupported.StateTaskServiceUnsupported._from_error
    )
    StepFunctionResponse.validate_state_machine_definition = (  # type: ignore[attr-defined]
        _validate_state_machine_definition
    )
    StepFunctionResponse.list_state_machine_versions = _list_state_machine_versions  # type: ignore[attr-defined]
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    StepFunctionsParserBackend.start_execution = _start_execution_named(  # type: ignore[method-assign]
        StepFunctionsParserBackend.start_execution
    )


def reset() -> None:
    """Nothing kept here: executions live on moto's backends."""
