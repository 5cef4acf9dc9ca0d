"""Offline checks of the Terraform roots: formatting, init from a local provider mirror, validate,
variable/output hygiene and the placeholder contract with the generated definitions.

`terraform init` runs through scripts/terraform-init.sh against a provider mirror
(`TF_PLUGIN_DIR`, or what scripts/find-provider-mirror.sh finds), on a temporary copy of
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

from contracts import execution_input, s3_layout
from devtools import build
from tests.helpers.json_walk import json_strings
from tests.helpers.terraform import terraform_binary

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
INIT_SCRIPT = ROOT / "scripts" / "terraform-init.sh"
ROOTS = {"main": TERRAFORM_DIR, "bootstrap": TERRAFORM_DIR / "bootstrap"}
PIPELINE_TEMPLATE = ROOT / "ml" / "pipeline_definition.json"
MACHINE_NAMES = ("training", "deployment")
ASL_TEMPLATES = {m: ROOT / "statemachines" / f"{m}.asl.json" for m in MACHINE_NAMES}
# The one home of the provider-mirror search (TF_PLUGIN_DIR, implied mirrors, usual places).
MIRROR_SCRIPT = ROOT / "scripts" / "find-provider-mirror.sh"
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
    found = run(["bash", str(MIRROR_SCRIPT)]).stdout.strip()
    return Path(found) if found else None


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def terraform() -> str:
    return terraform_binary()


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
    shutil.copytree(ROOT / "contracts", base / "contracts", ignore=ignore)
    shutil.copytree(ROOT / "statemachines", base / "statemachines", ignore=ignore)
    shutil.copytree(ROOT / "data", base / "data", ignore=ignore)
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


def template_vars(template: str) -> dict[str, Any]:
    """What stepfunctions.tf / sagemaker.tf pass templatefile() for ``template``."""
    found = locals_of(TERRAFORM_DIR)
    if template == "pipeline":
        return dict(found["pipeline_template_vars"])
    return dict(found["state_machines"][template]["template_vars"])


def template_path(template: str) -> Path:
    return PIPELINE_TEMPLATE if template == "pipeline" else ASL_TEMPLATES[template]


@pytest.mark.parametrize("template", ["pipeline", *MACHINE_NAMES])
def test_template_placeholders_match_terraform(template: str) -> None:
    placeholders = set(PLACEHOLDER.findall(template_path(template).read_text()))
    passed = set(template_vars(template))
    assert placeholders == passed, (
        f"{template}: placeholders without a value {sorted(placeholders - passed)}, "
        f"values without a placeholder {sorted(passed - placeholders)}"
    )


@pytest.mark.parametrize("machine", MACHINE_NAMES)
def test_each_asl_renders_to_json_through_templatefile(
    terraform: str, tmp_path: Path, machine: str
) -> None:
    """Render the real ASL with Terraform's templatefile() exactly as stepfunctions.tf does:
    every placeholder substituted, the result still JSON."""
    template = ASL_TEMPLATES[machine]
    values = {name: f"value-of-{name}" for name in PLACEHOLDER.findall(template.read_text())}
    hcl_values = "\n".join(f"    {k} = {json.dumps(v)}" for k, v in sorted(values.items()))
    (tmp_path / "main.tf").write_text(
        f'output "rendered" {{\n  value = templatefile({json.dumps(str(template))}, {{\n'
        f"{hcl_values}\n  }})\n}}\n"
    )
    env = terraform_env(tmp_path / ".tfdata")
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        result = run([terraform, f"-chdir={tmp_path}", *args, "-no-color"], env=env)
        assert result.returncode == 0, f"{args[0]}:\n{result.stdout}\n{result.stderr}"
    result = run([terraform, f"-chdir={tmp_path}", "output", "-raw", "rendered"], env=env)
    asl = json.loads(result.stdout)
    strings = list(json_strings(asl))
    assert not [s for s in strings if "${" in s], "a placeholder was left in the rendered ASL"
    assert all(any(v in s for s in strings) for v in values.values())


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


# ---- shared HCL helpers for the checks below ----------------------------------------------------


def main_resources(type_: str) -> dict[str, dict[str, Any]]:
    """Every `resource "<type_>"` block of the main root, by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for block in load_hcl(path).get("resource", []):
            found.update(block.get(type_, {}))
    return found


