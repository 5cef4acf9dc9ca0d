"""Traffic for the drift monitor to look at: rows of the test split, shifted on purpose if asked.

`make traffic ROWS=n SHIFT=<feature>=<factor>` sends `n` rows drawn from the serving model's test
split (SageMaker's CSV convention: no header, label first), with the named feature multiplied by
the factor, as `text/csv` request bodies of the dataset contract's features in order. Pure
functions: the caller reads the split and the contract and invokes the endpoint.

Rows are drawn without replacement, in seeded shuffled passes over the split (a new pass when one
is used up), so unshifted traffic reproduces the split's distribution as closely as the row count
allows instead of adding resampling noise: the monitor's `no-drift` then measures the split, not
the draw.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ops.errors import ConfigError

#: Rows per request body: the endpoint takes many rows per CSV request, and data capture records
#: one capture line per request.
DEFAULT_ROWS_PER_REQUEST = 10
MAX_ROWS = 1_000_000
DEFAULT_SEED = 42
SHIFT_FORMAT = "SHIFT=<feature>=<factor>, e.g. SHIFT=width=1.5 (empty: no shift)"


class TrafficError(ConfigError):
    """ROWS, SHIFT or the test split is not usable; the message says what and how to fix it."""


@dataclass(frozen=True)
class Shift:
    feature: str
    factor: float


def parse_rows(text: str) -> int:
    """ROWS as a whole number in 1..MAX_ROWS."""
    try:
        rows = int(str(text).strip())
    except ValueError:
        raise TrafficError(f"ROWS={text!r} is not a whole number (e.g. ROWS=300)") from None
    if not 1 <= rows <= MAX_ROWS:
        raise TrafficError(f"ROWS={rows} is outside 1..{MAX_ROWS}")
    return rows


def parse_shift(text: str, features: Sequence[str]) -> Shift | None:
    """`<feature>=<factor>` (the factor after the last `=`); empty means no shift."""
    if not text or not text.strip():
        return None
    feature, separator, factor_text = text.strip().rpartition("=")
    if not separator or not feature:
        raise TrafficError(f"SHIFT={text!r} is not {SHIFT_FORMAT}")
    if feature not in features:
        raise TrafficError(
            f"SHIFT names {feature!r}, which is not a feature of the model; its features are "
            f"{', '.join(features)}"
        )
    try:
        factor = float(factor_text)
    except ValueError:
        raise TrafficError(
            f"SHIFT factor {factor_text!r} is not a number ({SHIFT_FORMAT})"
        ) from None
    if not math.isfinite(factor):
        raise TrafficError(f"SHIFT factor {factor_text!r} is not a finite number")
    return Shift(feature, factor)


def split_rows(text: str, features: Sequence[str]) -> list[list[str]]:
    """The feature cells (exact text) of a split CSV: no header, the label first."""
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(features) + 1:
            raise TrafficError(
                f"test split line {number} has {len(row)} fields, expected the label and "
                f"{len(features)} features ({', '.join(features)}): is it the serving model's "
                "test split?"
            )
        rows.append(row[1:])
    if not rows:
        raise TrafficError("the test split has no rows")
    return rows


def draw_rows(rows: Sequence[list[str]], count: int, seed: int = DEFAULT_SEED) -> list[list[str]]:
    """`count` rows, in seeded shuffled passes over `rows` (without replacement within a pass)."""
    generator = random.Random(seed)
    drawn: list[list[str]] = []
    while len(drawn) < count:
        order = list(range(len(rows)))
        generator.shuffle(order)
        drawn.extend(list(rows[i]) for i in order[: count - len(drawn)])
    return drawn


def apply_shift(
    rows: Sequence[list[str]], features: Sequence[str], shift: Shift | None
) -> list[list[str]]:
    """The rows with the shifted feature multiplied by the factor (others keep their text)."""
    if shift is None:
        return [list(row) for row in rows]
    column = list(features).index(shift.feature)
    shifted = []
    for row in rows:
        cells = list(row)
        try:
            value = float(cells[column]) * shift.factor
        except ValueError:
            raise TrafficError(
                f"test split value {cells[column]!r} of {shift.feature} is not a number"
            ) from None
        cells[column] = format(value, ".10g")
        shifted.append(cells)
    return shifted


def request_bodies(
    rows: Sequence[list[str]], rows_per_request: int = DEFAULT_ROWS_PER_REQUEST
) -> list[str]:
    """`text/csv` bodies of at most `rows_per_request` rows each, one line per row."""
    if rows_per_request < 1:
        raise TrafficError(f"rows per request must be >= 1, got {rows_per_request}")
    return [
        "".join(",".join(row) + "\n" for row in rows[start : start + rows_per_request])
        for start in range(0, len(rows), rows_per_request)
    ]


def traffic(
    test_split: str,
    features: Sequence[str],
    rows: str,
    shift: str = "",
    rows_per_request: int = DEFAULT_ROWS_PER_REQUEST,
    seed: int = DEFAULT_SEED,
) -> list[str]:
    """The request bodies for `make traffic ROWS=<rows> SHIFT=<shift>`."""
    count = parse_rows(rows)
    parsed = parse_shift(shift, features)
    drawn = draw_rows(split_rows(test_split, features), count, seed)
    return request_bodies(apply_shift(drawn, features, parsed), rows_per_request)
