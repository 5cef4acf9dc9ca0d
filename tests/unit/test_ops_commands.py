"""The read commands and the small ones with fake AWS clients: status, models, logs, predict,
report, traffic, monitor, endpoint-down."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from ops import endpoint, logs, models, monitoring, predict, render, report, status
from ops.errors import ConfigError, NotFoundError, OperationError, WaitTimeout
from ops.serving import contract_of
from tests.helpers.fake_aws import (
    BUCKET,
    DEPLOYMENT,
    ENDPOINT,
    MONITORING,
    T0,
    TRAINING,
    FakeClients,
    FakeExecution,
    context,
    error,
    evaluation_report,
    register,
)


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients()


# ----------------------------------------------------------------------------- status


def test_status_shows_both_machines_failures_queues_and_history(clients: FakeClients) -> None:
    ok = clients.sfn.add(FakeExecution("s3-iris-1", TRAINING, status="SUCCEEDED"))
    ok.output = {"outcome": {"headline": "accuracy 0.9700", "approval_status": "Approved"}}
    failed = clients.sfn.add(
        FakeExecution(
            "run-x",
            TRAINING,
            status="FAILED",
            error="QualityGateFailed",
            cause="0.5 < 0.9\n  really",
            started=T0 + dt.timedelta(minutes=5),
        )
    )
    failed.enter("QualityGateFailed", {})
    failed.enter("Finish", {"outcome": {"status": "FAILED", "state": "QualityGateFailed"}})
    clients.sfn.add(FakeExecution("deploy-v1-abc", DEPLOYMENT, status="RUNNING"))
    clients.s3.put(
        f"deployments/{ENDPOINT}/2026-01-01T10:00:00Z-deploy-v1.json",
        json.dumps(
            {
                "model_package_arn": "arn:p/1",
                "model_package_version": "1",
                "outcome": "rolled back",
                "started": "2026-01-01T10:00:00Z",
                "ended": "2026-01-01T10:05:00Z",
                "reason": "approval",
                "detail": "alarm model-5xx",
                "execution": "deploy-v1-abc",
            }
        ),
    )

    result = status.run(context(clients, ["status"]))

    text = result.text
    assert text.startswith("Training runs (newest first):")
    assert "run-x failed in state QualityGateFailed" in text
    assert "  cause: 0.5 < 0.9 really" in text  # whole, on one line
    assert "accuracy 0.9700, Approved" in text
    assert "Deployment runs (newest first):" in text and "deploy-v1-abc" in text
    assert "proj-trigger-uploads.fifo  2        1" in text
    assert "v1 rolled back: alarm model-5xx" in text
    assert [e["name"] for e in result.data["training"]] == ["run-x", "s3-iris-1"]
    assert result.data["deployments"]["records"][0]["outcome"] == "rolled back"
    json.dumps(result.data)  # --json can print it


def test_a_queue_the_operator_may_not_read_says_which_permission_is_missing() -> None:
    class DeniedSQS:
        def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
            raise error("AccessDenied", "no", "GetQueueAttributes")

    url = "https://sqs.us-east-1.amazonaws.com/123456789012/p-trigger-uploads.fifo"
    text = status.queues_text(status.queue_depths(DeniedSQS(), {"uploads_queue_url": url}))
    assert "p-trigger-uploads.fifo" in text
    assert "AccessDenied: needs sqs:GetQueueAttributes on this queue" in text


def test_the_dead_letter_queues_of_a_map_output_are_listed() -> None:
    outputs = {
        "request_dlq_urls": {"uploads": "https://q/u-dlq.fifo", "deployments": "https://q/d"}
    }
    assert [url for url, _ in status.queue_urls(outputs)] == ["https://q/u-dlq.fifo", "https://q/d"]


# ----------------------------------------------------------------------------- models


def test_models_lists_metrics_and_which_package_serves(clients: FakeClients) -> None:
    first = register(clients, 1, "Approved", evaluation_report(0.95, f1=0.94))
    register(clients, 2, "PendingManualApproval", evaluation_report(0.97, f1=0.96))
    clients.sagemaker.serve(first, "proj-v1-0123abcd")

    result = models.run(context(clients, ["models"]))

    lines = result.text.splitlines()
    assert lines[0].split()[:4] == ["VERSION", "APPROVAL", "ACCURACY", "F1"]
    assert lines[2].split()[:5] == ["2", "PendingManualApproval", "0.9700", "0.9600", "multiclass"]
    assert ENDPOINT in lines[3] and ENDPOINT not in lines[2]
    assert [p["serving"] for p in result.data["packages"]] == [False, True]


def test_models_of_a_missing_group_is_not_found(clients: FakeClients) -> None:
    clients.sagemaker.groups.clear()
    with pytest.raises(NotFoundError, match="does not exist: run `make deploy` first"):
        models.run(context(clients, ["models"]))


# ----------------------------------------------------------------------------- logs


def test_logs_show_the_timeline_of_a_named_run(clients: FakeClients) -> None:
    run = clients.sfn.add(FakeExecution("run-1", DEPLOYMENT, status="SUCCEEDED"))
    run.enter("Plan")
    run.enter("Deployed")
    clients.sfn.describe_state_machine = lambda **_: {
        "loggingConfiguration": {
            "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:r:a:log-group:/sfn/dep:*"}}
            ]
        }
    }
    clients.logs.filter_log_events = lambda **_: {
        "events": [{"timestamp": int(T0.timestamp() * 1000), "message": "hello\n"}]
    }

    result = logs.run(context(clients, ["logs", "--machine", "deployment", "--execution", "run-1"]))

    assert "== history of run-1" in result.text
    assert "PassStateEntered" in result.text and "Deployed" in result.text
    assert "== /sfn/dep: last 1 events\n2026-01-01 12:00:00  hello" in result.text
    assert result.data["log_events"]["/sfn/dep"][0]["message"] == "hello\n"


def test_logs_without_runs_is_not_found(clients: FakeClients) -> None:
    with pytest.raises(NotFoundError, match="no runs yet"):
        logs.run(context(clients, ["logs"]))


def test_log_group_names() -> None:
    assert (
        logs.log_group_of_function("arn:aws:lambda:eu-west-1:1:function:iris-trigger")
        == "/aws/lambda/iris-trigger"
    )
    assert logs.log_group_of_function(None) is None


def test_timeline_shows_offsets_states_resources_and_errors() -> None:
    events = [
        {"timestamp": T0, "type": "ExecutionStarted", "executionStartedEventDetails": {}},
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
    assert lines[1].split() == [
        "+2.5s",
        "TaskScheduled",
        "aws-sdk:sagemaker:startPipelineExecution",
    ]
    assert lines[2].split() == [
        "+70.0s",
        "ExecutionFailed",
        "QualityGateFailed:",
        "0.5",
        "<",
        "0.9",
    ]
    assert render.timeline([]) == "(no history events)"


# ----------------------------------------------------------------------------- predict

FEATURES = ["f one", "f2", "f3"]  # unlike any real dataset's: every name comes from the report
CLASSES = ["cold", "warm", "hot"]


def serving(clients: FakeClients, **kwargs: Any) -> str:
    report_ = evaluation_report(
        0.9, features=FEATURES, classes=CLASSES, smoke_body="1,2,3\n4,5,6\n", **kwargs
    )
    arn = register(clients, 7, "Approved", report_)
    clients.sagemaker.serve(arn, "proj-v7-0123abcd")
    return arn


def test_predict_sends_the_reports_row_and_names_each_class(clients: FakeClients) -> None:
    serving(clients)
    clients.runtime.answer = b"[[0.2, 0.5, 0.3]]"

    result = predict.run(context(clients, ["predict"]))

    assert result.text.splitlines() == [
        f"endpoint {ENDPOINT}, label kind, row 1,2,3",
        "cold=0.2000  warm=0.5000  hot=0.3000  -> warm",
    ]
    [call] = clients.runtime.called("invoke_endpoint")
    assert (call["Body"], call["ContentType"], call["Accept"]) == (
        b"1,2,3",
        "text/csv",
        "application/json",
    )
    assert result.data["predictions"] == [
        {"label": "warm", "probabilities": {"cold": 0.2, "warm": 0.5, "hot": 0.3}}
    ]
    with pytest.raises(ConfigError, match="ROW needs 3"):
        predict.run(context(clients, ["predict", "--row", "1,2"]))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("6.4,3.2", r"needs 3 comma-separated numbers \(f one,f2,f3\)"),
        ("6.4,abc,4.5", "f2 must"),
        ("nan,3.2,4.5", "f one must be a number"),
        ("", "got 1"),
    ],
)
def test_parse_row_rejects_bad_rows(row: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        predict.parse_row(row, FEATURES)
    assert predict.parse_row(" 5, 3.5 ,1.4\n", FEATURES) == "5,3.5,1.4"


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
    assert predict.parse_probabilities(body, 3) == [[0.02, 0.96, 0.02]]


@pytest.mark.parametrize("body", [b"body", b"[[0.5, 0.5]]", b"[]", b'{"a": 1}'])
def test_parse_probabilities_rejects_other_answers(body: bytes) -> None:
    with pytest.raises(OperationError, match="3 class probabilities"):
        predict.parse_probabilities(body, 3)


def test_predict_explains_a_missing_or_busy_endpoint(clients: FakeClients) -> None:
    with pytest.raises(NotFoundError, match=r"endpoint proj-endpoint does not exist: deploy"):
        predict.run(context(clients, ["predict"]))
    serving(clients)
    clients.sagemaker.endpoints[ENDPOINT]["EndpointStatus"] = "Updating"
    with pytest.raises(OperationError, match="is Updating, not InService"):
        predict.run(context(clients, ["predict"]))
    assert clients.runtime.called("invoke_endpoint") == []


def test_an_unknown_contract_is_a_clear_error() -> None:
    with pytest.raises(OperationError, match="has no dataset_contract with class_names"):
        contract_of({"dataset_contract": {}}, "arn:p/7", "s3://b/e.json")
    contract = contract_of(evaluation_report(0.9, smoke_body=""), "arn:p/7", "s3://b/e.json")
    with pytest.raises(NotFoundError, match=r"no smoke_test rows .* pass ROW"):
        _ = contract.default_row


# ----------------------------------------------------------------------------- report


def test_report_of_the_latest_run_is_fetched_and_opened(
    clients: FakeClients, tmp_path: Path
) -> None:
    run = clients.sfn.add(FakeExecution("s3-iris-1", TRAINING, status="FAILED"))
    uri = f"s3://{BUCKET}/evaluation/p1/report.html"
    run.enter("QualityGateFailed", {"outcome": {"status": "FAILED", "report_uri": uri}})
    clients.s3.put("evaluation/p1/report.html", "<html>gate</html>")
    opened: list[str] = []

    result = report.run(
        context(clients, ["report", "--output-dir", str(tmp_path)]),
        opener=lambda url: bool(opened.append(url)) or True,
        env={"DISPLAY": ":0"},
    )

    target = tmp_path / "s3-iris-1" / "report.html"
    assert target.read_text() == "<html>gate</html>"
    assert opened == [target.resolve().as_uri()]
    assert result.data == {
        "run": "s3-iris-1",
        "report_uri": uri,
        "path": str(target),
        "opened": True,
    }
    assert result.text == f"report of s3-iris-1: {target}"


def test_a_run_that_failed_before_evaluation_has_its_failure_report(
    clients: FakeClients, tmp_path: Path
) -> None:
    clients.sfn.add(FakeExecution("run-bad", TRAINING, status="FAILED"))
    clients.s3.put("reports/training/run-bad/report.html", "<html>failed</html>")

    result = report.run(
        context(clients, ["report", "--run", "run-bad", "--output-dir", str(tmp_path)]),
        opener=lambda url: True,
        env={},
    )

    assert (tmp_path / "run-bad" / "report.html").read_text() == "<html>failed</html>"
    assert result.data["opened"] is False  # no display: printed, never failed
    assert "(open it in a browser)" in result.text


def test_the_report_of_a_package_is_beside_its_evaluation(
    clients: FakeClients, tmp_path: Path
) -> None:
    arn = register(clients, 3, "Approved", evaluation_report(0.9))
    clients.s3.put("evaluation/exec-3/report.html", "<html>v3</html>")
    result = report.run(
        context(clients, ["report", "--package", arn, "--no-open", "--output-dir", str(tmp_path)])
    )
    assert result.data["report_uri"] == f"s3://{BUCKET}/evaluation/exec-3/report.html"
    assert (tmp_path / "s3-data-3" / "report.html").exists()


def test_no_report_names_where_it_looked(clients: FakeClients, tmp_path: Path) -> None:
    clients.sfn.add(FakeExecution("run-2", TRAINING, status="FAILED"))
    with pytest.raises(
        NotFoundError,
        match=f"no report for run-2 yet: looked at s3://{BUCKET}/"
        "reports/training/run-2/report.html",
    ):
        report.run(context(clients, ["report", "--output-dir", str(tmp_path)]))


# ----------------------------------------------------------------------------- traffic, monitor


def test_traffic_sends_rows_of_the_serving_models_test_split(clients: FakeClients) -> None:
    serving(clients)
    split = "".join(f"hot,{i},{i + 1},{i + 2}\n" for i in range(20))  # label first, no header
    clients.s3.put("pipelines/exec-7/prepare/test/test.csv", split)

    result = traffic_run(clients, ["traffic", "--rows", "25", "--shift", "f2=2"])

    calls = clients.runtime.called("invoke_endpoint")
    assert len(calls) == 3  # 10 rows a request
    rows = [line.split(",") for call in calls for line in call["Body"].decode().splitlines()]
    assert len(rows) == 25 and all(len(row) == 3 for row in rows)
    assert all(float(row[1]) == 2 * (float(row[0]) + 1) for row in rows)  # f2 doubled
    assert result.data["rows"] == 25
    assert result.data["test_split"] == f"s3://{BUCKET}/pipelines/exec-7/prepare/test/test.csv"
    assert "(f2 x 2)" in result.text


def traffic_run(clients: FakeClients, argv: list[str]) -> Any:
    return monitoring.run_traffic(context(clients, argv))


def test_traffic_without_the_test_split_says_it_expired(clients: FakeClients) -> None:
    serving(clients)
    with pytest.raises(NotFoundError, match=r"test split .* is gone: pipelines/ expires"):
        traffic_run(clients, ["traffic", "--rows", "5"])
    with pytest.raises(ConfigError, match="not a feature of the model"):
        clients.s3.put("pipelines/exec-7/prepare/test/test.csv", "hot,1,2,3\n")
        traffic_run(clients, ["traffic", "--rows", "5", "--shift", "nope=2"])


def test_monitor_starts_the_monitoring_machine_now(clients: FakeClients) -> None:
    result = monitoring.run_monitor(context(clients, ["monitor"]))
    [started] = clients.sfn.called("start_execution")
    assert started["stateMachineArn"] == MONITORING
    assert json.loads(started["input"]) == monitoring.MONITOR_INPUT
    assert started["name"].startswith("monitor-now-20260101T120000Z-")
    assert result.data["execution"] == started["name"]


def test_monitor_wait_follows_the_run(
    clients: FakeClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    def start(**kwargs: Any) -> dict[str, str]:
        run = clients.sfn.add(FakeExecution(kwargs["name"], MONITORING, status="SUCCEEDED"))
        run.enter("Verdict")
        run.output = {"outcome": {"status": "SUCCEEDED", "headline": "drift: x1 PSI 0.4"}}
        return {"executionArn": run.arn}

    monkeypatch.setattr(clients.sfn, "start_execution", start)
    result = monitoring.run_monitor(context(clients, ["monitor", "--wait", "--poll", "0.01"]))
    assert result.code == 0
    assert "drift: x1 PSI 0.4" in result.text


# ----------------------------------------------------------------------------- endpoint-down


def test_endpoint_down_deletes_endpoint_config_and_models(clients: FakeClients) -> None:
    clients.sagemaker.serve("arn:p/1", "proj-v1-0123abcd")
    result = endpoint.run(context(clients, ["endpoint-down"]))
    assert [c[0] for c in clients.sagemaker.calls] == [
        "delete_endpoint",
        "delete_endpoint_config",
        "delete_model",
    ]
    assert result.text.splitlines() == [
        f"deleted endpoint {ENDPOINT}",
        "deleted endpoint config proj-v1-0123abcd",
        "deleted model proj-v1-0123abcd",
    ]


def test_endpoint_down_without_endpoint_is_a_clear_no_op(clients: FakeClients) -> None:
    result = endpoint.run(context(clients, ["endpoint-down"]))
    assert (
        result.text == f"endpoint {ENDPOINT} does not exist: nothing to delete (no endpoint cost)."
    )
    assert clients.sagemaker.calls == []


def test_waiting_for_a_deletion_has_a_deadline(clients: FakeClients) -> None:
    clients.sagemaker.serve("arn:p/1", "c")
    clients.sagemaker.endpoints[ENDPOINT]["EndpointStatus"] = "Deleting"
    now = iter(range(0, 10_000, 500))
    with pytest.raises(WaitTimeout, match="still Deleting after 900 s"):
        endpoint.wait_until_gone(
            clients.sagemaker, ENDPOINT, sleep=lambda s: None, clock=lambda: float(next(now))
        )
