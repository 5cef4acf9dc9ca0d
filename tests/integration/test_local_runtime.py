"""The local runtime on a real emulator process: a crash mid-command, a restart's port.

The crash is real: the server's process group is SIGKILLed while `python -m ops start --wait`
waits for the run its queued request starts, as when the emulator dies under a user; every
command must then say so in one line with the log's path (no botocore traceback).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import process as emulator_module
from emulator.process import Emulator, EmulatorError
from harness import demo
from harness.demo import LocalStack

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
#: A run that outlives the test: the command is still waiting for it when the emulator dies.
WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.start(pipeline_workdir=None, log_path=tmp_path / "emulator.log")
    try:
        yield emu
    finally:
        emu.stop()


def _waiting_state_machine(emu: Emulator) -> str:
    iam, sfn = emu.client("iam"), emu.client("stepfunctions")
    role = iam.create_role(  # type: ignore[attr-defined]
        RoleName="waiting-role", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    return str(
        sfn.create_state_machine(  # type: ignore[attr-defined]
            name="waiting", definition=json.dumps(WAITING), roleArn=role
        )["stateMachineArn"]
    )


def _crash(emu: Emulator) -> None:
    """SIGKILL the server's process group (no clean shutdown), and reap it."""
    os.killpg(emu.pid, signal.SIGKILL)
    emu.proc.wait(timeout=30)


def _wait_for_text(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} not in {path} within {timeout} s"
        time.sleep(0.2)


def test_an_emulator_killed_mid_wait_is_one_line_with_its_log(
    emulator: Emulator, tmp_path: Path
) -> None:
    queue = emulator.client("sqs").create_queue(  # type: ignore[attr-defined]
        QueueName="uploads.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                # make start queues a training request; nothing consumes it here, so the
                # command is still waiting for its run when the emulator dies.
                "uploads_queue_url": queue,
                "training_state_machine_arn": _waiting_state_machine(emulator),
                # make start checks its input against the schema: data_uri must be in it.
                "bucket_name": "waiting-bucket",
            }
        )
    )
    state_file = tmp_path / "emulator.json"
    emulator_module.write_record(state_file, emulator)
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_PROFILE", "AWS_SESSION_TOKEN"}}
    env.update(
        AWS_ENDPOINT_URL=emulator.endpoint_url,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        MLOPS_EMULATOR_LOG=str(emulator.log_path),
    )
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("w") as out, stderr.open("w") as err:
        command = subprocess.Popen(
            [sys.executable, "-m", "ops", "start", "--wait", "--outputs", str(outputs)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
    try:
        _wait_for_text(stdout, "waits in the queue", timeout=60)
        _crash(emulator)
        code = command.wait(timeout=120)
    finally:
        if command.poll() is None:
            command.kill()

    assert code == 1
    assert "queued training request" in stdout.read_text(), "the request came before the wait"
    target, *lines = stderr.read_text().splitlines()
    assert target.startswith("target: account "), target  # every command says what it targets
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: the emulator at {emulator.endpoint_url} is not answering")
    assert f"its log is {emulator.log_path}" in lines[0]

    # `make local-status` on the dead session's record: one line, the same log.
    status = subprocess.run(
        [sys.executable, "-m", "emulator", "status", "--state-file", str(state_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 1
    assert status.stdout.strip() == emulator_module.gone_message(
        emulator.endpoint_url, str(emulator.log_path), None
    )
    assert status.stderr == ""

    # The demo's calls on a dead emulator: one EmulatorError line with the exit code and log.
    stack = LocalStack(emulator, tmp_path, {"training_state_machine_arn": "arn:unused"})
    with pytest.raises(EmulatorError) as raised, demo.emulator_answers(stack):
        demo.executions(stack, "training")
    assert str(raised.value) == emulator_module.gone_message(
        emulator.endpoint_url, emulator.log_path, -signal.SIGKILL
    )


def test_a_restarted_session_listens_on_the_same_port(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    first = emulator_module.up(state_file)
    try:
        assert emulator_module.down(state_file)
        again = emulator_module.up(state_file)
        assert again["port"] == first["port"]
        assert again["pid"] != first["pid"]
        assert emulator_module.is_healthy(again["endpoint_url"])
    finally:
        emulator_module.down(state_file)
    assert emulator_module.read_state(state_file) is None
