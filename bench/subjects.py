"""How the subjects and their baselines are invoked: the one place that knows their CLIs.

The subjects run as the containers run them (and as `emulator/sagemaker_executor` does):
`prepare.py --input-dir D --output-dir O --label-column NAME` (processing ContainerArguments),
and `train.py` in script mode, its channels in `SM_CHANNEL_*`, its model directory in
`SM_MODEL_DIR` and the hyperparameters as `--name value` arguments (as ml/train.py parses them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREPARE_SCRIPT = ROOT / "ml" / "prepare.py"
TRAIN_SCRIPT = ROOT / "ml" / "train.py"
SPLIT_NAMES = ("train", "validation", "test")
CONTRACT_CHANNEL = "contract"

#: Given to train.py and to the raw xgboost baseline alike, spelled out so that a change of
#: train.py's defaults cannot make the two runs differ. train.py's defaults but 50 rounds instead
#: of 100: on 800k rows that keeps `make bench` near 5 minutes; the ratio is the figure.
HYPERPARAMETERS: Mapping[str, int | float] = {
    "max_depth": 5,
    "eta": 0.1,
    "num_round": 50,
    "early_stopping_rounds": 10,
    "seed": 42,
}


def hyperparameter_args(hyperparameters: Mapping[str, int | float]) -> list[str]:
    """Script mode's hyperparameters: `--name value` each (the SDK's sorted order)."""
    args: list[str] = []
    for name in sorted(hyperparameters):
        args += [f"--{name}", str(hyperparameters[name])]
    return args


def prepare_command(
    input_dir: Path, output_dir: Path, label_column: str, python: str = sys.executable
) -> list[str]:
    return [
        python,
        str(PREPARE_SCRIPT),
        "--input-dir",
        str(input_dir),
        "--output-dir",
        str(output_dir),
        "--label-column",
        label_column,
    ]


def train_command(
    hyperparameters: Mapping[str, int | float], python: str = sys.executable
) -> list[str]:
    return [python, str(TRAIN_SCRIPT), *hyperparameter_args(hyperparameters)]


def train_environment(
    prepared_dir: Path,
    model_dir: Path,
    output_data_dir: Path,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The training container's channel and model variables over ``base`` (default: os.environ)."""
    return {
        **(dict(os.environ) if base is None else dict(base)),
        "SM_CHANNEL_TRAIN": str(prepared_dir / "train"),
        "SM_CHANNEL_VALIDATION": str(prepared_dir / "validation"),
        "SM_CHANNEL_CONTRACT": str(prepared_dir / CONTRACT_CHANNEL),
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_data_dir),
        # Keep a failure's message in the bench's work directory, not /opt/ml.
        "SM_FAILURE_FILE": str(output_data_dir / "failure"),
    }


def baseline_prepare_command(
    input_csv: Path, output_dir: Path, label_column: str, python: str = sys.executable
) -> list[str]:
    return [
        python,
        "-m",
        "bench.baselines",
        "prepare",
        "--input",
        str(input_csv),
        "--output-dir",
        str(output_dir),
        "--label-column",
        label_column,
    ]


def baseline_train_command(
    prepared_dir: Path, hyperparameters: Mapping[str, int | float], python: str = sys.executable
) -> list[str]:
    return [
        python,
        "-m",
        "bench.baselines",
        "train",
        "--train",
        str(prepared_dir / "train"),
        "--validation",
        str(prepared_dir / "validation"),
        *hyperparameter_args(hyperparameters),
    ]
