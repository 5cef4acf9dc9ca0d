"""Definition interpretation of the local SageMaker executor (its definition.py).

Property paths, execution order, parameters and the ``Get`` / ``Std:Join`` / ``Std:JsonGet``
functions, on the committed pipeline definition where it has the case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulator.sagemaker_executor.definition import (
    DefinitionError,
    Resolver,
    execution_order,
    parameter_values,
    parse_property_path,
)
from emulator.tests.helpers import pipeline_definition as _definition


def test_property_paths_parse_like_sagemaker() -> None:
    assert parse_property_path(
        "Steps.PrepareData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    ) == ["Steps", "PrepareData", "ProcessingOutputConfig", "Outputs", "train", "S3Output", "S3Uri"]
    assert parse_property_path(
        "Steps.TuneXGBoostBinary.TrainingJobSummaries[0].TrainingJobName"
    ) == [
        "Steps",
        "TuneXGBoostBinary",
        "TrainingJobSummaries",
        0,
        "TrainingJobName",
    ]
    with pytest.raises(DefinitionError):
        parse_property_path("Steps.X[oops")


def test_real_definition_runs_in_data_dependency_order() -> None:
    """The condition's branches are flattened, each step after its condition and its data."""
    steps = _definition()["Steps"]
    assert [s["Name"] for s in execution_order(list(reversed(steps)))] == [
        "PrepareData",
        "CheckProblemType",
        "TuneXGBoostBinary",
        "EvaluateModelBinary",
        "TuneXGBoostMulticlass",
        "EvaluateModelMulticlass",
    ]


def test_depends_on_orders_and_cycles_are_rejected() -> None:
    steps: list[dict[str, Any]] = [{"Name": "B", "DependsOn": ["A"]}, {"Name": "A"}]
    assert [s["Name"] for s in execution_order(steps)] == ["A", "B"]
    with pytest.raises(DefinitionError, match="cycle"):
        execution_order([{"Name": "A", "DependsOn": ["B"]}, {"Name": "B", "DependsOn": ["A"]}])
    with pytest.raises(DefinitionError, match="unknown step"):
        execution_order([{"Name": "A", "DependsOn": ["Z"]}])


def test_resolver_evaluates_gets_joins_and_json_get() -> None:
    declared = _definition()["Parameters"]
    params = parameter_values(declared, {"MaxTuningJobs": "2", "InputDataUri": "s3://b/x.csv"})
    assert params["MaxTuningJobs"] == 2 and params["MaxParallelTuningJobs"] == 3
    with pytest.raises(DefinitionError, match="MaxTuningJobs"):
        parameter_values(declared, {"MaxTuningJobs": "two"})
    resolver = Resolver(
        parameters=params,
        execution={"PipelineExecutionId": "abc123"},
        steps={"T": {"TrainingJobSummaries": [{"TrainingJobName": "best"}, {}]}},
        property_files={("E", "Report"): {"metrics": {"accuracy": {"value": 0.97}}}},
    )
    join = {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3:/",
                {"Get": "Parameters.MaxTuningJobs"},
                {"Get": "Execution.PipelineExecutionId"},
                {"Get": "Steps.T.TrainingJobSummaries[0].TrainingJobName"},
            ],
        }
    }
    assert resolver.resolve({"Uri": join}) == {"Uri": "s3://2/abc123/best"}
    json_get = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.E.PropertyFiles.Report"},
            "Path": "metrics.accuracy.value",
        }
    }
    assert resolver.resolve(json_get) == 0.97
    with pytest.raises(DefinitionError, match="cannot resolve"):
        resolver.resolve({"Get": "Steps.Missing.X"})


def test_empty_dataset_settings_reach_prepare_as_empty_arguments(tmp_path: Path) -> None:
    """FeatureColumns/ClassOrder default to "" (derive): each flag keeps its value, an empty
    ContainerArgument (botocore ``ContainerArgument`` "min": 0), so argparse never reads the
    next flag as a value."""
    from emulator.sagemaker_executor.definition import StepGraph
    from emulator.sagemaker_executor.jobs import processing_command

    definition = _definition()
    [prepare] = [s for s in StepGraph.of(definition["Steps"]).steps if s["Name"] == "PrepareData"]
    resolver = Resolver(
        parameters=parameter_values(definition["Parameters"], {"LabelColumn": "Species"}),
        execution={"PipelineExecutionId": "abc123"},
        steps={},
        property_files={},
    )
    app = resolver.resolve(prepare["Arguments"]["AppSpecification"])
    arguments = app["ContainerArguments"]
    assert arguments[4:] == [
        "--label-column",
        "Species",
        "--feature-columns",
        "",
        "--class-order",
        "",
    ]
    command = processing_command(app["ContainerEntrypoint"], arguments, tmp_path, "python3")
    assert command[6:] == arguments[4:]
