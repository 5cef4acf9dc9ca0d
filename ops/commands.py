"""The operations: each takes ready boto3 clients and plain values, and returns data.

No printing and no client creation here (``ops.cli`` does both; ``ops.render`` formats), so the
tests call these directly against moto or a fake client.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from contracts import evaluation as reports
from contracts import execution_input as input_schema
from ops.errors import ConfigError, OperationError

APPROVED = "Approved"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
NOT_FOUND_CODES = frozenset(
    {"ValidationException", "ResourceNotFound", "ResourceNotFoundException"}
)


def is_not_found(err: ClientError) -> bool:
    """SageMaker reports a missing resource as a ValidationException 'Could not find ...'."""
    error = err.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return error.get("Code") in NOT_FOUND_CODES and (
        "could not find" in message or "not found" in message or "does not exist" in message
    )


def missing_endpoint(endpoint_name: str) -> OperationError:
    return OperationError(
        f"endpoint {endpoint_name} does not exist: deploy a model "
        "(make start DEPLOY=1 or make approve) first"
    )


# ----------------------------------------------------------------------------- start


def execution_name(now: dt.datetime, token: str | None = None) -> str:
    """``manual-<UTC timestamp>-<4 hex>``: sortable, and unique for two starts in a second."""
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"manual-{stamp}-{token or secrets.token_hex(2)}"


def execution_input(
    data_uri: str | None, deploy: bool, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Only the keys asked for: the state machine merges them over Terraform's defaults."""
    payload: dict[str, Any] = dict(settings or {})
    if data_uri:
        bucket, _, key = data_uri.removeprefix("s3://").partition("/")
        if not data_uri.startswith("s3://") or not bucket or not key:
            raise ConfigError(f"DATA must be an s3://bucket/key URI, not {data_uri!r}")
        payload["data_uri"] = data_uri
    if deploy:
        payload["deploy"] = True
    return payload


def parse_setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON (``3``, ``true``, ``0.9``), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"expected KEY=VALUE (e.g. max_tuning_jobs=4), got {text!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def check_execution_input(payload: Any, bucket: str, name: str) -> None:
    """Refuse what the state machine's CheckInput would refuse, with the same words, before
    StartExecution. Terraform's defaults live in the state machine, so a clash between a given
    setting and a default (parallel_tuning_jobs over max_tuning_jobs) is still the run's to find."""
    found = input_schema.problems(payload, bucket=bucket, execution_name=name)
    if found:
        raise ConfigError(input_schema.cause(found))


def start_execution(sfn: Any, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    return str(
        sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
        )["executionArn"]
    )


def wait_for_execution(
    sfn: Any,
    execution_arn: str,
    timeout: float,
    interval: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """``DescribeExecution`` once it is no longer RUNNING; OperationError past the deadline."""
    deadline = clock() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] in TERMINAL:
            return described
        if clock() >= deadline:
            raise OperationError(
                f"execution {execution_arn} is still {described['status']} after {timeout:.0f} s"
                " (it keeps running: follow it with `make status` / `make logs`)"
            )
        sleep(interval)


# ----------------------------------------------------------------------------- status


@dataclass
class Execution:
    name: str
    arn: str
    status: str
    started: dt.datetime
    stopped: dt.datetime | None = None
    error: str | None = None
    cause: str | None = None
    failed_state: str | None = None
    output: dict[str, Any] | None = None


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def failed_state(events: Iterable[dict[str, Any]]) -> str | None:
    """The state that failed: the one our failure branches record in ``$.failure.state``,
    else the last state entered before the execution failed."""
    last: str | None = None
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        if not entered:
            continue
        last = entered["name"]
        try:
            recorded = json.loads(entered.get("input") or "{}").get("failure", {}).get("state")
        except (json.JSONDecodeError, AttributeError):
            recorded = None
        if recorded:
            return str(recorded)
    return last


