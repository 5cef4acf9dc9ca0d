"""The operations CLI against the in-process emulator: both machines from the committed ASL, the
request queues and the real trigger Lambdas wired as Terraform wires them, the real registry
events. Each test drives ``ops.cli.main`` end to end (outputs file, arguments, stdin, exit code,
what is printed) and checks what the account holds afterwards.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts import deployment as requests
from contracts import training_request
from emulator.aws import sagemaker as aws_sagemaker
from emulator.aws.sagemaker import PipelineRun
from ops import cli, executions, session
from tests.helpers.requests_wiring import Wired, outputs, wire
from tests.helpers.stack import (
    BUCKET,
    ENDPOINT,
    REGION,
    SMOKE_TEST_BODY,
    Pipeline,
    Stack,
    evaluation_report,
)

pytestmark = pytest.mark.integration
DEADLINE = "120"


@pytest.fixture
def stack(emulator: None) -> Iterator[Stack]:
    aws_sagemaker.set_endpoint_transition_seconds(0.3)
    yield Stack()
    aws_sagemaker.set_endpoint_transition_seconds(None)


@pytest.fixture
def wired(stack: Stack) -> Wired:
    return wire(stack)


Ops = Callable[..., tuple[int, str, str]]


@pytest.fixture
def ops(stack: Stack, wired: Wired, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ops:
    """``ops(*argv, stdin="")`` -> (exit code, stdout, stderr) of ``python -m ops``.

    The CLI's clients are made once, before anything runs: an in-process Lambda changes
    ``os.environ`` while it runs, so a client made then could take its settings.
    """
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({k: {"value": v} for k, v in outputs(stack, wired).items()}))
    clients = session.Clients(REGION, None)
    for name in ("sfn", "sagemaker", "runtime", "s3", "logs", "sqs", "sts", "cloudwatch"):
        getattr(clients, name)
    monkeypatch.setattr(cli, "Clients", lambda region, endpoint_url: clients)

    def run(*argv: str, stdin: str = "", outputs_file: Path = path) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(
            [*argv, "--outputs", str(outputs_file)],
            env=dict(os.environ),
            out=out,
            err=err,
            stdin=io.StringIO(stdin),
        )
        return code, out.getvalue(), err.getvalue()

    return run


def pipelines_succeed(stack: Stack, report: Callable[[PipelineRun], dict[str, Any]]) -> None:
    def runner(run: PipelineRun) -> None:
        Pipeline(stack, run).succeed(report(run))

    aws_sagemaker.set_pipeline_runner(runner)


def deployed(stack: Stack, execution_id: str, accuracy: float = 0.96) -> str:
    """A package registered Approved by a deploy=false run (its registry event deploys nothing:
    the planner skips it), then deployed by a manual request."""
    arn = stack.register(
        evaluation_report(accuracy, execution_id=execution_id), metadata={"deploy": "false"}
    )
    run = stack.deploy(arn, reason=requests.MANUAL)
    assert run.status == "SUCCEEDED", run.cause
    return arn


def package_arns(stack: Stack) -> list[str]:
    """The group's packages, oldest first."""
    found = sorted(stack.model_packages(), key=lambda p: p["ModelPackageVersion"])
    return [str(p["ModelPackageArn"]) for p in found]


# ----------------------------------------------------------------------------- make train


def test_make_train_uploads_a_csv_and_its_run_trains_with_its_label(
    stack: Stack, ops: Ops, tmp_path: Path
) -> None:
    data = tmp_path / "cancer.csv"
    data.write_text("mean radius,mean texture,diagnosis\n14.2,20.1,malignant\n")
    started: list[PipelineRun] = []

    def report(run: PipelineRun) -> dict[str, Any]:
        started.append(run)
        return evaluation_report(0.95, execution_id=run.execution_id, binary=True)

    pipelines_succeed(stack, report)

    code, out, err = ops(
        "train",
        "--data",
        str(data),
        "--label",
        "diagnosis",
        "--wait",
        "--poll",
        "0.2",
        "--timeout",
        DEADLINE,
    )

    assert code == 0, err
    assert f"uploaded {data} to s3://{BUCKET}/data/raw/cancer.csv" in out
    head = stack.s3.head_object(Bucket=BUCKET, Key="data/raw/cancer.csv")
    assert head["Metadata"] == {"label-column": "diagnosis"}
    [execution] = stack.sfn.list_executions(stateMachineArn=stack.machines["training"])[
        "executions"
    ]
    given = json.loads(
        stack.sfn.describe_execution(executionArn=execution["executionArn"])["input"]
    )
    assert given == {
        "data_uri": f"s3://{BUCKET}/data/raw/cancer.csv",
        "label_column": "diagnosis",
        "data_version_id": head["VersionId"],
    }
    [run] = started
    assert run.parameters["LabelColumn"] == "diagnosis"  # not Terraform's default
    assert "  → CheckInput" in out and "  → Register" in out
    assert f"{execution['name']} SUCCEEDED" in out
    assert "it waits for approval: make approve" in out
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["label_column"] == "diagnosis"


