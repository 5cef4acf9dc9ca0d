"""Approvals and deployments on the real Terraform: the acceptance of the two machines.

One emulator and one `terraform apply` of the real terraform/ (auto-approval allowed, one tuning
job, a 5 s baking period) serve the module; the tests run in file order, each starting from what
the one before left:

    a. deploy=false with auto-approval ─► registered Approved, never deployed
    b. one approval delivered twice ─► one deployment
    c. two approvals 0.2 s apart ─► the later package serves, both attempts recorded;
       a failed attempt ─► recorded, and its notification names the package
    d. 100 classes through the upload path ─► both machines succeed, every state's data < 256 KiB

Everything starts as it does on AWS: a training request on the uploads queue (as `make start`
sends it) or an upload; an approval with UpdateModelPackage, whose "Model Package State Change"
event the emulator emits onto the bus, from where the Terraform rule sends it to the deployments
queue.
"""

from __future__ import annotations

import io
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import s3_layout, training_request
from harness import demo
from harness.console import Console
from harness.follow import history
from harness.stack import LocalStack, start_stack
from ops import deployments, executions, packages
from ops.endpoint import wait_until_gone
from tests.helpers.events import load_event

pytestmark = pytest.mark.e2e

#: Auto-approval allowed (local.tfvars.json allows it too: said here, as the tests rely on it);
#: one tuning trial per run; deploy=true by default, so only a run's own deploy=false opts out.
VARIABLES = {**demo.demo_variables(deploy=True, tuning_jobs=1), "allow_auto_approve": True}
RUN_TIMEOUT = 900.0
SETTLE_TIMEOUT = 600.0
#: Step Functions' quota on a state's input or output: 256 KiB of UTF-8.
STATE_DATA_LIMIT = 262_144
CLASSES = 100
#: Rows per class: the 60/20/20 stratified split puts at least 8 in the test split, and with
#: multi:softprob over 100 classes a leaf needs ~50 training rows (hessian 2p(1-p), p ~ 1/100)
#: to outweigh min_child_weight=1: ten classes share each value of a digit feature.
ROWS_PER_CLASS = 40


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local_stack = start_stack(tmp_path_factory.mktemp("approvals"), VARIABLES, Console())
    try:
        yield local_stack
    finally:
        local_stack.emulator.stop()


