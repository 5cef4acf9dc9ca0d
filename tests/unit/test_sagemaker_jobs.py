"""Job runners' and step executors' pure pieces (local/sagemaker_executor/{jobs,steps}.py):
container paths, commands, failure reasons, and the step-type registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.sagemaker_executor.definition import DefinitionError
from local.sagemaker_executor.jobs import failure_reason, map_container_path, processing_command
from local.sagemaker_executor.steps import STEP_EXECUTORS, executor_for
from tests.helpers.pipeline_definition import rendered_definition


def test_processing_command_maps_container_paths(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "ml"
    command = processing_command(
        ["python3", "/opt/ml/processing/input/code/prepare.py"], [], root, "/venv/python"
    )
    assert command == [
        "/venv/python",
        str(root / "processing/input/code/prepare.py"),
        "--input-dir",
        str(root / "processing/input"),
        "--output-dir",
        str(root / "processing"),
    ]
    explicit = processing_command(
        ["python3", "/opt/ml/processing/input/code/evaluate.py"],
        ["--model-dir", "/opt/ml/processing/model", "--model-uri", "s3://b/m.tar.gz"],
        root,
        "py",
    )
    assert explicit.count("--model-dir") == 1
    assert "s3://b/m.tar.gz" in explicit and str(root / "processing/test") in explicit
    assert map_container_path("--x=/opt/ml/a", root) == f"--x={root / 'a'}"
    assert map_container_path("/opt/mlx", root) == "/opt/mlx"


def test_failure_reason_prefers_the_failure_file_then_the_error_line(tmp_path: Path) -> None:
    message = tmp_path / "message"
    stderr = "INFO start\nERROR: iris.csv line 7, column 'SepalWidth': bad\nTraceback..."
    assert failure_reason(2, stderr, message) == (
        "AlgorithmError: iris.csv line 7, column 'SepalWidth': bad"
    )
    message.write_text("from the file\n")
    assert failure_reason(2, stderr, message) == "AlgorithmError: from the file"
    assert failure_reason(1, "", tmp_path / "none") == "AlgorithmError: exit code 1"


def test_every_step_type_of_the_definition_has_an_executor() -> None:
    types = {step["Type"] for step in rendered_definition()["Steps"]}
    assert types <= STEP_EXECUTORS.keys()
    assert all(cls.step_type == kind for kind, cls in STEP_EXECUTORS.items())
    context: Any = None  # never reached: the type is refused first
    with pytest.raises(DefinitionError, match="step type 'Transform' is not supported"):
        executor_for(context, {"Name": "T", "Type": "Transform"})
