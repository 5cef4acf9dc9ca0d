"""Terraform's execution settings, generated from the execution input's schema.

``terraform/execution_input.generated.tf`` is committed and current, formatted as
``terraform fmt`` formats it, and behaves as the schema says: Terraform refuses a bad value with
the validator's own words, and the defaults it bakes in are ones the validator accepts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from contracts import execution_input as schema
from devtools import execution_input_tf as generator
from tests.helpers.terraform import terraform_binary

TIMEOUT = 120
BUCKET = "proj-bucket"
SEED_URI = f"s3://{BUCKET}/data/seed/iris.csv"

pytestmark = pytest.mark.timeout(600)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    env["TF_DATA_DIR"] = str(cwd / ".tfdata")
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def terraform() -> str:
    return terraform_binary()


@pytest.fixture(scope="module")
def module_dir(terraform: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated file alone, with the one local it reads and its defaults as an output."""
    base = tmp_path_factory.mktemp("execution-input-tf")
    shutil.copy(generator.OUTPUT, base / generator.OUTPUT.name)
    (base / "main.tf").write_text(
        f"locals {{\n  default_data_uri = {json.dumps(SEED_URI)}\n}}\n\n"
        'output "execution_defaults" {\n  value = local.execution_defaults\n}\n'
    )
    result = run([terraform, "init", "-input=false", "-no-color"], base)
    assert result.returncode == 0, result.stdout + result.stderr
    return base


def plain(text: str) -> str:
    """Terraform's diagnostics without their frame and line wrapping."""
    return " ".join(text.replace("│", " ").replace("╷", " ").replace("╵", " ").split())


# ---- generated, committed, current ------------------------------------------------------------


def test_the_committed_file_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert generator.main(["--check"]) == 0, capsys.readouterr().err


def test_the_check_fails_on_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / generator.OUTPUT.name
    stale.write_text(generator.render().replace("default     = 0.9", "default     = 0.8"))
    monkeypatch.setattr(generator, "OUTPUT", stale)
    assert generator.main(["--check"]) == 1
    assert "stale: run `make definitions`" in capsys.readouterr().err


def test_the_file_says_it_is_generated_and_from_what() -> None:
    head = generator.OUTPUT.read_text(encoding="utf-8").splitlines()[:2]
    assert "Generated from contracts/execution_input.json by `make definitions`" in head[0]
    assert "do not edit" in head[1]


def test_the_generated_text_is_terraform_fmt_formatted(terraform: str, tmp_path: Path) -> None:
    text = generator.render()
    result = subprocess.run(
        [terraform, "fmt", "-"], input=text, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == text


def test_every_field_with_a_default_is_baked_in_and_no_other() -> None:
    keys = [field for field, _ in generator.default_expressions()]
    fields = schema.schema()["fields"]
    assert keys == [
        name
        for name, spec in fields.items()
        if spec["terraform_variable"] or spec.get("terraform_local")
    ]
    # Registry events and the trigger's version id are never baked in.
    for name in ("data_version_id", "approved_model_package_arn", "rejected_model_package_arn"):
        assert name not in keys


def test_a_field_the_generator_cannot_express_is_refused() -> None:
    with pytest.raises(generator.SchemaError, match="s3_uri field cannot be a Terraform variable"):
        generator.variable_block("data_uri", {**schema.schema()["fields"]["data_uri"]})
    with pytest.raises(generator.SchemaError, match="template sequence"):
        generator.hcl_string("a ${b}")


# ---- what Terraform does with it ----------------------------------------------------------------


def test_terraforms_defaults_are_the_schemas_and_the_validator_accepts_them(
    terraform: str, module_dir: Path
) -> None:
    result = run([terraform, "apply", "-auto-approve", "-input=false", "-no-color"], module_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    output = run([terraform, "output", "-json", "execution_defaults"], module_dir)
    defaults = json.loads(output.stdout)
    fields = schema.schema()["fields"]
    expected = {
        name: spec["default"] for name, spec in fields.items() if spec["terraform_variable"]
    }
    assert defaults == {"data_uri": SEED_URI, **expected}
    assert schema.problems({}, bucket=BUCKET, defaults=defaults) == []


#: (Terraform -var arguments, the schema field whose words the refusal must carry)
REFUSED: list[tuple[list[str], str]] = [
    (["max_tuning_jobs=0"], "max_tuning_jobs"),
    (["max_tuning_jobs=2.5"], "max_tuning_jobs"),
    (["max_tuning_jobs=501"], "max_tuning_jobs"),
    (["max_tuning_jobs=4", "parallel_tuning_jobs=5"], "parallel_tuning_jobs"),
    (["accuracy_threshold=1.5"], "accuracy_threshold"),
    (["pipeline_poll_interval_seconds=1.5"], "poll_interval_seconds"),
    (["pipeline_max_polls=10001"], "max_polls"),
    (["label_column="], "label_column"),
    (["label_column=income (>50K)"], "label_column"),
    (["label_column=" + "x" * 257], "label_column"),
    (['feature_columns=["a", "a"]'], "feature_columns"),
    (['feature_columns=["a", ""]'], "feature_columns"),
    (
        ["feature_columns=" + json.dumps([f"feature number {i}" for i in range(60)])],
        "feature_columns",
    ),
    (['class_order=["only"]'], "class_order"),
    (['class_order=["a", "b", "a"]'], "class_order"),
]


@pytest.mark.parametrize(("arguments", "field"), REFUSED)
def test_terraform_refuses_a_bad_value_in_the_schemas_words(
    terraform: str, module_dir: Path, arguments: list[str], field: str
) -> None:
    args = [terraform, "plan", "-input=false", "-no-color", *(f"-var={a}" for a in arguments)]
    result = run(args, module_dir)
    assert result.returncode != 0, f"terraform accepted {arguments}"
    spec = schema.schema()["fields"][field]
    words = generator.error_message(field, spec)
    assert words in plain(result.stderr), plain(result.stderr)
    assert schema.allowed(field, "<bucket>").split(" and at most")[0] in words


@pytest.mark.parametrize(("arguments", "field"), REFUSED)
def test_the_validator_refuses_the_same_values(arguments: list[str], field: str) -> None:
    """What Terraform refuses as a default, the validator refuses as an execution input."""
    variables = {
        spec["terraform_variable"]: name
        for name, spec in schema.schema()["fields"].items()
        if spec["terraform_variable"]
    }
    value: dict[str, Any] = {}
    for argument in arguments:
        name, _, text = argument.partition("=")
        kind = schema.schema()["fields"][variables[name]]["type"]
        value[variables[name]] = text if kind == "column_name" else json.loads(text)
    problems = schema.problems(value, bucket=BUCKET)
    assert any(p.startswith(f"{field}: got ") for p in problems), problems


def test_the_character_rule_is_the_validators(terraform: str, module_dir: Path) -> None:
    """Terraform's RE2 class and the validator's character check accept the same names."""
    for name in ("mean radius_2/x=y+z-w@v:u.t", "Größe 3", "Ünits_2"):
        assert schema.metadata_safe(name)
        result = run(
            [terraform, "plan", "-input=false", "-no-color", f"-var=label_column={name}"],
            module_dir,
        )
        assert result.returncode == 0, plain(result.stderr)
    assert re.fullmatch(r"\^\[.*\]\+\$", generator.metadata_regex())
