"""Job runners' and step executors' pure pieces (emulator/sagemaker_executor/{jobs,steps}.py,
emulator/containers/runtime.py): container paths, commands, failure reasons, step types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest

from emulator.containers.runtime import FAILURE_FILE, MESSAGE_FILE, map_container_path
from emulator.sagemaker_executor.definition import DefinitionError, StepFailure
from emulator.sagemaker_executor.jobs import (
    EXIT_MESSAGE_MAX,
    FAILURE_REASON_MAX,
    PIPELINE_FAILURE_REASON_MAX,
    exit_message,
    failure_reason,
    processing_command,
)
from emulator.sagemaker_executor.steps import STEP_EXECUTORS, executor_for
from emulator.tests.helpers import pipeline_definition


def test_processing_command_maps_the_container_paths_it_is_given(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "ml"
    command = processing_command(
        ["python3", "/opt/ml/processing/input/code/prepare.py"],
        ["--input-dir", "/opt/ml/processing/input", "--uri", "s3://b/m.tar.gz", "--n", "3"],
        root,
        "/venv/python",
    )
    assert command == [
        "/venv/python",
        str(root / "processing/input/code/prepare.py"),
        "--input-dir",
        str(root / "processing/input"),
        "--uri",
        "s3://b/m.tar.gz",
        "--n",
        "3",
    ]
    # Nothing is added: the executor knows no script's defaults, a definition passes its paths.
    bare = processing_command(["python3", "/opt/ml/code/evaluate.py"], [], root, "py")
    assert bare == ["py", str(root / "code/evaluate.py")]
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


def test_container_files_and_limits_are_the_documented_ones() -> None:
    # byoc-metadata.html (processing), your-algorithms-training-algo-output.html (training).
    assert (MESSAGE_FILE, FAILURE_FILE) == ("/opt/ml/output/message", "/opt/ml/output/failure")
    model = botocore.session.get_session().get_service_model("sagemaker")
    lengths = {
        name: model.shape_for(name).metadata["max"]
        for name in ("ExitMessage", "FailureReason", "PipelineExecutionFailureReason")
    }
    assert lengths == {
        "ExitMessage": EXIT_MESSAGE_MAX,
        "FailureReason": FAILURE_REASON_MAX,
        "PipelineExecutionFailureReason": PIPELINE_FAILURE_REASON_MAX,
    }


def test_training_failure_reason_is_cut_at_1024_characters(tmp_path: Path) -> None:
    failure = tmp_path / "failure"
    failure.write_text("x" * 5000)
    reason = failure_reason(2, "", failure)
    assert reason == ("AlgorithmError: " + "x" * 5000)[:1024]


def test_exit_message_is_the_first_kilobyte_of_the_message_file(tmp_path: Path) -> None:
    message = tmp_path / "message"
    assert exit_message(message) is None
    message.write_text("DataValidationError: " + "é" * 2000, encoding="utf-8")
    text = exit_message(message)
    assert text is not None and text.startswith("DataValidationError: éé")
    # 1 KB of bytes; a two-byte character cut in half is dropped, not mangled.
    assert len(text.encode("utf-8")) == 1023 and "\ufffd" not in text


def test_a_message_file_that_is_not_utf8_is_a_client_error(tmp_path: Path) -> None:
    message = tmp_path / "message"
    message.write_bytes(b"caf\xe9")
    with pytest.raises(StepFailure, match=r"^ClientError: .* is not UTF-8 encoded$"):
        exit_message(message)


def test_every_step_type_of_the_definition_has_an_executor() -> None:
    types = {step["Type"] for step in pipeline_definition()["Steps"]}
    assert types <= STEP_EXECUTORS.keys()
    assert all(cls.step_type == kind for kind, cls in STEP_EXECUTORS.items())
    context: Any = None  # never reached: the type is refused first
    with pytest.raises(DefinitionError, match="step type 'Transform' is not supported"):
        executor_for(context, {"Name": "T", "Type": "Transform"})
