"""Fake AWS clients for the trigger's unit tests, held to botocore's service models.

Every call is checked as the real client and AWS's front door would check it: botocore's own
``validate_parameters`` (unknown and missing members, types, minimums) and the emulator's model
validator (maximums, patterns, enums), so a request the real service refuses fails here too.
Every response and error is built in the shape botocore returns (output shapes validated the way
``botocore.stub.Stubber`` validates them; errors as ``ClientError`` with AWS's code), so the code
under test cannot rely on a field the real service may leave out.

Step Functions' rules modelled: ``StartExecution`` is idempotent for a standard workflow's running
execution with the same name and input, otherwise a used name is ``ExecutionAlreadyExists``
(StartExecution, AWS Step Functions API reference); ``ListExecutions`` lists the newest first and
pages with ``nextToken``; ``DescribeExecution`` of an unknown ARN is ``ExecutionDoesNotExist``.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from emulator.aws.validation import VALIDATION_ERROR_CODES, validate_structure, validation_message
from lambdas.trigger import logic
from tests.helpers.events import load_event

REGION = "us-east-1"
ACCOUNT = "111122223333"
EPOCH = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)


@functools.cache
def _service(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def client_error(service: str, operation: str, code: str, message: str, status: int = 400) -> Any:
    """An error as botocore raises it for ``operation``."""
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


class ModelledClient:
    """Checks requests and responses against ``SERVICE``'s model; records every call; fails an
    operation on demand (``fail(operation, code)``)."""

    SERVICE = ""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, tuple[str, str, int]] = {}

    def fail(self, operation: str, code: str, message: str = "refused", status: int = 400) -> None:
        self.failures[operation] = (code, message, status)

    def called(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def request(self, operation: str, params: dict[str, Any]) -> None:
        model = _service(self.SERVICE).operation_model(operation)
        validate_parameters(params, model.input_shape)  # botocore's ParamValidationError
        violations = validate_structure(model.input_shape, params)
        if violations:
            code = VALIDATION_ERROR_CODES[_service(self.SERVICE).protocol]
            raise client_error(self.SERVICE, operation, code, validation_message(violations))
        self.calls.append((operation, copy.deepcopy(params)))
        if operation in self.failures:
            code, message, status = self.failures[operation]
            raise client_error(self.SERVICE, operation, code, message, status)

    def response(self, operation: str, response: dict[str, Any]) -> dict[str, Any]:
        shape = _service(self.SERVICE).operation_model(operation).output_shape
        if shape is None:
            assert response == {}, f"{operation} answers nothing but ResponseMetadata"
        else:
            validate_parameters(response, shape)
        return response


@dataclass
class Execution:
    name: str
    input: str
    status: str = "RUNNING"
    start: datetime = EPOCH


class FakeStepFunctions(ModelledClient):
    """One state machine's executions. ``hidden`` names executions DescribeExecution does not
    know yet while ListExecutions already lists them (the two are read from different stores)."""

    SERVICE = "stepfunctions"

    def __init__(self, machine_arn: str, page_size: int = 1) -> None:
        super().__init__()
        self.machine_arn = machine_arn
        self.page_size = page_size
        self.executions: dict[str, Execution] = {}
        self.hidden: set[str] = set()

    def add(self, name: str, status: str = "RUNNING", execution_input: str = "{}") -> str:
        start = EPOCH + timedelta(seconds=len(self.executions))
        self.executions[name] = Execution(name, execution_input, status, start)
        return logic.execution_arn(self.machine_arn, name)

    def started(self) -> list[str]:
        return [params["name"] for params in self.called("StartExecution")]

    def _item(self, execution: Execution) -> dict[str, Any]:
        item = {
            "executionArn": logic.execution_arn(self.machine_arn, execution.name),
            "stateMachineArn": self.machine_arn,
            "name": execution.name,
            "status": execution.status,
            "startDate": execution.start,
        }
        if execution.status != "RUNNING":
            item["stopDate"] = execution.start + timedelta(minutes=5)
        return item

    def describe_execution(self, **params: Any) -> dict[str, Any]:
        self.request("DescribeExecution", params)
        arn = params["executionArn"]
        for execution in self.executions.values():
            item = self._item(execution)
            if item["executionArn"] == arn and execution.name not in self.hidden:
                return self.response("DescribeExecution", {**item, "input": execution.input})
        raise client_error(
            self.SERVICE,
            "DescribeExecution",
            "ExecutionDoesNotExist",
            f"Execution Does Not Exist: '{arn}'",
        )

    def get_paginator(self, operation: str) -> FakeStepFunctions:
        assert operation == "list_executions", operation
        return self

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        """ListExecutions page by page, as botocore's paginator calls it."""
        newest_first = sorted(self.executions.values(), key=lambda e: e.start, reverse=True)
        wanted = params.get("statusFilter")
        items = [self._item(e) for e in newest_first if wanted in (None, e.status)]
        token = None
        for start in range(0, max(len(items), 1), self.page_size):
            request = dict(params, **({"nextToken": token} if token else {}))
            self.request("ListExecutions", request)
            page: dict[str, Any] = {"executions": items[start : start + self.page_size]}
            if start + self.page_size < len(items):
                token = page["nextToken"] = f"token-{start + self.page_size}"
            yield self.response("ListExecutions", page)

    def start_execution(self, **params: Any) -> dict[str, Any]:
        self.request("StartExecution", params)
        name, execution_input = params["name"], params.get("input", "{}")
        existing = self.executions.get(name)
        if existing is not None:
            if existing.status == "RUNNING" and existing.input == execution_input:
                return self.response("StartExecution", self._started(existing))
            raise client_error(
                self.SERVICE,
                "StartExecution",
                "ExecutionAlreadyExists",
                f"Execution Already Exists: '{logic.execution_arn(self.machine_arn, name)}'",
            )
        self.add(name, "RUNNING", execution_input)
        return self.response("StartExecution", self._started(self.executions[name]))

    def _started(self, execution: Execution) -> dict[str, Any]:
        arn = logic.execution_arn(self.machine_arn, execution.name)
        return {"executionArn": arn, "startDate": execution.start}


