"""The facts ops shares with the Lambdas and the pipeline, held to them: a training request's
run name (the trigger's), the names of what deployments create (the planner's), and where
PrepareData writes the test split (the pipeline definition's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import s3_layout, training_request
from contracts.deployment import EXECUTION_NAME_MAX, created_by_deployments
from lambdas.deployment_plan.logic import resource_name
from lambdas.trigger import uploads

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("reason", ["make-start", "drift", "x y!", "", "r" * 59])
def test_a_training_requests_run_name_is_the_triggers(reason: str) -> None:
    body = json.loads(
        training_request.message({"deploy": True}, reason=reason, requested_by="me", request_id="i")
    )
    assert uploads.training_request(body).name == training_request.execution_name(reason, "i")


def test_a_long_reason_still_gives_a_step_functions_name() -> None:
    """Step Functions refuses names over 80 characters: the trigger names a training request's
    run with the contract's function, which the sender uses too (a long reason gives 80)."""
    body = json.loads(
        training_request.message({}, reason="r" * 100, requested_by="me", request_id="i")
    )
    assert len(training_request.execution_name("r" * 100, "i")) == EXECUTION_NAME_MAX
    assert uploads.training_request(body).name == training_request.execution_name("r" * 100, "i")


@pytest.mark.parametrize("prefix", ["iris-mlops", "iris-mlops-local", "a" * 32])
@pytest.mark.parametrize("version", [1, 42])
def test_what_deployments_create_is_recognised_by_its_name(prefix: str, version: int) -> None:
    name = resource_name(prefix, version, "deploy-v1-abc")
    assert created_by_deployments(prefix, name)
    # Another project whose name starts with this one's is not this one's.
    assert not created_by_deployments("iris-mlops", resource_name("iris-mlops-x", 1, "e"))
    assert not created_by_deployments(prefix, f"{prefix}-notebook")
    assert not created_by_deployments(prefix, name + "0")


def test_the_test_split_is_where_the_pipeline_writes_it() -> None:
    from ml import prepare_output

    definition = json.loads((ROOT / "ml" / "pipeline_definition.json").read_text())
    [step] = [s for s in definition["Steps"] if s["Name"] == "PrepareData"]
    [output] = [
        o
        for o in step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        if o["OutputName"] == "test"
    ]
    values = output["S3Output"]["S3Uri"]["Std:Join"]["Values"]
    assert values[2:] == ["pipelines", {"Get": "Execution.PipelineExecutionId"}, "prepare", "test"]
    file_name = prepare_output.split_paths(Path("."))["test"].name
    assert s3_layout.split_key("p1", "test") == f"pipelines/p1/prepare/test/{file_name}"


def test_the_pipeline_execution_id_of_an_evaluation() -> None:
    assert s3_layout.pipeline_execution_id("s3://b/evaluation/p1/evaluation.json") == "p1"
    for uri in ("s3://b/models/p1/x", "s3://b/evaluation/p1", "s3://b/x/evaluation/p1/e.json"):
        with pytest.raises(ValueError, match="not an evaluation"):
            s3_layout.pipeline_execution_id(uri)
