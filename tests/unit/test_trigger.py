"""Unit tests of the S3 trigger Lambda's pure functions, with a fake Step Functions client."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from lambdas.trigger import logic
from tests.helpers.events import load_event

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_stepfunctions.client import SFNClient

ROOT = Path(__file__).resolve().parents[2]
TRIGGER_DIR = ROOT / "lambdas" / "trigger"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:111122223333:stateMachine:iris-mlops-training"
TOPIC_ARN = "arn:aws:sns:us-east-1:111122223333:iris-mlops-notifications"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/111122223333/iris-mlops-trigger-uploads.fifo"
REQUIRED_ENV = {"STATE_MACHINE_ARN": STATE_MACHINE_ARN, "NOTIFICATION_TOPIC_ARN": TOPIC_ARN}
DEPLOY_ONLY = ("approved_model_package_arn", "rejected_model_package_arn")
BASE_URI = "s3://iris-mlops-111122223333/data/raw/iris.csv"
NAME_RULE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ALL_EVENTS = sorted(p.stem for p in (ROOT / "tests" / "events").glob("s3_*.json"))


class FakeStepFunctions:
    """Records calls; `running` plays ListExecutions(RUNNING) with each execution's input,
    `existing` maps used names to their status (a name in it makes StartExecution fail)."""

    def __init__(
        self,
        running: list[dict[str, str]] | None = None,
        existing: dict[str, str] | None = None,
        error_code: str | None = None,
    ) -> None:
        self.running = running or []
        self.existing = dict(existing or {})
        self.error_code = error_code
        self.list_calls: list[dict[str, Any]] = []
        self.describe_calls: list[str] = []
        self.start_calls: list[dict[str, Any]] = []

    def _fail_if_asked(self, operation: str) -> None:
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "no"}}, operation)

    def get_paginator(self, operation: str) -> FakeStepFunctions:
        assert operation == "list_executions"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self._fail_if_asked("ListExecutions")
        self.list_calls.append(kwargs)
        executions = [{k: v for k, v in e.items() if k != "input"} for e in self.running]
        return [{"executions": executions[:1]}, {"executions": executions[1:]}]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self._fail_if_asked("DescribeExecution")
        self.describe_calls.append(executionArn)
        name = executionArn.rsplit(":", 1)[1]
        for execution in self.running:
            if execution["executionArn"] == executionArn:
                return {"status": "RUNNING", "input": execution.get("input", "{}")}
        if name in self.existing:
            return {"status": self.existing[name], "input": "{}"}
        raise ClientError(
            {"Error": {"Code": "ExecutionDoesNotExist", "Message": executionArn}},
            "DescribeExecution",
        )

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.start_calls.append(kwargs)
        name = kwargs["name"]
        if name in self.existing:
            raise ClientError(
                {"Error": {"Code": "ExecutionAlreadyExists", "Message": f"'{name}'"}},
                "StartExecution",
            )
        self.existing[name] = "RUNNING"
        arn = logic.execution_arn(kwargs["stateMachineArn"], name)
        return {"executionArn": arn, "startDate": datetime.now(UTC)}

    def typed(self) -> SFNClient:
        return cast("SFNClient", self)


class FakeSNS:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.published.append(kwargs)
        return {"MessageId": "m"}


class FakeSQS:
    def __init__(self, error_code: str | None = None) -> None:
        self.error_code = error_code
        self.visibility_calls: list[dict[str, Any]] = []

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.visibility_calls.append(kwargs)
        if self.error_code:
            raise ClientError(
                {"Error": {"Code": self.error_code, "Message": "no"}}, "ChangeMessageVisibility"
            )


@dataclass
class Fakes:
    sfn: FakeStepFunctions = field(default_factory=FakeStepFunctions)
    sns: FakeSNS = field(default_factory=FakeSNS)
    sqs: FakeSQS = field(default_factory=FakeSQS)

    def clients(self) -> logic.Clients:
        return logic.Clients(
            stepfunctions=self.sfn.typed(), sns=cast("SNSClient", self.sns), sqs=self.sqs
        )


def upload(name: str = "s3_object_created", **object_fields: Any) -> logic.S3Upload:
    event = load_event(name)
    event["detail"]["object"].update(object_fields)
    return logic.parse_event(event)


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"NOTIFICATION_TOPIC_ARN": TOPIC_ARN}, "STATE_MACHINE_ARN"),
        ({"STATE_MACHINE_ARN": "  ", "NOTIFICATION_TOPIC_ARN": TOPIC_ARN}, "STATE_MACHINE_ARN"),
        ({"STATE_MACHINE_ARN": STATE_MACHINE_ARN}, "NOTIFICATION_TOPIC_ARN"),
    ],
)
def test_load_config_requires_its_arns(environ: dict[str, str], missing: str) -> None:
    with pytest.raises(logic.ConfigurationError, match=f"{missing} is not set"):
        logic.load_config(environ)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(None, "data/raw/"), ("data/raw", "data/raw/"), ("/incoming/", "incoming/"), ("", "")],
)
def test_load_config_normalises_prefix(prefix: str | None, expected: str) -> None:
    environ = dict(REQUIRED_ENV)
    if prefix is not None:
        environ["DATA_PREFIX"] = prefix
    config = logic.load_config(environ)
    assert config == logic.Config(
        state_machine_arn=STATE_MACHINE_ARN, notification_topic_arn=TOPIC_ARN, data_prefix=expected
    )


def test_load_config_reads_queue_retry_delay_and_deploy_only_keys() -> None:
    config = logic.load_config(
        {
            **REQUIRED_ENV,
            "QUEUE_URL": QUEUE_URL,
            "RETRY_DELAY_SECONDS": "60",
            "DEPLOY_ONLY_INPUT_KEYS": " approved_model_package_arn, rejected_model_package_arn,",
        }
    )
    assert (config.queue_url, config.retry_delay_seconds) == (QUEUE_URL, 60)
    assert config.deploy_only_input_keys == DEPLOY_ONLY


@pytest.mark.parametrize("value", ["-1", "1.5", "ten", "43201"])
def test_load_config_refuses_a_bad_retry_delay(value: str) -> None:
    with pytest.raises(logic.ConfigurationError, match="RETRY_DELAY_SECONDS must be a whole"):
        logic.load_config({**REQUIRED_ENV, "RETRY_DELAY_SECONDS": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, logging.INFO),
        ("debug", logging.DEBUG),
        (" WARNING ", logging.WARNING),
        ("x", logging.INFO),
    ],
)
def test_log_level(value: str | None, expected: int) -> None:
    assert logic.log_level(value) == expected


# --- parsing -----------------------------------------------------------------------------------


def test_parse_event_reads_the_s3_fields() -> None:
    parsed = logic.parse_event(load_event("s3_object_created"))
    assert parsed == logic.S3Upload(
        bucket="iris-mlops-111122223333",
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
    assert upload("s3_object_created_versioned").version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    # EventBridge keys are not URL-encoded: "+" and "%" are part of the real name.
    assert upload("s3_object_created_special_key").key == "data/raw/iris v2+extra 100%.CSV"


def test_parse_event_accepts_moto_etag_spelling() -> None:
    event = load_event("s3_object_created")
    event["detail"]["object"]["eTag"] = event["detail"]["object"].pop("etag")
    assert logic.parse_event(event).etag == "f6c0f2ab7fb5e8a2a4a3b3d9c21e8e4d"


def _drop(path: list[str]) -> dict[str, Any]:
    event = load_event("s3_object_created")
    node = event
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return event


def _set(path: list[str], value: Any) -> dict[str, Any]:
    event = load_event("s3_object_created")
    node = event
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], r"\(event\) must be an object"),
        (_drop(["detail"]), "detail must be an object"),
        (_drop(["detail", "bucket"]), "detail.bucket must be an object"),
        (_set(["detail", "bucket", "name"], ""), "detail.bucket.name must be a non-empty"),
        (_set(["detail", "object", "key"], 42), "detail.object.key must be a non-empty"),
        (_set(["detail", "object", "size"], -1), "size must be a non-negative integer"),
        (_set(["detail", "object", "size"], True), "size must be a non-negative integer"),
        (_set(["detail", "object", "size"], "4551"), "size must be a non-negative integer"),
        (_drop(["detail", "object", "sequencer"]), "neither detail.object.version-id nor"),
        (_drop(["source"]), "source must be a non-empty string"),
    ],
)
def test_parse_event_rejects_malformed_events(event: Any, message: str) -> None:
    with pytest.raises(logic.MalformedEventError, match=message):
        logic.parse_event(event)


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
    result = logic.ignore_reason(upload(name), "data/raw/")
    if reason is None:
        assert result is None
    else:
        assert result is not None and reason in result


def test_ignore_reason_prefix_is_a_folder_not_a_string_prefix() -> None:
    config = logic.load_config({**REQUIRED_ENV, "DATA_PREFIX": "data/raw"})
    sibling = upload(key="data/raw-old/iris.csv")
    assert "outside the data prefix" in str(logic.ignore_reason(sibling, config.data_prefix))


def test_ignore_reason_other_event_types() -> None:
    event = load_event("s3_object_created")
    event["detail-type"] = "Object Deleted"
    reason = logic.ignore_reason(logic.parse_event(event), "data/raw/")
    assert reason is not None and "'Object Deleted'" in reason


# --- execution names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_execution_name_is_valid_and_deterministic(name: str) -> None:
    first = logic.execution_name(upload(name))
    assert NAME_RULE.match(first), first
    assert logic.execution_name(upload(name)) == first


def test_execution_name_is_readable() -> None:
    assert re.fullmatch(r"s3-iris-[0-9a-f]{16}", logic.execution_name(upload()))
    special = logic.execution_name(upload("s3_object_created_special_key"))
    assert re.fullmatch(r"s3-iris-v2-extra-100-[0-9a-f]{16}", special)
    assert re.fullmatch(r"s3-upload-[0-9a-f]{16}", logic.execution_name(upload(key="x/+%.csv")))


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
    assert logic.execution_name(upload(**change)) != logic.execution_name(upload())


def test_execution_name_differs_per_bucket() -> None:
    event = load_event("s3_object_created")
    event["detail"]["bucket"]["name"] = "another-bucket"
    assert logic.execution_name(logic.parse_event(event)) != logic.execution_name(upload())


def test_execution_name_differs_between_versions_of_one_key() -> None:
    v1 = upload("s3_object_created_versioned")
    v2 = upload("s3_object_created_versioned", **{"version-id": "v2"})
    assert logic.execution_name(v1) != logic.execution_name(v2)


@pytest.mark.parametrize("stem_length", [59, 60, 61, 300])
def test_execution_name_truncates_long_keys(stem_length: int) -> None:
    name = logic.execution_name(upload(key=f"data/raw/{'a' * stem_length}.csv"))
    assert NAME_RULE.match(name)
    assert len(name) == min(80, 20 + stem_length)
    assert name.startswith("s3-" + "a" * min(stem_length, 60) + "-")


def test_execution_name_does_not_end_a_truncated_stem_with_a_dash() -> None:
    name = logic.execution_name(upload(key=f"data/raw/{'a' * 59} tail.csv"))
    assert name.startswith("s3-" + "a" * 59 + "-") and "--" not in name


# --- input and ARNs ----------------------------------------------------------------------------


def test_execution_input_is_the_data_uri() -> None:
    assert json.loads(logic.execution_input(upload())) == {"data_uri": BASE_URI}
    special = json.loads(logic.execution_input(upload("s3_object_created_special_key")))
    assert special == {"data_uri": "s3://iris-mlops-111122223333/data/raw/iris v2+extra 100%.CSV"}


def test_execution_input_pins_the_uploaded_version_when_s3_gives_one() -> None:
    """A later upload of the same key, queued behind this one, cannot take its place."""
    versioned = json.loads(logic.execution_input(upload("s3_object_created_versioned")))
    assert versioned["data_version_id"] == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    assert versioned["data_uri"].startswith("s3://")


def test_execution_arn() -> None:
    assert logic.execution_arn(STATE_MACHINE_ARN, "s3-iris-0123") == (
        "arn:aws:states:us-east-1:111122223333:execution:iris-mlops-training:s3-iris-0123"
    )
    with pytest.raises(logic.ConfigurationError, match="not a state machine ARN"):
        logic.execution_arn("arn:aws:sns:us-east-1:111122223333:topic", "x")


# --- starting runs -----------------------------------------------------------------------------

CONFIG = logic.Config(
    state_machine_arn=STATE_MACHINE_ARN,
    notification_topic_arn=TOPIC_ARN,
    queue_url=QUEUE_URL,
    retry_delay_seconds=60,
    deploy_only_input_keys=DEPLOY_ONLY,
)
OWN_NAME = logic.execution_name(upload())
OWN_ARN = logic.execution_arn(STATE_MACHINE_ARN, OWN_NAME)


def _running(name: str, execution_input: dict[str, Any]) -> dict[str, str]:
    arn = logic.execution_arn(STATE_MACHINE_ARN, name)
    return {"name": name, "executionArn": arn, "input": json.dumps(execution_input)}


def test_start_run_starts_when_idle() -> None:
    fake = FakeStepFunctions()
    result = logic.start_run(fake.typed(), CONFIG, upload())
    assert result == {
        "status": "started",
        "execution_name": OWN_NAME,
        "execution_arn": OWN_ARN,
        "reason": f"started for {BASE_URI}",
    }
    assert fake.describe_calls == [OWN_ARN]
    assert fake.list_calls == [{"stateMachineArn": STATE_MACHINE_ARN, "statusFilter": "RUNNING"}]
    assert fake.start_calls == [
        {
            "stateMachineArn": STATE_MACHINE_ARN,
            "name": OWN_NAME,
            "input": json.dumps({"data_uri": BASE_URI}),
        }
    ]


@pytest.mark.parametrize(
    "execution_input", [{}, {"data_uri": "s3://b/data/raw/other.csv"}, [], "not json"]
)
def test_start_run_waits_while_a_training_run_is_running(execution_input: Any) -> None:
    other = _running("manual-run", execution_input)
    if execution_input == "not json":
        other["input"] = "not json"
    fake = FakeStepFunctions(running=[other])
    result = logic.start_run(fake.typed(), CONFIG, upload())
    assert (result["status"], result["execution_name"], result["execution_arn"]) == (
        "waiting",
        OWN_NAME,
        None,
    )
    assert result["reason"] == (
        f"execution manual-run is running; {BASE_URI} waits in the queue and starts when it "
        "has ended"
    )
    assert fake.start_calls == []


@pytest.mark.parametrize("key", DEPLOY_ONLY)
def test_start_run_is_not_blocked_by_deploy_only_executions(key: str) -> None:
    deploy = _running("registry-event", {key: "arn:aws:sagemaker:us-east-1:1:model-package/g/3"})
    fake = FakeStepFunctions(running=[deploy])
    result = logic.start_run(fake.typed(), CONFIG, upload())
    assert result["status"] == "started"
    assert fake.describe_calls == [OWN_ARN, deploy["executionArn"]]


def test_start_run_looks_past_deploy_only_executions_on_every_page() -> None:
    deploy = _running("registry-event", {"approved_model_package_arn": "arn:p"})
    training = _running("manual-run", {})
    fake = FakeStepFunctions(running=[deploy, training])
    assert logic.start_run(fake.typed(), CONFIG, upload())["status"] == "waiting"


def test_without_deploy_only_keys_every_running_execution_blocks() -> None:
    deploy = _running("registry-event", {"approved_model_package_arn": "arn:p"})
    fake = FakeStepFunctions(running=[deploy])
    config = logic.Config(state_machine_arn=STATE_MACHINE_ARN, notification_topic_arn=TOPIC_ARN)
    assert logic.start_run(fake.typed(), config, upload())["status"] == "waiting"


def test_start_run_own_run_still_running_keeps_the_lock() -> None:
    fake = FakeStepFunctions(running=[_running(OWN_NAME, {"data_uri": BASE_URI})])
    result = logic.start_run(fake.typed(), CONFIG, upload())
    assert (result["status"], result["execution_arn"]) == ("running", OWN_ARN)
    assert fake.list_calls == [] and fake.start_calls == []


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"])
def test_start_run_own_run_ended_is_done(status: str) -> None:
    fake = FakeStepFunctions(existing={OWN_NAME: status})
    result = logic.start_run(fake.typed(), CONFIG, upload())
    assert (result["status"], result["execution_arn"]) == ("done", OWN_ARN)
    assert f"has ended ({status})" in result["reason"]
    assert fake.start_calls == []


def test_start_run_ignores_itself_in_a_lagging_list() -> None:
    # DescribeExecution does not know the name yet, ListExecutions already does.
    fake = FakeStepFunctions(running=[_running(OWN_NAME, {"data_uri": BASE_URI})])
    fake.running[0]["executionArn"] = "arn:listed-only"
    fake.running[0]["name"] = OWN_NAME
    assert logic.start_run(fake.typed(), CONFIG, upload())["status"] == "started"


def test_start_run_lost_race_is_done_not_a_second_run() -> None:
    fake = FakeStepFunctions()
    fake.describe_execution = lambda executionArn: (_ for _ in ()).throw(  # type: ignore[method-assign]
        ClientError({"Error": {"Code": "ExecutionDoesNotExist", "Message": ""}}, "Describe")
    )
    fake.existing[OWN_NAME] = "SUCCEEDED"
    result = logic.start_run(fake.typed(), CONFIG, upload())
    assert result["status"] == "done" and "already exists" in result["reason"]
    assert len(fake.start_calls) == 1


def test_start_run_propagates_other_aws_errors() -> None:
    fake = FakeStepFunctions(error_code="AccessDeniedException")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        logic.start_run(fake.typed(), CONFIG, upload())


# --- queued messages ---------------------------------------------------------------------------


def sqs_event(*bodies: Any) -> dict[str, Any]:
    """Lambda's SQS event (tests/events/sqs_fifo_s3_upload.json) carrying `bodies` in order."""
    template = load_event("sqs_fifo_s3_upload")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"m{index}"
        record["receiptHandle"] = f"handle-{index}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        records.append(record)
    return {"Records": records}


