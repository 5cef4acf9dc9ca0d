"""The uploads queue's messages (``lambdas/trigger/uploads.py``): S3 "Object Created" events and
the project's training requests, each to a training job or a reason not to run.

The events are EventBridge's S3 events as AWS documents them (tests/events/s3_*.json); S3's
HeadObject is a fake held to botocore's model (tests/helpers/trigger_fakes.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contracts import deployment as requests
from contracts import execution_input
from lambdas.trigger import logic, uploads
from lambdas.trigger.jobs import Job, MalformedEventError, NotRun
from tests.helpers.events import load_event
from tests.helpers.trigger_fakes import Fakes, FakeS3, sqs_event

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "iris-mlops-111122223333"
BASE_URI = f"s3://{BUCKET}/data/raw/iris.csv"
VERSION = "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
NAME_RULE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ALL_EVENTS = sorted(p.stem for p in (ROOT / "tests" / "events").glob("s3_*.json"))
MACHINE = "arn:aws:states:us-east-1:111122223333:stateMachine:iris-mlops-training"
TOPIC = "arn:aws:sns:us-east-1:111122223333:iris-mlops-notifications"
CONFIG = logic.Config(state_machine_arn=MACHINE, notification_topic_arn=TOPIC)


def upload(name: str = "s3_object_created", **object_fields: Any) -> uploads.S3Upload:
    event = load_event(name)
    event["detail"]["object"].update(object_fields)
    return uploads.parse_event(event)


def job(event: dict[str, Any], s3: FakeS3 | None = None) -> Job | NotRun:
    return uploads.job_for(event, s3 or FakeS3(), "data/raw/")


def training_request(request_id: str = "req-1", **detail: Any) -> dict[str, Any]:
    """A training request as the project sends it (make start, the drift monitor)."""
    return {
        "source": requests.REQUEST_SOURCE,
        "detail-type": requests.TRAINING_REQUEST,
        "id": request_id,
        "detail": {"input": {"data_uri": BASE_URI}, "reason": "drift", **detail},
    }


# --- parsing -----------------------------------------------------------------------------------


def test_parse_event_reads_the_s3_fields() -> None:
    parsed = uploads.parse_event(load_event("s3_object_created"))
    assert parsed == uploads.S3Upload(
        bucket=BUCKET,
        key="data/raw/iris.csv",
        size=4551,
        version_id=None,
        sequencer="00691EDC1E5C3A9F21",
        etag="f6c0f2ab7fb5e8a2a4a3b3d9c21e8e4d",
        source="aws.s3",
        detail_type="Object Created",
    )
    assert parsed.uri == BASE_URI


def test_parse_event_keeps_version_id_and_key_verbatim() -> None:
    assert upload("s3_object_created_versioned").version_id == VERSION
    # EventBridge keys are not URL-encoded: "+" and "%" are part of the real name.
    assert upload("s3_object_created_special_key").key == "data/raw/iris v2+extra 100%.CSV"


def test_parse_event_accepts_moto_etag_spelling() -> None:
    event = load_event("s3_object_created")
    event["detail"]["object"]["eTag"] = event["detail"]["object"].pop("etag")
    assert uploads.parse_event(event).etag == "f6c0f2ab7fb5e8a2a4a3b3d9c21e8e4d"


def _edit(path: list[str], value: Any = None, drop: bool = False) -> dict[str, Any]:
    event = load_event("s3_object_created")
    node = event
    for part in path[:-1]:
        node = node[part]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], r"\(event\) must be an object"),
        (_edit(["detail"], drop=True), "detail must be an object"),
        (_edit(["detail", "bucket"], drop=True), "detail.bucket must be an object"),
        (_edit(["detail", "bucket", "name"], ""), "detail.bucket.name must be a non-empty"),
        (_edit(["detail", "object", "key"], 42), "detail.object.key must be a non-empty"),
        (_edit(["detail", "object", "size"], -1), "size must be a non-negative integer"),
        (_edit(["detail", "object", "size"], True), "size must be a non-negative integer"),
        (_edit(["detail", "object", "size"], "4551"), "size must be a non-negative integer"),
        (_edit(["detail", "object", "sequencer"], drop=True), "neither detail.object.version-id"),
        (_edit(["source"], drop=True), "source must be a non-empty string"),
    ],
)
def test_parse_event_rejects_malformed_events(event: Any, message: str) -> None:
    with pytest.raises(MalformedEventError, match=message):
        uploads.parse_event(event)


# --- ignore rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("s3_object_created", None),
        ("s3_object_created_versioned", None),
        ("s3_object_created_special_key", None),  # ".CSV" counts: the suffix check ignores case
        ("s3_object_created_not_csv", "does not end with '.csv'"),
        ("s3_object_created_outside_prefix", "outside the data prefix 'data/raw/'"),
        ("s3_object_created_empty", "is empty (0 bytes)"),
    ],
)
def test_ignore_reason(name: str, reason: str | None) -> None:
    result = uploads.ignore_reason(upload(name), "data/raw/")
    if reason is None:
        assert result is None
    else:
        assert result is not None and reason in result


def test_ignore_reason_prefix_is_a_folder_not_a_string_prefix() -> None:
    config = logic.load_config(
        {"STATE_MACHINE_ARN": MACHINE, "NOTIFICATION_TOPIC_ARN": TOPIC, "DATA_PREFIX": "data/raw"}
    )
    sibling = upload(key="data/raw-old/iris.csv")
    assert "outside the data prefix" in str(uploads.ignore_reason(sibling, config.data_prefix))


def test_ignore_reason_other_event_types() -> None:
    event = load_event("s3_object_created")
    event["detail-type"] = "Object Deleted"
    reason = uploads.ignore_reason(uploads.parse_event(event), "data/raw/")
    assert reason is not None and "'Object Deleted'" in reason


def test_an_ignored_upload_is_not_run_and_reads_nothing() -> None:
    s3 = FakeS3()
    result = job(load_event("s3_object_created_empty"), s3)
    assert isinstance(result, NotRun) and result.status == "ignored" and result.notify
    assert result.what == upload("s3_object_created_empty").uri
    assert s3.calls == []


# --- execution names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_execution_name_is_valid_and_deterministic(name: str) -> None:
    first = uploads.execution_name(upload(name))
    assert NAME_RULE.match(first), first
    assert uploads.execution_name(upload(name)) == first


def test_execution_name_is_readable() -> None:
    assert re.fullmatch(r"s3-iris-[0-9a-f]{16}", uploads.execution_name(upload()))
    special = uploads.execution_name(upload("s3_object_created_special_key"))
    assert re.fullmatch(r"s3-iris-v2-extra-100-[0-9a-f]{16}", special)
    assert re.fullmatch(r"s3-upload-[0-9a-f]{16}", uploads.execution_name(upload(key="x/+%.csv")))


@pytest.mark.parametrize(
    "change",
    [
        {"version-id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"},
        {"sequencer": "00691EDC1E5C3A9F22"},
        {"etag": "0cc175b9c0f1b6a831c399e269772661"},
        {"key": "data/raw/iris2.csv"},
    ],
)
def test_execution_name_differs_per_upload(change: dict[str, str]) -> None:
    assert uploads.execution_name(upload(**change)) != uploads.execution_name(upload())


def test_execution_name_differs_per_bucket() -> None:
    event = load_event("s3_object_created")
    event["detail"]["bucket"]["name"] = "another-bucket"
    assert uploads.execution_name(uploads.parse_event(event)) != uploads.execution_name(upload())


def test_execution_name_differs_between_versions_of_one_key() -> None:
    v1 = upload("s3_object_created_versioned")
    v2 = upload("s3_object_created_versioned", **{"version-id": "v2"})
    assert uploads.execution_name(v1) != uploads.execution_name(v2)


@pytest.mark.parametrize("stem_length", [59, 60, 61, 300])
def test_execution_name_truncates_long_keys(stem_length: int) -> None:
    name = uploads.execution_name(upload(key=f"data/raw/{'a' * stem_length}.csv"))
    assert NAME_RULE.match(name)
    assert len(name) == min(80, 20 + stem_length)
    assert name.startswith("s3-" + "a" * min(stem_length, 60) + "-")


def test_execution_name_does_not_end_a_truncated_stem_with_a_dash() -> None:
    name = uploads.execution_name(upload(key=f"data/raw/{'a' * 59} tail.csv"))
    assert name.startswith("s3-" + "a" * 59 + "-") and "--" not in name


# --- the run's input ---------------------------------------------------------------------------


def test_the_input_of_an_upload_without_metadata_is_its_location() -> None:
    result = job(load_event("s3_object_created"))
    assert isinstance(result, Job)
    assert json.loads(result.input) == {"data_uri": BASE_URI}
    special = job(load_event("s3_object_created_special_key"))
    assert isinstance(special, Job)
    assert json.loads(special.input) == {
        "data_uri": f"s3://{BUCKET}/data/raw/iris v2+extra 100%.CSV"
    }


def test_the_input_pins_the_uploaded_version_and_reads_that_versions_metadata() -> None:
    """A later upload of the same key, queued behind this one, cannot take its place."""
    event = load_event("s3_object_created_versioned")
    key = event["detail"]["object"]["key"]
    s3 = FakeS3()
    s3.put(BUCKET, key, VERSION, {"Label-Column": "species"})
    s3.put(BUCKET, key, None, {"label-column": "a newer upload's label"})
    result = job(event, s3)
    assert isinstance(result, Job)
    document = json.loads(result.input)
    assert document == {
        "data_uri": f"s3://{BUCKET}/{key}",
        "data_version_id": VERSION,
        "label_column": "species",
    }
    assert s3.called("HeadObject") == [{"Bucket": BUCKET, "Key": key, "VersionId": VERSION}]


def test_the_input_carries_every_setting_the_upload_metadata_names() -> None:
    s3 = FakeS3()
    metadata = {
        "label-column": "species",
        "feature-columns": json.dumps(["sepal length", "petal length"]),
        "class-order": json.dumps(["setosa", "versicolor", "virginica"]),
    }
    assert set(metadata) == set(execution_input.UPLOAD_METADATA)
    s3.put(BUCKET, "data/raw/iris.csv", None, metadata)
    result = job(load_event("s3_object_created"), s3)
    assert isinstance(result, Job)
    assert json.loads(result.input) == {
        "data_uri": BASE_URI,
        "label_column": "species",
        "feature_columns": ["sepal length", "petal length"],
        "class_order": ["setosa", "versicolor", "virginica"],
    }
    assert result.log == {"bucket": BUCKET, "key": "data/raw/iris.csv", "version_id": None}


def test_an_upload_gone_since_runs_without_settings() -> None:
    # The run's input check then names the missing object; the trigger does not guess.
    result = job(load_event("s3_object_created"), FakeS3())
    assert isinstance(result, Job) and json.loads(result.input) == {"data_uri": BASE_URI}


def test_other_errors_reading_the_metadata_propagate() -> None:
    # The invocation fails and the message comes back: no run starts without its settings.
    s3 = FakeS3()
    s3.fail("HeadObject", "403", "Forbidden", 403)
    with pytest.raises(ClientError, match="403"):
        job(load_event("s3_object_created"), s3)


# --- training requests -------------------------------------------------------------------------


def test_a_training_request_runs_its_input_under_a_name_of_its_id() -> None:
    first = job(training_request("req-1"))
    assert isinstance(first, Job)
    assert re.fullmatch(r"run-drift-[0-9a-f]{16}", first.name), first.name
    assert json.loads(first.input) == {"data_uri": BASE_URI}
    assert first.what == "training request req-1 (drift)"
    again = job(training_request("req-1"))
    other = job(training_request("req-2"))
    assert isinstance(again, Job) and isinstance(other, Job)
    assert again.name == first.name and other.name != first.name


def test_a_training_request_with_a_long_reason_still_has_a_valid_name() -> None:
    result = job(training_request(reason="retrain-" + "x" * 100))
    assert isinstance(result, Job)
    assert NAME_RULE.match(result.name), (len(result.name), result.name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"detail-type": "Deployment Request"}, "not a training request"),
        ({"id": ""}, "id must be a non-empty string"),
        ({"detail": {"reason": "drift"}}, "needs detail.input, an object"),
        ({"detail": "x"}, "detail must be an object"),
    ],
)
def test_a_malformed_training_request_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedEventError, match=message):
        job({**training_request(), **change})


# --- through the queue runner ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("s3_object_created_not_csv", "does not end with '.csv'"),
        ("s3_object_created_outside_prefix", "outside the data prefix"),
        ("s3_object_created_empty", "is empty (0 bytes)"),
    ],
)
def test_uploads_that_will_not_run_are_notified_and_deleted(name: str, reason: str) -> None:
    fakes = Fakes(MACHINE)
    response = logic.handle_batch(sqs_event(load_event(name)), fakes.clients(), CONFIG)
    assert response == {"batchItemFailures": []}
    assert fakes.sfn.calls == []
    [published] = fakes.sns.called("Publish")
    uri = uploads.parse_event(load_event(name)).uri
    assert published["TopicArn"] == TOPIC
    assert published["Subject"] == logic.notification_subject(f"Upload not run (ignored): {uri}")
    [message] = fakes.sns.messages()
    assert (message["status"], message["request"]) == ("ignored", uri)
    assert reason in message["reason"] and "Upload a non-empty .csv file" in message["action"]


def test_a_training_request_starts_a_run_through_the_queue() -> None:
    fakes = Fakes(MACHINE)
    response = logic.handle_batch(sqs_event(training_request()), fakes.clients(), CONFIG)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}  # kept: the run's lock
    [started] = fakes.sfn.called("StartExecution")
    assert started["name"].startswith("run-drift-") and json.loads(started["input"]) == {
        "data_uri": BASE_URI
    }
