"""The full, typed read of prepare.py's input: pandas chunks, checked as they come.

Shipped beside prepare.py (ml/code_bundles.json): numpy, pandas and the standard library only,
Python 3.9 compatible. Features are read as float64 and the label as categorical, never as
Python rows, so memory is bounded by the chunk size plus a few bytes per row. A chunk that fails
the fast check is handed to the row-by-row scan (prepare_csv.py), which names the first bad row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

# The chunk size (CSV text per pandas chunk, and its floor in rows) is baseline.py's, which
# streams the split this module's chunks are written to.
try:
    from .baseline import CHUNK_TEXT_BYTES, MIN_CHUNK_ROWS
    from .prepare_classes import LabelTable
    from .prepare_csv import CsvHeader, locate_problem
    from .prepare_errors import DataValidationError
except ImportError:
    from baseline import CHUNK_TEXT_BYTES, MIN_CHUNK_ROWS  # type: ignore[no-redef]
    from prepare_classes import LabelTable  # type: ignore[no-redef]
    from prepare_csv import CsvHeader, locate_problem  # type: ignore[no-redef]
    from prepare_errors import DataValidationError  # type: ignore[no-redef]


def rows_per_chunk(bytes_per_row: float) -> int:
    """Rows per pandas chunk for rows of ``bytes_per_row`` bytes of CSV text on average."""
    return max(MIN_CHUNK_ROWS, int(CHUNK_TEXT_BYTES / max(bytes_per_row, 1.0)))


def read_options(header: CsvHeader, features: Sequence[str], chunk_rows: int) -> dict[str, Any]:
    """``pandas.read_csv`` options for a typed read of ``header``'s file in ``chunk_rows`` rows."""
    dtypes: dict[str, Any] = {name: "category" for name in header.columns}
    dtypes.update({name: "float64" for name in features})
    return {
        "header": 0,
        "names": list(header.columns),
        "dtype": dtypes,
        # Labels and text columns are kept verbatim ("NA" is a label, not a missing value);
        # a feature that is not a plain number fails the typed read and is located row by row.
        "keep_default_na": False,
        "encoding": "utf-8-sig",
        "chunksize": chunk_rows,
    }


def scan_file(
    header: CsvHeader, features: Sequence[str], label: str, table: LabelTable, chunk_rows: int
) -> np.ndarray:
    """Pass 1: validate every chunk (typed read) and return each row's provisional label code."""
    codes: list[np.ndarray] = []
    others = [name for name in header.columns if name != label and name not in features]
    try:
        reader = pd.read_csv(header.path, **read_options(header, features, chunk_rows))
        for chunk in reader:
            values = chunk[list(features)].to_numpy(dtype="float64")
            if not np.isfinite(values).all():
                locate_problem(header, features, label, "missing or non-finite value")
            labels = chunk[label]
            raw = labels.cat.codes.to_numpy()
            if (raw < 0).any() or (others and chunk[others].isna().to_numpy().any()):
                locate_problem(header, features, label, "a row has fewer fields than the header")
            # int16 holds every code: MAX_DISTINCT_LABELS < 2**15.
            lookup = np.empty(max(len(labels.cat.categories), 1), dtype="int16")
            for position, text in enumerate(labels.cat.categories):
                name = str(text).strip()
                if name == "":
                    locate_problem(header, features, label, "missing label")
                lookup[position] = table.code_of(name, label, header.source)
            chunk_codes = lookup[raw]
            counts = np.bincount(chunk_codes, minlength=len(table.counts))
            for code in np.flatnonzero(counts):
                table.counts[code] += int(counts[code])
            codes.append(chunk_codes)
    except (ValueError, pd.errors.ParserError) as error:
        if isinstance(error, DataValidationError):
            raise
        locate_problem(header, features, label, str(error).strip())
    if not codes or sum(len(c) for c in codes) == 0:
        raise DataValidationError(
            f"{header.source}: header only, no data rows (expected at least one data row after "
            f"the header on line {header.line})"
        )
    return np.concatenate(codes)
