"""Validate raw iris CSVs and write a stratified, seeded train/validation/test split.

SageMaker Processing script (SKLearn 1.2-1 container), also run locally. It is shipped alone, so it
imports only the standard library, numpy and pandas, and stays Python 3.8 compatible (the
container's interpreter). Input: every `*.csv` in `--input-dir` (header
`SepalLength,SepalWidth,PetalLength,PetalWidth,Species`; extra columns are ignored with a warning,
so an export with an `Id` column still works). Output, in SageMaker's CSV convention (no header,
label first as the class index 0..2, then the four features):

    <output-dir>/train/train.csv  <output-dir>/validation/validation.csv  <output-dir>/test/test.csv

A validation problem exits with code 2, prints `ERROR: <message>` and writes the message to
the processing container's message file (`/opt/ml/output/message`, which SageMaker returns as the
job's `ExitMessage`); outputs are written atomically, so a failed run leaves none. A data
problem's message starts with `DataValidationError: ` (`DATA_ERROR_MARKER`), the one fact the
state machine matches to name the failure; any other failure writes `unexpected error: ...`.
Common mistakes are named: gzip/zip content, a non-UTF-8 encoding (with the line and column of
the first bad byte), a `;` or tab delimiter, a header-only file.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FEATURE_COLUMNS = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
LABEL_COLUMN = "Species"
REQUIRED_COLUMNS = [*FEATURE_COLUMNS, LABEL_COLUMN]
CLASS_NAMES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]

DEFAULT_INPUT_DIR = "/opt/ml/processing/input"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing"
# A processing container's message file: SageMaker returns its first 1 KB as the job's
# ExitMessage (https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html).
FAILURE_FILE_ENV = "SM_FAILURE_FILE"
DEFAULT_FAILURE_FILE = "/opt/ml/output/message"
VALIDATION_ERROR_EXIT_CODE = 2
#: Every data error's message starts with this; the state machine (statemachines/
#: training_pipeline.py, DATA_ERROR_MARKER) routes on it to the `DataValidationError` failure.
DATA_ERROR_MARKER = "DataValidationError: "
EXPECTED_FORMAT = "an uncompressed UTF-8 CSV file with comma-separated columns " + ",".join(
    REQUIRED_COLUMNS
)
# Leading bytes of compressed content (gzip: RFC 1952 section 2.3.1; zip: PKWARE APPNOTE 4.3.7
# local file header, 4.3.16 end of central directory record of an empty archive).
COMPRESSED_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed", "decompress it (gunzip)"),
    (b"PK\x03\x04", "a zip archive", "extract the CSV from the archive"),
    (b"PK\x05\x06", "an (empty) zip archive", "extract the CSV from the archive"),
)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Delimiters people use by mistake (spreadsheet exports in locales with a decimal comma use ';').
WRONG_DELIMITERS = {";": "';'", "\t": "a tab"}

SPLIT_NAMES = ("train", "validation", "test")

logger = logging.getLogger("prepare")


class DataValidationError(ValueError):
    """The input data breaks the contract; the message names the file, line and column."""


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


# --------------------------------------------------------------------------- reading + checks


def list_csv_files(input_dir: Path) -> list[Path]:
    """All `*.csv` files directly in `input_dir`, sorted by name so the row order is stable."""
    if not input_dir.is_dir():
        raise DataValidationError(f"input directory {input_dir} does not exist")
    files = sorted(p for p in input_dir.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise DataValidationError(f"no .csv file found in {input_dir}")
    return files


def _parse_number(text: str, where: str, column: str) -> float:
    if text == "":
        raise DataValidationError(f"{where}, column '{column}': missing value")
    try:
        value = float(text)
    except ValueError:
        raise DataValidationError(
            f"{where}, column '{column}': value '{text}' is not a number (expected a decimal "
            "number such as 5.1)"
        ) from None
    if not math.isfinite(value):
        # 'nan' and 'inf' parse as floats but are missing or unusable measurements.
        raise DataValidationError(f"{where}, column '{column}': missing or non-finite value")
    return value


def _validate_numbered_rows(numbered: list[tuple[int, list[str]]], source: str) -> pd.DataFrame:
    if not numbered:
        raise DataValidationError(f"{source}: file is empty (no header row)")
    header_line, header_cells = numbered[0]
    delimiter = wrong_delimiter(header_cells)
    if delimiter:
        raise DataValidationError(
            f"{source} line {header_line}: the header is separated by {delimiter}, not by "
            f"commas; expected {EXPECTED_FORMAT}"
        )
    header = [cell.strip() for cell in header_cells]
    duplicates = sorted({name for name in header if header.count(name) > 1 and name})
    if duplicates:
        raise DataValidationError(
            f"{source} line {header_line}: duplicate column(s) {', '.join(duplicates)}"
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise DataValidationError(
            f"{source} line {header_line}: missing required column(s) {', '.join(missing)} "
            f"(header must contain {','.join(REQUIRED_COLUMNS)})"
        )
    extra = [name for name in header if name not in REQUIRED_COLUMNS]
    if extra:
        logger.warning("%s: ignoring extra column(s) %s", source, ", ".join(extra))
    if len(numbered) == 1:
        raise DataValidationError(
            f"{source}: header only, no data rows (expected at least one data row after the "
            f"header on line {header_line})"
        )

    positions = {name: header.index(name) for name in REQUIRED_COLUMNS}
    features: list[list[float]] = []
    labels: list[int] = []
    for data_row, (line, cells) in enumerate(numbered[1:], start=1):
        where = f"{source} line {line} (data row {data_row})"
        if len(cells) != len(header):
            delimiter = wrong_delimiter(cells)
            if delimiter:
                raise DataValidationError(
                    f"{where}: the row is separated by {delimiter}, not by commas; expected "
                    f"{len(header)} comma-separated fields like the header"
                )
            raise DataValidationError(
                f"{where}: expected {len(header)} fields like the header, found {len(cells)}"
            )
        features.append(
            [_parse_number(cells[positions[name]].strip(), where, name) for name in FEATURE_COLUMNS]
        )
        label = cells[positions[LABEL_COLUMN]].strip()
        if label == "":
            raise DataValidationError(f"{where}, column '{LABEL_COLUMN}': missing value")
        if label not in CLASS_NAMES:
            raise DataValidationError(
                f"{where}, column '{LABEL_COLUMN}': unknown label '{label}' "
                f"(expected one of {', '.join(CLASS_NAMES)})"
            )
        labels.append(CLASS_NAMES.index(label))

    frame = pd.DataFrame(features, columns=FEATURE_COLUMNS, dtype="float64")
    frame.insert(0, "label", np.asarray(labels, dtype="int64"))
    return frame


def _line_and_column(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and byte column of ``offset`` in ``raw``."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode_text(raw: bytes, source: str) -> str:
    """The file's text, or a DataValidationError naming compressed or non-UTF-8 content."""
    for magic, what, fix in COMPRESSED_MAGIC:
        if raw.startswith(magic):
            raise DataValidationError(
                f"{source}: the file is {what} (starts with bytes {magic.hex(' ')}), not CSV "
                f"text; expected {EXPECTED_FORMAT}: {fix} before uploading"
            )
    if raw.startswith(UTF16_BOMS):
        raise DataValidationError(
            f"{source}: the file is UTF-16 text (byte-order mark {raw[:2].hex(' ')}); expected "
            f"{EXPECTED_FORMAT}: save it as UTF-8"
        )
    try:
        # utf-8-sig drops the byte-order mark that spreadsheet exports put before the header.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = _line_and_column(raw, error.start)
        raise DataValidationError(
            f"{source} line {line}, byte column {column}: byte 0x{raw[error.start]:02x} is not "
            f"valid UTF-8 ({error.reason}; the file is probably Latin-1 or Windows-1252); "
            f"expected {EXPECTED_FORMAT}: save it as UTF-8"
        ) from None


