"""Step Functions' payload limit on the emulator (``emulator/aws/stepfunctions.py``).

"Maximum input or output size for a task, activity, or workflow execution: 256 KiB of data as a
UTF-8 encoded string" (Step Functions quotas). A state whose output is larger fails the
execution with ``States.DataLimitExceeded``, a terminal error no Retry or Catch handles
(Step Functions developer guide, "Handling errors in Step Functions workflows").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/r"
LIMIT = 256 * 1024
#: Half the limit and a little more: twice this is above it, once is below.
HALF = "x" * (LIMIT // 2 + 1000)
CATCH_ALL = [
    {"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"},
    {"ErrorEquals": ["States.ALL"], "Next": "Caught"},
]
RETRY_ALL = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}]
GROW = {"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}}


@pytest.fixture
def run(clients: Callable[[str], Any]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    sfn = clients("stepfunctions")

    def execute(definition: dict[str, Any], payload: Any) -> dict[str, Any]:
        machine = sfn.create_state_machine(
            name=f"m{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))[
            "executionArn"
        ]
        deadline = time.monotonic() + 60
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.1)
        events = sfn.get_execution_history(executionArn=arn)["events"]
        return {**described, "events": [e["type"] for e in events]}

    return execute


def test_a_pass_state_growing_its_payload_past_256_kib_fails_the_execution(run: Any) -> None:
    ended = run({"StartAt": "Grow", "States": {"Grow": {**GROW, "End": True}}}, {"s": HALF})
    assert (ended["status"], ended["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert "Grow" in ended["cause"]


def test_a_payload_within_the_limit_passes(run: Any) -> None:
    small = {"StartAt": "Grow", "States": {"Grow": {**GROW, "End": True}}}
    assert run(small, {"s": "x" * 1000})["status"] == "SUCCEEDED"


def test_no_catch_handles_it_in_a_parallel_branch(run: Any) -> None:
    definition = {
        "StartAt": "Branches",
        "States": {
            "Branches": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Grow", "States": {"Grow": {**GROW, "End": True}}},
                ],
                "Retry": RETRY_ALL,
                "Catch": CATCH_ALL,
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    ended = run(definition, {"s": HALF})
    assert (ended["status"], ended["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert ended["events"].count("ParallelStateStarted") == 1  # not retried
    assert "SucceedStateEntered" not in ended["events"]  # not caught


def test_no_retry_or_catch_handles_a_task_result_past_the_limit(
    run: Any, clients: Callable[[str], Any]
) -> None:
    s3 = clients("s3")
    s3.create_bucket(Bucket="big")
    s3.put_object(Bucket="big", Key="report.json", Body=("x" * (LIMIT + 10)).encode())
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "big", "Key": "report.json"},
                "Retry": RETRY_ALL,
                "Catch": CATCH_ALL,
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    ended = run(definition, {})
    assert (ended["status"], ended["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert ended["events"].count("TaskScheduled") == 1  # not retried
    assert "SucceedStateEntered" not in ended["events"]  # not caught
