"""The monitoring machine's real ASL executed by the emulator: one test per path.

A real model is served (its traffic captured as SageMaker documents it), the drift job runs
``ml/monitor.py`` as a Processing job, and each test checks what a user sees: the run's status,
error and cause, the path taken, the notification, the metrics published and the training
request sent on drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from contracts import monitoring
from emulator.aws import sagemaker
from ml import capture
from tests.helpers.events import event_file
from tests.helpers.monitoring import Monitoring
from tests.helpers.stack import BUCKET, ENDPOINT, REGION, Stack

pytestmark = pytest.mark.integration

SHIFTED = "PetalLength"


@pytest.fixture
def stack(emulator: None) -> Iterator[Stack]:
    sagemaker.set_endpoint_transition_seconds(0.3)
    yield Stack(capture_percent=100)
    sagemaker.set_endpoint_transition_seconds(None)


@pytest.fixture
def watch(stack: Stack, tmp_path: Path) -> Iterator[Monitoring]:
    monitor = Monitoring(stack, tmp_path)
    yield monitor
    monitor.close()


@pytest.fixture
def retraining(stack: Stack, tmp_path: Path) -> Iterator[Monitoring]:
    monitor = Monitoring(stack, tmp_path, retrain_on_drift=True)
    yield monitor
    monitor.close()


def jobs(stack: Stack) -> list[str]:
    return [
        j["ProcessingJobName"]
        for j in stack.sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    ]


def shape(value: object) -> object:
    """A JSON value's structure: its keys and value types, not its values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


def test_captured_files_have_the_documented_format(
    stack: Stack, watch: Monitoring, tmp_path: Path
) -> None:
    """The emulator's capture files against AWS's own example (tests/events), read by the
    monitor's reader without a refusal."""
    documented = [
        json.loads(line)
        for line in event_file("data_capture_documented.jsonl").read_text().splitlines()
        if line
    ]
    watch.serve()
    watch.send(30)

    listed = stack.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"data-capture/{ENDPOINT}/")
    keys = [item["Key"] for item in listed["Contents"]]

    assert keys and all(
        re.fullmatch(rf"data-capture/{ENDPOINT}/AllTraffic/\d{{4}}/\d\d/\d\d/\d\d/[^/]+\.jsonl", k)
        for k in keys
    )
    for key in keys:
        local = tmp_path / key.replace("/", "_")
        local.write_bytes(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        records = [json.loads(line) for line in local.read_text().splitlines() if line]
        for record in records:
            assert shape(record) == shape(documented[0])
            given = record["captureData"]["endpointInput"]
            assert (given["mode"], given["encoding"]) == ("INPUT", "CSV")
            assert record["captureData"]["endpointOutput"]["encoding"] == "JSON"
        assert all(
            isinstance(event, capture.CapturedEvent) for _, event in capture.read_events(local)
        )


def test_no_endpoint_ends_insufficient_data_without_a_job(stack: Stack, watch: Monitoring) -> None:
    run = watch.run()

    assert run.status == "SUCCEEDED", run.cause
    assert "StartMonitor" not in run.states and "Skipped" in run.states
    assert jobs(stack) == []
    [note] = stack.notifications()
    assert note["subject"] == f"Drift not judged on {ENDPOINT}: insufficient-data"
    assert "does not exist" in note["message"]["summary"]


def test_no_traffic_in_the_window_ends_without_a_job(stack: Stack, watch: Monitoring) -> None:
    watch.serve()  # its smoke test is captured, an hour after the window below

    run = watch.run({"end": "2020-01-01T00:00:00Z"})

    assert run.status == "SUCCEEDED", run.cause
    assert run.output and run.output["outcome"]["status"] == "SKIPPED"
    assert "No traffic was captured" in run.output["outcome"]["reason"]
    assert jobs(stack) == []


def test_unshifted_traffic_is_no_drift(stack: Stack, watch: Monitoring) -> None:
    watch.serve()
    watch.send(300)

    run = watch.run()

    assert run.status == "SUCCEEDED", run.cause
    outcome = run.state_output("Judged")["outcome"]
    assert (outcome["verdict"], outcome["drifted_features"]) == ("no-drift", [])
    # The deployment's smoke test is traffic too: it was captured with the rest.
    assert outcome["counts"]["rows"] > 300
    assert [p["Maximum"] for p in watch.drift_metric()] == [0.0]
    assert "FeaturePSI" in watch.metric_names()  # judged: per-feature statistics published
    [note] = stack.notifications()
    assert note["subject"] == f"No drift on {ENDPOINT}"
    drift = json.loads(
        stack.s3.get_object(
            Bucket=BUCKET, Key=outcome["drift_uri"].removeprefix(f"s3://{BUCKET}/")
        )["Body"].read()
    )
    assert drift["verdict"] == "no-drift" and drift["endpoint"] == ENDPOINT


def test_a_shifted_feature_is_drift_naming_it_with_its_numbers(
    stack: Stack, watch: Monitoring
) -> None:
    watch.serve()
    watch.send(300, f"{SHIFTED}=3")

    run = watch.run()

    assert run.status == "SUCCEEDED", run.cause
    outcome = run.state_output("Judged")["outcome"]
    assert outcome["verdict"] == "drift"
    assert SHIFTED in outcome["drifted_features"]
    assert [p["Maximum"] for p in watch.drift_metric()] == [1.0]
    [note] = stack.notifications()
    assert note["subject"].startswith(f"Drift detected on {ENDPOINT}: ")
    assert SHIFTED in note["subject"]
    summary = note["message"]["summary"]
    assert f"{SHIFTED} (PSI " in summary and "KS " in summary
    assert "retrain_on_drift is off" in summary  # what to do, retraining being off
    assert watch.requests() == []


def test_too_few_records_is_insufficient_data_and_publishes_no_statistic(
    stack: Stack, watch: Monitoring
) -> None:
    watch.serve()
    watch.send(50, f"{SHIFTED}=3")

    run = watch.run()

    assert run.status == "SUCCEEDED", run.cause
    outcome = run.state_output("Judged")["outcome"]
    assert outcome["verdict"] == "insufficient-data"
    assert [p["Maximum"] for p in watch.drift_metric()] == [0.0]
    assert "FeaturePSI" not in watch.metric_names()
    [note] = stack.notifications()
    assert note["subject"] == f"Drift not judged on {ENDPOINT}: insufficient data"


def test_drift_with_retrain_on_drift_sends_one_training_request(
    stack: Stack, retraining: Monitoring
) -> None:
    retraining.serve()
    retraining.send(300, f"{SHIFTED}=3")

    run = retraining.run()

    assert run.status == "SUCCEEDED", run.cause
    outcome = run.state_output("Judged")["outcome"]
    assert outcome["retraining"]["requested"] is True
    execution = run.arn.rsplit(":", 1)[-1]
    # A retried ReadDrift sends the same request: the FIFO queue keeps one.
    again = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="monitor-outcome",
        Payload=json.dumps(
            {
                "run": run.state_output("PlanRoute")["run"],
                "job_name": run.state_output("PlanRoute")["job"]["name"],
                "status": "Completed",
                "execution_name": execution,
            }
        ).encode(),
    )
    assert json.loads(again["Payload"].read())["retraining"]["requested"] is True
    [request] = retraining.requests()
    assert request["source"] == "mlops.project"
    assert request["detail-type"] == "Training Request"
    assert request["id"] == monitoring.training_request_id(execution)
    assert request["detail"]["input"] == {"data_uri": stack.defaults["data_uri"]}
    [note] = stack.notifications()
    assert "A training run on" in note["message"]["summary"]