def main_module_call(name: str) -> dict[str, Any]:
    """The arguments of `module "<name>"` in the main root."""
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for block in load_hcl(path).get("module", []):
            if name in block:
                return dict(block[name])
    pytest.fail(f"no module.{name} in terraform/")


def main_policy_document(name: str) -> list[dict[str, Any]]:
    """Static and dynamic statements of `data "aws_iam_policy_document" "<name>"`."""
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for block in load_hcl(path).get("data", []):
            document = block.get("aws_iam_policy_document", {}).get(name)
            if document is not None:
                found = list(document.get("statement", []))
                for dynamic in document.get("dynamic", []):
                    found += dynamic.get("statement", {}).get("content", [])
                return found
    pytest.fail(f"no aws_iam_policy_document.{name} in terraform/")


def iam_pattern_matches(pattern: str, value: str) -> bool:
    """IAM resource wildcards: `*` is any run of characters, `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


# ---- the functions: one map, one module call ----------------------------------------------------

#: What every entry of local.lambdas states, and what an entry may leave to the module call.
LAMBDA_FIELDS = {"name", "description", "role", "policy", "timeout"}
LAMBDA_OPTIONAL_FIELDS = {"bucket_key", "memory_size", "environment"}


def test_each_function_make_builds_is_one_entry_of_the_one_module_call() -> None:
    """lambdas/<key>/ is built into build/<key>.zip; Terraform deploys it as local.lambdas'
    entry <key> (the triggers, whose environment names the machines, are the second call)."""
    entries = locals_of(TERRAFORM_DIR)["lambdas"]
    assert set(entries) | {"trigger"} == set(build.lambda_names())
    call = main_module_call("lambda")
    assert call["for_each"] == "${local.lambdas}"
    assert call["filename"] == "${local.build_dir}/${each.key}.zip"
    assert call["source_code_hash"] == '${filebase64sha256("${local.build_dir}/${each.key}.zip")}'
    assert main_module_call("trigger")["filename"] == "${local.build_dir}/trigger.zip"
    read = " ".join(str(value) for value in call.values())
    unread = {f for f in LAMBDA_FIELDS | LAMBDA_OPTIONAL_FIELDS if f"each.value.{f}" not in read}
    assert not unread, f"the module call never reads {sorted(unread)}"
    for key, entry in entries.items():
        fields = set(entry)
        assert LAMBDA_FIELDS <= fields <= LAMBDA_FIELDS | LAMBDA_OPTIONAL_FIELDS, (
            f"local.lambdas.{key}: missing {sorted(LAMBDA_FIELDS - fields)}, "
            f"unknown {sorted(fields - LAMBDA_FIELDS - LAMBDA_OPTIONAL_FIELDS)}"
        )
        assert entry["policy"] == f"${{data.aws_iam_policy_document.{key}.json}}"


# ---- the default data object --------------------------------------------------------------------


def seed_object() -> tuple[str, dict[str, Any]]:
    """The aws_s3_object that the default data_uri names: (key, resource body)."""
    uri = locals_of(TERRAFORM_DIR)["default_data_uri"]
    match = re.fullmatch(
        r"s3://\$\{local\.bucket_name\}/\$\{aws_s3_object\.([a-z0-9_]+)\.key\}", uri
    )
    assert match, (
        f"default_data_uri = {uri!r} must name an object Terraform creates "
        '("s3://${local.bucket_name}/${aws_s3_object.<name>.key}")'
    )
    body = main_resources("aws_s3_object")[match[1]]
    assert "$" not in body["key"], "the seed object's key must be a literal (it is the one home)"
    return body["key"], body


def trigger_key_patterns() -> list[str]:
    """The key filters of the S3 upload trigger rule, as regexes (EventBridge wildcard/prefix)."""
    pattern = main_resources("aws_cloudwatch_event_rule")["trigger"]["event_pattern"]
    wildcards = re.findall(r'wildcard\s*=\s*"([^"]+)"', pattern)
    prefixes = re.findall(r'prefix\s*=\s*"([^"]+)"', pattern)
    # the generated layout (terraform/s3_layout.generated.tf) names contracts/s3_layout.py's paths
    prefixes += [
        s3_layout.prefix(n) for n in re.findall(r"prefix\s*=\s*local\.s3_prefix\.(\w+)", pattern)
    ]
    assert wildcards or prefixes, f"no key filter found in the trigger rule: {pattern}"
    # EventBridge wildcard: `*` matches any characters, "/" included.
    return [".*".join(re.escape(part) for part in w.split("*")) for w in wildcards] + [
        re.escape(p) + ".*" for p in prefixes
    ]


# A change to any of these makes the AWS provider upload the object again
# (terraform-provider-aws internal/service/s3/object.go, hasObjectContentChanges).
OBJECT_REUPLOAD_ATTRIBUTES = {
    "bucket_key_enabled",
    "cache_control",
    "checksum_algorithm",
    "content_base64",
    "content_disposition",
    "content_encoding",
    "content_language",
    "content_type",
    "content",
    "etag",
    "kms_key_id",
    "metadata",
    "server_side_encryption",
    "source",
    "source_hash",
    "storage_class",
    "website_redirect",
}


def test_default_data_uri_has_one_home() -> None:
    values = locals_of(TERRAFORM_DIR)
    assert values["execution_defaults"]["data_uri"] == "${local.default_data_uri}"
    assert values["pipeline_template_vars"]["default_data_uri"] == "${local.default_data_uri}"
    key, _ = seed_object()
    code = "\n".join(p.read_text() for p in sorted(TERRAFORM_DIR.glob("*.tf")))
    assert code.count(key) == 1, f"{key} is spelled more than once in terraform/"
    # The schema names the local that supplies data_uri's default, and shows that object.
    spec = execution_input.schema()["fields"]["data_uri"]
    assert spec["terraform_local"] == "default_data_uri"
    assert spec["default"] == f"s3://<bucket>/{key}"


def test_apply_creates_the_default_data_object_from_the_repo() -> None:
    _, body = seed_object()
    source = body["source"].replace("${path.module}", str(TERRAFORM_DIR))
    assert Path(source).resolve() == (ROOT / "data" / "raw" / "iris.csv").resolve()
    assert body["bucket"] == "${local.bucket_id}"
    header = Path(source).read_text().splitlines()[0]
    assert header.count(",") >= 4, f"{source} does not look like the iris CSV: {header!r}"


def test_default_data_object_does_not_start_a_run() -> None:
    """The upload trigger would start a second run if apply created the object under data/raw/."""
    key, _ = seed_object()
    matching = [p for p in trigger_key_patterns() if re.fullmatch(p, key)]
    assert not matching, (
        f"{key} matches the trigger's key filter {matching}: apply would start a run"
    )
    environment = main_module_call("trigger")["environment_variables"]
    assert environment["DATA_PREFIX"] == "${local.s3_prefix.data_raw}"
    assert not key.startswith(s3_layout.DATA_RAW)


def test_default_data_object_never_overwrites_user_data() -> None:
    """A later apply must not put the repo's copy back over data a user uploaded to the key."""
    _, body = seed_object()
    ignored = set(body.get("lifecycle", [{}])[0].get("ignore_changes", []))
    assert ignored >= OBJECT_REUPLOAD_ATTRIBUTES, (
        f"ignore_changes lacks {sorted(OBJECT_REUPLOAD_ATTRIBUTES - ignored)}: a change to any of "
        "them makes the provider upload the repo's file again"
    )
    assert "source_hash" not in body and "etag" not in body, "a hash would force a re-upload"


