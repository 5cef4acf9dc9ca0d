"""StartPipeline -> poll -> PipelineOutcome: run the SageMaker Pipeline and read what it produced.

``PipelineOutcome`` (``lambdas/pipeline_outcome``) reads the finished execution: on success the
bounded ``summary.json`` the evaluation step wrote (never the whole report), on failure the reason
(a data error's own message first, from the data step's ``ExitMessage``). The ASL only branches.
"""

from __future__ import annotations

from stepfunctions.steps import Catch, Choice, ChoiceRule
from stepfunctions.steps.states import State

from statemachines.common import Ending, PollLoop, lambda_task, poll_loop, sagemaker_task
from statemachines.sdk_ext import Task

#: What PipelineOutcome answers, every key always present (null where it does not apply).
OUTCOME_KEYS = (
    "succeeded",
    "error",
    "cause",
    "summary",
    "approval_status",
    "evaluation_uri",
    "report_uri",
    "baseline_uri",
)


def pipeline_phase(ending: Ending, gate: State) -> Task:
    """Returns StartPipeline; ``gate`` follows a succeeded pipeline with its summary read."""
    start = _start(ending)
    loop = _poll(ending)
    outcome = _outcome(ending, gate)
    start.next(loop.wait)
    ended = ChoiceRule.Or(
        [
            ChoiceRule.StringEquals("$.pipeline_status.status", status)
            for status in ("Succeeded", "Failed", "Stopped")
        ]
    )
    loop.exit(ended, outcome)
    loop.on_budget_spent(_stop(ending))
    return start


def _start(ending: Ending) -> Task:
    start = sagemaker_task(
        "StartPipeline",
        "startPipelineExecution",
        {
            "PipelineName": "${pipeline_name}",
            "ClientRequestToken.$": "States.Hash($$.Execution.Id, 'SHA-256')",
            "PipelineExecutionDescription.$": "$.pipeline_description",
            "PipelineParameters.$": "$.pipeline_parameters",
        },
        comment="Idempotent start: the token derives from this execution's id.",
        result_path="$.pipeline",
        result_selector={"arn.$": "$.PipelineExecutionArn"},
    )
    ending.catch_all(
        start,
        ending.caught(
            "PipelineStartFailed",
            "PipelineStartFailed",
            "Could not start the SageMaker pipeline ${pipeline_name}",
        ),
    )
    return start


def _poll(ending: Ending) -> PollLoop:
    describe = sagemaker_task(
        "DescribePipeline",
        "describePipelineExecution",
        {"PipelineExecutionArn.$": "$.pipeline.arn"},
        result_path="$.pipeline_status",
        result_selector={"status.$": "$.PipelineExecutionStatus"},
    )
    ending.catch_all(
        describe,
        ending.caught(
            "PipelineMonitoringFailed",
            "PipelineMonitoringFailed",
            "Could not read the status of the pipeline execution",
        ),
    )
    return poll_loop(
        "Pipeline",
        describe,
        counter="pipeline",
        interval_path="$.config.poll_interval_seconds",
        budget_path="$.config.max_polls",
        comment="Poll the pipeline execution within the run's budget.",
    )


def _outcome(ending: Ending, gate: State) -> Task:
    outcome = lambda_task(
        "PipelineOutcome",
        "pipeline_outcome_function_arn",
        {
            "pipeline_execution_arn.$": "$.pipeline.arn",
            "status.$": "$.pipeline_status.status",
            "config.$": "$.config",
            "policy.$": "$.policy",
        },
        comment="Succeeded: its bounded summary.json. Failed: why, a data error's message first.",
        result_path="$.evaluation",
        result_selector={f"{key}.$": f"$.Payload.{key}" for key in OUTCOME_KEYS},
    )
    ending.catch_all(
        outcome,
        ending.caught(
            "OutcomeUnreadable", "EvaluationUnreadable", "Could not read what the pipeline produced"
        ),
    )
    # The Lambda names the error (DataValidationError, PipelineExecutionFailed, ...).
    failed = ending.outcome(
        "PipelineFailed",
        {
            "status": "FAILED",
            "error.$": "$.evaluation.error",
            "cause.$": "$.evaluation.cause",
            "state": "PipelineFailed",
        },
        "The pipeline failed, was stopped, or wrote no usable summary; nothing is registered.",
    )
    route = Choice("OutcomeRoute", comment="Did the pipeline produce a model to gate?")
    outcome.next(route)
    route.add_choice(ChoiceRule.BooleanEquals("$.evaluation.succeeded", True), gate)
    route.default_choice(failed)
    return outcome


def _stop(ending: Ending) -> Task:
    stop = sagemaker_task(
        "StopPipeline",
        "stopPipelineExecution",
        {
            "PipelineExecutionArn.$": "$.pipeline.arn",
            "ClientRequestToken.$": "States.Hash(States.Format('{}/stop', $$.Execution.Id), "
            "'SHA-256')",
        },
        comment="The poll budget is spent: do not leave the pipeline running unobserved.",
    )
    budget_spent = ending.fail(
        "PollBudgetExhausted",
        "PipelinePollBudgetExhausted",
        "States.Format('Pipeline execution {} was still {} after {} polls, {} s apart; it was "
        "stopped. Raise pipeline_max_polls or pipeline_poll_interval_seconds if runs take this "
        "long.', $.pipeline.arn, $.pipeline_status.status, $.polls.pipeline.count, "
        "$.config.poll_interval_seconds)",
        "Poll budget exhausted.",
    )
    stop.add_catch(
        Catch(error_equals=["States.ALL"], next_step=budget_spent, result_path="$.stop_error")
    )
    stop.next(budget_spent)
    return stop
