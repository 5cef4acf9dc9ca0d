"""Percentiles, results.json's schema, the targets and the printed table (all pure).

results.json holds one block per subject with exactly these fields:

    prepare, train: rows, input_bytes, seconds, peak_rss_bytes, baseline_seconds,
                    baseline_peak_rss_bytes
    endpoint:       samples, p50/p99 seconds of invoke_endpoint for 1 row and for 100 rows,
                    and of the emulator's round-trip floor (a trivial API call, `floor_call`)

beside `cpu` (each run's user + system CPU seconds, context for wall times on a busy machine),
`targets` (each target's measured ratio, limit and verdict) and `environment`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

RUN_FIELDS = (
    "rows",
    "input_bytes",
    "seconds",
    "peak_rss_bytes",
    "baseline_seconds",
    "baseline_peak_rss_bytes",
)
ENDPOINT_FIELDS = (
    "samples",
    "floor_call",
    "p50_1_row_seconds",
    "p99_1_row_seconds",
    "p50_100_rows_seconds",
    "p99_100_rows_seconds",
    "floor_p50_seconds",
    "floor_p99_seconds",
)
SCHEMA: Mapping[str, tuple[str, ...]] = {
    "prepare": RUN_FIELDS,
    "train": RUN_FIELDS,
    "endpoint": ENDPOINT_FIELDS,
}
#: The issue's targets: prepare within 1.5x of its baseline's time and 3x of the input's size in
#: memory, train within 1.1x of its baseline's time.
PREPARE_TIME_LIMIT = 1.5
PREPARE_MEMORY_LIMIT = 3.0
TRAIN_TIME_LIMIT = 1.1


class ResultsError(ValueError):
    """A results document that breaks the schema; the message names the block and field."""


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolated linearly between ranks (numpy's default)."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_fields(
    one_row: Sequence[float], hundred_rows: Sequence[float], floor: Sequence[float], floor_call: str
) -> dict[str, Any]:
    """The endpoint block from raw samples (seconds)."""
    return {
        "samples": min(len(one_row), len(hundred_rows), len(floor)),
        "floor_call": floor_call,
        "p50_1_row_seconds": percentile(one_row, 50),
        "p99_1_row_seconds": percentile(one_row, 99),
        "p50_100_rows_seconds": percentile(hundred_rows, 50),
        "p99_100_rows_seconds": percentile(hundred_rows, 99),
        "floor_p50_seconds": percentile(floor, 50),
        "floor_p99_seconds": percentile(floor, 99),
    }


def check_results(results: Mapping[str, Any]) -> None:
    """Raise ResultsError unless every block has exactly its fields, with numbers where due."""
    for block, fields in SCHEMA.items():
        if block not in results:
            raise ResultsError(f"results.json has no '{block}' block")
        present = set(results[block])
        missing = [f for f in fields if f not in present]
        extra = sorted(present - set(fields))
        if missing or extra:
            raise ResultsError(f"'{block}': missing fields {missing}, unexpected fields {extra}")
        for name in fields:
            value = results[block][name]
            if name == "floor_call":
                if not isinstance(value, str) or not value:
                    raise ResultsError(f"'{block}.{name}' must name the API call, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ResultsError(f"'{block}.{name}' must be a non-negative number: {value!r}")


@dataclass(frozen=True)
class Target:
    name: str
    measured: float
    limit: float
    #: What the ratio is taken against, for the table ("baseline time", "input size").
    against: str

    @property
    def passed(self) -> bool:
        return self.measured <= self.limit


def ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else math.inf


def targets(results: Mapping[str, Any]) -> list[Target]:
    prepare, train = results["prepare"], results["train"]
    return [
        Target(
            "prepare time",
            ratio(prepare["seconds"], prepare["baseline_seconds"]),
            PREPARE_TIME_LIMIT,
            "baseline time",
        ),
        Target(
            "prepare memory",
            ratio(prepare["peak_rss_bytes"], prepare["input_bytes"]),
            PREPARE_MEMORY_LIMIT,
            "input size",
        ),
        Target(
            "train time",
            ratio(train["seconds"], train["baseline_seconds"]),
            TRAIN_TIME_LIMIT,
            "baseline time",
        ),
    ]


def targets_block(found: Sequence[Target]) -> list[dict[str, Any]]:
    return [{**asdict(t), "passed": t.passed} for t in found]


# --------------------------------------------------------------------------- the table


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.1f} ms"


def _bytes(value: float) -> str:
    return f"{value / 1e6:,.0f} MB"


def _verdict(target: Target | None) -> str:
    if target is None:
        return "(no target)"
    mark = "PASS" if target.passed else "OVER TARGET"
    return f"<= {target.limit:g}x {target.against}: {mark}"


def table_rows(results: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(measure, subject, baseline, ratio, target) for every figure."""
    by_name = {t.name: t for t in targets(results)}
    rows: list[tuple[str, str, str, str, str]] = []
    for block in ("prepare", "train"):
        run = results[block]
        time_target = by_name.get(f"{block} time")
        rows.append(
            (
                f"{block} time",
                _seconds(run["seconds"]),
                _seconds(run["baseline_seconds"]),
                f"{ratio(run['seconds'], run['baseline_seconds']):.2f}x",
                _verdict(time_target),
            )
        )
        cpu = results.get("cpu", {}).get(block)
        if cpu:
            rows.append(
                (
                    f"{block} CPU time",
                    _seconds(cpu["seconds"]),
                    _seconds(cpu["baseline_seconds"]),
                    f"{ratio(cpu['seconds'], cpu['baseline_seconds']):.2f}x",
                    "(no target; user + system, context for the wall time)",
                )
            )
        memory = by_name.get(f"{block} memory")
        rows.append(
            (
                f"{block} peak RSS",
                _bytes(run["peak_rss_bytes"]),
                _bytes(run["baseline_peak_rss_bytes"]),
                f"{ratio(run['peak_rss_bytes'], run['baseline_peak_rss_bytes']):.2f}x",
                "(no target)"
                if memory is None
                else f"{memory.measured:.2f}x input "
                f"(baseline {ratio(run['baseline_peak_rss_bytes'], run['input_bytes']):.2f}x); "
                + _verdict(memory),
            )
        )
    endpoint = results["endpoint"]
    for label, key in (("1 row", "1_row"), ("100 rows", "100_rows")):
        for q in ("p50", "p99"):
            value, floor = endpoint[f"{q}_{key}_seconds"], endpoint[f"floor_{q}_seconds"]
            rows.append(
                (
                    f"invoke {label} {q}",
                    _seconds(value),
                    _seconds(floor),
                    f"{ratio(value, floor):.2f}x",
                    "(no target; baseline = emulator floor)",
                )
            )
    return rows


