"""The error name a Step Functions Task reports when the service it calls returns an error.

One pure function, :func:`task_error_name`, names it from the integration kind (``aws-sdk`` or an
optimized integration), the service, the operation and the error code the service returned; the
emulator and the ASL tests both read it, so the names the state machine retries and catches are the
names AWS produces. :func:`possible_error_names` lists every name one Task resource can report.

Sources (quoted where the rule comes from):

- aws-sdk integrations, https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html:
  "If an AWS SDK integration encounters an error, the resulting Error field will be composed of
  the service name and the error name, separated by a period character: ServiceName.ErrorName.
  Both the service name and error name are in Pascal case." and "Some AWS services don't include
  the Exception suffix in their API Reference documentation. Regardless of other naming
  conventions, always add the Exception suffix to potential error names in your AWS Step Functions
  integrations [...] the error BucketAlreadyExists [...] refer to it as
  S3.BucketAlreadyExistsException." The page's "Exception prefix" column spells the service part:
  ``SageMaker``, ``S3``, ``Sns``, ``Sfn`` (awsdocs/aws-step-functions-developer-guide,
  doc_source/supported-services-awssdk.md).
- aws-sdk integrations run the AWS SDK for Java 2.x (the prefixes above are its client names), so an
  error the operation does not model surfaces as the service's base exception,
  ``<Prefix>Exception`` (``SageMakerException``, ``S3Exception``, ``SnsException``,
  ``SfnException``). SageMaker's
  throttling (``ThrottlingException``) and "Could not find endpoint" (``ValidationException``)
  are not error shapes of ``DescribeEndpoint`` in botocore's model, so they both arrive as
  ``SageMaker.SageMakerException`` and differ only in the cause.
- Optimized SageMaker integrations, https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html:
  its training-job example retries ``SageMaker.AmazonSageMakerException`` (the base exception of
  the AWS SDK for Java 1.x, ``AmazonSageMakerException``) and
  ``SageMaker.ResourceLimitExceededException`` (a modeled error with the suffix rule).
- Optimized SNS (``arn:aws:states:::sns:publish``), https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html
  documents no error names. Reported executions show modeled errors as
  ``SNS.InvalidParameterException`` with a cause naming ``Service: AmazonSNS``, the AWS SDK for
  Java 1.x client, whose base exception is ``AmazonSNSException``; so unmodeled errors are named
  ``SNS.AmazonSNSException``, by the same rule as SageMaker's optimized integration (*likely*:
  one failed publish on a real account, e.g. to a topic whose KMS key denies the role, settles it).

Whether an error is modeled is decided by botocore's service model: the operation's
``error_shapes`` (matched by shape name or by the wire code in the shape's ``error`` metadata).
The stricter reading is used: only the operation's own error shapes count, not every exception
shape of the service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

import botocore.session

Integration = Literal["aws-sdk", "optimized"]
AWS_SDK: Integration = "aws-sdk"
OPTIMIZED: Integration = "optimized"

#: The States.* names of the Amazon States Language spec (https://states-language.net/#errors).
STATES_ERRORS = frozenset(
    {
        "States.ALL",
        "States.HeartbeatTimeout",
        "States.Timeout",
        "States.TaskFailed",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ParameterPathFailure",
        "States.BranchFailed",
        "States.NoChoiceMatched",
        "States.IntrinsicFailure",
        "States.ExceedToleratedFailureThreshold",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        "States.QueryEvaluationError",
        "States.Runtime",
        # Step Functions developer guide, "Handling errors": a state's input or output above the
        # 256 KiB quota; terminal, no Retry or Catch handles it (emulator/aws/stepfunctions.py).
        "States.DataLimitExceeded",
    }
)


@dataclass(frozen=True)
class ServiceNames:
    """How Step Functions spells one service's errors, per integration kind."""

    botocore_name: str
    aws_sdk_prefix: str
    aws_sdk_base: str
    optimized_prefix: str | None = None
    optimized_base: str | None = None