def test_sagemaker_role_reads_the_default_data_object() -> None:
    key, _ = seed_object()
    reads = [
        r
        for s in main_policy_document("sagemaker")
        if "s3:GetObject" in s["actions"]
        for r in s["resources"]
    ]
    assert any(iam_pattern_matches(r, "${local.bucket_arn}/" + key) for r in reads), reads


# ---- lifecycle rules vs what registered packages reference --------------------------------------

RUNTIME = "*"  # a value known only at run time (execution id, job name)


def std_join_pattern(node: Any, bucket: str = "${bucket}") -> str:
    """A pipeline-definition S3 URI (literal or Std:Join) with runtime values as `*`."""
    if isinstance(node, str):
        return node
    if "Std:Join" in node:
        join = node["Std:Join"]
        return join["On"].join(std_join_pattern(v, bucket) for v in join["Values"])
    assert set(node) == {"Get"}, f"unexpected pipeline expression {node}"
    return RUNTIME


def pipeline_step(name: str) -> dict[str, Any]:
    from ml.pipeline import flattened_steps  # a Condition step's branches included

    steps = json.loads(PIPELINE_TEMPLATE.read_text())["Steps"]
    (step,) = [s for s in flattened_steps(steps) if s["Name"] == name]
    return dict(step["Arguments"])


