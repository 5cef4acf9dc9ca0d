"""Compare an endpoint's captured traffic with its model's training baseline, and judge drift.

SageMaker Processing script (scikit-learn 1.2-1 image: Python 3.9, numpy 1.24.1, scipy 1.8.0, per
aws/sagemaker-scikit-learn-container requirements.txt at tag 1.2-1), shipped with capture.py,
baseline.py and the `contracts` modules it imports beside it (ml/code_bundles.json); Python 3.8
compatible, numpy, scipy and the standard library only. SageMaker Model Monitor is closed to new
customers, hence this script.

    --baseline-dir  baseline.json of the serving model (evaluate.py writes it)
    --contract-dir  contract.json of the serving model (contracts/dataset.py: the features in
                    order, the classes)
    --capture-dir   the endpoint's data capture files (capture.py), any depth
    --start/--end   the window, ISO 8601 with a zone, on eventMetadata.inferenceTime
    ─► --output-dir drift.json, drift.html, metric_data.json, summary.json

Per feature: the population stability index of the captured values over the baseline's bins,
the Kolmogorov-Smirnov statistic against the baseline's sample, the missing and out-of-range
shares; and the shift of the predicted-class distribution. The verdict is `insufficient-data`
below `--min-rows` analysed rows (never a false alarm), `drift` when a statistic exceeds its
threshold, else `no-drift`. Unusable capture lines, payloads and rows are counted and reported,
never fatal. docs/monitoring.md explains the statistics, thresholds and outputs.

A missing or malformed baseline or contract, or a bad option, exits with code 2 and writes
`MonitorInputError: <what, where, what to do>` to the processing container's message file
(`/opt/ml/output/message`, returned as the job's ExitMessage), as prepare.py does.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

try:
    from . import baseline as drift_baseline
    from . import capture
    from . import monitor_report as report
    from . import monitor_stats as stats
except ImportError:
    import baseline as drift_baseline  # type: ignore[no-redef]
    import capture  # type: ignore[no-redef]
    import monitor_report as report  # type: ignore[no-redef]
    import monitor_stats as stats  # type: ignore[no-redef]
try:
    from contracts import dataset, failures
except ImportError:  # run as a file from a checkout: the package is at the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from contracts import dataset, failures

DEFAULT_BASELINE_DIR = "/opt/ml/processing/baseline"
DEFAULT_CONTRACT_DIR = "/opt/ml/processing/contract"
DEFAULT_CAPTURE_DIR = "/opt/ml/processing/capture"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/drift"
INPUT_ERROR_EXIT_CODE = failures.VALIDATION_ERROR_EXIT_CODE
#: Every input error's message starts with this name.
INPUT_ERROR_NAME = "MonitorInputError"

logger = logging.getLogger("monitor")


class MonitorInputError(ValueError):
    """The baseline, the contract or an option is missing or wrong; the message says how."""


def load_contract(directory: Path) -> dataset.Contract:
    """The serving model's dataset contract: feature columns in order and class names."""
    if not (directory / dataset.FILE_NAME).is_file():
        raise MonitorInputError(
            f"no {dataset.FILE_NAME} in {directory}: pass the serving model's dataset contract "
            "(prepare.py writes it; the model archive carries a copy)"
        )
    try:
        return dataset.read(directory, "contract directory")
    except dataset.ContractError as error:
        raise MonitorInputError(str(error)) from None


def load_inputs(baseline_dir: Path, contract_dir: Path) -> tuple[dict[str, Any], dataset.Contract]:
    """The baseline and the contract, checked to describe the same features."""
    try:
        baseline = drift_baseline.load_baseline(baseline_dir / drift_baseline.BASELINE_FILE_NAME)
    except drift_baseline.BaselineError as error:
        raise MonitorInputError(f"baseline: {error}") from None
    contract = load_contract(contract_dir)
    if baseline["feature_columns"] != contract.feature_columns:
        raise MonitorInputError(
            "the baseline's features differ from the contract's: pass the baseline and the "
            "contract of the same (serving) model"
        )
    predictions = baseline.get("predictions")
    if predictions is not None and predictions["class_names"] != contract.class_names:
        raise MonitorInputError("the baseline's classes differ from the contract's")
    return baseline, contract


def window_of(start: str, end: str) -> stats.Window:
    """The [start, end) window from the options; empty means unbounded on that side."""
    try:
        low = capture.parse_timestamp(start) if start else None
        high = capture.parse_timestamp(end) if end else None
    except ValueError as error:
        raise MonitorInputError(f"--start/--end: {error}") from None
    if low is not None and high is not None and low >= high:
        raise MonitorInputError(f"--start {start} is not before --end {end}")
    return stats.Window(low, high)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Read, compare, judge and write the four outputs; return drift.json's content."""
    baseline, contract = load_inputs(args.baseline_dir, args.contract_dir)
    thresholds = stats.Thresholds(
        psi=args.psi_threshold,
        ks=args.ks_threshold,
        prediction_psi=args.prediction_psi_threshold,
        min_rows=args.min_rows,
    )
    tally = stats.Tally(baseline, contract.document, window_of(args.start, args.end), args.seed)
    for path in capture.capture_files(args.capture_dir):
        tally.add_file(path, path.relative_to(args.capture_dir).as_posix())
    result = stats.judge(tally, thresholds)
    result["endpoint"] = args.endpoint_name
    report.write_outputs(args.output_dir, result, args.endpoint_name)
    return result


# --------------------------------------------------------------------------- entry point


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise MonitorInputError(f"invalid arguments: {message}")


def _share(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _dimension_value(text: str) -> str:
    # botocore's cloudwatch model: a Dimension's Value is 1 to 1024 characters.
    if not 1 <= len(text) <= report.MAX_DIMENSION_VALUE:
        raise argparse.ArgumentTypeError("must be 1 to 1024 characters (a metric dimension)")
    return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _ArgumentParser(description="Judge drift of captured traffic against a baseline.")
    parser.add_argument("--baseline-dir", type=Path, default=Path(DEFAULT_BASELINE_DIR))
    parser.add_argument("--contract-dir", type=Path, default=Path(DEFAULT_CONTRACT_DIR))
    parser.add_argument("--capture-dir", type=Path, default=Path(DEFAULT_CAPTURE_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument(
        "--endpoint-name", required=True, type=_dimension_value, help="the metrics' EndpointName"
    )
    parser.add_argument("--start", default="", help="window start (inclusive), e.g. ...T13:00Z")
    parser.add_argument("--end", default="", help="window end (exclusive); empty: unbounded")
    parser.add_argument("--min-rows", type=_count, default=stats.DEFAULT_MIN_ROWS)
    parser.add_argument("--psi-threshold", type=_share, default=stats.DEFAULT_PSI_THRESHOLD)
    parser.add_argument("--ks-threshold", type=_share, default=stats.DEFAULT_KS_THRESHOLD)
    parser.add_argument(
        "--prediction-psi-threshold", type=_share, default=stats.DEFAULT_PSI_THRESHOLD
    )
    parser.add_argument("--seed", type=int, default=drift_baseline.DEFAULT_SEED)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        result = run(parse_args(argv))
    except MonitorInputError as error:
        message = f"{INPUT_ERROR_NAME}: {error}"
        print(f"ERROR: {message}", file=sys.stderr)
        failures.write_failure_reason(message)
        return INPUT_ERROR_EXIT_CODE
    except Exception as error:
        failures.write_failure_reason(f"unexpected error: {type(error).__name__}: {error}")
        raise
    logger.info("%s", result["message"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
