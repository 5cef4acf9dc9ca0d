"""The emulator server process (emulator/process.py) and the real Terraform applied to it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator import process as emulator_module
from emulator.process import Emulator
from harness import terraform_local

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator.start() as emu:
        yield emu


def test_starts_with_step_functions_execution_and_stops_without_orphans() -> None:
    emu = Emulator.start()
    pid = emu.pid
    try:
        # GET /moto-api/config does not echo "stepfunctions": check that ASL really executes.
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=emu.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": True}}}
        machine = sfn.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine, name="x")["executionArn"]
        deadline = time.monotonic() + 20
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert described["output"] == "7"
        s3 = boto3.client(
            "s3",
            endpoint_url=emu.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="emulator-check")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["emulator-check"]
    finally:
        emu.stop()
    assert emu.proc.returncode is not None
    assert not _alive(pid)


def test_extensions_are_applied_in_the_server_process(server: Emulator) -> None:
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # ValidateStateMachineDefinition is one of ours: moto alone answers 404/NotImplemented.
    answer = sfn.validate_state_machine_definition(definition="{", type="STANDARD")
    assert answer["result"] == "FAIL"


def test_cli_up_status_down(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    try:
        state = emulator_module.up(state_file)
        assert emulator_module.is_healthy(state["endpoint_url"])
        assert emulator_module.up(state_file) == state  # idempotent: the same server
        assert emulator_module.main(["status", "--state-file", str(state_file)]) == 0
    finally:
        assert emulator_module.down(state_file)
    deadline = time.monotonic() + 10
    while _alive(state["pid"]):
        assert time.monotonic() < deadline, "server outlived down"
        time.sleep(0.05)
    assert emulator_module.main(["status", "--state-file", str(state_file)]) == 1
    assert not emulator_module.down(state_file)


def test_terraform_apply_of_the_real_module_then_plan_is_clean(tmp_path: Path) -> None:
    if not (ROOT / "build" / "sourcedir.tar.gz").exists():
        pytest.fail("run `make build` first (build/sourcedir.tar.gz, build/trigger.zip)")
    with Emulator.start() as emu:
        outputs = terraform_local.apply(emu, tmp_path)
        assert outputs["bucket_name"].startswith("iris-mlops-")
        assert terraform_local.plan_is_clean(emu, tmp_path), terraform_local.plan_changes(
            emu, tmp_path
        )
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=emu.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        machine = sfn.describe_state_machine(stateMachineArn=outputs["state_machine_arn"])
        assert json.loads(machine["definition"])["StartAt"]
        _bad_input_is_refused_as_applied(sfn, outputs["state_machine_arn"])


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
        resources = [
            e["taskSucceededEventDetails"]["resource"]
            for e in events
            if e["type"] == "TaskSucceeded"
        ]
        assert resources == ["invoke", "publish"], resources  # checked, notified, nothing else