def wrong_delimiter(cells: list[str]) -> str | None:
    """The name of the delimiter a one-field row was separated with, if it is a known mistake."""
    if len(cells) != 1:
        return None
    for delimiter, name in WRONG_DELIMITERS.items():
        if delimiter in cells[0]:
            return name
    return None


def read_csv_file(path: Path) -> pd.DataFrame:
    """Read and validate one raw CSV file; errors carry the file name and 1-based line number."""
    text = decode_text(path.read_bytes(), path.name)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        numbered = []
        for row in reader:
            if not row or all(cell.strip() == "" for cell in row):
                continue  # blank lines (often a trailing one) carry no data
            numbered.append((reader.line_num, row))
    except csv.Error as error:
        raise DataValidationError(f"{path.name}: malformed CSV ({error})") from None
    return _validate_numbered_rows(numbered, path.name)


def validate_frame(frame: pd.DataFrame, ratios: SplitRatios | None = None) -> pd.DataFrame:
    """Check a combined, typed frame (label + features) is big enough to split per class."""
    ratios = ratios or SplitRatios()
    ratios.check()
    expected = ["label", *FEATURE_COLUMNS]
    if list(frame.columns) != expected:
        raise DataValidationError(f"frame columns {list(frame.columns)} != {expected}")
    if frame.empty:
        raise DataValidationError("no data rows")
    if frame.isna().any().any():
        column = frame.columns[frame.isna().any()].tolist()[0]
        row = int(np.flatnonzero(frame[column].isna().to_numpy())[0]) + 1
        raise DataValidationError(f"data row {row}, column '{column}': missing value")
    # Every split must hold every class, so the smallest share needs one row per class.
    minimum = min_rows_per_class(ratios)
    counts = frame["label"].value_counts()
    for index, name in enumerate(CLASS_NAMES):
        count = int(counts.get(index, 0))
        if count < minimum:
            raise DataValidationError(
                f"column '{LABEL_COLUMN}': class '{name}' has {count} row(s), at least {minimum} "
                "are needed to stratify train/validation/test"
            )
    return frame