def states_format_pattern(expression: str) -> str:
    """Evaluate an ASL `States.Format(...)` (nested allowed) with every path as `*`."""
    position = 0

    def skip() -> None:
        nonlocal position
        while expression[position] == " ":
            position += 1

    def value() -> str:
        nonlocal position
        skip()
        if expression.startswith("States.Format(", position):
            position += len("States.Format(")
            args = [value()]
            skip()
            while expression[position] == ",":
                position += 1
                args.append(value())
                skip()
            assert expression[position] == ")", expression
            position += 1
            template, *rest = args
            for arg in rest:
                template = template.replace("{}", arg, 1)
            return template
        if expression[position] == "'":
            end = expression.index("'", position + 1)
            literal = expression[position + 1 : end]
            position = end + 1
            return literal
        match = re.compile(r"\$\$?[A-Za-z0-9_.\[\]]*").match(expression, position)
        assert match, f"cannot read {expression[position:]!r}"
        position = match.end()
        return RUNTIME

    result = value()
    assert position == len(expression), f"trailing text in {expression!r}"
    return result


def asl_states(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield from node.get("States", {}).items()
        for child in node.values():
            yield from asl_states(child)
    elif isinstance(node, list):
        for child in node:
            yield from asl_states(child)


def package_states() -> list[tuple[str, dict[str, Any]]]:
    asl = json.loads(ASL_TEMPLATES["training"].read_text())
    found = [
        (name, state)
        for name, state in asl_states(asl)
        if str(state.get("Resource", "")).endswith(":sagemaker:createModelPackage")
    ]
    assert found, "no createModelPackage state in the training ASL"
    return found


def model_artifact_pattern() -> str:
    """Where evaluation.json's model.artifact_uri points: the evaluation step's --model-uri
    argument, which must lie under its tuning step's training OutputDataConfig.S3OutputPath
    (the same pattern on both branches of CheckProblemType)."""
    from ml.pipeline import BINARY, MULTICLASS

    patterns = set()
    for branch in (BINARY, MULTICLASS):
        arguments = pipeline_step(branch.evaluate_step)["AppSpecification"]["ContainerArguments"]
        model_uri = std_join_pattern(arguments[arguments.index("--model-uri") + 1])
        output_path = std_join_pattern(
            pipeline_step(branch.tune_step)["TrainingJobDefinition"]["OutputDataConfig"][
                "S3OutputPath"
            ]
        )
        assert model_uri.startswith(output_path.rstrip("/") + "/"), (model_uri, output_path)
        patterns.add(model_uri)
    (model_uri,) = patterns
    return model_uri


class _PipelineAsDefined:
    """SageMaker and S3 for the pipeline-outcome Lambda: every processing step of the committed
    pipeline definition succeeded, each job's outputs where the definition puts them (runtime
    values as `*`), and summary.json holds what the evaluation step writes."""

    def __init__(self) -> None:
        from ml.pipeline import flattened_steps

        steps = json.loads(PIPELINE_TEMPLATE.read_text())["Steps"]
        self.jobs = {
            step["Name"]: step["Arguments"]
            for step in flattened_steps(steps)
            if step["Type"] == "Processing"
        }

    def list_pipeline_execution_steps(self, **_: Any) -> dict[str, Any]:
        arn = "arn:aws:sagemaker:us-east-1:111122223333:processing-job/{}".format
        return {
            "PipelineExecutionSteps": [
                {
                    "StepName": name,
                    "StepStatus": "Succeeded",
                    "Metadata": {"ProcessingJob": {"Arn": arn(name)}},
                }
                for name in self.jobs
            ]
        }

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
        outputs = self.jobs[ProcessingJobName]["ProcessingOutputConfig"]["Outputs"]
        return {
            "ProcessingJobName": ProcessingJobName,
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": o["OutputName"],
                        "S3Output": {"S3Uri": std_join_pattern(o["S3Output"]["S3Uri"])},
                    }
                    for o in outputs
                ]
            },
        }

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        import io

        from tests.helpers.report_samples import multiclass_evaluation
        from tests.helpers.stack import summary_for

        report = multiclass_evaluation()
        # evaluate.py records its --model-uri argument as model.artifact_uri (ml/evaluate.py)
        report["model"]["artifact_uri"] = model_artifact_pattern()
        return {"Body": io.BytesIO(json.dumps(summary_for(report)).encode())}


