"""The GitHub Actions workflows: offline lint (schema + zizmor) and the contracts they implement.

`scripts/lint-workflows.sh` must pass on the committed `.github/` and fail on a broken copy
(schema error, unpinned action, script injection). The structural checks pin what matters for
delivery: SHA-pinned actions, read-only top-level permissions, every `run:` step one `make` call,
ci.yml = `make lint` + `make test`, plans never apply, and the deploy job runs in the environment
the bootstrap deploy role trusts. What a step's `make` call does is read from `make -n` with the
job's environment (placeholders for repository variables), so the Makefile is checked too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
GITHUB_DIR = ROOT / ".github"
WORKFLOWS_DIR = GITHUB_DIR / "workflows"
LINT_SCRIPT = ROOT / "scripts" / "lint-workflows.sh"
WAIT_SCRIPT = ROOT / "scripts" / "wait_for_execution.py"
BOOTSTRAP_DIR = ROOT / "terraform" / "bootstrap"
WORKFLOW_NAMES = ("ci.yml", "pr.yml", "deploy.yml")
DEPLOY_PATHS = {"terraform/**", "statemachines/**", "ml/**", "lambdas/**"}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+\.\d+\.\d+\b")
MAKE_CALL = re.compile(r"\bmake\s+(?P<target>[a-z][\w-]*)")
# House style: a run step is `make <target> [VAR=value ...]` and nothing else.
MAKE_ONLY = re.compile(r"make [a-z][\w-]*(?: [A-Z][A-Z0-9_]*=\S+)*")
DIRECT_CALL = re.compile(r"\bterraform\b|scripts/|\bpython[\d.]*\b|\.venv/")
# What GitHub Actions sets for every job, as far as the Makefile and the deploy step read it.
GITHUB_ENV = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_RUN_ATTEMPT": "3",
}
HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)
LINT_TIMEOUT = 120

pytestmark = pytest.mark.timeout(300)


# ---- helpers ------------------------------------------------------------------------------------


def load_workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS_DIR / name).read_text())
    # YAML 1.1 reads the bare key `on` as the boolean True.
    if True in document:
        document["on"] = document.pop(True)
    return dict(document)


def all_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def run_text(workflow: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in all_steps(workflow))


def make_step(workflow: dict[str, Any], target: str) -> str:
    """The one run step that calls `make <target>`."""
    (command,) = [
        step["run"]
        for step in all_steps(workflow)
        if re.match(rf"make {re.escape(target)}\b", step.get("run", ""))
    ]
    return str(command)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that steers the Makefile or a parent make."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "MAKE", "MFLAGS", "GITHUB_", "AWS_")) and key != "CI"
    }
    return env | extra


def dry_run(command: str, env: dict[str, str]) -> str:
    """What `command` (a run step or a make call) would execute: `make -n`, recursion included.

    Continuation lines are joined and whitespace collapsed, so a test can match whole commands.
    """
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env | {"MAKEFLAGS": "n --no-print-directory"},
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return " ".join(result.stdout.replace("\\\n", " ").split())


def dry_run_step(workflow_name: str, job_name: str, target: str, tmp_path: Path) -> str:
    """`make -n` of a workflow's step in its job's environment, as on a GitHub runner."""
    workflow = load_workflow(workflow_name)
    job_env = {
        key: f"example-{key.lower().replace('_', '-')}" if "${{" in str(value) else str(value)
        for key, value in workflow["jobs"][job_name].get("env", {}).items()
    }
    # A runner has no terraform/backend.hcl (it is gitignored); this machine might.
    env = clean_env(**job_env, **GITHUB_ENV, TF_BACKEND_FILE=str(tmp_path / "absent.hcl"))
    return dry_run(make_step(workflow, target), env)


def run_lint(github_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(LINT_SCRIPT), str(github_dir)],
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT,
        check=False,
    )


def broken_copy(tmp_path: Path, workflow: str, old: str, new: str) -> Path:
    """A copy of .github/ with one edit in one workflow (the edit must apply)."""
    copy = tmp_path / ".github"
    shutil.copytree(GITHUB_DIR, copy)
    path = copy / "workflows" / workflow
    text = path.read_text()
    assert old in text, f"{old!r} not in {workflow}: update this test"
    path.write_text(text.replace(old, new, 1))
    return copy


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_-]+):", text, flags=re.MULTILINE))


def bootstrap_blocks(kind: str) -> list[dict[str, Any]]:
    """Every top-level `kind` block (variable, data, ...) of the bootstrap root."""
    found: list[dict[str, Any]] = []
    for path in sorted(BOOTSTRAP_DIR.glob("*.tf")):
        with path.open() as handle:
            found += hcl2.load(handle, serialization_options=HCL_OPTIONS).get(kind, [])
    return found


# ---- lint: passes on the repository, fails on broken copies ------------------------------------


def test_lint_passes_on_the_committed_workflows() -> None:
    result = run_lint(GITHUB_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("workflow", "old", "new", "expected"),
    [
        pytest.param(
            "ci.yml",
            "    timeout-minutes: 45\n",
            "    timeout-minutes: 45\n    runs-of: ubuntu-24.04\n",
            "runs-of",
            id="unknown-job-key",
        ),
        pytest.param(
            "ci.yml",
            "      - name: Lint\n",
            "      - name: Lint\n        if: [not, a, string]\n",
            "validation errors",
            id="wrong-type",
        ),
        pytest.param(
            "deploy.yml",
            "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0",
            "actions/checkout@v5",
            "unpinned-uses",
            id="unpinned-action",
        ),
        pytest.param(
            "pr.yml",
            "        run: make check-definitions\n",
            '        run: echo "${{ github.event.pull_request.title }}"\n',
            "template-injection",
            id="script-injection",
        ),
        pytest.param(
            "ci.yml",
            "          persist-credentials: false\n",
            "          fetch-depth: 1\n",
            "artipacked",
            id="persisted-git-credentials",
        ),
    ],
)
def test_lint_fails_on_a_broken_workflow(
    tmp_path: Path, workflow: str, old: str, new: str, expected: str
) -> None:
    result = run_lint(broken_copy(tmp_path, workflow, old, new))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output


# ---- structure ----------------------------------------------------------------------------------


def test_the_three_workflows_exist() -> None:
    found = {path.name for path in WORKFLOWS_DIR.glob("*.y*ml")}
    assert set(WORKFLOW_NAMES) <= found


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_every_action_is_pinned_to_a_commit_sha_with_its_version(name: str) -> None:
    uses = [
        match
        for line in (WORKFLOWS_DIR / name).read_text().splitlines()
        if (match := USES.match(line))
    ]
    assert uses, f"{name} uses no actions"
    for match in uses:
        ref = match["ref"].strip("'\"")
        assert PINNED.match(ref), f"{name}: {ref} is not pinned to a full commit SHA"
        assert VERSION_COMMENT.match(match["rest"]), f"{name}: {ref} lacks a `# vX.Y.Z` comment"


def test_each_action_has_one_pin_across_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for name in WORKFLOW_NAMES:
        for line in (WORKFLOWS_DIR / name).read_text().splitlines():
            if match := USES.match(line):
                action, sha = match["ref"].split("@")
                pins.setdefault(action, set()).add(f"{sha}{match['rest']}")
    drifted = {action: shas for action, shas in pins.items() if len(shas) > 1}
    assert not drifted


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_top_level_permissions_are_read_only(name: str) -> None:
    workflow = load_workflow(name)
    assert workflow["permissions"] == {"contents": "read"}
    for job_name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        assert granted.get("contents", "read") == "read", f"{name}:{job_name} writes contents"
        assert "write-all" not in str(granted)


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_make_targets_called_by_workflows_exist(name: str) -> None:
    called = {match["target"] for match in MAKE_CALL.finditer(run_text(load_workflow(name)))}
    assert called <= makefile_targets(), called - makefile_targets()


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_every_run_step_is_one_make_call(name: str) -> None:
    """STYLE.md: CI steps call `make` targets only, so a workstation can run what CI runs."""
    steps = [step for step in all_steps(load_workflow(name)) if "run" in step]
    assert steps, f"{name} has no run steps"
    for step in steps:
        command = str(step["run"]).strip()
        direct = DIRECT_CALL.search(command)
        assert not direct, f"{name}: {step.get('name')!r} calls {direct[0]!r} directly: use make"
        assert MAKE_ONLY.fullmatch(command), f"{name}: {step.get('name')!r} is not one make call"


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_checkout_never_persists_credentials(name: str) -> None:
    for step in all_steps(load_workflow(name)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False


def test_ci_runs_the_demo_first_then_lint_and_test_on_every_push_and_pull_request() -> None:
    workflow = load_workflow("ci.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert workflow["on"]["push"] is None, "ci must run on every branch"
    commands = [step["run"].split()[:2] for step in all_steps(workflow) if "run" in step]
    assert commands == [["make", "demo"], ["make", "lint"], ["make", "test"]]
    assert workflow["concurrency"] == {
        "group": "${{ github.workflow }}-${{ github.ref }}",
        "cancel-in-progress": True,
    }
    steps = {str(step.get("uses", "")).split("@")[0]: step for step in all_steps(workflow)}
    assert steps["actions/setup-python"]["with"]["python-version"] == "3.11"
    assert steps["actions/setup-python"]["with"]["cache-dependency-path"] == "requirements*.txt"
    terraform = steps["hashicorp/setup-terraform"]["with"]
    assert terraform["terraform_wrapper"] is False
    assert str(terraform["terraform_version"]).lstrip("~").startswith("1.11")


def test_ci_run_starts_with_the_demo_on_the_clean_clone() -> None:
    """.ci/run runs the README's first command before anything else creates an environment."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.split()[:2] for line in script.splitlines() if re.match(r"\s*make ", line)]
    assert commands == [["make", "demo"], ["make", "lint"], ["make", "test"]]
    before_demo = script.split("make demo", 1)[0]
    assert not re.search(r"\b(venv|pip|make)\b", before_demo.replace("`make demo`", "")), (
        "nothing may create an environment before make demo"
    )


