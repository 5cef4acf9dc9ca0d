"""Every request validated against botocore's service model, as AWS's front door does.

Required members, types, string/blob length, list/map size, numeric range, ``pattern`` and
``enum``; a violation is refused with AWS's ``ValidationException`` (``ValidationError`` for
query services, or the validation error the service models) before moto stores anything.
``core``'s front door calls ``check_request``. S3 (rest-xml), served outside that front door,
is checked by ``check_s3_request`` (called from ``emulator/aws/s3.py``) and refused with S3's own
codes (InvalidArgument, MalformedXML, InvalidBucketName, ...). Tested in
``tests/integration/test_request_validation.py`` and ``test_request_validation_s3_cloudwatch.py``.
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
# S3 (rest-xml) is served by S3Response's own dispatch, not ``call_action``, and answers each
# violation with its own code (InvalidArgument, MalformedXML, ...): ``check_s3_request`` below,
# called by ``emulator/aws/s3.py``.

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


def validation_error_response(
    protocol: str, code: str, message: str, query_error: str | None = None
) -> Any:
    """The error AWS answers with, in the protocol's shape (JSON body or XML ErrorResponse).

    ``query_error``: for a JSON request to an ``awsQueryCompatible`` service, the query code
    sent in the ``x-amzn-query-error`` header ("<code>;Sender"), from which AWS's SDKs take the
    error code the service had under the query protocol (botocore ``parsers.py``,
    ``_do_query_compatible_error_parse``; Smithy "awsQueryCompatible trait").
    """
    request_id = str(uuid.uuid4())
    if protocol in {"json", "rest-json"}:
        body = json.dumps({"__type": code, "message": message})
        headers = {
            "status": "400",
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
            "Content-Type": "application/x-amz-json-1.1",
        }
        if query_error is not None:
            headers["x-amzn-query-error"] = f"{query_error};Sender"
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
    code, query_error = validation_error_code(operation.service_model, protocol)
    return validation_error_response(
        protocol, code, validation_message(violations), query_error=query_error
    )


def validation_error_code(service_model: Any, protocol: str) -> tuple[str, str | None]:
    """The code a service answers constraint violations with, and, for a JSON request to an
    ``awsQueryCompatible`` service, the query code for ``x-amzn-query-error``.

    A service that models its validation error names it: sagemaker-runtime's ``ValidationError``
    (the code the InvokeEndpoint API reference lists); CloudWatch's ``ValidationException``
    shape, whose query code is ``ValidationError`` (its ``error.code`` in
    botocore/data/cloudwatch/2010-08-01/service-2.json). Over the query protocol the shape's
    ``error.code`` is the wire code; over JSON, the shape's name. Otherwise the protocol's usual
    code.
    """
    for name in ("ValidationException", "ValidationError"):
        if name in service_model.shape_names:
            query_code = service_model.shape_for(name).metadata.get("error", {}).get("code", name)
            if protocol in {"query", "ec2"}:
                return query_code, None
            compatible = "awsQueryCompatible" in service_model.metadata
            return name, (query_code if compatible else None)
    return VALIDATION_ERROR_CODES.get(protocol, "ValidationException"), None


# --------------------------------------------------------------------------- install


def install() -> None:
    """Nothing to patch: ``check_request`` is called by the front door (``core``)."""


def reset() -> None:
    """Validate every request again."""
    _STATE.enabled = True


# --------------------------------------------------------------------------- S3 (rest-xml)

# S3 is served by moto's own dispatch (``S3Response.bucket_response``/``key_response``), not
# ``call_action``, and moto names its requests by IAM action ("PutObject", "ListBucket"), not by
# API operation. So the operation is found here the way the model states it: each operation's
# ``http.method`` and ``http.requestUri`` ("/{Bucket}?lifecycle", "/{Bucket}/{Key+}"), with the
# request's required header and querystring members telling apart operations that share a URI
# (PutObject / CopyObject / UploadPart / UploadPartCopy; GetObject / ListParts).
# botocore/data/s3/2006-03-01/service-2.json; S3 API reference for each operation.
#
# S3 answers violations with its own codes, never ValidationException ("Error responses",
# https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList):
# - a member of the XML body breaking the schema (a missing required element, a value outside
#   an enum): ``MalformedXML`` "The XML you provided was not well-formed or did not validate
#   against our published schema";
# - a required XML body that is absent: ``MissingRequestBodyError`` "Request Body is empty.";
# - the bucket name: ``InvalidBucketName`` "The specified bucket is not valid.";
# - ``x-amz-storage-class`` outside its enum: ``InvalidStorageClass`` "The storage class you
#   specified is not valid";
# - any other header or querystring member: ``InvalidArgument`` with ``ArgumentName`` and
#   ``ArgumentValue``. S3's wording differs per argument ("Invalid canned ACL", "The encryption
#   method specified is not supported") and is not documented for each: the code is S3's, the
#   message is the front door's constraint text (stricter reading: every modelled constraint is
#   enforced, even where S3 might accept the value).
# - an operation whose model requires a request checksum (``httpChecksum.requestChecksumRequired``,
#   e.g. PutBucketLifecycleConfiguration, DeleteObjects) without ``Content-MD5`` or an
#   ``x-amz-checksum-*`` header or trailer: ``InvalidRequest`` "Missing required header for this
#   request: Content-MD5" (S3 API reference, PutBucketLifecycleConfiguration / DeleteObjects:
#   "The Content-MD5 or x-amz-checksum-algorithm header is required").

S3_MALFORMED_XML = (
    "MalformedXML",
    "The XML you provided was not well-formed or did not validate against our published schema",
)


@dataclass(frozen=True)
class S3Refusal:
    """S3's answer to a request breaking the model: its code, message and, for
    ``InvalidArgument``, the argument's name and value."""

    code: str
    message: str
    argument_name: str | None = None
    argument_value: str | None = None


