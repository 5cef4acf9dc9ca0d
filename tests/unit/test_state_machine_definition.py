"""The committed ASL of both machines: current, valid, small, readable, and bounded.

What a user observes of the machines is tested on the emulator (tests/integration/
test_training_machine.py, test_deployment_machine.py); here, the shape every path must keep.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from contracts import deployment as requests
from contracts import pipeline, registry
from devtools.generated import placeholders, render
from statemachines import MACHINES, Machine, definition_json
from statemachines.diagram import diagram_path, mermaid_page

ROOT = Path(__file__).resolve().parents[2]
BY_ID = {machine.name: machine for machine in MACHINES}


def committed(machine: Machine) -> dict[str, Any]:
    return dict(json.loads(machine.asl_path.read_text(encoding="utf-8")))


def states(machine: Machine) -> dict[str, dict[str, Any]]:
    return dict(committed(machine)["States"])


def rendered(machine: Machine) -> str:
    values = {
        name: f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        for name in machine.placeholders
    }
    return render(machine.asl_path.read_text(encoding="utf-8"), values)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_committed_asl_and_its_diagram_are_current(machine: Machine) -> None:
    text = definition_json(machine)
    assert machine.asl_path.read_text(encoding="utf-8") == text, "run `make definitions`"
    assert diagram_path(machine.name).read_text(encoding="utf-8") == mermaid_page(
        machine.name, text
    ), "run `make definitions`"
    assert definition_json(machine) == text  # byte-stable


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import statemachines
    from statemachines import __main__ as cli

    machine = MACHINES[0]
    stale = tmp_path / "training.asl.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(
        cli, "MACHINES", (Machine(machine.name, stale, machine.placeholders, machine.build),)
    )
    monkeypatch.setattr(cli, "diagram_path", lambda name: tmp_path / f"{name}.md")
    assert cli.main(["--check"]) == 1
    assert cli.main([]) == 0
    assert cli.main(["--check"]) == 0
    assert statemachines.MACHINES[0].asl_path != stale


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_placeholders_are_exactly_the_machines(machine: Machine) -> None:
    assert placeholders(machine.asl_path.read_text(encoding="utf-8")) == set(machine.placeholders)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_rendered_asl_passes_statelint(machine: Machine, tmp_path: Path) -> None:
    path = tmp_path / f"{machine.name}.asl.json"
    path.write_text(rendered(machine), encoding="utf-8")
    statelint = Path(sys.executable).parent / "statelint"
    result = subprocess.run(
        [str(statelint), str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_two_machines_hold_at_most_80_states() -> None:
    counts = {machine.name: len(states(machine)) for machine in MACHINES}
    assert sum(counts[name] for name in ("training", "deployment")) <= 80, counts


def test_no_builder_function_is_longer_than_80_lines() -> None:
    longest: list[tuple[int, str]] = []
    for path in (ROOT / "statemachines").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                longest.append((length, f"{path.relative_to(ROOT)}:{node.name}"))
    assert max(longest)[0] <= 80, sorted(longest)[-3:]


def test_the_generator_imports_nothing_of_ml() -> None:
    code = (
        "import sys, statemachines; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'ml'))"
    )
    out = (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out == "[]"


def _intrinsics(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith(".$") and isinstance(value, str) and value.startswith("States."):
                found.append(value)
            found.extend(_intrinsics(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_intrinsics(item))
    return found


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_intrinsic_string_literals_are_balanced(machine: Machine) -> None:
    # statelint does not parse intrinsic arguments; an apostrophe in a message would only
    # break at run time. Count unescaped quotes instead.
    for expression in _intrinsics(committed(machine)):
        assert len(re.findall(r"(?<!\\)'", expression)) % 2 == 0, expression


def test_no_state_rebuilds_a_string_from_its_parts() -> None:
    """Python normalizes: no StringSplit / ArrayGetItem chains in either machine."""
    for machine in MACHINES:
        text = machine.asl_path.read_text(encoding="utf-8")
        assert "States.StringSplit" not in text and "States.ArrayGetItem" not in text, machine


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_path_ends_through_finish(machine: Machine) -> None:
    """Every outcome is recorded and notified by Finish, then Failed (the outcome's own error)
    or Done; a lost notification still fails a failed run."""
    graph = states(machine)
    outcomes = {
        name: s
        for name, s in graph.items()
        if s["Type"] == "Pass" and s.get("ResultPath") == "$.outcome"
    }
    assert outcomes
    for name, state in outcomes.items():
        assert state["Next"] == "Finish", name
        status = state["Parameters"].get("status")
        assert status in {"FAILED", "SUCCEEDED", "SKIPPED"}, name
        if status == "FAILED":
            assert "error" in state["Parameters"] or "error.$" in state["Parameters"], name
            assert "cause.$" in state["Parameters"], name
    assert graph["Finish"]["Next"] == "Ended"
    assert graph["Failed"] == {
        "Comment": "Ends every failure path with the outcome's error and cause.",
        "Type": "Fail",
        "ErrorPath": "$.outcome.error",
        "CausePath": "$.outcome.cause",
    }
    ends = {name for name, s in graph.items() if s["Type"] in {"Succeed", "Fail"}}
    assert ends == {"Done", "Failed", "NotificationFailed"}


def test_failure_names_are_the_designs() -> None:
    designed = {
        "InvalidExecutionInput",
        "InputCheckFailed",
        "InputUnreadable",
        "PipelineStartFailed",
        "PipelineMonitoringFailed",
        "PipelinePollBudgetExhausted",
        "PipelineExecutionFailed",
        "EvaluationUnreadable",
        "QualityGateFailed",
        "ModelRegistrationFailed",
        "DeploymentPlanFailed",
        "DeploymentFailed",
        "EndpointDeploymentFailed",
        "EndpointDeploymentTimedOut",
        "MonitoringPlanFailed",
        "MonitorStartFailed",
        "MonitorJobUnreadable",
        "MonitorPollBudgetExhausted",
        "DriftUnreadable",
    }
    named = {
        s["Parameters"]["error"]
        for machine in MACHINES
        for s in states(machine).values()
        if s["Type"] == "Pass" and isinstance(s.get("Parameters", {}).get("error"), str)
    }
    assert named <= designed, named - designed


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_task_is_caught_and_retries_transient_errors(machine: Machine) -> None:
    for name, state in states(machine).items():
        if state["Type"] != "Task":
            continue
        assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), name
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        assert retried, f"{name} has no Retry"
        assert all(r["BackoffRate"] >= 2 for r in state["Retry"]), name


def _resources(machine: Machine) -> set[str]:
    return {s["Resource"] for s in states(machine).values() if s["Type"] == "Task"}


def test_one_job_per_machine() -> None:
    training, deployment = _resources(BY_ID["training"]), _resources(BY_ID["deployment"])
    deploying = {"createModel", "createEndpointConfig", "createEndpoint", "updateEndpoint"}
    assert not any(r.rsplit(":", 1)[-1] in deploying or "Endpoint" in r for r in training)
    assert not any("ModelPackage" in r for r in deployment)
    # Neither machine ever updates a package: an update can emit another state-change event.
    assert not any("updateModelPackage" in r for r in training | deployment)


def test_guarded_updates_use_the_aws_sdk_integration() -> None:
    """UpdateEndpoint with DeploymentConfig through aws-sdk:sagemaker, which passes every API
    field; no AWS document shows the optimized integration accepting DeploymentConfig."""
    graph = states(BY_ID["deployment"])
    assert (
        graph["UpdateEndpoint"]["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:updateEndpoint"
    )
    assert graph["UpdateEndpoint"]["Parameters"]["DeploymentConfig.$"] == "$.deployment_config"


def test_served_code_comes_from_inside_the_model_artifact() -> None:
    register = states(BY_ID["training"])["Register"]["Parameters"]
    [container] = register["InferenceSpecification"]["Containers"]
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"


def test_the_data_step_the_outcome_reads_is_the_pipelines_first_and_runs_prepare() -> None:
    """PipelineOutcome treats the first step, STEP_PREPARE, as the data step."""
    from emulator.sagemaker_executor.definition import execution_order
    from tests.helpers.pipeline_definition import rendered_definition

    first = execution_order(list(rendered_definition()["Steps"]))[0]
    assert first["Name"] == pipeline.STEP_PREPARE
    assert first["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1].endswith("prepare.py")


# ---------------------------------------------------------------- every field bounded

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
#: Every JSONPath a machine sends to a SageMaker API whose value can come from user input (the
#: data URI, the execution name, the dataset's names), and the contract that bounds it.
BOUNDED = {
    ("CreateModelPackage", "ModelPackageDescription"): (
        "$.registration.description",
        registry.DESCRIPTION_MAX,
    ),
    ("StartPipelineExecution", "PipelineExecutionDescription"): ("$.pipeline_description", 3072),
    ("CreateModel", "ModelName"): ("$.names.model", 63),
    ("CreateEndpointConfig", "EndpointConfigName"): ("$.names.config", 63),
    ("CreateEndpoint", "EndpointConfigName"): ("$.names.config", 63),
    ("UpdateEndpoint", "EndpointConfigName"): ("$.names.config", 63),
}
#: Values built whole by Python under a contract's bounds (each checked by its unit tests).
BUILT_IN_PYTHON = {
    "$.pipeline_parameters": "contracts.pipeline.run_parameters (each value <= 1024)",
    "$.registration.metadata": "contracts.registry.checked_metadata",
    "$.endpoint_config.production_variants": "lambdas/deployment_plan (Terraform's settings)",
    "$.endpoint_config.data_capture": "lambdas/deployment_plan (Terraform's settings)",
    "$.deployment_config": "lambdas/deployment_plan (Terraform's validated guardrails)",
    "$.job.name": "contracts.monitoring.job_name (SageMaker's name pattern, unit-tested)",
    "$.job.arguments": "lambdas/monitor_plan (paths and numbers it builds)",
    "$.job.inputs": "lambdas/monitor_plan (the package's baseline, contract, capture manifest)",
    "$.job.output_uri": "contracts.monitoring (monitoring/<endpoint>/<run>/drift)",
    "$.job.max_runtime_seconds": "lambdas/monitor_plan (Terraform's validated setting)",
}
#: Identifiers SageMaker itself returned (ARNs, URIs of its own outputs, names it was given).
FROM_SAGEMAKER = {
    "$.pipeline.arn",
    "$.package.arn",
    "$.deployment.endpoint_name",
    "$.deployment.previous_config",
    "$.evaluation.approval_status",
    "$.evaluation.evaluation_uri",
    "$.evaluation.baseline_uri",
    "$.evaluation.summary.model_artifact_uri",
}


def _operation(resource: str) -> str:
    action = resource.rsplit(":", 1)[-1]
    return action[0].upper() + action[1:]


def _paths(parameters: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in parameters.items():
        if key.endswith(".$"):
            found.append((prefix + key[:-2], value))
        elif isinstance(value, dict):
            found.extend(_paths(value, prefix + key + "."))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found.extend(_paths(item, prefix + key + "."))
    return found


def test_every_value_sent_to_sagemaker_is_bounded_by_botocores_constraints() -> None:
    unaccounted = []
    for machine in MACHINES:
        for name, state in states(machine).items():
            resource = state.get("Resource", "")
            if state["Type"] != "Task" or ":sagemaker:" not in resource:
                continue
            operation = _operation(resource)
            for member, path in _paths(state["Parameters"]):
                if path.startswith(("States.Hash(", "$$.")) or path in FROM_SAGEMAKER:
                    continue
                if path.split(",")[0].removeprefix("States.JsonMerge(") in BUILT_IN_PYTHON:
                    continue
                bound = BOUNDED.get((operation, member))
                if bound is None:
                    unaccounted.append(f"{machine.name}.{name}: {member} <- {path}")
                    continue
                expected_path, limit = bound
                assert path == expected_path, (name, member, path)
                shape = SAGEMAKER.operation_model(operation).input_shape.members[member]
                assert limit <= shape.metadata["max"], (operation, member, limit)
    assert unaccounted == [], "a value with no known bound reaches SageMaker"


def test_resource_names_fit_sagemakers_pattern() -> None:
    from lambdas.deployment_plan.logic import resource_name

    pattern = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    for prefix in ("iris-mlops", "x" * 80, "a-b"):
        name = resource_name(prefix, 12345, "execution-" + "z" * 70)
        assert pattern.match(name), name


def test_deployment_execution_names_fit_step_functions() -> None:
    request = requests.Request(
        "arn:aws:sagemaker:us-east-1:1:model-package/g/1", requests.ROLLBACK, "x", "y" * 100
    )
    name = requests.execution_name(request, {"ModelPackageVersion": 1})
    assert 1 <= len(name) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+", name)