def outcome_patterns() -> dict[str, Any]:
    """What the pipeline-outcome Lambda answers for a succeeded run (the ASL reads it at
    ``$.evaluation``), computed by the Lambda itself from the pipeline definition's outputs."""
    from lambdas.pipeline_outcome import logic

    fake = _PipelineAsDefined()
    answer = logic.outcome(
        {"pipeline_execution_arn": "arn:run", "status": "Succeeded"},
        logic.Clients(sagemaker=fake, s3=fake),
    )
    assert answer["succeeded"], answer
    return dict(answer)


def evaluation_path(path: str, answer: dict[str, Any]) -> str:
    """``$.evaluation.a.b`` resolved in the pipeline-outcome Lambda's answer."""
    assert path.startswith("$.evaluation."), f"a package reference not from the outcome: {path}"
    value: Any = answer
    for part in path.removeprefix("$.evaluation.").split("."):
        value = value[part]
    assert isinstance(value, str), (path, value)
    return value


def package_references() -> dict[str, str]:
    """Every S3 URI a registered package references, as a bucket key pattern (`*` = runtime)."""
    answer = outcome_patterns()
    refs: dict[str, str] = {}
    for name, state in package_states():
        parameters = state["Parameters"]
        for index, container in enumerate(parameters["InferenceSpecification"]["Containers"]):
            where = f"{name}.Containers[{index}].ModelDataUrl"
            if "ModelDataUrl.$" in container:
                refs[where] = evaluation_path(container["ModelDataUrl.$"], answer)
            else:
                refs[where] = container["ModelDataUrl"]
            for variable, value in container.get("Environment", {}).items():
                if str(value).startswith(("s3://", "${")):
                    refs[f"{name}.Containers[{index}].Environment.{variable}"] = value
        for section in ("ModelMetrics", "DriftCheckBaselines"):
            for path, value in json_s3_uris(parameters.get(section, {}), f"{name}.{section}"):
                refs[path] = evaluation_path(value, answer) if value.startswith("$.") else value
    prefix = "s3://${bucket}/"
    for path, uri in refs.items():
        assert uri.startswith(prefix) or uri.startswith("${"), f"{path}: {uri} is not in the bucket"
    return {path: uri.removeprefix(prefix) for path, uri in refs.items()}


