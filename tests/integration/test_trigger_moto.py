"""The S3 trigger Lambda against Step Functions emulated by moto.

moto keeps executions RUNNING unless its `execute_state_machine` config is on; these tests leave
it off, assert that, and use it to hold "a run in progress". `stop_execution` ends one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambdas.trigger import handler, logic
from tests.helpers.events import load_event

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
BASE_URI = "s3://iris-mlops-111122223333/data/raw/iris.csv"


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[SFNClient]:
    """Fake credentials, a moto account, and the Lambda's client bound to it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # The handler caches its client across invocations, as on a warm Lambda; start each test cold.
    handler.stepfunctions_client.cache_clear()
    with mock_aws():
        yield boto3.client("stepfunctions", region_name=REGION)
    handler.stepfunctions_client.cache_clear()


@pytest.fixture
def state_machine_arn(sfn: SFNClient, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = sfn.create_state_machine(
        name="iris-mlops-training",
        definition=PASS_DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/iris-mlops-states",
    )["stateMachineArn"]
    monkeypatch.setenv(logic.STATE_MACHINE_ARN_ENV, arn)
    monkeypatch.delenv(logic.DATA_PREFIX_ENV, raising=False)
    return arn


def executions(sfn: SFNClient, arn: str) -> list[str]:
    return sorted(e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"])


def test_first_event_starts_one_execution_with_the_data_uri(
    sfn: SFNClient, state_machine_arn: str
) -> None:
    result = handler.lambda_handler(load_event("s3_object_created"), None)

    assert result["status"] == "started"
    assert result["execution_arn"] is not None
    described = sfn.describe_execution(executionArn=result["execution_arn"])
    assert described["name"] == result["execution_name"]
    assert json.loads(described["input"]) == {"data_uri": BASE_URI}
    # The tests below rely on moto leaving executions RUNNING in this mode.
    assert described["status"] == "RUNNING"
    assert executions(sfn, state_machine_arn) == [result["execution_name"]]


def test_replayed_event_while_running_is_a_duplicate(
    sfn: SFNClient, state_machine_arn: str
) -> None:
    first = handler.lambda_handler(load_event("s3_object_created"), None)
    again = handler.lambda_handler(load_event("s3_object_created"), None)

    assert again["status"] == "duplicate"
    assert again["execution_arn"] == first["execution_arn"]
    assert executions(sfn, state_machine_arn) == [first["execution_name"]]


def test_replayed_event_after_the_run_finished_is_a_duplicate(
    sfn: SFNClient, state_machine_arn: str
) -> None:
    first = handler.lambda_handler(load_event("s3_object_created"), None)
    assert first["execution_arn"] is not None
    sfn.stop_execution(executionArn=first["execution_arn"])

    again = handler.lambda_handler(load_event("s3_object_created"), None)

    # Nothing is RUNNING now, so this goes through StartExecution and its ExecutionAlreadyExists.
    assert again["status"] == "duplicate"
    assert again["execution_arn"] == first["execution_arn"]
    assert "already exists" in again["reason"]
    assert executions(sfn, state_machine_arn) == [first["execution_name"]]


def test_other_upload_while_running_is_skipped_then_runs_later(
    sfn: SFNClient, state_machine_arn: str
) -> None:
    first = handler.lambda_handler(load_event("s3_object_created"), None)
    skipped = handler.lambda_handler(load_event("s3_object_created_versioned"), None)

    assert skipped["status"] == "skipped"
    assert skipped["reason"].startswith(f"execution {first['execution_name']} is already running")
    assert f"make start DATA={BASE_URI}" in skipped["reason"]
    assert executions(sfn, state_machine_arn) == [first["execution_name"]]

    assert first["execution_arn"] is not None
    sfn.stop_execution(executionArn=first["execution_arn"])
    later = handler.lambda_handler(load_event("s3_object_created_versioned"), None)
    assert later["status"] == "started"
    assert later["execution_name"] == skipped["execution_name"]
    assert first["execution_name"] is not None and later["execution_name"] is not None
    assert executions(sfn, state_machine_arn) == sorted(
        [first["execution_name"], later["execution_name"]]
    )


@pytest.mark.parametrize(
    "name",
    ["s3_object_created_not_csv", "s3_object_created_outside_prefix", "s3_object_created_empty"],
)
def test_uploads_that_are_not_training_data_are_ignored(
    sfn: SFNClient, state_machine_arn: str, name: str
) -> None:
    result = handler.lambda_handler(load_event(name), None)
    assert result["status"] == "ignored"
    assert executions(sfn, state_machine_arn) == []


def test_custom_data_prefix(
    sfn: SFNClient, state_machine_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logic.DATA_PREFIX_ENV, "pipelines")
    result = handler.lambda_handler(load_event("s3_object_created_outside_prefix"), None)
    assert result["status"] == "started"
    assert executions(sfn, state_machine_arn) == [result["execution_name"]]


def test_missing_state_machine_arn_is_a_clear_error(
    sfn: SFNClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(logic.STATE_MACHINE_ARN_ENV, raising=False)
    with pytest.raises(logic.ConfigurationError, match="STATE_MACHINE_ARN is not set"):
        handler.lambda_handler(load_event("s3_object_created"), None)


def test_unknown_state_machine_error_propagates(
    sfn: SFNClient, state_machine_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logic.STATE_MACHINE_ARN_ENV, state_machine_arn + "-missing")
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        handler.lambda_handler(load_event("s3_object_created"), None)
