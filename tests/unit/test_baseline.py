"""Tests for `ml/baseline.py`: the drift baseline prepare.py and evaluate.py write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contracts import failures
from ml import baseline, evaluate
from ml.baseline import BaselineError

MODEL_URI = "s3://bucket/models/x/model.tar.gz"


def write_split(path: Path, features: np.ndarray, labels: np.ndarray | None = None) -> Path:
    """A split CSV in SageMaker's convention: no header, the label first."""
    labels = np.zeros(len(features), dtype=int) if labels is None else labels
    lines = [
        ",".join([str(int(label)), *("" if np.isnan(v) else repr(float(v)) for v in row)])
        for label, row in zip(labels, features, strict=True)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def iris_baseline(split_dir: Path) -> dict[str, Any]:
    return json.loads((split_dir / "baseline" / "baseline.json").read_text())


# --------------------------------------------------------------------------- binning


@pytest.mark.parametrize(
    ("rows", "bins"), [(10, 2), (59, 2), (90, 4), (199, 9), (200, 10), (10**6, 10)]
)
def test_bin_count_is_deciles_from_200_rows_and_fewer_below(rows: int, bins: int) -> None:
    assert baseline.bin_count(rows) == bins


def test_quantile_edges_are_data_values_above_the_minimum() -> None:
    values = np.arange(1.0, 101.0)  # 1..100
    assert baseline.quantile_edges(values, 10) == [
        11.0,
        21.0,
        31.0,
        41.0,
        51.0,
        61.0,
        71.0,
        81.0,
        91.0,
    ]
    # Ties collapse: a value held by most rows is one edge; the minimum is never an edge.
    tied = np.asarray([1.0] * 50 + [2.0] * 30 + [3.0] * 20)
    assert baseline.quantile_edges(tied, 10) == [2.0, 3.0]
    assert baseline.quantile_edges(np.full(7, 4.2), 10) == []
    assert baseline.quantile_edges(np.asarray([]), 10) == []


def test_bin_counts_use_open_outer_bins_and_skip_missing() -> None:
    edges = [2.0, 3.0]
    values = np.asarray([-1e9, 1.99, 2.0, 2.5, 3.0, 1e9, np.nan])
    # (-inf, 2) [2, 3) [3, +inf): an edge value opens its bin; NaN is not counted.
    assert baseline.bin_counts(values, edges).tolist() == [2, 2, 2]
    assert baseline.bin_counts(np.asarray([5.0]), []).tolist() == [1]


def test_row_sample_is_bounded_seeded_and_independent_of_chunking() -> None:
    data = np.arange(10_000, dtype="float64").reshape(-1, 2)
    whole = baseline.RowSample(100, 2, seed=7)
    whole.add(data)
    pieces = baseline.RowSample(100, 2, seed=7)
    for start in range(0, len(data), 333):
        pieces.add(data[start : start + 333])
    assert whole.ordered().shape == (100, 2)
    assert np.array_equal(whole.ordered(), pieces.ordered())
    other = baseline.RowSample(100, 2, seed=8)
    other.add(data)
    assert not np.array_equal(whole.ordered(), other.ordered())
    # Whole rows are kept together, and the sample spreads over the data.
    rows = whole.ordered()
    assert np.all(rows[:, 1] == rows[:, 0] + 1)
    assert rows[:, 0].min() < 1_000 and rows[:, 0].max() > 9_000


# --------------------------------------------------------------------------- feature baseline


def test_prepare_writes_the_training_splits_baseline(
    split_dir: Path, iris_baseline: dict[str, Any]
) -> None:
    contract = json.loads((split_dir / "contract" / "contract.json").read_text())
    train = np.loadtxt(split_dir / "train" / "train.csv", delimiter=",")[:, 1:]
    assert iris_baseline["schema_version"] == baseline.SCHEMA_VERSION
    assert iris_baseline["kind"] == baseline.KIND
    assert iris_baseline["feature_columns"] == contract["feature_columns"]
    assert iris_baseline["source"] == {"split": "train", "rows": 90, "seed": 42}
    assert iris_baseline["predictions"] is None
    for j, entry in enumerate(iris_baseline["features"]):
        column = train[:, j]
        assert entry["name"] == contract["feature_columns"][j]
        assert (entry["rows"], entry["missing"], entry["missing_share"]) == (90, 0, 0.0)
        assert (entry["min"], entry["max"]) == (column.min(), column.max())
        counts = entry["bins"]["counts"]
        # 90 rows: 4 bins (at most one per 20 rows), none empty, counted exactly.
        assert len(counts) == len(entry["bins"]["edges"]) + 1 <= 4
        assert min(counts) > 0 and sum(counts) == 90
        assert counts == baseline.bin_counts(column, entry["bins"]["edges"]).tolist()
        assert sum(entry["bins"]["shares"]) == pytest.approx(1.0)
        assert len(entry["sample"]) == 90 and sorted(entry["sample"]) == sorted(column.tolist())


def test_baseline_is_deterministic_and_chunking_does_not_matter(tmp_path: Path) -> None:
    rng = np.random.RandomState(0)
    features = rng.normal(size=(5_000, 3))
    split = write_split(tmp_path / "train" / "train.csv", features)
    names = ["a", "b", "c"]
    one = baseline.feature_baseline(split, names, seed=1)
    assert baseline.baseline_text(one) == baseline.baseline_text(
        baseline.feature_baseline(split, names, seed=1, chunk_rows=333)
    )
    assert baseline.baseline_text(one) != baseline.baseline_text(
        baseline.feature_baseline(split, names, seed=2)
    )
    for j, entry in enumerate(one["features"]):
        # Deciles: 10 bins of about a tenth each, and a bounded KS sample.
        assert len(entry["bins"]["counts"]) == 10
        assert max(abs(s - 0.1) for s in entry["bins"]["shares"]) < 0.02
        assert len(entry["sample"]) == baseline.KS_SAMPLE_SIZE
        assert set(entry["sample"]) <= set(features[:, j].tolist())


def test_edges_come_from_a_bounded_sample_and_counts_from_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(baseline, "EDGE_SAMPLE_ROWS", 500)
    features = np.arange(20_000, dtype="float64").reshape(-1, 1)
    entry = baseline.feature_baseline(write_split(tmp_path / "t.csv", features), ["x"])["features"][
        0
    ]
    assert sum(entry["bins"]["counts"]) == 20_000
    assert (entry["min"], entry["max"]) == (0.0, 19_999.0)
    # Deciles of a 500-row uniform sample of 0..19999: within a few percent of the true ones.
    for edge, true in zip(entry["bins"]["edges"], range(2_000, 20_000, 2_000), strict=True):
        assert abs(edge - true) < 1_000


def test_missing_values_are_counted_and_left_out_of_the_bins(tmp_path: Path) -> None:
    features = np.asarray([[1.0, 5.0], [np.nan, 6.0], [3.0, 7.0], [4.0, np.nan]])
    result = baseline.feature_baseline(write_split(tmp_path / "t.csv", features), ["a", "b"])
    a, b = result["features"]
    assert (a["missing"], a["missing_share"], a["min"], a["max"]) == (1, 0.25, 1.0, 4.0)
    assert sum(a["bins"]["counts"]) == 3 and sum(b["bins"]["counts"]) == 3
    assert np.nan not in a["sample"] and len(a["sample"]) == 3


def test_unusable_splits_are_named_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(BaselineError, match=r"^empty\.csv: cannot read the split"):
        baseline.feature_baseline(empty, ["a"])
    wide = write_split(tmp_path / "wide.csv", np.ones((3, 2)))
    with pytest.raises(BaselineError, match=r"expected 4 columns .* found 3"):
        baseline.feature_baseline(wide, ["a", "b", "c"])
    hollow = write_split(tmp_path / "hollow.csv", np.asarray([[1.0, np.nan], [2.0, np.nan]]))
    with pytest.raises(BaselineError, match="no values for feature"):
        baseline.feature_baseline(hollow, ["a", "b"])


# --------------------------------------------------------------------------- predictions


def test_prediction_distribution_counts_the_most_probable_class() -> None:
    probabilities = np.asarray([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    assert baseline.prediction_distribution(probabilities, ["a", "b", "c"]) == {
        "class_names": ["a", "b", "c"],
        "rows": 4,
        "counts": [2, 1, 1],
        "shares": [0.5, 0.25, 0.25],
    }
    # Binary answers are [1 - p, p] per row, as the endpoint gives them.
    binary = baseline.prediction_distribution(np.asarray([[0.9, 0.1], [0.2, 0.8]]), ["no", "yes"])
    assert binary["counts"] == [1, 1]


def test_evaluate_writes_the_baseline_with_the_test_splits_predictions(
    model_dir: Path, split_dir: Path, tmp_path: Path, iris_baseline: dict[str, Any]
) -> None:
    report = evaluate.run(
        model_dir,
        split_dir / "test",
        tmp_path,
        MODEL_URI,
        baseline_dir=split_dir / "baseline",
        gate=evaluate.Gate(threshold=0.9),
    )
    written = baseline.load_baseline(tmp_path / "baseline.json")
    assert written["features"] == iris_baseline["features"]
    predictions = written["predictions"]
    assert predictions["split"] == "test" and predictions["rows"] == 30
    assert predictions["class_names"] == report["class_names"]
    matrix = report["multiclass_classification_metrics"]["confusion_matrix"]
    predicted = [sum(row[name] for row in matrix.values()) for name in report["class_names"]]
    assert predictions["counts"] == predicted


def test_evaluate_cli_refuses_a_missing_or_foreign_baseline(
    model_archive_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    base = ["--model-dir", str(model_archive_dir), "--test-dir", str(split_dir / "test")]
    base += ["--accuracy-threshold", "0.9"]
    failure = tmp_path / "message"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(failures.FAILURE_FILE_ENV, str(failure))
        code = evaluate.main(
            [*base, "--output-dir", str(tmp_path / "a"), "--baseline-dir", str(tmp_path)]
        )
        assert code == failures.VALIDATION_ERROR_EXIT_CODE
        assert failure.read_text().startswith("drift baseline: no baseline file at")
        foreign = json.loads((split_dir / "baseline" / "baseline.json").read_text())
        foreign["feature_columns"] = ["x", "y", "z", "w"]
        (tmp_path / "b").mkdir()
        (tmp_path / "b" / "baseline.json").write_text(json.dumps(foreign))
        out = tmp_path / "out-b"
        code = evaluate.main(
            [*base, "--output-dir", str(out), "--baseline-dir", str(tmp_path / "b")]
        )
        assert code == failures.VALIDATION_ERROR_EXIT_CODE
        assert "do not match the model's dataset contract" in failure.read_text()
        # All or nothing: no report, summary or page without the baseline.
        assert not out.exists() or list(out.iterdir()) == []


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(kind="other"), "not a drift baseline"),
        (
            lambda b: b.update(schema_version=99),
            r"schema_version 99, this monitor reads 1: rebuild",
        ),
        (lambda b: b.update(features=[]), "no features"),
        (
            lambda b: b["features"][0]["bins"].update(counts=[1]),
            "ascending edges and one count more",
        ),
        (lambda b: b["features"][0].update(min=None), "no finite min"),
        (lambda b: b.update(predictions={"counts": [1], "class_names": []}), "one count per class"),
    ],
)
def test_load_baseline_refuses_what_it_cannot_read(
    tmp_path: Path, iris_baseline: dict[str, Any], change: Any, message: str
) -> None:
    broken = json.loads(json.dumps(iris_baseline))
    change(broken)
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(BaselineError, match=message):
        baseline.load_baseline(path)


def test_load_baseline_names_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"^no baseline file at .*baseline\.json"):
        baseline.load_baseline(tmp_path / "baseline.json")
    (tmp_path / "baseline.json").write_text("{")
    with pytest.raises(BaselineError, match=r"^baseline\.json: unreadable JSON"):
        baseline.load_baseline(tmp_path / "baseline.json")


