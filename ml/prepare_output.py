"""prepare.py's outputs: the three splits in SageMaker's CSV convention, the dataset contract
and the training split's drift baseline, written all or none.

Shipped beside prepare.py (ml/code_bundles.json) with baseline.py and the contracts package:
numpy, pandas and the standard library only, Python 3.9 compatible. Each file is written to a
temporary sibling and renamed into place only when every file is complete, so a failed run leaves
none.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

try:
    from contracts import dataset
except ImportError:  # run as a file from a checkout: the package is at the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from contracts import dataset
# The drift baseline is shipped beside this module (ml/code_bundles.json); in the repository the
# relative import finds ml/baseline.py, in the container the plain one finds the sibling file.
try:
    from . import baseline
    from .prepare_csv import CsvHeader
    from .prepare_read import read_options
    from .prepare_split import SPLIT_NAMES
except ImportError:
    import baseline  # type: ignore[no-redef]
    from prepare_csv import CsvHeader  # type: ignore[no-redef]
    from prepare_read import read_options  # type: ignore[no-redef]
    from prepare_split import SPLIT_NAMES  # type: ignore[no-redef]

CONTRACT_DIR = "contract"


class StagedOutputs:
    """Output files written to temp siblings and renamed into place only when all are complete.

    On failure the temp files and any target already renamed are removed: a half-written split
    (say train without test, or splits without their contract) is worse for the next step than
    none.
    """

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path, TextIO]] = []

    def open(self, target: Path) -> TextIO:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.staged.append((Path(temp_name), target, handle))
        return handle

    def written(self, target: Path) -> Path:
        """The staged file of `target`, flushed so that it can be read back before the commit."""
        for temp, staged_target, handle in self.staged:
            if staged_target == target:
                handle.flush()
                return temp
        raise KeyError(target)

    def commit(self) -> None:
        renamed: list[Path] = []
        try:
            for _, _, handle in self.staged:
                handle.close()
            for temp, target, _ in self.staged:
                os.replace(temp, target)
                renamed.append(target)
        except BaseException:
            for target in renamed:
                if target.exists():
                    target.unlink()
            raise
        self.staged = []

    def abort(self) -> None:
        for temp, _, handle in self.staged:
            handle.close()
            if temp.exists():
                temp.unlink()
        self.staged = []


def split_paths(output_dir: Path) -> dict[str, Path]:
    return {name: output_dir / name / f"{name}.csv" for name in SPLIT_NAMES}


def contract_path(output_dir: Path) -> Path:
    return output_dir / CONTRACT_DIR / dataset.FILE_NAME


def write_split_chunks(
    headers: Sequence[CsvHeader],
    features: Sequence[str],
    labels: np.ndarray,
    assignment: np.ndarray,
    handles: Sequence[TextIO],
    chunk_rows: int,
) -> None:
    """Pass 2: stream every file again, writing each row to its split's CSV.

    The features are read as text and written as they are in the file (validated as numbers by
    pass 1): no float formatting, and the test split holds the exact text a user would send.
    """
    prefixes = np.asarray([f"{index}," for index in range(int(labels.max()) + 1)], dtype=object)
    start = 0
    for header in headers:
        options = read_options(header, features, chunk_rows)
        options["usecols"] = list(features)
        options["dtype"] = {name: str for name in features}
        for chunk in pd.read_csv(header.path, **options):
            stop = start + len(chunk)
            text = prefixes[labels[start:stop]]
            for position, name in enumerate(features):
                column = chunk[name].to_numpy(dtype=object)
                text = text + column if position == 0 else text + "," + column
            where = assignment[start:stop]
            for split_id, handle in enumerate(handles):
                part = text[where == split_id]
                if len(part):
                    handle.write("\n".join(part.tolist()) + "\n")
            start = stop
    if start != len(labels):
        raise RuntimeError(f"second read found {start} rows, the first {len(labels)}")


def write_outputs(
    output_dir: Path,
    headers: Sequence[CsvHeader],
    labels: np.ndarray,
    assignment: np.ndarray,
    contract: dict[str, Any],
    chunk_rows: int,
    seed: int,
) -> None:
    """Write the splits, the contract and the training split's drift baseline, all or none.

    The features, in their order, are the contract's; ``seed`` seeds the baseline's sample."""
    features = list(contract["feature_columns"])
    paths = split_paths(output_dir)
    outputs = StagedOutputs()
    try:
        handles = [outputs.open(paths[name]) for name in SPLIT_NAMES]
        write_split_chunks(headers, features, labels, assignment, handles, chunk_rows)
        outputs.open(contract_path(output_dir)).write(dataset.text(contract))
        train_baseline = baseline.feature_baseline(outputs.written(paths["train"]), features, seed)
        outputs.open(baseline.baseline_path(output_dir)).write(
            baseline.baseline_text(train_baseline)
        )
        outputs.commit()
    except BaseException:
        outputs.abort()
        raise
