"""Check a training execution input against ``execution_input.json``: pure functions, no AWS.

Every problem is one sentence naming the field, the value given and what is allowed, e.g.
``max_tuning_jobs: got 2.5; allowed: a whole number from 1 to 500``; an unknown key also gets the
closest valid key (``difflib``). The state machine (through this Lambda), the ops CLI and the
reference table (docs/reference.md) all read the same schema.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

# One rule for a model package metadata value (botocore's CustomerMetadataValue pattern).
from contracts.registry import METADATA_PUNCTUATION, metadata_safe

SCHEMA_PATH = Path(__file__).resolve().with_name("execution_input.json")
#: Prefix of every cause, so a reader of ``make status`` sees at once what kind of failure it is.
CAUSE_PREFIX = "Execution input is invalid: "
#: A value longer than this is shortened in a cause: the cause names a value, it does not dump it.
VALUE_CHARS = 80
#: botocore's sagemaker model, shape ModelPackageArn (pattern, max 2048).
MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:model-package/[\S]{1,2048}$"
)


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def field_names() -> list[str]:
    return list(schema()["fields"])


def shown(value: Any) -> str:
    """``value`` as JSON, shortened: enough to recognise, never the whole config."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 3] + "..."


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    return "null"


def allowed(name: str, bucket: str, merged: Mapping[str, Any] | None = None) -> str:
    """What ``name`` accepts, in words (the reference table and every cause use this)."""
    spec = schema()["fields"][name]
    kind = spec["type"]
    if kind == "boolean":
        return "true or false"
    if kind == "number":
        return f"a number from {spec['minimum']} to {spec['maximum']}"
    if kind == "integer":
        text = f"a whole number from {spec['minimum']} to {spec['maximum']}"
        other = spec.get("at_most")
        if other:
            limit = (merged or {}).get(other)
            text += f" and at most {other}" + (f" ({shown(limit)})" if limit is not None else "")
        return text
    if kind == "s3_uri":
        prefixes = " or ".join(f"s3://{bucket}/{p}..." for p in schema()["data_uri_prefixes"])
        return f"an object URI {prefixes}"
    if kind == "s3_version_id":
        return f"an S3 version id: text of 1 to {S3_VERSION_ID_MAX} characters"
    if kind == "model_package_arn":
        return (
            "a SageMaker model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/...)"
        )
    if kind == "column_name":
        return (
            f"a column name of 1 to {spec['max_length']} letters, digits, spaces or "
            f"{' '.join(METADATA_PUNCTUATION)} (it is stored in the model package metadata, "
            "which refuses other characters)"
        )
    if kind == "column_list":
        return (
            f"[] (derive from the data) or a JSON array of at least {spec['min_items']} distinct, "
            f"non-empty names whose compact JSON text fits {COLUMN_LIST_TEXT_MAX} characters "
            "(a SageMaker processing container argument)"
        )
    raise ValueError(f"execution_input.json: field {name} has an unknown type {kind!r}")


#: "Version IDs are Unicode, UTF-8 encoded, URL-ready, opaque strings that are no more than 1,024
#: bytes long" (S3 user guide, "How S3 Versioning works").
S3_VERSION_ID_MAX = 1024
#: The lists travel as JSON text in a pipeline parameter (String1024) and then reach prepare.py as
#: ONE processing container argument: botocore's sagemaker model caps a ContainerArgument at 256
#: characters, so 256 is the binding limit (a longer list would pass this check and fail
#: PrepareData's CreateProcessingJob after the run started).
COLUMN_LIST_TEXT_MAX = 256


