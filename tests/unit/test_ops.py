"""The operations CLI without AWS: outputs loading, arguments, parsing, formatting, errors."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ops import cli, commands, render
from ops.errors import ConfigError, EndpointUnreachable, OperationError
from ops.outputs import (
    NOT_FOUND,
    load_outputs,
    parse_outputs,
    region_from_arn,
    require,
    resolve_region,
    terraform_reason,
)

SM_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:iris-training"
T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def client_error(code: str, message: str, operation: str = "DescribeEndpoint") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# ----------------------------------------------------------------------------- outputs


def test_parse_outputs_accepts_terraform_shape_and_plain_values() -> None:
    wrapped = json.dumps({"bucket_name": {"value": "b", "type": "string", "sensitive": False}})
    assert parse_outputs(wrapped, "f") == {"bucket_name": "b"}
    assert parse_outputs(json.dumps({"bucket_name": "b", "n": 3}), "f") == {
        "bucket_name": "b",
        "n": 3,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "Terraform outputs not found"),
        ("not json", "is not JSON"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_parse_outputs_rejects_empty_and_malformed(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_outputs(text, "outputs.json")


def test_load_outputs_prefers_the_given_file_then_the_env(tmp_path: Path) -> None:
    given, from_env = tmp_path / "a.json", tmp_path / "b.json"
    given.write_text(json.dumps({"x": {"value": "given"}}))
    from_env.write_text(json.dumps({"x": {"value": "env"}}))
    env = {"MLOPS_TF_OUTPUTS": str(from_env)}

    def no_terraform(*_: Any, **__: Any) -> Any:
        raise AssertionError("terraform must not run when a file is given")

    assert load_outputs(str(given), env, runner=no_terraform) == {"x": "given"}
    assert load_outputs(None, env, runner=no_terraform) == {"x": "env"}
    with pytest.raises(ConfigError, match=re.escape(NOT_FOUND)):
        load_outputs(str(tmp_path / "missing.json"), {}, runner=no_terraform)


def test_load_outputs_runs_terraform_output_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ops.outputs.shutil.which", lambda _: "/usr/bin/terraform")
    calls: list[list[str]] = []

    def runner(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        body = json.dumps({"endpoint_name": {"value": "ep"}})
        return subprocess.CompletedProcess(command, 0, stdout=body, stderr="")

    assert load_outputs(None, {}, terraform_dir=tmp_path, runner=runner) == {"endpoint_name": "ep"}
    assert calls == [["terraform", f"-chdir={tmp_path}", "output", "-json", "-no-color"]]


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr", "reason"),
    [
        (0, "{}\n", "", "has no outputs"),
        (
            1,
            "",
            "\u2577\n\u2502 Warning: x\n\u2575\n\nError: Backend initialization required\n",
            "Backend initialization required",
        ),
    ],
)
def test_load_outputs_explains_missing_state(
    monkeypatch: pytest.MonkeyPatch, returncode: int, stdout: str, stderr: str, reason: str
) -> None:
    monkeypatch.setattr("ops.outputs.shutil.which", lambda _: "/usr/bin/terraform")

    def runner(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr=stderr)

    with pytest.raises(ConfigError) as raised:
        load_outputs(None, {}, runner=runner)
    assert str(raised.value).startswith(NOT_FOUND)
    assert reason in str(raised.value)


def test_load_outputs_without_terraform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ops.outputs.shutil.which", lambda _: None)
    with pytest.raises(ConfigError, match="terraform is not installed"):
        load_outputs(None, {})


def test_terraform_reason_falls_back_to_the_last_line() -> None:
    assert terraform_reason("Error: No state\nmore") == "No state"
    assert terraform_reason("something odd\n\n") == "something odd"
    assert terraform_reason("") == "terraform output failed"


def test_require_names_the_missing_output() -> None:
    assert require({"endpoint_name": "ep"}, "endpoint_name") == "ep"
    with pytest.raises(ConfigError, match="`endpoint_name` is missing"):
        require({"endpoint_name": ""}, "endpoint_name")


def test_region_order_flag_env_then_outputs() -> None:
    outputs = {"state_machine_arn": SM_ARN}
    assert resolve_region("ap-south-1", {"AWS_REGION": "us-east-2"}, outputs) == "ap-south-1"
    assert resolve_region(None, {"AWS_REGION": "us-east-2"}, outputs) == "us-east-2"
    assert resolve_region(None, {"AWS_DEFAULT_REGION": "us-west-2"}, outputs) == "us-west-2"
    assert resolve_region(None, {}, outputs) == "eu-west-1"
    assert resolve_region(None, {}, {}) is None
    assert region_from_arn("not-an-arn") is None


# ----------------------------------------------------------------------------- start


def test_execution_name_is_manual_utc_timestamp_and_hex() -> None:
    local = dt.datetime(2024, 5, 1, 14, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert commands.execution_name(local, "beef") == "manual-20240501T120005Z-beef"
    assert re.fullmatch(r"manual-\d{8}T\d{6}Z-[0-9a-f]{4}", commands.execution_name(T0))
    names = {commands.execution_name(T0) for _ in range(20)}
    assert len(names) > 1


def test_execution_input_has_only_the_given_keys() -> None:
    assert commands.execution_input(None, deploy=False) == {}
    assert commands.execution_input(None, deploy=True) == {"deploy": True}
    assert commands.execution_input("s3://b/data/raw/x.csv", deploy=True) == {
        "data_uri": "s3://b/data/raw/x.csv",
        "deploy": True,
    }
    for bad in ("b/data.csv", "s3://bucket-only", "s3:///key"):
        with pytest.raises(ConfigError, match="s3://bucket/key"):
            commands.execution_input(bad, deploy=False)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedSfn:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.calls = 0

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        status = self.statuses[min(self.calls, len(self.statuses) - 1)]
        self.calls += 1
        return {"executionArn": executionArn, "status": status}


def test_wait_returns_the_terminal_description() -> None:
    clock = FakeClock()
    sfn = ScriptedSfn(["RUNNING", "RUNNING", "FAILED"])
    described = commands.wait_for_execution(sfn, "arn:x", 60, 5, clock, clock.sleep)
    assert described["status"] == "FAILED"
    assert sfn.calls == 3
    assert clock.now == 10


def test_wait_gives_up_at_the_deadline() -> None:
    clock = FakeClock()
    sfn = ScriptedSfn(["RUNNING"])
    with pytest.raises(OperationError, match="still RUNNING after 20 s"):
        commands.wait_for_execution(sfn, "arn:x", 20, 5, clock, clock.sleep)
    assert clock.now == 20


# ----------------------------------------------------------------------------- status / logs


def entered(name: str, payload: dict[str, Any], second: int) -> dict[str, Any]:
    return {
        "timestamp": T0 + dt.timedelta(seconds=second),
        "type": "PassStateEntered",
        "id": second,
        "stateEnteredEventDetails": {"name": name, "input": json.dumps(payload)},
    }


def test_failed_state_prefers_the_recorded_failure() -> None:
    events = [
        entered("StartPipeline", {}, 0),
        entered("QualityGateFailed", {}, 1),
        entered("NotifyFailure", {"failure": {"state": "QualityGateFailed"}}, 2),
        entered("Failed", {"failure": {"state": "QualityGateFailed"}}, 3),
    ]
    assert commands.failed_state(events) == "QualityGateFailed"
    assert commands.failed_state(events[:2]) == "QualityGateFailed"
    assert commands.failed_state([entered("A", {}, 0), entered("B", {}, 1)]) == "B"
    assert commands.failed_state([]) is None


def test_resolve_execution_from_name_arn_or_latest() -> None:
    class Sfn:
        def list_executions(self, **_: Any) -> dict[str, Any]:
            return {
                "executions": [
                    {"executionArn": "old", "startDate": T0},
                    {"executionArn": "new", "startDate": T0 + dt.timedelta(hours=1)},
                ]
            }

    assert commands.resolve_execution(Sfn(), SM_ARN, None) == "new"
    assert commands.resolve_execution(Sfn(), SM_ARN, "arn:aws:states:x") == "arn:aws:states:x"
    assert (
        commands.resolve_execution(Sfn(), SM_ARN, "manual-1")
        == "arn:aws:states:eu-west-1:123456789012:execution:iris-training:manual-1"
    )


def test_log_group_names() -> None:
    class Sfn:
        def describe_state_machine(self, **_: Any) -> dict[str, Any]:
            arn = "arn:aws:logs:eu-west-1:1:log-group:/aws/vendedlogs/states/iris:*"
            return {
                "loggingConfiguration": {
                    "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}]
                }
            }

    assert commands.log_group_of_state_machine(Sfn(), SM_ARN) == "/aws/vendedlogs/states/iris"
    assert (
        commands.log_group_of_function("arn:aws:lambda:eu-west-1:1:function:iris-trigger")
        == "/aws/lambda/iris-trigger"
    )
    assert commands.log_group_of_function(None) is None


def test_timeline_shows_offsets_states_resources_and_errors() -> None:
    events = [
        {"timestamp": T0, "type": "ExecutionStarted", "executionStartedEventDetails": {}},
        entered("StartPipeline", {}, 1),
        {
            "timestamp": T0 + dt.timedelta(seconds=2.5),
            "type": "TaskScheduled",
            "taskScheduledEventDetails": {
                "resource": "startPipelineExecution",
                "resourceType": "aws-sdk:sagemaker",
            },
        },
        {
            "timestamp": T0 + dt.timedelta(seconds=70),
            "type": "ExecutionFailed",
            "executionFailedEventDetails": {"error": "QualityGateFailed", "cause": "0.5 < 0.9"},
        },
    ]
    lines = render.timeline(events).splitlines()
    assert lines[0].split() == ["+0.0s", "ExecutionStarted"]
    assert lines[1].split() == ["+1.0s", "PassStateEntered", "StartPipeline"]
    assert lines[2].split() == [
        "+2.5s",
        "TaskScheduled",
        "aws-sdk:sagemaker:startPipelineExecution",
    ]
    assert lines[3].split() == [
        "+70.0s",
        "ExecutionFailed",
        "QualityGateFailed:",
        "0.5",
        "<",
        "0.9",
    ]
    assert render.timeline([]) == "(no history events)"


def test_executions_table_with_result_and_failure_details() -> None:
    ok = commands.Execution(
        "manual-2",
        "arn:2",
        "SUCCEEDED",
        T0,
        T0 + dt.timedelta(seconds=125),
        output={
            "accuracy": 0.9667,
            "approval_status": "Approved",
            "deployment": {"deployed": True},
        },
    )
    failed = commands.Execution(
        "manual-1",
        "arn:1",
        "FAILED",
        T0,
        T0 + dt.timedelta(seconds=9),
        error="PipelineExecutionFailed",
        cause="PrepareData: row 7\n  bad",
        failed_state="PipelineFailed",
    )
    running = commands.Execution("manual-3", "arn:3", "RUNNING", T0)
    text = render.executions([running, ok, failed])
    lines = text.splitlines()
    assert lines[0].split() == ["EXECUTION", "STATUS", "STARTED", "(UTC)", "DURATION", "RESULT"]
    assert lines[2].split() == ["manual-3", "RUNNING", "2024-05-01", "12:00:00", "-", "-"]
    assert "2m05s" in lines[3]
    assert "accuracy 0.9667, Approved, deployed" in lines[3]
    assert "manual-1 failed in state PipelineFailed" in text
    assert "error: PipelineExecutionFailed" in text
    assert "cause: PrepareData: row 7 bad" in text
    assert render.executions([]).startswith("No executions yet")


LONG_DATA_CAUSE = (
    "DataValidationError: iris.csv line 7, byte column 29: byte 0xe9 is not valid UTF-8 "
    "(invalid continuation byte; the file is probably Latin-1 or Windows-1252); expected an "
    "uncompressed UTF-8 CSV file with comma-separated columns "
    "SepalLength,SepalWidth,PetalLength,PetalWidth,Species: save it as UTF-8 (SageMaker pipeline "
    "execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/iris/execution/abc, processing "
    "job pipelines-abc-PrepareData-1234abcd)"
)


def test_status_and_summary_show_the_whole_cause() -> None:
    """Nothing of a long cause is cut (it used to stop at 300 characters)."""
    assert len(LONG_DATA_CAUSE) > render.CAUSE_WIDTH
    failed = commands.Execution(
        "manual-2",
        "arn:2",
        "FAILED",
        T0,
        T0 + dt.timedelta(seconds=9),
        error="DataValidationError",
        cause=LONG_DATA_CAUSE,
        failed_state="DataInvalid",
    )
    text = render.executions([failed])
    assert f"  cause: {LONG_DATA_CAUSE}" in text.splitlines()
    described = {"status": "FAILED", "error": "DataValidationError", "cause": LONG_DATA_CAUSE}
    assert render.summary(described).splitlines()[-1] == f"  cause: {LONG_DATA_CAUSE}"


def test_log_events_rendering() -> None:
    ms = int(T0.timestamp() * 1000)
    assert "does not exist" in render.log_events("/g", None)
    assert "no events" in render.log_events("/g", [])
    text = render.log_events("/g", [{"timestamp": ms, "message": "START RequestId: 1\n"}])
    assert text.splitlines() == ["== /g: last 1 events", "2024-05-01 12:00:00  START RequestId: 1"]


# ----------------------------------------------------------------------------- models / approve


def test_metric_reads_the_model_quality_shape() -> None:
    report = {
        "multiclass_classification_metrics": {
            "weighted_f1": {"value": 0.95},
            "accuracy": {"value": "NaN"},
        }
    }
    assert commands.metric(report, "weighted_f1") == 0.95
    assert commands.metric(report, "accuracy") is None
    assert commands.metric(None, "accuracy") is None
    assert (
        commands.metric({"multiclass_classification_metrics": {"accuracy": 1}}, "accuracy") is None
    )


def test_metrics_come_from_whichever_block_the_report_has() -> None:
    binary = {"binary_classification_metrics": {"accuracy": {"value": 0.9}, "f1": {"value": 0.8}}}
    multiclass = {"multiclass_classification_metrics": {"weighted_f1": {"value": 0.7}}}
    assert commands.metric(binary, "accuracy") == 0.9
    assert commands.f1_of(binary) == 0.8
    assert commands.f1_of(multiclass) == 0.7
    assert commands.f1_of({"model": {}}) is None


def test_models_table() -> None:
    package = commands.ModelPackage(
        "arn:p/2", 2, "Completed", "PendingManualApproval", T0, 0.9667, None, "manual-1"
    )
    lines = render.models([package], "g").splitlines()
    assert lines[0].split()[:5] == ["VERSION", "STATUS", "APPROVAL", "ACCURACY", "F1"]
    assert lines[2].split() == [
        "2",
        "Completed",
        "PendingManualApproval",
        "0.9667",
        "-",
        "2024-05-01",
        "12:00:00",
        "manual-1",
    ]
    assert "has no packages yet" in render.models([], "g")


def test_approval_messages() -> None:
    changed = render.approval(commands.Approval("arn:p/3", 3, "PendingManualApproval", True))
    assert "Approved model package version 3" in changed
    assert "was PendingManualApproval" in changed
    assert "starts the deploy path" in changed
    assert "approved_model_package_arn" in changed
    same = render.approval(commands.Approval("arn:p/3", 3, "Approved", False))
    assert "already Approved: nothing to do" in same


class FakeSageMaker:
    """Just enough SageMaker for approve/predict/endpoint-down, recording the calls."""

    def __init__(self, endpoint: dict[str, Any] | None = None) -> None:
        self.endpoint = endpoint
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        if self.endpoint is None:
            raise client_error("ValidationException", f'Could not find endpoint "{EndpointName}".')
        return self.endpoint

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:
        return {"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m-1"}]}

    def delete_endpoint(self, EndpointName: str) -> dict[str, Any]:
        # SageMaker deletes asynchronously: Deleting for two more looks, then gone.
        self.calls.append(("delete_endpoint", {"EndpointName": EndpointName}))
        self.looks_until_gone = 2
        assert self.endpoint is not None
        self.endpoint = {**self.endpoint, "EndpointStatus": "Deleting"}
        self.describe_endpoint = self._deleting  # type: ignore[method-assign]
        return {}

    def _deleting(self, EndpointName: str) -> dict[str, Any]:
        if self.looks_until_gone == 0:
            raise client_error("ValidationException", f'Could not find endpoint "{EndpointName}".')
        self.looks_until_gone -= 1
        assert self.endpoint is not None
        return self.endpoint

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return {}

        return call


def test_approve_already_approved_is_a_no_op() -> None:
    class SageMaker(FakeSageMaker):
        def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:
            return {"ModelApprovalStatus": "Approved", "ModelPackageVersion": 4}

    sagemaker = SageMaker()
    result = commands.approve(sagemaker, "g", "arn:p/4", "why")
    assert result == commands.Approval("arn:p/4", 4, "Approved", changed=False)
    assert sagemaker.calls == []


# ----------------------------------------------------------------------------- predict


# A contract unlike any real dataset's: the CLI must take every name from the report.
FEATURES = ["f one", "f2", "f3"]
CLASSES = ["cold", "warm", "hot"]


@pytest.mark.parametrize(
    ("row", "body"),
    [("6.4,3.2,4.5", "6.4,3.2,4.5"), (" 5, 3.5 ,1.4\n", "5,3.5,1.4")],
)
def test_parse_row_accepts_one_number_per_contract_feature(row: str, body: str) -> None:
    assert commands.parse_row(row, FEATURES) == body


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("6.4,3.2", r"needs 3 comma-separated numbers \(f one,f2,f3\)"),
        ("6.4,3.2,4.5,1.5", "got 4"),
        ("6.4,abc,4.5", "f2 must be a number"),
        ("nan,3.2,4.5", "f one must be a number"),
        ("", "got 1"),
    ],
)
def test_parse_row_rejects_bad_rows(row: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        commands.parse_row(row, FEATURES)


@pytest.mark.parametrize(
    "body",
    [
        b"[[0.02, 0.96, 0.02]]",
        b"[0.02, 0.96, 0.02]",
        b'{"predictions": [[0.02, 0.96, 0.02]]}',
        b"0.02,0.96,0.02\n",
    ],
)
def test_parse_probabilities_shapes(body: bytes) -> None:
    assert commands.parse_probabilities(body, 3) == [[0.02, 0.96, 0.02]]


@pytest.mark.parametrize("body", [b"body", b"[[0.5, 0.5]]", b"[]", b'{"a": 1}', b"[[1,2,3],[1]]"])
def test_parse_probabilities_rejects_other_answers(body: bytes) -> None:
    with pytest.raises(OperationError, match="3 class probabilities"):
        commands.parse_probabilities(body, 3)


def test_a_binary_answer_has_two_probabilities() -> None:
    assert commands.parse_probabilities(b"[[0.3, 0.7]]", 2) == [[0.3, 0.7]]
    with pytest.raises(OperationError, match="2 class probabilities"):
        commands.parse_probabilities(b"[[0.02, 0.96, 0.02]]", 2)


class FakeRuntime:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Body": io.BytesIO(self.body)}


def test_predict_sends_csv_and_names_the_class() -> None:
    runtime = FakeRuntime(b"[[0.01, 0.02, 0.97], [0.9, 0.05, 0.05]]")
    sagemaker = FakeSageMaker({"EndpointStatus": "InService"})
    found = commands.predict(sagemaker, runtime, "ep", "6.4,3.2,4.5", CLASSES)
    assert runtime.calls == [
        {
            "EndpointName": "ep",
            "ContentType": "text/csv",
            "Accept": "application/json",
            "Body": b"6.4,3.2,4.5",
        }
    ]
    assert [p.label for p in found] == ["hot", "cold"]
    assert render.predictions(found).splitlines()[0] == (
        "cold=0.0100  warm=0.0200  hot=0.9700  -> hot"
    )


def report(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "multiclass_classification_metrics": {"accuracy": {"value": 0.9}},
        "dataset_contract": {
            "label_column": "weather",
            "feature_columns": FEATURES,
            "class_names": CLASSES,
            "num_classes": 3,
        },
        # As ml/evaluate.py writes it (contracts.evaluation.read_smoke_test checks the shape).
        "smoke_test": {
            "content_type": "text/csv",
            "body": "1,2,3\n4,5,6\n",
            "rows": 2,
            "probabilities": [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]],
            "tolerance": 1e-4,
        },
    }
    found.update(changes)
    return found


class ServingSageMaker(FakeSageMaker):
    """An endpoint serving model m-1, created from package arn:p/7 (the state machine's way)."""

    def __init__(self, model: dict[str, Any], package: dict[str, Any]) -> None:
        super().__init__({"EndpointStatus": "InService", "EndpointConfigName": "cfg-1"})
        self.model = model
        self.package = package

    def describe_model(self, ModelName: str) -> dict[str, Any]:
        assert ModelName == "m-1"
        return self.model

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:
        assert ModelPackageName == "arn:p/7"
        return self.package


class FakeS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if f"{Bucket}/{Key}" not in self.objects:
            raise client_error("NoSuchKey", "The specified key does not exist.")
        return {"Body": io.BytesIO(self.objects[f"{Bucket}/{Key}"])}


PACKAGE = {
    "ModelMetrics": {"ModelQuality": {"Statistics": {"S3Uri": "s3://b/evaluation/x/e.json"}}}
}
MODEL = {"PrimaryContainer": {"ModelPackageName": "arn:p/7"}}


def test_the_serving_contract_comes_from_the_served_packages_report() -> None:
    s3 = FakeS3({"b/evaluation/x/e.json": json.dumps(report()).encode()})
    contract = commands.serving_contract(ServingSageMaker(MODEL, PACKAGE), s3, "ep")
    assert contract.class_names == CLASSES
    assert contract.feature_columns == FEATURES
    assert contract.label_column == "weather"
    assert contract.default_row == "1,2,3"
    assert contract.evaluation_uri == "s3://b/evaluation/x/e.json"


@pytest.mark.parametrize(
    ("model", "package", "objects", "message"),
    [
        ({"PrimaryContainer": {"Image": "x"}}, PACKAGE, {}, "not created from a model package"),
        (MODEL, {}, {}, "has no ModelMetrics statistics"),
        (MODEL, PACKAGE, {}, "is missing or not JSON"),
        (
            MODEL,
            PACKAGE,
            {"b/evaluation/x/e.json": json.dumps(report(dataset_contract={})).encode()},
            "has no dataset_contract with class_names and feature_columns",
        ),
    ],
)
def test_an_unknown_contract_is_a_clear_error(
    model: dict[str, Any], package: dict[str, Any], objects: dict[str, bytes], message: str
) -> None:
    with pytest.raises(OperationError, match=message):
        commands.serving_contract(ServingSageMaker(model, package), FakeS3(objects), "ep")


def test_a_report_without_smoke_rows_asks_for_a_row() -> None:
    contract = commands.contract_of(report(smoke_test=None), "arn:p/7", "s3://b/e.json")
    with pytest.raises(OperationError, match=r"no smoke_test rows .* pass ROW"):
        _ = contract.default_row


def test_cli_predict_prints_the_contracts_class_names(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text(json.dumps({"endpoint_name": {"value": "ep"}}))
    s3 = FakeS3({"b/evaluation/x/e.json": json.dumps(report()).encode()})
    runtime = FakeRuntime(b"[[0.2, 0.5, 0.3]]")

    class Clients:
        sagemaker = ServingSageMaker(MODEL, PACKAGE)

    Clients.s3 = s3  # type: ignore[attr-defined]
    Clients.runtime = runtime  # type: ignore[attr-defined]
    args = cli.build_parser().parse_args(["predict", "--outputs", str(path)])
    context = cli.Context(args, {"endpoint_name": "ep"}, Clients(), lambda: T0)  # type: ignore[arg-type]
    text, code = cli.cmd_predict(context)
    assert code == 0
    assert text.splitlines() == [
        "endpoint ep, label weather, row 1,2,3",
        "cold=0.2000  warm=0.5000  hot=0.3000  -> warm",
    ]
    assert runtime.calls[0]["Body"] == b"1,2,3"
    args = cli.build_parser().parse_args(["predict", "--row", "1,2"])
    context = cli.Context(args, {"endpoint_name": "ep"}, Clients(), lambda: T0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ROW needs 3"):
        cli.cmd_predict(context)


def test_predict_explains_a_missing_or_busy_endpoint() -> None:
    runtime = FakeRuntime(b"[]")
    with pytest.raises(OperationError, match=r"endpoint ep does not exist: deploy a model \(make"):
        commands.predict(FakeSageMaker(None), runtime, "ep", "1,2,3", CLASSES)
    with pytest.raises(OperationError, match="endpoint ep is Creating"):
        commands.predict(
            FakeSageMaker({"EndpointStatus": "Creating"}), runtime, "ep", "1,2,3", CLASSES
        )
    assert runtime.calls == []


def test_is_not_found_only_for_missing_resources() -> None:
    assert commands.is_not_found(client_error("ValidationException", "Could not find endpoint x"))
    assert not commands.is_not_found(client_error("ValidationException", "bad instance type"))
    assert not commands.is_not_found(client_error("ThrottlingException", "not found"))


# ----------------------------------------------------------------------------- endpoint-down


def test_endpoint_down_deletes_endpoint_config_and_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands.time, "sleep", lambda seconds: None)
    sagemaker = FakeSageMaker({"EndpointStatus": "InService", "EndpointConfigName": "cfg-1"})
    done = commands.endpoint_down(sagemaker, "ep")
    assert [c[0] for c in sagemaker.calls] == [
        "delete_endpoint",
        "delete_endpoint_config",
        "delete_model",
    ]
    assert done == commands.Teardown("ep", "cfg-1", ["m-1"])
    assert render.teardown(done, "ep").splitlines() == [
        "deleted endpoint ep",
        "deleted endpoint config cfg-1",
        "deleted model m-1",
    ]


def test_endpoint_down_waits_until_the_endpoint_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands.time, "sleep", lambda seconds: None)
    sagemaker = FakeSageMaker({"EndpointStatus": "InService", "EndpointConfigName": "cfg-1"})
    commands.endpoint_down(sagemaker, "ep")
    assert sagemaker.looks_until_gone == 0


def test_waiting_for_a_deletion_has_a_deadline() -> None:
    sagemaker = FakeSageMaker({"EndpointStatus": "Deleting", "EndpointConfigName": "cfg-1"})
    now = iter(range(0, 10_000, 500))
    with pytest.raises(OperationError, match="still Deleting after 900 s"):
        commands.wait_until_endpoint_gone(
            sagemaker, "ep", sleep=lambda seconds: None, clock=lambda: float(next(now))
        )


def test_endpoint_down_without_endpoint_is_a_clear_no_op() -> None:
    sagemaker = FakeSageMaker(None)
    done = commands.endpoint_down(sagemaker, "ep")
    assert done == commands.Teardown()
    assert sagemaker.calls == []
    assert render.teardown(done, "ep") == (
        "endpoint ep does not exist: nothing to delete (no endpoint cost)."
    )


# ----------------------------------------------------------------------------- cli


def test_table_aligns_columns() -> None:
    assert render.table(("A", "BB"), [("xxx", None), ("y", 2)]).splitlines() == [
        "A    BB",
        "---  --",
        "xxx  -",
        "y    2",
    ]


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, env=env, out=out, err=err, now=lambda: T0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "state_machine_arn": {"value": SM_ARN},
                "endpoint_name": {"value": "iris-endpoint"},
                "model_package_group_name": {"value": "iris"},
                "bucket_name": {"value": "iris-bucket"},
            }
        )
    )
    return path


