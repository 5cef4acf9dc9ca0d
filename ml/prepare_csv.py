"""Reading and checking prepare.py's input CSV files, row by row, with the file, line and column.

Shipped beside prepare.py (ml/code_bundles.json): standard library only, Python 3.9 compatible.
Every refusal names where the problem is and the common mistake behind it: gzip/zip content, a
non-UTF-8 encoding (with the line and byte column of the first bad byte), a ``;`` or tab
delimiter, duplicate or unnamed header columns, text in a feature column. The typed, chunked read
of the whole file is prepare_read.py's; when it fails, ``locate_problem`` here names the first bad
row.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

try:
    from .prepare_errors import DataValidationError
except ImportError:
    from prepare_errors import DataValidationError  # type: ignore[no-redef]

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
# Bytes read at a time by the UTF-8 check.
UTF8_BLOCK_BYTES = 1 << 18
# Data rows read row by row up front to judge column types and the bytes per row.
SAMPLE_ROWS = 1000
# A sampled feature column with at least this share of non-numbers is a text column, not a typo.
NON_NUMERIC_SHARE = 0.5


@dataclass(frozen=True)
class CsvHeader:
    path: Path
    columns: list[str]
    line: int  # 1-based line of the header row

    @property
    def source(self) -> str:
        return self.path.name


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


def wrong_delimiter(cells: list[str]) -> str | None:
    """The name of the delimiter a one-field row was separated with, if it is a known mistake."""
    if len(cells) != 1:
        return None
    for delimiter, name in WRONG_DELIMITERS.items():
        if delimiter in cells[0]:
            return name
    return None


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


def open_text(path: Path) -> TextIO:
    # utf-8-sig drops the byte-order mark that spreadsheet exports put before the header.
    return path.open("r", encoding="utf-8-sig", newline="")


def csv_rows(handle: TextIO, source: str) -> Iterator[tuple[int, list[str]]]:
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
    with open_text(path) as handle:
        first = next(csv_rows(handle, source), None)
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
    with open_text(header.path) as handle:
        stream = csv_rows(handle, header.source)
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


def locate_problem(header: CsvHeader, features: Sequence[str], label: str, cause: str) -> None:
    """Scan the file row by row and raise the precise error for its first bad row."""
    width = len(header.columns)
    positions = [(name, header.columns.index(name)) for name in features]
    label_position = header.columns.index(label)
    with open_text(header.path) as handle:
        stream = csv_rows(handle, header.source)
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