#: Keyed by the service part of the Task resource ARN (lower case, as in the ARN).
SERVICES: dict[str, ServiceNames] = {
    "sagemaker": ServiceNames(
        "sagemaker", "SageMaker", "SageMakerException", "SageMaker", "AmazonSageMakerException"
    ),
    "s3": ServiceNames("s3", "S3", "S3Exception"),
    "sns": ServiceNames("sns", "Sns", "SnsException", "SNS", "AmazonSNSException"),
    "sfn": ServiceNames("stepfunctions", "Sfn", "SfnException"),
    # https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html retries
    # Lambda.ServiceException, Lambda.AWSLambdaException (the AWS SDK for Java 1.x base exception
    # of the optimized lambda:invoke) and Lambda.SdkClientException (client side).
    "lambda": ServiceNames("lambda", "Lambda", "LambdaException", "Lambda", "AWSLambdaException"),
    # The AWS SDK for Java 2.x client of CloudWatch is CloudWatchClient, its base exception
    # CloudWatchException (software.amazon.awssdk.services.cloudwatch.model); the prefix follows
    # the same Pascal-case client name as S3/Sfn above. *Likely*: one DescribeAlarms refused on a
    # real account (say, without cloudwatch:DescribeAlarms) settles the spelling.
    "cloudwatch": ServiceNames("cloudwatch", "CloudWatch", "CloudWatchException"),
}

_RESOURCE = re.compile(
    r"^arn:aws:states:::(?:(?P<sdk>aws-sdk):)?(?P<service>[a-z0-9]+):(?P<action>[A-Za-z0-9]+)"
    r"(?:\.(?:sync|waitForTaskToken)(?::2)?)?$"
)


class UnknownService(ValueError):
    """The service has no entry in :data:`SERVICES`: add its spelling from the docs first."""


def _with_suffix(name: str) -> str:
    return name if name.endswith("Exception") else f"{name}Exception"


def _service(service: str, integration: Integration) -> tuple[ServiceNames, str, str]:
    try:
        names = SERVICES[service.lower()]
    except KeyError:
        raise UnknownService(
            f"no Step Functions error spelling is recorded for service {service!r}; add it to "
            "emulator/sfn_errors.py SERVICES with the documentation it comes from"
        ) from None
    if integration == AWS_SDK:
        return names, names.aws_sdk_prefix, names.aws_sdk_base
    if names.optimized_prefix is None or names.optimized_base is None:
        raise UnknownService(f"service {service!r} has no optimized integration recorded")
    return names, names.optimized_prefix, names.optimized_base


@cache
def _modeled_errors(botocore_name: str, operation: str) -> dict[str, str]:
    """Wire code or shape name -> shape name, for the operation's modeled errors."""
    model = botocore.session.get_session().get_service_model(botocore_name)
    operation_model = model.operation_model(operation)
    modeled: dict[str, str] = {}
    for shape in operation_model.error_shapes:
        modeled[shape.name] = shape.name
        code = shape.metadata.get("error", {}).get("code")
        if code:
            modeled[code] = shape.name
    return modeled


def _operation(action: str) -> str:
    """``describeEndpoint`` (the ASL spelling) -> ``DescribeEndpoint`` (botocore's)."""
    return action[:1].upper() + action[1:]


def task_error_name(integration: Integration, service: str, operation: str, error_code: str) -> str:
    """The ``Error`` a Task reports when ``service``'s ``operation`` fails with ``error_code``."""
    names, prefix, base = _service(service, integration)
    shape = _modeled_errors(names.botocore_name, _operation(operation)).get(error_code)
    return f"{prefix}.{_with_suffix(shape) if shape else base}"


def optimized_cause(
    service: str, error_code: str, message: str, status: int, request_id: str
) -> str:
    """The ``Cause`` of an optimized integration's failure: the AWS SDK for Java 1.x message
    (``AmazonServiceException.getMessage``: "<message> (Service: <client>; Status Code: <n>;
    Error Code: <code>; Request ID: <id>; Proxy: null)"), the client being the base exception's
    name without ``Exception`` (``AmazonSageMaker``), as the causes of reported executions read.
    """
    _, _, base = _service(service, OPTIMIZED)
    client = base.removesuffix("Exception")
    return (
        f"{message} (Service: {client}; Status Code: {status}; Error Code: {error_code}; "
        f"Request ID: {request_id}; Proxy: null)"
    )


def parse_resource(resource: str) -> tuple[Integration, str, str]:
    """``arn:aws:states:::aws-sdk:sagemaker:describeEndpoint`` -> (aws-sdk, sagemaker, action)."""
    match = _RESOURCE.match(resource)
    if match is None:
        raise ValueError(f"not a Step Functions service integration resource: {resource!r}")
    integration: Integration = AWS_SDK if match["sdk"] else OPTIMIZED
    return integration, match["service"], match["action"]


def possible_error_names(resource: str) -> frozenset[str]:
    """Every service error name a Task with this ``Resource`` can report (States.* aside)."""
    integration, service, action = parse_resource(resource)
    names, prefix, base = _service(service, integration)
    modeled = set(_modeled_errors(names.botocore_name, _operation(action)).values())
    return frozenset({f"{prefix}.{base}"} | {f"{prefix}.{_with_suffix(s)}" for s in modeled})
