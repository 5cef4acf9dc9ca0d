"""Validate raw tabular CSVs, derive the dataset contract and write a stratified, seeded split.

SageMaker Processing script (SKLearn 1.2-1 container), also run locally. It is shipped with
the modules it imports beside it (ml/code_bundles.json), so it imports only those, the standard
library, numpy and pandas; this file is the entry point (arguments, the order of the steps, the
exit code), and the work is theirs:

    prepare_csv.py       the files' bytes, encoding, header and rows; refusals by file/line/column
    prepare_contract.py  the settings, the feature columns and the serving model's order
    prepare_memory.py    the memory limit, and the refusal of an input too big for the instance
    prepare_read.py      the typed, chunked read that checks every row
    prepare_classes.py   the label column's classes, and what is no classification label
    prepare_split.py     the stratified, seeded split
    prepare_output.py    the splits, the contract and the drift baseline (baseline.py), atomically
    prepare_errors.py    DataValidationError, and how a refusal names files and rows

Input: every `*.csv` in `--input-dir`, each with a header row. The user names the label column
(`--label-column`, the only required setting); the feature columns default to every other column
and the class order to the sorted distinct labels. When a model serves (`--champion-dir` holds its
model.tar.gz) and the features are exactly its features in another order, they take its order, so
the endpoint's API stays the same (contracts/dataset.py `serving_order`). Output, in SageMaker's
CSV convention (no header, label first as the class index 0..num_classes-1, then the features in
contract order), plus the dataset contract every later step reads (contracts/dataset.py) and the
drift baseline of the training split (baseline.py):

    <output-dir>/train/train.csv  <output-dir>/validation/validation.csv  <output-dir>/test/test.csv
    <output-dir>/contract/contract.json  <output-dir>/baseline/baseline.json

Scale: the data is read twice in typed pandas chunks (features float64, label categorical), never
as Python rows: the first pass validates and collects the labels, the second streams each chunk
into its split. Memory is bounded by the chunk size plus a few bytes per row; an input too big for
the instance is refused before reading (prepare_memory.py). Rows keep their file order within each
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
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

try:
    from contracts import failures
except ImportError:  # run as a file from a checkout: the package is at the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from contracts import failures
# The modules that do the work are shipped beside this script (ml/code_bundles.json); in the
# repository the relative import finds them in ml/, in the container the plain one as siblings.
try:
    from . import (
        prepare_classes,
        prepare_contract,
        prepare_csv,
        prepare_errors,
        prepare_memory,
        prepare_output,
        prepare_read,
        prepare_split,
    )
except ImportError:
    import prepare_classes  # type: ignore[no-redef]
    import prepare_contract  # type: ignore[no-redef]
    import prepare_csv  # type: ignore[no-redef]
    import prepare_errors  # type: ignore[no-redef]
    import prepare_memory  # type: ignore[no-redef]
    import prepare_output  # type: ignore[no-redef]
    import prepare_read  # type: ignore[no-redef]
    import prepare_split  # type: ignore[no-redef]

DEFAULT_INPUT_DIR = "/opt/ml/processing/input"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing"
#: Where the serving model's model.tar.gz is, when one serves (the pipeline's ChampionModelUri).
DEFAULT_CHAMPION_DIR = "/opt/ml/processing/champion"

logger = logging.getLogger("prepare")


def check_files(
    files: Sequence[Path],
    spec: prepare_contract.DatasetSpec,
    environ: dict[str, str] | None,
    serving_features: Sequence[str] | None,
) -> tuple[list[prepare_csv.CsvHeader], list[str], int]:
    """The checks before the full read: bytes and encoding, headers, the feature columns (in
    contract order) and their types from a sample, and memory. Return the headers, the features
    and the rows per chunk of the full read."""
    for path in files:
        prepare_csv.check_utf8(path)
    headers = [prepare_csv.read_header(path) for path in files]
    features = prepare_contract.feature_order(
        prepare_contract.resolve_features(headers, spec), serving_features
    )
    samples = [prepare_csv.sample_file(header, features) for header in headers]
    for header, sample in zip(headers, samples):
        prepare_csv.check_non_numeric(header, sample, spec.label_column)
    sampled_rows = sum(s.rows for s in samples)
    bytes_per_row = sum(s.text_bytes for s in samples) / sampled_rows if sampled_rows else 1.0
    prepare_memory.check_memory(
        sum(path.stat().st_size for path in files),
        bytes_per_row,
        prepare_memory.memory_limit(environ),
        [path.name for path in files],
    )
    return headers, features, prepare_read.rows_per_chunk(bytes_per_row)


def run(
    input_dir: Path,
    output_dir: Path,
    spec: prepare_contract.DatasetSpec,
    ratios: prepare_split.SplitRatios | None = None,
    seed: int = 42,
    environ: dict[str, str] | None = None,
    serving_features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Validate, derive the contract, split and write everything atomically; return the contract.

    ``serving_features``: the serving model's features in order
    (``prepare_contract.feature_order``)."""
    ratios = ratios or prepare_split.SplitRatios()
    ratios.check()
    files = prepare_csv.list_csv_files(input_dir)
    headers, features, chunk_rows = check_files(files, spec, environ, serving_features)
    label = spec.label_column
    table = prepare_classes.LabelTable()
    codes = np.concatenate(
        [prepare_read.scan_file(h, features, label, table, chunk_rows) for h in headers]
    )
    class_names, lookup, class_counts = prepare_classes.derive_classes(
        table,
        label,
        spec.class_order,
        len(codes),
        prepare_errors.files_text([p.name for p in files]),
    )
    locate = prepare_classes.class_locator(
        headers, label, prepare_classes.labels_numeric(table.codes)
    )
    prepare_split.check_class_sizes(class_counts, label, ratios, locate)
    labels = lookup[codes]
    del codes
    assignment = prepare_split.assign_splits(labels, ratios, seed, class_names, locate)
    split_rows = prepare_split.split_sizes(assignment)
    contract = prepare_contract.build_contract(
        spec, features, class_names, class_counts, split_rows, files
    )
    prepare_output.write_outputs(
        output_dir, headers, labels, assignment, contract, chunk_rows, seed
    )
    paths = prepare_output.split_paths(output_dir)
    for name in prepare_split.SPLIT_NAMES:
        logger.info("wrote %s (%d rows)", paths[name], split_rows[name])
    logger.info(
        "wrote %s: %s",
        prepare_output.contract_path(output_dir),
        json.dumps(contract, sort_keys=True),
    )
    return contract


# --------------------------------------------------------------------------- entry point


class _ArgumentParser(argparse.ArgumentParser):
    """Turns bad arguments into DataValidationError so main() reports them like bad data."""

    def error(self, message: str) -> NoReturn:
        raise prepare_errors.DataValidationError(f"invalid arguments: {message}")


def spec_from_args(args: argparse.Namespace) -> prepare_contract.DatasetSpec:
    label = (args.label_column or "").strip()
    if not label:
        raise prepare_errors.DataValidationError(
            "--label-column is empty: name the column that holds the class of each row"
        )
    return prepare_contract.DatasetSpec(
        label_column=label,
        feature_columns=prepare_contract.parse_json_list(args.feature_columns, "feature_columns"),
        class_order=prepare_contract.parse_json_list(args.class_order, "class_order"),
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
    prepare_memory.fix_mmap_threshold()
    try:
        args = parse_args(argv)
        contract = run(
            args.input_dir,
            args.output_dir,
            spec_from_args(args),
            prepare_split.SplitRatios(args.train_ratio, args.validation_ratio),
            args.seed,
            serving_features=prepare_contract.champion_features(args.champion_dir),
        )
    except prepare_errors.DataValidationError as error:
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