def test_make_train_copies_an_object_of_the_bucket_into_data_raw(stack: Stack, ops: Ops) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key="incoming/cancer.csv", Body=b"diagnosis,x\nb,1\n")

    code, out, err = ops(
        "--json", "train", "--data", f"s3://{BUCKET}/incoming/cancer.csv", "--label", "diagnosis"
    )

    assert code == 0, err
    result = json.loads(out)["result"]
    head = stack.s3.head_object(Bucket=BUCKET, Key="data/raw/cancer.csv")
    assert result["version_id"] == head["VersionId"]
    assert head["Metadata"] == {"label-column": "diagnosis"}
    assert err.startswith("target: account 123456789012, region us-east-1")


# ----------------------------------------------------------------------------- make start


def test_make_start_deploy_follows_the_run_then_the_deployment_it_starts(
    stack: Stack, ops: Ops
) -> None:
    pipelines_succeed(stack, lambda run: evaluation_report(0.97, execution_id=run.execution_id))

    code, out, err = ops("start", "--deploy", "--wait", "--poll", "0.2", "--timeout", DEADLINE)

    assert code == 0, err
    assert "allow_auto_approve" not in out  # the stack allows auto-approval
    [arn] = package_arns(stack)
    assert stack.serving_package() == arn
    assert "following its deployment deploy-v1-" in out
    assert "  → CreateEndpoint" in out and "  → SmokeTest" in out
    assert re.search(r"^deploy-v1-[0-9a-f]+ SUCCEEDED$", out, re.MULTILINE), out
    [training] = stack.sfn.list_executions(stateMachineArn=stack.machines["training"])["executions"]
    assert training["name"].startswith("run-make-start-")
    given = json.loads(stack.sfn.describe_execution(executionArn=training["executionArn"])["input"])
    assert given == {"deploy": True, "auto_approve": True}


# ----------------------------------------------------------------------------- approve, reject


def test_make_approve_without_yes_prompts_then_the_approval_deploys(stack: Stack, ops: Ops) -> None:
    arn = stack.register(evaluation_report(0.97, execution_id="a"), status="PendingManualApproval")

    code, out, err = ops("approve", "--wait", "--poll", "0.2", "--timeout", DEADLINE, stdin="y\n")

    assert code == 0, err
    assert f"Approve model package v1 and deploy it to {ENDPOINT}? [y/N]" in err
    assert f"model package v1 ({arn}): PendingManualApproval" in out
    assert "SERVING (nothing)" in out
    assert stack.serving_package() == arn
    [record] = stack.deployment_records()
    assert (record["outcome"], record["reason"]) == ("deployed", requests.APPROVAL)


def test_an_approved_package_that_does_not_serve_is_deployed_by_a_manual_request(
    stack: Stack, ops: Ops
) -> None:
    deployed(stack, "a")
    second = stack.register(evaluation_report(0.97, execution_id="b"), metadata={"deploy": "false"})

    code, out, err = ops(
        "approve", "--package", second, "--yes", "--wait", "--poll", "0.2", "--timeout", DEADLINE
    )

    assert code == 0, err
    assert "a manual deployment request is queued" in out
    assert stack.serving_package() == second
    assert [r["model_package_arn"] for r in stack.deployment_records()][-1] == second


def test_rejecting_the_serving_package_offers_rollback_which_redeploys_the_previous(
    stack: Stack, ops: Ops
) -> None:
    first = deployed(stack, "a")
    second = deployed(stack, "b", 0.97)

    code, out, err = ops("reject", "--package", second, "--yes", "--description", "drifts")

    assert code == 0, err
    assert "v2 still serves on endpoint" in out and "`make rollback`" in out
    assert (
        stack.sagemaker.describe_model_package(ModelPackageName=second)["ModelApprovalStatus"]
        == "Rejected"
    )

    code, out, err = ops("rollback", "--wait", "--poll", "0.2", "--timeout", DEADLINE)

    assert code == 0, err
    assert f"rolling back to model package v1 ({first})" in out
    assert stack.serving_package() == first
    records = stack.deployment_records()
    assert [(str(r["model_package_version"]), r["reason"]) for r in records][-1] == (
        "1",
        "rollback",
    )

    code, out, _ = ops("--json", "status")
    assert code == 0
    history = json.loads(out)["result"]["deployments"]["records"]
    # (A registration's own approval event may be planned after the rejection: refused, and
    # recorded as such.)
    deployed_ones = [r["reason"] for r in history if r["outcome"] == "deployed"]
    assert deployed_ones == ["rollback", "manual", "manual"]


