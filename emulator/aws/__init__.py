"""The AWS emulator: moto 5.2.5 plus the extensions that make it behave as AWS does.

moto has no plugin API, so each gap is closed by wrapping a moto method or adding one to a
response class. As moto keeps one package per service, the extensions keep one module (or a
package, split by role as moto splits models and responses) per moto service they extend; each
has ``install()`` (idempotent) and ``reset()`` (forgets what it kept between requests), and
only the modules of this package touch moto's internals.

Modules, in the order ``install_all()`` installs them (``MODULES``):

================== ========================================================================
``core``           the front door every request passes (``BaseResponse.call_action``):
                   injected faults (``inject_fault``), then request validation; the server's
                   URL; asynchronous deliveries (``in_background``, ``wait_for_deliveries``)
``validation``     every request checked against botocore's service model (required, types,
                   length, pattern, enum, range, list/map size), refused with AWS's error
``iam``            IAM and STS (a package): the policy evaluator, the request's resource,
                   moto's authorization hook, the role sessions services act with
``stepfunctions``  task results and error names as AWS gives them, JSONPath, nameless
                   executions, the actions Terraform needs
``sagemaker``      (a package) pipeline executions (a *pipeline runner* decides what they do),
                   model packages and their events, the endpoint status machine, guardrails
``sagemaker_runtime`` InvokeEndpoint served by the deployed model through the XGBoost 1.7-1
                   container's serving stack, with AWS's request limits
``s3``             lifecycle header, bucket-policy conditions, notification drift, S3 events
                   in EventBridge's shape
``lambda_``        configuration drift, a new account's limits, in-process invocation
``events``         rules delivering to Lambda, Step Functions, SNS and SQS targets, each
                   delivery authorised (resource policy, or the target's role; the topic's key)
``cloudwatch``     alarms publishing to their SNS actions, authorised as CloudWatch is
``sqs``            Lambda's SQS event source mappings, polled as the Lambda service polls
================== ========================================================================

Each module's tests are in ``emulator/tests/``: ``test_aws_<module>.py`` (core, stepfunctions,
sagemaker, s3, lambda), ``test_request_validation*.py`` (validation), ``test_access_control.py``
(iam), ``test_endpoint_lifecycle.py`` and ``test_deployment_guardrails.py`` (sagemaker
endpoints), ``test_invoke_endpoint.py`` and ``test_endpoint_metrics.py`` (sagemaker_runtime),
``test_lambda_quota.py`` and ``test_event_delivery.py`` (lambda_, events, cloudwatch),
``test_event_source_mapping.py`` (sqs), and ``test_emulator_package.py`` for the composition.
"""

from __future__ import annotations

from types import ModuleType

from emulator.aws import (
    cloudwatch,
    core,
    events,
    iam,
    lambda_,
    s3,
    sagemaker,
    sagemaker_runtime,
    sqs,
    stepfunctions,
    validation,
)

#: The one place the extensions are composed. The front door (``core``: faults, then
#: ``validation``) and IAM come first, so every service's requests are refused before a service
#: extension runs; ``sqs`` last, since its poller invokes functions through ``lambda_``.
MODULES: tuple[ModuleType, ...] = (
    core,
    validation,
    iam,
    stepfunctions,
    sagemaker,
    sagemaker_runtime,
    s3,
    lambda_,
    events,
    cloudwatch,
    sqs,
)


def install_all() -> None:
    """Install every extension, in ``MODULES`` order (safe to call more than once)."""
    for module in MODULES:
        module.install()


def reset_all() -> None:
    """Forget what every extension kept (faults, runner, caches, serving processes, the SQS
    poller); the patches stay, and ``install_all()`` starts the poller again."""
    for module in reversed(MODULES):
        module.reset()


__all__ = ["MODULES", "install_all", "reset_all"]
