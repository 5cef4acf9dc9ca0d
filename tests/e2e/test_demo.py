"""The whole local run, as `make demo` does it: emulator, real Terraform, S3 trigger, real training,
then the deployment the package's approval starts.

One emulator and one `terraform apply` serve the module (the apply alone takes about a minute);
the tests run in file order: bad data first, then the good upload, then the operations targets.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import demo, terraform_local
from harness.demo import Console, LocalStack
from harness.summary import read_json
from ml import train
from ops import deployments
from tests.helpers import demo_output

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = demo.demo_variables(deploy=True, tuning_jobs=2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    workdir = tmp_path_factory.mktemp("demo")
    local_stack = demo.start_stack(workdir, VARIABLES, Console())
    try:
        yield local_stack
    finally:
        local_stack.emulator.stop()


@pytest.fixture(scope="module")
def notifications(stack: LocalStack) -> str:
    """An SQS queue subscribed to the project's topic: what the topic published."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName="e2e-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=stack.outputs["notification_topic_arn"], Protocol="sqs", Endpoint=arn)
    return str(url)


def published(stack: LocalStack, queue_url: str) -> list[dict[str, object]]:
    sqs = stack.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in batch:
            envelope = json.loads(message["Body"])
            found.append({"subject": envelope.get("Subject"), "message": envelope["Message"]})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_bad_row_fails_the_run_with_the_data_error_and_registers_nothing(
    stack: LocalStack, notifications: str, tmp_path: Path
) -> None:
    lines = (ROOT / "data" / "raw" / "iris.csv").read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[1], "abc", 1)
    bad = tmp_path / "iris.csv"
    bad.write_text("\n".join(lines) + "\n")

    printed = io.StringIO()
    result = demo.run_once(stack, bad, Console(printed))

    assert result.status == "FAILED"
    assert result.execution_name.startswith("s3-"), "started by the S3 trigger"
    # Named, with prepare's own message first (file, line, column, expected).
    assert result.error == "DataValidationError"
    assert (result.cause or "").startswith(
        "DataValidationError: iris.csv line 6 (data row 5), column 'SepalWidth': value 'abc' is "
        "not a number (expected a decimal number such as 5.1) (SageMaker pipeline execution "
    ), result.cause
    assert result.failing_state == "PipelineFailed"
    assert result.deployment is None, "a failed run starts no deployment"
    # The failed run's report: what failed, where and why, kept under the run's name.
    assert result.report is not None and result.report.parent.name == result.execution_name
    failure_page = result.report.read_text(encoding="utf-8")
    assert 'data-section="failure"' in failure_page and "PipelineFailed" in failure_page
    assert "column &#39;SepalWidth&#39;: value &#39;abc&#39; is not a number" in failure_page
    sent = published(stack, notifications)
    failures = [n for n in sent if n["subject"] == "Training run failed: DataValidationError"]
    assert [json.loads(str(n["message"]))["cause"] for n in failures] == [result.cause], sent
    sagemaker = stack.client("sagemaker")
    group = stack.outputs["model_package_group_name"]
    assert (
        sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"] == []
    )
    assert sagemaker.list_endpoints()["Endpoints"] == []
    # The failure points at files that exist (the emulator's memory goes when it stops).
    assert result.kept is not None and result.kept.history is not None
    history = json.loads(result.kept.history.read_text())
    assert any(event["type"] == "ExecutionFailed" for event in history)
    assert str(result.kept.history.name) in printed.getvalue()
    assert "aws stepfunctions" not in printed.getvalue()


