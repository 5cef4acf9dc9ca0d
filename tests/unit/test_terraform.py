"""Offline checks of the Terraform roots: formatting, init from a local provider mirror, validate,
variable/output hygiene and the placeholder contract with the generated definitions.

`terraform init` runs through scripts/terraform-init.sh against a provider mirror
(`TF_PLUGIN_DIR`, or one of Terraform's implied local mirror directories), on a temporary copy of
the roots so nothing (.terraform/, lock files) lands in the working tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from tests.helpers.json_walk import json_strings

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
INIT_SCRIPT = ROOT / "scripts" / "terraform-init.sh"
ROOTS = {"main": TERRAFORM_DIR, "bootstrap": TERRAFORM_DIR / "bootstrap"}
PIPELINE_TEMPLATE = ROOT / "ml" / "pipeline_definition.json"
ASL_TEMPLATE = ROOT / "statemachines" / "training_pipeline.asl.json"
# Terraform's implied local mirror directories (the same list as scripts/terraform-init.sh).
IMPLIED_MIRRORS = [
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
    *(
        Path(entry) / "terraform" / "plugins"
        for entry in os.environ.get("XDG_DATA_DIRS", "").split(":")
        if entry
    ),
]
AWS_PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
OUTPUT_NAME = re.compile(r"[a-z0-9]+(_[a-z0-9]+)+")
TIMEOUT = 120
# Plain dicts: no comment/block markers, string literals without their quotes.
HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)

pytestmark = pytest.mark.timeout(300)


# ---- helpers ------------------------------------------------------------------------------------


def load_hcl(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return dict(hcl2.load(handle, serialization_options=HCL_OPTIONS))


def blocks(root: Path, kind: str) -> dict[str, dict[str, Any]]:
    """All `variable`/`output` blocks of a root, by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(root.glob("*.tf")):
        for block in load_hcl(path).get(kind, []):
            for name, body in block.items():
                found[name] = body
    return found


