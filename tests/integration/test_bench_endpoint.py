"""`make bench`'s endpoint measurement, end to end on a small model: the emulator serves it and
every sample is a real, answered invocation (bench/endpoint.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import endpoint
from ml import train
from tests.helpers.models import split_iris, train_model_dir

pytestmark = pytest.mark.integration


def test_bench_samples_invocations_of_the_served_model(tmp_path: Path) -> None:
    split = split_iris(tmp_path / "raw", tmp_path / "split")
    model_dir = train_model_dir(split, tmp_path / "model")
    train.copy_code_into_model(model_dir)  # as train.py's main does: the model serves alone
    # The bench sends 100 rows; iris' test split has 30, so repeat them.
    lines = (split / "test" / "test.csv").read_text().splitlines(keepends=True)
    test_csv = tmp_path / "test.csv"
    test_csv.write_text("".join((lines * 4)[:100]))

    latencies = endpoint.measure(tmp_path / "emulator", model_dir, test_csv, samples=3)

    for samples in (latencies.one_row, latencies.hundred_rows, latencies.floor):
        assert len(samples) == 3
        assert all(0 < seconds < 30 for seconds in samples)