def test_the_sqs_fixture_carries_the_s3_event() -> None:
    [record] = load_event("sqs_fifo_s3_upload")["Records"]
    assert json.loads(record["body"]) == load_event("s3_object_created")
    assert record["attributes"]["MessageGroupId"] == "uploads"


def test_handle_batch_starts_and_keeps_the_message_of_the_run() -> None:
    fakes = Fakes()
    response = logic.handle_batch(load_event("sqs_fifo_s3_upload"), fakes.clients(), CONFIG)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5"}]
    }
    assert [c["name"] for c in fakes.sfn.start_calls] == [OWN_NAME]
    assert fakes.sqs.visibility_calls == [
        {
            "QueueUrl": QUEUE_URL,
            "ReceiptHandle": "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw...",
            "VisibilityTimeout": 60,
        }
    ]
    assert fakes.sns.published == []


def test_handle_batch_deletes_the_message_when_its_run_has_ended() -> None:
    fakes = Fakes(sfn=FakeStepFunctions(existing={OWN_NAME: "SUCCEEDED"}))
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), CONFIG
    )
    assert response == {"batchItemFailures": []}
    assert fakes.sfn.start_calls == [] and fakes.sqs.visibility_calls == []


def test_handle_batch_leaves_a_waiting_upload_in_the_queue() -> None:
    fakes = Fakes(sfn=FakeStepFunctions(running=[_running("manual-run", {})]))
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), CONFIG
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert fakes.sfn.start_calls == []
    assert [c["ReceiptHandle"] for c in fakes.sqs.visibility_calls] == ["handle-0"]


