"""The drift baseline: what the training data and the model's answers looked like, for the monitor.

Shipped beside prepare.py, evaluate.py and monitor.py (ml/code_bundles.json), so it imports only
the standard library, numpy and pandas, and stays Python 3.8 compatible (the oldest container
interpreter it runs under). prepare.py writes the feature part from the training split
(`baseline/baseline.json`); evaluate.py adds the predicted-class distribution on the test split
and writes the whole baseline beside the evaluation report; monitor.py bins the captured rows with
the same edges (`bin_counts`) and counts the captured predictions the same way
(`prediction_distribution`). docs/monitoring.md describes the file.

Per numeric feature: quantile bin edges (deciles when the split has at least 200 rows, fewer and
wider bins below that, see `bin_count`), the exact count and share of training rows in each bin,
the missing count and share, min and max, the row count, and a seeded uniform sample of at most
`KS_SAMPLE_SIZE` values for the Kolmogorov-Smirnov statistic. Memory is bounded: the split is
streamed twice in chunks, and only a seeded sample of `EDGE_SAMPLE_ROWS` rows is held to place
the edges.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1
#: What the file is; the monitor refuses any other kind.
KIND = "drift-baseline"
BASELINE_DIR = "baseline"
BASELINE_FILE_NAME = "baseline.json"
#: Deciles: the usual binning of the population stability index (Siddiqi, "Credit Risk
#: Scorecards", 2006, ch. 8: ten or twenty bands of the development sample).
MAX_BINS = 10
#: At most one bin per this many training rows, so a small training set gets fewer, wider bins
#: whose shares are not sampling noise (90 rows: 4 bins; 200 rows or more: 10).
MIN_ROWS_PER_BIN = 20
#: Rows of the split held (a seeded uniform sample) to place the quantile edges; the shares
#: themselves are counted exactly over every row.
EDGE_SAMPLE_ROWS = 10_000
#: Values per feature kept for the Kolmogorov-Smirnov statistic (a uniform sample of the split).
KS_SAMPLE_SIZE = 1_000
#: CSV text per streamed chunk, here and in prepare.py's read of its input (prepare_read.py):
#: big enough to amortise the parser, small enough that a chunk (its frame, the float copy and
#: the CSV text written from it) stays a few MB. The parser's buffers grow with the chunk: 64Ki
#: rows of iris cost 17 MB more than 16Ki rows in prepare's read, and streaming a 1M-row split
#: in 64Ki-row chunks here cost about 9 MB more peak memory than this size
#: (tests/unit/test_prepare.py::test_peak_memory_on_a_million_rows).
CHUNK_TEXT_BYTES = 256 * 1024
#: The floor in rows, for wide rows: the parser's per-chunk overhead stays amortised.
MIN_CHUNK_ROWS = 256
#: Bytes read from the start of a split to estimate its bytes per row.
ROW_ESTIMATE_BYTES = 64 * 1024
DEFAULT_SEED = 42


class BaselineError(ValueError):
    """The baseline cannot be built or read; the message names the file and what is wrong."""


# --------------------------------------------------------------------------- binning


def bin_count(rows: int) -> int:
    """How many bins a feature with `rows` training rows gets: MAX_BINS, fewer below 200 rows."""
    return max(2, min(MAX_BINS, rows // MIN_ROWS_PER_BIN))


def quantile_edges(values: np.ndarray, bins: int) -> list[float]:
    """Interior bin edges at the `bins`-quantiles of `values`, each one a value of the data.

    Taking data values (the sorted value at position floor(q * n)) rather than interpolating
    means every bin [edge_i, edge_i+1) holds at least its own edge, and dropping edges equal to
    the minimum means the open first bin (-inf, edge_1) holds the minimum: no bin of the
    training data is empty. Ties collapse duplicate edges, so a feature may get fewer bins; a
    constant feature gets none (one bin).
    """
    ordered = np.sort(np.asarray(values, dtype="float64"))
    if ordered.size == 0:
        return []
    positions = (np.arange(1, bins) * ordered.size) // bins
    edges = np.unique(ordered[positions])
    return [float(edge) for edge in edges if edge > ordered[0]]


def bin_counts(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Rows per bin: (-inf, e1), [e1, e2), ..., [ek, +inf); NaN values are not counted."""
    present = np.asarray(values, dtype="float64")
    present = present[~np.isnan(present)]
    index = np.searchsorted(np.asarray(edges, dtype="float64"), present, side="right")
    return np.bincount(index, minlength=len(edges) + 1).astype("int64")


# --------------------------------------------------------------------------- sampling


