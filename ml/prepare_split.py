"""The stratified, seeded train/validation/test split of prepare.py's rows.

Shipped beside prepare.py (ml/code_bundles.json): numpy and the standard library only, Python 3.9
compatible. Every split holds every class; a class too small for that is refused, with where its
rows are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

try:
    from .prepare_errors import DataValidationError
except ImportError:
    from prepare_errors import DataValidationError  # type: ignore[no-redef]

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitRatios:
    train: float = 0.6
    validation: float = 0.2

    @property
    def test(self) -> float:
        return 1.0 - self.train - self.validation

    def check(self) -> None:
        if not (0 < self.train < 1 and 0 < self.validation < 1 and self.test > 1e-9):
            raise DataValidationError(
                f"invalid split ratios: train={self.train}, validation={self.validation}; "
                "both must be in (0, 1) and leave a positive test share"
            )


def min_rows_per_class(ratios: SplitRatios) -> int:
    smallest = min(ratios.train, ratios.validation, ratios.test)
    return max(3, math.ceil(1.0 / smallest - 1e-9))


def check_class_sizes(
    counts: dict[str, int],
    column: str,
    ratios: SplitRatios,
    locate: Callable[[str], str] | None = None,
) -> None:
    """Refuse a class too small for every split; ``locate(name)`` says where its rows are."""
    # Every split must hold every class, so the smallest share needs one row per class.
    minimum = min_rows_per_class(ratios)
    for name, count in counts.items():
        if count < minimum:
            where = f"{locate(name)}, " if locate else ""
            raise DataValidationError(
                f"{where}column '{column}': class '{name}' has {count} row(s), at least {minimum} "
                "are needed to stratify train/validation/test; add rows of that class or "
                "remove it"
            )


def _allocate(total: int, counts: Sequence[int]) -> list[int]:
    """Split `total` across classes in proportion to `counts` (largest remainder, stable)."""
    grand = sum(counts)
    quotas = [total * count / grand for count in counts]
    shares = [math.floor(quota) for quota in quotas]
    order = sorted(range(len(counts)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for index in order[: total - sum(shares)]:
        shares[index] += 1
    return shares


def assign_splits(
    labels: np.ndarray,
    ratios: SplitRatios,
    seed: int,
    class_names: Sequence[str],
    locate: Callable[[str], str] | None = None,
) -> np.ndarray:
    """Per row, the index into SPLIT_NAMES of its split: stratified by class, seeded.

    Uses numpy's legacy `RandomState`, whose stream numpy keeps stable across releases, so the
    container (older numpy) and a laptop produce the same split for the same seed.
    """
    ratios.check()
    total = len(labels)
    n_test = round(total * ratios.test)
    n_validation = round(total * ratios.validation)
    counts = np.bincount(labels, minlength=len(class_names)).tolist()
    test_shares = _allocate(n_test, counts)
    validation_shares = _allocate(n_validation, counts)
    train_id, validation_id, test_id = (SPLIT_NAMES.index(n) for n in SPLIT_NAMES)
    assignment = np.full(total, train_id, dtype="int8")
    rng = np.random.RandomState(seed)
    # Indexing rather than zip(strict=...): this module must also run on the container's Python 3.9.
    for cls in range(len(class_names)):
        count, n_te, n_va = counts[cls], test_shares[cls], validation_shares[cls]
        if n_te < 1 or n_va < 1 or count - n_te - n_va < 1:
            where = f"{locate(class_names[cls])}, " if locate else ""
            raise DataValidationError(
                f"{where}class '{class_names[cls]}' has {count} row(s), too few to place at "
                "least one in each of train/validation/test; add rows of that class or remove it"
            )
        indices = rng.permutation(np.flatnonzero(labels == cls))
        assignment[indices[:n_te]] = test_id
        assignment[indices[n_te : n_te + n_va]] = validation_id
    return assignment


def split_sizes(assignment: np.ndarray) -> dict[str, int]:
    """Rows per split of an ``assign_splits`` result, by split name."""
    counts = np.bincount(assignment, minlength=len(SPLIT_NAMES))
    return {name: int(n) for name, n in zip(SPLIT_NAMES, counts)}
