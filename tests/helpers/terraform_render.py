"""Parts of terraform/ as Terraform renders them, for tests that build the same resources on the
emulator: policy documents, event patterns and argument values, with every ``${...}`` reference
given a value by the test. A reference the test gives no value fails the test by name, so a new
reference in Terraform cannot pass unnoticed.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_EACH_KEY_IS = re.compile(r'^\$\{each\.key == "([a-z_]+)" \? \[1\] : \[\]\}$')


@functools.cache
def _parsed(file: str) -> dict[str, Any]:
    with (TERRAFORM / file).open() as handle:
        return dict(hcl2.load(handle, serialization_options=HCL))


def block(file: str, kind: str, type_: str, name: str) -> dict[str, Any]:
    """``<kind> "<type_>" "<name>"`` of terraform/``file`` as parsed (``locals``: type_ and name
    name the local; ``module``: type_ is ignored)."""
    for entry in _parsed(file).get(kind, []):
        if kind == "locals" and type_ in entry:
            return dict(entry[type_])
        found = entry.get(name) if kind == "module" else entry.get(type_, {}).get(name)
        if found is not None:
            return dict(found)
    raise AssertionError(f"no {kind} {type_} {name} in terraform/{file}")


def render(node: Any, values: dict[str, Any]) -> Any:
    """``node`` with each ``${reference}`` replaced by ``values[reference]``; a string that is
    one reference to a list becomes that list (inside a list, its items)."""
    if isinstance(node, dict):
        return {key: render(value, values) for key, value in node.items()}
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            rendered = render(item, values)
            out.extend(
                rendered if isinstance(item, str) and isinstance(rendered, list) else [rendered]
            )
        return out
    if not isinstance(node, str):
        return node
    whole = _REFERENCE.fullmatch(node)
    if whole and isinstance(values.get(whole[1]), list):
        return list(values[whole[1]])
    unknown = [ref for ref in _REFERENCE.findall(node) if ref not in values]
    assert not unknown, f"no value for the Terraform reference(s) {unknown} in {node!r}"
    return _REFERENCE.sub(lambda m: str(values[m[1]]), node)


def policy(file: str, name: str, values: dict[str, Any], each_key: str | None = None) -> Any:
    """``data "aws_iam_policy_document" name`` as the JSON policy Terraform renders: its
    statements, and the ``dynamic "statement"`` blocks whose ``for_each`` selects ``each_key``."""
    document = block(file, "data", "aws_iam_policy_document", name)
    statements = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        selector = _EACH_KEY_IS.fullmatch(dynamic["statement"]["for_each"])
        assert selector, f"unknown dynamic statement selector in {name}: {dynamic}"
        if selector[1] == each_key:
            statements += dynamic["statement"]["content"]
    return {
        "Version": "2012-10-17",
        "Statement": [_statement(render(s, values)) for s in statements],
    }


def _statement(statement: dict[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "Sid": statement.get("sid", ""),
        "Effect": statement.get("effect", "Allow"),
        "Action": statement["actions"],
        "Resource": statement["resources"],
    }
    principals = {p["type"]: p["identifiers"] for p in statement.get("principals", [])}
    if principals:
        rendered["Principal"] = "*" if principals == {"*": ["*"]} else principals
    for condition in statement.get("condition", []):
        tests = rendered.setdefault("Condition", {}).setdefault(condition["test"], {})
        tests[condition["variable"]] = condition["values"]
    return rendered


def event_pattern(expression: str, values: dict[str, Any]) -> dict[str, Any]:
    """An ``event_pattern = jsonencode({...})`` as the JSON EventBridge receives."""
    match = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expression, flags=re.DOTALL)
    assert match, f"not a jsonencode(...) pattern: {expression!r}"
    text = re.sub(r"([{,]\s*)([A-Za-z][\w-]*)\s*=", r'\1"\2":', match[1])

    def value(reference: re.Match[str]) -> str:
        assert reference[1] in values, f"no value for {reference[1]} in the pattern"
        return json.dumps(values[reference[1]])

    text = re.sub(r"(?<![\w\".-])((?:local|each|var)\.[\w.]+)", value, text)
    return dict(json.loads(text))
