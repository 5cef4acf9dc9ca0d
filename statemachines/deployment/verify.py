"""SmokeTest -> Deployed | restore the previous config | delete a first endpoint; and RolledBack.

InService on the new config is not yet "deployed": the smoke test (``lambdas/smoke_test``) sends
the evaluation's own test rows and compares the answers. A failure after an update puts the
previous config back (without a DeploymentConfig on purpose: its old alarms may still be in ALARM
because of the model being replaced, and would roll the restore back); after a first deployment
there is nothing to go back to, so the endpoint is deleted.
"""

from __future__ import annotations

from stepfunctions.steps import Catch, Choice, ChoiceRule, Pass
from stepfunctions.steps.states import State

from statemachines.common import Ending, lambda_task, poll_loop, sagemaker_task
from statemachines.deployment.outcomes import attempt_failed, attempt_succeeded
from statemachines.sdk_ext import Task


def rolled_back_outcome(ending: Ending) -> State:
    """SageMaker rolled the update back: the finish Lambda names the new fleet's alarms that
    tripped (``$.deployment.alarms``) and the config that serves again."""
    return attempt_failed(
        ending,
        "RolledBack",
        "DeploymentFailed",
        "States.Format('SageMaker rolled back the deployment of model package {} (endpoint "
        "config {}) on endpoint {}: {} serves again. See the rollback alarms of the new fleet "
        "in CloudWatch, fix the model, then approve a new version.', $.package.arn, "
        "$.names.config, $.deployment.endpoint_name, $.endpoint.EndpointConfigName)",
        "rolled back",
        "The new fleet tripped a rollback alarm or could not serve: the old one serves.",
        **{"restored_config.$": "$.endpoint.EndpointConfigName", "endpoint.$": "$.endpoint"},
    )


def verify_phase(ending: Ending) -> Task:
    """Returns SmokeTest."""
    smoke = lambda_task(
        "SmokeTest",
        "smoke_test_function_arn",
        {
            "endpoint_name.$": "$.deployment.endpoint_name",
            "statistics_uri.$": "$.package.statistics_uri",
        },
        comment="The package's own evaluation rows against the endpoint.",
        result_path="$.smoke",
        result_selector={"passed.$": "$.Payload.passed", "description.$": "$.Payload.description"},
    )
    not_run = Pass(
        "SmokeTestNotRun",
        comment="A deployment that cannot be verified is not kept: the path of a failed check.",
        parameters={
            "passed": False,
            "description.$": "States.Format('the smoke test could not run: {} ({})', "
            "$.error.Cause, $.error.Error)",
        },
        result_path="$.smoke",
    )
    smoke.add_catch(Catch(error_equals=["States.ALL"], next_step=not_run, result_path="$.error"))
    verdict = Choice("SmokeTestVerdict")
    deployed = attempt_succeeded(ending, "Deployed", "Deployed and verified by the smoke test.")
    deleted = attempt_failed(
        ending,
        "SmokeTestFailedEndpointDeleted",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on the new endpoint {} failed: {}. "
        "This was the first deployment, with no previous configuration to go back to, so the "
        "endpoint was deleted. Fix the model, then approve a new version.', $.package.arn, "
        "$.deployment.endpoint_name, $.smoke.description)",
        "smoke test failed: endpoint deleted",
        "A first deployment that fails its smoke test leaves no endpoint behind.",
    )
    delete_failed = attempt_failed(
        ending,
        "SmokeTestFailedDeleteFailed",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on the new endpoint {} failed: {}; "
        "deleting the endpoint then failed too: {} ({}). Delete it (make endpoint-down).', "
        "$.package.arn, $.deployment.endpoint_name, $.smoke.description, $.error.Cause, "
        "$.error.Error)",
        "smoke test failed: endpoint not deleted",
        "The endpoint that failed its smoke test could not be deleted.",
    )
    delete = sagemaker_task(
        "DeleteUnverifiedEndpoint",
        "deleteEndpoint",
        {"EndpointName.$": "$.deployment.endpoint_name"},
    )
    ending.catch_all(delete, delete_failed)
    smoke.next(verdict)
    not_run.next(verdict)
    verdict.add_choice(ChoiceRule.BooleanEquals("$.smoke.passed", True), deployed)
    verdict.add_choice(ChoiceRule.StringEquals("$.deployment.mode", "create"), delete)
    verdict.default_choice(_restore(ending))
    delete.next(deleted)
    return smoke


