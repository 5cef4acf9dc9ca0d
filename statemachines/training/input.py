"""CheckInput -> InputChecked -> Snapshot: the input, checked and normalized in Python, then the
exact object version copied into the run's own prefix.

The input-check Lambda (``lambdas/input_validator``) answers the whole initial state: the merged
configuration, the data location (bucket, key, pinned version), the pipeline parameters, the
registration's description and metadata, and the poll counters. The ASL does no string work.
"""

from __future__ import annotations

from stepfunctions.steps import Catch, Choice, ChoiceRule
from stepfunctions.steps.states import State

from statemachines.common import EXECUTION_NAME, Ending, lambda_task
from statemachines.sdk_ext import Task


def input_phase(ending: Ending, pipeline: State) -> Task:
    """Returns CheckInput; ``pipeline`` follows a snapshot of an accepted input."""
    check_input = lambda_task(
        "CheckInput",
        "input_validator_function_arn",
        {"input.$": "$", "execution_name.$": EXECUTION_NAME},
        comment="Schema, defaults merged once, data location parsed and pinned, champion found.",
        output_path="$.Payload",
    )
    # The Lambda answers refusals; a crash is not the input's fault: its own name. The Catch
    # replaces the state because a non-object input ([], 3) cannot take a ResultPath field.
    check_failed = ending.fail(
        "InputCheckFailed",
        "InputCheckFailed",
        "States.Format('The execution input could not be checked: {} ({})', $.Cause, $.Error)",
        "The input-check Lambda failed (after retries).",
    )
    check_input.add_catch(
        Catch(error_equals=["States.ALL"], next_step=check_failed, result_path="$")
    )
    input_checked = Choice("InputChecked", comment="Did the input pass the check?")
    invalid_input = ending.outcome(
        "InvalidInput",
        {"status": "FAILED", "error.$": "$.error", "cause.$": "$.cause", "state": "InvalidInput"},
        "Refused before anything started; the cause names each bad field or the object's problem.",
    )
    snapshot = lambda_task(
        "Snapshot",
        "snapshot_function_arn",
        {"data.$": "$.data"},
        comment="Copy the pinned object version into runs/<execution>/input/ (multipart-safe).",
        result_path="$.snapshot",
        result_selector={"uri.$": "$.Payload.uri", "version_id.$": "$.Payload.version_id"},
    )
    ending.catch_all(
        snapshot,
        ending.caught(
            "SnapshotFailed",
            "InputUnreadable",
            "Could not copy the object data_uri names into the run",
            **{"data_uri.$": "$.config.data_uri"},
        ),
    )
    check_input.next(input_checked)
    input_checked.add_choice(ChoiceRule.BooleanEquals("$.valid", True), snapshot)
    input_checked.default_choice(invalid_input)
    snapshot.next(pipeline)
    return check_input
