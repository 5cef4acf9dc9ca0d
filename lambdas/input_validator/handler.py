"""Lambda entry point: check one execution input against the schema (``contracts.execution_input``).

Invoked by the state machine's first Task with ``{"input", "bucket", "defaults_json",
"execution_name"}``; answers ``{"valid", "cause", "input"}``. A refusal is an answer, not a
function error, so a crash of this function is never mistaken for bad input.
"""

from __future__ import annotations

from typing import Any

from contracts import execution_input


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The verdict on ``event["input"]``; needs no AWS access."""
    return execution_input.check(event)
