"""The project's Step Functions state machines, defined in Python and exported to committed ASL.

- ``training``: check the input, snapshot it, run the pipeline, read its summary, gate, register.
- ``deployment``: deploy one approved model package, guarded, smoke-tested and recorded.
- ``monitoring``: judge the endpoint's captured traffic for drift; on drift, retrain if asked.

``common`` holds what they share (the poll loop, the one way to end).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from statemachines import deployment, monitoring, training


@dataclass(frozen=True)
class Machine:
    name: str
    asl_path: Path
    placeholders: frozenset[str]
    build: Callable[[], dict[str, Any]]


MACHINES: tuple[Machine, ...] = (
    Machine("training", training.ASL_PATH, training.PLACEHOLDERS, training.build_definition),
    Machine(
        "deployment", deployment.ASL_PATH, deployment.PLACEHOLDERS, deployment.build_definition
    ),
    Machine(
        "monitoring", monitoring.ASL_PATH, monitoring.PLACEHOLDERS, monitoring.build_definition
    ),
)
BY_NAME = {machine.name: machine for machine in MACHINES}


def definition_json(machine: Machine) -> str:
    """The ASL text exactly as committed (stable key order, two-space indent, final newline)."""
    return json.dumps(machine.build(), indent=2, ensure_ascii=False) + "\n"