class FakeSNS(ModelledClient):
    SERVICE = "sns"

    def publish(self, **params: Any) -> dict[str, Any]:
        self.request("Publish", params)
        return self.response("Publish", {"MessageId": f"m-{len(self.calls)}"})

    def messages(self) -> list[dict[str, Any]]:
        """What was published: the subject and the JSON message's fields."""
        return [
            {"subject": p.get("Subject"), **json.loads(p["Message"])}
            for p in self.called("Publish")
        ]


class FakeSQS(ModelledClient):
    SERVICE = "sqs"

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        self.request("ChangeMessageVisibility", params)
        return self.response("ChangeMessageVisibility", {})


class FakeS3(ModelledClient):
    """Objects by (bucket, key, version): their user metadata. A HEAD of a missing object or
    version answers 404 with no body, which botocore reports as code "404"."""

    SERVICE = "s3"

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def put(self, bucket: str, key: str, version: str | None, metadata: dict[str, str]) -> None:
        # S3 keeps user metadata keys in lower case (x-amz-meta-*, HTTP headers).
        self.objects[bucket, key, version] = {k.lower(): v for k, v in metadata.items()}

    def head_object(self, **params: Any) -> dict[str, Any]:
        self.request("HeadObject", params)
        found = self.objects.get((params["Bucket"], params["Key"], params.get("VersionId")))
        if found is None:
            raise client_error(self.SERVICE, "HeadObject", "404", "Not Found", 404)
        response: dict[str, Any] = {
            "ContentLength": 4551,
            "ETag": '"f6c0f2ab7fb5e8a2a4a3b3d9c21e8e4d"',
            "LastModified": EPOCH,
            "Metadata": dict(found),
        }
        if params.get("VersionId"):
            response["VersionId"] = params["VersionId"]
        return self.response("HeadObject", response)


