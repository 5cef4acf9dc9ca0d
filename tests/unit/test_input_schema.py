"""The execution-input schema (contracts.execution_input) and its consumers kept in agreement."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from contracts import execution_input as logic
from devtools import reference
from ops import training
from ops.errors import ConfigError
from statemachines import BY_NAME

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "proj-bucket"
DEFAULTS = {
    "data_uri": f"s3://{BUCKET}/data/seed/iris.csv",
    "label_column": "species",
    "feature_columns": [],
    "class_order": [],
    "accuracy_threshold": 0.9,
    "deploy": False,
    "auto_approve": False,
    "poll_interval_seconds": 60,
    "max_polls": 120,
    "champion_margin": 0.0,
    "max_tuning_jobs": 9,
    "parallel_tuning_jobs": 3,
}

# (input, field named in the cause, what the cause must say is allowed)
REFUSALS: list[tuple[Any, str, str]] = [
    ({"deplyo": False}, "deplyo", "did you mean deploy?"),
    ({"max_tuning_jobs": 2.5}, "max_tuning_jobs", "a whole number from 1 to 500"),
    ({"max_tuning_jobs": 0}, "max_tuning_jobs", "a whole number from 1 to 500"),
    ({"max_tuning_jobs": 10000}, "max_tuning_jobs", "a whole number from 1 to 500"),
    ({"max_tuning_jobs": 1e3}, "max_tuning_jobs", "a whole number from 1 to 500"),
    ({"max_tuning_jobs": True}, "max_tuning_jobs", "a whole number from 1 to 500"),
    (
        {"max_tuning_jobs": 4, "parallel_tuning_jobs": 5},
        "parallel_tuning_jobs",
        "at most max_tuning_jobs (4)",
    ),
    ({"max_tuning_jobs": 2}, "parallel_tuning_jobs", "at most max_tuning_jobs (2)"),
    ({"poll_interval_seconds": 1.5}, "poll_interval_seconds", "a whole number from 1 to 3600"),
    ({"max_polls": {"n": 2}}, "max_polls", "a whole number from 1 to 10000"),
    ({"accuracy_threshold": 1.5}, "accuracy_threshold", "a number from 0 to 1"),
    ({"accuracy_threshold": "0.9"}, "accuracy_threshold", "a number from 0 to 1"),
    ({"deploy": "yes"}, "deploy", "true or false"),
    ({"auto_approve": 1}, "auto_approve", "true or false"),
    ({"data_uri": "s3://elsewhere/data/raw/x.csv"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"data_uri": f"s3://{BUCKET}/code/x.csv"}, "data_uri", f"s3://{BUCKET}/data/seed/..."),
    ({"data_uri": "/tmp/iris.csv"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"data_uri": f"s3://{BUCKET}/data/raw/"}, "data_uri", f"s3://{BUCKET}/data/raw/..."),
    ({"champion_margin": -0.1}, "champion_margin", "a number from 0 to 1"),
    ({"data_version_id": 3}, "data_version_id", "got 3"),
    # deployments are requests of their own now (docs/operations.md), not training input
    ({"approved_model_package_arn": "x"}, "approved_model_package_arn", "unknown key"),
    ({"label_column": ""}, "label_column", "a column name of 1 to 256"),
    ({"label_column": 3}, "label_column", "a column name of 1 to 256"),
    ({"label_column": "income (>50K)"}, "label_column", "stored in the model package metadata"),
    ({"label_column": "x" * 257}, "label_column", "a column name of 1 to 256"),
    ({"feature_columns": "a,b"}, "feature_columns", "a JSON array of at least 1 distinct"),
    ({"feature_columns": ["a", "a"]}, "feature_columns", "distinct, non-empty names"),
    ({"feature_columns": ["a", ""]}, "feature_columns", "distinct, non-empty names"),
    ({"feature_columns": ["a", 1]}, "feature_columns", "distinct, non-empty names"),
    (
        {"feature_columns": [f"feature number {i}" for i in range(60)]},
        "feature_columns",
        "fits 256 characters",
    ),
    ({"class_order": ["only"]}, "class_order", "at least 2 distinct"),
    ({"class_order": ["a", "b", "a"]}, "class_order", "at least 2 distinct"),
    ([], "execution input", "a JSON object"),
    ("x", "execution input", "a JSON object"),
    (3, "execution input", "a JSON object"),
    (None, "execution input", "a JSON object"),
]


def verdict(value: Any, name: str = "run-1") -> dict[str, Any]:
    """What the input check answers (lambdas/input_validator refuses with exactly this cause)."""
    found = logic.problems(value, bucket=BUCKET, defaults=DEFAULTS, execution_name=name)
    return {"valid": not found, "cause": logic.cause(found) if found else None, "input": value}


@pytest.mark.parametrize(("value", "field", "allowed"), REFUSALS)
def test_each_refusal_names_the_field_the_value_and_what_is_allowed(
    value: Any, field: str, allowed: str
) -> None:
    answer = verdict(value)
    assert answer["valid"] is False
    assert answer["input"] == value
    cause = answer["cause"]
    assert cause.startswith(logic.CAUSE_PREFIX)
    assert f"{field}: " in cause
    assert allowed in cause
    assert "got " in cause


def test_the_cause_shows_the_value_given_not_the_merged_config() -> None:
    cause = verdict({"max_tuning_jobs": 2.5})["cause"]
    assert "got 2.5" in cause
    assert "data/seed/iris.csv" not in cause  # the defaults are not dumped
    long = verdict({"data_uri": "s3://x/" + "k" * 500})["cause"]
    assert len(long) < 400


def test_a_typo_gets_the_closest_key_and_an_unrelated_key_none() -> None:
    assert "did you mean deploy?" in verdict({"deplyo": False})["cause"]
    assert "did you mean max_tuning_jobs?" in verdict({"max_tunning_jobs": 3})["cause"]
    cause = verdict({"colour": "red"})["cause"]
    assert "did you mean" not in cause
    assert "colour: unknown key" in cause
    assert "allowed keys: accuracy_threshold," in cause


def test_every_problem_is_reported_at_once() -> None:
    cause = verdict({"deploy": "yes", "max_polls": 0})["cause"]
    assert 'deploy: got "yes"' in cause
    assert "max_polls: got 0" in cause


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"deploy": True, "auto_approve": True, "accuracy_threshold": 0},
        {"accuracy_threshold": 1, "max_tuning_jobs": 500, "parallel_tuning_jobs": 500},
        {"data_uri": f"s3://{BUCKET}/data/raw/uploads/a b.csv", "max_polls": 10000},
        {"champion_margin": 0.05, "data_version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"},
        {"label_column": "mean radius", "feature_columns": ["od280/od315", "x"]},
        {"label_column": "Ünits_2", "class_order": ["malignant", "benign"]},
        {"feature_columns": [], "class_order": []},
    ],
)
def test_valid_input_is_accepted_and_echoed(value: dict[str, Any]) -> None:
    assert verdict(value) == {"valid": True, "cause": None, "input": value}


@pytest.mark.parametrize("name", ["retrain(1)", "Bob's-run", "now!"])
def test_an_execution_name_the_package_metadata_cannot_store_is_refused(name: str) -> None:
    answer = verdict({}, name=name)
    assert answer["valid"] is False
    assert f"execution name: got {json.dumps(name)}" in answer["cause"]


def test_a_bad_terraform_default_is_named_as_the_default() -> None:
    problems = logic.problems({}, bucket=BUCKET, defaults={**DEFAULTS, "max_polls": 0})
    assert problems == [
        "max_polls: got 0 (Terraform's default); allowed: a whole number from 1 to 10000"
    ]


# ---------------------------------------------------------------- one home, read by every consumer


def _reference_table() -> str:
    return reference.table_text(reference.PAGE.read_text(encoding="utf-8"), "execution-input")


def test_the_reference_table_is_the_schema_rendered() -> None:
    assert _reference_table() == logic.markdown_table(), "docs/reference.md is stale: make docs"


def test_the_reference_table_lists_exactly_the_schema_fields() -> None:
    keys = re.findall(r"^\| `([a-z_]+)` \|", _reference_table(), re.M)
    assert keys == logic.field_names()


def test_the_state_machine_reads_only_keys_the_schema_defines() -> None:
    asl = json.dumps(BY_NAME["training"].build())
    used = set(re.findall(r"\$\.config\.([a-z_]+)", asl))
    assert used, "the ASL reads its settings at $.config"
    assert used <= set(logic.field_names())


def test_the_state_machine_checks_input_with_the_validator_first() -> None:
    definition = BY_NAME["training"].build()
    first = definition["States"][definition["StartAt"]]
    assert first["Resource"] == "arn:aws:states:::lambda:invoke"
    assert first["Parameters"]["FunctionName"] == "${input_validator_function_arn}"
    assert first["Parameters"]["Payload"]["input.$"] == "$"


def test_no_second_copy_of_the_field_list_in_python() -> None:
    """The schema's keys are spelled as a list only in contracts/execution_input.json."""
    # The dataset contract (prepare.py's artifact, contracts/README.md) has keys of the same names:
    # reading a contract (ops' predict) is not a copy of the field list; the other names still are.
    contract_keys = {"label_column", "feature_columns"}
    names = [name for name in logic.field_names() if name not in contract_keys]
    offenders = []
    for path in [
        *ROOT.glob("statemachines/*.py"),
        *ROOT.glob("ops/*.py"),
        *ROOT.glob("lambdas/**/*.py"),
    ]:
        text = path.read_text(encoding="utf-8")
        if sum(f'"{name}"' in text for name in names) >= 4:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_validator_zip_ships_its_schema() -> None:
    from devtools.build import lambda_files

    assert lambda_files("input_validator")["contracts/execution_input.json"] == logic.SCHEMA_PATH