def compact_json(value: Any) -> str:
    """``value`` as States.JsonToString writes it: no spaces between items."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_integer(value: Any) -> bool:
    # JSON 2.0 and 1e3 arrive as floats: Wait's SecondsPath and SageMaker's integer parameters
    # refuse them, so only a JSON integer is whole. bool is an int in Python, not in JSON.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _value_ok(name: str, value: Any, bucket: str, merged: Mapping[str, Any]) -> bool:
    spec = schema()["fields"][name]
    kind = spec["type"]
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("number", "integer"):
        if not (_is_integer(value) if kind == "integer" else _is_number(value)):
            return False
        if not spec["minimum"] <= value <= spec["maximum"]:
            return False
        other = spec.get("at_most")
        limit = merged.get(other) if other else None
        return not (_is_integer(limit) and value > limit)
    if kind == "s3_uri":
        if not isinstance(value, str):
            return False
        uri_bucket, _, key = value.removeprefix("s3://").partition("/")
        return (
            value.startswith("s3://")
            and uri_bucket == bucket
            and any(
                key.startswith(p) and len(key) > len(p) and not key.endswith("/")
                for p in schema()["data_uri_prefixes"]
            )
        )
    if kind == "s3_version_id":
        return isinstance(value, str) and 0 < len(value) <= S3_VERSION_ID_MAX
    if kind == "model_package_arn":
        return isinstance(value, str) and MODEL_PACKAGE_ARN.match(value) is not None
    if kind == "column_name":
        return (
            isinstance(value, str) and 0 < len(value) <= spec["max_length"] and metadata_safe(value)
        )
    if kind == "column_list":
        if not isinstance(value, list):
            return False
        if not value:
            return True  # derive from the data
        return (
            len(value) >= spec["min_items"]
            and all(isinstance(item, str) and item != "" for item in value)
            and len(set(value)) == len(value)
            and len(compact_json(value)) <= COLUMN_LIST_TEXT_MAX
        )
    raise ValueError(f"execution_input.json: field {name} has an unknown type {kind!r}")


def unknown_key_problem(key: str, value: Any) -> str:
    names = field_names()
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{key}: unknown key{hint}, got {shown(value)}; allowed keys: {', '.join(sorted(names))}"


def name_problem(execution_name: str) -> str | None:
    refused = [c for c in schema()["execution_name_refused_characters"] if c in execution_name]
    if not refused:
        return None
    return (
        f"execution name: got {shown(execution_name)}; allowed: a name without "
        f"{' '.join(schema()['execution_name_refused_characters'])} (it is stored in the model "
        "package metadata, which refuses them)"
    )


def problems(
    value: Any,
    *,
    bucket: str,
    defaults: Mapping[str, Any] | None = None,
    execution_name: str | None = None,
) -> list[str]:
    """Every problem of the execution input ``value`` (merged over ``defaults``), in key order."""
    found: list[str] = []
    if execution_name is not None:
        bad_name = name_problem(execution_name)
        if bad_name:
            found.append(bad_name)
    if not isinstance(value, dict):
        found.append(
            f"execution input: got {shown(value)} ({_json_kind(value)}); allowed: a JSON object "
            f"with keys among {', '.join(sorted(field_names()))}"
        )
        return found
    fields = schema()["fields"]
    merged = {**(defaults or {}), **value}
    for key in value:
        if key not in fields:
            found.append(unknown_key_problem(key, value[key]))
    for name in fields:
        if name in merged and not _value_ok(name, merged[name], bucket, merged):
            origin = "" if name in value else " (Terraform's default)"
            found.append(
                f"{name}: got {shown(merged[name])}{origin}; "
                f"allowed: {allowed(name, bucket, merged)}"
            )
    return found


def cause(found: list[str]) -> str:
    return CAUSE_PREFIX + "; ".join(found) + "."


def pipeline_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline parameters the merged input sets directly: each field's
    ``pipeline_parameter`` (contracts/execution_input.json) with the field's value."""
    return {
        spec["pipeline_parameter"]: config[name]
        for name, spec in schema()["fields"].items()
        if spec.get("pipeline_parameter")
    }


def default_shown(name: str) -> str:
    """Where ``name``'s default comes from, in words: the Terraform variable that holds it, the
    seed object Terraform uploads (data_uri), or none."""
    spec = schema()["fields"][name]
    if spec["terraform_variable"]:
        return f"Terraform {spec['terraform_variable']}"
    return "none" if spec["default"] is None else str(spec["default"])


def markdown_table(bucket: str = "<bucket>") -> str:
    """The input table of docs/reference.md, rendered from the schema."""
    rows = ["| Key | Allowed | Default | What |", "|---|---|---|---|"]
    for name, spec in schema()["fields"].items():
        what = allowed(name, bucket)
        if spec.get("at_most"):
            what = what.replace(f"at most {spec['at_most']}", f"at most `{spec['at_most']}`")
        rows.append(f"| `{name}` | {what} | {default_shown(name)} | {spec['description']} |")
    return "\n".join(rows) + "\n"


#: S3 object metadata an upload may carry (``x-amz-meta-<name>``) -> the execution input key it
#: sets, so a run started by that upload trains with the uploader's dataset settings. Lists are
#: JSON text; anything else arrives as given and the check refuses it with the field's words.
UPLOAD_METADATA: dict[str, str] = {
    "label-column": "label_column",
    "feature-columns": "feature_columns",
    "class-order": "class_order",
}


def dataset_settings(
    label_column: str, feature_columns: Any = None, class_order: Any = None
) -> dict[str, Any]:
    """The dataset settings an upload carries (what ``make train`` and the demo send); a list
    that is None is left to the run's default."""
    given = {
        "label_column": label_column,
        "feature_columns": feature_columns,
        "class_order": class_order,
    }
    return {field: value for field, value in given.items() if value is not None}


def metadata_for_settings(settings: Mapping[str, Any]) -> dict[str, str]:
    """The S3 user metadata that carries ``settings`` to the run an upload starts (lists as
    JSON): the inverse of ``settings_from_metadata``."""
    metadata = {}
    for meta_key, field in UPLOAD_METADATA.items():
        value = settings.get(field)
        if value is not None:
            metadata[meta_key] = value if isinstance(value, str) else json.dumps(value)
    return metadata


def settings_from_metadata(metadata: Mapping[str, str]) -> dict[str, Any]:
    """The execution-input settings an upload's user metadata names (S3 lowercases the keys)."""
    settings: dict[str, Any] = {}
    for meta_key, field in UPLOAD_METADATA.items():
        if meta_key not in metadata:
            continue
        text = metadata[meta_key]
        if schema()["fields"][field]["type"] == "column_list":
            try:
                settings[field] = json.loads(text)
            except ValueError:
                settings[field] = text
        else:
            settings[field] = text
    return settings
