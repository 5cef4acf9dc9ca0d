"""Every request validated against botocore's service model, as AWS's front door does.

Required members, types, string/blob length, list/map size, numeric range, ``pattern`` and
``enum``; a violation is refused with AWS's ``ValidationException`` (``ValidationError`` for
query services, or the validation error the service models) before moto stores anything.
``core``'s front door calls ``check_request``. Tested in
``tests/integration/test_request_validation.py``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import regex
from moto.core.responses import BaseResponse

LOGGER = logging.getLogger(__name__)

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


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    #: Whether requests are validated (tests switch it off to reach moto's own checks).
    enabled: bool = True


_STATE = _State()


def set_request_validation(enabled: bool) -> None:
    """Switch request validation off only to reproduce moto's own (lenient) behaviour."""
    _STATE.enabled = enabled


def enabled() -> bool:
    """Whether requests are validated (on unless a test switched it off)."""
    return _STATE.enabled


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


# --------------------------------------------------------------------------- install


def install() -> None:
    """Nothing to patch: ``check_request`` is called by the front door (``core``)."""


def reset() -> None:
    """Validate every request again."""
    _STATE.enabled = True
