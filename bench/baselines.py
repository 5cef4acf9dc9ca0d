"""The baselines, each run as its own process so its peak RSS is its own.

python -m bench.baselines prepare --input F --output-dir O --label-column NAME
    a plain pandas.read_csv of F, a stratified 60/20/20 split, written as CSV in SageMaker's
    convention (no header, label index first) to O/{train,validation,test}/<split>.csv
python -m bench.baselines train --train D --validation D [--max_depth N --eta X ...]
    raw xgboost.train on those splits with train.py's parameters: the same objective, rounds,
    depth, eta, eval sets and early stopping; nothing else (no checks, no model files)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SPLIT_SHARES = (("train", 0.6), ("validation", 0.2), ("test", 0.2))


def stratified_split(labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Row indices of each split: every class cut 60/20/20 after a seeded shuffle."""
    rng = np.random.RandomState(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in SPLIT_SHARES}
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        n_train = round(len(rows) * SPLIT_SHARES[0][1])
        n_validation = round(len(rows) * SPLIT_SHARES[1][1])
        parts["train"].append(rows[:n_train])
        parts["validation"].append(rows[n_train : n_train + n_validation])
        parts["test"].append(rows[n_train + n_validation :])
    return {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}


def prepare(input_csv: Path, output_dir: Path, label_column: str, seed: int = 42) -> None:
    frame = pd.read_csv(input_csv)
    # Class index = position among the sorted distinct labels (the contract's default order).
    codes = np.unique(frame[label_column].to_numpy(), return_inverse=True)[1]
    table = frame.drop(columns=[label_column])
    table.insert(0, "label", codes)
    for name, rows in stratified_split(codes, seed).items():
        target = output_dir / name / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        table.iloc[rows].to_csv(target, header=False, index=False)


def booster_params(hyperparameters: Mapping[str, Any], num_classes: int) -> dict[str, Any]:
    """train.py's booster parameters for this class count (ml/train.py, EVAL_METRICS).

    The objective follows the class count and the eval metrics are train.py's own list for it
    (they cost time every round, so the baseline must compute the same ones).
    """
    from contracts import dataset  # the one home of the objectives
    from ml import train as subject  # the one home of the eval metrics

    binary = num_classes == 2
    objective = dataset.OBJECTIVES[dataset.problem_type(num_classes)]
    params: dict[str, Any] = {
        "objective": objective,
        "eval_metric": list(subject.EVAL_METRICS[objective]),
        "max_depth": int(hyperparameters["max_depth"]),
        "eta": float(hyperparameters["eta"]),
        "seed": int(hyperparameters["seed"]),
        "tree_method": "hist",
    }
    if not binary:
        params["num_class"] = num_classes
    return params


def read_split(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.concat(
        [pd.read_csv(path, header=None) for path in sorted(directory.glob("*.csv"))],
        ignore_index=True,
    )
    return frame.iloc[:, 1:].to_numpy(dtype="float64"), frame.iloc[:, 0].to_numpy()


def train(train_dir: Path, validation_dir: Path, hyperparameters: Mapping[str, Any]) -> int:
    """Train; return the number of rounds kept (the best iteration + 1)."""
    import xgboost as xgb  # only the train baseline pays for importing it

    x_train, y_train = read_split(train_dir)
    x_validation, y_validation = read_split(validation_dir)
    dtrain = xgb.DMatrix(x_train, label=y_train)
    dvalidation = xgb.DMatrix(x_validation, label=y_validation)
    num_classes = int(max(y_train.max(), y_validation.max())) + 1
    booster = xgb.train(
        booster_params(hyperparameters, num_classes),
        dtrain,
        num_boost_round=int(hyperparameters["num_round"]),
        evals=[(dtrain, "train"), (dvalidation, "validation")],
        early_stopping_rounds=int(hyperparameters["early_stopping_rounds"]) or None,
        verbose_eval=True,
    )
    return int(booster.best_iteration) + 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--output-dir", type=Path, required=True)
    p.add_argument("--label-column", required=True)
    t = commands.add_parser("train")
    t.add_argument("--train", type=Path, required=True)
    t.add_argument("--validation", type=Path, required=True)
    for name, kind in (
        ("max_depth", int),
        ("eta", float),
        ("num_round", int),
        ("early_stopping_rounds", int),
        ("seed", int),
    ):
        t.add_argument(f"--{name}", type=kind, required=True)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "prepare":
        prepare(args.input, args.output_dir, args.label_column)
    else:
        hyperparameters = {
            name: getattr(args, name)
            for name in ("max_depth", "eta", "num_round", "early_stopping_rounds", "seed")
        }
        rounds = train(args.train, args.validation, hyperparameters)
        print(f"kept {rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
