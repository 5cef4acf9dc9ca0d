"""The label column's classes: the labels met while reading, their names and order, and the
refusals of a label column that holds no classes.

Shipped beside prepare.py (ml/code_bundles.json): numpy and the standard library only, Python 3.9
compatible. Numeric labels name their class by value (1 and 1.0 are class "1"); a numeric label
with many distinct values is a regression target and refused, as is a single class, an identifier
column and a class_order that does not list exactly the classes present.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

try:
    from .prepare_csv import CsvHeader, csv_rows, open_text
    from .prepare_errors import DataValidationError, rows_text
except ImportError:
    from prepare_csv import CsvHeader, csv_rows, open_text  # type: ignore[no-redef]
    from prepare_errors import DataValidationError, rows_text  # type: ignore[no-redef]

# Labels that look like a regression target: numeric and more distinct values than this (when
# any is fractional), or than max(this, REGRESSION_ROW_SHARE of the rows).
REGRESSION_DISTINCT = 20
REGRESSION_ROW_SHARE = 0.05
# Distinct labels kept while reading; beyond this the column is no class label (and the label
# table would grow with the data).
MAX_DISTINCT_LABELS = 10000
# Rows a refusal lists by file and line before it counts the rest.
LISTED_ROWS = 5


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


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


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
        with open_text(header.path) as handle:
            stream = csv_rows(handle, header.source)
            next(stream, None)  # the header
            for line, cells in stream:
                text = cells[position].strip() if position < len(cells) else ""
                if text and (class_name(float(text)) if numeric else text) == name:
                    total += 1
                    if len(found) < limit:
                        found.append((header.source, line))
    return found, total


def class_locator(headers: Sequence[CsvHeader], label: str, numeric: bool) -> Callable[[str], str]:
    """For a refusal about one class: where its rows are (``iris.csv lines 102, 103``)."""

    def locate(name: str) -> str:
        return rows_text(*class_rows(headers, label, name, numeric))

    return locate
