"""Validate raw tabular CSVs, derive the dataset contract and write a stratified, seeded split.

SageMaker Processing script (SKLearn 1.2-1 container), also run locally. It is shipped with
baseline.py and the `contracts` modules it imports beside it (ml/code_bundles.json), so it imports
only those, the standard library, numpy and pandas. Input: every `*.csv` in `--input-dir`, each
with a header row. The user names the label column (`--label-column`, the only required
setting); the feature columns default to every other column and the class order to the sorted
distinct labels. When a model serves (`--champion-dir` holds its model.tar.gz) and the features
are exactly its features in another order, they take its order, so the endpoint's API stays the
same (contracts/dataset.py `serving_order`). Output, in SageMaker's CSV convention (no header,
label first as the class index 0..num_classes-1, then the features in contract order), plus the
dataset contract every later step reads (contracts/dataset.py) and the drift baseline of the
training split (baseline.py):

    <output-dir>/train/train.csv  <output-dir>/validation/validation.csv  <output-dir>/test/test.csv
    <output-dir>/contract/contract.json  <output-dir>/baseline/baseline.json

Scale: the data is read twice in typed pandas chunks (features float64, label categorical), never
as Python rows: the first pass validates and collects the labels, the second streams each chunk
into its split. Memory is bounded by the chunk size plus a few bytes per row; an input too big for
the instance is refused before reading (`check_memory`). Rows keep their file order within each
split. A fast check that fails is followed by a row-by-row scan that names the first bad row.

A validation problem exits with code 2, prints `ERROR: <message>` and writes the message to
the processing container's message file (contracts/failures.py: `/opt/ml/output/message`, which
SageMaker returns as the job's `ExitMessage`); outputs are written atomically, so a failed run
leaves none. A data problem's message starts with the data-error marker
(`contracts.failures.DATA_ERROR_MARKER`), the one fact the state machine matches to name the
failure; any other failure writes `unexpected error: ...`.
Common mistakes are named: gzip/zip content, a non-UTF-8 encoding (with the line and column of
the first bad byte), a `;` or tab delimiter, a header-only file.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NoReturn, TextIO

import numpy as np
import pandas as pd

# The drift baseline is shipped beside this script (ml/code_bundles.json); in the repository the
# relative import finds ml/baseline.py, in the container the plain one finds the sibling file.
try:
    from . import baseline
except ImportError:
    import baseline  # type: ignore[no-redef]
try:
    from contracts import dataset, failures
except ImportError:  # run as a file from a checkout: the package is at the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from contracts import dataset, failures

DEFAULT_INPUT_DIR = "/opt/ml/processing/input"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing"
#: Where the serving model's model.tar.gz is, when one serves (the pipeline's ChampionModelUri).
DEFAULT_CHAMPION_DIR = "/opt/ml/processing/champion"
EXPECTED_FORMAT = (
    "an uncompressed UTF-8 CSV file with comma-separated columns and a header row naming them"
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
CONTRACT_DIR = "contract"

# CSV text per pandas chunk: big enough to amortise the parser, small enough that a chunk (its
# frame, the float copy and the CSV text written from it) stays a few MB (the parser's own
# buffers grow with the chunk: 64Ki rows of iris cost 17 MB more than 16Ki rows).
CHUNK_TEXT_BYTES = 256 * 1024
MIN_CHUNK_ROWS = 256
# Bytes read at a time by the UTF-8 check.
UTF8_BLOCK_BYTES = 1 << 18
# Data rows read row by row up front to judge column types and the bytes per row.
SAMPLE_ROWS = 1000
# A sampled feature column with at least this share of non-numbers is a text column, not a typo.
NON_NUMERIC_SHARE = 0.5
# Labels that look like a regression target: numeric and more distinct values than this (when
# any is fractional), or than max(this, REGRESSION_ROW_SHARE of the rows).
REGRESSION_DISTINCT = 20
REGRESSION_ROW_SHARE = 0.05
# Distinct labels kept while reading; beyond this the column is no class label (and the label
# table would grow with the data).
MAX_DISTINCT_LABELS = 10000
# Rows a refusal lists by file and line before it counts the rest.
LISTED_ROWS = 5

# Memory model of this script, for refusing inputs that cannot fit: the interpreter with numpy
# and pandas (68 MB RSS), the chunk working set, and per data row the label code (int16), the
# split assignment (int8) and the split's index arrays (2 x int64). Measured: 85 MB peak for a
# 1M-row, 34 MB iris-like file (tests/unit/test_prepare.py::
# test_peak_memory_is_bounded_on_a_million_rows); the estimate below allows about twice that.
BASE_MEMORY_BYTES = 160 * 2**20
PER_ROW_MEMORY_BYTES = 40
# glibc's mallopt() parameter number and the fixed threshold we set (see fix_mmap_threshold).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024
#: Overrides the detected memory limit (bytes); lets tests and operators model a smaller instance.
MEMORY_LIMIT_ENV = "PREPARE_MEMORY_LIMIT_BYTES"
CGROUP_V2_MEMORY_MAX = "/sys/fs/cgroup/memory.max"
CGROUP_V1_MEMORY_LIMIT = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
PROC_MEMINFO = "/proc/meminfo"
# ml.m5 processing instances and their memory (https://aws.amazon.com/sagemaker/pricing/,
# "Processing" instance table), smallest first: the suggestion when an input does not fit.
PROCESSING_INSTANCES = (
    ("ml.m5.large", 8),
    ("ml.m5.xlarge", 16),
    ("ml.m5.2xlarge", 32),
    ("ml.m5.4xlarge", 64),
    ("ml.m5.12xlarge", 192),
    ("ml.m5.24xlarge", 384),
)

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


@dataclass(frozen=True)
class DatasetSpec:
    """What the user configured: the label column, and optionally features and class order."""

    label_column: str
    feature_columns: list[str] | None = None
    class_order: list[str] | None = None


@dataclass(frozen=True)
class CsvHeader:
    path: Path
    columns: list[str]
    line: int  # 1-based line of the header row

    @property
    def source(self) -> str:
        return self.path.name


@dataclass
class LabelTable:
    """Distinct label texts met while reading, each with a provisional code (first-seen order)."""

    codes: dict[str, int] = field(default_factory=dict)
    counts: list[int] = field(default_factory=list)

    def code_of(self, name: str, column: str, source: str) -> int:
        code = self.codes.get(name)
        if code is None:
            if len(self.codes) >= MAX_DISTINCT_LABELS:
                raise too_many_labels(source, column, list(self.codes))
            code = self.codes[name] = len(self.codes)
            self.counts.append(0)
        return code


# --------------------------------------------------------------------------- small parsers


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


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def wrong_delimiter(cells: list[str]) -> str | None:
    """The name of the delimiter a one-field row was separated with, if it is a known mistake."""
    if len(cells) != 1:
        return None
    for delimiter, name in WRONG_DELIMITERS.items():
        if delimiter in cells[0]:
            return name
    return None


# --------------------------------------------------------------------------- files and headers


def files_text(sources: Sequence[str]) -> str:
    """The input's file names for a message about all of them: ``a.csv`` or ``a.csv, b.csv``."""
    return ", ".join(sources)