class FakeSageMaker(ModelledClient):
    """Model packages, and one endpoint's chain: endpoint -> config -> model -> package."""

    SERVICE = "sagemaker"

    def __init__(self) -> None:
        super().__init__()
        self.packages: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, str] = {}
        self.configs: dict[str, str] = {}
        self.models: dict[str, str | None] = {}

    def add_package(
        self, group: str, version: int, status: str = "Approved", modified: int | None = None
    ) -> str:
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}"
        package: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version,
            "ModelPackageName": group,
            "ModelPackageArn": arn,
            "CreationTime": EPOCH,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "ModelApprovalStatus": status,
        }
        if modified is not None:
            package["LastModifiedTime"] = EPOCH + timedelta(minutes=modified)
        self.packages[arn] = package
        return arn

    def serve(self, endpoint: str, package_arn: str | None) -> None:
        """``endpoint`` serves a model created from ``package_arn`` (None: from an image)."""
        config, model = f"iris-xgb-cfg-{len(self.configs)}", f"iris-xgb-{len(self.models)}"
        self.endpoints[endpoint] = config
        self.configs[config] = model
        self.models[model] = package_arn

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"

    def _missing(self, operation: str, message: str) -> Any:
        return client_error(self.SERVICE, operation, "ValidationException", message)

    def describe_model_package(self, **params: Any) -> dict[str, Any]:
        self.request("DescribeModelPackage", params)
        package = self.packages.get(params["ModelPackageName"])
        if package is None:
            message = f"ModelPackage {params['ModelPackageName']} does not exist."
            raise self._missing("DescribeModelPackage", message)
        return self.response("DescribeModelPackage", copy.deepcopy(package))

    def describe_endpoint(self, **params: Any) -> dict[str, Any]:
        self.request("DescribeEndpoint", params)
        name = params["EndpointName"]
        if name not in self.endpoints:
            message = f'Could not find endpoint "{self._arn("endpoint", name)}".'
            raise self._missing("DescribeEndpoint", message)
        response = {
            "EndpointName": name,
            "EndpointArn": self._arn("endpoint", name),
            "EndpointConfigName": self.endpoints[name],
            "EndpointStatus": "InService",
            "CreationTime": EPOCH,
            "LastModifiedTime": EPOCH,
        }
        return self.response("DescribeEndpoint", response)

    def describe_endpoint_config(self, **params: Any) -> dict[str, Any]:
        self.request("DescribeEndpointConfig", params)
        name = params["EndpointConfigName"]
        variant = {"VariantName": "AllTraffic", "ModelName": self.configs[name]}
        response = {
            "EndpointConfigName": name,
            "EndpointConfigArn": self._arn("endpoint-config", name),
            "ProductionVariants": [variant],
            "CreationTime": EPOCH,
        }
        return self.response("DescribeEndpointConfig", response)

    def describe_model(self, **params: Any) -> dict[str, Any]:
        self.request("DescribeModel", params)
        name = params["ModelName"]
        package = self.models[name]
        container = {"ModelPackageName": package} if package else {"Image": "xgboost:1.7-1"}
        response = {
            "ModelName": name,
            "PrimaryContainer": container,
            "CreationTime": EPOCH,
            "ModelArn": self._arn("model", name),
        }
        return self.response("DescribeModel", response)


@dataclass
class Fakes:
    """The trigger's clients for one state machine."""

    machine_arn: str
    sns: FakeSNS = field(default_factory=FakeSNS)
    sqs: FakeSQS = field(default_factory=FakeSQS)
    s3: FakeS3 = field(default_factory=FakeS3)
    sagemaker: FakeSageMaker = field(default_factory=FakeSageMaker)
    sfn: FakeStepFunctions = field(init=False)

    def __post_init__(self) -> None:
        self.sfn = FakeStepFunctions(self.machine_arn)

    def clients(self) -> logic.Clients:
        return logic.Clients(
            stepfunctions=self.sfn,  # type: ignore[arg-type]
            sns=self.sns,  # type: ignore[arg-type]
            sqs=self.sqs,
            s3=self.s3,
            sagemaker=self.sagemaker,
        )


def sqs_event(*bodies: Any, group: str = "uploads") -> dict[str, Any]:
    """Lambda's event for an SQS FIFO source (tests/events/sqs_fifo_s3_upload.json's record
    shape) carrying ``bodies`` in order: messages ``m0``, ``m1`` ... of message group ``group``."""
    template = load_event("sqs_fifo_s3_upload")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"m{index}"
        record["receiptHandle"] = f"handle-{index}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["attributes"]["MessageGroupId"] = group
        records.append(record)
    return {"Records": records}
