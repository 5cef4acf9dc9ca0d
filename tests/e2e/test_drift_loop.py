"""The monitor-and-retrain loop on the local stack: real Terraform, a real model deployed by the
deployment machine on its approval event, its traffic captured by the endpoint, the monitoring
machine's drift job, its alarm, and the training run a drift requests.

The model is trained and evaluated by the project's own ML code (ml/prepare.py, ml/train.py,
ml/evaluate.py: what the pipeline's steps run) and registered Approved as the training machine
registers one; its approval event deploys it. One emulator, one apply and one deployed model
serve the module; the tests run in file order and each sends more traffic into the same hour, so
the window each run judges holds what came before: too few records first, then plenty of
unshifted traffic, then a shifted feature (most of the window), then the same drift with
``retrain_on_drift`` applied.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from emulator.process import Emulator
from harness import terraform_local
from tests.helpers.monitoring import register_served_model, traffic_bodies

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
VARIABLES: dict[str, Any] = {
    "max_tuning_jobs": 1,
    "parallel_tuning_jobs": 1,
    "data_capture_percent": 100,
    "monitoring_enabled": False,  # runs are started here, as make monitor starts them
}
SHIFTED = "PetalLength"
DEADLINE = 900.0


class Loop:
    """The applied stack and what the tests need of it."""

    def __init__(self, emulator: Emulator, workdir: Path, outputs: dict[str, Any]) -> None:
        self.emulator, self.workdir, self.outputs = emulator, workdir, outputs
        self.inbox = self.subscribe()

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.emulator.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 3}),
        )

    def subscribe(self) -> str:
        sqs = self.client("sqs")
        url = str(sqs.create_queue(QueueName="drift-notifications")["QueueUrl"])
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.client("sns").subscribe(
            TopicArn=self.outputs["notification_topic_arn"], Protocol="sqs", Endpoint=arn
        )
        return url

    def notifications(self) -> list[dict[str, Any]]:
        sqs, found = self.client("sqs"), []
        while batch := sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                envelope = json.loads(message["Body"])
                found.append({"subject": envelope.get("Subject"), "message": envelope["Message"]})
                sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=message["ReceiptHandle"])
        return found

    def wait(self, arn: str, timeout: float = DEADLINE) -> dict[str, Any]:
        sfn, deadline = self.client("stepfunctions"), time.monotonic() + timeout
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{arn} still RUNNING after {timeout:.0f} s"
            time.sleep(2)
        return dict(described)

    def executions(self, machine: str) -> list[dict[str, Any]]:
        arn = self.outputs[f"{machine}_state_machine_arn"]
        listed = self.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
        return list(listed)

    def monitor(self, execution_input: dict[str, Any] | None = None) -> dict[str, Any]:
        """A monitoring run now, as ``make monitor`` starts it; its outcome."""
        arn = self.client("stepfunctions").start_execution(
            stateMachineArn=self.outputs["monitoring_state_machine_arn"],
            input=json.dumps(execution_input or {}),
        )["executionArn"]
        described = self.wait(arn, 300)
        assert described["status"] == "SUCCEEDED", described.get("cause")
        return dict(json.loads(described["output"])["outcome"])

    def send(self, rows: int, shift: str = "") -> None:
        """``make traffic ROWS=<rows> SHIFT=<shift>``: rows of the serving model's test split."""
        runtime = self.client("sagemaker-runtime")
        for body in traffic_bodies(rows, shift, self.outputs["bucket_name"]):
            runtime.invoke_endpoint(
                EndpointName=self.outputs["endpoint_name"], ContentType="text/csv", Body=body
            )

    def drift_alarm(self) -> dict[str, Any]:
        [name] = [n for n in self.outputs["alarm_names"] if n.endswith("-drift-detected")]
        [alarm] = self.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return dict(alarm)


def deployed(loop: Loop) -> None:
    """The model registered Approved: its approval event deploys it (deployments queue)."""
    register_served_model(
        loop.client("s3"),
        loop.client("sagemaker"),
        loop.outputs["bucket_name"],
        loop.outputs["model_package_group_name"],
    )
    deadline = time.monotonic() + DEADLINE
    while not [e for e in loop.executions("deployment") if e["status"] == "SUCCEEDED"]:
        failed = [e for e in loop.executions("deployment") if e["status"] == "FAILED"]
        assert not failed, loop.wait(failed[0]["executionArn"]).get("cause")
        assert time.monotonic() < deadline, "the approved model was never deployed"
        time.sleep(2)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    workdir = tmp_path_factory.mktemp("drift-loop")
    with Emulator.start(
        log_path=workdir / "emulator.log", pipeline_workdir=workdir / "pipelines"
    ) as emulator:
        outputs = terraform_local.apply(emulator, workdir / "terraform", VARIABLES)
        stack = Loop(emulator, workdir, outputs)
        deployed(stack)
        stack.notifications()
        yield stack


def test_too_few_records_is_insufficient_data_and_no_alarm(loop: Loop) -> None:
    loop.send(50, f"{SHIFTED}=3")

    outcome = loop.monitor()

    assert outcome["verdict"] == "insufficient-data"
    assert outcome["counts"]["rows"] < 200
    assert loop.drift_alarm()["StateValue"] != "ALARM"
    subjects = [n["subject"] for n in loop.notifications()]
    assert subjects == [f"Drift not judged on {loop.outputs['endpoint_name']}: insufficient data"]


def test_unshifted_traffic_is_no_drift(loop: Loop) -> None:
    loop.send(400)

    outcome = loop.monitor()

    assert (outcome["verdict"], outcome["drifted_features"]) == ("no-drift", [])
    assert loop.drift_alarm()["StateValue"] != "ALARM"


def test_a_shifted_feature_is_drift_with_the_alarm_and_a_notification(loop: Loop) -> None:
    loop.send(1500, f"{SHIFTED}=3")

    outcome = loop.monitor()

    assert outcome["verdict"] == "drift"
    assert SHIFTED in outcome["drifted_features"]
    assert outcome["retraining"]["requested"] is False
    alarm = loop.drift_alarm()
    assert alarm["StateValue"] == "ALARM"
    notes = loop.notifications()
    drift = [n for n in notes if str(n["subject"]).startswith("Drift detected on ")]
    assert len(drift) == 1 and SHIFTED in drift[0]["subject"]
    assert "retrain_on_drift is off" in json.loads(drift[0]["message"])["summary"]
    assert any(alarm["AlarmName"] in n["message"] for n in notes if n not in drift)


def test_with_retrain_on_drift_exactly_one_training_run_starts(loop: Loop) -> None:
    terraform_local.apply(
        loop.emulator, loop.workdir / "terraform", {**VARIABLES, "retrain_on_drift": True}
    )
    before = {e["executionArn"] for e in loop.executions("training")}

    outcome = loop.monitor()

    assert outcome["verdict"] == "drift"
    assert outcome["retraining"]["requested"] is True
    deadline = time.monotonic() + 120
    while not (
        started := [e for e in loop.executions("training") if e["executionArn"] not in before]
    ):
        assert time.monotonic() < deadline, "the training request started no run"
        time.sleep(2)
    time.sleep(20)  # the queue and its trigger have had time to start a second one, if any
    started = [e for e in loop.executions("training") if e["executionArn"] not in before]
    assert len(started) == 1
    run_input = json.loads(
        loop.client("stepfunctions").describe_execution(executionArn=started[0]["executionArn"])[
            "input"
        ]
    )
    assert run_input == {"data_uri": loop.outputs["bucket_data_uri"]}
