"""Error names of Step Functions' optimized SageMaker integration on the emulator
(``arn:aws:states:::sagemaker:<action>``, ``emulator/aws/stepfunctions.py``).

The optimized integration names a failure as the SageMaker guide's example retries it:
``SageMaker.AmazonSageMakerException`` for an error the operation does not model (throttling,
validation), ``SageMaker.<Shape>Exception`` for a modeled one (``emulator/sfn_errors.py``).
moto named every such failure ``States.Runtime``, so a Retry on the documented name never ran.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from emulator.aws import core

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
RETRY = [
    {
        "ErrorEquals": ["SageMaker.AmazonSageMakerException"],
        "IntervalSeconds": 1,
        "MaxAttempts": 2,
        "BackoffRate": 1.0,
    }
]


def execute(sfn: Any, definition: dict[str, Any]) -> dict[str, Any]:
    machine = sfn.create_state_machine(
        name=f"m{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.1)
    history = sfn.get_execution_history(executionArn=arn)["events"]
    return {**described, "history": history}


def failures(history: list[dict[str, Any]]) -> list[str]:
    return [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]


def test_a_throttled_optimized_task_is_retried_by_its_documented_name(
    clients: Callable[[str], Any],
) -> None:
    core.inject_fault("sagemaker", "CreateModel", code="ThrottlingException", times=1)
    definition = {
        "StartAt": "CreateModel",
        "States": {
            "CreateModel": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": {
                    "ModelName": "retried",
                    "ExecutionRoleArn": ROLE,
                    "PrimaryContainer": {"Image": IMAGE},
                },
                "Retry": RETRY,
                "End": True,
            }
        },
    }

    ended = execute(clients("stepfunctions"), definition)

    assert ended["status"] == "SUCCEEDED", ended
    assert failures(ended["history"]) == ["SageMaker.AmazonSageMakerException"]
    assert clients("sagemaker").describe_model(ModelName="retried")["ModelName"] == "retried"


def test_an_optimized_task_error_is_caught_by_its_name_with_the_services_cause(
    clients: Callable[[str], Any],
) -> None:
    definition = {
        "StartAt": "CreateEndpoint",
        "States": {
            "CreateEndpoint": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createEndpoint",
                "Parameters": {"EndpointName": "e", "EndpointConfigName": "missing"},
                "Catch": [
                    {
                        "ErrorEquals": ["SageMaker.AmazonSageMakerException"],
                        "ResultPath": "$.error",
                        "Next": "Caught",
                    }
                ],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }

    ended = execute(clients("stepfunctions"), definition)

    assert ended["status"] == "SUCCEEDED", ended
    error = json.loads(ended["output"])["error"]
    assert error["Error"] == "SageMaker.AmazonSageMakerException"
    assert (
        "Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException"
        in (error["Cause"])
    )
