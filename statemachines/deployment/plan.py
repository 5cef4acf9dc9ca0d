"""Plan -> PlanRoute: decide, in Python, what a deployment request means now.

``Plan`` (``lambdas/deployment_plan``) checks governance (an Approved package of this project's
group; a run's ``deploy=false`` honoured; an API change only with an explicit approval), looks
at the endpoint (absent: create; InService: guarded update, unless it already serves the package;
busy: wait and plan again; Failed: delete, wait, plan again), and answers every name and request
body the ASL sends on. The ASL only routes on ``action``.
"""

from __future__ import annotations

from stepfunctions.steps import Catch, Choice, ChoiceRule, Wait
from stepfunctions.steps.states import State

from statemachines.common import EXECUTION_NAME, Ending, lambda_task, sagemaker_task
from statemachines.sdk_ext import Task


def plan_phase(ending: Ending, deploy: State) -> Task:
    """Returns Plan; ``deploy`` follows a plan whose action is ``deploy``."""
    plan = lambda_task(
        "Plan",
        "deployment_plan_function_arn",
        {"state.$": "$", "execution_name.$": EXECUTION_NAME},
        comment="Governance, the endpoint's status, names and request bodies, in Python.",
        output_path="$.Payload",
    )
    plan_failed = ending.fail(
        "PlanFailed",
        "DeploymentPlanFailed",
        "States.Format('The deployment could not be planned: {} ({})', $.Cause, $.Error)",
        "The planning Lambda failed (after retries).",
    )
    plan.add_catch(Catch(error_equals=["States.ALL"], next_step=plan_failed, result_path="$"))
    route = Choice("PlanRoute", comment="Deploy, skip, refuse, or wait for the endpoint.")
    skipped = ending.outcome(
        "Skipped",
        {
            "status": "SKIPPED",
            "reason.$": "$.reason",
            "model_package_arn.$": "$.package.arn",
            "deployment.$": "$.deployment",
        },
        "Nothing to deploy: already serving, or the run asked not to deploy.",
    )
    refused = ending.outcome(
        "Refused",
        {
            "status": "FAILED",
            "error.$": "$.error",
            "cause.$": "$.cause",
            "state": "Refused",
            "model_package_arn.$": "$.package.arn",
            "deployment.$": "$.deployment",
        },
        "Governance or the endpoint refused the request; the cause says which and what to do.",
    )
    wait = Wait(
        "WaitBeforeReplan",
        seconds_path="$.settings.poll_interval_seconds",
        comment="The endpoint is busy (or being deleted): look again, within the plan's budget.",
    )
    delete_failed = sagemaker_task(
        "DeleteFailedEndpoint",
        "deleteEndpoint",
        {"EndpointName.$": "$.deployment.endpoint_name"},
        comment="A Failed endpoint can only be deleted; the next plan creates it again.",
    )
    ending.catch_all(
        delete_failed,
        ending.caught(
            "FailedEndpointNotDeleted",
            "DeploymentFailed",
            "Could not delete the Failed endpoint before replacing it",
            **{"deployment.$": "$.deployment"},
        ),
    )
    plan.next(route)
    route.add_choice(ChoiceRule.StringEquals("$.action", "deploy"), deploy)
    route.add_choice(ChoiceRule.StringEquals("$.action", "skip"), skipped)
    route.add_choice(ChoiceRule.StringEquals("$.action", "wait"), wait)
    route.add_choice(ChoiceRule.StringEquals("$.action", "delete_failed"), delete_failed)
    route.default_choice(refused)
    delete_failed.next(wait)
    wait.next(plan)
    return plan
