"""CreateModel -> CreateEndpointConfig -> CreateEndpoint | guarded UpdateEndpoint -> wait.

Every request body comes from the plan (names, production variants, data capture, and the
blue/green deployment config whose rollback alarms watch the NEW fleet's EndpointConfigName).
``UpdateEndpoint`` goes through the ``aws-sdk:sagemaker`` integration: it passes every field of
the API, ``DeploymentConfig`` included; no AWS document shows the optimized
``sagemaker:updateEndpoint`` integration accepting ``DeploymentConfig``
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html lists its fields).
"""

from __future__ import annotations

from stepfunctions.steps import Choice, ChoiceRule
from stepfunctions.steps.states import State

from statemachines.common import Ending, PollLoop, poll_loop, sagemaker_task
from statemachines.deployment.outcomes import attempt_failed
from statemachines.sdk_ext import Task

NEW_CONFIG_IN_SERVICE = ChoiceRule.And(
    [
        ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "InService"),
        ChoiceRule.StringEqualsPath("$.endpoint.EndpointConfigName", "$.names.config"),
    ]
)


def endpoint_phase(ending: Ending, verify: State, rolled_back: State) -> Task:
    """Returns CreateModel; ``verify`` follows InService on the new config, ``rolled_back``
    InService on another (SageMaker rolled the update back)."""
    deploy_failed = attempt_failed(
        ending,
        "DeploymentFailed",
        "DeploymentFailed",
        "States.Format('Could not deploy model package {} to endpoint {}: {} ({})', "
        "$.package.arn, $.deployment.endpoint_name, $.error.Cause, $.error.Error)",
        "deployment request failed",
        "A SageMaker request of the deployment failed (after retries).",
    )
    create_model, create_endpoint, update_endpoint = _requests(ending, deploy_failed)
    loop = _wait(ending, deploy_failed, verify, rolled_back)
    create_endpoint.next(loop.wait)
    update_endpoint.next(loop.wait)
    return create_model


def _requests(ending: Ending, deploy_failed: State) -> tuple[Task, Task, Task]:
    """CreateModel -> CreateEndpointConfig -> DeployMode -> (CreateEndpoint | UpdateEndpoint)."""
    create_model = sagemaker_task(
        "CreateModel",
        "createModel",
        {
            "ModelName.$": "$.names.model",
            "PrimaryContainer": {"ModelPackageName.$": "$.package.arn"},
            "ExecutionRoleArn": "${sagemaker_role_arn}",
        },
        optimised=True,
    )
    create_config = sagemaker_task(
        "CreateEndpointConfig",
        "createEndpointConfig",
        {
            "EndpointConfigName.$": "$.names.config",
            "ProductionVariants.$": "$.endpoint_config.production_variants",
            "DataCaptureConfig.$": "$.endpoint_config.data_capture",
        },
        optimised=True,
    )
    mode = Choice("DeployMode", comment="No endpoint: create it. Else: a guarded update.")
    create_endpoint = sagemaker_task(
        "CreateEndpoint",
        "createEndpoint",
        {"EndpointName.$": "$.deployment.endpoint_name", "EndpointConfigName.$": "$.names.config"},
        comment="No previous configuration: the smoke test guards the first deployment.",
        optimised=True,
    )
    update_endpoint = sagemaker_task(
        "UpdateEndpoint",
        "updateEndpoint",
        {
            "EndpointName.$": "$.deployment.endpoint_name",
            "EndpointConfigName.$": "$.names.config",
            # https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html
            "DeploymentConfig.$": "$.deployment_config",
        },
        comment="Blue/green: SageMaker rolls back by itself when a rollback alarm of the new "
        "fleet trips while it bakes.",
    )
    for task in (create_model, create_config, create_endpoint, update_endpoint):
        ending.catch_all(task, deploy_failed)
    create_model.next(create_config)
    create_config.next(mode)
    mode.add_choice(ChoiceRule.StringEquals("$.deployment.mode", "create"), create_endpoint)
    mode.default_choice(update_endpoint)
    return create_model, create_endpoint, update_endpoint


