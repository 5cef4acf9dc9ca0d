"""The Terraform variables table, rendered from ``terraform/variables.tf`` and the execution
settings generated from the execution input's schema (``terraform/execution_input.generated.tf``).

``devtools.reference`` (``make docs``) writes it into docs/reference.md; a unit test fails when
the committed table is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2

from devtools.generated import ROOT

VARIABLES_TF = ROOT / "terraform" / "variables.tf"
GENERATED_TF = ROOT / "terraform" / "execution_input.generated.tf"


def variables(*paths: Path) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path in paths or (VARIABLES_TF, GENERATED_TF):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("variable", []):
            for name, body in block.items():
                found.append((name.strip('"'), body))
    return found


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps HCL string quotes (``'"text"'``); turn them into the string."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items()}
    return value


def _type(body: dict[str, Any]) -> str:
    text = str(body.get("type", "any"))
    return text.removeprefix("${").removesuffix("}")


def _default(body: dict[str, Any]) -> str:
    if "default" not in body:
        return "**required**"
    value = _unquote(body["default"])
    if isinstance(value, str) and value.startswith("${"):
        value = value.removeprefix("${").removesuffix("}")
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    text = " ".join(str(text).split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def table(*paths: Path) -> str:
    rows = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, body in variables(*paths):
        rows.append(
            f"| `{name}` | `{_cell(_type(body))}` | {_cell(_default(body))} "
            f"| {_cell(_unquote(body.get('description', '')))} |"
        )
    return "\n".join(rows)
