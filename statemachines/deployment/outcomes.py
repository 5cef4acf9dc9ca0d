"""The outcomes of a deployment attempt: each names what happened and carries the plan's
``$.deployment`` (package, endpoint, configs, mode, start), so the finish Lambda records every
attempt under ``deployments/<endpoint>/`` and its notification names the package."""

from __future__ import annotations

from typing import Any

from stepfunctions.steps import Pass

from statemachines.common import Ending


def attempt_failed(
    ending: Ending, state_id: str, error: str, cause: str, label: str, comment: str, **extra: Any
) -> Pass:
    """A failed attempt: ``cause`` is an intrinsic or a JSONPath; ``label`` is what the record
    calls it (``rolled back``, ``smoke test failed: previous configuration restored``...)."""
    return ending.fail(
        state_id,
        error,
        cause,
        comment,
        label=label,
        **{"model_package_arn.$": "$.package.arn", "deployment.$": "$.deployment", **extra},
    )


def attempt_succeeded(ending: Ending, state_id: str, comment: str) -> Pass:
    return ending.outcome(
        state_id,
        {
            "status": "SUCCEEDED",
            "label": "deployed",
            "model_package_arn.$": "$.package.arn",
            "smoke_test.$": "$.smoke.description",
            "deployment.$": "$.deployment",
        },
        comment,
    )
