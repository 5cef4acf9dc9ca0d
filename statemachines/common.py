"""What every state machine of the project shares: integrations, retries, the one poll loop, and the
one way to end (record the outcome, let the finish Lambda report it, then succeed or fail).

Conventions of every machine:

- a failure branch writes ``$.outcome = {status: FAILED, error, cause, state, ...}`` and joins
  ``Finish``; a success writes ``$.outcome = {status: SUCCEEDED | SKIPPED, ...}`` and joins it too;
- ``Finish`` (the notify Lambda) records and notifies, then ``Ended`` routes to ``Failed`` (whose
  ``ErrorPath``/``CausePath`` make the outcome the execution's error) or ``Done``;
- every wait is a ``poll_loop``: Wait -> Describe -> Count -> Choice, bounded by a budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stepfunctions.steps import Catch, Choice, ChoiceRule, Pass, Retry, Succeed, Wait
from stepfunctions.steps.states import State

from statemachines.sdk_ext import Fail, Task

SAGEMAKER_SDK = "arn:aws:states:::aws-sdk:sagemaker:"
SAGEMAKER_OPTIMISED = "arn:aws:states:::sagemaker:"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"

# Retried error names (tests/unit/test_sfn_errors.py checks that each can occur for its task).
# aws-sdk tasks report every error their operation does not model (throttling, 5xx, validation)
# as the SDK's base exception; optimized integrations as the older SDK's base exception. A
# genuine validation error then fails after the last attempt with its own message in the cause.
SAGEMAKER_SDK_TRANSIENT = ["SageMaker.SageMakerException"]
SAGEMAKER_OPTIMISED_TRANSIENT = ["SageMaker.AmazonSageMakerException"]
# Lambda's optimized integration
# (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html): AWS's documented
# retry of transient Lambda errors, less Lambda.SdkClientException (raised by the client, never by
# the service). The project's functions answer refusals instead of raising them.
LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.TooManyRequestsException",
]

EXECUTION_NAME = "$$.Execution.Name"


def retry(errors: list[str], attempts: int = 4) -> Retry:
    return Retry(error_equals=errors, interval_seconds=2, max_attempts=attempts, backoff_rate=2.0)


def lambda_task(
    state_id: str,
    function_placeholder: str,
    payload: dict[str, Any],
    *,
    comment: str,
    result_path: str | None = "$",
    output_path: str | None = None,
    result_selector: dict[str, str] | None = None,
) -> Task:
    """Invoke one of the project's functions (``${<placeholder>}``) with ``payload``; retried."""
    kwargs: dict[str, Any] = {}
    if result_selector is not None:
        kwargs["result_selector"] = result_selector
    if output_path is not None:
        kwargs["output_path"] = output_path
    task = Task(
        state_id,
        comment=comment,
        resource=LAMBDA_INVOKE,
        parameters={"FunctionName": f"${{{function_placeholder}}}", "Payload": payload},
        result_path=result_path,
        **kwargs,
    )
    task.add_retry(retry(LAMBDA_TRANSIENT))
    return task


def sagemaker_task(
    state_id: str,
    action: str,
    parameters: dict[str, Any],
    *,
    comment: str = "",
    result_path: str | None = None,
    result_selector: dict[str, str] | None = None,
    optimised: bool = False,
) -> Task:
    """A SageMaker API call (aws-sdk integration unless ``optimised``), retried when transient."""
    kwargs: dict[str, Any] = {}
    if result_selector is not None:
        kwargs["result_selector"] = result_selector
    task = Task(
        state_id,
        comment=comment or None,
        resource=(SAGEMAKER_OPTIMISED if optimised else SAGEMAKER_SDK) + action,
        parameters=parameters,
        result_path=result_path,
        **kwargs,
    )
    task.add_retry(retry(SAGEMAKER_OPTIMISED_TRANSIENT if optimised else SAGEMAKER_SDK_TRANSIENT))
    return task


