"""The demo's run reports (harness/run_report.py): which page a finished run gets, and where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import run_report
from harness.follow import RunResult
from tests.helpers import report_samples as samples
from tests.helpers.stack import summary_for

CONFIG: dict[str, Any] = {
    "data_uri": "s3://bucket/runs/r/input/shapes.csv",
    "accuracy_threshold": 0.95,
}


def entered(name: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"stateEnteredEventDetails": {"name": name, "input": json.dumps(state)}}


def result(status: str, **fields: Any) -> RunResult:
    return RunResult(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:m:s3-shapes-9",
        execution_name="s3-shapes-9",
        status=status,
        states=["CheckInput", "StartPipeline"],
        **fields,
    )


def deployment(endpoint: str) -> RunResult:
    return RunResult(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:d:deploy-v3",
        execution_name="deploy-v3",
        status="SUCCEEDED",
        states=["Plan", "Finish"],
        output={"outcome": {"status": "SUCCEEDED", "deployment": {"endpoint_name": endpoint}}},
    )


def read(path: Path | None) -> str:
    assert path is not None
    return path.read_text()


def test_a_success_keeps_the_full_page_per_run(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    evaluation = samples.multiclass_evaluation()
    done = result(
        "SUCCEEDED",
        output={
            "config": {"data_uri": "s3://bucket/runs/r/input/shapes.csv"},
            "evaluation": {"summary": summary_for(evaluation, threshold=0.85)},
            "outcome": {
                "status": "SUCCEEDED",
                "model_package_arn": samples.CHAMPION_ARN,
                "approval_status": "Approved",
            },
        },
        deployment=deployment("demo-endpoint"),
        evaluation=evaluation,
        trials=samples.trials(0.4, 0.3),
        prediction={
            "row": "1.0,2.0",
            "label": "beta",
            "class_names": samples.MULTI_CLASSES,
            "probabilities": [0.1, 0.8, 0.1],
        },
    )
    path = run_report.write_run_report(workdir, done)
    assert path == tmp_path / "reports" / "s3-shapes-9" / "report.html"
    page = path.read_text()
    assert "Passed the quality gate" in page
    assert "2 trials, 0 failed" in page
    assert "1.0,2.0: beta [alpha=0.100, beta=0.800, gamma=0.100]" in page
    assert "demo-endpoint" in page and "shapes: predicting kind" in page


def test_a_gate_refusal_gets_the_full_page_with_the_refusal(tmp_path: Path) -> None:
    evaluation = samples.multiclass_evaluation()
    state = {"config": CONFIG, "evaluation": {"summary": summary_for(evaluation, threshold=0.95)}}
    history = [entered("CheckInput", {"config": CONFIG}), entered("QualityGateFailed", state)]
    refused = result(
        "FAILED",
        error="QualityGateFailed",
        cause="Model accuracy 0.9 (label kind, multiclass) is below the threshold 0.95",
        failing_state="QualityGateFailed",
        evaluation=evaluation,
        history=history,
    )
    page = read(run_report.write_run_report(tmp_path / "demo", refused))
    assert "Refused by the quality gate" in page
    assert 'Threshold</th><td class="num">0.9500' in page
    assert "is below the threshold 0.95" in page
    assert 'data-section="confusion-matrix"' in page


def test_a_data_error_gets_the_failure_page(tmp_path: Path) -> None:
    history = [
        entered("CheckInput", {"config": CONFIG}),
        entered("DataInvalid", {"config": CONFIG}),
    ]
    failed = result(
        "FAILED",
        error="DataValidationError",
        cause="DataValidationError: shapes.csv line 6 (data row 5), column 'width': ...",
        failing_state="DataInvalid",
        history=history,
    )
    page = read(run_report.write_run_report(tmp_path / "demo", failed))
    assert 'data-section="failure"' in page and 'data-section="metrics"' not in page
    assert "DataValidationError</span> in <code>DataInvalid</code>" in page
    assert "shapes.csv line 6 (data row 5)" in page
    assert CONFIG["data_uri"] in page


def test_a_run_that_trained_nothing_has_no_report(tmp_path: Path) -> None:
    assert run_report.write_run_report(tmp_path, result("SUCCEEDED", output={})) is None
