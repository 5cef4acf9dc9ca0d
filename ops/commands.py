"""The names the harness and an end-to-end test still import from the operations' former single
module; new code imports the modules that hold them (``ops.executions``, ``ops.logs``,
``ops.serving``, ``ops.predict``). Delete this module once nothing imports it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts import evaluation
from ops.executions import failed_state, history, start_execution, wait_for_execution
from ops.logs import recent_log_events
from ops.predict import predict
from ops.serving import contract_of


def f1_of(report: Mapping[str, Any] | None) -> float | None:
    """The report's F1 (binary ``f1`` or multiclass ``weighted_f1``), None without one."""
    try:
        return evaluation.f1(report) if report else None
    except evaluation.ReportError:
        return None


__all__ = [
    "contract_of",
    "f1_of",
    "failed_state",
    "history",
    "predict",
    "recent_log_events",
    "start_execution",
    "wait_for_execution",
]
