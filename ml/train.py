"""Train and serve an XGBoost classifier on any prepared dataset (XGBoost 1.7-1, script mode).

Shipped in `sourcedir.tar.gz` with the `contracts` package beside it (devtools/build.py), so it
imports only that package, the standard library, numpy, pandas and xgboost, and runs on the
container's Python with xgboost 1.7 as well as on xgboost 3.x.

Training contract: hyperparameters arrive as CLI args (`--max_depth 5 --eta 0.1 --num_round 100`),
channels as CSV (no header, label first) under `SM_CHANNEL_TRAIN` / `SM_CHANNEL_VALIDATION`, and
the dataset contract prepare.py wrote (`contract.json`) under `SM_CHANNEL_CONTRACT`: it names the
features and classes and sets the objective (`binary:logistic` for two classes, else
`multi:softprob`). The model goes to `SM_MODEL_DIR/xgboost-model.json` with `metadata.json` and
`contract.json` beside it, and this script with the `contracts` package in `SM_MODEL_DIR/code/`
(so model.tar.gz serves with `SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code`). The log carries
xgboost's own evaluation lines (`[i]\ttrain-...\tvalidation-logloss:<x>` or
`...validation-mlogloss:<x>`), the form the tuner reads for this image with the container's
built-in regexes (emulator/sagemaker_executor/tuning.py).

Serving: `model_fn`, `input_fn`, `predict_fn` and `output_fn` come from inference.py, shipped
beside this script (and copied with it into the model), so the container finds them here, in
the module `SAGEMAKER_PROGRAM` names.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import xgboost as xgb

try:
    from contracts import dataset, failures
except ImportError:  # run as a file from a checkout: the package is at the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from contracts import dataset, failures
# The serving functions, shipped beside this script; the container looks for them here.
try:
    from . import inference
except ImportError:
    import inference  # type: ignore[no-redef]

MODEL_FILE_NAME = inference.MODEL_FILE_NAME
feature_names = inference.feature_names
make_dmatrix = inference.make_dmatrix
# The container's serving entry points, and their pure equivalents for callers of the model.
model_fn = inference.model_fn
input_fn = inference.input_fn
predict_fn = inference.predict_fn
output_fn = inference.output_fn
parse_csv_request = inference.parse_csv_request
predict_probabilities = inference.predict_probabilities
probabilities_json = inference.probabilities_json

# Container environment (names and defaults as in aws/sagemaker-xgboost-container).
SM_CHANNEL_TRAIN = "SM_CHANNEL_TRAIN"
SM_CHANNEL_VALIDATION = "SM_CHANNEL_VALIDATION"
SM_CHANNEL_CONTRACT = "SM_CHANNEL_CONTRACT"
SM_MODEL_DIR = "SM_MODEL_DIR"
SM_OUTPUT_DATA_DIR = "SM_OUTPUT_DATA_DIR"
SM_TRAINING_ENV = "SM_TRAINING_ENV"
TRAINING_JOB_NAME = "TRAINING_JOB_NAME"
DEFAULT_TRAIN_DIR = "/opt/ml/input/data/train"
DEFAULT_VALIDATION_DIR = "/opt/ml/input/data/validation"
DEFAULT_CONTRACT_DIR = "/opt/ml/input/data/contract"
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_OUTPUT_DATA_DIR = "/opt/ml/output/data"

METADATA_FILE_NAME = "metadata.json"
#: Where the script copies itself inside the model directory: the model tarball carries its code,
#: and a package serves it with SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code.
MODEL_CODE_DIR = "code"
# Per objective, xgboost's eval metrics. xgboost early-stops on the LAST metric listed, and the
# tuner minimises (m)logloss. It must also be the last of its log line: the container's regex
# `.*\[[0-9]+\].*#011validation-mlogloss:(\S+)` captures up to the end of the line (a following
# `#011...` would be captured with it).
EVAL_METRICS = {
    dataset.BINARY_OBJECTIVE: ["error", "logloss"],
    dataset.MULTICLASS_OBJECTIVE: ["merror", "mlogloss"],
}
#: The eval set names in xgboost's log lines; the tuner's regexes look for `validation-<metric>`.
TRAIN_SET, VALIDATION_SET = "train", "validation"

logger = logging.getLogger("train")


class DataValidationError(ValueError):
    """Channel data or hyperparameters break the contract; the message says where."""


# --------------------------------------------------------------------------- dataset contract


#: The dataset contract prepare.py wrote (contracts/dataset.py): features, classes, objective.
Contract = dataset.Contract


def eval_metrics(contract: Contract) -> list[str]:
    return list(EVAL_METRICS[contract.objective])


def objective_metric(contract: Contract) -> str:
    """The metric the tuner minimises: the last eval metric (see EVAL_METRICS)."""
    return EVAL_METRICS[contract.objective][-1]


def parse_contract(document: Any, source: str) -> Contract:
    """Check the contract's shape; the message names the file and the broken field."""
    try:
        return dataset.parse(document, source)
    except dataset.ContractError as error:
        raise DataValidationError(str(error)) from None


