"""Real, quickly trained models for tests that serve one (endpoint, CLI predict)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from ml import prepare, train
from ml.prepare_contract import DatasetSpec
from ml.prepare_split import SplitRatios

ROOT = Path(__file__).resolve().parents[2]
IRIS_CSV = ROOT / "data" / "raw" / "iris.csv"
# Few rounds keep training well under a second; the numbers only have to match the direct model.
FAST = {"max_depth": 3, "eta": 0.3, "num_round": 10, "early_stopping_rounds": 0}


def split_iris(raw: Path, out: Path) -> Path:
    """The fixed 60/20/20 split of the iris data in ``out``."""
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "iris.csv").write_bytes(IRIS_CSV.read_bytes())
    prepare.run(raw, out, DatasetSpec("Species"), SplitRatios(), seed=42)
    return out


def train_model_dir(split_dir: Path, target: Path, **overrides: Any) -> Path:
    params = train.Hyperparameters(**{**FAST, **overrides})
    contract = train.load_contract(split_dir / "contract", "contract channel")
    result = train.train_model(
        params,
        contract,
        train.read_channel(split_dir / "train", "train", contract),
        train.read_channel(split_dir / "validation", "validation", contract),
    )
    metadata = train.build_metadata(
        params, contract, result, "invoke-test", {"train": 0, "validation": 0}
    )
    train.save_model(target, result.booster, metadata, contract)
    return target


def model_tar_gz(model_dir: Path) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return raw.getvalue()
