"""Score the trained model on the held-out test split and write `evaluation.json`.

SageMaker Processing script, run as `python3 evaluate.py ...` in the XGBoost 1.7-1 container
(Python 3.8). It is shipped alone, so it imports only the standard library, numpy, pandas,
scikit-learn and xgboost. `evaluation.json` follows SageMaker's model-quality statistics shape;
the state machine reads `multiclass_classification_metrics.accuracy.value` and
`model.artifact_uri`, so those paths are part of the contract.

    --model-dir  model.tar.gz (training output) or an extracted dir with xgboost-model.json
    --test-dir   test CSVs (no header, label first)  ─►  --output-dir/evaluation.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

FEATURE_COLUMNS = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
CLASS_NAMES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]

DEFAULT_MODEL_DIR = "/opt/ml/processing/model"
DEFAULT_TEST_DIR = "/opt/ml/processing/test"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/evaluation"
MODEL_ARCHIVE_NAME = "model.tar.gz"
MODEL_FILE_NAME = "xgboost-model.json"
METADATA_FILE_NAME = "metadata.json"
EVALUATION_FILE_NAME = "evaluation.json"
FAILURE_FILE_ENV = "SM_FAILURE_FILE"
DEFAULT_FAILURE_FILE = "/opt/ml/output/message"
VALIDATION_ERROR_EXIT_CODE = 2
# SageMaker's model-quality statistics carry a standard deviation; a single test split has none.
NO_DEVIATION = "NaN"

logger = logging.getLogger("evaluate")


class DataValidationError(ValueError):
    """Missing model, unreadable archive or bad test data; the message says which file."""


# --------------------------------------------------------------------------- model


def safe_extract(archive: Path, destination: Path) -> None:
    """Extract regular files and directories only, refusing links and paths leaving `destination`.

    Written by hand because tarfile's `filter=` is missing from some Python 3.8 builds.
    """
    root = destination.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                target = (root / member.name).resolve()
                if target != root and root not in target.parents:
                    raise DataValidationError(
                        f"{archive.name}: member '{member.name}' would extract outside the target"
                    )
                if not (member.isfile() or member.isdir()):
                    raise DataValidationError(
                        f"{archive.name}: member '{member.name}' is not a regular file or directory"
                    )
            for member in members:
                target = root / member.name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise DataValidationError(f"{archive.name}: cannot read '{member.name}'")
                with source, target.open("wb") as handle:
                    handle.write(source.read())
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataValidationError(f"{archive.name}: unreadable model archive ({error})") from None


def locate_model(model_dir: Path, scratch_dir: Path) -> Path:
    """Return a directory holding xgboost-model.json, extracting model.tar.gz when present."""
    archive = model_dir / MODEL_ARCHIVE_NAME
    if archive.is_file():
        safe_extract(archive, scratch_dir)
        directory = scratch_dir
    elif (model_dir / MODEL_FILE_NAME).is_file():
        directory = model_dir
    else:
        raise DataValidationError(
            f"no {MODEL_ARCHIVE_NAME} or {MODEL_FILE_NAME} in model directory {model_dir}"
        )
    if not (directory / MODEL_FILE_NAME).is_file():
        raise DataValidationError(f"{MODEL_ARCHIVE_NAME} does not contain {MODEL_FILE_NAME}")
    return directory


def load_model(directory: Path) -> tuple[xgb.Booster, dict[str, Any]]:
    booster = xgb.Booster()
    try:
        booster.load_model(str(directory / MODEL_FILE_NAME))
    except xgb.core.XGBoostError as error:
        raise DataValidationError(f"{MODEL_FILE_NAME}: cannot load model ({error})") from None
    metadata_path = directory / METADATA_FILE_NAME
    if not metadata_path.is_file():
        raise DataValidationError(f"the model has no {METADATA_FILE_NAME} (written by train.py)")
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise DataValidationError(f"{METADATA_FILE_NAME}: invalid JSON ({error})") from None
    return booster, metadata


# --------------------------------------------------------------------------- data


def read_test_set(test_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read every CSV in `test_dir` (no header, label first); error when there are no rows."""
    if not test_dir.is_dir():
        raise DataValidationError(f"test directory {test_dir} does not exist")
    files = sorted(p for p in test_dir.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise DataValidationError(f"no .csv file in test directory {test_dir}")
    expected = 1 + len(FEATURE_COLUMNS)
    frames = []
    for path in files:
        try:
            frame = pd.read_csv(path, header=None, dtype="float64")
        except pd.errors.EmptyDataError:
            continue
        except ValueError as error:
            raise DataValidationError(f"{path.name}: non-numeric value ({error})") from None
        if frame.shape[1] != expected:
            raise DataValidationError(
                f"{path.name}: expected {expected} columns (label + features), "
                f"found {frame.shape[1]}"
            )
        if frame.isna().any().any():
            row = int(np.flatnonzero(frame.isna().any(axis=1).to_numpy())[0]) + 1
            raise DataValidationError(f"{path.name} line {row}: missing value")
        frames.append(frame)
    if not frames or sum(len(frame) for frame in frames) == 0:
        raise DataValidationError(f"the test set in {test_dir} is empty")
    data = pd.concat(frames, ignore_index=True)
    labels = data.iloc[:, 0].to_numpy()
    bad = ~np.isin(labels, np.arange(len(CLASS_NAMES)))
    if bad.any():
        raise DataValidationError(
            f"test label '{labels[np.flatnonzero(bad)[0]]}' is not a class index "
            f"0..{len(CLASS_NAMES) - 1}"
        )
    return data.iloc[:, 1:].to_numpy(dtype="float64"), labels.astype("int64")


# --------------------------------------------------------------------------- metrics


def predict_classes(booster: xgb.Booster, features: np.ndarray) -> np.ndarray:
    matrix = xgb.DMatrix(features, feature_names=list(FEATURE_COLUMNS))
    probabilities = np.asarray(booster.predict(matrix)).reshape(len(features), len(CLASS_NAMES))
    return probabilities.argmax(axis=1)


def _metric(value: float) -> dict[str, Any]:
    return {"value": float(value), "standard_deviation": NO_DEVIATION}


def compute_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (multiclass_classification_metrics, per_class_metrics) for the report."""
    labels = list(range(len(class_names)))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", zero_division=0
    )
    per_precision, per_recall, per_f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    overall = {
        "accuracy": _metric(accuracy_score(y_true, y_pred)),
        "weighted_f1": _metric(f1),
        "weighted_precision": _metric(precision),
        "weighted_recall": _metric(recall),
        # actual class -> predicted class -> count, as in SageMaker's model-quality statistics.
        "confusion_matrix": {
            actual: {predicted: int(matrix[i][j]) for j, predicted in enumerate(class_names)}
            for i, actual in enumerate(class_names)
        },
    }
    per_class = {
        name: {
            "precision": float(per_precision[i]),
            "recall": float(per_recall[i]),
            "f1": float(per_f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    return overall, per_class


def build_report(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    metadata: dict[str, Any],
    model_uri: str,
) -> dict[str, Any]:
    class_names = list(metadata.get("class_names") or CLASS_NAMES)
    overall, per_class = compute_metrics(y_true, y_pred, class_names)
    counts = metadata.get("row_counts") or {}
    return {
        "multiclass_classification_metrics": overall,
        "per_class_metrics": per_class,
        "model": {
            "artifact_uri": model_uri,
            "training_job_name": metadata.get("training_job_name"),
            "hyperparameters": metadata.get("hyperparameters", {}),
            "best_iteration": metadata.get("best_iteration"),
            "trained_with_xgboost_version": metadata.get("xgboost_version"),
        },
        "class_names": class_names,
        "row_counts": {
            "train": counts.get("train"),
            "validation": counts.get("validation"),
            "test": len(y_true),
        },
        "xgboost_version": xgb.__version__,
    }


def write_json_atomically(target: Path, payload: dict[str, Any]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, indent=2) + "\n")
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def run(model_dir: Path, test_dir: Path, output_dir: Path, model_uri: str) -> dict[str, Any]:
    """Evaluate and write `<output_dir>/evaluation.json`; return the report."""
    with tempfile.TemporaryDirectory(prefix="model-") as scratch:
        booster, metadata = load_model(locate_model(model_dir, Path(scratch)))
    features, labels = read_test_set(test_dir)
    report = build_report(labels, predict_classes(booster, features), metadata, model_uri)
    write_json_atomically(output_dir / EVALUATION_FILE_NAME, report)
    return report


# --------------------------------------------------------------------------- entry point


def write_failure_reason(message: str) -> None:
    """Record the failure for SageMaker: `$SM_FAILURE_FILE`, else /opt/ml/output/message."""
    configured = os.environ.get(FAILURE_FILE_ENV)
    path = Path(configured) if configured else Path(DEFAULT_FAILURE_FILE)
    if not configured and not path.parent.is_dir():
        return  # not inside a SageMaker container
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message, encoding="utf-8")
    except OSError as error:
        print(f"could not write failure reason to {path}: {error}", file=sys.stderr)


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DataValidationError(f"invalid arguments: {message}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _ArgumentParser(description="Evaluate the iris model on the test split.")
    parser.add_argument("--model-dir", type=Path, default=Path(DEFAULT_MODEL_DIR))
    parser.add_argument("--test-dir", type=Path, default=Path(DEFAULT_TEST_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument("--model-uri", default="", help="S3 URI of model.tar.gz (recorded only)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        args = parse_args(argv)
        report = run(args.model_dir, args.test_dir, args.output_dir, args.model_uri)
    except DataValidationError as error:
        message = str(error)
        print(f"ERROR: {message}", file=sys.stderr)
        write_failure_reason(message)
        return VALIDATION_ERROR_EXIT_CODE
    except Exception as error:
        write_failure_reason(f"unexpected error: {type(error).__name__}: {error}")
        raise
    accuracy = report["multiclass_classification_metrics"]["accuracy"]["value"]
    logger.info("test accuracy %.4f on %d rows", accuracy, report["row_counts"]["test"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