class RowSample:
    """A seeded uniform sample of at most `size` rows of a stream: the rows with the smallest
    random keys (bottom-k sampling), so every row has the same chance whatever the chunking."""

    def __init__(self, size: int, columns: int, seed: int) -> None:
        self.size = size
        self.random = np.random.RandomState(seed)  # legacy stream: stable across numpy releases
        self.keys = np.empty(0, dtype="float64")
        self.rows = np.empty((0, columns), dtype="float64")

    def add(self, chunk: np.ndarray) -> None:
        keys = np.concatenate([self.keys, self.random.random_sample(len(chunk))])
        rows = np.concatenate([self.rows, chunk])
        if len(keys) > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            keys, rows = keys[keep], rows[keep]
        self.keys, self.rows = keys, rows

    def ordered(self) -> np.ndarray:
        """The sampled rows by ascending key: any prefix is itself a uniform sample."""
        return self.rows[np.argsort(self.keys, kind="stable")]


# --------------------------------------------------------------------------- feature baseline


def rows_per_chunk(path: Path) -> int:
    """Rows per streamed chunk of ``path``: about ``CHUNK_TEXT_BYTES`` of its CSV text."""
    try:
        with path.open("rb") as handle:
            head = handle.read(ROW_ESTIMATE_BYTES)
    except OSError as error:
        raise BaselineError(f"{path.name}: cannot read the split ({error})") from None
    lines = head.count(b"\n") or 1
    return max(MIN_CHUNK_ROWS, int(CHUNK_TEXT_BYTES * lines / max(len(head), 1)))


def split_chunks(path: Path, features: int, chunk_rows: int) -> Iterator[np.ndarray]:
    """The feature columns of a split CSV (SageMaker's convention: no header, label first)."""
    # round_trip: the values exactly as float() reads the same text (the endpoint and the
    # monitor do), so a captured value equal to the training maximum is not out of range.
    options = {"header": None, "dtype": "float64", "float_precision": "round_trip"}
    try:
        for chunk in pd.read_csv(path, chunksize=chunk_rows, **options):
            if chunk.shape[1] != features + 1:
                raise BaselineError(
                    f"{path.name}: expected {features + 1} columns (the label, then "
                    f"{features} features), found {chunk.shape[1]}"
                )
            yield chunk.iloc[:, 1:].to_numpy(dtype="float64")
    except BaselineError:
        raise
    except (OSError, ValueError) as error:  # pandas' ParserError and EmptyDataError included
        raise BaselineError(f"{path.name}: cannot read the split ({error})") from None


def _feature_entry(
    name: str, rows: int, missing: int, sample: np.ndarray, counts: np.ndarray, edges: list[float]
) -> dict[str, Any]:
    present = sample[~np.isnan(sample)]
    total = int(counts.sum())
    return {
        "name": name,
        "rows": rows,
        "missing": missing,
        "missing_share": missing / rows,
        "bins": {
            "edges": edges,
            "counts": [int(c) for c in counts],
            "shares": [int(c) / total for c in counts],
        },
        "sample": [float(v) for v in present[:KS_SAMPLE_SIZE]],
    }


def feature_baseline(
    split_csv: Path,
    features: Sequence[str],
    seed: int = DEFAULT_SEED,
    split: str = "train",
    chunk_rows: int | None = None,
) -> dict[str, Any]:
    """The feature part of the baseline from a split CSV: two streamed passes, bounded memory.

    Pass 1 counts rows and missing values, tracks min and max, and keeps a seeded sample of rows;
    the edges come from that sample. Pass 2 counts every row into its bin.
    """
    names = list(features)
    chunk_rows = chunk_rows or rows_per_chunk(split_csv)
    sample = RowSample(EDGE_SAMPLE_ROWS, len(names), seed)
    rows, missing = 0, np.zeros(len(names), dtype="int64")
    low = np.full(len(names), np.inf)
    high = np.full(len(names), -np.inf)
    for chunk in split_chunks(split_csv, len(names), chunk_rows):
        rows += len(chunk)
        missing += np.isnan(chunk).sum(axis=0)
        # fmin/fmax skip NaN (a column of NaN only leaves the running value as it was).
        low = np.fmin(low, np.fmin.reduce(chunk, axis=0))
        high = np.fmax(high, np.fmax.reduce(chunk, axis=0))
        sample.add(chunk)
    if rows == 0:
        raise BaselineError(f"{split_csv.name}: the split has no rows")
    empty = [name for name, m in zip(names, missing) if m == rows]
    if empty:
        raise BaselineError(f"{split_csv.name}: no values for feature(s) {', '.join(empty)}")
    ordered = sample.ordered()
    edges = []
    for j in range(len(names)):
        column = ordered[:, j]
        edges.append(quantile_edges(column[~np.isnan(column)], bin_count(rows - int(missing[j]))))
    counts = [np.zeros(len(e) + 1, dtype="int64") for e in edges]
    for chunk in split_chunks(split_csv, len(names), chunk_rows):
        for j in range(len(names)):
            counts[j] += bin_counts(chunk[:, j], edges[j])
    entries = []
    for j, name in enumerate(names):
        entry = _feature_entry(name, rows, int(missing[j]), ordered[:, j], counts[j], edges[j])
        entry["min"], entry["max"] = float(low[j]), float(high[j])
        entries.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "feature_columns": names,
        "source": {"split": split, "rows": rows, "seed": seed},
        "features": entries,
        "predictions": None,
    }