@pytest.fixture(scope="module")
def notifications(stack: LocalStack) -> str:
    """An SQS queue subscribed to the project's topic: what the topic published."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = str(sqs.create_queue(QueueName="e2e-approvals-notifications")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=stack.outputs["notification_topic_arn"], Protocol="sqs", Endpoint=arn)
    return url


# --------------------------------------------------------------------------- helpers


def published(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    """What the topic published since the last call: subject and the message's fields."""
    sqs = stack.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            envelope = json.loads(message["Body"])
            found.append({"subject": envelope.get("Subject"), **json.loads(envelope["Message"])})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def ended(stack: LocalStack, arn: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
    """DescribeExecution once ``arn`` exists and has ended."""
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = executions.describe(sfn, arn)
        if described is not None and described["status"] != "RUNNING":
            return described
        time.sleep(1)
    raise AssertionError(f"{arn} had not ended after {timeout:.0f} s")


def train(stack: LocalStack, execution_input: dict[str, Any], reason: str) -> dict[str, Any]:
    """A training request on the uploads queue, as `make start` sends it: the run, ended."""
    request_id = str(uuid.uuid4())
    stack.client("sqs").send_message(
        QueueUrl=stack.outputs["uploads_queue_url"],
        MessageBody=training_request.message(
            execution_input, reason=reason, requested_by="e2e", request_id=request_id
        ),
        MessageGroupId=training_request.UPLOADS_GROUP,
        MessageDeduplicationId=request_id,
    )
    name = training_request.execution_name(reason, request_id)
    return ended(stack, executions.execution_arn(stack.machine("training"), name))


def idle(stack: LocalStack) -> bool:
    """Both request queues empty (in flight included) and no execution of either machine runs."""
    sqs, sfn = stack.client("sqs"), stack.client("stepfunctions")
    for queue in ("uploads_queue_url", "deployments_queue_url"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.outputs[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if any(int(value) for value in attributes.values()):
            return False
    return not any(
        sfn.list_executions(stateMachineArn=stack.machine(m), statusFilter="RUNNING")["executions"]
        for m in ("training", "deployment")
    )


def settle(stack: LocalStack, timeout: float = SETTLE_TIMEOUT) -> None:
    """Until every request has been handled and every execution has ended (seen twice, 2 s
    apart: a message between a queue and its execution is not missed)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        quiet = quiet + 1 if idle(stack) else 0
        if quiet >= 2:
            return
        time.sleep(2)
    raise AssertionError(f"requests or executions still pending after {timeout:.0f} s")


def deployment_runs(stack: LocalStack) -> list[dict[str, Any]]:
    """Every execution of the deployment machine, described, oldest first."""
    sfn = stack.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=stack.machine("deployment"))["executions"]
    described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
    return sorted(described, key=lambda d: d["startDate"])


def runs_for(stack: LocalStack, package_arn: str) -> list[dict[str, Any]]:
    return [
        run
        for run in deployment_runs(stack)
        if json.loads(run["input"]).get("model_package_arn") == package_arn
    ]


def outcome(run: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(run.get("output") or "{}").get("outcome") or {})


def history_of(stack: LocalStack, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The states ``run`` entered, as history events."""
    events = history(stack.client("stepfunctions"), run["executionArn"])
    return [e for e in events if e.get("stateEnteredEventDetails")]


def describe_package(stack: LocalStack, arn: str) -> dict[str, Any]:
    return dict(stack.client("sagemaker").describe_model_package(ModelPackageName=arn))


def approve(stack: LocalStack, arn: str) -> None:
    """A person's approval: the registry emits its event; the Terraform rule queues it."""
    stack.client("sagemaker").update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="e2e approval"
    )


def register_again(stack: LocalStack, like: str, model_data_url: str | None = None) -> str:
    """A second registration of ``like``'s model (or of another artifact) in the same group,
    waiting for approval: another version, with the same evaluation behind it."""
    package = describe_package(stack, like)
    spec = json.loads(json.dumps(package["InferenceSpecification"]))
    if model_data_url is not None:
        spec["Containers"][0]["ModelDataUrl"] = model_data_url
    created = stack.client("sagemaker").create_model_package(
        ModelPackageGroupName=package["ModelPackageGroupName"],
        ModelPackageDescription=f"e2e: registered again from {like}",
        InferenceSpecification=spec,
        ModelMetrics=package["ModelMetrics"],
        CustomerMetadataProperties=package["CustomerMetadataProperties"],
        ModelApprovalStatus="PendingManualApproval",
    )
    return str(created["ModelPackageArn"])


def delivered_copy(package: dict[str, Any]) -> dict[str, Any]:
    """The package's Approved event as EventBridge delivers it to an SQS target, with an id of
    its own: SageMaker "may send multiple events to EventBridge for each state change"."""
    event = load_event("sagemaker_model_package_approved")
    arn = str(package["ModelPackageArn"])
    _, _, _, region, account, _ = arn.split(":", 5)
    created = package["CreationTime"]
    event.update(
        id=str(uuid.uuid4()),
        account=account,
        region=region,
        time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[arn],
    )
    event["detail"] = {
        "ModelPackageName": f"{package['ModelPackageGroupName']}/{package['ModelPackageVersion']}",
        "ModelPackageGroupName": package["ModelPackageGroupName"],
        "ModelPackageVersion": package["ModelPackageVersion"],
        "ModelPackageArn": arn,
        "CreationTime": int(created.timestamp() * 1000),
        "InferenceSpecification": package["InferenceSpecification"],
        "ModelPackageStatus": package["ModelPackageStatus"],
        "ModelApprovalStatus": "Approved",
    }
    return event


def trigger_decisions(stack: LocalStack, queue: str = "deployments") -> list[dict[str, Any]]:
    """The decisions the trigger of ``queue`` logged, one JSON line per message handled
    (lambdas/trigger/logic.py ``log_decision``), oldest first."""
    function = str(stack.outputs["trigger_function_arns"][queue]).rsplit(":", 1)[-1]
    logs = stack.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{function}"}
    decisions = []
    while True:
        page = logs.filter_log_events(**kwargs)
        for event in page["events"]:
            text = str(event["message"])
            try:
                record = json.loads(text[text.index("{") :])
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("message") == "trigger decision":
                decisions.append(record)
        if not page.get("nextToken"):
            return decisions
        kwargs["nextToken"] = page["nextToken"]


def serving(stack: LocalStack) -> str | None:
    return packages.serving(stack.client("sagemaker"), stack.outputs["endpoint_name"])


def records(stack: LocalStack) -> list[dict[str, Any]]:
    """Every deployment record of the endpoint, each checked against the one layout."""
    s3, bucket = stack.client("s3"), stack.outputs["bucket_name"]
    endpoint = stack.outputs["endpoint_name"]
    listed = s3.list_objects_v2(
        Bucket=bucket, Prefix=s3_layout.deployment_records_prefix(endpoint)
    ).get("Contents", [])
    found = []
    for item in listed:
        record = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        assert item["Key"] == s3_layout.deployment_record_key(
            endpoint, record["started"], record["execution"]
        ), item["Key"]
        found.append(record)
    return found


def version(arn: str) -> str:
    return "v" + arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Largest:
    size: int
    where: str


def largest_state_data(events: list[dict[str, Any]]) -> Largest:
    """The largest input or output any state, task or execution event carries (UTF-8 bytes)."""
    largest = Largest(0, "nothing")
    state = ""
    for event in events:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            state = str(details.get("name") or state)
            for field in ("input", "output"):
                text = details.get(field)
                size = len(text.encode("utf-8")) if isinstance(text, str) else 0
                if size > largest.size:
                    largest = Largest(size, f"{event['type']} {state} {field}")
    return largest


def hundred_classes(path: Path) -> None:
    """A CSV of 100 classes: class k's rows sit near (k // 10, k % 10) on two features, with a
    third feature of pure noise; the label column last."""
    rng = random.Random(100)
    lines = ["tens,units,noise,label"]
    for k in range(CLASSES):
        tens, units = divmod(k, 10)
        lines += [
            f"{tens + rng.gauss(0, 0.12):.4f},{units + rng.gauss(0, 0.12):.4f},"
            f"{rng.gauss(0, 1):.4f},class-{k:02d}"
            for _ in range(ROWS_PER_CLASS)
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- the tests


@pytest.mark.timeout(1800)
def test_deploy_false_with_auto_approval_registers_approved_and_deploys_nothing(
    stack: LocalStack, notifications: str
) -> None:
    """Guards: the old single machine deployed on the Approved event despite the run's
    deploy=false (auto-approval made the registry's event start the deploy path)."""
    run = train(stack, {"deploy": False, "auto_approve": True}, reason="deploy-false")

    assert run["status"] == "SUCCEEDED", (run.get("error"), run.get("cause"))
    registered = outcome(run)
    assert (registered["approval_status"], registered["deploy"]) == ("Approved", False)
    arn = registered["model_package_arn"]
    package = describe_package(stack, arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"]["deploy"] == "false"

    settle(stack)  # the Approved event delivered and handled, every execution ended

    assert stack.client("sagemaker").list_endpoints()["Endpoints"] == []
    # The design: the approval still reaches the deployment machine, whose plan skips it.
    [skipped] = runs_for(stack, arn)
    assert skipped["name"] == deployments.approval_execution(stack.outputs, package)[0]
    assert skipped["status"] == "SUCCEEDED", (skipped.get("error"), skipped.get("cause"))
    assert outcome(skipped)["status"] == "SKIPPED"
    assert "with deploy=false: it is not deployed" in outcome(skipped)["reason"]
    steps = [e["stateEnteredEventDetails"]["name"] for e in history_of(stack, skipped)]
    assert "Skipped" in steps and "CreateModel" not in steps, steps
    assert records(stack) == [], "a skip is not a deployment attempt"
    subjects = [n["subject"] for n in published(stack, notifications)]
    assert f"Model registered: {version(arn)} (Approved)" in subjects, subjects
    assert f"Deployment skipped: {version(arn)}" in subjects, subjects


@pytest.mark.timeout(1200)
def test_the_same_approval_delivered_twice_deploys_once(
    stack: LocalStack, notifications: str
) -> None:
    """Guards: a duplicate Approved event started a second deployment, which failed with
    "Cannot update in-progress endpoint". SageMaker may emit several events for one state
    change and EventBridge delivers at least once, so the deployments queue can hold two
    messages, with two event ids, for one approval."""
    run = train(stack, {"deploy": True, "auto_approve": False}, reason="pending")
    assert run["status"] == "SUCCEEDED", (run.get("error"), run.get("cause"))
    arn = outcome(run)["model_package_arn"]
    assert describe_package(stack, arn)["ModelApprovalStatus"] == "PendingManualApproval"
    settle(stack)
    published(stack, notifications)

    approve(stack, arn)  # the emulator emits the registry's event ...
    copy = delivered_copy(describe_package(stack, arn))
    sent = stack.client("sqs").send_message(  # ... and EventBridge delivers it a second time
        QueueUrl=stack.outputs["deployments_queue_url"],
        MessageBody=json.dumps(copy),
        MessageGroupId=stack.outputs["endpoint_name"],  # as the Terraform target sets it
        MessageDeduplicationId=copy["id"],
    )
    settle(stack)

    [deployed] = runs_for(stack, arn)
    assert deployed["status"] == "SUCCEEDED", (deployed.get("error"), deployed.get("cause"))
    assert outcome(deployed)["status"] == "SUCCEEDED"
    failed = [r["name"] for r in deployment_runs(stack) if r["status"] != "SUCCEEDED"]
    assert failed == []
    assert serving(stack) == arn
    assert [r["model_package_arn"] for r in records(stack)] == [arn]
    # The copy was read as the same approval (its execution's name), not refused as malformed.
    [*_, last] = [d for d in trigger_decisions(stack) if d["message_id"] == sent["MessageId"]]
    assert (last["status"], last["execution_name"]) == ("done", deployed["name"]), last
    subjects = [n["subject"] for n in published(stack, notifications)]
    endpoint = stack.outputs["endpoint_name"]
    assert subjects.count(f"Model deployed: {version(arn)} on {endpoint}") == 1, subjects
    assert not [s for s in subjects if "not run" in s], subjects


@pytest.mark.timeout(1200)
def test_two_approvals_in_quick_succession_end_with_the_later_package_serving(
    stack: LocalStack,
) -> None:
    """Guards: approvals raced, and the earlier package kept serving (its deployment finished
    last); now the endpoint's deployments run one at a time, in approval order, and each
    attempt is recorded under deployments/<endpoint>/."""
    serving_before = serving(stack)
    assert serving_before is not None, "the test before left a package serving"
    earlier = register_again(stack, serving_before)
    later = register_again(stack, serving_before)

    approve(stack, earlier)
    time.sleep(0.2)
    approve(stack, later)
    settle(stack)

    assert serving(stack) == later
    [first] = runs_for(stack, earlier)
    [second] = runs_for(stack, later)
    for run in (first, second):
        assert run["status"] == "SUCCEEDED", (run["name"], run.get("error"), run.get("cause"))
        assert outcome(run)["status"] == "SUCCEEDED", outcome(run)
    assert first["stopDate"] <= second["startDate"], "one deployment of the endpoint at a time"
    attempts = {r["model_package_arn"]: r for r in records(stack)}
    assert attempts[earlier]["outcome"] == attempts[later]["outcome"] == "deployed"
    assert attempts[earlier]["execution"] == first["name"]
    assert attempts[later]["execution"] == second["name"]
    assert attempts[later]["previous_config"] == attempts[earlier]["endpoint_config"]


@pytest.mark.timeout(900)
def test_a_failed_attempt_is_recorded_and_its_notification_names_the_package(
    stack: LocalStack, notifications: str
) -> None:
    """Guards: a failed deployment left no record, or a notification that did not say which
    package failed. (tests/integration/test_deployment_machine.py covers each failure path at
    moto level; this is the same promise on the real Terraform: IAM, the notify Lambda, S3.)"""
    serving_before = serving(stack)
    assert serving_before is not None
    s3, bucket = stack.client("s3"), stack.outputs["bucket_name"]
    key = f"{s3_layout.MODELS}e2e-corrupt-{uuid.uuid4().hex[:8]}/output/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=b"this is not a gzipped tar archive")
    broken = register_again(stack, serving_before, model_data_url=f"s3://{bucket}/{key}")
    published(stack, notifications)

    approve(stack, broken)
    settle(stack)

    [run] = runs_for(stack, broken)
    assert (run["status"], run.get("error")) == ("FAILED", "DeploymentFailed"), run.get("cause")
    assert broken in (run.get("cause") or "")
    assert serving(stack) == serving_before, "the model that served before still serves"
    [attempt] = [r for r in records(stack) if r["execution"] == run["name"]]
    assert attempt["model_package_arn"] == broken and attempt["outcome"] != "deployed"
    [told] = [n for n in published(stack, notifications) if n.get("execution") == run["name"]]
    assert told["subject"].startswith(f"Deployment of {version(broken)} failed"), told
    assert told["model_package_arn"] == broken
    assert told["record"].endswith(f"-{run['name']}.json"), told


@pytest.mark.timeout(1800)
def test_a_hundred_classes_train_and_deploy_within_the_state_data_limit(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Guards: the whole evaluation report travelled in the state data and exceeded Step
    Functions' 256 KiB at about 90 classes. `make demo` on a 100-class CSV: the upload starts
    the run, its approval the deployment, and no state's input or output comes near the limit."""
    settle(stack)
    sagemaker, endpoint = stack.client("sagemaker"), stack.outputs["endpoint_name"]
    sagemaker.delete_endpoint(EndpointName=endpoint)  # as from an empty account: no champion
    wait_until_gone(sagemaker, endpoint, timeout=120)
    data = tmp_path / "hundred.csv"
    hundred_classes(data)

    printed = io.StringIO()
    result = demo.run_once(stack, data, Console(printed), {"label_column": "label"})

    assert result.status == "SUCCEEDED", (result.error, result.cause, printed.getvalue()[-3000:])
    assert result.execution_name.startswith("s3-"), "started by the upload"
    deployment = result.deployment
    assert deployment is not None, printed.getvalue()[-3000:]
    assert deployment.status == "SUCCEEDED", (deployment.error, deployment.cause)
    assert ((deployment.output or {}).get("outcome") or {}).get("status") == "SUCCEEDED"
    assert result.evaluation is not None
    assert len(result.evaluation["dataset_contract"]["class_names"]) == CLASSES
    assert result.prediction is not None and len(result.prediction["probabilities"]) == CLASSES
    for name, run in (("training", result), ("deployment", deployment)):
        largest = largest_state_data(run.history)
        with capsys.disabled():
            print(
                f"\n{name} {run.execution_name}: largest state data {largest.size} bytes "
                f"({largest.where})"
            )
        assert largest.size < STATE_DATA_LIMIT, (name, largest)