def latest_executions(sfn: Any, state_machine_arn: str, limit: int) -> list[Execution]:
    """The newest ``limit`` executions; failed ones carry error, cause and failing state,
    finished ones their output summary."""
    listed = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=limit)["executions"]
    listed.sort(key=lambda e: e["startDate"], reverse=True)
    found = []
    for item in listed[:limit]:
        execution = Execution(
            name=item["name"],
            arn=item["executionArn"],
            status=item["status"],
            started=item["startDate"],
            stopped=item.get("stopDate"),
        )
        if execution.status != "RUNNING":
            described = sfn.describe_execution(executionArn=execution.arn)
            execution.error = described.get("error")
            execution.cause = described.get("cause")
            if described.get("output"):
                try:
                    execution.output = json.loads(described["output"])
                except json.JSONDecodeError:
                    execution.output = None
        if execution.status == "FAILED":
            execution.failed_state = failed_state(history(sfn, execution.arn))
        found.append(execution)
    return found


# ----------------------------------------------------------------------------- upload queue

#: Terraform outputs naming the trigger's queues, with what each holds (one list, read by
#: ``make status`` and its tests).
UPLOAD_QUEUES: tuple[tuple[str, str], ...] = (
    ("trigger_queue_url", "uploads waiting for their run (FIFO)"),
    ("trigger_queue_dlq_url", "uploads the trigger gave up on"),
    ("trigger_dlq_url", "events EventBridge could not deliver"),
)
#: Only GetQueueAttributes: reading messages would hide them (visibility timeout) and so
#: disturb the queue it reports on (the running upload's message is the queue's lock).
QUEUE_ATTRIBUTES = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


@dataclass
class QueueDepth:
    name: str
    holds: str
    waiting: int | None  # ApproximateNumberOfMessages
    in_flight: int | None  # ApproximateNumberOfMessagesNotVisible (the upload being run)
    error: str | None = None


def queue_name(url: str) -> str:
    """``https://sqs.<region>.amazonaws.com/<account>/<name>`` -> ``<name>``."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def queue_depths(sqs: Any, outputs: Mapping[str, Any]) -> list[QueueDepth]:
    """Approximate depth of each upload queue the outputs name; a refused read says why."""
    depths = []
    for output, holds in UPLOAD_QUEUES:
        url = outputs.get(output)
        if not isinstance(url, str) or not url:
            continue
        try:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=list(QUEUE_ATTRIBUTES)
            )["Attributes"]
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "error")
            depths.append(
                QueueDepth(
                    queue_name(url),
                    holds,
                    None,
                    None,
                    f"{code}: needs sqs:GetQueueAttributes on this queue",
                )
            )
            continue
        depths.append(
            QueueDepth(
                queue_name(url),
                holds,
                int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            )
        )
    return depths


# ----------------------------------------------------------------------------- logs


def resolve_execution(sfn: Any, state_machine_arn: str, wanted: str | None) -> str | None:
    """An execution ARN from an ARN, a name, or (``None``) the latest execution."""
    if wanted and wanted.startswith("arn:"):
        return wanted
    if wanted:
        # execution ARN = state machine ARN with :stateMachine: -> :execution: plus :<name>
        return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{wanted}"
    listed = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=20)["executions"]
    if not listed:
        return None
    return str(max(listed, key=lambda e: e["startDate"])["executionArn"])


def log_group_of_state_machine(sfn: Any, state_machine_arn: str) -> str | None:
    """The CloudWatch log group the state machine logs to (Terraform configures one)."""
    described = sfn.describe_state_machine(stateMachineArn=state_machine_arn)
    for destination in described.get("loggingConfiguration", {}).get("destinations", []):
        arn = destination.get("cloudWatchLogsLogGroup", {}).get("logGroupArn", "")
        # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        _, marker, rest = arn.partition(":log-group:")
        if marker:
            return rest.removesuffix(":*")
    return None


def log_group_of_function(function_arn: str | None) -> str | None:
    """``arn:aws:lambda:<r>:<a>:function:<name>`` -> ``/aws/lambda/<name>``."""
    _, marker, rest = (function_arn or "").partition(":function:")
    return f"/aws/lambda/{rest.split(':')[0]}" if marker and rest else None


def recent_log_events(
    logs: Any, group: str, since: dt.datetime, limit: int
) -> list[dict[str, Any]] | None:
    """The newest ``limit`` events of ``group`` since ``since``; ``None`` if the group is absent."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "startTime": int(since.timestamp() * 1000),
    }
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events.extend(page.get("events", []))
            if not page.get("nextToken") or len(events) >= 10_000:
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    events.sort(key=lambda e: e.get("timestamp", 0))
    return events[-limit:]


