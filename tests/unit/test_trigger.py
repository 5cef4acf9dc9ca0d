"""Unit tests of the S3 trigger Lambda's pure functions, with a fake Step Functions client."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from lambdas.trigger import logic
from tests.helpers.events import load_event

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient

ROOT = Path(__file__).resolve().parents[2]
TRIGGER_DIR = ROOT / "lambdas" / "trigger"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:111122223333:stateMachine:iris-mlops-training"
BASE_URI = "s3://iris-mlops-111122223333/data/raw/iris.csv"
NAME_RULE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ALL_EVENTS = sorted(p.stem for p in (ROOT / "tests" / "events").glob("s3_*.json"))


class FakeStepFunctions:
    """Records calls; `running` plays ListExecutions(RUNNING), `existing` holds used names."""

    def __init__(
        self,
        running: list[dict[str, str]] | None = None,
        existing: set[str] | None = None,
        error_code: str | None = None,
    ) -> None:
        self.running = running or []
        self.existing = existing or set()
        self.error_code = error_code
        self.list_calls: list[dict[str, Any]] = []
        self.start_calls: list[dict[str, Any]] = []

    def list_executions(self, **kwargs: Any) -> dict[str, Any]:
        self.list_calls.append(kwargs)
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "no"}}, "List")
        return {"executions": self.running[: kwargs["maxResults"]]}

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.start_calls.append(kwargs)
        name = kwargs["name"]
        if name in self.existing:
            raise ClientError(
                {"Error": {"Code": "ExecutionAlreadyExists", "Message": f"'{name}'"}},
                "StartExecution",
            )
        self.existing.add(name)
        arn = logic.execution_arn(kwargs["stateMachineArn"], name)
        return {"executionArn": arn, "startDate": datetime.now(UTC)}

    def typed(self) -> SFNClient:
        return cast("SFNClient", self)


def upload(name: str = "s3_object_created", **object_fields: Any) -> logic.S3Upload:
    event = load_event(name)
    event["detail"]["object"].update(object_fields)
    return logic.parse_event(event)


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize("environ", [{}, {"STATE_MACHINE_ARN": "  "}])
def test_load_config_requires_state_machine_arn(environ: dict[str, str]) -> None:
    with pytest.raises(logic.ConfigurationError, match="STATE_MACHINE_ARN is not set"):
        logic.load_config(environ)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(None, "data/raw/"), ("data/raw", "data/raw/"), ("/incoming/", "incoming/"), ("", "")],
)
def test_load_config_normalises_prefix(prefix: str | None, expected: str) -> None:
    environ = {"STATE_MACHINE_ARN": STATE_MACHINE_ARN}
    if prefix is not None:
        environ["DATA_PREFIX"] = prefix
    config = logic.load_config(environ)
    assert config == logic.Config(state_machine_arn=STATE_MACHINE_ARN, data_prefix=expected)


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
    config = logic.load_config({"STATE_MACHINE_ARN": STATE_MACHINE_ARN, "DATA_PREFIX": "data/raw"})
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


def test_execution_arn() -> None:
    assert logic.execution_arn(STATE_MACHINE_ARN, "s3-iris-0123") == (
        "arn:aws:states:us-east-1:111122223333:execution:iris-mlops-training:s3-iris-0123"
    )
    with pytest.raises(logic.ConfigurationError, match="not a state machine ARN"):
        logic.execution_arn("arn:aws:sns:us-east-1:111122223333:topic", "x")


# --- starting runs -----------------------------------------------------------------------------


def test_start_run_starts_when_idle() -> None:
    fake = FakeStepFunctions()
    result = logic.start_run(fake.typed(), STATE_MACHINE_ARN, upload())
    name = logic.execution_name(upload())
    assert result == {
        "status": "started",
        "execution_name": name,
        "execution_arn": logic.execution_arn(STATE_MACHINE_ARN, name),
        "reason": f"started for {BASE_URI}",
    }
    assert fake.list_calls == [
        {"stateMachineArn": STATE_MACHINE_ARN, "statusFilter": "RUNNING", "maxResults": 1}
    ]
    assert fake.start_calls == [
        {
            "stateMachineArn": STATE_MACHINE_ARN,
            "name": name,
            "input": json.dumps({"data_uri": BASE_URI}),
        }
    ]


def test_start_run_skips_while_another_run_is_running() -> None:
    other = {"name": "s3-iris-aaaaaaaaaaaaaaaa", "executionArn": "arn:other"}
    fake = FakeStepFunctions(running=[other])
    result = logic.start_run(fake.typed(), STATE_MACHINE_ARN, upload())
    assert result["status"] == "skipped"
    assert result["execution_name"] == logic.execution_name(upload())
    assert result["execution_arn"] is None
    assert result["reason"].startswith("execution s3-iris-aaaaaaaaaaaaaaaa is already running")
    assert f"make start DATA={BASE_URI}" in result["reason"]
    assert fake.start_calls == []


def test_start_run_same_event_while_running_is_a_duplicate() -> None:
    name = logic.execution_name(upload())
    fake = FakeStepFunctions(running=[{"name": name, "executionArn": "arn:running"}])
    result = logic.start_run(fake.typed(), STATE_MACHINE_ARN, upload())
    assert (result["status"], result["execution_arn"]) == ("duplicate", "arn:running")
    assert fake.start_calls == []


def test_start_run_replayed_event_is_a_duplicate() -> None:
    name = logic.execution_name(upload())
    fake = FakeStepFunctions(existing={name})
    result = logic.start_run(fake.typed(), STATE_MACHINE_ARN, upload())
    assert result["status"] == "duplicate"
    assert result["execution_name"] == name
    assert result["execution_arn"] == logic.execution_arn(STATE_MACHINE_ARN, name)
    assert "already exists" in result["reason"]


def test_start_run_propagates_other_aws_errors() -> None:
    fake = FakeStepFunctions(error_code="AccessDeniedException")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        logic.start_run(fake.typed(), STATE_MACHINE_ARN, upload())


# --- the whole decision ------------------------------------------------------------------------

CONFIG = logic.Config(state_machine_arn=STATE_MACHINE_ARN)


@pytest.mark.parametrize(
    "name",
    ["s3_object_created_not_csv", "s3_object_created_outside_prefix", "s3_object_created_empty"],
)
def test_handle_event_ignores_without_calling_aws(name: str) -> None:
    fake = FakeStepFunctions()
    result = logic.handle_event(load_event(name), fake.typed(), CONFIG)
    assert result["status"] == "ignored"
    assert (result["execution_name"], result["execution_arn"]) == (None, None)
    assert fake.list_calls == [] and fake.start_calls == []


def test_handle_event_logs_one_json_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=logic.LOGGER.name)
    result = logic.handle_event(
        load_event("s3_object_created"), FakeStepFunctions().typed(), CONFIG
    )
    records = [r for r in caplog.records if r.name == logic.LOGGER.name]
    assert len(records) == 1
    line = json.loads(records[0].getMessage())
    assert line["status"] == result["status"] == "started"
    assert line["execution_name"] == result["execution_name"]
    assert (line["bucket"], line["key"]) == ("iris-mlops-111122223333", "data/raw/iris.csv")


def test_handle_event_malformed_raises_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=logic.LOGGER.name)
    with pytest.raises(logic.MalformedEventError):
        logic.handle_event({"detail": {}}, FakeStepFunctions().typed(), CONFIG)
    assert json.loads(caplog.records[-1].getMessage())["message"] == "malformed event"


# --- packaging: handler.py at the zip root -----------------------------------------------------


def _run_from_zip(
    tmp_path: Path, env: dict[str, str], event: str
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
        input=json.dumps(load_event(event)),
        env={**base, **fake_aws, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_handler_runs_from_the_zip_root(tmp_path: Path) -> None:
    done = _run_from_zip(
        tmp_path, {"STATE_MACHINE_ARN": STATE_MACHINE_ARN}, "s3_object_created_not_csv"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ignored"


def test_handler_without_state_machine_arn_fails_clearly(tmp_path: Path) -> None:
    done = _run_from_zip(tmp_path, {}, "s3_object_created")
    assert done.returncode != 0
    assert "ConfigurationError: environment variable STATE_MACHINE_ARN is not set" in done.stderr
