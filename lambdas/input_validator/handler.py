"""Lambda entry point: check one execution input against ``schema.json`` (see ``logic.check``).

Invoked by the state machine's first Task with ``{"input", "bucket", "defaults_json",
"execution_name"}``; answers ``{"valid", "cause", "input"}``. A refusal is an answer, not a
function error, so a crash of this function is never mistaken for bad input.
"""

from __future__ import annotations

from typing import Any

# In the zip, handler.py and logic.py sit side by side at the root; in the repository they form
# the package `lambdas.input_validator`.
try:
    from . import logic
except ImportError:
    import logic  # type: ignore[no-redef,import-not-found,unused-ignore]


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The verdict on ``event["input"]``; needs no AWS access."""
    return logic.check(event)