# ----------------------------------------------------------------------------- read commands


def serving(stack: Stack) -> str:
    return deployed(stack, "p1", 0.97)


def test_models_predict_and_report_read_what_serves(stack: Stack, ops: Ops, tmp_path: Path) -> None:
    arn = serving(stack)
    evaluation = stack.sagemaker.describe_model_package(ModelPackageName=arn)["ModelMetrics"][
        "ModelQuality"
    ]["Statistics"]["S3Uri"]
    key = evaluation.removeprefix(f"s3://{BUCKET}/").replace("evaluation.json", "report.html")
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"<html>the report</html>")

    code, out, _ = ops("--json", "models")
    assert code == 0
    [package] = json.loads(out)["result"]["packages"]
    assert (package["arn"], package["serving"], package["accuracy"]) == (arn, True, 0.97)

    code, out, err = ops("predict")
    assert code == 0, err
    row = SMOKE_TEST_BODY.splitlines()[0]
    assert out.splitlines()[0] == f"endpoint {ENDPOINT}, label species, row {row}"
    assert out.splitlines()[1].endswith("-> Iris-setosa")

    code, out, err = ops("report", "--package", arn, "--no-open", "--output-dir", str(tmp_path))
    assert code == 0, err
    [fetched] = list(tmp_path.glob("*/report.html"))
    assert fetched.read_text() == "<html>the report</html>"


def test_traffic_is_drawn_from_the_test_split_and_monitor_runs_the_machine(
    stack: Stack, wired: Wired, ops: Ops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serving(stack)
    rows = [line for line in SMOKE_TEST_BODY.splitlines()]
    split = "".join(f"Iris-setosa,{row}\n" for row in rows * 4)  # label first, no header
    stack.s3.put_object(
        Bucket=BUCKET, Key="pipelines/registered-1/prepare/test/test.csv", Body=split.encode()
    )

    code, out, err = ops("traffic", "--rows", "20", "--shift", "f2=1.5")

    assert code == 0, err
    assert "sent 20 rows of" in out and "(f2 x 1.5)" in out

    # make monitor starts the monitoring machine (another part of the project builds it; here a
    # machine of one state stands in for it).
    role = stack.iam.get_role(RoleName="sfn-role")["Role"]["Arn"]
    machine = stack.sfn.create_state_machine(
        name="monitoring",
        roleArn=role,
        definition=json.dumps(
            {
                "StartAt": "Verdict",
                "States": {
                    "Verdict": {
                        "Type": "Pass",
                        "Result": {"status": "SUCCEEDED", "headline": "no-drift"},
                        "ResultPath": "$.outcome",
                        "End": True,
                    }
                },
            }
        ),
    )["stateMachineArn"]
    path = tmp_path / "monitoring-outputs.json"
    path.write_text(json.dumps(outputs(stack, wired, monitoring_state_machine_arn=machine)))
    code, out, err = ops("monitor", "--wait", "--poll", "0.2", outputs_file=path)
    assert code == 0, err
    assert "started monitoring run monitor-now-" in out
    assert "  → Verdict" in out and "no-drift" in out


def test_the_deployments_trigger_acts_as_its_own_role_though_it_shares_the_uploads_code(
    stack: Stack,
) -> None:
    """Terraform deploys one trigger zip as two functions, each with its own role. On AWS each
    function runs in its own execution environment; an emulator that imported a zip's modules once
    per code hash let the function invoked second reuse the first one's cached clients and act as
    its role (the deployments trigger was then denied sagemaker:DescribeModelPackage and no
    approval deployed). The emulator keeps one module per function."""
    wired = wire(stack)
    pipelines_succeed(stack, lambda run: evaluation_report(0.97, execution_id=run.execution_id))
    stack.sqs.send_message(
        QueueUrl=wired.uploads_queue_url,
        MessageBody=training_request.message({}, reason="warm", requested_by="t", request_id="1"),
        MessageGroupId=training_request.UPLOADS_GROUP,
    )
    run = executions.execution_arn(
        stack.machines["training"], training_request.execution_name("warm", "1")
    )
    started(stack, run)
    stack.wait(run)
    [arn] = package_arns(stack)  # registered PendingManualApproval (the stack's defaults)

    stack.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    package = stack.sagemaker.describe_model_package(ModelPackageName=arn)
    name = requests.execution_name(requests.Request(arn, requests.APPROVAL), package)
    started(stack, executions.execution_arn(stack.machines["deployment"], name))


def started(stack: Stack, arn: str, seconds: float = 60.0) -> None:
    """Wait until the trigger has started execution ``arn`` (queued until then)."""
    deadline = time.monotonic() + seconds
    while executions.describe(stack.sfn, arn) is None:
        assert time.monotonic() < deadline, f"{arn.rsplit(':', 1)[-1]} never started"
        time.sleep(0.2)