@dataclass
class Ending:
    """The one way every path of a machine ends: ``Finish`` (record and notify), then
    ``Failed`` or ``Done``. ``machine`` names the machine in the notifications."""

    machine: str
    finish: Task = field(init=False)

    def __post_init__(self) -> None:
        failed = Fail(
            "Failed",
            comment="Ends every failure path with the outcome's error and cause.",
            error_path="$.outcome.error",
            cause_path="$.outcome.cause",
        )
        done = Succeed("Done")
        notification_failed = Fail(
            "NotificationFailed",
            error="NotificationFailed",
            cause="The outcome (see the execution history) could not be recorded or notified.",
        )
        ended = Choice("Ended", comment="Fail with the outcome's error, or succeed.")
        ended.add_choice(ChoiceRule.StringEquals("$.outcome.status", "FAILED"), failed)
        ended.default_choice(done)
        self.finish = lambda_task(
            "Finish",
            "notify_function_arn",
            {
                "machine": self.machine,
                "execution_name.$": EXECUTION_NAME,
                "outcome.$": "$.outcome",
            },
            comment="Record the outcome, write its report, notify the topic (lambdas/notify).",
            result_path="$.finished",
        )
        # A lost notification must not hide a failure: the run still fails with its own error.
        failure_lost = Choice("NotificationLost")
        failure_lost.add_choice(ChoiceRule.StringEquals("$.outcome.status", "FAILED"), failed)
        failure_lost.default_choice(notification_failed)
        self.finish.add_catch(
            Catch(error_equals=["States.ALL"], next_step=failure_lost, result_path="$.notify_error")
        )
        self.finish.next(ended)

    def outcome(self, state_id: str, parameters: dict[str, Any], comment: str) -> Pass:
        """A Pass that writes ``$.outcome`` and joins ``Finish``."""
        state = Pass(state_id, comment=comment, parameters=parameters, result_path="$.outcome")
        state.next(self.finish)
        return state

    def fail(self, state_id: str, error: str, cause: str, comment: str, **extra: Any) -> Pass:
        """A failure branch: ``cause`` is a JSONPath or an intrinsic expression."""
        return self.outcome(
            state_id,
            {
                "status": "FAILED",
                "error": error,
                "cause.$": cause,
                "state": state_id,
                **extra,
            },
            comment,
        )

    def caught(self, state_id: str, error: str, what: str, **extra: Any) -> Pass:
        """A failure branch for a Catch that stored the task error at ``$.error``."""
        return self.fail(
            state_id,
            error,
            f"States.Format('{what}: {{}} ({{}})', $.error.Cause, $.error.Error)",
            f"{what} (after retries).",
            **extra,
        )

    def catch_all(self, task: Task, failure: State) -> None:
        task.add_catch(Catch(error_equals=["States.ALL"], next_step=failure, result_path="$.error"))


@dataclass
class PollLoop:
    """Wait -> Describe -> Count -> Choice, bounded by ``$.polls.<counter>`` < the budget.

    ``status`` is the Choice: the caller adds its exits (done, failed, ...) with ``exit``; the
    budget check comes after them, and the default waits again.
    """

    wait: Wait
    status: Choice
    _budget: Any

    def exit(self, rule: Any, next_state: State) -> None:
        self.status.add_choice(rule, next_state)

    def on_budget_spent(self, next_state: State) -> None:
        self.status.add_choice(self._budget, next_state)
        self.status.default_choice(self.wait)


def poll_loop(
    name: str,
    describe: Task,
    *,
    counter: str,
    interval_path: str,
    budget_path: str,
    comment: str,
) -> PollLoop:
    """The one poll loop: ``WaitFor<name>`` -> ``describe`` -> ``Count<name>Poll`` ->
    ``<name>Status``.

    ``$.polls.<counter>.count`` counts the describes (a Pass can only write an object); the
    state that starts the loop sets it to ``{"count": 0}``.
    """
    wait = Wait(f"WaitFor{name}", seconds_path=interval_path, comment=comment)
    count = Pass(
        f"Count{name}Poll",
        parameters={"count.$": f"States.MathAdd($.polls.{counter}.count, 1)"},
        result_path=f"$.polls.{counter}",
    )
    status = Choice(f"{name}Status")
    wait.next(describe)
    describe.next(count)
    count.next(status)
    budget = ChoiceRule.NumericGreaterThanEqualsPath(f"$.polls.{counter}.count", budget_path)
    return PollLoop(wait=wait, status=status, _budget=budget)
