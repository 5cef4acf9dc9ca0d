"""The trigger's queue runner (``lambdas/trigger/logic.py``): configuration, one execution at a
time per queue, the partial batch response that keeps a message as the lock, notifications, the
zip it ships as, and the environment Terraform gives both of its functions.

The AWS clients are fakes held to botocore's service models (tests/helpers/trigger_fakes.py);
uploads serve as the example requests here (tests/unit/test_trigger_uploads.py and
test_trigger_deployments.py test what each queue's messages ask for).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest
from botocore.exceptions import ClientError
from hcl2.utils import SerializationOptions

from devtools import build
from lambdas.trigger import logic, uploads
from lambdas.trigger.jobs import Job, MalformedEventError
from tests.helpers.events import load_event
from tests.helpers.trigger_fakes import Fakes, sqs_event

ROOT = Path(__file__).resolve().parents[2]
MACHINE = "arn:aws:states:us-east-1:111122223333:stateMachine:iris-mlops-training"
TOPIC = "arn:aws:sns:us-east-1:111122223333:iris-mlops-notifications"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/111122223333/iris-mlops-trigger-uploads.fifo"
REQUIRED_ENV = {"STATE_MACHINE_ARN": MACHINE, "NOTIFICATION_TOPIC_ARN": TOPIC}
BASE_URI = "s3://iris-mlops-111122223333/data/raw/iris.csv"
CONFIG = logic.Config(
    state_machine_arn=MACHINE,
    notification_topic_arn=TOPIC,
    queue_url=QUEUE_URL,
    retry_delay_seconds=60,
)
UPLOAD = uploads.parse_event(load_event("s3_object_created"))
OWN_NAME = uploads.execution_name(UPLOAD)
OWN_ARN = logic.execution_arn(MACHINE, OWN_NAME)
JOB = Job(name=OWN_NAME, input=json.dumps({"data_uri": BASE_URI}), what=BASE_URI)


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"NOTIFICATION_TOPIC_ARN": TOPIC}, "STATE_MACHINE_ARN"),
        ({"STATE_MACHINE_ARN": "  ", "NOTIFICATION_TOPIC_ARN": TOPIC}, "STATE_MACHINE_ARN"),
        ({"STATE_MACHINE_ARN": MACHINE}, "NOTIFICATION_TOPIC_ARN"),
        ({**REQUIRED_ENV, "REQUESTS": "deployments"}, "ENDPOINT_NAME"),
    ],
)
def test_load_config_requires_its_settings(environ: dict[str, str], missing: str) -> None:
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
        state_machine_arn=MACHINE, notification_topic_arn=TOPIC, data_prefix=expected
    )


def test_load_config_reads_the_queue_and_its_retry_delay() -> None:
    config = logic.load_config(
        {**REQUIRED_ENV, "QUEUE_URL": QUEUE_URL, "RETRY_DELAY_SECONDS": "60"}
    )
    assert (config.queue_url, config.retry_delay_seconds) == (QUEUE_URL, 60)


@pytest.mark.parametrize("value", ["-1", "1.5", "ten", "43201"])
def test_load_config_refuses_a_bad_retry_delay(value: str) -> None:
    with pytest.raises(logic.ConfigurationError, match="RETRY_DELAY_SECONDS must be a whole"):
        logic.load_config({**REQUIRED_ENV, "RETRY_DELAY_SECONDS": value})


def test_load_config_reads_which_requests_the_queue_carries() -> None:
    assert logic.load_config(REQUIRED_ENV).requests == logic.UPLOADS
    deployments = logic.load_config(
        {**REQUIRED_ENV, "REQUESTS": " deployments ", "ENDPOINT_NAME": "iris-mlops-endpoint"}
    )
    assert (deployments.requests, deployments.endpoint_name) == (
        logic.DEPLOYMENTS,
        "iris-mlops-endpoint",
    )
    with pytest.raises(logic.ConfigurationError, match="REQUESTS must be uploads or deployments"):
        logic.load_config({**REQUIRED_ENV, "REQUESTS": "training"})


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


def test_execution_arn() -> None:
    assert logic.execution_arn(MACHINE, "s3-iris-0123") == (
        "arn:aws:states:us-east-1:111122223333:execution:iris-mlops-training:s3-iris-0123"
    )
    with pytest.raises(logic.ConfigurationError, match="not a state machine ARN"):
        logic.execution_arn("arn:aws:sns:us-east-1:111122223333:topic", "x")


# --- one execution at a time -------------------------------------------------------------------


def start(fakes: Fakes) -> logic.TriggerResult:
    return logic.start_run(fakes.clients().stepfunctions, CONFIG, JOB)


def test_start_run_starts_when_idle() -> None:
    fakes = Fakes(MACHINE)
    result = start(fakes)
    assert result == {
        "status": "started",
        "execution_name": OWN_NAME,
        "execution_arn": OWN_ARN,
        "reason": f"started for {BASE_URI}",
    }
    assert fakes.sfn.calls == [
        ("DescribeExecution", {"executionArn": OWN_ARN}),
        ("ListExecutions", {"stateMachineArn": MACHINE, "statusFilter": "RUNNING"}),
        ("StartExecution", {"stateMachineArn": MACHINE, "name": OWN_NAME, "input": JOB.input}),
    ]


def test_start_run_waits_while_another_execution_runs() -> None:
    fakes = Fakes(MACHINE)
    fakes.sfn.add("manual-run")
    result = start(fakes)
    assert result == {
        "status": "waiting",
        "execution_name": OWN_NAME,
        "execution_arn": None,
        "reason": f"execution manual-run is running; {BASE_URI} waits in the queue and starts "
        "when it has ended",
    }
    assert fakes.sfn.started() == []


def test_start_run_looks_for_a_running_execution_on_every_page() -> None:
    fakes = Fakes(MACHINE)  # one execution a page
    fakes.sfn.add("manual-run")
    fakes.sfn.add(OWN_NAME, "RUNNING", JOB.input)
    fakes.sfn.hidden.add(OWN_NAME)  # listed first (the newest), not described yet
    assert start(fakes)["status"] == "waiting"
    assert len(fakes.sfn.called("ListExecutions")) == 2


def test_start_run_own_run_still_running_keeps_the_lock() -> None:
    fakes = Fakes(MACHINE)
    fakes.sfn.add(OWN_NAME, "RUNNING", JOB.input)
    result = start(fakes)
    assert (result["status"], result["execution_arn"]) == ("running", OWN_ARN)
    assert [name for name, _ in fakes.sfn.calls] == ["DescribeExecution"]


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"])
def test_start_run_own_run_ended_is_done(status: str) -> None:
    fakes = Fakes(MACHINE)
    fakes.sfn.add(OWN_NAME, status, JOB.input)
    result = start(fakes)
    assert (result["status"], result["execution_arn"]) == ("done", OWN_ARN)
    assert f"has ended ({status})" in result["reason"]
    assert fakes.sfn.started() == []


def test_start_run_ignores_itself_in_a_lagging_list() -> None:
    # StartExecution is idempotent for a running execution of the same name and input: a
    # message whose run ListExecutions shows before DescribeExecution does is "started" again.
    fakes = Fakes(MACHINE)
    fakes.sfn.add(OWN_NAME, "RUNNING", JOB.input)
    fakes.sfn.hidden.add(OWN_NAME)
    result = start(fakes)
    assert (result["status"], result["execution_arn"]) == ("started", OWN_ARN)
    assert len(fakes.sfn.executions) == 1


def test_start_run_lost_race_is_done_not_a_second_run() -> None:
    # Another invocation started and ended the run between DescribeExecution and StartExecution.
    fakes = Fakes(MACHINE)
    fakes.sfn.add(OWN_NAME, "SUCCEEDED", JOB.input)
    fakes.sfn.hidden.add(OWN_NAME)
    result = start(fakes)
    assert result["status"] == "done" and "already exists" in result["reason"]
    assert len(fakes.sfn.started()) == 1 and len(fakes.sfn.executions) == 1


@pytest.mark.parametrize("operation", ["DescribeExecution", "ListExecutions", "StartExecution"])
def test_start_run_propagates_other_aws_errors(operation: str) -> None:
    fakes = Fakes(MACHINE)
    fakes.sfn.fail(operation, "AccessDeniedException")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        start(fakes)


# --- the queue: a batch of records -------------------------------------------------------------


def test_the_sqs_fixture_carries_the_s3_event() -> None:
    [record] = load_event("sqs_fifo_s3_upload")["Records"]
    assert json.loads(record["body"]) == load_event("s3_object_created")
    assert record["attributes"]["MessageGroupId"] == "uploads"


def test_handle_batch_starts_and_keeps_the_message_of_the_run() -> None:
    fakes = Fakes(MACHINE)
    response = logic.handle_batch(load_event("sqs_fifo_s3_upload"), fakes.clients(), CONFIG)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5"}]
    }
    assert fakes.sfn.started() == [OWN_NAME]
    assert fakes.sqs.called("ChangeMessageVisibility") == [
        {
            "QueueUrl": QUEUE_URL,
            "ReceiptHandle": "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw...",
            "VisibilityTimeout": 60,
        }
    ]
    assert fakes.sns.calls == []


def test_handle_batch_deletes_the_message_when_its_run_has_ended() -> None:
    fakes = Fakes(MACHINE)
    fakes.sfn.add(OWN_NAME, "SUCCEEDED", JOB.input)
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), CONFIG
    )
    assert response == {"batchItemFailures": []}
    assert fakes.sfn.started() == [] and fakes.sqs.calls == []


def test_handle_batch_leaves_a_waiting_message_in_the_queue() -> None:
    fakes = Fakes(MACHINE)
    fakes.sfn.add("manual-run")
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), CONFIG
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert fakes.sfn.started() == []
    assert [c["ReceiptHandle"] for c in fakes.sqs.called("ChangeMessageVisibility")] == ["handle-0"]


def test_handle_batch_keeps_fifo_order_after_the_first_kept_message() -> None:
    second = load_event("s3_object_created_versioned")
    ignored = load_event("s3_object_created_empty")
    fakes = Fakes(MACHINE)
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created"), ignored, second), fakes.clients(), CONFIG
    )
    # m0 started; m1 and m2 are not processed at all (the Lambda guide's FIFO rule).
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ("m0", "m1", "m2")]}
    assert len(fakes.sfn.started()) == 1 and fakes.sns.calls == []
    assert [c["ReceiptHandle"] for c in fakes.sqs.called("ChangeMessageVisibility")] == ["handle-0"]


def test_handle_batch_without_a_retry_delay_relies_on_the_visibility_timeout() -> None:
    fakes = Fakes(MACHINE)
    config = logic.Config(state_machine_arn=MACHINE, notification_topic_arn=TOPIC)
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), config
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert fakes.sqs.calls == []


def test_handle_batch_still_keeps_the_message_when_visibility_cannot_change() -> None:
    fakes = Fakes(MACHINE)
    fakes.sqs.fail("ChangeMessageVisibility", "ReceiptHandleIsInvalid")
    response = logic.handle_batch(
        sqs_event(load_event("s3_object_created")), fakes.clients(), CONFIG
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"detail": {}})])
def test_handle_batch_rejects_a_message_it_does_not_understand(body: str) -> None:
    fakes = Fakes(MACHINE)
    response = logic.handle_batch(sqs_event(body), fakes.clients(), CONFIG)
    # Deleted, not retried: in one FIFO group a poison message would hold up every upload.
    assert response == {"batchItemFailures": []}
    assert fakes.sfn.calls == []
    [published] = fakes.sns.called("Publish")
    assert published["Subject"] == "Upload not run (rejected): m0"
    [message] = fakes.sns.messages()
    assert (message["status"], message["request"]) == ("rejected", "m0")
    assert "message m0 is not understood" in message["reason"]


def test_handle_batch_fails_the_invocation_when_the_notification_cannot_be_sent() -> None:
    fakes = Fakes(MACHINE)
    fakes.sns.fail("Publish", "AuthorizationError", status=403)
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
    with pytest.raises(MalformedEventError):
        logic.handle_batch(event, Fakes(MACHINE).clients(), CONFIG)
    assert json.loads(caplog.records[-1].getMessage())["message"] == "malformed event"


def test_handle_batch_logs_one_json_line_per_decision(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=logic.LOGGER.name)
    logic.handle_batch(sqs_event(load_event("s3_object_created")), Fakes(MACHINE).clients(), CONFIG)
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
    assert len(subject) < 100 and subject.endswith("...")
    assert all(" " <= c <= "~" for c in subject)


# --- packaging: the modules at the zip root ----------------------------------------------------


def _run_from_zip(
    tmp_path: Path, env: dict[str, str], event: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    bundle = tmp_path / "trigger.zip"
    bundle.write_bytes(build.zip_bytes(build.TRIGGER_FILES))  # what make build ships
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


@pytest.mark.parametrize(
    "environ",
    [REQUIRED_ENV, {**REQUIRED_ENV, "REQUESTS": "deployments", "ENDPOINT_NAME": "iris-endpoint"}],
)
def test_handler_runs_from_the_zip_root(tmp_path: Path, environ: dict[str, str]) -> None:
    # Every module imports from the zip root and the handler decides: an event that is not from
    # the queue is refused by name, before any AWS call.
    assert set(build.TRIGGER_FILES) >= {"handler.py", "logic.py", "jobs.py", "uploads.py"}
    done = _run_from_zip(tmp_path, environ, load_event("s3_object_created"))
    assert done.returncode != 0
    assert "MalformedEventError: event has no Records" in done.stderr
    assert "ImportError" not in done.stderr and "ModuleNotFoundError" not in done.stderr


def test_handler_without_state_machine_arn_fails_clearly(tmp_path: Path) -> None:
    done = _run_from_zip(tmp_path, {}, load_event("sqs_fifo_s3_upload"))
    assert done.returncode != 0
    assert "ConfigurationError: environment variable STATE_MACHINE_ARN is not set" in done.stderr


# --- terraform/trigger.tf: what the handler relies on ------------------------------------------

HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def trigger_tf(kind: str, type_: str, name: str) -> dict[str, Any]:
    """``<kind> "<type_>" "<name>"`` of terraform/trigger.tf (kind "module": type_ is ignored)."""
    with (ROOT / "terraform" / "trigger.tf").open() as handle:
        parsed = hcl2.load(handle, serialization_options=HCL)
    for block in parsed[kind]:
        body = block.get(name) if kind == "module" else block.get(type_, {}).get(name)
        if body is not None:
            return dict(body)
    raise AssertionError(f"no {kind} {type_} {name} in terraform/trigger.tf")


def request_queues() -> dict[str, dict[str, Any]]:
    with (ROOT / "terraform" / "trigger.tf").open() as handle:
        parsed = hcl2.load(handle, serialization_options=HCL)
    [queues] = [b["request_queues"] for b in parsed["locals"] if "request_queues" in b]
    return dict(queues)


def test_no_reserved_concurrency_anywhere_in_terraform() -> None:
    # A new account's quota is 10 with 10 kept unreserved: reserving any fails the apply.
    for path in sorted((ROOT / "terraform").rglob("*.tf")):
        assert "reserved_concurrent_executions" not in path.read_text(encoding="utf-8"), path


def test_one_function_per_queue_each_reading_its_queue_one_message_at_a_time() -> None:
    assert set(request_queues()) == {logic.UPLOADS, logic.DEPLOYMENTS}
    queue = trigger_tf("resource", "aws_sqs_queue", "request")
    assert queue["for_each"] == "${local.request_queues}"
    assert (queue["fifo_queue"], queue["content_based_deduplication"]) == (True, True)
    assert "aws_sqs_queue.request_dlq[each.key].arn" in queue["redrive_policy"]
    mapping = trigger_tf("resource", "aws_lambda_event_source_mapping", "trigger")
    assert mapping["for_each"] == "${local.request_queues}"
    assert mapping["event_source_arn"] == "${aws_sqs_queue.request[each.key].arn}"
    assert mapping["function_name"] == "${module.trigger[each.key].function_arn}"
    assert (mapping["batch_size"], mapping["function_response_types"]) == (
        1,
        ["ReportBatchItemFailures"],
    )


def test_uploads_reach_the_uploads_queue_in_one_message_group() -> None:
    target = trigger_tf("resource", "aws_cloudwatch_event_target", "trigger")
    assert target["arn"] == '${aws_sqs_queue.request["uploads"].arn}'
    assert target["sqs_target"] == [{"message_group_id": "uploads"}]
    assert request_queues()["uploads"]["senders"] == ["${local.trigger_rule_arn}"]


def test_terraform_sets_exactly_the_environment_the_handler_reads_for_both_functions() -> None:
    module = trigger_tf("module", "", "trigger")
    assert module["for_each"] == "${local.request_queues}"
    variables = module["environment_variables"]
    read_names = {
        value for name, value in vars(logic).items() if name.endswith("_ENV") and name.isupper()
    }
    assert set(variables) == read_names
    assert variables["REQUESTS"] == "${each.key}"
    for key in request_queues():
        # Each instance's environment, with a stand-in for every value Terraform computes.
        environ = {name: re.sub(r"\$\{[^}]*\}", "x", value) for name, value in variables.items()}
        environ.update(REQUIRED_ENV, REQUESTS=key, RETRY_DELAY_SECONDS="5")
        assert logic.load_config(environ).requests == key