def test_handle_batch_keeps_fifo_order_after_the_first_kept_message() -> None:
    second = load_event("s3_object_created_versioned")
    ignored = load_event("s3_object_created_empty")
    fakes = Fakes()
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created"), ignored, second), fakes.clients(), CONFIG
    )
    # m0 started; m1 and m2 are not processed at all (the Lambda guide's FIFO rule).
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ("m0", "m1", "m2")]}
    assert len(fakes.sfn.start_calls) == 1 and fakes.sns.published == []
    assert [c["ReceiptHandle"] for c in fakes.sqs.visibility_calls] == ["handle-0"]


def test_handle_batch_without_a_retry_delay_relies_on_the_visibility_timeout() -> None:
    fakes = Fakes()
    config = logic.Config(state_machine_arn=STATE_MACHINE_ARN, notification_topic_arn=TOPIC_ARN)
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), config
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert fakes.sqs.visibility_calls == []


def test_handle_batch_still_keeps_the_message_when_visibility_cannot_change() -> None:
    fakes = Fakes(sqs=FakeSQS(error_code="ReceiptHandleIsInvalid"))
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), CONFIG
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("s3_object_created_not_csv", "does not end with '.csv'"),
        ("s3_object_created_outside_prefix", "outside the data prefix"),
        ("s3_object_created_empty", "is empty (0 bytes)"),
    ],
)
def test_handle_batch_notifies_and_deletes_uploads_that_will_not_run(
    name: str, reason: str
) -> None:
    fakes = Fakes()
    response = logic.handle_batch(sqs_event(load_event(name)), fakes.clients(), CONFIG)
    assert response == {"batchItemFailures": []}
    assert fakes.sfn.start_calls == [] and fakes.sfn.describe_calls == []
    [published] = fakes.sns.published
    uri = logic.parse_event(load_event(name)).uri
    assert published["TopicArn"] == TOPIC_ARN
    assert published["Subject"] == logic.notification_subject(f"Upload not run (ignored): {uri}")
    message = json.loads(published["Message"])
    assert (message["status"], message["upload"]) == ("ignored", uri)
    assert reason in message["reason"]


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"detail": {}})])
def test_handle_batch_rejects_a_message_that_is_not_an_s3_event(body: str) -> None:
    fakes = Fakes()
    response = logic.handle_batch(sqs_event(body), fakes.clients(), CONFIG)
    # Deleted, not retried: in one FIFO group a poison message would hold up every upload.
    assert response == {"batchItemFailures": []}
    [published] = fakes.sns.published
    message = json.loads(published["Message"])
    assert message["status"] == "rejected" and "m0 is not an S3 event" in message["reason"]