# ----------------------------------------------------------------------------- models


@dataclass
class ModelPackage:
    arn: str
    version: int | None
    status: str
    approval: str
    created: dt.datetime
    accuracy: float | None = None
    f1: float | None = None
    execution: str | None = None
    evaluation_uri: str | None = None
    details: dict[str, Any] = field(default_factory=dict, repr=False)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def metric(report: dict[str, Any] | None, name: str) -> float | None:
    """``<block>.<name>.value`` of an evaluation report, from whichever metrics block it has
    (contracts.evaluation reads it); None when the report has no such number."""
    if not isinstance(report, dict):
        return None
    try:
        _, block = reports.metrics_block(report)
    except reports.ReportError:
        return None
    return reports.metric(block, name)


def f1_of(report: dict[str, Any] | None) -> float | None:
    """The report's F1: binary ``f1`` or multiclass ``weighted_f1``."""
    if not isinstance(report, dict):
        return None
    try:
        return reports.f1(report)
    except reports.ReportError:
        return None


def read_s3_json(s3: Any, uri: str) -> dict[str, Any] | None:
    """A JSON object from S3, or ``None`` when it is missing or unreadable (listing goes on)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        data = json.loads(body)
    except (ClientError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def package_summaries(sagemaker: Any, group: str) -> list[dict[str, Any]]:
    """The group's package summaries, newest first by CreationTime."""
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = sagemaker.list_model_packages(**kwargs)
        summaries.extend(page["ModelPackageSummaryList"])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return sorted(summaries, key=lambda s: s["CreationTime"], reverse=True)


def describe_package(sagemaker: Any, s3: Any, arn: str) -> ModelPackage:
    """One package with its metrics: accuracy from the metadata the state machine writes,
    weighted F1 (and accuracy, if absent there) from the attached evaluation report."""
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    metadata = described.get("CustomerMetadataProperties", {})
    uri = (
        described.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
    )
    package = ModelPackage(
        arn=arn,
        version=described.get("ModelPackageVersion"),
        status=described.get("ModelPackageStatus", "?"),
        approval=described.get("ModelApprovalStatus", "?"),
        created=described["CreationTime"],
        accuracy=_number(metadata.get("accuracy")),
        execution=metadata.get("sfn_execution"),
        evaluation_uri=uri,
        details=described,
    )
    if uri:
        report = read_s3_json(s3, uri)
        package.f1 = f1_of(report)
        if package.accuracy is None:
            package.accuracy = metric(report, "accuracy")
    return package


def list_models(sagemaker: Any, s3: Any, group: str, limit: int) -> list[ModelPackage]:
    try:
        summaries = package_summaries(sagemaker, group)
    except ClientError as err:
        if is_not_found(err):
            raise OperationError(
                f"model package group {group} does not exist: run `make deploy` first"
            ) from err
        raise
    return [describe_package(sagemaker, s3, s["ModelPackageArn"]) for s in summaries[:limit]]


# ----------------------------------------------------------------------------- approve


@dataclass
class Approval:
    arn: str
    version: int | None
    previous: str
    changed: bool


def approve(sagemaker: Any, group: str, package_arn: str | None, description: str) -> Approval:
    """Approve ``package_arn`` (or the group's newest package); already approved is a no-op."""
    if package_arn is None:
        summaries = package_summaries(sagemaker, group)
        if not summaries:
            raise OperationError(
                f"model package group {group} has no packages yet: run `make start` first"
            )
        package_arn = str(summaries[0]["ModelPackageArn"])
    try:
        described = sagemaker.describe_model_package(ModelPackageName=package_arn)
    except ClientError as err:
        if is_not_found(err):
            raise OperationError(f"model package {package_arn} does not exist") from err
        raise
    previous = described.get("ModelApprovalStatus", "?")
    version = described.get("ModelPackageVersion")
    if previous == APPROVED:
        return Approval(package_arn, version, previous, changed=False)
    sagemaker.update_model_package(
        ModelPackageArn=package_arn,
        ModelApprovalStatus=APPROVED,
        ApprovalDescription=description,
    )
    return Approval(package_arn, version, previous, changed=True)