def list_csv_files(input_dir: Path) -> list[Path]:
    """All `*.csv` files directly in `input_dir`, sorted by name so the row order is stable."""
    if not input_dir.is_dir():
        raise DataValidationError(f"input directory {input_dir} does not exist")
    files = sorted(p for p in input_dir.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        raise DataValidationError(f"no .csv file found in {input_dir}")
    return files


def check_leading_bytes(raw: bytes, source: str) -> None:
    """Refuse compressed or UTF-16 content, named by its leading bytes."""
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


def check_utf8(path: Path) -> None:
    """Stream the file through a UTF-8 check; the error names the line and byte column."""
    source = path.name
    with path.open("rb") as handle:
        check_leading_bytes(handle.read(4), source)
        handle.seek(0)
        carry = b""
        consumed = 0  # absolute offset of data[0]
        lines_before = 0
        last_newline = -1  # absolute offset of the last newline before data
        while True:
            block = handle.read(UTF8_BLOCK_BYTES)
            data = carry + block
            if not data:
                return
            if block and data.isascii():
                carry = b""
            else:
                try:
                    data.decode("utf-8")
                    carry = b""
                except UnicodeDecodeError as error:
                    # A multi-byte character cut by the block boundary: finish it next block.
                    if block and error.end == len(data) and len(data) - error.start < 4:
                        carry = data[error.start :]
                        data = data[: error.start]
                    else:
                        at = error.start
                        line = lines_before + data.count(b"\n", 0, at) + 1
                        newline = data.rfind(b"\n", 0, at)
                        line_start = consumed + newline + 1 if newline >= 0 else last_newline + 1
                        column = consumed + at - line_start + 1
                        raise DataValidationError(
                            f"{source} line {line}, byte column {column}: byte 0x{data[at]:02x} "
                            f"is not valid UTF-8 ({error.reason}; the file is probably Latin-1 or "
                            f"Windows-1252); expected {EXPECTED_FORMAT}: save it as UTF-8"
                        ) from None
            lines_before += data.count(b"\n")
            newline = data.rfind(b"\n")
            if newline >= 0:
                last_newline = consumed + newline
            consumed += len(data)
            if not block:
                return


def _open_text(path: Path) -> TextIO:
    # utf-8-sig drops the byte-order mark that spreadsheet exports put before the header.
    return path.open("r", encoding="utf-8-sig", newline="")


def _rows(handle: TextIO, source: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank CSV row."""
    reader = csv.reader(handle)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                # Blank lines (often a trailing one) carry no data, and pandas skips them too;
                # a line of bare commas is a row of missing values.
                continue
            yield reader.line_num, row
    except csv.Error as error:
        # line_num is the last line the reader consumed: the one the bad row ends on.
        raise DataValidationError(
            f"{source} line {reader.line_num}: malformed CSV ({error})"
        ) from None


def read_header(path: Path) -> CsvHeader:
    """The header row, refusing empty files, wrong delimiters and duplicate column names."""
    source = path.name
    with _open_text(path) as handle:
        first = next(_rows(handle, source), None)
    if first is None:
        raise DataValidationError(f"{source}: file is empty (no header row)")
    line, cells = first
    delimiter = wrong_delimiter(cells)
    if delimiter:
        raise DataValidationError(
            f"{source} line {line}: the header is separated by {delimiter}, not by commas; "
            f"expected {EXPECTED_FORMAT}"
        )
    columns = [cell.strip() for cell in cells]
    # Checked on the raw header: pandas would silently rename a second 'x' to 'x.1'.
    duplicates = sorted({name for name in columns if columns.count(name) > 1 and name})
    if duplicates:
        raise DataValidationError(
            f"{source} line {line}: duplicate column(s) {', '.join(duplicates)}; every column "
            "needs a unique name: rename or remove the repeated column(s)"
        )
    empty = [str(i + 1) for i, name in enumerate(columns) if not name]
    if empty:
        raise DataValidationError(
            f"{source} line {line}: column(s) {', '.join(empty)} of the header have no name; "
            "name every column"
        )
    return CsvHeader(path, columns, line)


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


# --------------------------------------------------------------------------- sample checks


@dataclass(frozen=True)
class Sample:
    rows: int
    text_bytes: int
    #: Feature columns that hold text, each with its first non-number and that value's line.
    non_numeric: list[tuple[str, str, int]]


def _parses_as_float(text: str) -> bool:
    try:
        float(text)  # 'nan' and 'inf' count: a typed column, with a bad value found later
    except ValueError:
        return False
    return True


def sample_file(header: CsvHeader, features: Sequence[str]) -> Sample:
    """Read the first data rows row by row: text columns among the features, bytes per row."""
    positions = {name: header.columns.index(name) for name in features}
    numbers = {name: 0 for name in features}
    filled = {name: 0 for name in features}
    first_text: dict[str, tuple[str, int]] = {}
    rows = text_bytes = 0
    with _open_text(header.path) as handle:
        stream = _rows(handle, header.source)
        next(stream, None)  # the header
        for line, cells in stream:
            rows += 1
            text_bytes += sum(len(cell) for cell in cells) + len(cells)
            for name, position in positions.items():
                cell = cells[position].strip() if position < len(cells) else ""
                if cell:
                    filled[name] += 1
                    if _parses_as_float(cell):
                        numbers[name] += 1
                    elif name not in first_text:
                        first_text[name] = (cell, line)
            if rows >= SAMPLE_ROWS:
                break
    non_numeric = [
        (name, *first_text[name])
        for name in features
        if filled[name] and (filled[name] - numbers[name]) / filled[name] >= NON_NUMERIC_SHARE
    ]
    return Sample(rows, text_bytes, non_numeric)


def check_non_numeric(header: CsvHeader, sample: Sample, label: str) -> None:
    if sample.non_numeric:
        listed = ", ".join(
            f"'{name}' (e.g. '{value}' on line {line})" for name, value, line in sample.non_numeric
        )
        raise DataValidationError(
            f"{header.source}: feature column(s) {listed} are not numeric (XGBoost needs numbers); "
            "encode them as numbers first (one-hot or ordinal encoding), or leave them out by "
            f"setting feature_columns to the numeric columns (the label column '{label}' may hold "
            "text)"
        )


# --------------------------------------------------------------------------- memory


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _mem_available(path: str) -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_limit(
    environ: dict[str, str] | None = None,
    cgroup_v2: str = CGROUP_V2_MEMORY_MAX,
    cgroup_v1: str = CGROUP_V1_MEMORY_LIMIT,
    meminfo: str = PROC_MEMINFO,
) -> tuple[int | None, str]:
    """(bytes this process may use, where that figure comes from), or (None, "") if unknown.

    The smallest of the container's cgroup limit (v2 memory.max, v1 memory.limit_in_bytes) and
    the host's MemAvailable; `$PREPARE_MEMORY_LIMIT_BYTES` replaces the detection.
    """
    environ = dict(os.environ) if environ is None else environ
    configured = environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        if not configured.isdigit():
            raise DataValidationError(
                f"{MEMORY_LIMIT_ENV} must be a byte count, got {configured!r}"
            )
        return int(configured), MEMORY_LIMIT_ENV
    candidates = [
        (_read_int(cgroup_v2), f"cgroup {cgroup_v2}"),
        (_read_int(cgroup_v1), f"cgroup {cgroup_v1}"),
        (_mem_available(meminfo), f"MemAvailable in {meminfo}"),
    ]
    known = [(value, source) for value, source in candidates if value]
    if not known:
        return None, ""
    return min(known)


def fix_mmap_threshold() -> bool:
    """Have glibc serve every allocation over 128 KiB with mmap, returned to the OS on free.

    glibc raises its mmap threshold each time a large mmapped block is freed (the dynamic
    threshold of man 3 mallopt, M_MMAP_THRESHOLD), so after the first chunks pandas' per-chunk
    buffers land in the heap instead, which fragments and only grows: 10 MB more peak RSS on a
    1M-row file. Setting the threshold turns the dynamic adjustment off. Other C libraries
    (no mallopt) are left alone.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def memory_needed(rows: int) -> int:
    return BASE_MEMORY_BYTES + rows * PER_ROW_MEMORY_BYTES


def suggest_instance(needed: int) -> str:
    for name, gib in PROCESSING_INSTANCES:
        # Leave a quarter for the OS and the container's own processes.
        if needed <= gib * 2**30 * 0.75:
            return f"{name} ({gib} GiB)"
    return ""


def check_memory(
    total_bytes: int,
    bytes_per_row: float,
    limit: tuple[int | None, str],
    sources: Sequence[str] = (),
) -> None:
    """Refuse, before reading, an input whose estimated peak memory exceeds the limit; the
    message names the input's files (``sources``)."""
    available, source = limit
    rows = int(total_bytes / max(bytes_per_row, 1.0)) + 1
    needed = memory_needed(rows)
    if available is None or needed <= available:
        return
    mib = 2**20
    bigger = suggest_instance(needed)
    advice = (
        f"raise the pipeline parameter ProcessingInstanceType to an instance with more memory, "
        f"e.g. {bigger}"
        if bigger
        else "no single processing instance holds it: split the data into several runs"
    )
    files = f" in {files_text(sources)}" if sources else ""
    raise DataValidationError(
        f"input too large for this instance: {total_bytes / mib:.0f} MiB of CSV{files} "
        f"(about {rows} rows) needs about {needed / mib:.0f} MiB of memory to prepare, but only "
        f"{available / mib:.0f} MiB is available ({source}); {advice}"
    )


# --------------------------------------------------------------------------- reading


def _read_options(header: CsvHeader, features: Sequence[str], chunk_rows: int) -> dict[str, Any]:
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


def locate_problem(header: CsvHeader, features: Sequence[str], label: str, cause: str) -> None:
    """Scan the file row by row and raise the precise error for its first bad row."""
    width = len(header.columns)
    positions = [(name, header.columns.index(name)) for name in features]
    label_position = header.columns.index(label)
    with _open_text(header.path) as handle:
        stream = _rows(handle, header.source)
        next(stream, None)
        for data_row, (line, cells) in enumerate(stream, start=1):
            where = f"{header.source} line {line} (data row {data_row})"
            if len(cells) != width:
                delimiter = wrong_delimiter(cells)
                if delimiter:
                    raise DataValidationError(
                        f"{where}: the row is separated by {delimiter}, not by commas; expected "
                        f"{width} comma-separated fields like the header"
                    )
                raise DataValidationError(
                    f"{where}: expected {width} fields like the header, found {len(cells)}"
                )
            for name, position in positions:
                _parse_number(cells[position].strip(), where, name)
            if cells[label_position].strip() == "":
                raise DataValidationError(f"{where}, column '{label}': missing value")
    raise DataValidationError(f"{header.source}: cannot read the data ({cause})")


def scan_file(
    header: CsvHeader, features: Sequence[str], label: str, table: LabelTable, chunk_rows: int
) -> np.ndarray:
    """Pass 1: validate every chunk (typed read) and return each row's provisional label code."""
    codes: list[np.ndarray] = []
    others = [name for name in header.columns if name != label and name not in features]
    try:
        reader = pd.read_csv(header.path, **_read_options(header, features, chunk_rows))
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


# --------------------------------------------------------------------------- classes


def too_many_labels(source: str, column: str, names: Sequence[str]) -> DataValidationError:
    if all(_is_number(name) for name in names):
        examples = sorted(names, key=float)
        return regression_error(source, column, f"more than {MAX_DISTINCT_LABELS}", examples)
    return DataValidationError(
        f"{source}: column '{column}' has more than {MAX_DISTINCT_LABELS} distinct labels, too "
        "many for classification (is it an identifier?); set label_column to the column that "
        "holds the class of each row"
    )


def regression_error(
    source: str, column: str, distinct: object, names: Sequence[str]
) -> DataValidationError:
    examples = ", ".join(list(names)[:5])
    return DataValidationError(
        f"{source}: column '{column}' has {distinct} distinct numeric values (e.g. {examples}): "
        "it looks like a regression target, and regression is not supported, only classification; "
        "choose a label column of classes, or bin the values into a few classes first"
    )


def class_name(value: float) -> str:
    """A numeric label's class name: 1 and 1.0 are "1", 0.5 is "0.5"."""
    return str(int(value)) if value.is_integer() else repr(value)


def labels_numeric(texts: Iterable[str]) -> bool:
    """Whether every label is a number: then classes are named by value (1 and 1.0 are "1")."""
    return all(_is_number(text) for text in texts)


def derive_classes(
    table: LabelTable, column: str, class_order: list[str] | None, rows: int, source: str
) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """(class names in index order, provisional code -> class index, rows per class).

    ``source`` names the input's files in the refusals (none of them is one row's fault).
    """
    texts = list(table.codes)
    numeric = labels_numeric(texts)
    if numeric:
        values = [float(text) for text in texts]
        names = [class_name(value) for value in values]
        distinct = sorted(set(values))
        fractional = any(not value.is_integer() for value in distinct)
        if (fractional and len(distinct) > REGRESSION_DISTINCT) or len(distinct) > max(
            REGRESSION_DISTINCT, REGRESSION_ROW_SHARE * rows
        ):
            raise regression_error(source, column, len(distinct), [class_name(v) for v in distinct])
        default_order = [class_name(value) for value in distinct]
    else:
        names = texts
        default_order = sorted(set(names))
    counts: dict[str, int] = {}
    for text, name in zip(texts, names):
        counts[name] = counts.get(name, 0) + table.counts[table.codes[text]]
    if len(default_order) < 2:
        only = default_order[0] if default_order else ""
        raise DataValidationError(
            f"{source}: column '{column}' has a single class '{only}': classification needs at "
            "least two classes; add rows of the other classes or choose another label column"
        )
    if class_order is None:
        order = default_order
    else:
        missing = [name for name in default_order if name not in class_order]
        unknown = [name for name in class_order if name not in counts]
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"it leaves out {', '.join(repr(m) for m in missing)}")
            if unknown:
                problems.append(f"{', '.join(repr(u) for u in unknown)} never occur")
            raise DataValidationError(
                f"{source}: class_order does not match the classes in column '{column}': "
                f"{'; '.join(problems)}; list exactly the classes present "
                f"({', '.join(default_order)}), or leave class_order empty to sort them"
            )
        order = list(class_order)
    index = {name: position for position, name in enumerate(order)}
    lookup = np.asarray(
        [index[name] for name in names], dtype="int8" if len(order) < 128 else "int32"
    )
    return order, lookup, {name: counts[name] for name in order}


def min_rows_per_class(ratios: SplitRatios) -> int:
    smallest = min(ratios.train, ratios.validation, ratios.test)
    return max(3, math.ceil(1.0 / smallest - 1e-9))


def class_rows(
    headers: Sequence[CsvHeader], label: str, name: str, numeric: bool, limit: int = LISTED_ROWS
) -> tuple[list[tuple[str, int]], int]:
    """(file, line) of the first ``limit`` rows of class ``name``, and how many rows it has.

    Read row by row, as the refusals that need it are about a rare class: few rows to find.
    """
    found: list[tuple[str, int]] = []
    total = 0
    for header in headers:
        position = header.columns.index(label)
        with _open_text(header.path) as handle:
            stream = _rows(handle, header.source)
            next(stream, None)  # the header
            for line, cells in stream:
                text = cells[position].strip() if position < len(cells) else ""
                if text and (class_name(float(text)) if numeric else text) == name:
                    total += 1
                    if len(found) < limit:
                        found.append((header.source, line))
    return found, total


def rows_text(found: Sequence[tuple[str, int]], total: int) -> str:
    """``iris.csv lines 102, 103`` or ``a.csv line 5, b.csv line 9 (and 3 more rows)``."""
    by_file: dict[str, list[int]] = {}
    for source, line in found:
        by_file.setdefault(source, []).append(line)
    text = ", ".join(
        f"{source} line{'s' if len(lines) > 1 else ''} {', '.join(str(n) for n in lines)}"
        for source, lines in by_file.items()
    )
    return text + (f" (and {total - len(found)} more rows)" if total > len(found) else "")


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
    # Indexing rather than zip(strict=...): this script must also run on the container's Python 3.8.
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


# --------------------------------------------------------------------------- output


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
        options = _read_options(header, features, chunk_rows)
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


def run(
    input_dir: Path,
    output_dir: Path,
    spec: DatasetSpec,
    ratios: SplitRatios | None = None,
    seed: int = 42,
    environ: dict[str, str] | None = None,
    serving_features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Validate, derive the contract, split and write everything atomically; return the contract.

    ``serving_features``: the serving model's features in order (``feature_order``)."""
    ratios = ratios or SplitRatios()
    ratios.check()
    files = list_csv_files(input_dir)
    for path in files:
        check_utf8(path)
    headers = [read_header(path) for path in files]
    features = feature_order(resolve_features(headers, spec), serving_features)
    samples = [sample_file(header, features) for header in headers]
    for header, sample in zip(headers, samples):
        check_non_numeric(header, sample, spec.label_column)
    sampled_rows = sum(s.rows for s in samples)
    bytes_per_row = sum(s.text_bytes for s in samples) / sampled_rows if sampled_rows else 1.0
    sources = [path.name for path in files]
    check_memory(
        sum(p.stat().st_size for p in files), bytes_per_row, memory_limit(environ), sources
    )

    chunk_rows = max(MIN_CHUNK_ROWS, int(CHUNK_TEXT_BYTES / max(bytes_per_row, 1.0)))
    table = LabelTable()
    codes = np.concatenate(
        [scan_file(h, features, spec.label_column, table, chunk_rows) for h in headers]
    )
    class_names, lookup, class_counts = derive_classes(
        table, spec.label_column, spec.class_order, len(codes), files_text(sources)
    )
    numeric = labels_numeric(table.codes)

    def locate(name: str) -> str:
        return rows_text(*class_rows(headers, spec.label_column, name, numeric))

    check_class_sizes(class_counts, spec.label_column, ratios, locate)
    labels = lookup[codes]
    del codes
    assignment = assign_splits(labels, ratios, seed, class_names, locate)
    split_rows = {
        name: int(n) for name, n in zip(SPLIT_NAMES, np.bincount(assignment, minlength=3))
    }
    contract = build_contract(spec, features, class_names, class_counts, split_rows, files)

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
    for name in SPLIT_NAMES:
        logger.info("wrote %s (%d rows)", paths[name], split_rows[name])
    logger.info("wrote %s: %s", contract_path(output_dir), json.dumps(contract, sort_keys=True))
    return contract


# --------------------------------------------------------------------------- entry point


class _ArgumentParser(argparse.ArgumentParser):
    """Turns bad arguments into DataValidationError so main() reports them like bad data."""

    def error(self, message: str) -> NoReturn:
        raise DataValidationError(f"invalid arguments: {message}")


def spec_from_args(args: argparse.Namespace) -> DatasetSpec:
    label = (args.label_column or "").strip()
    if not label:
        raise DataValidationError(
            "--label-column is empty: name the column that holds the class of each row"
        )
    return DatasetSpec(
        label_column=label,
        feature_columns=parse_json_list(args.feature_columns, "feature_columns"),
        class_order=parse_json_list(args.class_order, "class_order"),
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _ArgumentParser(description="Validate a tabular CSV dataset and split it.")
    parser.add_argument("--input-dir", type=Path, default=Path(DEFAULT_INPUT_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument("--label-column", required=True, help="the column holding the class")
    parser.add_argument(
        "--feature-columns", default="", help='JSON list of feature columns; "" or [] = all others'
    )
    parser.add_argument(
        "--class-order", default="", help='JSON list of class names; "" or [] = sorted labels'
    )
    parser.add_argument(
        "--champion-dir",
        type=Path,
        default=Path(DEFAULT_CHAMPION_DIR),
        help="the serving model's model.tar.gz (its feature order is kept), or no such file",
    )
    parser.add_argument("--train-ratio", type=float, default=0.6)
    parser.add_argument("--validation-ratio", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    fix_mmap_threshold()
    try:
        args = parse_args(argv)
        contract = run(
            args.input_dir,
            args.output_dir,
            spec_from_args(args),
            SplitRatios(args.train_ratio, args.validation_ratio),
            args.seed,
            serving_features=champion_features(args.champion_dir),
        )
    except DataValidationError as error:
        message = failures.data_error_message(error)
        print(f"ERROR: {message}", file=sys.stderr)
        failures.write_failure_reason(message)
        return failures.VALIDATION_ERROR_EXIT_CODE
    except Exception as error:
        failures.write_failure_reason(f"unexpected error: {type(error).__name__}: {error}")
        raise
    logger.info("split sizes: %s", contract["rows"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