def test_handle_batch_fails_the_invocation_when_the_notification_cannot_be_sent() -> None:
    fakes = Fakes()

    def refuse(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "AuthorizationError", "Message": "no"}}, "Publish")

    fakes.sns.publish = refuse  # type: ignore[method-assign,assignment]
    with pytest.raises(ClientError, match="AuthorizationError"):
        logic.handle_batch(
            sqs_event(load_event("s3_object_created_empty")), fakes.clients(), CONFIG
        )


@pytest.mark.parametrize(
    "event", [{}, {"Records": []}, load_event("s3_object_created"), {"Records": [{"body": "x"}]}]
)
def test_handle_batch_refuses_what_is_not_an_sqs_event(
    event: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=logic.LOGGER.name)
    with pytest.raises(logic.MalformedEventError):
        logic.handle_batch(event, Fakes().clients(), CONFIG)
    assert json.loads(caplog.records[-1].getMessage())["message"] == "malformed event"


def test_handle_batch_logs_one_json_line_per_decision(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=logic.LOGGER.name)
    logic.handle_batch(sqs_event(load_event("s3_object_created")), Fakes().clients(), CONFIG)
    records = [r for r in caplog.records if r.name == logic.LOGGER.name]
    assert len(records) == 1
    line = json.loads(records[0].getMessage())
    assert (line["status"], line["execution_name"], line["message_id"]) == (
        "started",
        OWN_NAME,
        "m0",
    )
    assert (line["bucket"], line["key"]) == ("iris-mlops-111122223333", "data/raw/iris.csv")