def test_baseline_text_refuses_nan() -> None:
    with pytest.raises(ValueError):
        baseline.baseline_text({"x": float("nan")})


def test_chunks_hold_about_the_same_text_as_prepares(tmp_path: Path) -> None:
    """The split is streamed in chunks of about CHUNK_TEXT_BYTES of CSV text, whatever its width:
    a fixed row count would make a wide split's chunks, and the parser's buffers, grow with it."""
    rng = np.random.RandomState(0)
    narrow = write_split(tmp_path / "narrow" / "train.csv", rng.normal(size=(20_000, 4)))
    text = narrow.read_bytes()
    bytes_per_row = len(text) / text.count(b"\n")
    rows = baseline.rows_per_chunk(narrow)
    assert rows * bytes_per_row == pytest.approx(baseline.CHUNK_TEXT_BYTES, rel=0.1)
    # 400 features: about 8 KB a row, so 256 KiB is 32 rows; the floor keeps the parser efficient.
    wide = write_split(tmp_path / "wide" / "train.csv", rng.normal(size=(300, 400)))
    assert baseline.rows_per_chunk(wide) == baseline.MIN_CHUNK_ROWS
    with pytest.raises(baseline.BaselineError, match=r"missing\.csv: cannot read the split"):
        baseline.rows_per_chunk(tmp_path / "missing.csv")
