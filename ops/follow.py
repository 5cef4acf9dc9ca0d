"""Follow an execution live, on AWS as on the emulator: each state as it is entered (a poll loop's
states once), the SageMaker pipeline's steps as their status changes, and the tuning trials as
they finish, until the execution ends.

A queued request's execution does not exist until the trigger starts it: ``follow`` first waits
for it to appear (its name is known in advance), saying so once.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ops import executions, render
from ops.errors import Exit, WaitTimeout
from ops.session import Context, Result, seconds

DEFAULT_INTERVAL = 5.0
#: How long ``--wait`` follows a run or a deployment by default (``--timeout`` seconds).
DEFAULT_TIMEOUT = 3600.0


def is_poll_state(name: str) -> bool:
    """The states of a poll loop (Wait -> Describe -> Count -> Choice), shown once per run."""
    return (
        name.startswith("WaitFor")
        or name.startswith("Describe")
        or (name.startswith("Count") and name.endswith("Poll"))
        or name.endswith("Status")
    )


@dataclass
class Followed:
    """A finished execution as followed."""

    arn: str
    name: str
    status: str
    error: str | None
    cause: str | None
    outcome: dict[str, Any]
    states: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution": self.name,
            "arn": self.arn,
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "outcome": self.outcome,
        }


def pipeline_arn(events: list[dict[str, Any]]) -> str | None:
    """The pipeline execution the run started (StartPipeline's result)."""
    for event in events:
        details = event.get("taskSucceededEventDetails") or {}
        if details.get("resource") == "startPipelineExecution":
            try:
                return str(json.loads(details.get("output") or "{}")["PipelineExecutionArn"])
            except (KeyError, json.JSONDecodeError):
                return None
    return None


class Follower:
    def __init__(
        self,
        sfn: Any,
        sagemaker: Any,
        say: Callable[[str], None],
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sfn = sfn
        self.sagemaker = sagemaker
        self.say = say
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._steps: dict[str, str] = {}
        self._trials: dict[str, int] = {}

    def follow(self, arn: str, timeout: float, *, queued: str = "") -> Followed:
        """Print the execution's progress until it ends; WaitTimeout past ``timeout`` seconds
        (it goes on). ``queued`` says what the execution waits for before it exists."""
        deadline = self.clock() + timeout
        name = arn.rsplit(":", 1)[-1]
        described = executions.describe(self.sfn, arn)
        if described is None and queued:
            self.say(f"  {name} waits in the queue: {queued}")
        seen, states = 0, []
        while True:
            if described is not None:
                events = executions.history(self.sfn, arn)
                for event in events[seen:]:
                    entered = event.get("stateEnteredEventDetails")
                    if entered:
                        state = entered["name"]
                        if not is_poll_state(state) or state not in states:
                            self.say(f"  → {state}")
                        states.append(state)
                seen = len(events)
                self._pipeline_progress(pipeline_arn(events))
                if described["status"] in executions.TERMINAL:
                    return Followed(
                        arn=arn,
                        name=name,
                        status=described["status"],
                        error=described.get("error"),
                        cause=described.get("cause"),
                        outcome=executions.outcome_of(self.sfn, described),
                        states=states,
                    )
            if self.clock() >= deadline:
                where = "has not started" if described is None else "is still RUNNING"
                raise WaitTimeout(
                    f"execution {name} {where} after {timeout:.0f} s; it goes on: follow it "
                    "with `make status` / `make logs`"
                )
            self.sleep(self.interval)
            described = executions.describe(self.sfn, arn)

    def _pipeline_progress(self, arn: str | None) -> None:
        if arn is None:
            return
        try:
            steps = self.sagemaker.list_pipeline_execution_steps(
                PipelineExecutionArn=arn, SortOrder="Ascending"
            )["PipelineExecutionSteps"]
        except ClientError:
            return  # progress is a courtesy: the run's own states are what counts
        for step in steps:
            name, status = step["StepName"], step.get("StepStatus", "?")
            if self._steps.get(name) != status:
                self._steps[name] = status
                reason = f" - {step['FailureReason']}" if step.get("FailureReason") else ""
                self.say(f"    pipeline step {name}: {status}{reason}")
            tuning = (step.get("Metadata") or {}).get("TuningJob", {}).get("Arn")
            if tuning:
                self._tuning_progress(str(tuning).rsplit("/", 1)[-1])

    def _tuning_progress(self, job: str) -> None:
        try:
            trials = self.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=job, MaxResults=100
            )["TrainingJobSummaries"]
        except ClientError:
            return
        done = [
            t for t in trials if t.get("TrainingJobStatus") in {"Completed", "Failed", "Stopped"}
        ]
        if len(done) == self._trials.get(job, 0):
            return
        self._trials[job] = len(done)
        scores = [
            t["FinalHyperParameterTuningJobObjectiveMetric"]
            for t in done
            if t.get("FinalHyperParameterTuningJobObjectiveMetric")
        ]
        best = ""
        if scores:
            metric = scores[0].get("MetricName", "objective")
            best = f", lowest {metric} {min(float(s['Value']) for s in scores):.4f}"
        self.say(f"      tuning {job}: {len(done)} of {len(trials)} trials done{best}")


def then_follow(
    ctx: Context, data: dict[str, Any], text: str, arn: str, what: str, queued: str
) -> Result:
    """With ``--wait``, follow the execution ``arn`` that a queued request will start, to its end
    (its outcome goes into ``data[what]``); without, say how to follow it."""
    if not ctx.args.wait:
        return Result(data, text + "\nfollow it with `make status` (or WAIT=1 next time)")
    ctx.say(text)
    follower = Follower(ctx.clients.sfn, ctx.clients.sagemaker, ctx.say, interval=ctx.args.poll)
    followed = follower.follow(arn, ctx.args.timeout, queued=queued)
    data[what] = followed.as_dict()
    code = Exit.OK if followed.status == "SUCCEEDED" else Exit.FAILED
    return Result(data, render.finished(followed), code)


def add_wait_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--wait", action="store_true", help=f"follow the {what} live to its end")
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        help="seconds to follow it (it goes on afterwards)",
    )
    parser.add_argument(
        "--poll",
        type=seconds,
        default=DEFAULT_INTERVAL,
        help="seconds between checks while following",
    )