def test_notification_subject_is_printable_ascii_of_at_most_100_characters() -> None:
    subject = logic.notification_subject("Upload not run: s3://b/data/raw/é" + "x" * 200)
    assert len(subject) == 100 and subject.endswith("...")
    assert all(" " <= c <= "~" for c in subject)


# --- packaging: handler.py at the zip root -----------------------------------------------------


def _run_from_zip(
    tmp_path: Path, env: dict[str, str], event: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    bundle = tmp_path / "trigger.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for source in ("handler.py", "logic.py"):
            archive.write(TRIGGER_DIR / source, source)
    script = (
        "import json, sys, handler\n"
        "event = json.loads(sys.stdin.read())\n"
        "print(json.dumps(handler.lambda_handler(event, None)))\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STATE_MACHINE"))}
    fake_aws = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": str(bundle),
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(event),
        env={**base, **fake_aws, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_handler_runs_from_the_zip_root(tmp_path: Path) -> None:
    # Both modules import from the zip root and the handler decides: an event that is not from
    # the queue is refused by name, before any AWS call.
    done = _run_from_zip(tmp_path, REQUIRED_ENV, load_event("s3_object_created"))
    assert done.returncode != 0
    assert "MalformedEventError: event has no Records" in done.stderr
    assert "ImportError" not in done.stderr and "ModuleNotFoundError" not in done.stderr


def test_handler_without_state_machine_arn_fails_clearly(tmp_path: Path) -> None:
    done = _run_from_zip(tmp_path, {}, load_event("sqs_fifo_s3_upload"))
    assert done.returncode != 0
    assert "ConfigurationError: environment variable STATE_MACHINE_ARN is not set" in done.stderr


# --- terraform/trigger.tf: what the handler relies on ------------------------------------------

TRIGGER_TF = (ROOT / "terraform" / "trigger.tf").read_text(encoding="utf-8")


def _hcl_block(text: str, header: str) -> str:
    start = text.index(header)
    depth = 0
    for end in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start : end + 1]
    raise AssertionError(f"unbalanced block {header!r}")


