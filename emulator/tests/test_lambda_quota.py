"""A new account's Lambda concurrency limits on the emulator.

Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): a new
account may run 10 concurrent executions, and Lambda keeps a minimum unreserved, so any reserved
concurrency fails, as ``reserved_concurrent_executions = 1`` in Terraform does on such an account.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws import lambda_
from emulator.tests.helpers import create_function

pytestmark = pytest.mark.integration

REFUSAL = (
    "Specified ReservedConcurrentExecutions for function decreases account's "
    "UnreservedConcurrentExecution below its minimum value of [10]."
)


def _function(client: Any, name: str = "f") -> None:
    create_function(client, boto3.client("iam"), name)


def test_account_settings_report_a_new_accounts_limits(emulator: None) -> None:
    client = boto3.client("lambda")
    _function(client)
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 10
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 10
    assert settings["AccountUsage"]["FunctionCount"] == 1


@pytest.mark.parametrize("reserved", [1, 5, 10])
def test_any_reserved_concurrency_is_refused_on_a_new_account(
    emulator: None, reserved: int
) -> None:
    client = boto3.client("lambda")
    _function(client)
    with pytest.raises(ClientError) as excinfo:
        client.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=reserved)
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidParameterValueException", REFUSAL)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="f")


def test_zero_reserved_concurrency_is_allowed(emulator: None) -> None:
    client = boto3.client("lambda")
    _function(client)
    client.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=0)
    assert client.get_function_concurrency(FunctionName="f")["ReservedConcurrentExecutions"] == 0


def test_a_quota_increase_allows_reservations_down_to_the_minimum(emulator: None) -> None:
    lambda_.set_lambda_limits(1000, 100)
    client = boto3.client("lambda")
    _function(client, "a")
    _function(client, "b")
    client.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=600)
    settings = client.get_account_settings()["AccountLimit"]
    assert (settings["ConcurrentExecutions"], settings["UnreservedConcurrentExecutions"]) == (
        1000,
        400,
    )
    with pytest.raises(ClientError, match=r"minimum value of \[100\]"):
        client.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=301)
    client.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=300)
    # Re-reserving for the same function replaces its own reservation, it does not add to it.
    client.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=600)


def test_limits_come_from_the_environment_in_the_server_process(
    emulator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lambda_.LAMBDA_CONCURRENCY_ENV, "50")
    monkeypatch.setenv(lambda_.LAMBDA_UNRESERVED_MINIMUM_ENV, "20")
    client = boto3.client("lambda")
    _function(client)
    assert client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 50
    client.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=30)
    with pytest.raises(ClientError, match=r"minimum value of \[20\]"):
        client.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=31)