def _uri_literals(request_uri: str) -> tuple[str, dict[str, str | None]]:
    """``("/{Bucket}", {"list-type": "2"})`` for ``"/{Bucket}?list-type=2"``."""
    path, _, query = request_uri.partition("?")
    literals: dict[str, str | None] = {}
    for part in filter(None, query.split("&")):
        name, equals, value = part.partition("=")
        literals[name] = value if equals else None
    return path, literals


def _located_required(operation: Any) -> list[tuple[str, str]]:
    """The operation's required header and querystring members, as (location, wire name)."""
    shape = operation.input_shape
    found = []
    for name in shape.required_members if shape is not None else []:
        serialization = shape.members[name].serialization
        if serialization.get("location") in {"header", "querystring"}:
            found.append((serialization["location"], serialization.get("name", name).lower()))
    return found


@dataclass(frozen=True)
class _S3Route:
    """One S3 operation's ``http`` binding, as ``s3_operation`` matches requests against it."""

    operation: Any
    method: str | None
    has_key: bool
    literals: dict[str, str | None]
    required: tuple[tuple[str, str], ...]


@functools.cache
def _s3_routes(service_model: Any) -> tuple[_S3Route, ...]:
    """Every candidate operation's binding, read from the model once (not per request).

    Deprecated operations (PutBucketLifecycle, GetBucketNotification...) are not candidates, nor
    those without a bucket (ListBuckets, ListDirectoryBuckets: nothing this emulator validates).
    """
    routes = []
    for name in service_model.operation_names:
        operation = service_model.operation_model(name)
        if operation.deprecated:
            continue
        path, literals = _uri_literals(operation.http.get("requestUri", "/"))
        if path == "/":
            continue
        routes.append(
            _S3Route(
                operation,
                operation.http.get("method"),
                "{Key+}" in path,
                literals,
                tuple(_located_required(operation)),
            )
        )
    return tuple(routes)


def s3_operation(
    service_model: Any,
    method: str,
    has_key: bool,
    query: dict[str, str],
    headers: dict[str, str],
) -> Any | None:
    """The S3 operation a request is, by the model's ``http`` bindings; ``None`` if unknown.

    ``query`` and ``headers`` are keyed by lower-case name. Of the operations whose method, URI
    template (bucket, or bucket and key) and URI literals match, the most specific one whose
    required header/querystring members are all present wins (candidates: ``_s3_routes``).
    """
    best: tuple[int, Any] | None = None
    for route in _s3_routes(service_model):
        if route.method != method or route.has_key != has_key:
            continue
        if any(
            key.lower() not in query or (value is not None and query[key.lower()] != value)
            for key, value in route.literals.items()
            if key != "x-id"
        ):
            continue
        if not all(
            (query if location == "querystring" else headers).get(wire) is not None
            for location, wire in route.required
        ):
            continue
        score = len(route.literals) + len(route.required)
        if best is None or score > best[0]:
            best = (score, route.operation)
    return best[1] if best else None


