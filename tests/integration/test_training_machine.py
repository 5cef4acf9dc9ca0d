"""The training machine's real ASL executed by the emulator: one test per path.

Each test scripts what the SageMaker pipeline does (``Pipeline``) and asserts what a user sees:
the terminal status, the error name and cause, the registered package, the notification, and
that nothing started when the input was refused.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import regex

from contracts import registry
from emulator.aws import core, sagemaker
from emulator.aws import s3 as s3_extension
from emulator.aws.sagemaker import PipelineRun
from emulator.sagemaker_executor.jobs import S3Transfer
from tests.helpers.stack import BUCKET, Pipeline, Stack, evaluation_report, summary_for

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(emulator: None) -> Iterator[Stack]:
    yield Stack()


def pipeline(stack: Stack, script: Callable[[Pipeline], None]) -> list[PipelineRun]:
    """Script every pipeline execution; returns the executions started, as they start."""
    started: list[PipelineRun] = []

    def runner(run: PipelineRun) -> None:
        started.append(run)
        script(Pipeline(stack, run))

    sagemaker.set_pipeline_runner(runner)
    return started


def passing(stack: Stack, accuracy: float = 0.97, **kwargs: Any) -> list[PipelineRun]:
    return pipeline(stack, lambda p: p.succeed(evaluation_report(accuracy, **kwargs)))


def nothing_runs(stack: Stack) -> list[PipelineRun]:
    return pipeline(stack, lambda p: None)


def parameters_of(run: PipelineRun) -> dict[str, str]:
    return dict(run.parameters)


def test_gate_passes_and_registers_a_pending_package(stack: Stack) -> None:
    passing(stack)

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert statistics.endswith("/evaluation.json")
    # the drift baseline lives beside the evaluation, which never expires while a package names it
    baseline = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    assert baseline == statistics.removesuffix("evaluation.json") + "baseline.json"
    metadata = package["CustomerMetadataProperties"]
    assert metadata["accuracy"] == "0.97"
    assert metadata["deploy"] == "false"
    assert metadata["label_column"] == "species"
    assert metadata["class_names"] == "Iris-setosa / Iris-versicolor / Iris-virginica"
    assert run.output is not None
    assert run.output["outcome"]["model_package_arn"] == package["ModelPackageArn"]
    [note] = stack.notifications()
    assert note["subject"] == "Model registered: v1 (PendingManualApproval)"
    assert "waits for approval" in note["message"]["summary"]
    assert note["message"]["report_uri"].endswith("/report.html")
    assert stack.endpoints() == []
    # What an operator reads in the console: a short path, no plumbing.
    assert len(set(run.states)) <= 25, run.states


def test_auto_approve_registers_approved_and_records_the_deploy_intent(stack: Stack) -> None:
    passing(stack)

    run = stack.run({"auto_approve": True, "deploy": False})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"]["deploy"] == "false"
    [note] = stack.notifications()
    assert "deploy=false: it is not deployed" in note["message"]["summary"]
    # The training machine never deploys: only the deployment machine does, on the approval.
    assert stack.endpoints() == []


def test_auto_approve_is_refused_when_terraform_does_not_allow_it(emulator: None) -> None:
    stack = Stack(auto_approve_allowed=False)
    passing(stack)

    run = stack.run({"deploy": True, "auto_approve": True})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


def test_a_candidate_with_another_api_is_never_auto_approved(stack: Stack) -> None:
    report = evaluation_report(0.99, champion_accuracy=0.95)
    report["champion"]["contract_matches"] = False
    report["champion"]["differences"] = ["features differ: the serving model reads f1 f2 f3 f4"]
    pipeline(stack, lambda p: p.succeed(report))

    run = stack.run({"auto_approve": True, "deploy": True})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["CustomerMetadataProperties"]["auto_approvable"] == "false"
    [note] = stack.notifications()
    assert "features differ" in note["message"]["promotion"]["reason"]


def test_defaults_come_from_terraform_and_input_overrides_them(stack: Stack) -> None:
    started = passing(stack, accuracy=0.92)
    stack.put_data(f"s3://{BUCKET}/data/raw/x.csv", b"x\n")

    run = stack.run(
        {
            "accuracy_threshold": 0.95,
            "data_uri": f"s3://{BUCKET}/data/raw/x.csv",
            "label_column": "kind",
            "class_order": ["b", "a"],
        }
    )

    [started_run] = started
    parameters = parameters_of(started_run)
    assert parameters["InputDataUri"] == f"s3://{BUCKET}/runs/{run.arn.split(':')[-1]}/input/x.csv"
    assert parameters["AccuracyThreshold"] == "0.95"
    assert parameters["LabelColumn"] == "kind"
    assert parameters["FeatureColumns"] == "[]"  # Terraform's default: derive
    assert json.loads(parameters["ClassOrder"]) == ["b", "a"]
    assert parameters["ChampionPackageArn"] == "none"
    assert parameters["ChampionModelUri"] == f"s3://{BUCKET}/models/none/"


def test_gate_fails_below_the_threshold(stack: Stack) -> None:
    passing(stack, accuracy=0.5)

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "QualityGateFailed")
    assert "0.5000 (label species, multiclass) is below the threshold 0.9" in (run.cause or "")
    assert stack.model_packages() == []
    [note] = stack.notifications()
    assert note["subject"] == "Training run failed: QualityGateFailed"
    assert note["message"]["cause"] == run.cause
    assert note["message"]["report_uri"].endswith("/report.html")


def test_a_worse_challenger_is_refused_with_both_scores(stack: Stack) -> None:
    report = evaluation_report(0.93, champion_accuracy=0.97)
    pipeline(stack, lambda p: p.succeed(report, margin=0.01))

    run = stack.run({"champion_margin": 0.01})

    assert (run.status, run.error) == ("FAILED", "QualityGateFailed")
    assert "0.9300" in (run.cause or "") and "0.9700" in (run.cause or "")
    assert "margin 0.01" in (run.cause or "")
    assert stack.model_packages() == []


def test_a_better_challenger_is_registered_with_the_champion_score(stack: Stack) -> None:
    pipeline(stack, lambda p: p.succeed(evaluation_report(0.98, champion_accuracy=0.95)))

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["champion_accuracy"] == "0.95"
    [note] = stack.notifications()
    assert note["message"]["headline"] == "accuracy 0.9800 vs serving 0.9500"


def test_a_binary_report_registers_its_contract(stack: Stack) -> None:
    passing(stack, binary=True)

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    metadata = package["CustomerMetadataProperties"]
    assert metadata["problem_type"] == "binary"
    assert metadata["num_classes"] == "2"
    assert metadata["label_column"] == "diagnosis"


def test_a_pipeline_failure_names_the_failed_step(stack: Stack) -> None:
    pipeline(stack, lambda p: p.fail("TuneXGBoostMulticlass", None))

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "PipelineExecutionFailed")
    assert "TuneXGBoostMulticlass" in (run.cause or "")
    assert stack.model_packages() == []
    [note] = stack.notifications()
    assert note["message"]["error"] == "PipelineExecutionFailed"


DATA_MESSAGE = (
    "DataValidationError: iris.csv line 7, byte column 29: byte 0xe9 is not valid UTF-8 "
    "(invalid continuation byte; the file is probably Latin-1 or Windows-1252); save it as UTF-8"
)


def test_a_data_error_is_named_with_the_scripts_message_first(stack: Stack) -> None:
    pipeline(stack, lambda p: p.fail("PrepareData", DATA_MESSAGE))

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "DataValidationError")
    assert (run.cause or "").startswith(DATA_MESSAGE + " (SageMaker pipeline")
    assert "processing job pipelines-" in (run.cause or "")
    [note] = stack.notifications()
    assert note["subject"] == "Training run failed: DataValidationError"
    assert note["message"]["cause"] == run.cause


@pytest.mark.parametrize(
    ("exit_message", "step"),
    [
        pytest.param(None, "PrepareData", id="no-exit-message"),
        pytest.param("unexpected error: MemoryError: ", "PrepareData", id="not-the-data"),
        pytest.param(
            "DataValidationError: written by a later step",
            "EvaluateModelMulticlass",
            id="not-the-data-step",
        ),
    ],
)
def test_a_processing_failure_that_is_not_the_datas_keeps_its_name(
    stack: Stack, exit_message: str | None, step: str
) -> None:
    pipeline(stack, lambda p: p.fail(step, exit_message))

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "PipelineExecutionFailed")


def test_no_summary_is_evaluation_missing(stack: Stack) -> None:
    pipeline(stack, lambda p: p.succeed(None))

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "EvaluationMissing")
    assert "summary.json does not exist" in (run.cause or "")
    assert stack.model_packages() == []


def test_a_summary_off_the_contract_is_evaluation_invalid(stack: Stack) -> None:
    pipeline(stack, lambda p: p.succeed(evaluation_report(0.97), summary="accuracy: high"))

    run = stack.run({})

    assert (run.status, run.error) == ("FAILED", "EvaluationInvalid")
    assert stack.model_packages() == []


def test_a_hundred_class_summary_stays_far_below_the_payload_limit(stack: Stack) -> None:
    """The machine reads the bounded summary, never the report whose size grows with classes²."""
    report = evaluation_report(0.97)
    classes = [f"class-{i:03d}-{'x' * 40}" for i in range(100)]
    block = report["multiclass_classification_metrics"]
    block["confusion_matrix"] = {a: {p: 1 for p in classes} for a in classes}
    report["dataset_contract"]["class_names"] = classes
    report["dataset_contract"]["num_classes"] = 100
    assert len(json.dumps(report)) > 256 * 1024
    pipeline(stack, lambda p: p.succeed(report))

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    assert len(json.dumps(summary_for(report))) < 16 * 1024
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["class_names"] == registry.CLASS_NAMES_ELSEWHERE


def test_throttled_then_retried(stack: Stack) -> None:
    passing(stack)
    fault = core.inject_fault("sagemaker", "StartPipelineExecution", times=1)

    run = stack.run({})

    assert run.status == "SUCCEEDED", run.cause
    assert fault.remaining == 0
    failed = [e for e in run.history if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == [
        "SageMaker.SageMakerException"
    ]
    assert len(stack.model_packages()) == 1


def test_throttling_that_never_stops_fails_clearly(stack: Stack) -> None:
    passing(stack)
    core.inject_fault("sagemaker", "StartPipelineExecution", times=10)

    run = stack.run({}, timeout=120)

    assert (run.status, run.error) == ("FAILED", "PipelineStartFailed")
    assert "Rate exceeded" in (run.cause or "")


def test_poll_budget_exhausted_stops_the_pipeline(stack: Stack) -> None:
    started = pipeline(stack, lambda p: p.run.set_step("PrepareData", "Executing"))

    run = stack.run({"max_polls": 2})

    assert (run.status, run.error) == ("FAILED", "PipelinePollBudgetExhausted")
    assert "after 2 polls" in (run.cause or "")
    assert run.entered("DescribePipeline") == 2
    [pipeline_run] = started
    assert pipeline_run.stop_requested
    assert stack.model_packages() == []
    assert [n["message"]["error"] for n in stack.notifications()] == ["PipelinePollBudgetExhausted"]


# (input, field the cause must name, what the cause must say is allowed)
REFUSED_INPUTS: list[tuple[Any, str, str]] = [
    ({"deplyo": False}, "deplyo", "did you mean deploy?"),
    ({"max_tuning_jobs": 2.5}, "max_tuning_jobs", "a whole number from 1 to 500"),
    (
        {"max_tuning_jobs": 3, "parallel_tuning_jobs": 4},
        "parallel_tuning_jobs",
        "at most max_tuning_jobs (3)",
    ),
    ({"accuracy_threshold": "0.9"}, "accuracy_threshold", "a number from 0 to 1"),
    ({"champion_margin": 2}, "champion_margin", "a number from 0 to 1"),
    ({"deploy": "yes"}, "deploy", "true or false"),
    ({"data_uri": "/tmp/iris.csv"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"data_uri": f"s3://{BUCKET}/code/x.csv"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"data_uri": f"s3://{BUCKET}/data/raw/"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"poll_interval_seconds": 1.5}, "poll_interval_seconds", "a whole number from 1 to 3600"),
    ({"data_version_id": ""}, "data_version_id", "an S3 version id"),
    ([], "execution input", "a JSON object"),
    (3, "execution input", "a JSON object"),
]


@pytest.mark.parametrize(("bad_input", "field", "allowed"), REFUSED_INPUTS)
def test_invalid_input_is_refused_before_anything_starts(
    stack: Stack, bad_input: Any, field: str, allowed: str
) -> None:
    started = nothing_runs(stack)

    run = stack.wait(stack.start_raw(json.dumps(bad_input)))

    assert (run.status, run.error) == ("FAILED", "InvalidExecutionInput")
    cause = run.cause or ""
    assert cause.startswith("Execution input is invalid: ")
    assert f"{field}: " in cause and allowed in cause and "got " in cause
    assert started == []
    [note] = stack.notifications()
    assert note["message"]["error"] == "InvalidExecutionInput"
    assert note["message"]["cause"] == run.cause


@pytest.mark.parametrize("name", ["retrain(1)", "Bob's-run"])
def test_an_execution_name_that_cannot_be_stored_is_refused(stack: Stack, name: str) -> None:
    started = nothing_runs(stack)

    run = stack.run({}, name=name)

    assert (run.status, run.error) == ("FAILED", "InvalidExecutionInput")
    assert name in (run.cause or "")
    assert started == []


def reading_input(stack: Stack, read: dict[str, bytes], before: Callable[[], None]) -> None:
    """A pipeline that reads InputDataUri as PrepareData's S3Prefix input does, then succeeds."""

    def script(p: Pipeline) -> None:
        before()
        with tempfile.TemporaryDirectory() as directory:
            for path in S3Transfer(stack.s3).download(
                p.run.parameters["InputDataUri"], Path(directory)
            ):
                read[path.name] = path.read_bytes()
        p.succeed(evaluation_report(0.97))

    pipeline(stack, script)