def min_rows_per_class(ratios: SplitRatios) -> int:
    smallest = min(ratios.train, ratios.validation, ratios.test)
    return max(3, math.ceil(1.0 / smallest - 1e-9))


def load_dataset(input_dir: Path, ratios: SplitRatios | None = None) -> pd.DataFrame:
    """Read every CSV in `input_dir` (sorted by name), validate and concatenate them."""
    frames = [read_csv_file(path) for path in list_csv_files(input_dir)]
    combined = pd.concat(frames, ignore_index=True)
    return validate_frame(combined, ratios)


# --------------------------------------------------------------------------- split


def _allocate(total: int, counts: Sequence[int]) -> list[int]:
    """Split `total` across classes in proportion to `counts` (largest remainder, stable)."""
    grand = sum(counts)
    quotas = [total * count / grand for count in counts]
    shares = [math.floor(quota) for quota in quotas]
    order = sorted(range(len(counts)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for index in order[: total - sum(shares)]:
        shares[index] += 1
    return shares


def split_dataset(
    frame: pd.DataFrame, ratios: SplitRatios | None = None, seed: int = 42
) -> dict[str, pd.DataFrame]:
    """Stratified, seeded split into train/validation/test.

    Uses numpy's legacy `RandomState`, whose stream numpy keeps stable across releases, so the
    container (older numpy) and a laptop produce the same split for the same seed.
    """
    ratios = ratios or SplitRatios()
    ratios.check()
    total = len(frame)
    n_test = round(total * ratios.test)
    n_validation = round(total * ratios.validation)
    labels = frame["label"].to_numpy()
    classes = sorted(int(c) for c in np.unique(labels))
    counts = [int((labels == c).sum()) for c in classes]
    test_shares = _allocate(n_test, counts)
    validation_shares = _allocate(n_validation, counts)

    rng = np.random.RandomState(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLIT_NAMES}
    # Indexing rather than zip(strict=...): this script must also run on the container's Python 3.8.
    for position, cls in enumerate(classes):
        count, n_te, n_va = counts[position], test_shares[position], validation_shares[position]
        if n_te < 1 or n_va < 1 or count - n_te - n_va < 1:
            raise DataValidationError(
                f"column '{LABEL_COLUMN}': class '{CLASS_NAMES[cls]}' has {count} row(s), too few "
                "to place at least one in each of train/validation/test"
            )
        indices = rng.permutation(np.flatnonzero(labels == cls))
        parts["test"].append(indices[:n_te])
        parts["validation"].append(indices[n_te : n_te + n_va])
        parts["train"].append(indices[n_te + n_va :])
    # Shuffle within each split so rows are not grouped by class.
    return {
        name: frame.iloc[rng.permutation(np.concatenate(parts[name]))].reset_index(drop=True)
        for name in SPLIT_NAMES
    }


# --------------------------------------------------------------------------- output


def to_csv_text(frame: pd.DataFrame) -> str:
    """SageMaker's CSV convention: no header, integer label first, shortest exact float text."""
    lines = [
        ",".join([str(int(row[0])), *(repr(float(value)) for value in row[1:])])
        for row in frame[["label", *FEATURE_COLUMNS]].itertuples(index=False, name=None)
    ]
    return "\n".join(lines) + "\n"


def write_files_atomically(contents: dict[Path, str]) -> None:
    """Write every file to a temp sibling first, then rename them all.

    On failure the temp files and any target already renamed in this call are removed: a
    half-written split (say train without test) is worse for the next step than none.
    """
    staged: list[tuple[Path, Path]] = []
    renamed: list[Path] = []
    try:
        for target, text in contents.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
            temp = Path(temp_name)
            staged.append((temp, target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        for temp, target in staged:
            os.replace(temp, target)
            renamed.append(target)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        for target in renamed:
            target.unlink(missing_ok=True)
        raise


def split_paths(output_dir: Path) -> dict[str, Path]:
    return {name: output_dir / name / f"{name}.csv" for name in SPLIT_NAMES}


def write_splits(splits: dict[str, pd.DataFrame], output_dir: Path) -> dict[str, Path]:
    paths = split_paths(output_dir)
    write_files_atomically({paths[name]: to_csv_text(splits[name]) for name in SPLIT_NAMES})
    return paths


def run(input_dir: Path, output_dir: Path, ratios: SplitRatios, seed: int) -> dict[str, int]:
    """Validate, split and write; return the row count of each split."""
    frame = load_dataset(input_dir, ratios)
    splits = split_dataset(frame, ratios, seed)
    paths = write_splits(splits, output_dir)
    for name in SPLIT_NAMES:
        logger.info("wrote %s (%d rows)", paths[name], len(splits[name]))
    return {name: len(splits[name]) for name in SPLIT_NAMES}


# --------------------------------------------------------------------------- entry point


def data_error_message(error: DataValidationError) -> str:
    """The script's message for a data error: the marker, then file, line, column and fix."""
    return f"{DATA_ERROR_MARKER}{error}"


def write_failure_reason(message: str) -> None:
    """Record the failure for SageMaker: `$SM_FAILURE_FILE`, else /opt/ml/output/message."""
    configured = os.environ.get(FAILURE_FILE_ENV)
    path = Path(configured) if configured else Path(DEFAULT_FAILURE_FILE)
    if not configured and not path.parent.is_dir():
        return  # not inside a SageMaker container
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message, encoding="utf-8")
    except OSError as error:
        print(f"could not write failure reason to {path}: {error}", file=sys.stderr)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Validate and split the iris data.")
    parser.add_argument("--input-dir", type=Path, default=Path(DEFAULT_INPUT_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument("--train-ratio", type=float, default=0.6)
    parser.add_argument("--validation-ratio", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        counts = run(
            args.input_dir,
            args.output_dir,
            SplitRatios(args.train_ratio, args.validation_ratio),
            args.seed,
        )
    except DataValidationError as error:
        message = data_error_message(error)
        print(f"ERROR: {message}", file=sys.stderr)
        write_failure_reason(message)
        return VALIDATION_ERROR_EXIT_CODE
    except Exception as error:
        write_failure_reason(f"unexpected error: {type(error).__name__}: {error}")
        raise
    logger.info("split sizes: %s", counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