def test_upload_trains_registers_deploys_and_serves_the_model(
    stack: LocalStack, notifications: str, tmp_path: Path
) -> None:
    printed = io.StringIO()
    result = demo.run_once(stack, ROOT / "data" / "raw" / "iris.csv", Console(printed))

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    # The README's quick-start output shows the fields this run printed, in the same order.
    assert demo_output.shape(printed.getvalue()) == demo_output.shape(demo_output.readme_sample())
    assert result.execution_name.startswith("s3-"), "started by the S3 trigger"
    # Training registers; the approval, not the training run, starts the deployment.
    for state in ("StartPipeline", "Gate", "Register", "Registered"):
        assert state in result.states
    assert not {"CreateEndpoint", "UpdateEndpoint", "Deployed"} & set(result.states)
    assert len([t for t in result.trials if t.get("objective") is not None]) == 2
    output = result.output or {}
    outcome = output["outcome"]
    accuracy = output["evaluation"]["summary"]["candidate"]["accuracy"]
    assert accuracy >= 0.9
    deployment = result.deployment
    assert deployment is not None and deployment.status == "SUCCEEDED", deployment
    assert deployment.execution_name.startswith("deploy-v1-"), "started by the approval"
    for state in ("Plan", "CreateModel", "CreateEndpoint", "SmokeTest", "Deployed"):
        assert state in deployment.states
    deployed = (deployment.output or {})["outcome"]
    assert (deployed["status"], deployed["model_package_arn"]) == (
        "SUCCEEDED",
        outcome["model_package_arn"],
    )

    sagemaker = stack.client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=outcome["model_package_arn"])
    assert package["ModelApprovalStatus"] == "Approved"
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["S3Uri"] == outcome["evaluation_uri"]
    attached = read_json(stack, statistics["S3Uri"])
    assert attached["multiclass_classification_metrics"]["accuracy"]["value"] == accuracy
    # The drift baseline beside the report: the training split's bins, the test split's classes.
    drift_baseline = read_json(stack, statistics["S3Uri"].rsplit("/", 1)[0] + "/baseline.json")
    assert drift_baseline["feature_columns"] == attached["dataset_contract"]["feature_columns"]
    assert drift_baseline["predictions"]["rows"] == attached["row_counts"]["test"]

    # The endpoint answers with the registered model: load it directly and compare.
    assert result.prediction is not None
    # The demo sends the report's first smoke row (a test row of the file) and names the classes
    # from the report's dataset contract.
    assert result.prediction["row"] == attached["smoke_test"]["body"].splitlines()[0]
    assert result.prediction["class_names"] == attached["dataset_contract"]["class_names"]
    expected = _predict_directly(
        stack, attached["model"]["artifact_uri"], tmp_path, result.prediction["row"]
    )
    assert result.prediction["probabilities"] == pytest.approx(expected, abs=1e-5)
    best = max(range(len(expected)), key=expected.__getitem__)
    assert result.prediction["label"] == attached["dataset_contract"]["class_names"][best]

    assert result.report is not None and result.report.parent.name == result.execution_name
    page = result.report.read_text(encoding="utf-8")
    assert "Passed the quality gate" in page and "<code>validation:mlogloss</code>" in page
    assert "2 trials, 0 failed" in page
    # The evaluation step wrote its own report beside evaluation.json, in the container's stack.
    bucket, _, key = outcome["evaluation_uri"].removeprefix("s3://").partition("/")
    step_page = (
        stack.client("s3")
        .get_object(Bucket=bucket, Key=key.replace("evaluation.json", "report.html"))["Body"]
        .read()
        .decode("utf-8")
    )
    # The evaluation step decides the gate itself, so its own page shows the verdict.
    assert "matplotlib 3.4.1" in step_page and "Passed the quality gate" in step_page
    sent = [n["subject"] for n in published(stack, notifications)]
    assert "Model registered: v1 (Approved)" in sent, sent
    assert f"Model deployed: v1 on {stack.outputs['endpoint_name']}" in sent, sent

    # Terraform sees no drift after the demo's apply and run.
    workdir = stack.workdir / "terraform"
    assert terraform_local.plan_is_clean(stack.emulator, workdir, VARIABLES), (
        terraform_local.plan_changes(stack.emulator, workdir, VARIABLES)
    )


def test_operations_targets_work_against_the_emulator(stack: LocalStack) -> None:
    """`make status/models/endpoint-down/reject/approve/predict/start` on the running emulator."""
    env = _emulator_env(stack)
    sagemaker = stack.client("sagemaker")

    status = _make("status", env)
    assert "SUCCEEDED" in status and "error: DataValidationError" in status
    assert "column 'SepalWidth': value 'abc' is not a number" in status  # the whole cause

    models = _make("models", env)
    assert "Approved" in models
    [package] = sagemaker.list_model_packages(
        ModelPackageGroupName=stack.outputs["model_package_group_name"]
    )["ModelPackageSummaryList"]
    arn = package["ModelPackageArn"]

    _make("endpoint-down", env)
    assert sagemaker.list_endpoints()["Endpoints"] == []

    # A person rejects the package, then approves it again: the approval deploys it. Registry
    # events reach the deployments queue only: neither starts a training run.
    runs = demo.executions(stack, "training")
    rejected = _make("reject", env, f"PACKAGE={arn}", "YES=1")
    assert "Rejected v1 (was Approved)" in rejected, rejected
    approved = _make("approve", env, f"PACKAGE={arn}", "YES=1", "WAIT=1")
    assert "the registry's approval event deploys it" in approved, approved
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    name, deployment_arn = deployments.approval_execution(stack.outputs, described)
    run = stack.client("stepfunctions").describe_execution(executionArn=deployment_arn)
    assert run["status"] == "SUCCEEDED", (name, run.get("error"), run.get("cause"))
    assert (
        sagemaker.describe_endpoint(EndpointName=stack.outputs["endpoint_name"])["EndpointStatus"]
        == "InService"
    )
    _wait_for_empty_queue(stack, "deployments_queue_url")
    assert demo.executions(stack, "training") == runs, "a registry event started a training run"

    predicted = _make("predict", env)
    assert "Iris-setosa=" in predicted and "Iris-virginica=" in predicted, predicted
    assert "-> Iris-" in predicted

    started = _make("start", env, "WAIT=1")
    assert "SUCCEEDED" in started


def _emulator_env(stack: LocalStack) -> dict[str, str]:
    demo.environment_lines(stack)  # writes outputs.json
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_PROFILE", "AWS_SESSION_TOKEN"}}
    env.update(
        AWS_ENDPOINT_URL=stack.endpoint_url,
        AWS_DEFAULT_REGION=demo.REGION,
        AWS_REGION=demo.REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        MLOPS_TF_OUTPUTS=str(stack.workdir / "outputs.json"),
    )
    return env


def _make(target: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", target, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"make {target}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _wait_for_empty_queue(stack: LocalStack, output: str, timeout: float = 120) -> None:
    """Until the queue holds no message, visible or in flight: every request was handled."""
    sqs = stack.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.outputs[output],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if not any(int(value) for value in attributes.values()):
            return
        time.sleep(0.5)
    raise AssertionError(f"{output} still held messages after {timeout:.0f} s")


def _predict_directly(
    stack: LocalStack, artifact_uri: str, tmp_path: Path, row: str
) -> list[float]:
    bucket, _, key = artifact_uri.removeprefix("s3://").partition("/")
    body = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    model_dir = tmp_path / "model"
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        archive.extractall(model_dir, filter="data")
    model = train.model_fn(str(model_dir))
    data = train.parse_csv_request(row, model.contract.feature_columns)
    return list(json.loads(train.probabilities_json(train.predict_probabilities(data, model)))[0])
