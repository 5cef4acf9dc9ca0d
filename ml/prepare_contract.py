"""The dataset contract's columns: the user's settings, the features they resolve to, the serving
model's order, and the contract document prepare.py writes (contracts/dataset.py).

Shipped beside prepare.py (ml/code_bundles.json) with the contracts package: standard library
only, Python 3.9 compatible. When a model serves and the data's features are exactly its features
in another order, they take its order, so the endpoint's API stays the same
(contracts/dataset.py ``serving_order``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from contracts import dataset
except ImportError:  # run as a file from a checkout: the package is at the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from contracts import dataset
try:
    from .prepare_csv import CsvHeader
    from .prepare_errors import DataValidationError
except ImportError:
    from prepare_csv import CsvHeader  # type: ignore[no-redef]
    from prepare_errors import DataValidationError  # type: ignore[no-redef]

logger = logging.getLogger("prepare")


@dataclass(frozen=True)
class DatasetSpec:
    """What the user configured: the label column, and optionally features and class order."""

    label_column: str
    feature_columns: list[str] | None = None
    class_order: list[str] | None = None


def parse_json_list(text: str, option: str) -> list[str] | None:
    """A CLI JSON list of non-empty, unique strings; "" or [] means derive (None)."""
    if text is None or text.strip() == "":
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise DataValidationError(
            f'{option} must be a JSON list of column names such as \'["a", "b"]\', '
            f"got {text!r} ({error})"
        ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DataValidationError(
            f"{option} must be a JSON list of non-empty strings, got {text!r}"
        )
    if not value:
        return None
    names = [v.strip() for v in value]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataValidationError(f"{option} names {', '.join(repeated)} more than once")
    return names


def resolve_features(headers: Sequence[CsvHeader], spec: DatasetSpec) -> list[str]:
    """The feature columns: the configured list, or every column of the first file but the label."""
    label = spec.label_column
    for header in headers:
        if label not in header.columns:
            raise DataValidationError(
                f"{header.source} line {header.line}: label column '{label}' not found; "
                f"available columns: {', '.join(header.columns)}. Set label_column to the "
                "column that holds the class of each row"
            )
    if spec.feature_columns is None:
        features = [name for name in headers[0].columns if name != label]
        if not features:
            raise DataValidationError(
                f"{headers[0].source}: no feature columns besides the label column '{label}'; "
                "add the columns to learn from"
            )
    else:
        features = list(spec.feature_columns)
        if label in features:
            raise DataValidationError(
                f"feature_columns names the label column '{label}'; remove it from "
                "feature_columns (the label cannot be a feature)"
            )
    for header in headers:
        absent = [name for name in features if name not in header.columns]
        if absent:
            raise DataValidationError(
                f"{header.source} line {header.line}: feature column(s) "
                f"{', '.join(repr(a) for a in absent)} not found; available columns: "
                f"{', '.join(header.columns)}. Fix feature_columns (or leave it empty to use "
                f"every column except '{label}')"
            )
        extra = [name for name in header.columns if name != label and name not in features]
        if extra:
            logger.warning("%s: ignoring column(s) %s", header.source, ", ".join(extra))
    return features


def champion_features(champion_dir: Path | None) -> list[str] | None:
    """The serving model's features in their order, from the contract in its model.tar.gz;
    None when no model serves (the directory holds only the "none" marker, or is not given)."""
    if champion_dir is None:
        return None
    archive = champion_dir / dataset.MODEL_ARCHIVE
    if not archive.is_file():
        return None
    return dataset.read_model_archive(archive).feature_columns


def feature_order(features: list[str], serving: Sequence[str] | None) -> list[str]:
    """``features`` in the serving model's order when they are its features in another order:
    the candidate is trained, and would be served, with the API clients already use."""
    order = dataset.serving_order(features, serving) if serving is not None else None
    if order is None:
        return features
    logger.info(
        "the serving model expects the same features in another order: using its order (%s)",
        ", ".join(order),
    )
    return order


def build_contract(
    spec: DatasetSpec,
    features: Sequence[str],
    class_names: Sequence[str],
    class_counts: dict[str, int],
    split_rows: dict[str, int],
    files: Sequence[Path],
) -> dict[str, Any]:
    return dataset.build(
        label_column=spec.label_column,
        feature_columns=features,
        class_names=class_names,
        rows=split_rows,
        class_counts=class_counts,
        source_files=[path.name for path in files],
        source_bytes=sum(path.stat().st_size for path in files),
    )
