"""The real Terraform applied to the emulator's server process, then planned again: clean."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.process import Emulator
from emulator.tests.helpers import create_function
from harness import terraform_local

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_terraform_apply_of_the_real_module_then_plan_is_clean(tmp_path: Path) -> None:
    if not (ROOT / "build" / "sourcedir.tar.gz").exists():
        pytest.fail("run `make build` first (build/sourcedir.tar.gz, build/trigger.zip)")
    with Emulator.start() as emu:
        outputs = terraform_local.apply(emu, tmp_path)
        assert outputs["bucket_name"].startswith("iris-mlops-")
        assert terraform_local.plan_is_clean(emu, tmp_path), terraform_local.plan_changes(
            emu, tmp_path
        )
        sfn = emu.client("stepfunctions")
        for name in ("training", "deployment", "monitoring"):
            arn = outputs[f"{name}_state_machine_arn"]
            machine = sfn.describe_state_machine(stateMachineArn=arn)
            assert json.loads(machine["definition"])["StartAt"], name
        _bad_input_is_refused_as_applied(sfn, outputs["training_state_machine_arn"])


def _bad_input_is_refused_as_applied(sfn: Any, machine_arn: str) -> None:
    """The applied validator Lambda, invoked as the state machine's role (IAM decided), refuses a
    typo and a non-object input: InvalidExecutionInput, field named, notified, nothing started."""
    for name, text, field in (("typo", '{"deplyo": false}', "deplyo"), ("list", "[]", "input")):
        arn = sfn.start_execution(stateMachineArn=machine_arn, name=name, input=text)[
            "executionArn"
        ]
        deadline = time.monotonic() + 60
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"execution {name} still RUNNING"
            time.sleep(0.5)
        assert (described["status"], described.get("error")) == ("FAILED", "InvalidExecutionInput")
        assert f"{field}: " in described["cause"]
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        entered = [
            e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"
        ]
        # Checked, then Finish (lambdas/notify: record, report, notify the topic), nothing else.
        assert entered == ["CheckInput", "Finish"], entered


def test_terraform_reserves_no_concurrency_a_new_account_refuses(emulator: None) -> None:
    # Every reserved_concurrent_executions in terraform/ must apply on a new account (its
    # limits: emulator/tests/test_lambda_quota.py). Applying the real module to the emulator
    # (above) fails the same way; this is the quick check.
    values = [
        int(v)
        for path in sorted((ROOT / "terraform").glob("*.tf"))
        for v in re.findall(
            r"^\s*reserved_concurrent_executions\s*=\s*(-?\d+)",
            path.read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        )
    ]
    client = boto3.client("lambda")
    create_function(client, boto3.client("iam"))
    for value in values:
        if value >= 0:  # -1 means "no reservation" to the aws provider
            client.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=value)
