"""A Mermaid flowchart of a machine, drawn from its committed ASL (never kept by hand).

``python -m statemachines`` writes ``docs/<machine>-machine.md``; a test fails when it is stale.
Tasks are boxes, choices diamonds, passes rounded boxes, waits stadiums, ends circles; a dotted
arrow is a ``Catch``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1] / "docs"
SHAPES = {
    "Task": ("[", "]"),
    "Choice": ("{", "}"),
    "Pass": ("(", ")"),
    "Wait": ("([", "])"),
    "Succeed": ("((", "))"),
    "Fail": ("((", "))"),
}


def diagram_path(machine: str) -> Path:
    return DOCS / f"{machine}-machine.md"


def _edges(name: str, state: Mapping[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield f"    {name} --> {state['Next']}"
    for choice in state.get("Choices", []):
        yield f"    {name} -->|{_condition(choice)}| {choice['Next']}"
    if "Default" in state:
        yield f"    {name} -->|otherwise| {state['Default']}"
    for catch in state.get("Catch", []):
        yield f"    {name} -.->|catch| {catch['Next']}"


def _condition(choice: Mapping[str, Any]) -> str:
    """A short label: the compared value of the first rule (enough to read the branch)."""
    rule = choice
    while "Variable" not in rule:
        nested = rule.get("And") or rule.get("Or") or ([rule["Not"]] if "Not" in rule else None)
        if not nested:
            return "when"
        rule = nested[0]
    for key, value in rule.items():
        if key not in ("Variable", "Next"):
            text = value if isinstance(value, str) else json.dumps(value)
            text = text.replace("$.", "").replace('"', "'")
            prefix = "not " if "Not" in choice else ""
            more = " ..." if ("And" in choice or "Or" in choice) else ""
            return f"{prefix}{text}{more}"[:40]
    return "when"


def mermaid(asl_text: str) -> str:
    definition = json.loads(asl_text)
    lines = ["flowchart TD", f"    start((start)) --> {definition['StartAt']}"]
    for name, state in definition["States"].items():
        left, right = SHAPES.get(state["Type"], ("[", "]"))
        lines.append(f'    {name}{left}"{name}"{right}')
    for name, state in definition["States"].items():
        lines.extend(_edges(name, state))
    return "\n".join(lines) + "\n"


def _does(state: Mapping[str, Any]) -> str:
    """What a state does, in a table cell: its comment, else its integration or type."""
    text = state.get("Comment") or ""
    if not text and state["Type"] == "Task":
        resource = str(state.get("Resource", ""))
        text = resource.split(":::", 1)[-1] if ":::" in resource else resource
    return text.replace("|", "\\|").replace("\n", " ")


def _next(state: Mapping[str, Any]) -> str:
    targets = [state[k] for k in ("Next", "Default") if k in state]
    targets += [c["Next"] for c in state.get("Choices", [])]
    targets += [f"{c['Next']} (catch)" for c in state.get("Catch", [])]
    return ", ".join(dict.fromkeys(targets)) or "(end)"


def states_table(asl_text: str) -> str:
    rows = ["| State | Type | What it does | Next |", "|---|---|---|---|"]
    for name, state in json.loads(asl_text)["States"].items():
        rows.append(f"| `{name}` | {state['Type']} | {_does(state)} | {_next(state)} |")
    return "\n".join(rows) + "\n"


def mermaid_page(machine: str, asl_text: str) -> str:
    states = json.loads(asl_text)["States"]
    return (
        f"# The {machine} state machine\n\n"
        f"Generated from `statemachines/{machine}.asl.json` by `make definitions`; do not edit.\n"
        f"{len(states)} states.\n\n"
        "## Contents\n\n- [Diagram](#diagram)\n- [States](#states)\n\n"
        "## Diagram\n\n"
        "Boxes are tasks, diamonds choices, rounded boxes passes, stadiums waits, circles the "
        "ends; a dotted arrow is a `Catch`.\n\n"
        f"```mermaid\n{mermaid(asl_text)}```\n\n"
        "## States\n\n"
        f"{states_table(asl_text)}"
    )
