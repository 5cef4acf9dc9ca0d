"""scripts/wait_for_execution.py against moto's Step Functions, which really executes the ASL.

One case per exit: SUCCEEDED returns 0, FAILED returns 1 and reports error and cause, an execution
still running at the deadline returns 4 (the one exit-code table, ``ops.errors.Exit``). The
summary file plays `$GITHUB_STEP_SUMMARY`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.errors import Exit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "wait_for_execution.py"


def load_script() -> Any:
    # scripts/ is not a package (a site-packages `scripts` would shadow it): import by path.
    spec = importlib.util.spec_from_file_location("wait_for_execution", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


wfe = load_script()
REGION = "eu-west-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/state-machine"
SUCCEEDS = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
FAILS = {
    "StartAt": "Gate",
    "States": {
        "Gate": {"Type": "Fail", "Error": "QualityGateFailed", "Cause": "accuracy 0.5 < 0.9"}
    },
}
# Longer than any deadline below, so the execution is still RUNNING when we give up.
WAITS = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": 600, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
# moto runs executions on a thread: poll fast, yet never wait unbounded.
FAST = ["--poll-seconds", "0.05", "--timeout-seconds", "20"]

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    # Signed with the keys set above, not moto's own: once the emulator's extensions are
    # installed in this process (another test file), it refuses keys it does not know.
    config = {"stepfunctions": {"execute_state_machine": True}, "core": {"mock_credentials": False}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        yield boto3.client("stepfunctions", region_name=REGION)


def state_machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    response = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE_ARN
    )
    return str(response["stateMachineArn"])


def test_succeeded_execution_returns_0_and_links_the_console(
    sfn: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = state_machine(sfn, "ok", SUCCEEDS)
    summary = tmp_path / "summary.md"

    code = wfe.main(
        [
            "--state-machine-arn",
            arn,
            "--name",
            "deploy-0123456789ab-1",
            "--summary-file",
            str(summary),
            *FAST,
        ],
        sfn=sfn,
    )

    assert code == 0
    execution_arn = f"{arn.replace(':stateMachine:', ':execution:')}:deploy-0123456789ab-1"
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED"
    link = (
        f"https://{REGION}.console.aws.amazon.com/states/home?region={REGION}"
        f"#/v2/executions/details/{execution_arn}"
    )
    text = summary.read_text()
    assert link in text
    assert "**SUCCEEDED**" in text
    assert "Error" not in text
    assert link in capsys.readouterr().out


def test_failed_execution_returns_1_with_error_and_cause(
    sfn: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = state_machine(sfn, "gate", FAILS)
    summary = tmp_path / "summary.md"

    code = wfe.main(
        [
            "--state-machine-arn",
            arn,
            "--name",
            "deploy-fail-1",
            "--summary-file",
            str(summary),
            *FAST,
        ],
        sfn=sfn,
    )

    assert code == 1
    text = summary.read_text()
    assert "**FAILED**" in text
    assert "`QualityGateFailed`" in text
    assert "accuracy 0.5 < 0.9" in text
    err = capsys.readouterr().err
    assert "::error::QualityGateFailed: accuracy 0.5 < 0.9" in err


def test_deadline_exceeded_returns_2_and_leaves_the_execution_running(
    sfn: Any, tmp_path: Path
) -> None:
    arn = state_machine(sfn, "slow", WAITS)
    execution_arn = sfn.start_execution(stateMachineArn=arn, name="deploy-slow-1")["executionArn"]
    summary = tmp_path / "summary.md"

    code = wfe.main(
        [
            "--execution-arn",
            execution_arn,
            "--summary-file",
            str(summary),
            "--poll-seconds",
            "0.05",
            "--timeout-seconds",
            "0.3",
        ],
        sfn=sfn,
    )

    assert code == Exit.TIMEOUT
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    assert "**RUNNING**" in summary.read_text()
    assert "keeps running" in summary.read_text()
    sfn.stop_execution(executionArn=execution_arn)


def test_wait_never_sleeps_past_the_deadline() -> None:
    """A fake clock: the last sleep is cut to what is left, and polling stops at the deadline."""

    class Running:
        calls = 0

        def describe_execution(self, executionArn: str) -> dict[str, str]:
            self.calls += 1
            return {"status": "RUNNING"}

    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = Running()
    arn = f"arn:aws:states:{REGION}:123456789012:execution:sm:x"
    outcome = wfe.wait_for_execution(
        client, arn, timeout_seconds=75, poll_seconds=30, clock=lambda: now[0], sleep=sleep
    )

    assert outcome.deadline_exceeded
    assert outcome.exit_code == Exit.TIMEOUT
    assert sleeps == [30, 30, 15]
    assert client.calls == 4


def test_cli_rejects_a_start_without_a_name_and_invalid_input() -> None:
    arn = f"arn:aws:states:{REGION}:123456789012:stateMachine:sm"
    with pytest.raises(SystemExit):
        wfe.parse_args(["--state-machine-arn", arn])
    with pytest.raises(json.JSONDecodeError):
        wfe.parse_args(["--state-machine-arn", arn, "--name", "n", "--input", "{not json"])
    with pytest.raises(ValueError, match="not an ARN"):
        wfe.region_of("my-state-machine")


def test_a_dead_endpoint_is_one_line_naming_the_emulators_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from botocore.config import Config

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLOPS_EMULATOR_LOG", "/tmp/emulator.log")
    sfn = boto3.client(
        "stepfunctions",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    arn = f"arn:aws:states:{REGION}:123456789012:execution:m:run-1"

    code = wfe.main(["--execution-arn", arn, "--timeout-seconds", "5"], sfn=sfn)

    err = capsys.readouterr().err.strip().splitlines()
    assert code == wfe.EXIT_FAILED
    assert err == [
        f"error: the emulator at {endpoint} is not answering (stopped or crashed): "
        "its log is /tmp/emulator.log; start a new one with make local-up"
    ]


def test_the_scripts_exit_codes_are_the_operations_table() -> None:
    assert (wfe.EXIT_SUCCEEDED, wfe.EXIT_FAILED, wfe.EXIT_DEADLINE) == (
        Exit.OK,
        Exit.FAILED,
        Exit.TIMEOUT,
    )
