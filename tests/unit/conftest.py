"""Shared fixtures for the ML unit tests: the real iris data, its split and a quickly trained model.

Fixtures are session-scoped so the split and the model are built once; tests that need to break
something copy them into their own `tmp_path` first.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    # Lets `import ml...` work even when pytest runs without the project's `pythonpath` setting.
    sys.path.insert(0, str(REPO_ROOT))

IRIS_CSV = REPO_ROOT / "data" / "raw" / "iris.csv"
ML_DIR = REPO_ROOT / "ml"
# Small and fast, yet enough for >= 0.9 test accuracy on iris.
FAST_HYPERPARAMETERS = {"max_depth": 3, "eta": 0.3, "num_round": 30, "early_stopping_rounds": 5}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "xgb17: runs the ML scripts under xgboost 1.7.6 (.venv-xgb17 / $XGB17_PYTHON)"
    )


def fast_cli_args(**overrides: object) -> list[str]:
    values = {**FAST_HYPERPARAMETERS, **overrides}
    args: list[str] = []
    for name, value in values.items():
        args += [f"--{name}", str(value)]
    return args


@pytest.fixture(scope="session")
def split_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prepare.py's default split of the committed iris.csv (train/validation/test dirs)."""
    # Imported here so other unit tests never pay for the ML stack.
    from ml import prepare
    from ml.prepare_contract import DatasetSpec
    from ml.prepare_split import SplitRatios

    input_dir = tmp_path_factory.mktemp("raw")
    (input_dir / "iris.csv").write_bytes(IRIS_CSV.read_bytes())
    output_dir = tmp_path_factory.mktemp("split")
    prepare.run(input_dir, output_dir, DatasetSpec("Species"), SplitRatios(), 42)
    return output_dir


@pytest.fixture(scope="session")
def model_dir(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained by train.py's own entry point with fast hyperparameters."""
    from ml import train

    directory = tmp_path_factory.mktemp("model")
    output_data = tmp_path_factory.mktemp("output-data")
    argv = [
        *fast_cli_args(),
        "--train",
        str(split_dir / "train"),
        "--validation",
        str(split_dir / "validation"),
        "--contract",
        str(split_dir / "contract"),
        "--model-dir",
        str(directory),
        "--output-data-dir",
        str(output_data),
    ]
    args, unknown = train.parse_args(argv)
    assert not unknown
    train.run_training(args, job_name="unit-test-job")
    return directory


@pytest.fixture(scope="session")
def model_archive_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding model.tar.gz shaped like a SageMaker training job's output."""
    directory = tmp_path_factory.mktemp("model-archive")
    with tarfile.open(directory / "model.tar.gz", "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return directory
