"""The committed ASL: current, valid, and rendered the way Terraform renders it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.generated import TemplateError, placeholders, render
from statemachines.training_pipeline import (
    ASL_PATH,
    PLACEHOLDERS,
    build_definition,
    definition_json,
)
from tests.helpers.stack import asl_values

ROOT = Path(__file__).resolve().parents[2]


def rendered() -> str:
    return render(
        ASL_PATH.read_text(encoding="utf-8"), asl_values("arn:aws:sns:us-east-1:123456789012:topic")
    )


def test_committed_asl_is_current() -> None:
    assert ASL_PATH.read_text(encoding="utf-8") == definition_json(), (
        "statemachines/training_pipeline.asl.json is stale: run `make definitions` and commit it"
    )


def test_generation_is_byte_stable() -> None:
    assert definition_json() == definition_json()


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from statemachines import __main__ as cli

    stale = tmp_path / "asl.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(cli, "ASL_PATH", stale)
    assert cli.main(["--check"]) == 1
    assert cli.main([]) == 0
    assert cli.main(["--check"]) == 0


def test_placeholders_are_exactly_the_terraform_variables() -> None:
    assert placeholders(ASL_PATH.read_text(encoding="utf-8")) == set(PLACEHOLDERS)


def test_committed_and_rendered_asl_are_valid_json() -> None:
    json.loads(ASL_PATH.read_text(encoding="utf-8"))
    definition = json.loads(rendered())
    assert "${" not in json.dumps(definition)


def test_rendering_rejects_missing_values() -> None:
    values = asl_values("arn:aws:sns:us-east-1:123456789012:topic")
    del values["bucket"]
    with pytest.raises(TemplateError, match="missing \\['bucket'\\]"):
        render(ASL_PATH.read_text(encoding="utf-8"), values)


def test_rendered_asl_passes_statelint(tmp_path: Path) -> None:
    path = tmp_path / "rendered.asl.json"
    path.write_text(rendered(), encoding="utf-8")
    statelint = Path(sys.executable).parent / "statelint"
    result = subprocess.run(
        [str(statelint), str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


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


def test_intrinsic_string_literals_are_balanced() -> None:
    # statelint does not parse intrinsic arguments; an apostrophe in a message would only
    # break at run time. Count unescaped quotes instead.
    for expression in _intrinsics(build_definition()):
        quotes = len(re.findall(r"(?<!\\)'", expression))
        assert quotes % 2 == 0, expression


def test_every_failure_path_notifies_then_fails_with_its_own_error() -> None:
    states = build_definition()["States"]
    failures = {
        name: s
        for name, s in states.items()
        if s["Type"] == "Pass" and s.get("ResultPath") == "$.failure"
    }
    # A deployment attempt's failures are recorded in the history first; they share the error
    # names the design gives them (DeploymentFailed, ...) and differ in their outcome.
    attempts = {n: s for n, s in failures.items() if s["Next"] == "NoteFailedDeployment"}
    others = {n: s for n, s in failures.items() if n not in attempts}
    assert len(others) >= 12
    errors = [s["Parameters"]["error"] for s in others.values()]
    assert len(set(errors)) == len(errors), "each failure branch has its own error name"
    for state in others.values():
        assert state["Next"] == "NotifyFailure"
    assert len(attempts) >= 6
    for name, state in attempts.items():
        assert {"outcome", "model_package_arn.$", "endpoint_config.$"} <= state["Parameters"].keys()
        assert state["Parameters"]["error"] in {
            "DeploymentFailed",
            "EndpointDeploymentFailed",
            "EndpointDeploymentTimedOut",
        }, name
    assert states["NoteFailedDeployment"]["Next"] == "RecordFailedDeployment"
    assert states["RecordFailedDeployment"]["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Next"] == "Failed"
    assert states["Failed"] == {
        "Comment": "Ends every failure path.",
        "Type": "Fail",
        "ErrorPath": "$.failure.error",
        "CausePath": "$.failure.cause",
    }


def test_every_task_that_can_fail_is_caught() -> None:
    for name, state in build_definition()["States"].items():
        if state["Type"] == "Task":
            assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), name


def test_service_tasks_retry_transient_errors() -> None:
    for name, state in build_definition()["States"].items():
        if state["Type"] == "Task" and name != "CheckEndpoint":
            retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
            assert retried, f"{name} has no Retry"
            assert all(r["BackoffRate"] >= 2 for r in state["Retry"]), name


def _task(name: str) -> dict[str, object]:
    state: dict[str, object] = build_definition()["States"][name]
    return state


def test_model_registry_events_never_update_a_package() -> None:
    # Any update can emit another state-change event that starts the machine again.
    writes = {
        name: state["Resource"]
        for name, state in build_definition()["States"].items()
        if state["Type"] == "Task" and "ModelPackage" in state["Resource"].split(":")[-1]
    }
    assert writes == {
        "RegisterModel": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
        "DescribeApprovedPackage": "arn:aws:states:::aws-sdk:sagemaker:describeModelPackage",
        # The smoke test finds the package's evaluation report (read-only).
        "ReadSmokeTestSource": "arn:aws:states:::aws-sdk:sagemaker:describeModelPackage",
    }


def test_served_code_comes_from_inside_the_model_artifact() -> None:
    parameters = _task("RegisterModel")["Parameters"]
    assert isinstance(parameters, dict)
    [container] = parameters["InferenceSpecification"]["Containers"]
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert "train_source_uri" not in PLACEHOLDERS


def test_registered_metadata_stores_no_raw_data_uri() -> None:
    parameters = _task("RegisterModel")["Parameters"]
    assert isinstance(parameters, dict)
    metadata = parameters["CustomerMetadataProperties"]
    assert "$.config.data_uri" not in metadata.values()
    assert metadata["data_uri_sha256.$"] == "States.Hash($.config.data_uri, 'SHA-256')"
    assert "$.config.data_uri" in parameters["ModelPackageDescription.$"]


def test_the_data_step_the_machine_reads_is_the_pipelines_first_and_runs_prepare() -> None:
    """FindDataStep reads steps[0] (Ascending): that must be the step that runs ml/prepare.py."""
    from emulator.sagemaker_executor.definition import execution_order
    from ml import prepare
    from statemachines.training_pipeline import DATA_ERROR_MARKER, DATA_JOB_ARN
    from tests.helpers.pipeline_definition import rendered_definition

    first = execution_order(list(rendered_definition()["Steps"]))[0]
    assert first["Type"] == "Processing"
    assert first["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1].endswith("prepare.py")
    assert DATA_JOB_ARN.startswith("$.data_step.steps[0].")
    assert DATA_ERROR_MARKER is prepare.DATA_ERROR_MARKER  # one home: the script's constant
    states = json.loads(ASL_PATH.read_text(encoding="utf-8"))["States"]
    assert states["FindDataStep"]["Parameters"]["SortOrder"] == "Ascending"
    [rule] = states["IsDataError"]["Choices"]
    assert {
        "Variable": "$.processing_job.ExitMessage",
        "StringMatches": "DataValidationError: *",
    } in (rule["And"])