def checksum_refusal(operation: Any, headers: dict[str, str]) -> S3Refusal | None:
    """``InvalidRequest`` when the model requires a request checksum and none is sent."""
    http_checksum = operation.http_checksum or {}
    if not (operation.http_checksum_required or http_checksum.get("requestChecksumRequired")):
        return None
    if "content-md5" in headers or any(h.startswith("x-amz-checksum-") for h in headers):
        return None
    if headers.get("x-amz-trailer", "").lower().startswith("x-amz-checksum-"):
        return None
    return S3Refusal("InvalidRequest", "Missing required header for this request: Content-MD5")


def s3_refusal(operation: Any, violations: list[Violation]) -> S3Refusal:
    """S3's error for the first violation, by where the offending member travels."""
    shape = operation.input_shape
    violation = violations[0]
    top = violation.path.split(".", 1)[0]
    name = next((n for n in shape.members if _lower_first(n) == top), top)
    member = shape.members.get(name)
    serialization = member.serialization if member is not None else {}
    location = serialization.get("location")
    if shape.serialization.get("payload") == name:
        if violation.value is None and violation.path == top:
            return S3Refusal("MissingRequestBodyError", "Request Body is empty.")
        return S3Refusal(*S3_MALFORMED_XML)
    if location == "uri" and name == "Bucket":
        return S3Refusal("InvalidBucketName", "The specified bucket is not valid.")
    if member is not None and member.name == "StorageClass" and location == "header":
        return S3Refusal("InvalidStorageClass", "The storage class you specified is not valid")
    if location in {"header", "querystring", "uri"}:
        value = violation.value
        return S3Refusal(
            "InvalidArgument",
            validation_message(violations),
            argument_name=serialization.get("name", name),
            argument_value="" if value is None else str(value),
        )
    return S3Refusal(*S3_MALFORMED_XML)  # a member of an unnamed body


def check_s3_request(
    method: str,
    bucket: str,
    key: str | None,
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
) -> S3Refusal | None:
    """S3's refusal when the request breaks its operation's model, ``None`` when it is valid
    (or is not an operation the model binds)."""
    from moto.core.parse import RestXMLParser
    from moto.core.utils import get_service_model
    from werkzeug.datastructures import Headers, MultiDict

    service_model = get_service_model("s3")
    lower_headers = {k.lower(): v for k, v in headers.items()}
    flat_query = {k.lower(): (v[0] if v else "") for k, v in query.items()}
    operation = s3_operation(service_model, method, key is not None, flat_query, lower_headers)
    if operation is None or operation.input_shape is None:
        return None
    try:
        params = RestXMLParser(operation).parse(
            {
                "method": method,
                "values": MultiDict([(k, v) for k, vs in query.items() for v in vs]),
                "headers": Headers(headers),
                "body": body,
                "url_path": "",
                "url_params": {"Bucket": bucket, "Key": key},
            }
        )
    except Exception:  # the XML body is not well-formed, or a value does not parse
        LOGGER.debug("S3 request not parsed for validation", exc_info=True)
        payload = operation.input_shape.serialization.get("payload")
        if payload and body and operation.input_shape.members[payload].type_name == "structure":
            return S3Refusal(*S3_MALFORMED_XML)
        return None
    try:
        violations = validate_structure(operation.input_shape, dict(params or {}))
    except RequestTypeError:
        return S3Refusal(*S3_MALFORMED_XML)
    if violations:
        return s3_refusal(operation, violations)
    if operation.name == "CreateBucket" and bucket_name_refusal(bucket) is not None:
        return S3Refusal("InvalidBucketName", "The specified bucket is not valid.")
    return checksum_refusal(operation, lower_headers)


# General purpose bucket naming rules (the model states none): 3-63 characters; lower-case
# letters, digits, dots and hyphens; a letter or digit first and last; no two adjacent dots; not
# an IP address; none of the reserved prefixes and suffixes. CreateBucket answers
# InvalidBucketName. https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_refusal(name: str) -> str | None:
    """The naming rule ``name`` breaks, ``None`` when it is a valid general purpose bucket."""
    if _BUCKET_NAME.fullmatch(name) is None:
        return "3-63 lower-case letters, digits, dots, hyphens; a letter or digit at each end"
    if ".." in name:
        return "no two adjacent periods"
    if _IP_ADDRESS.fullmatch(name):
        return "not formatted as an IP address"
    if name.startswith(_RESERVED_PREFIXES):
        return f"no reserved prefix {_RESERVED_PREFIXES}"
    if name.endswith(_RESERVED_SUFFIXES):
        return f"no reserved suffix {_RESERVED_SUFFIXES}"
    return None