def json_s3_uris(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "S3Uri":
                yield f"{path}.{key}", value
            elif key == "S3Uri.$":
                is_path = value.startswith("$.")
                yield f"{path}.S3Uri", value if is_path else states_format_pattern(value)
            else:
                yield from json_s3_uris(value, f"{path}.{key}")


def lifecycle_rules() -> list[dict[str, Any]]:
    """Every rule of the bucket's lifecycle configuration, the dynamic ones expanded over the
    generated layout's expiring prefixes (terraform/s3_layout.generated.tf)."""
    (config,) = main_resources("aws_s3_bucket_lifecycle_configuration").values()
    rules = list(config.get("rule", []))
    for dynamic in config.get("dynamic", []):
        block = dynamic["rule"]
        assert block["for_each"] == "${local.s3_expiring_prefixes}", block["for_each"]
        (content,) = block["content"]
        for prefix in locals_of(TERRAFORM_DIR)["s3_expiring_prefixes"]:
            text = json.dumps(content).replace("${rule.value}", prefix)
            rules.append(
                json.loads(text.replace('${trimsuffix(rule.value, \\"/\\")}', prefix[:-1]))
            )
    return rules


def rule_prefix(rule: dict[str, Any]) -> str:
    """The key prefix a rule applies to; tag and size filters narrow it, so they are ignored
    (the stricter reading: the rule may reach every key under its prefix)."""
    (selector,) = rule.get("filter", [{}]) or [{}]
    if "and" in selector:
        (selector,) = selector["and"]
    prefix = str(selector.get("prefix", ""))
    layout = re.fullmatch(r"\$\{local\.s3_prefix\.(\w+)\}", prefix)
    return s3_layout.prefix(layout[1]) if layout else prefix


def expires_current_objects(rule: dict[str, Any]) -> bool:
    if rule.get("status") != "Enabled":
        return False
    return any(("days" in e or "date" in e) for e in rule.get("expiration", []))


def prefix_may_cover(prefix: str, pattern: str) -> bool:
    """Whether some key matching `pattern` (where `*` is a runtime value) starts with `prefix`."""
    for index, char in enumerate(prefix):
        if index >= len(pattern) or pattern[index] == RUNTIME:
            return True
        if pattern[index] != char:
            return False
    return True


def test_prefix_coverage_reading() -> None:
    assert prefix_may_cover("pipelines/", "pipelines/*/training/*/output/model.tar.gz")
    assert prefix_may_cover("", "models/*/x")
    assert prefix_may_cover("models/abc", "models/*/x")
    assert not prefix_may_cover("pipelines/", "models/*/x")
    assert not prefix_may_cover("evaluation/", "models/*/x")
    assert states_format_pattern(
        "States.Format('s3://${bucket}/{}', States.Format('evaluation/{}/evaluation.json', $.p.id))"
    ) == ("s3://${bucket}/evaluation/*/evaluation.json")


def test_no_expiring_lifecycle_rule_covers_what_a_package_references() -> None:
    """A registered package lives until someone deletes it; so must every object it names."""
    references = package_references()
    assert any("ModelDataUrl" in p for p in references), references
    assert any("ModelMetrics" in p for p in references), references
    covered = [
        f"{path} ({pattern}) expires under rule {rule['id']!r} (prefix {rule_prefix(rule)!r})"
        for path, pattern in references.items()
        for rule in lifecycle_rules()
        if expires_current_objects(rule) and prefix_may_cover(rule_prefix(rule), pattern)
    ]
    assert not covered, "\n".join(covered)


def test_packages_reference_no_object_terraform_replaces() -> None:
    """Terraform deletes a staged aws_s3_object when its content hash (in the key) changes; a
    package naming one (e.g. SAGEMAKER_SUBMIT_DIRECTORY=${train_source_uri}) would lose it."""
    variables = template_vars("training")
    staged = {
        path: pattern
        for path, pattern in package_references().items()
        for name in PLACEHOLDER.findall(pattern)
        if "aws_s3_object." in str(variables.get(name, ""))
    }
    assert not staged, f"packages reference Terraform-staged objects: {staged}"


def test_intermediate_splits_still_expire() -> None:
    outputs = pipeline_step("PrepareData")["ProcessingOutputConfig"]["Outputs"]
    splits = [
        std_join_pattern(o["S3Output"]["S3Uri"]).removeprefix("s3://${bucket}/") for o in outputs
    ]
    for split in splits:
        assert any(
            expires_current_objects(rule) and prefix_may_cover(rule_prefix(rule), split)
            for rule in lifecycle_rules()
        ), f"nothing expires the split {split}"


def test_lifecycle_keeps_version_and_upload_housekeeping() -> None:
    rules = lifecycle_rules()
    whole_bucket = [r for r in rules if rule_prefix(r) == "" and r.get("status") == "Enabled"]
    assert any("abort_incomplete_multipart_upload" in r for r in whole_bucket)
    prefixes = {rule_prefix(r) for r in rules if "noncurrent_version_expiration" in r}
    for pattern in [*package_references().values(), "pipelines/"]:
        if not pattern.startswith("${"):
            assert any(prefix_may_cover(p, pattern) for p in prefixes), pattern


def test_sagemaker_role_writes_and_reads_model_artifacts() -> None:
    key = model_artifact_pattern().removeprefix("s3://${bucket}/").replace(RUNTIME, "x")
    statements = main_policy_document("sagemaker")
    for action in ("s3:PutObject", "s3:GetObject"):
        resources = [r for s in statements if action in s["actions"] for r in s["resources"]]
        assert any(iam_pattern_matches(r, "${local.bucket_arn}/" + key) for r in resources), (
            action,
            key,
        )


# ---- SNS key policy -----------------------------------------------------------------------------

SNS_KEY_GUIDE = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
SOURCE_CONDITIONS = {"aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths"}


@pytest.mark.parametrize("service", ["events.amazonaws.com", "cloudwatch.amazonaws.com"])
def test_sns_key_policy_lets_aws_event_sources_publish(service: str) -> None:
    """SNS developer guide, "Enable compatibility between event sources from AWS services and
    encrypted topics": the key policy allows the service kms:GenerateDataKey* and kms:Decrypt.
    SNS makes those KMS calls for the publisher; published guidance says EventBridge delivery
    does not carry aws:SourceAccount/SourceArn there, so such a condition drops every event."""
    grants = [
        s
        for s in main_policy_document("sns_key")
        if s.get("effect", "Allow") == "Allow"
        and any(
            p["type"] == "Service" and service in p["identifiers"] for p in s.get("principals", [])
        )
    ]
    assert grants, f"the SNS key policy does not let {service} use the key"
    for statement in grants:
        assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(statement["actions"])
        conditions = {c["variable"] for c in statement.get("condition", [])}
        assert not conditions & SOURCE_CONDITIONS, (
            f"{service}: {sorted(conditions & SOURCE_CONDITIONS)} in the key policy can block "
            "delivery to the encrypted topic"
        )
    assert SNS_KEY_GUIDE in (TERRAFORM_DIR / "notifications.tf").read_text()


def test_topic_is_encrypted_with_that_key() -> None:
    topic = main_resources("aws_sns_topic")["notifications"]
    assert topic["kms_master_key_id"] == "${local.sns_kms_key_arn}"
    key = main_resources("aws_kms_key")["sns"]
    assert key["policy"] == "${data.aws_iam_policy_document.sns_key.json}"


# ---- bootstrap deploy role: rendered PassRole scope --------------------------------------------


def hcl_attribute_source(text: str, name: str) -> str:
    """The source text of `name = <expression>` (brackets balanced) from an HCL file."""
    match = re.search(rf"^\s*{name}\s*=\s*", text, re.MULTILINE)
    assert match, f"no {name} = ... found"
    depth, position = 0, match.end()
    while position < len(text):
        char = text[position]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "\n" and depth == 0:
            break
        position += 1
    return text[match.end() : position]


def test_bootstrap_renders_pass_role_scope_from_the_role_list(
    terraform: str, tmp_path: Path
) -> None:
    """Render the bootstrap's locals with Terraform; compare with terraform/iam_roles.json."""
    source = (ROOTS["bootstrap"] / "locals.tf").read_text()
    names = [
        "project_roles",
        "project_role_arns",
        "existing_sagemaker_role_arns",
        "pass_role_arns_by_service",
    ]
    module = tmp_path / "bootstrap"
    module.mkdir()
    shutil.copy(TERRAFORM_DIR / "iam_roles.json", tmp_path / "iam_roles.json")
    expressions = "\n".join(f"  {n} = {hcl_attribute_source(source, n)}" for n in names)
    (module / "main.tf").write_text(
        'variable "project_name" {\n  default = "demo"\n}\n'
        'variable "sagemaker_role_name" {\n  default = ""\n}\n'
        'locals {\n  partition  = "aws"\n  account_id = "111122223333"\n'
        f"{expressions}\n}}\n"
        + "".join(f'output "{n}" {{\n  value = local.{n}\n}}\n' for n in names)
    )
    env = terraform_env(tmp_path / ".tfdata")
    result = run([terraform, f"-chdir={module}", "init", "-input=false", "-no-color"], env=env)
    assert result.returncode == 0, f"init:\n{result.stdout}\n{result.stderr}"

    def render(existing_role: str) -> dict[str, Any]:
        args = ["apply", "-auto-approve", "-input=false", "-no-color"]
        args.append(f"-var=sagemaker_role_name={existing_role}")
        result = run([terraform, f"-chdir={module}", *args], env=env)
        assert result.returncode == 0, f"apply:\n{result.stdout}\n{result.stderr}"
        result = run([terraform, f"-chdir={module}", "output", "-json"], env=env)
        return {k: v["value"] for k, v in json.loads(result.stdout).items()}

    roles = json.loads((TERRAFORM_DIR / "iam_roles.json").read_text())["roles"]
    arn = "arn:aws:iam::111122223333:role/demo-{}".format
    expected: dict[str, list[str]] = {}
    for suffix, service in roles.items():
        expected.setdefault(service, []).append(arn(suffix))

    rendered = render("")
    assert sorted(rendered["project_role_arns"]) == sorted(arn(s) for s in roles)
    assert {k: sorted(v) for k, v in rendered["pass_role_arns_by_service"].items()} == {
        k: sorted(v) for k, v in expected.items()
    }
    # no role is passed to EventBridge: its rules target queues, which need no role
    assert "events.amazonaws.com" not in rendered["pass_role_arns_by_service"]
    assert rendered["existing_sagemaker_role_arns"] == []

    # An existing SageMaker role is passed to SageMaker only, and never managed.
    rendered = render("byo-role")
    byo = "arn:aws:iam::111122223333:role/byo-role"
    assert rendered["existing_sagemaker_role_arns"] == [byo]
    passes = rendered["pass_role_arns_by_service"]
    assert [s for s, arns in passes.items() if byo in arns] == ["sagemaker.amazonaws.com"]
    assert byo not in rendered["project_role_arns"]