def render_table(results: Mapping[str, Any]) -> str:
    """The table `make bench` prints: each figure beside its baseline, the ratio and target."""
    header = ("measure", "subject", "baseline", "ratio", "target")
    rows = [header, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [row[i].rjust(widths[i]) for i in (1, 2, 3)]
        cells.append(row[4])
        return "  ".join(cells).rstrip()

    prepare, train, endpoint = results["prepare"], results["train"], results["endpoint"]
    rule = "-" * len(line(header))
    notes = []
    import_floor = results.get("environment", {}).get("pandas_import_peak_rss_bytes")
    if import_floor:
        notes.append(
            f"(python with numpy and pandas imported, nothing read: {_bytes(import_floor)} peak, "
            f"{ratio(import_floor, prepare['input_bytes']):.2f}x the input)"
        )
    return "\n".join(
        [
            f"prepare: {prepare['rows']:,} rows, {_bytes(prepare['input_bytes'])} input; "
            f"train: {train['rows']:,} rows ({_bytes(train['input_bytes'])} of splits); "
            f"endpoint: {endpoint['samples']} calls each, floor = {endpoint['floor_call']}",
            line(header),
            rule,
            *(line(row) for row in rows[1:]),
            *notes,
        ]
    )


def summary(found: Sequence[Target]) -> str:
    """One closing line: all targets met, or which are over (the run still exits 0)."""
    over = [t for t in found if not t.passed]
    if not over:
        return "All targets met."
    names = ", ".join(f"{t.name} ({t.measured:.2f}x > {t.limit:g}x)" for t in over)
    return f"OVER TARGET: {names}. (A measurement: make bench still exits 0.)"
