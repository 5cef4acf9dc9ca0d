"""The operations CLI against moto: the real state machine runs, the CLI reads what it left.

Each test drives ``ops.cli.main`` end to end (arguments, outputs file, boto3 clients, exit code,
printed text) on the test stack of ``tests/helpers/stack.py``.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.aws import sagemaker as aws_sagemaker
from emulator.aws.sagemaker import PipelineRun
from ops import cli
from tests.helpers.stack import (
    ACCOUNT,
    BUCKET,
    ENDPOINT,
    GROUP,
    REGION,
    SMOKE_TEST_BODY,
    Run,
    Stack,
    evaluation_report,
)

pytestmark = pytest.mark.integration

TRIGGER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:iris-trigger"


@pytest.fixture
def stack(emulator: None) -> Stack:
    return Stack()


@pytest.fixture
def outputs(stack: Stack, tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    values = {
        "bucket_name": BUCKET,
        "state_machine_arn": stack.state_machine_arn,
        "model_package_group_name": GROUP,
        "endpoint_name": ENDPOINT,
        "notification_topic_arn": stack.topic_arn,
        "trigger_function_arn": TRIGGER,
    }
    path.write_text(json.dumps({k: {"value": v, "type": "string"} for k, v in values.items()}))
    return path


def ops(outputs: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main([*argv, "--outputs", str(outputs)], env=dict(os.environ), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def passing(stack: Stack, accuracy: float = 0.97) -> None:
    """Pipeline runs succeed, having written an evaluation with this accuracy."""

    def runner(run: PipelineRun) -> None:
        stack.put_evaluation(run.execution_id, evaluation_report(accuracy))
        run.set_status("Succeeded")

    aws_sagemaker.set_pipeline_runner(runner)


def failing(reason: str) -> None:
    def runner(run: PipelineRun) -> None:
        run.set_step("PrepareData", "Failed", failure_reason=reason)
        run.set_status("Failed", "Step failure: One or multiple steps failed.")

    aws_sagemaker.set_pipeline_runner(runner)


def package_of(run: Run) -> str:
    assert run.output is not None, run.cause
    return str(run.output["model_package_arn"])


def executions(stack: Stack) -> list[Any]:
    listed = stack.sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    return [stack.sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


# ----------------------------------------------------------------------------- start


def test_start_with_terraform_defaults_waits_for_the_summary(stack: Stack, outputs: Path) -> None:
    passing(stack)

    code, out, err = ops(outputs, "start", "--wait", "--timeout", "60")

    assert (code, err) == (0, "")
    [execution] = executions(stack)
    assert re.fullmatch(r"manual-\d{8}T\d{6}Z-[0-9a-f]{4}", execution["name"])
    assert json.loads(execution["input"]) == {}
    assert f"started {execution['name']}" in out
    assert "SUCCEEDED" in out
    summary = json.loads(out[out.index("{", out.index("SUCCEEDED")) :])
    assert summary["accuracy"] == 0.97
    assert summary["approval_status"] == "PendingManualApproval"


def test_start_with_deploy_and_data_passes_only_those_keys(stack: Stack, outputs: Path) -> None:
    passing(stack)
    data = f"s3://{BUCKET}/data/raw/other.csv"

    code, out, _ = ops(outputs, "start", "--deploy", "--data", data)

    assert code == 0
    assert "make status" in out
    [execution] = executions(stack)
    assert json.loads(execution["input"]) == {"data_uri": data, "deploy": True}


@pytest.mark.parametrize(
    ("argv", "field", "allowed"),
    [
        (["--set", "deplyo=false"], "deplyo", "did you mean deploy?"),
        (["--set", "max_tuning_jobs=2.5"], "max_tuning_jobs", "a whole number from 1 to 500"),
        (
            ["--set", "max_tuning_jobs=2", "--set", "parallel_tuning_jobs=3"],
            "parallel_tuning_jobs",
            "at most max_tuning_jobs (2)",
        ),
        (["--data", "s3://elsewhere/data/raw/x.csv"], "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ],
)
def test_start_refuses_bad_settings_before_starting_with_the_schemas_words(
    stack: Stack, outputs: Path, argv: list[str], field: str, allowed: str
) -> None:
    code, _, err = ops(outputs, "start", *argv)

    assert code == 2
    assert "Execution input is invalid: " in err
    assert f"{field}: " in err and allowed in err
    assert executions(stack) == []


def test_start_wait_reports_a_failure_with_exit_1(stack: Stack, outputs: Path) -> None:
    passing(stack, accuracy=0.5)

    code, out, _ = ops(outputs, "start", "--wait", "--timeout", "60")

    assert code == 1
    assert "FAILED" in out
    assert "error: QualityGateFailed" in out
    assert "0.5 (label species, multiclass) is below the threshold 0.9" in out


# ----------------------------------------------------------------------------- status / logs


def test_status_shows_the_failing_state_error_and_cause(stack: Stack, outputs: Path) -> None:
    passing(stack)
    good = stack.run({})
    failing("ClientError: row 7, column PetalLength")
    bad = stack.run({})

    code, out, _ = ops(outputs, "status")

    assert code == 0
    rows = out.splitlines()
    assert rows[2].split()[:2] == [bad.arn.rsplit(":", 1)[1], "FAILED"]
    assert rows[3].split()[:2] == [good.arn.rsplit(":", 1)[1], "SUCCEEDED"]
    assert "accuracy 0.9700, PendingManualApproval, not deployed" in rows[3]
    assert "test-run-2 failed in state PipelineFailed" in out
    assert "error: PipelineExecutionFailed" in out
    assert "row 7, column PetalLength" in out


def test_status_without_executions(stack: Stack, outputs: Path) -> None:
    code, out, _ = ops(outputs, "status")
    assert code == 0
    assert out.startswith("No executions yet: start one with `make start`.\n")


def test_status_shows_how_many_uploads_wait_in_each_queue(stack: Stack, tmp_path: Path) -> None:
    """The FIFO queue (waiting / in flight) and both dead-letter queues."""
    sqs = boto3.client("sqs", region_name=REGION)
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    urls = {
        "trigger_queue_url": sqs.create_queue(QueueName="t-uploads.fifo", Attributes=fifo),
        "trigger_queue_dlq_url": sqs.create_queue(QueueName="t-uploads-dlq.fifo", Attributes=fifo),
        "trigger_dlq_url": sqs.create_queue(QueueName="t-dlq"),
    }
    urls = {name: created["QueueUrl"] for name, created in urls.items()}
    for n in range(4):
        sqs.send_message(
            QueueUrl=urls["trigger_queue_url"], MessageBody=f"upload {n}", MessageGroupId="u"
        )
    # The trigger holds the running upload's message: received, not yet deleted.
    sqs.receive_message(QueueUrl=urls["trigger_queue_url"], MaxNumberOfMessages=1)
    sqs.send_message(QueueUrl=urls["trigger_dlq_url"], MessageBody="undelivered")
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"state_machine_arn": stack.state_machine_arn, **urls}))

    code, out, _ = ops(path, "status")

    assert code == 0
    rows = {
        line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.startswith("t-")
    }
    assert rows == {
        "t-uploads.fifo": ["3", "1"],
        "t-uploads-dlq.fifo": ["0", "0"],
        "t-dlq": ["1", "0"],
    }
    # Reporting never takes a message from the queue.
    attributes = sqs.get_queue_attributes(
        QueueUrl=urls["trigger_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "3"


def test_logs_render_history_and_trigger_logs(stack: Stack, outputs: Path) -> None:
    passing(stack, accuracy=0.5)
    stack.run({})
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/aws/lambda/iris-trigger")
    logs.create_log_stream(logGroupName="/aws/lambda/iris-trigger", logStreamName="s")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/aws/lambda/iris-trigger",
        logStreamName="s",
        logEvents=[{"timestamp": now_ms, "message": "started execution s3-abc"}],
    )

    code, out, err = ops(outputs, "logs", "--since", "5")

    assert (code, err) == (0, "")
    assert "== history of test-run-1" in out
    history = out[: out.index("== /aws/lambda")]
    assert re.search(r"\+0\.0s\s+ExecutionStarted", history)
    assert re.search(r"TaskStateEntered\s+StartPipeline", history)
    assert re.search(
        r"ExecutionFailed\s+QualityGateFailed: .*0\.5 \(label species, multiclass\) is below "
        r"the threshold 0\.9",
        history,
    )
    assert "== /aws/lambda/iris-trigger: last 1 events" in out
    assert "started execution s3-abc" in out

    code, out, _ = ops(outputs, "logs", "--execution", "no-such-run")
    assert code == 1


# ----------------------------------------------------------------------------- models / approve


def test_models_lists_versions_with_metrics(stack: Stack, outputs: Path) -> None:
    passing(stack, accuracy=0.93)
    stack.run({})
    passing(stack, accuracy=0.97)
    stack.run({})

    code, out, _ = ops(outputs, "models")

    assert code == 0
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["2", "1"]
    assert [r[2:5] for r in rows] == [
        ["PendingManualApproval", "0.9700", "0.9700"],
        ["PendingManualApproval", "0.9300", "0.9300"],
    ]
    assert [r[-1] for r in rows] == ["test-run-2", "test-run-1"]


def test_models_of_an_empty_group(stack: Stack, outputs: Path) -> None:
    assert "has no packages yet" in ops(outputs, "models")[1]


def test_approve_latest_then_a_given_package(stack: Stack, outputs: Path) -> None:
    passing(stack)
    first = package_of(stack.run({}))
    second = package_of(stack.run({}))

    code, out, _ = ops(outputs, "approve")

    assert code == 0
    assert f"Approved model package version 2 ({second})" in out
    statuses = {p["ModelPackageArn"]: p["ModelApprovalStatus"] for p in stack.model_packages()}
    assert statuses == {first: "PendingManualApproval", second: "Approved"}
    described = stack.sagemaker.describe_model_package(ModelPackageName=second)
    assert described["ApprovalDescription"] == "Approved with `make approve`."

    code, out, _ = ops(outputs, "approve", "--package", first, "--description", "reviewed")
    assert code == 0
    assert {p["ModelApprovalStatus"] for p in stack.model_packages()} == {"Approved"}

    code, out, _ = ops(outputs, "approve", "--package", first)
    assert code == 0
    assert "already Approved: nothing to do" in out
    assert len(executions(stack)) == 2


def test_approve_without_packages_fails_clearly(stack: Stack, outputs: Path) -> None:
    code, _, err = ops(outputs, "approve")
    assert code == 1
    assert "has no packages yet" in err


# ----------------------------------------------------------------------------- endpoint


def deploy(stack: Stack) -> None:
    passing(stack)
    run = stack.run({"deploy": True, "auto_approve": True})
    assert run.status == "SUCCEEDED", run.cause
    assert stack.endpoints() == [ENDPOINT]


def test_endpoint_down_removes_endpoint_config_and_model_and_is_idempotent(
    stack: Stack, outputs: Path
) -> None:
    deploy(stack)
    config = stack.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]

    code, out, _ = ops(outputs, "endpoint-down")

    assert code == 0
    assert out.splitlines() == [
        f"deleted endpoint {ENDPOINT}",
        f"deleted endpoint config {config}",
        f"deleted model {config}",
    ]
    # DeleteEndpoint leaves the endpoint Deleting for a while, as on AWS: endpoint-down waits
    # until it is gone, so "deleted" is true when it says so.
    assert stack.endpoints() == []
    assert stack.sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert stack.sagemaker.list_models()["Models"] == []

    code, out, _ = ops(outputs, "endpoint-down")
    assert (code, out.strip()) == (
        0,
        f"endpoint {ENDPOINT} does not exist: nothing to delete (no endpoint cost).",
    )


def test_predict_on_a_missing_endpoint(stack: Stack, outputs: Path) -> None:
    code, out, err = ops(outputs, "predict")
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"error: endpoint {ENDPOINT} does not exist: deploy a model "
        "(make start DEPLOY=1 or make approve) first"
    )


def test_predict_invokes_the_deployed_endpoint(stack: Stack, outputs: Path) -> None:
    deploy(stack)
    # The stack put a real model (its code inside) where the registered package points.
    code, out, err = ops(outputs, "predict")

    assert (code, err) == (0, "")
    header, line = out.splitlines()
    # The row and the names come from the served package's report (dataset_contract,
    # smoke_test), never from the CLI.
    # The report's first smoke-test row is the stack's first (a setosa flower).
    first_row = SMOKE_TEST_BODY.splitlines()[0]
    assert header == f"endpoint {ENDPOINT}, label species, row {first_row}"
    assert line.startswith("Iris-setosa=")
    assert line.endswith("-> Iris-setosa")
