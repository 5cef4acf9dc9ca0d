"""Tests for `ml/evaluate.py`: the evaluation.json contract, model extraction and failures."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contracts import dataset
from contracts import evaluation as reports
from ml import evaluate, quality, train
from ml.evaluate import DataValidationError
from tests.helpers import datasets, models

REPO_ROOT = Path(__file__).resolve().parents[2]
EVALUATE_SCRIPT = REPO_ROOT / "ml" / "evaluate.py"
CLASSES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
MODEL_URI = "s3://bucket/pipelines/exec-1/tune/job-001/output/model.tar.gz"


GATE = evaluate.Gate(threshold=0.9)


def run_evaluation(
    model_dir: Path, test_dir: Path, output_dir: Path, model_uri: str
) -> dict[str, Any]:
    return evaluate.run(model_dir, test_dir, output_dir, model_uri, gate=GATE)


def assert_evaluation_shape(report: dict[str, Any], metadata: dict[str, Any]) -> None:
    """The exact shape the state machine and the Model Registry rely on."""
    assert list(report) == [
        "multiclass_classification_metrics",
        "per_class_metrics",
        "model",
        "class_names",
        "row_counts",
        "class_counts",
        "feature_importance",
        "dataset_contract",
        "registry_metadata",
        "smoke_test",
        "xgboost_version",
    ]
    metrics = report["multiclass_classification_metrics"]
    assert list(metrics) == [
        "accuracy",
        "weighted_f1",
        "weighted_precision",
        "weighted_recall",
        "confusion_matrix",
    ]
    for name in ("accuracy", "weighted_f1", "weighted_precision", "weighted_recall"):
        assert set(metrics[name]) == {"value", "standard_deviation"}
        assert isinstance(metrics[name]["value"], float)
        assert 0.0 <= metrics[name]["value"] <= 1.0
        assert metrics[name]["standard_deviation"] == "NaN"
    matrix = metrics["confusion_matrix"]
    assert list(matrix) == CLASSES
    assert all(list(row) == CLASSES for row in matrix.values())
    assert sum(sum(row.values()) for row in matrix.values()) == report["row_counts"]["test"]
    # accuracy = trace / total
    trace = sum(matrix[name][name] for name in CLASSES)
    assert metrics["accuracy"]["value"] == pytest.approx(trace / report["row_counts"]["test"])
    assert list(report["per_class_metrics"]) == CLASSES
    for name, values in report["per_class_metrics"].items():
        assert set(values) == {"precision", "recall", "f1", "support"}
        assert values["support"] == sum(matrix[name].values())
    assert report["model"]["artifact_uri"] == MODEL_URI
    assert report["model"]["training_job_name"] == metadata["training_job_name"]
    assert report["model"]["hyperparameters"] == metadata["hyperparameters"]
    assert report["model"]["best_iteration"] == metadata["best_iteration"]
    assert report["class_names"] == CLASSES
    assert report["row_counts"] == {"train": 90, "validation": 30, "test": 30}
    assert report["xgboost_version"] == evaluate.xgb.__version__
    assert report["dataset_contract"]["class_names"] == CLASSES


def test_evaluation_json_from_model_archive(
    model_archive_dir: Path, model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    code = evaluate.main(
        [
            "--model-dir",
            str(model_archive_dir),
            "--test-dir",
            str(split_dir / "test"),
            "--output-dir",
            str(tmp_path / "evaluation"),
            "--model-uri",
            MODEL_URI,
            "--accuracy-threshold",
            "0.9",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "evaluation").iterdir()) == [
        "evaluation.json",
        "report.html",
        "summary.json",
    ]
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert_evaluation_shape(report, metadata)
    assert report["multiclass_classification_metrics"]["accuracy"]["value"] >= 0.9
    assert report["model"]["training_job_name"] == "unit-test-job"


def test_extracted_model_dir_is_accepted(model_dir: Path, split_dir: Path, tmp_path: Path) -> None:
    report = run_evaluation(model_dir, split_dir / "test", tmp_path, MODEL_URI)
    assert_evaluation_shape(report, json.loads((model_dir / "metadata.json").read_text()))


def test_what_the_report_draws_is_recorded(
    model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    evaluation = run_evaluation(model_dir, split_dir / "test", tmp_path, MODEL_URI)
    importance = evaluation["feature_importance"]
    assert importance["importance_type"] == "gain" and importance["total_features"] == 4
    gains = list(importance["values"].values())
    assert len(gains) == importance["used_features"] >= 1
    assert gains == sorted(gains, reverse=True) and all(g > 0 for g in gains)
    assert set(importance["values"]) <= set(evaluation["dataset_contract"]["feature_columns"])
    assert evaluation["class_counts"] == {
        "train": dict.fromkeys(CLASSES, 30),
        "validation": dict.fromkeys(CLASSES, 10),
        "test": dict.fromkeys(CLASSES, 10),
    }
    metadata = json.loads((model_dir / "metadata.json").read_text())
    curve = evaluation["model"]["learning_curve"]
    assert curve["rounds"] == list(range(metadata["rounds_trained"]))
    assert curve["validation"] == metadata["learning_curve"]["validation"]
    page = (tmp_path / "report.html").read_text()
    assert "<code>validation:mlogloss</code>" in page and "Iris-versicolor" in page


def test_feature_importance_without_feature_names_maps_f_indices() -> None:
    class Booster:
        def get_score(self, importance_type: str) -> dict[str, float]:
            assert importance_type == "gain"
            return {"f2": 3.0, "f0": 5.0}

    # '[' : xgboost gets no names
    contract = dataset.Contract("label", ["a[1]", "b", "c"], ["x", "y"], {})
    assert evaluate.feature_importance(Booster(), contract) == {  # type: ignore[arg-type]
        "importance_type": "gain",
        "values": {"a[1]": 5.0, "c": 3.0},
        "used_features": 2,
        "total_features": 3,
    }


def test_a_long_learning_curve_is_thinned_with_its_round_numbers() -> None:
    values = [1.0 / (i + 1) for i in range(400)]
    curve = evaluate.learning_curve(
        {"learning_curve": {"metric": "logloss", "train": values, "validation": values}}
    )
    assert curve is not None
    assert len(curve["rounds"]) == len(curve["validation"]) == quality.CURVE_POINTS
    assert curve["rounds"][0] == 0 and curve["rounds"][-1] == 399
    assert curve["validation"][-1] == values[399]
    assert evaluate.learning_curve({}) is None


def test_a_missing_report_renderer_fails_before_any_output(
    model_dir: Path, split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluate, "run_report", None)  # a bundle without report.py
    with pytest.raises(evaluate.ReportCodeMissing, match=r"report\.py is not beside evaluate\.py"):
        evaluate.run(model_dir, split_dir / "test", tmp_path / "out", MODEL_URI, gate=GATE)
    assert not (tmp_path / "out").exists()


def test_compute_metrics_known_values() -> None:
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 2, 2])
    overall, per_class = quality.compute_metrics(y_true, y_pred, CLASSES)
    assert overall["accuracy"]["value"] == pytest.approx(5 / 6)
    assert overall["confusion_matrix"]["Iris-versicolor"] == {
        "Iris-setosa": 0,
        "Iris-versicolor": 1,
        "Iris-virginica": 1,
    }
    assert per_class["Iris-virginica"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert overall["weighted_recall"]["value"] == pytest.approx(5 / 6)
    expected_f1 = (1.0 + 2 / 3 + 0.8) / 3
    assert overall["weighted_f1"]["value"] == pytest.approx(expected_f1)


def test_missing_model_is_a_clear_error(split_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"no model\.tar\.gz or xgboost-model\.json"):
        run_evaluation(tmp_path / "nothing", split_dir / "test", tmp_path / "out", MODEL_URI)
    assert not (tmp_path / "out").exists()


def test_archive_without_model_file(tmp_path: Path, split_dir: Path) -> None:
    archive_dir = tmp_path / "model"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:
        data = b"{}"
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataValidationError, match=r"does not contain xgboost-model\.json"):
        run_evaluation(archive_dir, split_dir / "test", tmp_path / "out", MODEL_URI)


@pytest.mark.parametrize(
    ("member", "kind"),
    [("../escape.txt", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)],
    ids=["path-traversal", "symlink"],
)
def test_unsafe_archive_members_are_refused(tmp_path: Path, member: str, kind: bytes) -> None:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    destination = tmp_path / "extract"
    destination.mkdir()
    with pytest.raises(DataValidationError, match=f"member '{member}'"):
        evaluate.safe_extract(archive, destination)
    assert list(destination.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()


def test_corrupt_archive(tmp_path: Path) -> None:
    (tmp_path / "model.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(DataValidationError, match="unreadable model archive"):
        evaluate.locate_model(tmp_path, tmp_path / "scratch")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("0,5.1,3.5,1.4\n", "expected 5 columns"),
        ("0,5.1,3.5,1.4,0.2\n7,5.1,3.5,1.4,0.2\n", "not a class index"),
        ("0,5.1,3.5,,0.2\n", "line 1: missing value"),
    ],
    ids=["empty", "columns", "label", "missing"],
)
def test_bad_test_set(tmp_path: Path, model_dir: Path, content: str, message: str) -> None:
    (tmp_path / "test.csv").write_text(content)
    with pytest.raises(DataValidationError, match=message):
        evaluate.read_test_set(tmp_path, evaluate.load_contract(model_dir))


def test_no_test_files(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(DataValidationError, match=r"no \.csv file in test directory"):
        evaluate.read_test_set(tmp_path, evaluate.load_contract(model_dir))


def test_script_failure_convention(model_archive_dir: Path, tmp_path: Path) -> None:
    """As a subprocess: exit code 2, `ERROR:` on stderr, the reason file, no evaluation.json."""
    empty_test = tmp_path / "test"
    empty_test.mkdir()
    (empty_test / "test.csv").write_text("")
    failure_file = tmp_path / "failure" / "message"
    completed = subprocess.run(
        [
            sys.executable,
            str(EVALUATE_SCRIPT),
            "--model-dir",
            str(model_archive_dir),
            "--test-dir",
            str(empty_test),
            "--output-dir",
            str(tmp_path / "evaluation"),
            "--accuracy-threshold",
            "0.9",
        ],
        env={"SM_FAILURE_FILE": str(failure_file), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert "ERROR: the test set in" in completed.stderr
    assert "is empty" in failure_file.read_text()
    assert not (tmp_path / "evaluation").exists()


# --------------------------------------------------------------------------- contract, smoke test


def test_dataset_contract_is_the_models_copy(
    model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    report = run_evaluation(model_dir, split_dir / "test", tmp_path, MODEL_URI)
    contract = json.loads((split_dir / "contract" / "contract.json").read_text())
    assert report["dataset_contract"] == contract


def test_model_without_contract_is_refused(
    model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "model"
    bare.mkdir()
    for name in ("xgboost-model.json", "metadata.json"):
        (bare / name).write_bytes((model_dir / name).read_bytes())
    with pytest.raises(DataValidationError, match=r"the model has no contract\.json"):
        run_evaluation(bare, split_dir / "test", tmp_path / "out", MODEL_URI)
    assert not (tmp_path / "out").exists()


def test_smoke_test_rows_one_per_class_first_exact_text(
    model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    report = run_evaluation(model_dir, split_dir / "test", tmp_path, MODEL_URI)
    smoke = report["smoke_test"]
    assert set(smoke) == {"content_type", "body", "rows", "probabilities", "tolerance"}
    assert (smoke["content_type"], smoke["rows"], smoke["tolerance"]) == ("text/csv", 5, 1e-4)
    test_lines = (split_dir / "test" / "test.csv").read_text().splitlines()
    by_text = {line.split(",", 1)[1]: int(line.split(",", 1)[0]) for line in test_lines}
    rows = smoke["body"].splitlines()
    assert smoke["body"].endswith("\n") and len(rows) == 5
    assert all(row in by_text for row in rows)  # the exact feature text of test rows
    assert [by_text[row] for row in rows[:3]] == [0, 1, 2]  # one per class first
    # The probabilities are what the endpoint answers for that body (train.py's serving).
    model = train.model_fn(str(model_dir))
    served = json.loads(
        train.output_fn(train.predict_fn(train.input_fn(smoke["body"], "text/csv"), model), None)[0]
    )
    assert np.allclose(served, smoke["probabilities"], atol=smoke["tolerance"])
    assert [len(p) for p in smoke["probabilities"]] == [3] * 5


def test_smoke_test_rows_with_fewer_test_rows_than_the_limit(tmp_path: Path) -> None:
    (tmp_path / "test.csv").write_text("1,2.5,3\n1,2.0,3\n0,9,9\n")
    assert evaluate.smoke_test_rows(tmp_path, 2) == ["9,9", "2.5,3", "2.0,3"]


# --------------------------------------------------------------------------- binary


@pytest.fixture(scope="module")
def cancer_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cancer-eval")
    split = datasets.prepare_dataset(
        datasets.breast_cancer_csv(), "cancer.csv", datasets.CANCER_LABEL, root
    )
    args, _ = train.parse_args(
        [
            "--max_depth",
            "3",
            "--eta",
            "0.3",
            "--num_round",
            "30",
            "--early_stopping_rounds",
            "5",
            "--train",
            str(split / "train"),
            "--validation",
            str(split / "validation"),
            "--contract",
            str(split / "contract"),
            "--model-dir",
            str(root / "model"),
            "--output-data-dir",
            str(root / "output"),
        ]
    )
    train.run_training(args, job_name="cancer-job")
    return {"split": split, "model": root / "model"}


def test_binary_report_has_sagemakers_binary_metrics(
    cancer_model: dict[str, Path], tmp_path: Path
) -> None:
    report = run_evaluation(
        cancer_model["model"], cancer_model["split"] / "test", tmp_path, MODEL_URI
    )
    assert "multiclass_classification_metrics" not in report
    metrics = report["binary_classification_metrics"]
    for name in ("accuracy", "precision", "recall", "f1", "auc"):
        assert set(metrics[name]) == {"value", "standard_deviation"}
        assert metrics[name]["standard_deviation"] == "NaN"
        assert 0.0 <= metrics[name]["value"] <= 1.0
    assert metrics["accuracy"]["value"] >= 0.9 and metrics["auc"]["value"] >= 0.95
    matrix = metrics["confusion_matrix"]
    assert list(matrix) == ["benign", "malignant"]
    assert sum(sum(row.values()) for row in matrix.values()) == report["row_counts"]["test"] == 114
    (tn, fp), (fn, tp) = ([row[p] for p in matrix] for row in matrix.values())
    assert metrics["accuracy"]["value"] == pytest.approx((tp + tn) / 114)
    assert metrics["precision"]["value"] == pytest.approx(tp / (tp + fp))
    assert metrics["recall"]["value"] == pytest.approx(tp / (tp + fn))
    roc = metrics["receiver_operating_characteristic_curve"]
    assert len(roc["false_positive_rates"]) == len(roc["true_positive_rates"]) <= 101
    assert report["class_names"] == ["benign", "malignant"]
    assert report["dataset_contract"]["problem_type"] == "binary"
    assert reports.accuracy(report) == metrics["accuracy"]["value"]
    smoke = report["smoke_test"]
    assert [len(p) for p in smoke["probabilities"]] == [2] * smoke["rows"]
    assert all(abs(sum(p) - 1) < 1e-5 for p in smoke["probabilities"])


def test_compute_binary_metrics_known_values() -> None:
    y_true = np.array([0, 0, 0, 1, 1])
    probability = np.array([0.1, 0.6, 0.2, 0.8, 0.4])
    metrics = quality.compute_binary_metrics(y_true, probability, ["no", "yes"])
    assert metrics["confusion_matrix"] == {"no": {"no": 2, "yes": 1}, "yes": {"no": 1, "yes": 1}}
    assert metrics["accuracy"]["value"] == pytest.approx(3 / 5)
    assert metrics["precision"]["value"] == pytest.approx(1 / 2)
    assert metrics["recall"]["value"] == pytest.approx(1 / 2)
    assert metrics["f1"]["value"] == pytest.approx(1 / 2)
    assert metrics["auc"]["value"] == pytest.approx(5 / 6)
    assert metrics["false_positive_rate"]["value"] == pytest.approx(1 / 3)


def test_wine_multiclass_with_numeric_labels_first(tmp_path: Path) -> None:
    split = datasets.prepare_dataset(datasets.wine_csv(), "wine.csv", datasets.WINE_LABEL, tmp_path)
    contract = json.loads((split / "contract" / "contract.json").read_text())
    assert contract["class_names"] == ["1", "2", "3"]
    assert len(contract["feature_columns"]) == 13
    args, _ = train.parse_args(
        [
            "--max_depth",
            "3",
            "--eta",
            "0.3",
            "--num_round",
            "30",
            "--train",
            str(split / "train"),
            "--validation",
            str(split / "validation"),
            "--contract",
            str(split / "contract"),
            "--model-dir",
            str(tmp_path / "model"),
            "--output-data-dir",
            str(tmp_path / "output"),
        ]
    )
    train.run_training(args, job_name="wine-job")
    report = run_evaluation(tmp_path / "model", split / "test", tmp_path / "eval", MODEL_URI)
    assert report["multiclass_classification_metrics"]["accuracy"]["value"] >= 0.85
    assert list(report["multiclass_classification_metrics"]["confusion_matrix"]) == ["1", "2", "3"]
    assert [len(p) for p in report["smoke_test"]["probabilities"]] == [3] * 5


# --------------------------------------------------------------------------- the champion

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/models/3"
BLOCK = "multiclass_classification_metrics"


def noisy_split(split_dir: Path, target: Path) -> Path:
    """The split with its training labels shuffled: the same contract, a much worse model."""
    shutil.copytree(split_dir, target)
    rng = np.random.RandomState(0)
    for name in ("train", "validation"):
        path = target / name / f"{name}.csv"
        lines = path.read_text().splitlines()
        labels = [line.split(",", 1)[0] for line in lines]
        rng.shuffle(labels)
        path.write_text(
            "".join(f"{a},{b.split(',', 1)[1]}\n" for a, b in zip(labels, lines, strict=True))
        )
    return target


@pytest.fixture(scope="module")
def weak_model(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("weak")
    return models.train_model_dir(noisy_split(split_dir, root / "split"), root / "model")


def champion_dir(model: Path, target: Path, contract: dict[str, Any] | None = None) -> Path:
    """The serving model as the evaluation step receives it: its model.tar.gz alone, with its
    contract replaced by ``contract`` (another API) when given."""
    copy = target / "extracted"
    shutil.copytree(model, copy)
    if contract is not None:
        (copy / "contract.json").write_text(json.dumps(contract))
    (target / "champion").mkdir()
    (target / "champion" / "model.tar.gz").write_bytes(models.model_tar_gz(copy))
    return target / "champion"


def evaluate_against(
    candidate: Path, champion: Path, split_dir: Path, out: Path, margin: float = 0.02
) -> dict[str, Any]:
    return evaluate.run(
        candidate,
        split_dir / "test",
        out,
        MODEL_URI,
        gate=evaluate.Gate(threshold=0.3, margin=margin),
        champion_dir=champion,
        champion_package_arn=ARN,
        run_name="s3-iris-7",
    )


def written(out: Path, name: str) -> Any:
    text = (out / name).read_text()
    return json.loads(text) if name.endswith(".json") else text


def test_a_better_champion_is_scored_on_the_same_rows_and_refuses_the_candidate(
    model_dir: Path, weak_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    alone = run_evaluation(model_dir, split_dir / "test", tmp_path / "alone", MODEL_URI)
    champion = champion_dir(model_dir, tmp_path)
    report = evaluate_against(weak_model, champion, split_dir, tmp_path / "out")
    block = report["champion"]
    assert (block["model_package_arn"], block["contract_matches"], block["differences"]) == (
        ARN,
        True,
        [],
    )
    # The serving model's numbers on the same test rows: what it scores when evaluated alone.
    assert block["metrics"] == {BLOCK: alone[BLOCK]}
    ours, theirs = report[BLOCK]["accuracy"]["value"], alone[BLOCK]["accuracy"]["value"]
    assert ours < theirs - 0.02
    summary = written(tmp_path / "out", "summary.json")
    assert summary["gate"]["passed"] is False
    assert f"{ours:.4f}" in summary["gate"]["cause"] and f"{theirs:.4f}" in summary["gate"]["cause"]
    assert "by more than the margin 0.02" in summary["gate"]["cause"]
    assert summary["champion"] == {
        "model_package_arn": ARN,
        "accuracy": theirs,
        "contract_matches": True,
    }
    page = written(tmp_path / "out", "report.html")
    assert "Refused by the quality gate" in page and ARN in page and "s3-iris-7" in page


def test_a_worse_champion_lets_the_candidate_pass_and_be_auto_approvable(
    model_dir: Path, weak_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    report = evaluate_against(
        model_dir, champion_dir(weak_model, tmp_path), split_dir, tmp_path / "o"
    )
    theirs = report["champion"]["metrics"][BLOCK]["accuracy"]["value"]
    assert theirs < report[BLOCK]["accuracy"]["value"]
    summary = written(tmp_path / "o", "summary.json")
    assert summary["gate"]["passed"] is True and summary["gate"]["cause"] == ""
    assert summary["promotion"] == {"auto_approvable": True, "reason": "passed the gate"}
    assert summary["registration"]["metadata"]["champion_accuracy"] == f"{theirs:.6g}"
    assert "Passed the quality gate" in written(tmp_path / "o", "report.html")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda c: c.update(class_names=list(reversed(c["class_names"]))), ["classes"]),
        (lambda c: c.update(feature_columns=list(reversed(c["feature_columns"]))), ["order"]),
        (lambda c: c["feature_columns"].__setitem__(0, "Colour"), ["features"]),
    ],
    ids=["class-order", "feature-order", "feature-set"],
)
def test_a_champion_with_another_api_is_not_scored_and_blocks_auto_approval(
    model_dir: Path, split_dir: Path, tmp_path: Path, change: Any, named: list[str]
) -> None:
    contract = json.loads((model_dir / "contract.json").read_text())
    change(contract)
    champion = champion_dir(model_dir, tmp_path, contract)
    report = evaluate_against(model_dir, champion, split_dir, tmp_path / "o")
    block = report["champion"]
    assert block["contract_matches"] is False and "metrics" not in block
    assert [difference.split(":")[0] for difference in block["differences"]] == named
    summary = written(tmp_path / "o", "summary.json")
    assert summary["gate"]["passed"] is True  # the threshold alone decides
    assert summary["promotion"]["auto_approvable"] is False
    assert "needs an explicit approval" in summary["promotion"]["reason"]
    assert summary["champion"]["contract_matches"] is False
    assert summary["contract"]["differences"] == block["differences"]
    assert "contract differs from the champion" in written(tmp_path / "o", "report.html")


def test_a_serving_model_that_cannot_be_read_is_not_comparable(
    model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    champion = tmp_path / "champion"
    champion.mkdir()
    (champion / "model.tar.gz").write_bytes(b"not a tarball")
    report = evaluate_against(model_dir, champion, split_dir, tmp_path / "o")
    [difference] = report["champion"]["differences"]
    assert difference.startswith("contract: the serving model cannot be read (")
    assert "unreadable model archive" in difference


def test_no_champion_writes_no_champion_block(
    model_dir: Path, split_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "none"
    marker.mkdir()
    (marker / "README").write_text("No model serves the endpoint.\n")
    report = evaluate.run(
        model_dir, split_dir / "test", tmp_path / "o", MODEL_URI, gate=GATE, champion_dir=marker
    )
    assert "champion" not in report
    assert written(tmp_path / "o", "summary.json")["champion"] is None


def test_the_champion_inputs_must_agree(model_dir: Path, split_dir: Path, tmp_path: Path) -> None:
    """ChampionModelUri and ChampionPackageArn come from one lookup: a mismatch is a wiring
    error, refused before any output."""
    champion = champion_dir(model_dir, tmp_path)
    with pytest.raises(ValueError, match=r"'none' but .* exists"):
        evaluate.run(
            model_dir,
            split_dir / "test",
            tmp_path / "a",
            MODEL_URI,
            gate=GATE,
            champion_dir=champion,
        )
    with pytest.raises(ValueError, match=r"names a model but .* does not exist"):
        evaluate.run(
            model_dir,
            split_dir / "test",
            tmp_path / "b",
            MODEL_URI,
            gate=GATE,
            champion_dir=tmp_path / "empty",
            champion_package_arn=ARN,
        )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_outputs_are_written_all_or_none(
    model_dir: Path, split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = evaluate.os.replace
    calls = []

    def fail_second(source: Any, target: Any) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full")
        replace(source, target)

    monkeypatch.setattr(evaluate.os, "replace", fail_second)
    with pytest.raises(OSError, match="disk full"):
        run_evaluation(model_dir, split_dir / "test", tmp_path / "o", MODEL_URI)
    assert list((tmp_path / "o").iterdir()) == []


def test_the_cli_passes_the_gate_and_the_champion(
    model_dir: Path, weak_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    champion = champion_dir(model_dir, tmp_path)
    argv = ["--model-dir", str(weak_model), "--test-dir", str(split_dir / "test")]
    argv += ["--output-dir", str(tmp_path / "o"), "--champion-dir", str(champion)]
    argv += ["--champion-package-arn", ARN, "--accuracy-threshold", "0.3"]
    assert evaluate.main([*argv, "--champion-margin", "0.6"]) == 0
    summary = written(tmp_path / "o", "summary.json")
    assert (summary["gate"]["threshold"], summary["gate"]["margin"]) == (0.3, 0.6)
    assert summary["gate"]["passed"] is True  # within the wide margin
    with pytest.raises(DataValidationError, match=r"--champion-margin: '2' is not a number from"):
        evaluate.parse_args([*argv, "--champion-margin", "2"])
