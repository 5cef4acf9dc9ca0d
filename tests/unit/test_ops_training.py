"""make train and make start with fake AWS clients: what is uploaded or queued, with which
settings, what is refused before anything is sent, and following the run live."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from contracts import deployment as requests
from contracts import execution_input, training_request
from ops import training, uploads
from ops.errors import ConfigError, NotFoundError
from ops.follow import Follower, is_poll_state
from tests.helpers.fake_aws import (
    BUCKET,
    DEPLOYMENT,
    OUTPUTS,
    T0,
    TRAINING,
    UPLOADS_QUEUE,
    FakeClients,
    FakeExecution,
    context,
    evaluation_report,
    register,
)


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients()


# ----------------------------------------------------------------------------- make start


def test_start_queues_a_training_request_whose_run_name_is_known(clients: FakeClients) -> None:
    result = training.run_start(context(clients, ["start", "--request-id", "req-1"]))

    [sent] = clients.sqs.sent()
    assert sent["QueueUrl"] == UPLOADS_QUEUE
    assert sent["MessageGroupId"] == training_request.UPLOADS_GROUP == "uploads"
    assert sent["MessageDeduplicationId"] == training_request.deduplication_id("req-1")
    assert sent["Body"]["source"] == requests.REQUEST_SOURCE
    assert sent["Body"]["detail-type"] == requests.TRAINING_REQUEST
    assert sent["Body"]["detail"]["input"] == {}  # Terraform's defaults
    name = training_request.execution_name("make-start", "req-1")
    assert result.data["execution"] == name
    assert result.data["arn"] == TRAINING.replace(":stateMachine:", ":execution:") + f":{name}"
    assert "{} (Terraform's defaults)" in result.text


def test_start_deploy_asks_for_deploy_and_auto_approval_and_says_when_it_is_not_allowed(
    clients: FakeClients,
) -> None:
    ctx = context(clients, ["start", "--deploy"])
    result = training.run_start(ctx)
    [sent] = clients.sqs.sent()
    assert sent["Body"]["detail"]["input"] == {"deploy": True, "auto_approve": True}
    assert "Terraform's allow_auto_approve is false" in ctx.progress.getvalue()
    assert result.data["note"] and "make approve deploys it" in result.data["note"]

    allowed = context(
        clients, ["start", "--deploy"], outputs={**OUTPUTS, "auto_approve_allowed": True}
    )
    training.run_start(allowed)
    assert allowed.progress.getvalue() == ""


def test_start_refuses_what_the_input_check_would_refuse_before_sending(
    clients: FakeClients,
) -> None:
    ctx = context(clients, ["start", "--set", "max_tuning_jobs=0", "--set", "deplyo=true"])
    with pytest.raises(ConfigError) as refused:
        training.run_start(ctx)
    text = str(refused.value)
    assert text.startswith(execution_input.CAUSE_PREFIX)
    assert "deplyo: unknown key (did you mean deploy?)" in text
    assert "max_tuning_jobs: got 0" in text
    assert clients.sqs.sent() == []


def test_setting_values_are_json_or_text() -> None:
    assert training.parse_setting("max_tuning_jobs=4") == ("max_tuning_jobs", 4)
    assert training.parse_setting("deploy=true") == ("deploy", True)
    assert training.parse_setting("label_column=Species") == ("label_column", "Species")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        training.parse_setting("max_tuning_jobs")


def finished_run(clients: FakeClients, name: str, outcome: dict[str, Any]) -> FakeExecution:
    run = clients.sfn.add(FakeExecution(name, TRAINING, status="SUCCEEDED"))
    for state in (
        "CheckInput",
        "WaitForPipeline",
        "DescribePipeline",
        "WaitForPipeline",
        "DescribePipeline",
        "Register",
    ):
        run.enter(state)
    run.output = {"outcome": outcome}
    return run


def test_start_wait_follows_the_run_live(clients: FakeClients) -> None:
    name = training_request.execution_name("make-start", "req-2")
    arn = register(clients, 1, "PendingManualApproval", evaluation_report(0.97))
    finished_run(
        clients,
        name,
        {
            "status": "SUCCEEDED",
            "approval_status": "PendingManualApproval",
            "model_package_arn": arn,
            "headline": "accuracy 0.9700",
        },
    )
    ctx = context(clients, ["start", "--request-id", "req-2", "--wait", "--poll", "0.01"])

    result = training.run_start(ctx)

    progress = ctx.progress.getvalue()
    # A poll loop's states are shown once, however often the loop ran.
    assert progress.count("→ WaitForPipeline") == 1
    assert "  → CheckInput\n  → WaitForPipeline\n  → DescribePipeline\n  → Register" in progress
    assert result.code == 0
    assert result.text.splitlines()[:2] == [f"{name} SUCCEEDED", "  accuracy 0.9700"]
    assert "it waits for approval: make approve" in result.text


def test_start_deploy_wait_follows_the_deployment_its_approval_starts(
    clients: FakeClients,
) -> None:
    name = training_request.execution_name("make-start", "req-3")
    arn = register(clients, 1, "Approved", evaluation_report(0.97))
    finished_run(
        clients,
        name,
        {
            "status": "SUCCEEDED",
            "approval_status": "Approved",
            "deploy": True,
            "model_package_arn": arn,
        },
    )
    package = clients.sagemaker.describe_model_package(ModelPackageName=arn)
    deploy_name = requests.execution_name(requests.Request(arn, requests.APPROVAL), package)
    deployment = clients.sfn.add(
        FakeExecution(
            deploy_name, DEPLOYMENT, status="FAILED", error="DeploymentFailed", cause="smoke test"
        )
    )
    deployment.enter("Plan")
    ctx = context(
        clients,
        ["start", "--deploy", "--request-id", "req-3", "--wait", "--poll", "0.01"],
        outputs={**OUTPUTS, "auto_approve_allowed": True},
    )

    result = training.run_start(ctx)

    assert f"following its deployment {deploy_name}" in ctx.progress.getvalue()
    assert result.code == 1  # the deployment failed
    assert result.data["deployment"]["error"] == "DeploymentFailed"
    assert f"{deploy_name} FAILED\n  error: DeploymentFailed\n  cause: smoke test" in result.text


# ----------------------------------------------------------------------------- make train


def test_train_uploads_a_local_file_with_its_settings_as_metadata(
    clients: FakeClients, tmp_path: Path
) -> None:
    data = tmp_path / "cancer.csv"
    data.write_text("diagnosis,radius\nB,1.0\n")

    result = training.run_train(
        context(
            clients, ["train", "--data", str(data), "--label", "diagnosis", "--features", "radius"]
        )
    )

    [put] = clients.s3.called("put_object")
    assert (put["Bucket"], put["Key"]) == (BUCKET, "data/raw/cancer.csv")
    assert put["Metadata"] == {"label-column": "diagnosis", "feature-columns": '["radius"]'}
    assert put["ContentType"] == "text/csv"
    # The trigger reads exactly these settings back from the metadata.
    assert execution_input.settings_from_metadata(put["Metadata"]) == {
        "label_column": "diagnosis",
        "feature_columns": ["radius"],
    }
    assert result.data["data_uri"] == f"s3://{BUCKET}/data/raw/cancer.csv"
    assert result.data["version_id"] == "v1"
    assert "the upload starts a run with these settings" in result.text


def test_train_copies_an_s3_object_server_side_with_new_metadata(clients: FakeClients) -> None:
    clients.s3.put("incoming/wine.csv", "cultivar,x\n1,2\n")

    training.run_train(
        context(
            clients, ["train", "--data", f"s3://{BUCKET}/incoming/wine.csv", "--label", "cultivar"]
        )
    )

    [copy] = clients.s3.called("copy_object")
    assert copy["Key"] == "data/raw/wine.csv"
    assert copy["CopySource"] == {"Bucket": BUCKET, "Key": "incoming/wine.csv", "VersionId": "v1"}
    assert copy["MetadataDirective"] == "REPLACE"
    assert copy["Metadata"] == {"label-column": "cultivar"}


@pytest.mark.parametrize(
    ("argv", "error", "message"),
    [
        (["--data", "notes.txt", "--label", "y"], ConfigError, "is not a .csv file"),
        (["--data", "missing.csv", "--label", "y"], NotFoundError, "no such file"),
        (["--data", f"s3://{BUCKET}/nothing.csv", "--label", "y"], NotFoundError, "cannot be read"),
        (["--data", "x.csv", "--label", "bad!"], ConfigError, "label_column: got"),
        (["--data", "x.csv", "--label", "Größe"], ConfigError, "outside US-ASCII"),
        (["--data", "x.csv", "--label", "y", "--features", "a,a"], ConfigError, "feature_columns"),
    ],
)
def test_train_refuses_before_uploading(
    clients: FakeClients,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    error: type[Exception],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("y,a\n1,2\n")
    with pytest.raises(error, match=message):
        training.run_train(context(clients, ["train", *argv]))
    assert clients.s3.called("put_object") == clients.s3.called("copy_object") == []


def test_train_wait_finds_the_run_its_upload_started(clients: FakeClients, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("y,a\n1,2\n")
    uri = f"s3://{BUCKET}/data/raw/d.csv"
    # An earlier run of the same key (another version) is not the one.
    other = clients.sfn.add(
        FakeExecution(
            "s3-d-old",
            TRAINING,
            status="SUCCEEDED",
            input={"data_uri": uri, "data_version_id": "v0"},
        )
    )
    other.output = {"outcome": {"status": "SUCCEEDED"}}
    mine = finished_run(
        clients, "s3-d-new", {"status": "SUCCEEDED", "approval_status": "Approved", "deploy": False}
    )
    mine.input = {"data_uri": uri, "data_version_id": "v1", "label_column": "y"}
    mine.started = T0 + dt.timedelta(minutes=1)

    result = training.run_train(
        context(clients, ["train", "--data", str(data), "--label", "y", "--wait", "--poll", "0.01"])
    )

    assert result.data["run"]["execution"] == "s3-d-new"
    assert result.code == 0


def test_metadata_s3_cannot_keep_is_refused() -> None:
    with pytest.raises(ConfigError, match="S3 keeps at most 2048"):
        uploads.check_metadata({"feature-columns": json.dumps(["c" * 50] * 50)})
    uploads.check_metadata({"label-column": "plain ascii"})


def test_part_sizes_stay_within_s3s_multipart_limits() -> None:
    assert uploads.part_size(10) == uploads.PART_SIZE
    huge = 5 * 1024**4  # 5 TiB, S3's largest object
    size = uploads.part_size(huge)
    assert uploads.PART_MIN <= size <= uploads.PART_MAX
    assert -(-huge // size) <= uploads.PARTS_MAX
    assert list(uploads.ranges(10, 4)) == [(0, 3), (4, 7), (8, 9)]


class MultipartS3:
    """Records a multipart copy."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_multipart_upload(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("create", kwargs))
        return {"UploadId": "u1"}

    def upload_part_copy(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("part", kwargs))
        return {"CopyPartResult": {"ETag": f"e{kwargs['PartNumber']}"}}

    def complete_multipart_upload(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("complete", kwargs))
        return {"VersionId": "v9"}