def test_no_reserved_concurrency_anywhere_in_terraform() -> None:
    # A new account's quota is 10 with 10 kept unreserved: reserving any fails the apply.
    for path in sorted((ROOT / "terraform").rglob("*.tf")):
        assert "reserved_concurrent_executions" not in path.read_text(encoding="utf-8"), path


def test_uploads_reach_the_function_through_one_fifo_message_group() -> None:
    queue = _hcl_block(TRIGGER_TF, 'resource "aws_sqs_queue" "trigger_queue"')
    assert re.search(r"fifo_queue\s*=\s*true", queue)
    assert re.search(r"content_based_deduplication\s*=\s*true", queue)
    assert "redrive_policy" in queue and "trigger_queue_dlq" in queue
    target = _hcl_block(TRIGGER_TF, 'resource "aws_cloudwatch_event_target" "trigger"')
    assert "aws_sqs_queue.trigger_queue.arn" in target
    assert re.search(r'sqs_target\s*{\s*message_group_id\s*=\s*"uploads"\s*}', target)
    mapping = _hcl_block(TRIGGER_TF, 'resource "aws_lambda_event_source_mapping" "trigger"')
    assert re.search(r"batch_size\s*=\s*1\n", mapping)
    assert re.search(r'function_response_types\s*=\s*\["ReportBatchItemFailures"\]', mapping)
    policy = _hcl_block(TRIGGER_TF, 'data "aws_iam_policy_document" "trigger_queue"')
    assert '"aws:SourceArn"' in policy and "local.trigger_rule_arn" in policy


def test_terraform_sets_exactly_the_environment_the_handler_reads() -> None:
    function = _hcl_block(TRIGGER_TF, 'module "trigger"')
    variables = _hcl_block(function, "environment_variables = {")
    set_names = set(re.findall(r"^\s*([A-Z_]+)\s*=", variables, flags=re.MULTILINE))
    read_names = {
        value for name, value in vars(logic).items() if name.endswith("_ENV") and name.isupper()
    }
    assert set_names == read_names