# ---------------------------------------------------------------- the ops CLI: same words, earlier


@pytest.mark.parametrize(
    ("value", "field", "allowed"),
    [r for r in REFUSALS if isinstance(r[0], dict) and "max_tuning_jobs (2)" not in r[2]],
)
def test_ops_refuses_what_the_state_machine_refuses_with_the_same_cause(
    value: dict[str, Any], field: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        training.check_input(value, BUCKET, "run-make-start-0123456789abcdef")
    expected = logic.cause(logic.problems(value, bucket=BUCKET))
    assert str(raised.value) == expected
    assert f"{field}: " in str(raised.value) and allowed in str(raised.value)


def test_ops_settings_parse_as_json_values() -> None:
    assert training.parse_setting("max_tuning_jobs=4") == ("max_tuning_jobs", 4)
    assert training.parse_setting("deploy=true") == ("deploy", True)
    assert training.parse_setting("data_uri=s3://b/data/raw/x.csv") == (
        "data_uri",
        "s3://b/data/raw/x.csv",
    )
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        training.parse_setting("max_tuning_jobs")


def test_a_list_that_fits_a_container_argument_exactly_is_accepted() -> None:
    """The bound is the compact JSON text prepare.py receives as one container argument (256)."""
    names = [f"c{i:03d}" for i in range(30)]  # 7 characters each as JSON, with its comma
    text = logic.compact_json(names)
    names[-1] += "x" * (logic.COLUMN_LIST_TEXT_MAX - len(text))
    assert len(logic.compact_json(names)) == logic.COLUMN_LIST_TEXT_MAX
    assert verdict({"feature_columns": names})["valid"] is True
    names[-1] += "x"
    assert verdict({"feature_columns": names})["valid"] is False


def test_the_metadata_check_follows_botocores_character_classes() -> None:
    assert logic.metadata_safe("Species")
    assert logic.metadata_safe("mean radius_2/x=y+z-w@v:u.t")
    assert logic.metadata_safe("Größe 3")
    for refused in ("a(b)", ">50K", "a,b", "a;b", 'a"b', "a#b"):
        assert not logic.metadata_safe(refused), refused


def test_the_list_bound_is_botocores_container_argument_limit() -> None:
    """The lists reach prepare.py as one ContainerArgument: the schema's bound is that shape's."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    assert model.shape_for("ContainerArgument").metadata["max"] == logic.COLUMN_LIST_TEXT_MAX