def _metadata_storable(value: str) -> bool:
    return len(value) <= 256 and regex.fullmatch(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", value) is not None


def test_a_key_with_plus_percent_space_and_accent_trains_on_exactly_that_object(
    stack: Stack,
) -> None:
    data_uri = f"s3://{BUCKET}/data/raw/iris v2+extra 100%é.CSV"
    stack.put_data(f"s3://{BUCKET}/data/raw/iris v2 extra 100%é.CSV", b"a look-alike\n")
    version = stack.put_data(data_uri, b"exactly this\n")
    read: dict[str, bytes] = {}
    reading_input(stack, read, lambda: None)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"iris v2+extra 100%é.CSV": b"exactly this\n"}
    [package] = stack.model_packages()
    metadata = package["CustomerMetadataProperties"]
    assert {k: v for k, v in metadata.items() if not _metadata_storable(v)} == {}
    assert metadata["data_version_id"] == version
    assert data_uri in package["ModelPackageDescription"]


def test_an_input_above_the_single_copy_limit_is_copied_part_by_part(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 copies at most 5 GB in one CopyObject (and in one UploadPartCopy part); the emulator's
    limit is lowered to 9 MiB so a 10 MiB upload is above it while boto3's 8 MiB parts are not:
    the snapshot copies it server-side in parts, exactly."""
    monkeypatch.setenv(s3_extension.COPY_LIMIT_ENV, str(9 * 1024 * 1024))
    body = b"".join(f"{i},{i % 7},x\n".encode() for i in range(1_100_000))
    assert len(body) > 10 * 1024 * 1024
    data_uri = f"s3://{BUCKET}/data/raw/large.csv"
    version = stack.put_data(data_uri, body)
    read: dict[str, bytes] = {}
    reading_input(stack, read, lambda: None)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"large.csv": body}
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["data_version_id"] == version


def test_a_long_key_keeps_the_description_within_sagemakers_limit(stack: Stack) -> None:
    data_uri = f"s3://{BUCKET}/data/raw/{'d' * 300}/{'e' * 300}/{'f' * 300}.csv"
    stack.put_data(data_uri, b"x\n")
    passing(stack)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    [package] = stack.model_packages()
    assert len(package["ModelPackageDescription"]) <= 1024


def test_a_run_reads_only_its_object_never_a_sibling_sharing_the_prefix(stack: Stack) -> None:
    data_uri = f"s3://{BUCKET}/data/raw/a.csv"
    stack.put_data(f"{data_uri}.1.csv", b"someone else's file\n")
    version = stack.put_data(data_uri, b"mine\n")
    read: dict[str, bytes] = {}
    reading_input(stack, read, lambda: None)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"a.csv": b"mine\n"}
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["data_version_id"] == version


@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_changing_the_key_during_a_run_changes_nothing_for_it(stack: Stack, change: str) -> None:
    data_uri = f"s3://{BUCKET}/data/raw/b.csv"
    version = stack.put_data(data_uri, b"original\n")
    read: dict[str, bytes] = {}

    def race() -> None:
        if change == "overwrite":
            stack.put_data(data_uri, b"replaced\n")
        else:
            stack.s3.delete_object(Bucket=BUCKET, Key="data/raw/b.csv")

    reading_input(stack, read, race)

    run = stack.run({"data_uri": data_uri})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"b.csv": b"original\n"}
    [package] = stack.model_packages()
    assert package["CustomerMetadataProperties"]["data_version_id"] == version


def test_a_named_version_is_trained_on_even_after_newer_uploads_of_the_key(stack: Stack) -> None:
    data_uri = f"s3://{BUCKET}/data/raw/same.csv"
    first = stack.put_data(data_uri, b"first upload\n")
    stack.put_data(data_uri, b"second upload\n")
    read: dict[str, bytes] = {}
    reading_input(stack, read, lambda: None)

    run = stack.run({"data_uri": data_uri, "data_version_id": first})

    assert run.status == "SUCCEEDED", run.cause
    assert read == {"same.csv": b"first upload\n"}


def test_a_missing_object_fails_before_the_pipeline_with_a_notification(stack: Stack) -> None:
    started = nothing_runs(stack)

    run = stack.run({"data_uri": f"s3://{BUCKET}/data/raw/missing.csv"})

    assert (run.status, run.error) == ("FAILED", "InputUnreadable")
    assert "does not exist" in (run.cause or "")
    assert started == []
    assert [n["message"]["error"] for n in stack.notifications()] == ["InputUnreadable"]


def test_an_unversioned_bucket_is_refused_before_the_pipeline(stack: Stack) -> None:
    stack.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    stack.s3.put_object(Bucket=BUCKET, Key="data/raw/late.csv", Body=b"x\n")
    started = nothing_runs(stack)

    run = stack.run({"data_uri": f"s3://{BUCKET}/data/raw/late.csv"})

    assert (run.status, run.error) == ("FAILED", "InputNotVersioned")
    assert "Enable versioning" in (run.cause or "")
    assert started == []


def test_a_lost_notification_does_not_hide_a_failure(stack: Stack) -> None:
    passing(stack, accuracy=0.1)
    core.inject_fault("sns", "Publish", times=20)

    run = stack.run({}, timeout=120)

    assert (run.status, run.error) == ("FAILED", "QualityGateFailed")