def test_an_object_over_copyobjects_5_gb_is_copied_in_parts() -> None:
    s3 = MultipartS3()
    size = uploads.COPY_MAX + 1
    version = uploads.copy_object(
        s3, {"Bucket": "b", "Key": "big.csv"}, size, "b", "data/raw/big.csv", {"label-column": "y"}
    )
    assert version == "v9"
    create = s3.calls[0][1]
    assert create["Metadata"] == {"label-column": "y"}
    parts = [kwargs for kind, kwargs in s3.calls if kind == "part"]
    assert parts[0]["CopySourceRange"] == f"bytes=0-{uploads.PART_SIZE - 1}"
    assert parts[-1]["CopySourceRange"].endswith(f"-{size - 1}")
    complete = s3.calls[-1][1]
    assert [p["PartNumber"] for p in complete["MultipartUpload"]["Parts"]] == list(
        range(1, len(parts) + 1)
    )


# ----------------------------------------------------------------------------- following


def test_poll_loop_states_are_recognised() -> None:
    assert all(
        map(
            is_poll_state,
            [
                "WaitForPipeline",
                "DescribeEndpoint",
                "CountPipelinePoll",
                "EndpointStatus",
                "RestoreStatus",
            ],
        )
    )
    assert not any(map(is_poll_state, ["Register", "SmokeTest", "CheckInput", "Plan"]))