def test_pr_plans_read_only_and_updates_one_comment(tmp_path: Path) -> None:
    workflow = load_workflow("pr.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert set(workflow["on"]["pull_request"]["paths"]) == DEPLOY_PATHS
    plan = workflow["jobs"]["plan"]
    assert plan["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    assert "head.repo.full_name == github.repository" in plan["if"]
    skips = [
        job
        for job in workflow["jobs"].values()
        if "full_name != github.repository" in str(job.get("if", ""))
    ]
    assert skips, "fork pull requests need a job that says why there is no plan"
    assert all("permissions" not in job for job in skips)

    assert "vars.AWS_PLAN_ROLE_ARN" in str(plan["steps"])
    assert "vars.AWS_DEPLOY_ROLE_ARN" not in str(workflow)
    commands = dry_run_step("pr.yml", "plan", "plan", tmp_path)
    order = [
        commands.index("scripts/preflight.sh plan"),
        commands.index("TF_INIT_BACKEND=true scripts/terraform-init.sh terraform"),
        commands.index("terraform -chdir=terraform plan "),
        commands.index("terraform -chdir=terraform show -no-color tfplan > plan.txt"),
    ]
    assert order == sorted(order)
    assert '-backend-config="bucket=${TF_STATE_BUCKET}"' in commands
    assert re.search(r"terraform -chdir=terraform plan [^;]*-lock=false [^;]*-out=tfplan", commands)
    assert not re.search(r"\bapply\b", commands + run_text(workflow))
    script = next(
        step["with"]["script"]
        for step in plan["steps"]
        if str(step.get("uses", "")).startswith("actions/github-script@")
    )
    assert "<!-- terraform-plan -->" in script
    assert 'readFileSync("plan.txt"' in script
    assert "updateComment" in script
    assert "createComment" in script
    assert "60000" in script


def test_deploy_runs_in_production_one_at_a_time(tmp_path: Path) -> None:
    workflow = load_workflow("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert DEPLOY_PATHS | {"Makefile", "requirements*.txt"} == set(workflow["on"]["push"]["paths"])
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "production"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert "vars.AWS_DEPLOY_ROLE_ARN" in str(job["steps"])

    targets = [match["target"] for match in MAKE_CALL.finditer(run_text(workflow))]
    assert targets == ["check-definitions", "build", "deploy", "run-and-wait"]

    commands = dry_run_step("deploy.yml", "deploy", "deploy", tmp_path)
    order = [
        commands.index("scripts/preflight.sh deploy"),
        commands.index("TF_INIT_BACKEND=true scripts/terraform-init.sh terraform"),
        commands.index("terraform -chdir=terraform apply "),
    ]
    assert order == sorted(order)
    for setting in ("bucket=${TF_STATE_BUCKET}", "key=${TF_STATE_KEY}", "region=${AWS_REGION}"):
        assert f'-backend-config="{setting}"' in commands
    assert "-backend-config=use_lockfile=true -backend-config=encrypt=true" in commands
    assert re.search(r"apply -input=false -no-color -auto-approve$", commands)


def test_deploy_starts_a_traceable_execution_of_the_real_state_machine(tmp_path: Path) -> None:
    commands = dry_run_step("deploy.yml", "deploy", "run-and-wait", tmp_path)
    output = re.search(r"terraform -chdir=terraform output -raw (\w+)", commands)
    assert output, "deploy must read the state machine ARN from terraform output"
    outputs_tf = (ROOT / "terraform" / "outputs.tf").read_text()
    assert f'output "{output[1]}"' in outputs_tf
    # deploy-<first 12 of the commit SHA>-<run attempt>
    assert "--name 'deploy-0123456789ab-3'" in commands
    assert WAIT_SCRIPT.is_file()
    assert f"scripts/{WAIT_SCRIPT.name} --state-machine-arn" in commands
    timeout = re.search(r"--timeout-seconds (\d+)", commands)
    assert timeout and 0 < int(timeout[1]) <= 2 * 3600
    assert "--poll-seconds 30" in commands


# ---- the same targets from a workstation (docs/aws.md, "Deploy") ------------------------------


def test_workstation_deploy_uses_backend_hcl_regenerates_and_asks(tmp_path: Path) -> None:
    backend = tmp_path / "backend.hcl"
    backend.write_text('bucket = "state-bucket"\n')
    env = clean_env(TF_BACKEND_FILE=str(backend), TF_STATE_BUCKET="ignored-when-the-file-exists")
    commands = dry_run("make deploy", env)
    assert f"scripts/terraform-init.sh terraform -backend-config={backend} " in commands
    assert "TF_STATE_BUCKET" not in commands
    assert "-m statemachines" in commands and "-m ml.pipeline" in commands
    # Without AUTO_APPROVE terraform asks; outside CI it keeps its colours.
    assert commands.endswith("terraform -chdir=terraform apply -input=false")


def test_workstation_plan_neither_saves_nor_skips_the_lock(tmp_path: Path) -> None:
    commands = dry_run("make plan", clean_env(TF_BACKEND_FILE=str(tmp_path / "absent.hcl")))
    assert commands.endswith("terraform -chdir=terraform plan -input=false")
    assert " show " not in commands


def test_run_and_wait_needs_a_name() -> None:
    result = subprocess.run(
        ["make", "-n", "run-and-wait"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert "run-and-wait needs NAME=<execution name>" in result.stderr


def test_bootstrap_deploy_role_trusts_the_deploy_environment() -> None:
    """The OIDC subject of a job with `environment:` is repo:<owner/repo>:environment:<name>."""
    environment = load_workflow("deploy.yml")["jobs"]["deploy"]["environment"]
    variables = {
        name: body for block in bootstrap_blocks("variable") for name, body in block.items()
    }
    assert variables["deploy_environment"]["default"] == environment

    documents = [block.get("aws_iam_policy_document", {}) for block in bootstrap_blocks("data")]
    (document,) = [docs["deploy_assume"] for docs in documents if "deploy_assume" in docs]
    (statement,) = document["statement"]
    subjects = [
        condition["values"]
        for condition in statement["condition"]
        if condition["variable"].endswith(":sub")
    ]
    assert subjects == [["repo:${var.github_repository}:environment:${var.deploy_environment}"]]