def load_contract(directory: str | Path, what: str) -> Contract:
    """Read `contract.json` from a directory (the contract channel, or the model directory)."""
    try:
        return dataset.read(Path(directory), what)
    except dataset.ContractError as error:
        raise DataValidationError(str(error)) from None


def check_objective(requested: str | None, contract: Contract) -> None:
    """An `objective` hyperparameter (the pipeline passes one per branch) must match the data."""
    if requested is None or _unquote(requested) == "":
        return
    if _unquote(requested) != contract.objective:
        raise DataValidationError(
            f"hyperparameter objective '{_unquote(requested)}' does not fit the data: the "
            f"contract has {contract.num_classes} classes ({', '.join(contract.class_names)}), "
            f"which needs objective '{contract.objective}'; the pipeline chose the wrong branch "
            "or the hyperparameter is stale"
        )


# --------------------------------------------------------------------------- hyperparameters


def _unquote(text: str) -> str:
    # The tuner and the SDK may JSON-encode values, so "5" can arrive with its quotes.
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def parse_float(text: str) -> float:
    try:
        value = float(_unquote(str(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def parse_int(text: str) -> int:
    """Accept '5', '"5"' and '5.0' (the tuner may format integers as floats)."""
    value = parse_float(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number")
    return int(value)


@dataclass(frozen=True)
class Hyperparameters:
    max_depth: int = 5
    eta: float = 0.1
    num_round: int = 100
    subsample: float = 1.0
    min_child_weight: float = 1.0
    gamma: float = 0.0
    colsample_bytree: float = 1.0
    early_stopping_rounds: int = 10
    seed: int = 42

    def check(self) -> None:
        problems = []
        if self.max_depth < 1:
            problems.append("max_depth must be >= 1")
        if not 0 < self.eta <= 1:
            problems.append("eta must be in (0, 1]")
        if self.num_round < 1:
            problems.append("num_round must be >= 1")
        if not 0 < self.subsample <= 1:
            problems.append("subsample must be in (0, 1]")
        if not 0 < self.colsample_bytree <= 1:
            problems.append("colsample_bytree must be in (0, 1]")
        if self.min_child_weight < 0:
            problems.append("min_child_weight must be >= 0")
        if self.gamma < 0:
            problems.append("gamma must be >= 0")
        if self.early_stopping_rounds < 0:
            problems.append("early_stopping_rounds must be >= 0 (0 disables early stopping)")
        if problems:
            raise DataValidationError("invalid hyperparameters: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def booster_params(self, contract: Contract) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": contract.objective,
            "eval_metric": eval_metrics(contract),
            "max_depth": self.max_depth,
            "eta": self.eta,
            "subsample": self.subsample,
            "min_child_weight": self.min_child_weight,
            "gamma": self.gamma,
            "colsample_bytree": self.colsample_bytree,
            "seed": self.seed,
            "tree_method": "hist",
            "verbosity": 1,
        }
        if not contract.binary:
            # num_class belongs to multi:softprob only (xgboost's learner parameters).
            params["num_class"] = contract.num_classes
        return params


_HYPERPARAMETER_TYPES = {
    "max_depth": parse_int,
    "eta": parse_float,
    "num_round": parse_int,
    "subsample": parse_float,
    "min_child_weight": parse_float,
    "gamma": parse_float,
    "colsample_bytree": parse_float,
    "early_stopping_rounds": parse_int,
    "seed": parse_int,
}


class _ArgumentParser(argparse.ArgumentParser):
    """Turns bad arguments into DataValidationError so main() reports them like bad data."""

    def error(self, message: str) -> NoReturn:
        raise DataValidationError(f"invalid arguments: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(description="Train an XGBoost classifier on prepared CSV splits.")
    defaults = Hyperparameters()
    for name, kind in _HYPERPARAMETER_TYPES.items():
        parser.add_argument(f"--{name}", type=kind, default=getattr(defaults, name))
    parser.add_argument("--train", default=os.environ.get(SM_CHANNEL_TRAIN, DEFAULT_TRAIN_DIR))
    parser.add_argument(
        "--validation", default=os.environ.get(SM_CHANNEL_VALIDATION, DEFAULT_VALIDATION_DIR)
    )
    parser.add_argument(
        "--contract", default=os.environ.get(SM_CHANNEL_CONTRACT, DEFAULT_CONTRACT_DIR)
    )
    # Optional: when given (the pipeline passes it per branch), it must match the contract.
    parser.add_argument("--objective", default=None)
    parser.add_argument("--model-dir", default=os.environ.get(SM_MODEL_DIR, DEFAULT_MODEL_DIR))
    parser.add_argument(
        "--output-data-dir", default=os.environ.get(SM_OUTPUT_DATA_DIR, DEFAULT_OUTPUT_DATA_DIR)
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """Parse known args; unknown ones (future SDK extras) are returned so main() can log them."""
    return build_parser().parse_known_args(argv)


def hyperparameters_from_args(args: argparse.Namespace) -> Hyperparameters:
    params = Hyperparameters(**{name: getattr(args, name) for name in _HYPERPARAMETER_TYPES})
    params.check()
    return params


def training_job_name(environ: dict[str, str] | None = None) -> str:
    environ = dict(os.environ) if environ is None else environ
    name = environ.get(TRAINING_JOB_NAME, "").strip()
    if name:
        return name
    try:
        job = json.loads(environ.get(SM_TRAINING_ENV, "") or "{}").get("job_name")
    except (ValueError, AttributeError):
        job = None
    return str(job) if job else "local"


# --------------------------------------------------------------------------- data


def read_channel(
    channel_dir: str | Path, channel: str, contract: Contract
) -> tuple[np.ndarray, np.ndarray]:
    """Read every CSV in a channel (no header, label first) into features and integer labels."""
    directory = Path(channel_dir)
    if not directory.is_dir():
        raise DataValidationError(f"{channel} channel directory {directory} does not exist")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise DataValidationError(f"no .csv file in the {channel} channel ({directory})")
    features, labels = [], []
    for path in files:
        x, y = read_labelled_csv(path, contract)
        features.append(x)
        labels.append(y)
    x_all, y_all = np.vstack(features), np.concatenate(labels)
    if len(y_all) == 0:
        raise DataValidationError(f"the {channel} channel ({directory}) has no data rows")
    return x_all, y_all


def read_labelled_csv(path: Path, contract: Contract) -> tuple[np.ndarray, np.ndarray]:
    """One split file, read typed (float64, pandas' C parser): no Python loop over rows."""
    width = len(contract.feature_columns)
    expected = 1 + width
    try:
        frame = pd.read_csv(path, header=None, dtype="float64")
    except pd.errors.EmptyDataError:
        return np.empty((0, width)), np.empty(0, dtype="int64")
    except ValueError as error:
        raise DataValidationError(f"{path.name}: non-numeric value ({error})") from None
    if frame.shape[1] != expected:
        raise DataValidationError(
            f"{path.name}: expected {expected} columns (the label, then the contract's features "
            f"{', '.join(contract.feature_columns)}), found {frame.shape[1]}"
        )
    if frame.isna().any().any():
        row = int(np.flatnonzero(frame.isna().any(axis=1).to_numpy())[0]) + 1
        raise DataValidationError(f"{path.name} line {row}: missing value")
    labels = frame.iloc[:, 0].to_numpy()
    bad = ~np.isin(labels, np.arange(contract.num_classes))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise DataValidationError(
            f"{path.name} line {row}, column 1 (label): '{labels[row - 1]}' is not a class index "
            f"0..{contract.num_classes - 1}"
        )
    return frame.iloc[:, 1:].to_numpy(dtype="float64"), labels.astype("int64")


# --------------------------------------------------------------------------- training


@dataclass
class TrainingResult:
    booster: xgb.Booster
    best_iteration: int
    validation_metrics: dict[str, float]
    history: dict[str, dict[str, list[float]]]
    rounds_trained: int


def train_model(
    params: Hyperparameters,
    contract: Contract,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
) -> TrainingResult:
    """Train with validation-based early stopping; the returned booster ends at the best round."""
    dtrain = make_dmatrix(train[0], contract, train[1])
    dvalidation = make_dmatrix(validation[0], contract, validation[1])
    history: dict[str, Any] = {}
    booster = xgb.train(
        params.booster_params(contract),
        dtrain,
        num_boost_round=params.num_round,
        # Validation last: xgboost writes the sets in this order, and the objective must end the
        # line (see EVAL_METRICS).
        evals=[(dtrain, TRAIN_SET), (dvalidation, VALIDATION_SET)],
        early_stopping_rounds=params.early_stopping_rounds or None,
        evals_result=history,
        # xgboost's own `[i]\ttrain-merror:..\tvalidation-mlogloss:..` line every round: what the
        # tuner reads for this image (aws/sagemaker-xgboost-container algorithm_mode/metrics.py).
        verbose_eval=True,
    )
    rounds_trained = len(history[VALIDATION_SET][objective_metric(contract)])
    if params.early_stopping_rounds:
        best_iteration = int(booster.best_iteration)
        # Keep only the rounds up to the best one, so every consumer (1.7 predicts with all
        # trees by default) serves exactly the model whose metrics are reported.
        booster = booster[: best_iteration + 1]
    else:
        best_iteration = rounds_trained - 1
    metrics = {
        name: float(history[VALIDATION_SET][name][best_iteration])
        for name in eval_metrics(contract)
    }
    return TrainingResult(booster, best_iteration, metrics, history, rounds_trained)


def evaluation_line(
    history: dict[str, dict[str, list[float]]], iteration: int, metrics: Sequence[str]
) -> str:
    """Round ``iteration``'s metrics as xgboost's EvaluationMonitor prints them.

    `[i]` then, per eval set in order, per metric in order, `\t<set>-<metric>:<value:.5f>`
    (xgboost 1.7 and 3.x callback.py, EvaluationMonitor._fmt_metric).
    """
    parts = [f"[{iteration}]"]
    for data in (TRAIN_SET, VALIDATION_SET):
        for metric in metrics:
            parts.append(f"{data}-{metric}:{history[data][metric][iteration]:.5f}")
    return "\t".join(parts)


def class_counts(labels: np.ndarray, contract: Contract) -> dict[str, int]:
    """Rows per class name, in the contract's class order (the report's class balance)."""
    counts = np.bincount(labels.astype("int64"), minlength=contract.num_classes)
    return {name: int(counts[index]) for index, name in enumerate(contract.class_names)}


def learning_curve(result: TrainingResult, contract: Contract) -> dict[str, Any]:
    """The tuner's metric per boosting round on both sets, and the round the model keeps."""
    metric = objective_metric(contract)
    return {
        "metric": metric,
        "train": [float(v) for v in result.history[TRAIN_SET][metric]],
        "validation": [float(v) for v in result.history[VALIDATION_SET][metric]],
        "best_iteration": result.best_iteration,
    }


def build_metadata(
    params: Hyperparameters,
    contract: Contract,
    result: TrainingResult,
    job_name: str,
    row_counts: dict[str, int],
    counts_per_class: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """metadata.json beside the model: how it was trained, on what, and how training went."""
    return {
        "training_job_name": job_name,
        "hyperparameters": params.as_dict(),
        "objective": contract.objective,
        "best_iteration": result.best_iteration,
        "rounds_trained": result.rounds_trained,
        "validation_metrics": dict(result.validation_metrics),
        "feature_names": list(contract.feature_columns),
        "class_names": list(contract.class_names),
        "row_counts": dict(row_counts),
        "class_counts": dict(counts_per_class or {}),
        "learning_curve": learning_curve(result, contract),
        "xgboost_version": xgb.__version__,
    }


def write_bytes_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def save_model(
    model_dir: Path, booster: xgb.Booster, metadata: dict[str, Any], contract: Contract
) -> None:
    # save_raw("json") works the same on 1.7 and 3.x and lets us write through a temp file.
    write_bytes_atomically(model_dir / MODEL_FILE_NAME, bytes(booster.save_raw(raw_format="json")))
    text = json.dumps(metadata, indent=2, sort_keys=True) + "\n"
    write_bytes_atomically(model_dir / METADATA_FILE_NAME, text.encode("utf-8"))
    # The contract travels inside model.tar.gz: serving and evaluate.py read it from there.
    write_bytes_atomically(
        model_dir / dataset.FILE_NAME, dataset.text(contract.document).encode("utf-8")
    )


def code_files(script: Path | None = None) -> dict[str, Path]:
    """What the model's ``code/`` holds: this script, inference.py beside it, and the
    ``contracts`` package they import (modules and their JSON data) as found beside them: the
    sourcedir's copy in the container."""
    source = Path(script or __file__).resolve()
    served = Path(inference.__file__).resolve()
    package = Path(dataset.__file__).resolve().parent
    files = {source.name: source, served.name: served}
    for path in sorted(package.iterdir()):
        if path.is_file() and path.suffix in (".py", ".json"):
            files[f"{package.name}/{path.name}"] = path
    return files


def copy_code_into_model(model_dir: Path, script: Path | None = None) -> Path:
    """Copy this script and the contracts package to ``<model_dir>/code/`` so model.tar.gz
    serves on its own; return the script's copy.

    The sagemaker SDK's repack puts inference code in the same place; the serving stack accepts a
    local directory as SAGEMAKER_SUBMIT_DIRECTORY (sagemaker-containers 2.8.6
    _files.download_and_extract: `elif os.path.isdir(uri)` copies it, subdirectories included,
    to the code dir, and _modules.import_module pip-installs that directory with a generated
    setup.py of `packages=['']` and a MANIFEST.in of `recursive-include . *`, so `contracts/`
    is installed beside the script).
    """
    files = code_files(script)
    for name, path in files.items():
        write_bytes_atomically(model_dir / MODEL_CODE_DIR / name, path.read_bytes())
    return model_dir / MODEL_CODE_DIR / next(iter(files))


def run_training(args: argparse.Namespace, job_name: str) -> dict[str, Any]:
    """Read channels, train, save model + metadata + code + history; return the metadata."""
    params = hyperparameters_from_args(args)
    contract = load_contract(args.contract, "contract channel")
    check_objective(args.objective, contract)
    train = read_channel(args.train, "train", contract)
    validation = read_channel(args.validation, "validation", contract)
    logger.info(
        "training %s (%s, %d classes) on %d rows, validating on %d",
        job_name,
        contract.objective,
        contract.num_classes,
        len(train[1]),
        len(validation[1]),
    )
    result = train_model(params, contract, train, validation)
    metadata = build_metadata(
        params,
        contract,
        result,
        job_name,
        {"train": len(train[1]), "validation": len(validation[1])},
        {
            "train": class_counts(train[1], contract),
            "validation": class_counts(validation[1], contract),
        },
    )
    save_model(Path(args.model_dir), result.booster, metadata, contract)
    copy_code_into_model(Path(args.model_dir))
    # Restate the kept round last, in xgboost's own form: whether the service keeps the last or
    # the best value it read, it then reports the metrics of the saved model.
    print(
        evaluation_line(result.history, result.best_iteration, eval_metrics(contract)), flush=True
    )
    history_text = json.dumps(result.history, indent=2) + "\n"
    write_bytes_atomically(
        Path(args.output_data_dir) / "evals_result.json", history_text.encode("utf-8")
    )
    return metadata


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        args, unknown = parse_args(argv)
        if unknown:
            logger.warning("ignoring unknown arguments: %s", " ".join(unknown))
        metadata = run_training(args, training_job_name())
    except DataValidationError as error:
        message = str(error)
        print(f"ERROR: {message}", file=sys.stderr)
        failures.write_failure_reason(message, failures.TRAINING_FAILURE_FILE)
        return failures.VALIDATION_ERROR_EXIT_CODE
    except Exception as error:
        failures.write_failure_reason(
            f"unexpected error: {type(error).__name__}: {error}", failures.TRAINING_FAILURE_FILE
        )
        raise
    logger.info("best iteration %d of %d", metadata["best_iteration"], metadata["rounds_trained"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
