"""Step Functions error names (emulator/sfn_errors.py); the state machine's use of them is
tested with the product (tests/unit/test_asl_error_names.py)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.sfn_errors import (
    AWS_SDK,
    OPTIMIZED,
    UnknownService,
    parse_resource,
    possible_error_names,
    task_error_name,
)

AWS_SDK_DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"
SAGEMAKER_DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html"
SNS_DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html"
LAMBDA_DOC = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html"

# (integration, service, operation, code returned by the service, expected name, source)
ROWS = [
    (
        AWS_SDK,
        "s3",
        "getObject",
        "NoSuchKey",
        "S3.NoSuchKeyException",
        f"{AWS_SDK_DOC}: 'always add the Exception suffix [...] S3.BucketAlreadyExistsException'; "
        "NoSuchKey is a modeled error of GetObject (botocore s3 model)",
    ),
    (
        AWS_SDK,
        "s3",
        "getObject",
        "SlowDown",
        "S3.S3Exception",
        f"{AWS_SDK_DOC}: Exception prefix 'S3'; SlowDown is not modeled for GetObject, so the "
        "SDK's base exception S3Exception",
    ),
    (
        AWS_SDK,
        "s3",
        "getObject",
        "InternalError",
        "S3.S3Exception",
        "InternalError is not modeled for GetObject (botocore s3 model): base exception",
    ),
    (
        AWS_SDK,
        "sagemaker",
        "describeEndpoint",
        "ValidationException",
        "SageMaker.SageMakerException",
        f"{AWS_SDK_DOC}: Exception prefix 'SageMaker'; DescribeEndpoint models no errors, so "
        "'Could not find endpoint' (ValidationException) is the base exception",
    ),
    (
        AWS_SDK,
        "sagemaker",
        "describeEndpoint",
        "ThrottlingException",
        "SageMaker.SageMakerException",
        "throttling is not a SageMaker error shape: base exception, the same name as not-found",
    ),
    (
        AWS_SDK,
        "sagemaker",
        "describePipelineExecution",
        "ResourceNotFound",
        "SageMaker.ResourceNotFoundException",
        f"{AWS_SDK_DOC}: modeled ResourceNotFound with the Exception suffix",
    ),
    (
        AWS_SDK,
        "sagemaker",
        "describePipelineExecution",
        "ThrottlingException",
        "SageMaker.SageMakerException",
        "throttling on describePipelineExecution is unmodeled: base exception",
    ),
    (
        AWS_SDK,
        "sagemaker",
        "startPipelineExecution",
        "InternalFailure",
        "SageMaker.SageMakerException",
        "5xx InternalFailure is unmodeled: base exception (never SageMaker.InternalFailure)",
    ),
    (
        AWS_SDK,
        "sagemaker",
        "createModelPackage",
        "ConflictException",
        "SageMaker.ConflictException",
        "modeled, already suffixed",
    ),
    (
        OPTIMIZED,
        "sagemaker",
        "createModel",
        "ValidationException",
        "SageMaker.AmazonSageMakerException",
        f"{SAGEMAKER_DOC}: the example retries SageMaker.AmazonSageMakerException",
    ),
    (
        OPTIMIZED,
        "sagemaker",
        "createEndpoint",
        "ResourceLimitExceeded",
        "SageMaker.ResourceLimitExceededException",
        f"{SAGEMAKER_DOC}: the example retries SageMaker.ResourceLimitExceededException",
    ),
    (
        OPTIMIZED,
        "sagemaker",
        "updateEndpoint",
        "ServiceUnavailable",
        "SageMaker.AmazonSageMakerException",
        "5xx ServiceUnavailable is unmodeled: base exception (never SageMaker.ServiceUnavailable)",
    ),
    (
        OPTIMIZED,
        "sns",
        "publish",
        "InvalidParameter",
        "SNS.InvalidParameterException",
        f"{SNS_DOC} names none; reported executions show SNS.InvalidParameterException "
        "(wire code InvalidParameter, shape InvalidParameterException)",
    ),
    (
        OPTIMIZED,
        "sns",
        "publish",
        "Throttled",
        "SNS.AmazonSNSException",
        "Throttled is not an error of Publish in botocore's sns model: SDK v1 base exception",
    ),
    (
        AWS_SDK,
        "sfn",
        "describeExecution",
        "ExecutionDoesNotExist",
        "Sfn.ExecutionDoesNotExistException",
        f"{AWS_SDK_DOC}: Exception prefix 'Sfn'; modeled error of DescribeExecution",
    ),
    (
        AWS_SDK,
        "sfn",
        "describeExecution",
        "ThrottlingException",
        "Sfn.SfnException",
        "throttling is not modeled for DescribeExecution (botocore stepfunctions model)",
    ),
    (
        AWS_SDK,
        "sns",
        "publish",
        "NotFound",
        "Sns.NotFoundException",
        f"{AWS_SDK_DOC}: Exception prefix 'Sns' for aws-sdk:sns",
    ),
    (
        OPTIMIZED,
        "lambda",
        "invoke",
        "TooManyRequestsException",
        "Lambda.TooManyRequestsException",
        f"{LAMBDA_DOC}: its retry example names Lambda.TooManyRequestsException; a modeled error "
        "of Invoke (botocore lambda model)",
    ),
    (
        OPTIMIZED,
        "lambda",
        "invoke",
        "ThrottlingException",
        "Lambda.AWSLambdaException",
        f"{LAMBDA_DOC}: its retry example names Lambda.AWSLambdaException, the base exception of "
        "the AWS SDK for Java 1.x client, for errors Invoke does not model",
    ),
]


@pytest.mark.parametrize(
    ("integration", "service", "operation", "code", "expected", "source"),
    ROWS,
    ids=[f"{r[0]}-{r[1]}-{r[2]}-{r[3]}" for r in ROWS],
)
def test_task_error_name(
    integration: Any, service: str, operation: str, code: str, expected: str, source: str
) -> None:
    assert source
    assert task_error_name(integration, service, operation, code) == expected


def test_unknown_service_is_refused_with_what_to_do() -> None:
    with pytest.raises(UnknownService, match=r"add it to emulator/sfn_errors\.py"):
        task_error_name(AWS_SDK, "dynamodb", "getItem", "X")


def test_parse_resource() -> None:
    assert parse_resource("arn:aws:states:::aws-sdk:sagemaker:describeEndpoint") == (
        AWS_SDK,
        "sagemaker",
        "describeEndpoint",
    )
    assert parse_resource("arn:aws:states:::sns:publish") == (OPTIMIZED, "sns", "publish")
    assert parse_resource("arn:aws:states:::sagemaker:createTrainingJob.sync") == (
        OPTIMIZED,
        "sagemaker",
        "createTrainingJob",
    )


def test_possible_names_of_describe_endpoint_are_only_the_base_exception() -> None:
    assert possible_error_names("arn:aws:states:::aws-sdk:sagemaker:describeEndpoint") == {
        "SageMaker.SageMakerException"
    }
