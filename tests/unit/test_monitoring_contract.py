"""The drift monitor's contract (contracts/monitoring.py): the monitoring machine's input and
window, a run's names, the training request, and the facts ml/monitor.py keeps as well."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from contracts import dataset, monitoring, training_request
from lambdas.notify import logic as notify
from lambdas.trigger import uploads
from ml import monitor, monitor_report, monitor_stats

STARTED = datetime(2024, 5, 1, 13, 20, 7, 250000, tzinfo=UTC)


def test_the_verdicts_and_container_paths_are_the_monitors_own() -> None:
    assert monitoring.VERDICTS == (
        monitor_stats.NO_DRIFT,
        monitor_stats.DRIFT,
        monitor_stats.INSUFFICIENT_DATA,
    )
    assert (
        monitoring.BASELINE_DIR,
        monitoring.CONTRACT_DIR,
        monitoring.CAPTURE_DIR,
        monitoring.OUTPUT_DIR,
    ) == (
        monitor.DEFAULT_BASELINE_DIR,
        monitor.DEFAULT_CONTRACT_DIR,
        monitor.DEFAULT_CAPTURE_DIR,
        monitor.DEFAULT_OUTPUT_DIR,
    )
    assert monitoring.SUMMARY_FILE == monitor_report.SUMMARY_FILE
    assert monitoring.CONTRACT_FILE == dataset.FILE_NAME


def test_a_run_by_hand_judges_the_hour_before_it_started() -> None:
    request = monitoring.parse_input({}, 60)
    window = monitoring.window_of(request, STARTED)
    # inferenceTime has whole seconds: the start's own second is in the window.
    assert window.as_dict() == {"start": "2024-05-01T12:20:08Z", "end": "2024-05-01T13:20:08Z"}
    assert [f"{h:%H}" for h in window.hours()] == ["12", "13"]


def test_a_scheduled_run_leaves_the_last_minutes_to_the_next_window() -> None:
    request = monitoring.parse_input({"scheduled_time": "2024-05-01T14:00:00Z"}, 60)
    window = monitoring.window_of(request, STARTED)
    assert window.as_dict() == {"start": "2024-05-01T12:55:00Z", "end": "2024-05-01T13:55:00Z"}
    # Consecutive hourly runs tile time: this window ends where the next one starts.
    following = monitoring.parse_input({"scheduled_time": "2024-05-01T15:00:00Z"}, 60)
    assert monitoring.window_of(following, STARTED).start == window.end


def test_an_explicit_end_and_length_win() -> None:
    request = monitoring.parse_input({"end": "2024-05-01T15:30:00+02:00", "window_minutes": 90}, 60)
    window = monitoring.window_of(request, STARTED)
    assert window.as_dict() == {"start": "2024-05-01T12:00:00Z", "end": "2024-05-01T13:30:00Z"}


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ([], "must be a JSON object"),
        ({"window": 5}, "unknown key(s) window; allowed: end, window_minutes"),
        ({"window_minutes": 0}, "window_minutes: got 0"),
        ({"window_minutes": True}, "window_minutes: got true"),
        ({"window_minutes": 100_000}, "from 1 to 10080"),
        ({"end": "2024-05-01T13:00:00"}, 'end: got "2024-05-01T13:00:00"; allowed: an ISO 8601'),
        ({"scheduled_time": 3}, "scheduled_time: got 3"),
        ({"reason": "x" * 300}, "reason: allowed: text of at most 256"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(document: object, named: str) -> None:
    with pytest.raises(monitoring.InputError) as refused:
        monitoring.parse_input(document, 60)
    assert str(refused.value).startswith(monitoring.CAUSE_PREFIX)
    assert named in str(refused.value)


def test_capture_folders_are_sagemakers_hourly_layout() -> None:
    hour = datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert monitoring.hour_prefix("data-capture", "ep", "AllTraffic", hour) == (
        "data-capture/ep/AllTraffic/2024/05/01/09/"
    )
    assert json.loads(monitoring.manifest("s3://b/data-capture/ep/", ["AllTraffic/x.jsonl"])) == [
        {"prefix": "s3://b/data-capture/ep/"},
        "AllTraffic/x.jsonl",
    ]


@pytest.mark.parametrize(
    "execution",
    ["c0ffee00-1111-2222-3333-444455556666", "monitor_now", "a" * 80, "weird name: ünïcode"],
)
def test_job_names_fit_sagemakers_pattern_and_differ_per_execution(execution: str) -> None:
    name = monitoring.job_name(execution)
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name
    assert monitoring.job_name(execution + "x") != name


def test_the_training_request_is_what_the_uploads_trigger_reads() -> None:
    request_id = monitoring.training_request_id("run-7")
    body = training_request.message(
        {"data_uri": "s3://b/data/raw/x.csv"},
        reason="drift",
        requested_by="drift monitor",
        request_id=request_id,
    )
    job = uploads.job_for(json.loads(body), s3=None, data_prefix="data/raw/")
    assert isinstance(job, uploads.Job)
    assert json.loads(job.input) == {"data_uri": "s3://b/data/raw/x.csv"}
    again = uploads.job_for(json.loads(body), s3=None, data_prefix="data/raw/")
    assert isinstance(again, uploads.Job) and again.name == job.name  # one run per request
    assert len(training_request.deduplication_id(request_id)) <= 128


def test_the_notification_names_the_drifted_features_with_their_numbers() -> None:
    outcome = {
        "status": "SUCCEEDED",
        "verdict": "drift",
        "endpoint": "ep",
        "message": "drift: width (PSI 2.767 > 0.2)",
        "window": {"start": "2024-05-01T12:00:00Z", "end": "2024-05-01T13:00:00Z"},
        "drifted_features": ["width", "length"],
        "drifted_feature_count": 3,
        "top_features": [
            {"name": "width", "psi": 2.77, "ks": 0.53},
            {"name": "height", "psi": 0.01, "ks": 0.02},
            {"name": "length", "psi": 0.4, "ks": 0.1},
        ],
        "retraining": {"advice": "retrain_on_drift is off, so no training run was started."},
        "report_uri": "s3://b/monitoring/ep/r/drift/drift.html",
    }
    subject, summary = notify.describe("monitoring", outcome)
    assert subject == "Drift detected on ep: width, length"
    assert "width (PSI 2.77, KS 0.53), length (PSI 0.4, KS 0.1) and 1 more" in summary
    assert "retrain_on_drift is off" in summary
    skipped = notify.describe(
        "monitoring",
        {"status": "SKIPPED", "verdict": "insufficient-data", "endpoint": "ep", "reason": "none"},
    )
    assert skipped == ("Drift not judged on ep: insufficient-data", "none")