# ----------------------------------------------------------------------------- predict


@dataclass(frozen=True)
class ServingContract:
    """What the endpoint's model was trained on: the dataset contract prepare.py derived, as
    the serving package's evaluation report carries it (``dataset_contract``), and the report's
    smoke rows (``smoke_test.body``: feature rows of the test split, no header)."""

    package_arn: str
    evaluation_uri: str
    label_column: str
    feature_columns: list[str]
    class_names: list[str]
    smoke_rows: list[str]

    @property
    def default_row(self) -> str:
        if not self.smoke_rows:
            raise OperationError(
                f"the evaluation report {self.evaluation_uri} has no smoke_test rows to "
                "predict by default: pass ROW (make predict ROW=...)"
            )
        return self.smoke_rows[0]


def _serving_package(sagemaker: Any, endpoint_name: str) -> str:
    """endpoint -> its config -> its model -> the model package the model was created from."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        if is_not_found(err):
            raise missing_endpoint(endpoint_name) from err
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model_name = config["ProductionVariants"][0]["ModelName"]
    model = sagemaker.describe_model(ModelName=model_name)
    containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
    package = next((c["ModelPackageName"] for c in containers if c.get("ModelPackageName")), None)
    if not package:
        raise OperationError(
            f"endpoint {endpoint_name} serves model {model_name}, which was not created from a "
            "model package: its class names (the package's evaluation report) are unknown"
        )
    return str(package)


def serving_contract(sagemaker: Any, s3: Any, endpoint_name: str) -> ServingContract:
    """The dataset contract of the package the endpoint serves (one home: the report the
    package's ModelMetrics names; the CLI keeps no column or class names of its own)."""
    package_arn = _serving_package(sagemaker, endpoint_name)
    described = sagemaker.describe_model_package(ModelPackageName=package_arn)
    uri = (
        described.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
    )
    if not uri:
        raise OperationError(
            f"model package {package_arn} has no ModelMetrics statistics: its class names are "
            "unknown (packages the state machine registers name their evaluation.json)"
        )
    report = read_s3_json(s3, uri)
    if report is None:
        raise OperationError(
            f"the evaluation report {uri} of model package {package_arn} is missing or not JSON: "
            "its class names are unknown"
        )
    return contract_of(report, package_arn, uri)


def contract_of(report: Mapping[str, Any], package_arn: str, uri: str) -> ServingContract:
    """The contract in an evaluation report, checked: a clear message beats a wrong label
    (contracts.evaluation reads the report)."""
    try:
        names = reports.class_names(report)
        features = reports.feature_columns(report)
    except reports.ReportError:
        raise OperationError(
            f"the evaluation report {uri} of model package {package_arn} has no "
            "dataset_contract with class_names and feature_columns (written by ml/evaluate.py "
            "from prepare.py's contract): retrain with the current pipeline"
        ) from None
    try:
        rows = reports.read_smoke_test(report).rows
    except reports.ReportError:
        rows = []  # make predict then asks for ROW
    return ServingContract(
        package_arn=package_arn,
        evaluation_uri=uri,
        label_column=str(reports.contract_of(report).get("label_column", "?")),
        feature_columns=features,
        class_names=names,
        smoke_rows=rows,
    )


def parse_row(text: str, features: Sequence[str]) -> str:
    """Validate one CSV row of the contract's features; returns the body to send (text/csv)."""
    values = [v.strip() for v in text.strip().split(",")]
    if len(values) != len(features):
        shown = ",".join(features)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."
        raise ConfigError(
            f"ROW needs {len(features)} comma-separated numbers ({shown}), "
            f"got {len(values)}: {text!r}"
        )
    for name, value in zip(features, values, strict=True):
        if _number(value) is None:
            raise ConfigError(f"ROW {name} must be a number, got {value!r}")
    return ",".join(values)


def parse_probabilities(body: bytes | str, num_classes: int) -> list[list[float]]:
    """The endpoint's answer as rows of class probabilities (JSON ``[[...]]`` or ``[...]``,
    or CSV lines, which the XGBoost container returns for ``Accept: text/csv``)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        data = [line.split(",") for line in text.strip().splitlines() if line.strip()]
    if isinstance(data, dict) and "predictions" in data:
        data = data["predictions"]
    if isinstance(data, list) and data and not isinstance(data[0], list):
        data = [data]
    rows: list[list[float]] = []
    for row in data if isinstance(data, list) else []:
        numbers = [_number(v) for v in row] if isinstance(row, list) else []
        if len(numbers) != num_classes or any(n is None for n in numbers):
            rows = []
            break
        rows.append([n for n in numbers if n is not None])
    if rows:
        return rows
    raise OperationError(
        f"the endpoint did not answer with {num_classes} class probabilities per row: "
        f"{text[:200]!r}"
    )


@dataclass
class Prediction:
    probabilities: list[float]
    class_names: list[str]

    @property
    def label(self) -> str:
        best = max(range(len(self.probabilities)), key=self.probabilities.__getitem__)
        return self.class_names[best]


def predict(
    sagemaker: Any, runtime: Any, endpoint_name: str, body: str, class_names: Sequence[str]
) -> list[Prediction]:
    """Invoke the endpoint (checked first: a clear message beats an opaque invoke error)."""
    status = endpoint_status(sagemaker, endpoint_name)
    if status is None:
        raise missing_endpoint(endpoint_name)
    if status != "InService":
        raise OperationError(f"endpoint {endpoint_name} is {status}, not InService: try later")
    try:
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            ContentType="text/csv",
            Accept="application/json",
            Body=body.encode("utf-8"),
        )
    except ClientError as err:
        if is_not_found(err):
            raise missing_endpoint(endpoint_name) from err
        raise
    rows = parse_probabilities(answer["Body"].read(), len(class_names))
    return [Prediction(row, list(class_names)) for row in rows]


# ----------------------------------------------------------------------------- endpoint-down


def endpoint_status(sagemaker: Any, endpoint_name: str) -> str | None:
    try:
        return str(sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"])
    except ClientError as err:
        if is_not_found(err):
            return None
        raise


@dataclass
class Teardown:
    endpoint: str | None = None
    endpoint_config: str | None = None
    models: list[str] = field(default_factory=list)


def endpoint_down(sagemaker: Any, endpoint_name: str) -> Teardown:
    """Delete the endpoint, its config and the config's models. An empty ``Teardown`` means
    there was no endpoint; pieces already gone are skipped, so a re-run finishes the job."""
    done = Teardown()
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as err:
        if is_not_found(err):
            return done
        raise
    config_name = described["EndpointConfigName"]
    models: list[str] = []
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        models = [v["ModelName"] for v in config.get("ProductionVariants", []) if "ModelName" in v]
    except ClientError as err:
        if not is_not_found(err):
            raise
        config_name = None
    if described.get("EndpointStatus") != "Deleting":
        sagemaker.delete_endpoint(EndpointName=endpoint_name)
    # DeleteEndpoint only starts the deletion (Deleting, then gone): wait, so "deleted" is true.
    wait_until_endpoint_gone(sagemaker, endpoint_name)
    done.endpoint = endpoint_name
    if config_name:
        _delete_if_present(sagemaker.delete_endpoint_config, EndpointConfigName=config_name)
        done.endpoint_config = config_name
    for model in models:
        if _delete_if_present(sagemaker.delete_model, ModelName=model):
            done.models.append(model)
    return done


ENDPOINT_DELETE_TIMEOUT_SECONDS = 900.0
ENDPOINT_DELETE_POLL_SECONDS = 2.0


def wait_until_endpoint_gone(
    sagemaker: Any,
    endpoint_name: str,
    timeout: float = ENDPOINT_DELETE_TIMEOUT_SECONDS,
    *,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Poll DescribeEndpoint until it answers "not found"; OperationError past ``timeout``."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + timeout
    while True:
        try:
            status = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"]
        except ClientError as err:
            if is_not_found(err):
                return
            raise
        if clock() >= deadline:
            raise OperationError(
                f"endpoint {endpoint_name} is still {status} after {timeout:.0f} s: run "
                "make endpoint-down again later (deletion continues on its own)"
            )
        sleep(ENDPOINT_DELETE_POLL_SECONDS)


def _delete_if_present(delete: Callable[..., Any], **kwargs: str) -> bool:
    try:
        delete(**kwargs)
    except ClientError as err:
        if is_not_found(err):
            return False
        raise
    return True


# ----------------------------------------------------------------------------- deployments

#: Where the state machine records each deployment attempt (statemachines/training_pipeline.py,
#: DEPLOYMENT_RECORD_KEY): one JSON object per attempt, keys sorting by start time.
DEPLOYMENTS_PREFIX = "deployments/{endpoint}/"
DEPLOYED = "deployed"


@dataclass
class DeploymentRecord:
    """One deployment attempt, as the state machine wrote it."""

    started: str
    ended: str
    model_package_arn: str
    model_package_version: str
    outcome: str
    detail: str
    endpoint_config: str
    previous_config: str
    execution: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> DeploymentRecord | None:
        try:
            return cls(**{name: str(data[name]) for name in cls.__dataclass_fields__})
        except (KeyError, TypeError):
            return None


def deployment_history(s3: Any, bucket: str, endpoint_name: str) -> list[DeploymentRecord]:
    """The endpoint's deployment attempts, newest first (unreadable records are skipped)."""
    prefix = DEPLOYMENTS_PREFIX.format(endpoint=endpoint_name)
    keys: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**kwargs)
        keys.extend(item["Key"] for item in page.get("Contents", []))
        if not page.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    records = []
    for key in keys:
        data = read_s3_json(s3, f"s3://{bucket}/{key}")
        record = DeploymentRecord.parse(data) if data else None
        if record is not None:
            records.append(record)
    return sorted(records, key=lambda r: (r.started, r.ended), reverse=True)