def _wait(ending: Ending, deploy_failed: State, verify: State, rolled_back: State) -> PollLoop:
    """The endpoint poll loop and its exits."""
    describe = sagemaker_task(
        "DescribeEndpoint",
        "describeEndpoint",
        {"EndpointName.$": "$.deployment.endpoint_name"},
        result_path="$.endpoint",
    )
    ending.catch_all(describe, deploy_failed)
    loop = poll_loop(
        "Endpoint",
        describe,
        counter="endpoint",
        interval_path="$.settings.poll_interval_seconds",
        budget_path="$.settings.max_polls",
        comment="Wait for the endpoint within the plan's budget.",
    )
    status = "$.endpoint.EndpointStatus"
    loop.exit(NEW_CONFIG_IN_SERVICE, verify)
    # InService, but not on the config this attempt deployed: SageMaker rolled the update back
    # (an alarm tripped, or the new fleet could not serve) and the previous config serves.
    loop.exit(ChoiceRule.StringEquals(status, "InService"), rolled_back)
    first_failed = ChoiceRule.And(
        [
            ChoiceRule.StringEquals(status, "Failed"),
            ChoiceRule.StringEquals("$.deployment.mode", "create"),
        ]
    )
    loop.exit(first_failed, _delete_new_endpoint(ending))
    failed = ChoiceRule.Or(
        [ChoiceRule.StringEquals(status, s) for s in ("Failed", "UpdateRollbackFailed")]
    )
    loop.exit(failed, _endpoint_failed(ending))
    loop.on_budget_spent(
        attempt_failed(
            ending,
            "EndpointTimedOut",
            "EndpointDeploymentTimedOut",
            "States.Format('Endpoint {} was still {} after {} polls, {} s apart.', "
            "$.deployment.endpoint_name, $.endpoint.EndpointStatus, $.polls.endpoint.count, "
            "$.settings.poll_interval_seconds)",
            "timed out",
            "The endpoint did not reach InService within the poll budget.",
        )
    )
    return loop


def _endpoint_failed(ending: Ending) -> State:
    return attempt_failed(
        ending,
        "EndpointFailed",
        "EndpointDeploymentFailed",
        "States.Format('Endpoint {} is {}: {}', $.deployment.endpoint_name, "
        "$.endpoint.EndpointStatus, $.endpoint.FailureReason)",
        "endpoint failed",
        "SageMaker could not bring the endpoint into service.",
    )


def _delete_new_endpoint(ending: Ending) -> Task:
    """A first deployment that never reached InService leaves no endpoint behind."""
    deleted = attempt_failed(
        ending,
        "NewEndpointFailedDeleted",
        "EndpointDeploymentFailed",
        "States.Format('Endpoint {} could not be created with model package {}: {}. This was "
        "the first deployment, with no previous configuration to go back to, so the endpoint "
        "was deleted. Fix the model, then approve a new version.', "
        "$.deployment.endpoint_name, $.package.arn, $.endpoint.FailureReason)",
        "endpoint failed: endpoint deleted",
        "A first deployment that never reached InService leaves no endpoint behind.",
    )
    delete = sagemaker_task(
        "DeleteFailedNewEndpoint",
        "deleteEndpoint",
        {"EndpointName.$": "$.deployment.endpoint_name"},
    )
    ending.catch_all(delete, _endpoint_failed_after_delete(ending))
    delete.next(deleted)
    return delete


def _endpoint_failed_after_delete(ending: Ending) -> State:
    return attempt_failed(
        ending,
        "NewEndpointNotDeleted",
        "EndpointDeploymentFailed",
        "States.Format('Endpoint {} could not be created with model package {}: {}; deleting it "
        "failed too: {} ({}). Delete it (make endpoint-down).', $.deployment.endpoint_name, "
        "$.package.arn, $.endpoint.FailureReason, $.error.Cause, $.error.Error)",
        "endpoint failed: endpoint not deleted",
        "The first deployment's Failed endpoint could not be deleted.",
    )