# --------------------------------------------------------------------------- predictions


def prediction_distribution(
    probabilities: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """Counts and shares of the predicted class (the most probable one) over the rows of
    `probabilities` (n rows, one column per class, as the endpoint answers)."""
    classes = list(class_names)
    matrix = np.asarray(probabilities, dtype="float64").reshape(-1, len(classes))
    counts = np.bincount(matrix.argmax(axis=1), minlength=len(classes))
    rows = int(matrix.shape[0])
    return {
        "class_names": classes,
        "rows": rows,
        "counts": [int(c) for c in counts],
        "shares": [int(c) / rows if rows else 0.0 for c in counts],
    }


def with_predictions(
    baseline: dict[str, Any], distribution: dict[str, Any], split: str = "test"
) -> dict[str, Any]:
    """The baseline with the model's predicted-class distribution on `split` added."""
    if distribution["rows"] == 0:
        raise BaselineError(f"no predictions on the {split} split to record")
    return {**baseline, "predictions": {**distribution, "split": split}}


# --------------------------------------------------------------------------- files


def baseline_path(directory: Path) -> Path:
    """Where prepare.py writes the baseline under its output directory."""
    return directory / BASELINE_DIR / BASELINE_FILE_NAME


def baseline_text(baseline: dict[str, Any]) -> str:
    # allow_nan=False: a NaN would make the file unreadable to strict JSON parsers.
    return json.dumps(baseline, sort_keys=True, allow_nan=False) + "\n"


def write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp_name, target)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def _check_feature(entry: Any, where: str) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise BaselineError(f"{where}: a feature entry has no name")
    bins = entry.get("bins")
    edges = bins.get("edges") if isinstance(bins, dict) else None
    counts = bins.get("counts") if isinstance(bins, dict) else None
    if not isinstance(edges, list) or not isinstance(counts, list):
        raise BaselineError(f"{where}: feature '{entry['name']}' has no bins")
    if len(counts) != len(edges) + 1 or sorted(set(edges)) != edges:
        raise BaselineError(
            f"{where}: feature '{entry['name']}' needs ascending edges and one count more"
        )
    for key in ("min", "max"):
        if not isinstance(entry.get(key), (int, float)) or not math.isfinite(entry[key]):
            raise BaselineError(f"{where}: feature '{entry['name']}' has no finite {key}")
    if not isinstance(entry.get("sample"), list):
        raise BaselineError(f"{where}: feature '{entry['name']}' has no sample")


def check_baseline(baseline: Any, where: str) -> dict[str, Any]:
    """The baseline if it has this module's shape and schema version, else BaselineError."""
    if not isinstance(baseline, dict) or baseline.get("kind") != KIND:
        raise BaselineError(f'{where}: not a drift baseline (no "kind": "{KIND}")')
    if baseline.get("schema_version") != SCHEMA_VERSION:
        raise BaselineError(
            f"{where}: schema_version {baseline.get('schema_version')!r}, this monitor reads "
            f"{SCHEMA_VERSION}: rebuild the baseline by retraining with the current pipeline"
        )
    features = baseline.get("features")
    if not isinstance(features, list) or not features:
        raise BaselineError(f"{where}: no features")
    for entry in features:
        _check_feature(entry, where)
    predictions = baseline.get("predictions")
    if predictions is not None and (
        not isinstance(predictions, dict)
        or not isinstance(predictions.get("counts"), list)
        or len(predictions["counts"]) != len(predictions.get("class_names") or [])
    ):
        raise BaselineError(f"{where}: predictions need one count per class name")
    return baseline


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and check a baseline file; a missing or malformed one is a BaselineError."""
    if not path.is_file():
        raise BaselineError(
            f"no baseline file at {path} (the training pipeline writes it: prepare.py's baseline "
            "output, completed by evaluate.py beside evaluation.json)"
        )
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BaselineError(f"{path.name}: unreadable JSON ({error})") from None
    return check_baseline(baseline, path.name)