def serving_package(sagemaker: Any, endpoint_name: str) -> str | None:
    """The model package the endpoint serves now (``None``: no endpoint, or not a package)."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=endpoint["EndpointConfigName"]
        )
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    except ClientError as err:
        if is_not_found(err):
            return None
        raise
    name = model.get("PrimaryContainer", {}).get("ModelPackageName")
    return str(name) if name else None


def rollback_target(
    records: Iterable[DeploymentRecord], serving: str | None, endpoint_name: str
) -> DeploymentRecord:
    """The newest successful deployment of a package other than the one serving now."""
    for record in records:
        if record.outcome == DEPLOYED and record.model_package_arn != serving:
            return record
    now = f"it serves {serving}" if serving else "it serves no model package"
    raise OperationError(
        f"nothing to roll back to: the deployment history of endpoint {endpoint_name} names no "
        f"other package that was deployed successfully ({now}). Approve a version to deploy it "
        "(make approve PACKAGE=...)."
    )


@dataclass
class Rollback:
    target: DeploymentRecord
    serving: str | None
    execution_name: str
    execution_arn: str


def rollback(
    sfn: Any,
    sagemaker: Any,
    s3: Any,
    outputs: Mapping[str, Any],
    now: dt.datetime,
) -> Rollback:
    """Redeploy the previously serving package through the state machine's guarded path.

    The run is an approval request (``approved_model_package_arn``): governance holds (only a
    package still Approved is deployed) and the deployment gets the canary, the rollback alarms
    and the smoke test like any other.
    """
    endpoint_name = str(outputs["endpoint_name"])
    records = deployment_history(s3, str(outputs["bucket_name"]), endpoint_name)
    serving = serving_package(sagemaker, endpoint_name)
    target = rollback_target(records, serving, endpoint_name)
    try:
        described = sagemaker.describe_model_package(ModelPackageName=target.model_package_arn)
    except ClientError as err:
        if is_not_found(err):
            raise OperationError(
                f"the previous package {target.model_package_arn} no longer exists"
            ) from err
        raise
    status = described.get("ModelApprovalStatus")
    if status != APPROVED:
        raise OperationError(
            f"the previous package {target.model_package_arn} (version "
            f"{target.model_package_version}, deployed {target.started}) is {status} now: only "
            "an Approved package is deployed. Approve it first (make approve PACKAGE=...)."
        )
    payload = {"approved_model_package_arn": target.model_package_arn}
    name = "rollback-" + execution_name(now).removeprefix("manual-")
    arn = start_execution(sfn, str(outputs["state_machine_arn"]), name, payload)
    return Rollback(target, serving, name, arn)