def test_a_package_without_a_baseline_is_refused(stack: Stack, watch: Monitoring) -> None:
    watch.serve(baseline=False)
    watch.send(20)

    run = watch.run()

    assert (run.status, run.error) == ("FAILED", "BaselineMissing")
    assert "no drift baseline" in (run.cause or "")
    assert jobs(stack) == []


def test_a_bad_input_is_refused_naming_the_field(stack: Stack, watch: Monitoring) -> None:
    run = watch.run({"window_minutes": 0, "end": "yesterday"})

    assert (run.status, run.error) == ("FAILED", "InvalidExecutionInput")
    assert "window_minutes: got 0" in (run.cause or "")


def test_a_failed_job_fails_the_run_with_the_scripts_message(
    stack: Stack, watch: Monitoring
) -> None:
    watch.serve()
    watch.send(30)
    stack.s3.put_object(Bucket=BUCKET, Key="evaluation/monitored/baseline.json", Body=b"{}")

    run = watch.run()

    assert (run.status, run.error) == ("FAILED", "MonitorInputError")
    assert "MonitorInputError: baseline" in (run.cause or "")
    assert "ReadDrift" in run.states and "Judged" not in run.states


def test_a_job_that_never_ends_spends_the_poll_budget(stack: Stack, tmp_path: Path) -> None:
    monitor = Monitoring(stack, tmp_path, max_polls=2)
    try:
        monitor.serve()
        monitor.send(20)
        sagemaker.set_processing_job_runner(lambda job: None)  # InProgress for ever

        run = monitor.run()

        assert (run.status, run.error) == ("FAILED", "MonitorPollBudgetExhausted")
        assert run.entered("DescribeMonitor") == 2
        assert "still InProgress after 2 polls" in (run.cause or "")
    finally:
        monitor.close()
