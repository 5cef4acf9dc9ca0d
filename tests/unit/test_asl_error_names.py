"""The committed ASL's Retry and Catch name only errors their Task can report, as
emulator/sfn_errors.py names them from AWS's rules (its tests: emulator/tests/test_sfn_errors.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.sfn_errors import STATES_ERRORS, possible_error_names
from statemachines import BY_NAME, MACHINES

MACHINE_NAMES = [m.name for m in MACHINES]


def _tasks(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, s) for n, s in definition["States"].items() if s["Type"] == "Task"]


def impossible_error_names(definition: dict[str, Any]) -> list[str]:
    """``state: name`` for every Retry/Catch name its Task can never report."""
    found = []
    for name, state in _tasks(definition):
        possible = possible_error_names(state["Resource"]) | STATES_ERRORS
        for handler in state.get("Retry", []) + state.get("Catch", []):
            found += [f"{name}: {e}" for e in handler["ErrorEquals"] if e not in possible]
    return found


def _definition(name: str) -> dict[str, Any]:
    return BY_NAME[name].build()


@pytest.mark.parametrize("machine", MACHINE_NAMES)
def test_every_error_name_in_the_asl_can_occur_for_its_task(machine: str) -> None:
    assert impossible_error_names(_definition(machine)) == []


@pytest.mark.parametrize("machine", MACHINE_NAMES)
def test_the_check_finds_a_name_that_cannot_occur(machine: str) -> None:
    definition = _definition(machine)
    name, state = _tasks(definition)[0]
    state.setdefault("Retry", []).append({"ErrorEquals": ["SageMaker.InternalFailure"]})
    assert f"{name}: SageMaker.InternalFailure" in impossible_error_names(definition)