def test_the_follower_shows_pipeline_steps_and_trials_as_they_change(clients: FakeClients) -> None:
    run = clients.sfn.add(FakeExecution("r", TRAINING, status="SUCCEEDED"))
    run.events.append(
        {
            "type": "TaskSucceeded",
            "timestamp": T0,
            "taskSucceededEventDetails": {
                "resource": "startPipelineExecution",
                "output": json.dumps({"PipelineExecutionArn": "arn:pipeline/execution/p1"}),
            },
        }
    )
    steps = [
        {"StepName": "PrepareData", "StepStatus": "Succeeded"},
        {
            "StepName": "TuneXGBoost",
            "StepStatus": "Failed",
            "FailureReason": "no trial",
            "Metadata": {
                "TuningJob": {"Arn": "arn:aws:sagemaker:r:a:hyper-parameter-tuning-job/t1"}
            },
        },
    ]
    trials = [
        {
            "TrainingJobStatus": "Completed",
            "FinalHyperParameterTuningJobObjectiveMetric": {
                "MetricName": "validation:mlogloss",
                "Value": 0.25,
            },
        },
        {"TrainingJobStatus": "Failed"},
    ]
    clients.sagemaker.list_pipeline_execution_steps = lambda **_: {"PipelineExecutionSteps": steps}
    clients.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job = lambda **_: {
        "TrainingJobSummaries": trials
    }
    lines: list[str] = []

    Follower(clients.sfn, clients.sagemaker, lines.append, interval=0).follow(run.arn, 5)

    assert lines == [
        "    pipeline step PrepareData: Succeeded",
        "    pipeline step TuneXGBoost: Failed - no trial",
        "      tuning t1: 2 of 2 trials done, lowest validation:mlogloss 0.2500",
    ]
