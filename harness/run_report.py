"""The demo's run report: a finished run handed to the product's renderer (ml/report.py).

The evaluation step already writes report.html beside evaluation.json (on AWS as here); the demo
renders the same page again with what only the finished run knows: every tuning trial, the
gate's verdict, the package, the endpoint and a prediction. A failed run gets the short failure
page, or, when the quality gate refused the model, the full page with the refusal. Reports are
kept per run beside the runtimes' directories, which every demo wipes::

    .local/reports/<execution name>/report.html
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.follow import last_state
from harness.summary import run_state
from ml import report

if TYPE_CHECKING:
    from harness.follow import RunResult

REPORTS_DIR_NAME = "reports"
#: The training machine's error for a refused model (statemachines/training/promotion.py).
GATE_FAILED_STATE = "QualityGateFailed"


def report_path(workdir: Path, execution_name: str) -> Path:
    """``<runtime dir>/../reports/<run>/report.html``: outside the directory a demo wipes."""
    return workdir.parent / REPORTS_DIR_NAME / execution_name / "report.html"


def prediction_text(prediction: Mapping[str, Any] | None) -> str | None:
    if not prediction:
        return None
    shown = ", ".join(
        f"{name}={p:.3f}"
        for name, p in zip(prediction["class_names"], prediction["probabilities"], strict=True)
    )
    return f"{prediction['row']}: {prediction['label']} [{shown}]"


def endpoint_text(result: RunResult) -> str:
    deployment = result.deployment
    if deployment is None:
        return "not deployed"
    outcome = (deployment.output or {}).get("outcome") or {}
    if deployment.status != "SUCCEEDED":
        return f"deployment {deployment.execution_name} failed: {deployment.error}"
    if outcome.get("status") == "SKIPPED":
        return f"not deployed ({outcome.get('reason')})"
    return str((outcome.get("deployment") or {}).get("endpoint_name"))


def gate_of(summary: Mapping[str, Any], passed: bool, cause: str | None = None) -> dict[str, Any]:
    gate = dict(summary.get("gate") or {})
    gate["passed"] = passed
    if cause:
        gate["cause"] = cause
    return gate


def success_page(result: RunResult) -> str:
    state = run_state(result)
    summary = (state.get("evaluation") or {}).get("summary") or {}
    outcome = state.get("outcome") or {}
    run = {
        "name": result.execution_name,
        "status": result.status,
        "data_uri": (state.get("config") or {}).get("data_uri"),
        "model_package_arn": outcome.get("model_package_arn"),
        "approval_status": outcome.get("approval_status"),
        "endpoint": endpoint_text(result),
        "prediction": prediction_text(result.prediction),
    }
    return report.render_success(
        result.evaluation or {}, tuning=result.trials, gate=gate_of(summary, True), run=run
    )


def failure_page(result: RunResult) -> str:
    """The refused model's full page when the gate refused it, else the failure page."""
    state = run_state(result)
    config = state.get("config") or last_state(result.history, "config").get("config") or {}
    if result.error == GATE_FAILED_STATE and result.evaluation is not None:
        summary = (state.get("evaluation") or {}).get("summary") or {}
        run = {
            "name": result.execution_name,
            "status": result.status,
            "data_uri": config.get("data_uri"),
        }
        return report.render_success(
            result.evaluation,
            tuning=result.trials,
            gate=gate_of(summary, False, result.cause),
            run=run,
        )
    return report.render_failure(
        {
            "error": result.error or result.status,
            "state": result.failing_state,
            "cause": result.cause or f"the run ended {result.status} without a cause",
            "run": result.execution_name,
            "data_uri": config.get("data_uri"),
        }
    )


def write_run_report(workdir: Path, result: RunResult) -> Path | None:
    """Render the finished run's report and keep it under its name; return its path."""
    if result.status == "SUCCEEDED":
        if result.evaluation is None:
            return None
        page = success_page(result)
    else:
        page = failure_page(result)
    return report.write_report(report_path(workdir, result.execution_name), page)
