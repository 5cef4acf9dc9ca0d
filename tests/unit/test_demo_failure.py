"""A failed demo points at what exists: it keeps the execution history and log events in its
directory, prints their paths, and prints no command that could reach real AWS."""

from __future__ import annotations

import ast
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harness import demo, evidence

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
#: An AWS CLI command (``aws <service> ...`` or ``aws --option ... <service>``).
AWS_COMMAND = re.compile(r"(?<![\w/.-])aws\s+(?:--[\w-]+(?:[ =]\S+)?\s+)*[a-z0-9-]+\s+[a-z0-9-]+")
#: The local runtime's code: everything it prints is about the emulator, never AWS.
LOCAL_SOURCES = sorted([*(ROOT / "local").rglob("*.py"), *(ROOT / "harness").rglob("*.py")])


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    # Signed with the emulator's local user, not moto's own keys: once the emulator's
    # extensions are installed in this process (another test file), it refuses unknown keys.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with mock_aws(config={"core": {"mock_credentials": False}}):  # type: ignore[arg-type]
        yield lambda service: boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def _failed_execution(sfn: Any) -> str:
    machine = sfn.create_state_machine(
        name="m",
        definition=json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    return str(sfn.start_execution(stateMachineArn=machine, name="run-1")["executionArn"])


def _log(logs: Any, group: str, *messages: str) -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    if not messages:
        return
    now = int(dt.datetime.now(tz=dt.UTC).timestamp() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


def _failed_run(arn: str, kept: evidence.Kept) -> demo.RunResult:
    return demo.RunResult(
        execution_arn=arn,
        execution_name="s3-iris-1",
        status="FAILED",
        states=["CheckInput", "NotifyFailure", "Failed"],
        error="DataValidationError",
        cause="iris.csv line 6: value 'abc' is not a number",
        failing_state="DataInvalid",
        kept=kept,
    )


def test_keep_writes_the_history_and_every_log_group(
    client: Callable[[str], Any], tmp_path: Path
) -> None:
    sfn, logs = client("stepfunctions"), client("logs")
    arn = _failed_execution(sfn)
    _log(logs, "/aws/lambda/iris-mlops-trigger", "START", "upload accepted: s3://b/data/raw/x.csv")
    _log(logs, "/aws/lambda/iris-mlops-smoke-test")  # no events: nothing to keep

    kept = evidence.keep(client, tmp_path, arn)

    assert kept.history == tmp_path / "execution-history.json"
    history = json.loads(kept.history.read_text())
    assert history and history == json.loads(json.dumps(history))
    assert {event["type"] for event in history} >= {"ExecutionStarted"}
    assert kept.log_files == [tmp_path / "logs" / "aws-lambda-iris-mlops-trigger.log"]
    lines = kept.log_files[0].read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "START",
        "upload accepted: s3://b/data/raw/x.csv",
    ]


def test_without_a_run_only_the_logs_are_kept(client: Callable[[str], Any], tmp_path: Path) -> None:
    _log(client("logs"), "/aws/lambda/iris-mlops-trigger", "no run started")
    kept = evidence.keep(client, tmp_path, None)
    assert kept.history is None and not (tmp_path / "execution-history.json").exists()
    assert len(kept.log_files) == 1


def test_lines_name_only_what_exists(tmp_path: Path) -> None:
    history = tmp_path / "execution-history.json"
    kept = evidence.Kept(history=history)
    assert evidence.lines(kept, tmp_path) == []  # nothing was written: nothing is named
    history.write_text("[]")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "emulator.log").write_text("")
    lines = evidence.lines(kept, tmp_path)
    assert lines == [
        f"execution history: {tmp_path / 'execution-history.json'}",
        f"pipeline steps and training jobs: {tmp_path / 'pipelines'}/",
        f"emulator: {tmp_path / 'emulator.log'}",
    ]


def test_a_failed_run_prints_paths_that_exist_and_no_aws_command(
    client: Callable[[str], Any], tmp_path: Path
) -> None:
    arn = _failed_execution(client("stepfunctions"))
    _log(client("logs"), "/aws/vendedlogs/states/iris-mlops-training", "ExecutionFailed")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "emulator.log").write_text("serving\n")
    kept = evidence.keep(client, tmp_path, arn)
    stack = demo.LocalStack(emulator=None, workdir=tmp_path, outputs={})  # type: ignore[arg-type]
    stream = io.StringIO()

    demo.print_summary(stack, _failed_run(arn, kept), demo.Console(stream))

    printed = stream.getvalue()
    assert "✘ Run s3-iris-1 FAILED" in printed
    assert "error: DataValidationError" in printed
    assert not AWS_COMMAND.search(printed), printed
    named = re.findall(r"^    [a-z ]+: (\S+?)/?$", printed, flags=re.MULTILINE)
    assert len(named) == 4, printed  # history, pipelines, emulator log, one log group
    for path in named:
        assert Path(path).exists(), f"{path} is printed but does not exist"
    assert any(p.endswith("execution-history.json") for p in named)
    assert any(p.endswith("aws-vendedlogs-states-iris-mlops-training.log") for p in named)


@pytest.mark.parametrize(
    ("text", "is_command"),
    [
        ("aws stepfunctions get-execution-history --execution-arn arn:x", True),
        ("aws s3 ls s3://bucket/", True),
        ("aws --region us-east-1 s3 ls", True),
        ("aws --endpoint-url http://127.0.0.1:1 s3 ls s3://bucket/", True),
        ("the aws provider (5.100) needs it", False),
        ("arn:aws:states:us-east-1:1:execution:m:run", False),
    ],
)
def test_the_aws_command_pattern(text: str, is_command: bool) -> None:
    assert bool(AWS_COMMAND.search(text)) is is_command


def _string_literals(path: Path) -> Iterator[tuple[int, str]]:
    """Each string the module could print: constants and f-strings (their literal parts)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            yield node.lineno, "{}".join(str(p) for p in parts)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_every_aws_command_the_local_runtime_prints_names_the_emulator() -> None:
    """An `aws` line without `--endpoint-url` reaches real AWS in a shell without the emulator's
    environment; the local runtime prints none (docstrings and comments may mention `aws`)."""
    bare = []
    for path in LOCAL_SOURCES:
        for line, text in _string_literals(path):
            for match in AWS_COMMAND.finditer(text):
                if "--endpoint-url" not in match.group(0):
                    bare.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert not bare, bare


def test_the_session_hint_carries_the_emulators_endpoint(tmp_path: Path) -> None:
    class Running:
        endpoint_url = "http://127.0.0.1:4566"

    stack = demo.LocalStack(Running(), tmp_path, {"bucket_name": "b"})  # type: ignore[arg-type]
    hint = demo.environment_lines(stack)[-1]
    assert "aws --endpoint-url http://127.0.0.1:4566 s3 ls s3://b/" in hint
