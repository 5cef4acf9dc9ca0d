"""Plan -> PlanRoute: what to compare, in Python (``lambdas/monitor_plan``).

The Lambda checks the input, finds the endpoint's serving package, its drift baseline and
dataset contract, lists the window's capture files and writes the job's manifest; it answers
``action``: ``run`` (with the job's parts), ``skip`` (no endpoint, capture off, no traffic in the
window: insufficient data, no job) or ``refuse`` (a bad input, a package without a baseline).
"""

from __future__ import annotations

from stepfunctions.steps import Catch, Choice, ChoiceRule
from stepfunctions.steps.states import State

from statemachines.common import EXECUTION_NAME, Ending, lambda_task
from statemachines.sdk_ext import Task


def plan_phase(ending: Ending, job: State) -> Task:
    """Returns Plan; ``job`` follows a plan whose action is ``run``."""
    plan = lambda_task(
        "Plan",
        "monitor_plan_function_arn",
        {
            "input.$": "$",
            "execution_name.$": EXECUTION_NAME,
            "started.$": "$$.Execution.StartTime",
        },
        comment="The serving package, its baseline, the window's captured traffic, in Python.",
        output_path="$.Payload",
    )
    # The Catch replaces the state: a non-object input cannot take a ResultPath field.
    plan_failed = ending.fail(
        "PlanFailed",
        "MonitoringPlanFailed",
        "States.Format('The monitoring run could not be planned: {} ({})', $.Cause, $.Error)",
        "The planning Lambda failed (after retries).",
    )
    plan.add_catch(Catch(error_equals=["States.ALL"], next_step=plan_failed, result_path="$"))
    route = Choice("PlanRoute", comment="Run the drift job, or end without one.")
    skipped = ending.outcome(
        "Skipped",
        {
            "status": "SKIPPED",
            "verdict.$": "$.verdict",
            "reason.$": "$.reason",
            "endpoint.$": "$.run.endpoint",
            "window.$": "$.run.window",
        },
        "No endpoint, capture off, or no traffic in the window: insufficient data, no job.",
    )
    refused = ending.outcome(
        "Refused",
        {
            "status": "FAILED",
            "error.$": "$.error",
            "cause.$": "$.cause",
            "state": "Refused",
            "endpoint.$": "$.run.endpoint",
        },
        "A bad input, or a serving package without a baseline; the cause says what to do.",
    )
    plan.next(route)
    route.add_choice(ChoiceRule.StringEquals("$.action", "run"), job)
    route.add_choice(ChoiceRule.StringEquals("$.action", "skip"), skipped)
    route.default_choice(refused)
    return plan
