"""Generate ``terraform/execution_input.generated.tf`` from ``contracts/execution_input.json``.

The execution input's schema is the one home of each setting's default, bounds, allowed
characters and description. Terraform mirrors the settings a deployment may change as variables;
this module writes those variables (with ``validation`` blocks that say what the schema allows, in
the validator's own words) and the ``execution_defaults`` map the state machine merges under every
input. ``python -m devtools.execution_input_tf`` writes the file, ``--check`` exits 1 when it is
stale (``make definitions`` / ``make check-definitions``). The text is laid out as
``terraform fmt`` lays it out, so the committed file passes ``terraform fmt -check``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from contracts import execution_input as schema_module
from devtools.generated import ROOT, write_or_check

OUTPUT = ROOT / "terraform" / "execution_input.generated.tf"
COMMAND = "make definitions"
HEADER = (
    "# Generated from contracts/execution_input.json by `make definitions`\n"
    "# (python -m devtools.execution_input_tf): do not edit; change the schema and regenerate.\n"
    "# The Terraform variables that hold the execution input's defaults, with the schema's bounds\n"
    "# as validation, and the defaults map every execution merges its input over.\n"
)
#: Terraform types of the schema's value types that a Terraform variable can hold.
TERRAFORM_TYPES = {
    "boolean": "bool",
    "number": "number",
    "integer": "number",
    "column_name": "string",
    "column_list": "list(string)",
}


class SchemaError(ValueError):
    """The schema asks for something this generator cannot express in Terraform."""


def hcl_string(text: str) -> str:
    """``text`` as an HCL quoted string (JSON escapes are HCL escapes; no template sequences)."""
    if "${" in text or "%{" in text:
        raise SchemaError(f"text would be a Terraform template sequence: {text!r}")
    return json.dumps(text, ensure_ascii=False)


def hcl_value(value: Any) -> str:
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(hcl_value(item) for item in value) + "]"
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    raise SchemaError(f"no Terraform literal for the default {value!r}")


def metadata_regex() -> str:
    """RE2 for a model package metadata value (botocore's sagemaker model, CustomerMetadataValue:
    ``[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*``), from the punctuation the validator allows."""
    punctuation = "".join(
        "\\" + c if c in "\\]^-" else c for c in schema_module.METADATA_PUNCTUATION
    )
    return f"^[\\p{{L}}\\p{{Z}}\\p{{N}}{punctuation}]+$"


def variable_of(field: str) -> str:
    name = schema_module.schema()["fields"][field]["terraform_variable"]
    if not name:
        raise SchemaError(f"{field} has no terraform_variable, so no Terraform rule can name it")
    return str(name)


def conditions(field: str, spec: dict[str, Any]) -> list[str]:
    """The schema's rules for ``field`` as Terraform expressions over its variable."""
    ref = f"var.{spec['terraform_variable']}"
    kind = spec["type"]
    if kind == "boolean":
        return []
    if kind in ("number", "integer"):
        found = [f"{ref} >= {spec['minimum']}", f"{ref} <= {spec['maximum']}"]
        if kind == "integer":
            found.append(f"floor({ref}) == {ref}")
        if spec.get("at_most"):
            found.append(f"{ref} <= var.{variable_of(spec['at_most'])}")
        return found
    if kind == "column_name":
        return [
            f"length({ref}) >= 1",
            f"length({ref}) <= {spec['max_length']}",
            f"can(regex({hcl_string(metadata_regex())}, {ref}))",
        ]
    if kind == "column_list":
        # jsonencode() escapes <, > and & as \u003c... (Go's encoding/json), so Terraform counts
        # such names longer than the validator does: the stricter reading of the 256 limit.
        found = [
            f"length(distinct({ref})) == length({ref})",
            f'alltrue([for c in {ref} : c != ""])',
            f"length(jsonencode({ref})) <= {schema_module.COLUMN_LIST_TEXT_MAX}",
        ]
        if spec["min_items"] > 1:
            found.insert(0, f"(length({ref}) == 0 || length({ref}) >= {spec['min_items']})")
        return found
    raise SchemaError(f"{field}: a {kind} field cannot be a Terraform variable")


def error_message(field: str, spec: dict[str, Any]) -> str:
    """What the variable accepts, in the words the validator uses for the execution input."""
    text = schema_module.allowed(field, "<bucket>")
    other = spec.get("at_most")
    if other:
        text = text.replace(f"at most {other}", f"at most {variable_of(other)}")
    return f"{spec['terraform_variable']} must be {text}."


def aligned(pairs: list[tuple[str, str]], indent: str) -> list[str]:
    """``key = value`` lines with the ``=`` aligned, as ``terraform fmt`` aligns a run of them."""
    width = max(len(key) for key, _ in pairs)
    return [f"{indent}{key.ljust(width)} = {value}" for key, value in pairs]


def variable_block(field: str, spec: dict[str, Any]) -> list[str]:
    if spec["type"] not in TERRAFORM_TYPES:
        raise SchemaError(f"{field}: a {spec['type']} field cannot be a Terraform variable")
    description = (
        f"{spec['description']} Default of the execution input's {field}, which a run may override."
    )
    lines = [f'variable "{spec["terraform_variable"]}" {{']
    lines += aligned(
        [
            ("description", hcl_string(description)),
            ("type", TERRAFORM_TYPES[spec["type"]]),
            ("default", hcl_value(spec["default"])),
            ("nullable", "false"),
        ],
        "  ",
    )
    rules = conditions(field, spec)
    if rules:
        lines += ["", "  validation {"]
        lines += aligned(
            [
                ("condition", " && ".join(rules)),
                ("error_message", hcl_string(error_message(field, spec))),
            ],
            "    ",
        )
        lines.append("  }")
    return [*lines, "}"]


def default_expressions() -> Iterator[tuple[str, str]]:
    """(field, Terraform expression) of every field that has a default."""
    for field, spec in schema_module.schema()["fields"].items():
        if spec["terraform_variable"]:
            yield field, f"var.{spec['terraform_variable']}"
        elif spec.get("terraform_local"):
            yield field, f"local.{spec['terraform_local']}"
        elif spec["default"] is not None:
            raise SchemaError(f"{field} has a default but no terraform_variable or terraform_local")


def render() -> str:
    blocks: list[list[str]] = []
    for field, spec in schema_module.schema()["fields"].items():
        if spec["terraform_variable"]:
            blocks.append(variable_block(field, spec))
    locals_block = [
        "# Every execution's input is merged over these (the state machine's defaults_json).",
        "locals {",
        "  execution_defaults = {",
        *aligned(list(default_expressions()), "    "),
        "  }",
        "}",
    ]
    blocks.append(locals_block)
    return HEADER + "\n" + "\n\n".join("\n".join(block) for block in blocks) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.execution_input_tf", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    return write_or_check(OUTPUT, render(), check=args.check, regenerate=COMMAND)


if __name__ == "__main__":
    sys.exit(main())