def test_cli_without_credentials_says_what_to_do(
    outputs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code, out, err = run_cli(
        ["status", "--outputs", str(outputs_file), "--endpoint-url", "http://127.0.0.1:9"], {}
    )

    assert code == 2
    assert out == ""
    assert err.strip() == f"error: {cli.NO_CREDENTIALS}"


def test_cli_without_outputs_exits_2(tmp_path: Path) -> None:
    code, _, err = run_cli(["models"], {"MLOPS_TF_OUTPUTS": str(tmp_path / "nope.json")})
    assert code == 2
    assert err.startswith(f"error: {NOT_FOUND}")


def test_cli_missing_output_and_region(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text(json.dumps({"bucket_name": {"value": "b"}}))
    code, _, err = run_cli(["predict", "--outputs", str(path), "--region", "us-east-1"], {})
    assert (code, err.strip()) == (
        2,
        "error: Terraform output `endpoint_name` is missing: re-run `make deploy` "
        "(or fix --outputs)",
    )
    code, _, err = run_cli(["predict", "--outputs", str(path)], {})
    assert (code, err.strip()) == (2, "error: No AWS region: pass --region or set AWS_REGION")


@pytest.mark.parametrize(
    "argv",
    [
        ["start", "--data", "not-s3"],
        ["status", "--limit", "0"],
        ["frobnicate"],
        [],
    ],
)
def test_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(argv, env={})
    assert raised.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_cli_parses_the_make_targets_arguments() -> None:
    args = cli.build_parser().parse_args(
        ["start", "--deploy", "--data", "s3://b/data/raw/x.csv", "--wait", "--timeout", "30"]
    )
    assert (args.deploy, args.data, args.wait, args.timeout) == (
        True,
        "s3://b/data/raw/x.csv",
        True,
        30.0,
    )
    assert cli.build_parser().parse_args(["predict"]).row is None  # the report's smoke row
    assert cli.build_parser().parse_args(["start"]).deploy is False


def test_client_errors_become_one_line() -> None:
    message, code = cli.describe_client_error(
        client_error("AccessDeniedException", "not allowed", "ListExecutions")
    )
    assert (message, code) == ("AWS error in ListExecutions: AccessDeniedException: not allowed", 1)
    message, code = cli.describe_client_error(client_error("ExpiredToken", "expired"))
    assert code == 2
    assert "AWS rejected the credentials (ExpiredToken)" in message


# ----------------------------------------------------------------------------- unreachable endpoint


def _dead_port() -> int:
    """A port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # refused at once, not after botocore's retries


@pytest.mark.usefixtures("fake_credentials")
@pytest.mark.parametrize("argv", [["status"], ["models"], ["predict"], ["logs"], ["start"]])
def test_a_dead_emulator_is_one_line_naming_its_log(outputs_file: Path, argv: list[str]) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    env = {"MLOPS_EMULATOR_LOG": "/repo/.local/session/emulator.log"}

    code, out, err = run_cli([*argv, "--outputs", str(outputs_file), "--endpoint-url", url], env)

    assert code == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: the emulator at {url} is not answering")
    assert "its log is /repo/.local/session/emulator.log" in err
    assert "make local-up" in err


def test_an_unreachable_endpoint_without_a_known_log_still_says_what_to_do() -> None:
    failure = EndpointConnectionError(endpoint_url="https://states.eu-west-1.amazonaws.com/")
    error = cli.unreachable(failure, {})
    assert isinstance(error, EndpointUnreachable)
    assert str(error) == (
        "cannot reach https://states.eu-west-1.amazonaws.com: is the emulator running "
        "(make local-up)? is the region right?"
    )


class _StartingSfn:
    """Starts an execution, then fails while waiting for it (``describe`` raises ``fails``)."""

    def __init__(self, fails: Exception | None) -> None:
        self.fails = fails

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        return {"executionArn": f"{SM_ARN}:{kwargs['name']}".replace("stateMachine", "execution")}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        if self.fails is not None:
            raise self.fails
        return {"executionArn": executionArn, "status": "RUNNING"}


@pytest.mark.parametrize(
    ("fails", "message"),
    [
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:5"),
            "error: the emulator at http://127.0.0.1:5 is not answering",
        ),
        (None, "is still RUNNING after 0 s"),
    ],
)
def test_start_wait_prints_the_execution_name_before_the_wait_fails(
    outputs_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    fails: Exception | None,
    message: str,
) -> None:
    sfn = _StartingSfn(fails)

    class FakeClients:
        def __init__(self, region: str, endpoint_url: str | None) -> None:
            self.sfn = sfn

    monkeypatch.setattr(cli, "Clients", FakeClients)
    env = {"MLOPS_EMULATOR_LOG": "/log", "AWS_REGION": "eu-west-1"}

    code, out, err = run_cli(
        ["start", "--wait", "--timeout", "0", "--outputs", str(outputs_file)], env
    )

    assert code == 1
    assert out.startswith("started manual-20240501T120000Z-"), out
    assert "waiting up to 0 s" in out
    assert err.count("\n") == 1 and message in err, err


def test_a_queue_the_operator_may_not_read_says_which_permission_is_missing() -> None:
    class DeniedSQS:
        def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetQueueAttributes"
            )

    url = "https://sqs.us-east-1.amazonaws.com/123456789012/p-trigger-uploads.fifo"
    depths = commands.queue_depths(DeniedSQS(), {"trigger_queue_url": url})

    text = render.queues(depths)
    assert "p-trigger-uploads.fifo" in text
    assert "AccessDenied: needs sqs:GetQueueAttributes on this queue" in text
