"""Score the trained model, and the serving one, on the held-out test split; judge and report.

SageMaker Processing script, run as `python3 evaluate.py ...` in the XGBoost 1.7-1 container. It
is shipped with baseline.py, quality.py, report.py (and its templates) and the `contracts`
modules it imports beside it (ml/code_bundles.json), so it imports only those, the standard
library, numpy, pandas, scikit-learn and xgboost. The dataset contract (contracts/dataset.py;
prepare.py writes it, train.py copies it into the model) names the features and classes.

    --model-dir        model.tar.gz (training output) or an extracted dir with xgboost-model.json
    --test-dir         test CSVs (no header, label first)
    --champion-dir     the serving model's model.tar.gz, or only the "none" marker when nothing
                       serves (then --champion-package-arn is "none")
    --accuracy-threshold, --champion-margin: the gate (contracts.evaluation.decide_gate)
        ─►  --output-dir/evaluation.json, summary.json and report.html
    --baseline-dir     prepare.py's drift baseline  ─►  --output-dir/baseline.json, the same
                       baseline with the model's predicted-class distribution on the test split
    (all of the outputs or none)

`evaluation.json` follows SageMaker's model-quality statistics shape (quality.py):
`binary_classification_metrics` for two classes, else `multiclass_classification_metrics`. It
also carries the contract (`dataset_contract`), a `smoke_test` (test rows with the model's answer
for them, used by the deployment's smoke test and `make predict`), what the run report draws
(`feature_importance` (gain), `class_counts` per split, the model's `learning_curve`) and, when a
model serves, `champion`: that model scored on the same test rows when its API (features, their
order, classes) is the candidate's, else the differences. The gate is decided here, once;
`summary.json` (contracts.evaluation.build_summary) is what the training machine reads.

The report's renderer ships beside this script in its code bundle and is loaded from there. The
image has what it needs (jinja2 2.11.3, matplotlib 3.4.1: ml/report.py's docstring gives the
source).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import xgboost as xgb

# First: report.py imports the contracts package too.
try:
    from contracts import dataset, failures, pipeline, registry, s3_layout
    from contracts import evaluation as reports
except ImportError:  # run as a file from a checkout: the package is at the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from contracts import dataset, failures, pipeline, registry, s3_layout
    from contracts import evaluation as reports
# Shipped beside this script (ml/code_bundles.json); in the repository they are ml/*.py.
try:
    from . import baseline as drift_baseline
    from . import quality
except ImportError:
    import baseline as drift_baseline  # type: ignore[no-redef]
    import quality  # type: ignore[no-redef]
# The run report's renderer (report.py and templates/), shipped beside this script the same way.
try:
    from . import report as run_report
except ImportError:
    try:
        import report as run_report  # type: ignore[no-redef]
    except ModuleNotFoundError as missing:  # not in the bundle: run() says so before any work
        if missing.name != "report":
            raise
        run_report = None  # type: ignore[assignment]

DEFAULT_MODEL_DIR = "/opt/ml/processing/model"
DEFAULT_TEST_DIR = "/opt/ml/processing/test"
DEFAULT_CHAMPION_DIR = "/opt/ml/processing/champion"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/evaluation"
MODEL_FILE_NAME = "xgboost-model.json"
METADATA_FILE_NAME = "metadata.json"
# The smoke test: at most this many test rows, the model's answer rounded as the endpoint rounds
# it (train.py probabilities_json: 6 decimals), compared within contracts.evaluation's tolerance.
SMOKE_TEST_ROWS = 5
SMOKE_TEST_DECIMALS = 6
# Features kept in feature_importance, the most important first (the count of all is recorded).
FEATURE_IMPORTANCE_MAX = 50
#: The metric the gate compares (contracts.evaluation.decide_gate).
GATE_METRIC = "accuracy"

logger = logging.getLogger("evaluate")


class DataValidationError(ValueError):
    """Missing model, unreadable archive or bad test data; the message says which file."""


# --------------------------------------------------------------------------- model


def safe_extract(archive: Path, destination: Path) -> None:
    """Extract regular files and directories only, refusing links and paths leaving `destination`.

    Written by hand because tarfile's `filter=` is missing from some Python 3.8 and 3.9 builds.
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
    archive = model_dir / dataset.MODEL_ARCHIVE
    if archive.is_file():
        safe_extract(archive, scratch_dir)
        directory = scratch_dir
    elif (model_dir / MODEL_FILE_NAME).is_file():
        directory = model_dir
    else:
        raise DataValidationError(
            f"no {dataset.MODEL_ARCHIVE} or {MODEL_FILE_NAME} in model directory {model_dir}"
        )
    if not (directory / MODEL_FILE_NAME).is_file():
        raise DataValidationError(f"{dataset.MODEL_ARCHIVE} does not contain {MODEL_FILE_NAME}")
    return directory