def _restore(ending: Ending) -> Task:
    restore = sagemaker_task(
        "RestorePreviousConfig",
        "updateEndpoint",
        {
            "EndpointName.$": "$.deployment.endpoint_name",
            "EndpointConfigName.$": "$.deployment.previous_config",
        },
        comment="Put the config that served before back, without guardrails (see the module).",
        result_path="$.restore",
    )
    refused = attempt_failed(
        ending,
        "RestoreRefused",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on endpoint {} failed: {}. "
        "Restoring configuration {} was refused: {} ({}). Roll back by hand (make rollback) or "
        "delete the endpoint (make endpoint-down).', $.package.arn, $.deployment.endpoint_name, "
        "$.smoke.description, $.deployment.previous_config, $.error.Cause, $.error.Error)",
        "smoke test failed: restore failed",
        "UpdateEndpoint back to the previous configuration failed (after retries).",
    )
    describe = sagemaker_task(
        "DescribeRestoredEndpoint",
        "describeEndpoint",
        {"EndpointName.$": "$.deployment.endpoint_name"},
        result_path="$.endpoint",
    )
    for task in (restore, describe):
        ending.catch_all(task, refused)
    loop = poll_loop(
        "Restore",
        describe,
        counter="restore",
        interval_path="$.settings.poll_interval_seconds",
        budget_path="$.settings.max_polls",
        comment="Wait for the previous configuration to serve again.",
    )
    restored, not_restored = _restore_outcomes(ending)
    restore.next(loop.wait)
    loop.exit(
        ChoiceRule.And(
            [
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", "InService"),
                ChoiceRule.StringEqualsPath(
                    "$.endpoint.EndpointConfigName", "$.deployment.previous_config"
                ),
            ]
        ),
        restored,
    )
    loop.exit(
        ChoiceRule.Or(
            [
                ChoiceRule.StringEquals("$.endpoint.EndpointStatus", status)
                for status in ("InService", "Failed", "UpdateRollbackFailed")
            ]
        ),
        not_restored,
    )
    loop.on_budget_spent(not_restored)
    return restore


def _restore_outcomes(ending: Ending) -> tuple[State, State]:
    """The previous config serves again; or it could not be restored."""
    restored = attempt_failed(
        ending,
        "SmokeTestFailedRestored",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} (endpoint config {}) on endpoint {} "
        "failed: {}. Configuration restored: {} serves again. Fix the model, then approve a new "
        "version.', $.package.arn, $.names.config, $.deployment.endpoint_name, "
        "$.smoke.description, $.deployment.previous_config)",
        "smoke test failed: previous configuration restored",
        "The previous configuration serves again.",
        **{"restored_config.$": "$.deployment.previous_config"},
    )
    not_restored = attempt_failed(
        ending,
        "RestoreFailed",
        "DeploymentFailed",
        "States.Format('The smoke test of model package {} on endpoint {} failed: {}. Restoring "
        "configuration {} did not complete: the endpoint is {} on {} after {} polls. Roll back "
        "by hand (make rollback) or delete the endpoint (make endpoint-down).', $.package.arn, "
        "$.deployment.endpoint_name, $.smoke.description, $.deployment.previous_config, "
        "$.endpoint.EndpointStatus, $.endpoint.EndpointConfigName, $.polls.restore.count)",
        "smoke test failed: restore failed",
        "The previous configuration could not be restored.",
    )
    return restored, not_restored
