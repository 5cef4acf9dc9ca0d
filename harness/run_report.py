"""The demo's run report: a finished run handed to the product's renderer (ml/report.py).

The evaluation step already writes report.html beside evaluation.json (on AWS as here); the demo
renders the same page again with what only the finished run knows: every tuning trial, the
gate's verdict, the package, the endpoint and a prediction. A failed run gets the short failure
page, or, when the quality gate refused the model, the full page with the refusal. Reports are
kept per run beside the runtimes' directories, which every demo wipes::

    .local/reports/<execution name>/report.html
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml import report

if TYPE_CHECKING:
    from harness.demo import RunResult

REPORTS_DIR_NAME = "reports"
#: The training machine's state for a refused model (statemachines/training_pipeline.py).
GATE_FAILED_STATE = "QualityGateFailed"


def report_path(workdir: Path, execution_name: str) -> Path:
    """``<runtime dir>/../reports/<run>/report.html``: outside the directory a demo wipes."""
    return workdir.parent / REPORTS_DIR_NAME / execution_name / "report.html"


def last_state_input(
    history: Iterable[Mapping[str, Any]], name: str | None = None
) -> dict[str, Any]:
    """The input of the last state entered (named ``name``, if given) that holds the run's
    config: the machine's whole state at that point; {} when there is none."""
    found: dict[str, Any] = {}
    for event in history:
        entered = event.get("stateEnteredEventDetails") or {}
        if not entered or (name is not None and entered.get("name") != name):
            continue
        try:
            state = json.loads(entered.get("input") or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(state, dict) and "config" in state:
            found = state
    return found


def prediction_text(prediction: Mapping[str, Any] | None) -> str | None:
    if not prediction:
        return None
    shown = ", ".join(
        f"{name}={p:.3f}"
        for name, p in zip(prediction["class_names"], prediction["probabilities"], strict=True)
    )
    return f"{prediction['row']}: {prediction['label']} [{shown}]"


def success_page(result: RunResult) -> str:
    output = result.output or {}
    deployment = output.get("deployment") or {}
    run = {
        "name": result.execution_name,
        "status": result.status,
        "data_uri": output.get("data_uri"),
        "model_package_arn": output.get("model_package_arn"),
        "approval_status": output.get("approval_status"),
        "endpoint": deployment.get("endpoint_name")
        if deployment.get("deployed")
        else f"not deployed ({deployment.get('reason', 'n/a')})",
        "prediction": prediction_text(result.prediction),
    }
    gate = {"threshold": output.get("accuracy_threshold"), "passed": True}
    return report.render_success(result.evaluation or {}, tuning=result.trials, gate=gate, run=run)


def failure_page(result: RunResult, history: list[dict[str, Any]]) -> str:
    """The refused model's full page when the gate refused it, else the failure page."""
    state = last_state_input(history)
    config = state.get("config") or {}
    refused = (
        last_state_input(history, GATE_FAILED_STATE) if result.error == GATE_FAILED_STATE else {}
    )
    evaluation = (refused.get("evaluation") or {}).get("report")
    if evaluation:
        gate = {
            "threshold": config.get("accuracy_threshold"),
            "passed": False,
            "cause": result.cause,
        }
        run = {
            "name": result.execution_name,
            "status": result.status,
            "data_uri": config.get("data_uri"),
        }
        return report.render_success(evaluation, tuning=result.trials, gate=gate, run=run)
    return report.render_failure(
        {
            "error": result.error or result.status,
            "state": result.failing_state,
            "cause": result.cause or f"the run ended {result.status} without a cause",
            "run": result.execution_name,
            "data_uri": config.get("data_uri"),
        }
    )


def write_run_report(
    workdir: Path, result: RunResult, history: list[dict[str, Any]]
) -> Path | None:
    """Render the finished run's report and keep it under its name; return its path (None for
    a run that succeeded without training, such as deploying an approved package)."""
    if result.status == "SUCCEEDED":
        if result.evaluation is None:
            return None
        page = success_page(result)
    else:
        page = failure_page(result, history)
    return report.write_report(report_path(workdir, result.execution_name), page)