def load_contract(directory: Path) -> dataset.Contract:
    """The dataset contract train.py copied into the model directory."""
    if not (directory / dataset.FILE_NAME).is_file():
        raise DataValidationError(
            f"the model has no {dataset.FILE_NAME} (train.py copies the dataset contract into "
            "the model directory): retrain with the current train.py"
        )
    try:
        return dataset.read(directory, "model directory")
    except dataset.ContractError as error:
        raise DataValidationError(str(error)) from None


def load_model(directory: Path) -> tuple[xgb.Booster, dict[str, Any], dataset.Contract]:
    """The booster, its metadata.json and the dataset contract, all from the model directory."""
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
    return booster, metadata, load_contract(directory)


# --------------------------------------------------------------------------- data


def test_files(test_dir: Path) -> list[Path]:
    if not test_dir.is_dir():
        raise DataValidationError(f"test directory {test_dir} does not exist")
    files = sorted(p for p in test_dir.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise DataValidationError(f"no .csv file in test directory {test_dir}")
    return files


def read_test_set(test_dir: Path, contract: dataset.Contract) -> tuple[np.ndarray, np.ndarray]:
    """Every CSV in `test_dir` (no header, label first), read typed; error if there are no rows."""
    expected = 1 + len(contract.feature_columns)
    frames = []
    for path in test_files(test_dir):
        try:
            frame = pd.read_csv(path, header=None, dtype="float64")
        except pd.errors.EmptyDataError:
            continue
        except ValueError as error:
            raise DataValidationError(f"{path.name}: non-numeric value ({error})") from None
        if frame.shape[1] != expected:
            raise DataValidationError(
                f"{path.name}: expected {expected} columns (the label, then the contract's "
                f"features {', '.join(contract.feature_columns)}), found {frame.shape[1]}"
            )
        if frame.isna().any().any():
            row = int(np.flatnonzero(frame.isna().any(axis=1).to_numpy())[0]) + 1
            raise DataValidationError(f"{path.name} line {row}: missing value")
        frames.append(frame)
    if not frames or sum(len(frame) for frame in frames) == 0:
        raise DataValidationError(f"the test set in {test_dir} is empty")
    data = pd.concat(frames, ignore_index=True)
    labels = data.iloc[:, 0].to_numpy()
    bad = ~np.isin(labels, np.arange(contract.num_classes))
    if bad.any():
        raise DataValidationError(
            f"test label '{labels[np.flatnonzero(bad)[0]]}' is not a class index "
            f"0..{contract.num_classes - 1}"
        )
    return data.iloc[:, 1:].to_numpy(dtype="float64"), labels.astype("int64")


def smoke_test_rows(test_dir: Path, num_classes: int, limit: int = SMOKE_TEST_ROWS) -> list[str]:
    """Up to `limit` test rows' feature text (label dropped), one per class first, then in order.

    Streams the files line by line and stops once every class has a row and `limit` rows are
    chosen: the exact text from the test split, as a client would send it.
    """
    first_of_class: dict[int, str] = {}
    others: list[str] = []
    for path in test_files(test_dir):
        with path.open("r", encoding="utf-8") as handle:
            for line in handle:
                label, _, features = line.rstrip("\r\n").partition(",")
                if not features:
                    continue
                index = int(float(label))
                if index not in first_of_class:
                    first_of_class[index] = features
                elif len(others) < limit:
                    others.append(features)
                if len(first_of_class) == num_classes and len(others) >= limit:
                    break
    chosen = [first_of_class[index] for index in sorted(first_of_class)]
    return (chosen + others)[:limit]


# --------------------------------------------------------------------------- metrics


def xgboost_feature_names(contract: dataset.Contract) -> list[str] | None:
    """The names the booster knows its features by, or None (then it says f0, f1, ...).

    As train.py: xgboost refuses names with '[', ']' or '<', and then neither side sets them.
    """
    names = list(contract.feature_columns)
    return None if any(set(n) & set("[]<") for n in names) else names


def predict_probabilities(
    booster: xgb.Booster, features: np.ndarray, contract: dataset.Contract
) -> np.ndarray:
    """(n, number of classes) probabilities, as the endpoint answers (binary: [1-p, p])."""
    matrix = xgb.DMatrix(features, feature_names=xgboost_feature_names(contract))
    predicted = np.asarray(booster.predict(matrix), dtype="float64")
    if contract.binary:
        positive = predicted.reshape(len(features))
        return np.column_stack([1.0 - positive, positive])
    return predicted.reshape(len(features), contract.num_classes)


def feature_importance(booster: xgb.Booster, contract: dataset.Contract) -> dict[str, Any]:
    """Gain per feature that some split uses (xgboost's `get_score(importance_type="gain")`: the
    average loss reduction of the splits on it), largest first, at most FEATURE_IMPORTANCE_MAX;
    with how many features the contract has and how many any split uses."""
    names = list(contract.feature_columns)
    known_as = xgboost_feature_names(contract) or [f"f{index}" for index in range(len(names))]
    gains = dict.fromkeys(names, 0.0)
    for key, value in booster.get_score(importance_type="gain").items():
        gains[names[known_as.index(key)]] = float(np.sum(value))
    used = sorted(((n, g) for n, g in gains.items() if g > 0), key=lambda pair: -pair[1])
    return {
        "importance_type": "gain",
        "values": dict(used[:FEATURE_IMPORTANCE_MAX]),
        "used_features": len(used),
        "total_features": len(names),
    }


def split_class_counts(
    metadata: dict[str, Any], y_true: np.ndarray, class_names: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Rows per class of each split: train and validation as train.py counted them (absent for
    a model trained before it did), test from the labels read here."""
    counts = np.bincount(y_true, minlength=len(class_names))
    recorded = metadata.get("class_counts") or {}
    result = {
        split: dict(recorded[split]) for split in ("train", "validation") if split in recorded
    }
    result["test"] = {name: int(counts[index]) for index, name in enumerate(class_names)}
    return result


def learning_curve(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """train.py's learning curve with each round's number, at most quality.CURVE_POINTS kept."""
    curve = metadata.get("learning_curve")
    if not curve or not curve.get("validation"):
        return None
    rounds = np.arange(len(curve["validation"]))
    return {
        "metric": curve["metric"],
        "rounds": [int(r) for r in quality.downsample(rounds)],
        "train": quality.downsample(np.asarray(curve["train"], dtype="float64")),
        "validation": quality.downsample(np.asarray(curve["validation"], dtype="float64")),
        "best_iteration": curve.get("best_iteration"),
    }


def build_smoke_test(
    booster: xgb.Booster, rows: Sequence[str], contract: dataset.Contract
) -> dict[str, Any]:
    """The rows' exact text and the model's rounded answer for them, as the endpoint gives it."""
    features = np.asarray(
        [[float(cell) for cell in row.split(",")] for row in rows], dtype="float64"
    ).reshape(len(rows), len(contract.feature_columns))
    probabilities: list[list[float]] = (
        predict_probabilities(booster, features, contract).tolist() if rows else []
    )
    return {
        "content_type": "text/csv",
        "body": "".join(row + "\n" for row in rows),
        "rows": len(rows),
        "probabilities": [
            [round(float(p), SMOKE_TEST_DECIMALS) for p in row] for row in probabilities
        ],
        "tolerance": reports.SMOKE_TEST_TOLERANCE,
    }


# --------------------------------------------------------------------------- the champion


@dataclass(frozen=True)
class Champion:
    """The model the endpoint serves: its package, and its model when the archive is usable."""

    package_arn: str
    contract: dataset.Contract | None
    booster: xgb.Booster | None
    problem: str = ""


def load_champion(champion_dir: Path | None, package_arn: str, scratch: Path) -> Champion | None:
    """The serving model from its model.tar.gz, or None when nothing serves.

    ``package_arn`` and the directory must agree ("none" and no archive, or an ARN and its
    archive): anything else is a wiring error of the pipeline, not a property of the data. An
    archive that cannot be read as this project's model is recorded as such (``problem``): the
    candidate is then not comparable, so never auto-approved, but the run still finishes.
    """
    archive = champion_dir / dataset.MODEL_ARCHIVE if champion_dir is not None else None
    present = archive is not None and archive.is_file()
    if package_arn == pipeline.NO_CHAMPION_PACKAGE:
        if present:
            raise ValueError(
                f"--champion-package-arn is {package_arn!r} but {archive} exists: "
                "ChampionModelUri and ChampionPackageArn name different things"
            )
        return None
    if archive is None or not present:
        raise ValueError(
            f"--champion-package-arn {package_arn} names a model but {archive} does not exist: "
            "ChampionModelUri must be that package's model.tar.gz"
        )
    try:
        booster, _, contract = load_model(locate_model(archive.parent, scratch))
    except DataValidationError as error:
        return Champion(package_arn, None, None, problem=str(error))
    return Champion(package_arn, contract, booster)


def champion_block(
    champion: Champion, contract: dataset.Contract, features: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    """The evaluation's ``champion``: the serving model's metrics on the same test rows when its
    API is the candidate's, else each difference (``features``, ``order``, ``classes``)."""
    if champion.contract is None or champion.booster is None:
        differences = [f"contract: the serving model cannot be read ({champion.problem})"]
    else:
        differences = dataset.api_differences(contract, champion.contract)
    block: dict[str, Any] = {"model_package_arn": champion.package_arn}
    if differences or champion.booster is None or champion.contract is None:
        return {**block, "contract_matches": False, "differences": differences}
    probabilities = predict_probabilities(champion.booster, features, champion.contract)
    return {
        **block,
        "metrics": quality.quality_block(labels, probabilities, champion.contract),
        "contract_matches": True,
        "differences": [],
    }


# --------------------------------------------------------------------------- the report


def build_report(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    metadata: dict[str, Any],
    contract: dataset.Contract,
    model_uri: str,
    smoke_test: dict[str, Any],
    importance: dict[str, Any] | None = None,
    champion: dict[str, Any] | None = None,
) -> dict[str, Any]:
    class_names = list(contract.class_names)
    _, per_class = quality.compute_metrics(y_true, probabilities.argmax(axis=1), class_names)
    counts = metadata.get("row_counts") or {}
    report = {
        **quality.quality_block(y_true, probabilities, contract),
        "per_class_metrics": per_class,
        "model": {
            "artifact_uri": model_uri,
            "training_job_name": metadata.get("training_job_name"),
            "hyperparameters": metadata.get("hyperparameters", {}),
            "best_iteration": metadata.get("best_iteration"),
            "rounds_trained": metadata.get("rounds_trained"),
            "validation_metrics": metadata.get("validation_metrics", {}),
            "learning_curve": learning_curve(metadata),
            "trained_with_xgboost_version": metadata.get("xgboost_version"),
        },
        "class_names": class_names,
        "row_counts": {
            "train": counts.get("train"),
            "validation": counts.get("validation"),
            "test": len(y_true),
        },
        "class_counts": split_class_counts(metadata, y_true, class_names),
        "feature_importance": importance,
        "dataset_contract": contract.document,
        # What the state machine copies into the model package's metadata as is.
        "registry_metadata": {"class_names": registry.class_names_value(class_names)},
        "smoke_test": smoke_test,
        "xgboost_version": xgb.__version__,
    }
    if champion is not None:
        report["champion"] = champion
    return report


@dataclass(frozen=True)
class Gate:
    """The promotion gate's settings: the pipeline's AccuracyThreshold and ChampionMargin."""

    threshold: float
    margin: float = 0.0


def judge(report: Mapping[str, Any], gate: Gate) -> reports.GateVerdict:
    """The gate, decided once, here: contracts.evaluation.decide_gate on the report."""
    champion = report.get("champion") or {}
    champion_accuracy = None
    if champion.get("metrics"):
        _, block = reports.metrics_block(champion["metrics"])
        champion_accuracy = reports.metric(block, GATE_METRIC)
    kind, _ = reports.metrics_block(report)
    return reports.decide_gate(
        reports.accuracy(report),
        gate.threshold,
        champion_accuracy=champion_accuracy,
        margin=gate.margin,
        contract_differences=list(champion.get("differences") or []),
        label=str(reports.contract_of(report).get("label_column", "")),
        problem_type=kind,
    )


def gate_facts(gate: Gate, verdict: reports.GateVerdict) -> dict[str, Any]:
    """What the run report shows of the gate (ml/report.py render_success's ``gate``)."""
    return {
        "metric": GATE_METRIC,
        "threshold": gate.threshold,
        "margin": gate.margin,
        "passed": verdict.passed,
        "cause": verdict.cause,
    }


class ReportCodeMissing(RuntimeError):
    """The report's renderer is not where the pipeline puts it (its `report` input)."""


def write_all_or_nothing(files: Mapping[Path, str]) -> None:
    """Write every file through a temporary sibling, then rename them all into place; on any
    failure none is left behind (a reader never finds evaluation.json without its summary)."""
    staged: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for target, text in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((Path(name), target))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(name, 0o644)  # mkstemp creates 0600; S3 keeps no mode, a local copy does
        for temp, target in staged:
            os.replace(temp, target)
            placed.append(target)
    except BaseException:
        for temp, _ in staged:
            if temp.exists():
                temp.unlink()
        for target in placed:
            if target.exists():
                target.unlink()
        raise


def monitoring_baseline(
    baseline_dir: Path, probabilities: np.ndarray, contract: dataset.Contract
) -> str:
    """prepare.py's feature baseline plus the predicted classes on the test split: the text of
    `baseline.json` (what the drift monitor compares captured traffic with)."""
    try:
        features = drift_baseline.load_baseline(baseline_dir / drift_baseline.BASELINE_FILE_NAME)
        distribution = drift_baseline.prediction_distribution(probabilities, contract.class_names)
        complete = drift_baseline.with_predictions(features, distribution)
    except drift_baseline.BaselineError as error:
        raise DataValidationError(f"drift baseline: {error}") from None
    if complete["feature_columns"] != contract.feature_columns:
        raise DataValidationError(
            "drift baseline: its features do not match the model's dataset contract"
        )
    return str(drift_baseline.baseline_text(complete))


def json_text(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, indent=2) + "\n"


def run(
    model_dir: Path,
    test_dir: Path,
    output_dir: Path,
    model_uri: str,
    baseline_dir: Path | None = None,
    *,
    gate: Gate,
    champion_dir: Path | None = None,
    champion_package_arn: str = pipeline.NO_CHAMPION_PACKAGE,
    run_name: str = "",
) -> dict[str, Any]:
    """Evaluate the candidate (and the champion on the same rows), decide the gate, and write
    `evaluation.json`, `summary.json`, `report.html` and, given `baseline_dir`, the monitoring
    baseline `baseline.json` into `output_dir`: all of them or none. Return the evaluation."""
    if run_report is None:  # before the work: a bundle without the renderer fails fast
        raise ReportCodeMissing(
            "report.py is not beside evaluate.py: the evaluation step's code bundle "
            "(ml/code_bundles.json, staged by Terraform under code/) lacks the report's renderer"
        )
    with tempfile.TemporaryDirectory(prefix="model-") as scratch:
        booster, metadata, contract = load_model(locate_model(model_dir, Path(scratch) / "model"))
        champion = load_champion(champion_dir, champion_package_arn, Path(scratch) / "champion")
    features, labels = read_test_set(test_dir, contract)
    probabilities = predict_probabilities(booster, features, contract)
    compared = None if champion is None else champion_block(champion, contract, features, labels)
    del features
    report = build_report(
        labels,
        probabilities,
        metadata,
        contract,
        model_uri,
        build_smoke_test(booster, smoke_test_rows(test_dir, contract.num_classes), contract),
        feature_importance(booster, contract),
        compared,
    )
    verdict = judge(report, gate)
    summary = reports.build_summary(report, verdict, threshold=gate.threshold, margin=gate.margin)
    page = run_report.render_success(
        report, gate=gate_facts(gate, verdict), run={"name": run_name} if run_name else None
    )
    files = {
        output_dir / s3_layout.EVALUATION_FILE: json_text(report),
        output_dir / s3_layout.SUMMARY_FILE: json_text(summary),
        output_dir / s3_layout.REPORT_FILE: page,
    }
    if baseline_dir is not None:
        files[output_dir / s3_layout.BASELINE_FILE] = monitoring_baseline(
            baseline_dir, probabilities, contract
        )
    write_all_or_nothing(files)
    logger.info("gate: %s", verdict.headline if verdict.passed else verdict.cause)
    return report


# --------------------------------------------------------------------------- entry point


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DataValidationError(f"invalid arguments: {message}")


def _share(text: str) -> float:
    """A threshold or a margin: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _ArgumentParser(description="Evaluate the model on the test split.")
    parser.add_argument("--model-dir", type=Path, default=Path(DEFAULT_MODEL_DIR))
    parser.add_argument("--test-dir", type=Path, default=Path(DEFAULT_TEST_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument("--model-uri", default="", help="S3 URI of model.tar.gz (recorded only)")
    parser.add_argument(
        "--baseline-dir",
        type=Path,
        default=None,
        help="prepare.py's baseline output; absent: no monitoring baseline is written",
    )
    parser.add_argument(
        "--champion-dir",
        type=Path,
        default=Path(DEFAULT_CHAMPION_DIR),
        help="the serving model's model.tar.gz; only the 'none' marker when nothing serves",
    )
    parser.add_argument(
        "--champion-package-arn",
        default=pipeline.NO_CHAMPION_PACKAGE,
        help=f"the serving model package, or {pipeline.NO_CHAMPION_PACKAGE!r}",
    )
    parser.add_argument(
        "--accuracy-threshold", type=_share, required=True, help="the gate's minimum accuracy"
    )
    parser.add_argument(
        "--champion-margin",
        type=_share,
        default=0.0,
        help="how far below the serving model's accuracy the candidate may be",
    )
    parser.add_argument("--run-name", default="", help="the run, as the report names it")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        args = parse_args(argv)
        report = run(
            args.model_dir,
            args.test_dir,
            args.output_dir,
            args.model_uri,
            args.baseline_dir,
            gate=Gate(args.accuracy_threshold, args.champion_margin),
            champion_dir=args.champion_dir,
            champion_package_arn=args.champion_package_arn,
            run_name=args.run_name,
        )
    except DataValidationError as error:
        message = str(error)
        print(f"ERROR: {message}", file=sys.stderr)
        failures.write_failure_reason(message)
        return failures.VALIDATION_ERROR_EXIT_CODE
    except Exception as error:
        failures.write_failure_reason(f"unexpected error: {type(error).__name__}: {error}")
        raise
    logger.info(
        "test accuracy %.4f on %d rows", reports.accuracy(report), report["row_counts"]["test"]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