def locals_of(root: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(root.glob("*.tf")):
        for block in load_hcl(path).get("locals", []):
            merged.update(block)
    return merged


def terraform_env(data_dir: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    env.pop("TF_INIT_BACKEND", None)
    if data_dir is not None:
        env["TF_DATA_DIR"] = str(data_dir)
    return env


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs
    )


def find_mirror() -> Path | None:
    configured = os.environ.get("TF_PLUGIN_DIR")
    if configured:
        return Path(configured)
    return next((d for d in IMPLIED_MIRRORS if (d / AWS_PROVIDER).is_dir()), None)


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.fail("terraform is not on PATH; install Terraform >= 1.10 to run these checks.")
    return binary


@pytest.fixture(scope="module")
def plugin_dir() -> Path:
    mirror = find_mirror()
    if mirror is None or not (mirror / AWS_PROVIDER).is_dir():
        pytest.fail(
            "No offline provider mirror for hashicorp/aws: set TF_PLUGIN_DIR to a directory "
            f"containing {AWS_PROVIDER}/<version>/<os_arch>/ (got TF_PLUGIN_DIR={mirror}), "
            "or put one in an implied local mirror directory such as ~/.terraform.d/plugins."
        )
    return mirror


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy of the roots plus the files they read via path.module (templates, ml scripts)."""
    base = tmp_path_factory.mktemp("tf")
    ignore = shutil.ignore_patterns(
        ".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfvars", "__pycache__"
    )
    shutil.copytree(TERRAFORM_DIR, base / "terraform", ignore=ignore)
    shutil.copytree(ROOT / "ml", base / "ml", ignore=ignore)
    shutil.copytree(ROOT / "statemachines", base / "statemachines", ignore=ignore)
    return base


@pytest.fixture(scope="module")
def initialised(
    terraform: str, plugin_dir: Path, workspace: Path
) -> Iterator[dict[str, tuple[Path, Path]]]:
    """Each root initialised offline: name -> (config dir, TF_DATA_DIR)."""
    roots: dict[str, tuple[Path, Path]] = {}
    for name, source in ROOTS.items():
        config = workspace / source.relative_to(ROOT)
        data_dir = workspace / f".tfdata-{name}"
        env = {**terraform_env(data_dir), "TF_PLUGIN_DIR": str(plugin_dir)}
        result = run(["bash", str(INIT_SCRIPT), str(config)], env=env)
        assert result.returncode == 0, f"init of {name} failed:\n{result.stdout}\n{result.stderr}"
        roots[name] = (config, data_dir)
    yield roots


# ---- formatting ---------------------------------------------------------------------------------


def test_fmt_check_recursive(terraform: str) -> None:
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)])
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_tfvars_example_is_formatted(terraform: str, name: str) -> None:
    example = ROOTS[name] / "terraform.tfvars.example"
    result = run([terraform, "fmt", "-"], input=example.read_text())
    assert result.returncode == 0, result.stderr
    assert result.stdout == example.read_text(), f"{example} is not terraform-fmt formatted"


# ---- init + validate ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_validate(terraform: str, initialised: dict[str, tuple[Path, Path]], name: str) -> None:
    config, data_dir = initialised[name]
    result = run(
        [terraform, f"-chdir={config}", "validate", "-json", "-no-color"],
        env=terraform_env(data_dir),
    )
    report = json.loads(result.stdout)
    problems = [
        f"{d['severity']}: {d['summary']} ({d.get('range', {}).get('filename')}): {d.get('detail')}"
        for d in report["diagnostics"]
    ]
    assert report["valid"], "\n".join(problems)
    # Warnings are usually deprecations that break on the next major provider version.
    assert report["warning_count"] == 0, "\n".join(problems)


def test_init_script_rejects_mirror_without_aws(tmp_path: Path) -> None:
    env = {**terraform_env(tmp_path / "data"), "TF_PLUGIN_DIR": str(tmp_path)}
    result = run(["bash", str(INIT_SCRIPT), str(TERRAFORM_DIR)], env=env)
    assert result.returncode != 0
    assert "registry.terraform.io/hashicorp/aws" in result.stderr
    assert not (tmp_path / "data").exists(), "init must not start with an unusable mirror"


# ---- variables and outputs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_variables_have_description_and_type(name: str) -> None:
    variables = blocks(ROOTS[name], "variable")
    assert variables, f"no variables found in {ROOTS[name]}"
    missing = [
        var for var, body in variables.items() if not body.get("description") or "type" not in body
    ]
    assert not missing, f"variables without description or type: {missing}"


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_every_variable_is_used(name: str) -> None:
    root = ROOTS[name]
    variables = blocks(root, "variable")
    # A variable's own validation block refers to it, so variables.tf does not count as a use.
    code = "\n".join(p.read_text() for p in sorted(root.glob("*.tf")) if p.name != "variables.tf")
    unused = [var for var in variables if not re.search(rf"\bvar\.{var}\b", code)]
    assert not unused, f"declared but never referenced outside variables.tf: {unused}"


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_outputs_are_described_and_named(name: str) -> None:
    outputs = blocks(ROOTS[name], "output")
    assert outputs, f"no outputs found in {ROOTS[name]}"
    undescribed = [out for out, body in outputs.items() if not body.get("description")]
    assert not undescribed, f"outputs without description: {undescribed}"
    misnamed = [out for out in outputs if not OUTPUT_NAME.fullmatch(out)]
    assert not misnamed, f"outputs not named <thing>_<attribute>: {misnamed}"


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_tfvars_example_documents_every_variable(name: str) -> None:
    example = load_hcl(ROOTS[name] / "terraform.tfvars.example")
    variables = blocks(ROOTS[name], "variable")
    assert set(example) == set(variables), (
        f"missing: {sorted(set(variables) - set(example))}, "
        f"unknown: {sorted(set(example) - set(variables))}"
    )


def test_main_root_uses_only_the_aws_provider() -> None:
    versions = load_hcl(TERRAFORM_DIR / "versions.tf")["terraform"][0]
    providers = {k for block in versions["required_providers"] for k in block}
    assert providers == {"aws"}
    constraint = versions["required_providers"][0]["aws"]["version"]
    assert constraint == ">= 5.100, < 7.0"
    code = "\n".join(p.read_text() for p in TERRAFORM_DIR.rglob("*.tf"))
    for other in ("archive_file", "null_resource", "random_", "terraform_data", "local_file"):
        assert other not in code, f"{other} pulls in a provider other than aws"


# ---- templatefile() contract --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "local_name"),
    [(PIPELINE_TEMPLATE, "pipeline_template_vars"), (ASL_TEMPLATE, "state_machine_template_vars")],
)
def test_template_placeholders_match_terraform(template: Path, local_name: str) -> None:
    placeholders = set(PLACEHOLDER.findall(template.read_text()))
    passed = set(locals_of(TERRAFORM_DIR)[local_name])
    assert placeholders == passed, (
        f"{template.name}: placeholders without a value {sorted(placeholders - passed)}, "
        f"values without a placeholder {sorted(passed - placeholders)}"
    )


def test_asl_renders_to_json_with_defaults_embedded(terraform: str, tmp_path: Path) -> None:
    """Render the real ASL with Terraform's templatefile() exactly as stepfunctions.tf does."""
    expression = locals_of(TERRAFORM_DIR)["state_machine_template_vars"]["defaults_json"]
    assert expression == '${trim(jsonencode(jsonencode(local.execution_defaults)), "\\"")}'
    defaults = {"data_uri": "s3://b/data/raw/iris.csv", "accuracy_threshold": 0.9, "deploy": True}
    values = {
        name: f"value-of-{name}"
        for name in PLACEHOLDER.findall(ASL_TEMPLATE.read_text())
        if name != "defaults_json"
    }
    hcl_values = "\n".join(f"    {k} = {json.dumps(v)}" for k, v in sorted(values.items()))
    (tmp_path / "main.tf").write_text(
        f"locals {{\n  execution_defaults = jsondecode({json.dumps(json.dumps(defaults))})\n}}\n"
        f'output "rendered" {{\n  value = templatefile({json.dumps(str(ASL_TEMPLATE))}, {{\n'
        f"{hcl_values}\n"
        '    defaults_json = trim(jsonencode(jsonencode(local.execution_defaults)), "\\"")\n'
        "  })\n}\n"
    )
    env = terraform_env(tmp_path / ".tfdata")
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        result = run([terraform, f"-chdir={tmp_path}", *args, "-no-color"], env=env)
        assert result.returncode == 0, f"{args[0]}:\n{result.stdout}\n{result.stderr}"
    result = run([terraform, f"-chdir={tmp_path}", "output", "-raw", "rendered"], env=env)
    asl = json.loads(result.stdout)

    strings = list(json_strings(asl))
    embedded = [s for s in strings if s.startswith("{") and _json_or_none(s) == defaults]
    assert embedded, "the execution defaults are not embedded as a JSON string in the ASL"
    assert all(any(v in s for s in strings) for v in values.values())


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
