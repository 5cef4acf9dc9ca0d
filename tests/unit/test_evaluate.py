"""Tests for `ml/evaluate.py`: the evaluation.json contract, model extraction and failures."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml import evaluate
from ml.evaluate import DataValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]
EVALUATE_SCRIPT = REPO_ROOT / "ml" / "evaluate.py"
CLASSES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
MODEL_URI = "s3://bucket/pipelines/exec-1/tune/job-001/output/model.tar.gz"


def assert_evaluation_shape(report: dict[str, Any], metadata: dict[str, Any]) -> None:
    """The exact shape the state machine and the Model Registry rely on."""
    assert list(report) == [
        "multiclass_classification_metrics",
        "per_class_metrics",
        "model",
        "class_names",
        "row_counts",
        "xgboost_version",
    ]
    metrics = report["multiclass_classification_metrics"]
    assert list(metrics) == [
        "accuracy",
        "weighted_f1",
        "weighted_precision",
        "weighted_recall",
        "confusion_matrix",
    ]
    for name in ("accuracy", "weighted_f1", "weighted_precision", "weighted_recall"):
        assert set(metrics[name]) == {"value", "standard_deviation"}
        assert isinstance(metrics[name]["value"], float)
        assert 0.0 <= metrics[name]["value"] <= 1.0
        assert metrics[name]["standard_deviation"] == "NaN"
    matrix = metrics["confusion_matrix"]
    assert list(matrix) == CLASSES
    assert all(list(row) == CLASSES for row in matrix.values())
    assert sum(sum(row.values()) for row in matrix.values()) == report["row_counts"]["test"]
    # accuracy = trace / total
    trace = sum(matrix[name][name] for name in CLASSES)
    assert metrics["accuracy"]["value"] == pytest.approx(trace / report["row_counts"]["test"])
    assert list(report["per_class_metrics"]) == CLASSES
    for name, values in report["per_class_metrics"].items():
        assert set(values) == {"precision", "recall", "f1", "support"}
        assert values["support"] == sum(matrix[name].values())
    assert report["model"]["artifact_uri"] == MODEL_URI
    assert report["model"]["training_job_name"] == metadata["training_job_name"]
    assert report["model"]["hyperparameters"] == metadata["hyperparameters"]
    assert report["model"]["best_iteration"] == metadata["best_iteration"]
    assert report["class_names"] == CLASSES
    assert report["row_counts"] == {"train": 90, "validation": 30, "test": 30}
    assert report["xgboost_version"] == evaluate.xgb.__version__


def test_evaluation_json_from_model_archive(
    model_archive_dir: Path, model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    code = evaluate.main(
        [
            "--model-dir",
            str(model_archive_dir),
            "--test-dir",
            str(split_dir / "test"),
            "--output-dir",
            str(tmp_path / "evaluation"),
            "--model-uri",
            MODEL_URI,
        ]
    )
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "evaluation").iterdir()) == ["evaluation.json"]
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert_evaluation_shape(report, metadata)
    assert report["multiclass_classification_metrics"]["accuracy"]["value"] >= 0.9
    assert report["model"]["training_job_name"] == "unit-test-job"


def test_extracted_model_dir_is_accepted(model_dir: Path, split_dir: Path, tmp_path: Path) -> None:
    report = evaluate.run(model_dir, split_dir / "test", tmp_path, MODEL_URI)
    assert_evaluation_shape(report, json.loads((model_dir / "metadata.json").read_text()))


def test_compute_metrics_known_values() -> None:
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 2, 2])
    overall, per_class = evaluate.compute_metrics(y_true, y_pred)
    assert overall["accuracy"]["value"] == pytest.approx(5 / 6)
    assert overall["confusion_matrix"]["Iris-versicolor"] == {
        "Iris-setosa": 0,
        "Iris-versicolor": 1,
        "Iris-virginica": 1,
    }
    assert per_class["Iris-virginica"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert overall["weighted_recall"]["value"] == pytest.approx(5 / 6)
    expected_f1 = (1.0 + 2 / 3 + 0.8) / 3
    assert overall["weighted_f1"]["value"] == pytest.approx(expected_f1)


def test_missing_model_is_a_clear_error(split_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"no model\.tar\.gz or xgboost-model\.json"):
        evaluate.run(tmp_path / "nothing", split_dir / "test", tmp_path / "out", MODEL_URI)
    assert not (tmp_path / "out").exists()


def test_archive_without_model_file(tmp_path: Path, split_dir: Path) -> None:
    archive_dir = tmp_path / "model"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:
        data = b"{}"
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataValidationError, match=r"does not contain xgboost-model\.json"):
        evaluate.run(archive_dir, split_dir / "test", tmp_path / "out", MODEL_URI)


@pytest.mark.parametrize(
    ("member", "kind"),
    [("../escape.txt", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)],
    ids=["path-traversal", "symlink"],
)
def test_unsafe_archive_members_are_refused(tmp_path: Path, member: str, kind: bytes) -> None:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    destination = tmp_path / "extract"
    destination.mkdir()
    with pytest.raises(DataValidationError, match=f"member '{member}'"):
        evaluate.safe_extract(archive, destination)
    assert list(destination.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()


def test_corrupt_archive(tmp_path: Path) -> None:
    (tmp_path / "model.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(DataValidationError, match="unreadable model archive"):
        evaluate.locate_model(tmp_path, tmp_path / "scratch")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("0,5.1,3.5,1.4\n", "expected 5 columns"),
        ("0,5.1,3.5,1.4,0.2\n7,5.1,3.5,1.4,0.2\n", "not a class index"),
        ("0,5.1,3.5,,0.2\n", "line 1: missing value"),
    ],
    ids=["empty", "columns", "label", "missing"],
)
def test_bad_test_set(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "test.csv").write_text(content)
    with pytest.raises(DataValidationError, match=message):
        evaluate.read_test_set(tmp_path)


def test_no_test_files(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"no \.csv file in test directory"):
        evaluate.read_test_set(tmp_path)


def test_script_failure_convention(model_archive_dir: Path, tmp_path: Path) -> None:
    """As a subprocess: exit code 2, `ERROR:` on stderr, the reason file, no evaluation.json."""
    empty_test = tmp_path / "test"
    empty_test.mkdir()
    (empty_test / "test.csv").write_text("")
    failure_file = tmp_path / "failure" / "message"
    completed = subprocess.run(
        [
            sys.executable,
            str(EVALUATE_SCRIPT),
            "--model-dir",
            str(model_archive_dir),
            "--test-dir",
            str(empty_test),
            "--output-dir",
            str(tmp_path / "evaluation"),
        ],
        env={"SM_FAILURE_FILE": str(failure_file), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert "ERROR: the test set in" in completed.stderr
    assert "is empty" in failure_file.read_text()
    assert not (tmp_path / "evaluation").exists()
