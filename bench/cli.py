"""`python -m bench`: run every measurement once, print the table, write results.json.

    dataset ─► prepare.py ║ baseline prepare ─► train.py ║ baseline train ─► endpoint latency
                                                                  └─► results.json + table

Work goes to `.local/bench/` (the generated input is kept and reused; splits, models and logs
are redone each run). Being over a target is reported, not failed: the run exits 0. A subject
that fails, or results that break the schema, exit 1 with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import children, dataset, endpoint, results, subjects

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = ROOT / ".local" / "bench"
DEFAULT_ROWS = 1_000_000
DEFAULT_SAMPLES = 200
DATA_SEED = 11


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the generated CSV")
    parser.add_argument(
        "--samples", type=int, default=DEFAULT_SAMPLES, help="endpoint calls of each kind"
    )
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--label-column", default=None, help="default: the seed file's last column (its label)"
    )
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.samples < 1:
        parser.error("--rows must be >= 1000 and --samples >= 1")
    return args


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def say(message: str) -> None:
    print(message, flush=True)


def run_block(
    subject: children.ChildRun, baseline: children.ChildRun, rows: int, input_bytes: int
) -> dict[str, Any]:
    return {
        "rows": rows,
        "input_bytes": input_bytes,
        "seconds": round(subject.seconds, 4),
        "peak_rss_bytes": subject.peak_rss_bytes,
        "baseline_seconds": round(baseline.seconds, 4),
        "baseline_peak_rss_bytes": baseline.peak_rss_bytes,
    }


def cpu_block(subject: children.ChildRun, baseline: children.ChildRun) -> dict[str, float]:
    return {
        "seconds": round(subject.cpu_seconds, 4),
        "baseline_seconds": round(baseline.cpu_seconds, 4),
    }


def environment() -> dict[str, Any]:
    import numpy
    import pandas
    import xgboost

    return {
        "python": platform.python_version(),
        "xgboost": xgboost.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "hyperparameters": dict(subjects.HYPERPARAMETERS),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    work: Path = args.workdir
    logs = work / "logs"
    env = environment()
    csv_path = work / "input" / "iris-like.csv"
    say(f"dataset: {csv_path} ({args.rows:,} rows) ...")
    data = dataset.ensure_dataset(csv_path, args.rows, DATA_SEED, args.label_column)
    say(f"  {'generated' if data.generated else 'reused'}: {data.input_bytes / 1e6:.1f} MB")

    # What a Python process with numpy and pandas loaded holds before reading a byte: the part
    # of both prepare figures that does not grow with the input (context for the 3x target).
    env["pandas_import_peak_rss_bytes"] = children.run_measured(
        [sys.executable, "-c", "import numpy, pandas"], logs / "import-floor.log"
    ).peak_rss_bytes

    say("prepare: ml/prepare.py, then the pandas baseline ...")
    prepared, baseline_prepared = fresh_dir(work / "prepared"), fresh_dir(work / "baseline")
    prepare_run = children.run_measured(
        subjects.prepare_command(csv_path.parent, prepared, data.label_column),
        logs / "prepare.log",
    )
    prepare_baseline = children.run_measured(
        subjects.baseline_prepare_command(csv_path, baseline_prepared, data.label_column),
        logs / "prepare-baseline.log",
        cwd=ROOT,
    )

    say("train: ml/train.py (script mode), then raw xgboost.train ...")
    model_dir, output_dir = fresh_dir(work / "model"), fresh_dir(work / "train-output")
    train_files = [prepared / name / f"{name}.csv" for name in ("train", "validation")]
    train_run = children.run_measured(
        subjects.train_command(subjects.HYPERPARAMETERS),
        logs / "train.log",
        env=subjects.train_environment(prepared, model_dir, output_dir),
    )
    train_baseline = children.run_measured(
        subjects.baseline_train_command(prepared, subjects.HYPERPARAMETERS),
        logs / "train-baseline.log",
        cwd=ROOT,
    )

    say(f"endpoint: serving the trained model on the emulator, {args.samples} calls each ...")
    latencies = endpoint.measure(
        work / "emulator", model_dir, prepared / "test" / "test.csv", args.samples
    )
    return {
        "prepare": run_block(prepare_run, prepare_baseline, data.rows, data.input_bytes),
        "train": run_block(
            train_run,
            train_baseline,
            sum(count_lines(path) for path in train_files),
            sum(path.stat().st_size for path in train_files),
        ),
        "endpoint": results.latency_fields(
            latencies.one_row, latencies.hundred_rows, latencies.floor, endpoint.FLOOR_CALL
        ),
        "cpu": {
            "prepare": cpu_block(prepare_run, prepare_baseline),
            "train": cpu_block(train_run, train_baseline),
        },
        "environment": env,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        measured = run(args)
        results.check_results(measured)
    except (children.ChildFailed, results.ResultsError, RuntimeError) as error:
        print(f"make bench failed: {error}", file=sys.stderr)
        return 1
    found = results.targets(measured)
    measured["targets"] = results.targets_block(found)
    out = args.workdir / "results.json"
    out.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    say("")
    say(results.render_table(measured))
    say("")
    say(results.summary(found))
    say(f"results: {out}")
    return 0
