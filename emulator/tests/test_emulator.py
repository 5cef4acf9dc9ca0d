"""The emulator server process (emulator/process.py): started, configured, stopped, and the CLI."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import process as emulator_module
from emulator.process import Emulator

pytestmark = pytest.mark.integration


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
        sfn = emu.client("stepfunctions")
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
        s3 = emu.client("s3")
        s3.create_bucket(Bucket="emulator-check")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["emulator-check"]
    finally:
        emu.stop()
    assert emu.proc.returncode is not None
    assert not _alive(pid)


def test_extensions_are_applied_in_the_server_process(server: Emulator) -> None:
    sfn = server.client("stepfunctions")
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
