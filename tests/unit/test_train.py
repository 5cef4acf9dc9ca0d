"""Tests for `ml/train.py`: argument handling, training, metric lines and the serving functions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from contracts import dataset
from emulator.sagemaker_executor import tuning
from ml import inference, train
from ml.train import DataValidationError
from tests.helpers import datasets

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_SCRIPT = REPO_ROOT / "ml" / "train.py"
# Small and fast, yet enough for >= 0.9 test accuracy on iris.
FAST_ARGS = ["--max_depth", "3", "--eta", "0.3", "--num_round", "30"]
FAST_ARGS += ["--early_stopping_rounds", "5"]
ONE_ROW = "5.1,3.5,1.4,0.2"


def iris_contract(split_dir: Path) -> train.Contract:
    return train.load_contract(split_dir / "contract", "contract channel")


def accuracy_on_test_split(model_dir: Path, split_dir: Path) -> float:
    model = train.model_fn(str(model_dir))
    features, labels = train.read_channel(split_dir / "test", "test", model.contract)
    predicted = train.predict_probabilities(features, model).argmax(axis=1)
    return float((predicted == labels).mean())


# --------------------------------------------------------------------------- arguments


def test_hyperparameters_accept_tuner_formats() -> None:
    args, unknown = train.parse_args(
        ["--max_depth", '"7"', "--num_round", "40.0", "--eta", "0.123", "--subsample", "'0.8'"]
    )
    params = train.hyperparameters_from_args(args)
    assert (params.max_depth, params.num_round, params.eta, params.subsample) == (7, 40, 0.123, 0.8)
    assert isinstance(params.max_depth, int) and isinstance(params.num_round, int)
    assert unknown == []


def test_unknown_arguments_are_returned_not_fatal() -> None:
    args, unknown = train.parse_args(["--max_depth", "4", "--sagemaker_region", "eu-west-1"])
    assert args.max_depth == 4
    assert unknown == ["--sagemaker_region", "eu-west-1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max_depth", "4.5"], "not a whole number"),
        (["--eta", "fast"], "not a number"),
        (["--eta", "1.5"], r"eta must be in \(0, 1\]"),
        (["--num_round", "0"], "num_round must be >= 1"),
        (["--subsample", "0"], r"subsample must be in \(0, 1\]"),
    ],
)
def test_invalid_hyperparameters(argv: list[str], message: str) -> None:
    with pytest.raises(DataValidationError, match=message):
        args, _ = train.parse_args(argv)
        train.hyperparameters_from_args(args)


def test_defaults() -> None:
    params = train.hyperparameters_from_args(train.parse_args([])[0])
    assert params == train.Hyperparameters()
    assert (params.max_depth, params.eta, params.num_round) == (5, 0.1, 100)


def test_channel_defaults_follow_container_env(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ("SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION", "SM_CHANNEL_CONTRACT", "SM_MODEL_DIR")
    for name in (*names, "SM_OUTPUT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    args, _ = train.parse_args([])
    assert (args.train, args.validation, args.contract, args.model_dir, args.output_data_dir) == (
        "/opt/ml/input/data/train",
        "/opt/ml/input/data/validation",
        "/opt/ml/input/data/contract",
        "/opt/ml/model",
        "/opt/ml/output/data",
    )
    assert args.objective is None
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/data/t")
    monkeypatch.setenv("SM_CHANNEL_CONTRACT", "/data/c")
    monkeypatch.setenv("SM_MODEL_DIR", "/m")
    args, _ = train.parse_args([])
    assert (args.train, args.contract, args.model_dir) == ("/data/t", "/data/c", "/m")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"TRAINING_JOB_NAME": "job-a", "SM_TRAINING_ENV": '{"job_name": "job-b"}'}, "job-a"),
        ({"SM_TRAINING_ENV": '{"job_name": "job-b"}'}, "job-b"),
        ({"SM_TRAINING_ENV": "not json"}, "local"),
        ({}, "local"),
    ],
)
def test_training_job_name(environ: dict[str, str], expected: str) -> None:
    assert train.training_job_name(environ) == expected


# --------------------------------------------------------------------------- the contract


def contract_document(classes: list[str], features: list[str]) -> dict[str, Any]:
    binary = len(classes) == 2
    return {
        "schema_version": 1,
        "label_column": "y",
        "feature_columns": features,
        "class_names": classes,
        "num_classes": len(classes),
        "objective": "binary:logistic" if binary else "multi:softprob",
    }


def test_contract_sets_objective_metrics_and_num_class() -> None:
    binary = train.parse_contract(contract_document(["no", "yes"], ["a b", "c"]), "c.json")
    multi = train.parse_contract(contract_document(["x", "y", "z"], ["a"]), "c.json")
    params = train.Hyperparameters()
    assert binary.binary and not multi.binary
    binary_params, multi_params = params.booster_params(binary), params.booster_params(multi)
    assert binary_params["objective"] == "binary:logistic" and "num_class" not in binary_params
    assert binary_params["eval_metric"] == ["error", "logloss"]
    assert multi_params["objective"] == "multi:softprob" and multi_params["num_class"] == 3
    assert multi_params["eval_metric"] == ["merror", "mlogloss"]
    assert (train.objective_metric(binary), train.objective_metric(multi)) == (
        "logloss",
        "mlogloss",
    )
    # The tuner's objective metric (prepare.py writes it as tuning_metric) has a built-in regex.
    for contract in (binary, multi):
        assert f"validation:{train.objective_metric(contract)}" in tuning.XGBOOST_BUILTIN_METRICS
        assert f"validation:{train.objective_metric(contract)}" == contract.tuning_metric


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 2}, "schema_version 2, expected 1"),
        ({"feature_columns": []}, "feature_columns is not a non-empty list"),
        ({"class_names": ["only"]}, "class_names is not a list of at least two names"),
        ({"objective": "multi:softprob"}, "do not fit 2 classes"),
        ({"num_classes": 3}, "do not fit 2 classes"),
    ],
)
def test_broken_contract_is_refused(change: dict[str, Any], message: str) -> None:
    document = {**contract_document(["no", "yes"], ["a"]), **change}
    with pytest.raises(DataValidationError, match=message) as caught:
        train.parse_contract(document, "contract.json in the contract channel")
    assert "rerun it" in str(caught.value)


def test_missing_contract_channel_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"no contract\.json in the contract channel"):
        train.load_contract(tmp_path, "contract channel")


@pytest.mark.parametrize("objective", ["binary:logistic", '"binary:logistic"'])
def test_objective_hyperparameter_must_match_the_contract(objective: str) -> None:
    multi = train.parse_contract(contract_document(["x", "y", "z"], ["a"]), "c.json")
    with pytest.raises(DataValidationError) as caught:
        train.check_objective(objective, multi)
    assert str(caught.value) == (
        "hyperparameter objective 'binary:logistic' does not fit the data: the contract has 3 "
        "classes (x, y, z), which needs objective 'multi:softprob'; the pipeline chose the "
        "wrong branch or the hyperparameter is stale"
    )
    train.check_objective("multi:softprob", multi)
    train.check_objective(None, multi)


def test_feature_names_xgboost_refuses_are_left_out_of_the_dmatrix() -> None:
    odd = train.parse_contract(contract_document(["x", "y"], ["a[1]", "b<2"]), "c.json")
    assert train.feature_names(odd) is None
    matrix = train.make_dmatrix(np.ones((2, 2)), odd, np.array([0, 1]))
    assert matrix.num_col() == 2


# --------------------------------------------------------------------------- channels


def test_read_channel_rejects_bad_labels_and_shapes(tmp_path: Path, split_dir: Path) -> None:
    contract = iris_contract(split_dir)
    (tmp_path / "a.csv").write_text("0,5.1,3.5,1.4,0.2\n3,5.1,3.5,1.4,0.2\n")
    with pytest.raises(DataValidationError, match=r"a\.csv line 2, column 1 \(label\)"):
        train.read_channel(tmp_path, "train", contract)
    (tmp_path / "a.csv").write_text("0,5.1,3.5,1.4\n")
    with pytest.raises(DataValidationError) as caught:
        train.read_channel(tmp_path, "train", contract)
    assert str(caught.value) == (
        "a.csv: expected 5 columns (the label, then the contract's features SepalLength, "
        "SepalWidth, PetalLength, PetalWidth), found 4"
    )
    (tmp_path / "a.csv").write_text("")
    with pytest.raises(DataValidationError, match="has no data rows"):
        train.read_channel(tmp_path, "train", contract)
    with pytest.raises(DataValidationError, match="does not exist"):
        train.read_channel(tmp_path / "missing", "validation", contract)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataValidationError, match=r"no \.csv file in the validation channel"):
        train.read_channel(tmp_path / "empty", "validation", contract)


def test_read_channel_round_trip_of_prepare_output(split_dir: Path) -> None:
    features, labels = train.read_channel(split_dir / "train", "train", iris_contract(split_dir))
    frame = pd.read_csv(split_dir / "train" / "train.csv", header=None)
    assert features.dtype == np.float64 and labels.dtype == np.int64
    assert np.array_equal(features, frame.iloc[:, 1:].to_numpy())
    assert np.array_equal(labels, frame[0].to_numpy())


# --------------------------------------------------------------------------- training


def test_training_reaches_good_test_accuracy(model_dir: Path, split_dir: Path) -> None:
    assert accuracy_on_test_split(model_dir, split_dir) >= 0.9


def test_model_files_and_metadata(model_dir: Path, split_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "code",
        "contract.json",
        "metadata.json",
        "xgboost-model.json",
    ]
    contract = json.loads((split_dir / "contract" / "contract.json").read_text())
    # The contract travels in the model unchanged.
    assert json.loads((model_dir / "contract.json").read_text()) == contract
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["training_job_name"] == "unit-test-job"
    assert metadata["hyperparameters"]["max_depth"] == 3
    assert metadata["hyperparameters"]["eta"] == 0.3
    assert metadata["row_counts"] == {"train": 90, "validation": 30}
    assert metadata["class_names"] == contract["class_names"]
    assert metadata["feature_names"] == contract["feature_columns"]
    assert metadata["objective"] == "multi:softprob"
    assert set(metadata["validation_metrics"]) == {"mlogloss", "merror"}
    assert 0 <= metadata["best_iteration"] < metadata["rounds_trained"] <= 30
    # What the run report draws: the class balance of the two splits and the learning curve.
    classes = contract["class_names"]
    assert metadata["class_counts"] == {
        "train": dict.fromkeys(classes, 30),
        "validation": dict.fromkeys(classes, 10),
    }
    curve = metadata["learning_curve"]
    assert curve["metric"] == "mlogloss" and curve["best_iteration"] == metadata["best_iteration"]
    assert len(curve["train"]) == len(curve["validation"]) == metadata["rounds_trained"]
    assert min(curve["validation"]) == curve["validation"][metadata["best_iteration"]]
    assert metadata["xgboost_version"] == train.xgb.__version__
    # The saved booster is cut at the best iteration.
    booster = train.model_fn(str(model_dir)).booster
    assert booster.num_boosted_rounds() == metadata["best_iteration"] + 1
    json.loads((model_dir / "xgboost-model.json").read_text())  # booster JSON format


def channels(split_dir: Path) -> tuple[Any, Any, Any]:
    contract = iris_contract(split_dir)
    return (
        contract,
        train.read_channel(split_dir / "train", "train", contract),
        train.read_channel(split_dir / "validation", "validation", contract),
    )


def test_early_stopping_cuts_the_model_at_the_best_round(split_dir: Path) -> None:
    params = train.Hyperparameters(max_depth=3, eta=0.5, num_round=300, early_stopping_rounds=3)
    result = train.train_model(params, *channels(split_dir))
    history = result.history["validation"]["mlogloss"]
    assert result.rounds_trained == len(history) < 300  # it did stop early
    assert result.best_iteration == int(np.argmin(history))
    assert result.rounds_trained == result.best_iteration + 1 + 3
    assert result.booster.num_boosted_rounds() == result.best_iteration + 1
    assert result.validation_metrics["mlogloss"] == pytest.approx(min(history))


def test_early_stopping_off_keeps_every_round(split_dir: Path) -> None:
    params = train.Hyperparameters(max_depth=2, num_round=7, early_stopping_rounds=0)
    result = train.train_model(params, *channels(split_dir))
    assert result.best_iteration == 6
    assert result.booster.num_boosted_rounds() == 7
    assert result.validation_metrics["mlogloss"] == pytest.approx(
        result.history["validation"]["mlogloss"][6]
    )


# The regex the tuner applies for this image: the container's built-in table
# (emulator/sagemaker_executor/tuning.py, from aws/sagemaker-xgboost-container
# algorithm_mode/metrics.py), never a copy of our own.
def service_objective(log: str, metric: str = "validation:mlogloss") -> float | None:
    """The objective as the service reads it: built-in regex on the log as CloudWatch shows it."""
    regex = tuning.XGBOOST_BUILTIN_METRICS[metric].regex
    return tuning.read_metrics({metric: regex}, log).get(metric)


def test_evaluation_line_is_xgboosts_format_and_read_by_the_builtin_regex() -> None:
    history = {
        "train": {"merror": [0.5, 0.01], "mlogloss": [0.9, 0.2]},
        "validation": {"merror": [0.5, 0.03333], "mlogloss": [0.95, 0.0731]},
    }
    line = train.evaluation_line(history, 1, ["merror", "mlogloss"])
    assert line == (
        "[1]\ttrain-merror:0.01000\ttrain-mlogloss:0.20000"
        "\tvalidation-merror:0.03333\tvalidation-mlogloss:0.07310"
    )
    assert service_objective(line) == pytest.approx(0.0731)
    # The raw tab never matches: the regex expects the log's "#011".
    regex = tuning.XGBOOST_BUILTIN_METRICS["validation:mlogloss"].regex
    assert re.search(regex, line) is None


def run_script(env_channels: dict[str, str], tmp_path: Path, *args: str) -> Any:
    env = {
        **os.environ,
        **env_channels,
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
        "SM_FAILURE_FILE": str(tmp_path / "failure" / "message"),
        "TRAINING_JOB_NAME": "subprocess-job",
    }
    return subprocess.run(
        [sys.executable, str(TRAIN_SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def split_channels(split_dir: Path) -> dict[str, str]:
    return {
        "SM_CHANNEL_TRAIN": str(split_dir / "train"),
        "SM_CHANNEL_VALIDATION": str(split_dir / "validation"),
        "SM_CHANNEL_CONTRACT": str(split_dir / "contract"),
    }


def test_script_subprocess_env_contract(split_dir: Path, tmp_path: Path) -> None:
    """Run train.py as SageMaker does: env channels, CLI hyperparameters, xgboost eval lines."""
    completed = run_script(
        split_channels(split_dir),
        tmp_path,
        *FAST_ARGS,
        "--objective",
        "multi:softprob",
        "--unexpected_extra",
        "1",
    )
    assert completed.returncode == 0, completed.stderr
    assert "ignoring unknown arguments: --unexpected_extra 1" in completed.stderr
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["training_job_name"] == "subprocess-job"
    # xgboost's own per-round lines, and the kept round restated last.
    rounds = [line for line in completed.stdout.splitlines() if re.match(r"\[\d+\]\t", line)]
    assert len(rounds) >= metadata["rounds_trained"]
    assert rounds[-1].startswith(f"[{metadata['best_iteration']}]\ttrain-merror:")
    assert rounds[-1].endswith(
        f"validation-mlogloss:{metadata['validation_metrics']['mlogloss']:.5f}"
    )
    # The service's reading of the log (as CloudWatch shows it) is the saved model's metric.
    objective = service_objective(completed.stdout + "\n" + completed.stderr)
    assert objective == pytest.approx(metadata["validation_metrics"]["mlogloss"], abs=1e-5)
    assert (tmp_path / "output" / "evals_result.json").is_file()
    assert (tmp_path / "model" / "contract.json").is_file()
    assert accuracy_on_test_split(tmp_path / "model", split_dir) >= 0.9


def test_script_refuses_an_objective_the_data_does_not_fit(split_dir: Path, tmp_path: Path) -> None:
    completed = run_script(
        split_channels(split_dir), tmp_path, *FAST_ARGS, "--objective", "binary:logistic"
    )
    assert completed.returncode == 2
    message = (tmp_path / "failure" / "message").read_text()
    assert message.startswith("hyperparameter objective 'binary:logistic' does not fit the data")
    assert not (tmp_path / "model").exists()


def test_script_without_contract_channel_fails_with_reason(split_dir: Path, tmp_path: Path) -> None:
    channels_only = {**split_channels(split_dir), "SM_CHANNEL_CONTRACT": str(tmp_path / "none")}
    completed = run_script(channels_only, tmp_path, *FAST_ARGS)
    assert completed.returncode == 2
    assert (
        "no contract.json in the contract channel" in (tmp_path / "failure" / "message").read_text()
    )


def test_model_directory_carries_its_code(model_dir: Path) -> None:
    """model.tar.gz serves on its own with SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code."""
    copied = model_dir / train.MODEL_CODE_DIR / "train.py"
    assert copied.read_bytes() == TRAIN_SCRIPT.read_bytes()


def test_script_bad_hyperparameter_fails_with_reason(split_dir: Path, tmp_path: Path) -> None:
    completed = run_script(split_channels(split_dir), tmp_path, "--max_depth", "deep")
    assert completed.returncode == 2
    assert "ERROR: invalid arguments: argument --max_depth: 'deep' is not a number" in (
        completed.stderr
    )
    assert "--max_depth" in (tmp_path / "failure" / "message").read_text()
    assert not (tmp_path / "model").exists()


# --------------------------------------------------------------------------- binary (cancer)


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Breast cancer through prepare.py and train.py's entry point: a binary model."""
    root = tmp_path_factory.mktemp("cancer")
    split = datasets.prepare_dataset(
        datasets.breast_cancer_csv(), "cancer.csv", datasets.CANCER_LABEL, root
    )
    completed = run_script(
        split_channels(split), root, *FAST_ARGS, "--objective", "binary:logistic"
    )
    assert completed.returncode == 0, completed.stderr
    return {"split": split, "model": root / "model", "stdout": completed.stdout}


def test_binary_training_logs_logloss_for_the_tuner(cancer: dict[str, Any]) -> None:
    metadata = json.loads((cancer["model"] / "metadata.json").read_text())
    assert metadata["objective"] == "binary:logistic"
    assert metadata["class_names"] == ["benign", "malignant"]
    assert set(metadata["validation_metrics"]) == {"error", "logloss"}
    rounds = [line for line in cancer["stdout"].splitlines() if re.match(r"\[\d+\]\t", line)]
    assert rounds[-1].startswith(f"[{metadata['best_iteration']}]\ttrain-error:")
    assert rounds[-1].endswith(
        f"validation-logloss:{metadata['validation_metrics']['logloss']:.5f}"
    )
    objective = service_objective(cancer["stdout"], "validation:logloss")
    assert objective == pytest.approx(metadata["validation_metrics"]["logloss"], abs=1e-5)
    config = json.loads(train.model_fn(str(cancer["model"])).booster.save_config())
    assert config["learner"]["objective"]["name"] == "binary:logistic"
    assert accuracy_on_test_split(cancer["model"], cancer["split"]) >= 0.9


def test_binary_serving_answers_two_probabilities_per_row(cancer: dict[str, Any]) -> None:
    model = train.model_fn(str(cancer["model"]))
    lines = (cancer["split"] / "test" / "test.csv").read_text().splitlines()[:3]
    body = "\n".join(line.split(",", 1)[1] for line in lines)
    answer, content_type = answered(
        train.output_fn(train.predict_fn(train.input_fn(body, "text/csv"), model), None)
    )
    rows = json.loads(answer)
    assert content_type == "application/json"
    assert [len(row) for row in rows] == [2, 2, 2]
    raw = model.booster.predict(
        train.make_dmatrix(
            np.asarray([[float(v) for v in line.split(",")[1:]] for line in lines]),
            model.contract,
        )
    )
    # [1-p, p]: p is xgboost's probability of class 1 ("malignant").
    assert np.allclose([row[1] for row in rows], raw, atol=1e-6)
    assert np.allclose(np.sum(rows, axis=1), 1.0, atol=1e-5)


def test_binary_serving_messages_name_the_contracts_columns(cancer: dict[str, Any]) -> None:
    model = train.model_fn(str(cancer["model"]))
    features = model.contract.feature_columns
    refused = train.predict_fn(train.input_fn("1.0,2.0", "text/csv"), model)
    assert isinstance(refused, inference.ErrorResponse) and refused.status == 400
    assert refused.message == (
        f"row 1: expected 30 comma-separated numbers ({','.join(features)}), got 2 values"
    )
    row = ["1.0"] * 30
    row[2] = "big"
    refused = train.predict_fn(train.input_fn(",".join(row), "text/csv"), model)
    assert isinstance(refused, inference.ErrorResponse)
    assert refused.message.startswith("row 1, mean perimeter: 'big' is not a number")
    # A header of the contract's names (with their spaces) is skipped.
    body = ",".join(features) + "\n" + ",".join(["1.0"] * 30)
    assert np.asarray(train.predict_fn(train.input_fn(body, "text/csv"), model)).shape == (1, 2)


# --------------------------------------------------------------------------- serving (iris)


def answered(result: tuple[str, str] | inference.ErrorResponse) -> tuple[str, str]:
    assert isinstance(result, tuple), result
    return result


def serve(model: inference.LoadedModel, body: str | bytes, content_type: str | None) -> Any:
    return train.predict_fn(train.input_fn(body, content_type), model)


def test_inference_round_trip(model_dir: Path) -> None:
    model = train.model_fn(str(model_dir))
    body = "5.1,3.5,1.4,0.2\n6.0,2.9,4.5,1.5\n6.9,3.1,5.4,2.1\n"
    request = train.input_fn(body.encode(), "text/csv")
    assert isinstance(request, inference.CsvRows) and len(request.rows) == 3
    probabilities = train.predict_fn(request, model)
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (3, 3)
    body_out, content_type = answered(train.output_fn(probabilities, "application/json"))
    # The (body, content type) tuple the container's transformer turns into a
    # response of that type (a bare string would go out as Flask's default text/html).
    assert content_type == "application/json"
    output = json.loads(body_out)
    assert np.allclose(np.sum(output, axis=1), 1.0, atol=1e-4)
    assert np.argmax(output, axis=1).tolist() == [0, 1, 2]


def test_inference_single_row_header_and_wildcard_accept(model_dir: Path) -> None:
    """Iris keeps its answer shape: one row of 3 probabilities in class order."""
    model = train.model_fn(str(model_dir))
    body = "SepalLength,SepalWidth,PetalLength,PetalWidth\r\n" + ONE_ROW + "\r\n"
    probabilities = serve(model, body, "text/csv; charset=utf-8")
    output, content_type = answered(train.output_fn(probabilities, "*/*"))
    assert content_type == "application/json"
    parsed = json.loads(output)
    assert len(parsed) == 1 and len(parsed[0]) == 3
    assert parsed[0][0] > 0.5  # a setosa flower
    assert json.loads(answered(train.output_fn(probabilities, None))[0]) == parsed


HEADER = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]


def test_a_header_row_reorders_the_columns_into_the_models_order(model_dir: Path) -> None:
    """The contract is the API: named columns in another order answer as in the model's order."""
    model = train.model_fn(str(model_dir))
    rows = ["5.1,3.5,1.4,0.2", "6.0,2.9,4.5,1.5", "6.9,3.1,5.4,2.1"]
    expected = serve(model, "\n".join(rows), "text/csv")
    order = [3, 1, 0, 2]  # PetalWidth, SepalWidth, SepalLength, PetalLength
    shuffled = [",".join(row.split(",")[i] for i in order) for row in rows]
    body = ",".join(HEADER[i] for i in order) + "\n" + "\n".join(shuffled)
    answered_shuffled = serve(model, body, "text/csv")
    assert isinstance(answered_shuffled, np.ndarray)
    assert np.array_equal(answered_shuffled, expected)
    # Quoted names, and names with spaces around them, are the same names.
    quoted = ",".join(f'"{HEADER[i]}"' for i in order) + "\n" + shuffled[0]
    assert np.array_equal(serve(model, quoted, "text/csv"), expected[:1])
    spaced = " , ".join(HEADER[i] for i in order) + "\n" + shuffled[0]
    assert np.array_equal(serve(model, spaced, "text/csv"), expected[:1])
    # The same rows without the header are read in the model's order: another answer.
    assert not np.allclose(serve(model, "\n".join(shuffled), "text/csv"), expected)


def test_a_bad_value_under_a_reordered_header_is_named_by_its_column(model_dir: Path) -> None:
    body = "PetalWidth,SepalLength,SepalWidth,PetalLength\n0.2,5.1,x,1.4"
    refused = serve(train.model_fn(str(model_dir)), body, "text/csv")
    assert isinstance(refused, inference.ErrorResponse)
    assert refused.message.startswith("row 1, SepalWidth: 'x' is not a number")


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        pytest.param(
            "SepalLength,SepalWidth,PetalLength,Colour",
            "missing 'PetalWidth'; unknown 'Colour'",
            id="unknown-and-missing",
        ),
        pytest.param("SepalLength,SepalWidth,PetalLength", "missing 'PetalWidth'", id="missing"),
        pytest.param(
            "SepalLength,SepalWidth,PetalLength,PetalWidth,Colour",
            "unknown 'Colour'",
            id="extra",
        ),
        pytest.param(
            "SepalLength,SepalLength,PetalLength,PetalWidth",
            "repeated 'SepalLength'; missing 'SepalWidth'",
            id="repeated",
        ),
        pytest.param(
            "sepallength,sepalwidth,petallength,petalwidth",
            "missing 'SepalLength', 'SepalWidth', 'PetalLength', 'PetalWidth'; unknown "
            "'sepallength', 'sepalwidth', 'petallength', 'petalwidth'",
            id="case-matters",
        ),
    ],
)
def test_a_header_naming_other_columns_is_refused_with_400(
    model_dir: Path, header: str, problems: str
) -> None:
    refused = serve(train.model_fn(str(model_dir)), header + "\n5.1,3.5,1.4,0.2", "text/csv")
    assert isinstance(refused, inference.ErrorResponse)
    assert (refused.status, refused.error) == (400, "ValueError")
    assert refused.message == (
        f"the header row does not name the model's features: {problems}; send the columns "
        "SepalLength,SepalWidth,PetalLength,PetalWidth (in any order, with a header row naming "
        "them) or no header row and the features in that order"
    )


@pytest.mark.parametrize("encode", [True, False], ids=["bytes", "decoded-text"])
def test_a_leading_byte_order_mark_is_accepted(model_dir: Path, encode: bool) -> None:
    """Bytes as a client sends them, and text as the container's stack hands text/csv over
    (decoded as plain UTF-8, the mark kept as U+FEFF)."""
    model = train.model_fn(str(model_dir))
    expected = serve(model, ONE_ROW, "text/csv")
    for text in ("\ufeff" + ONE_ROW, "\ufeff" + ",".join(HEADER) + "\n" + ONE_ROW):
        body: str | bytes = text.encode("utf-8") if encode else text
        assert np.array_equal(serve(model, body, "text/csv"), expected), text


def test_a_byte_order_mark_after_the_start_is_still_refused(model_dir: Path) -> None:
    refused = serve(train.model_fn(str(model_dir)), ONE_ROW + "\n\ufeff" + ONE_ROW, "text/csv")
    assert isinstance(refused, inference.ErrorResponse) and refused.status == 400


def test_model_without_contract_is_refused_at_load(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "xgboost-model.json").write_bytes((model_dir / "xgboost-model.json").read_bytes())
    with pytest.raises(dataset.ContractError, match=r"no contract\.json in the model directory"):
        train.model_fn(str(tmp_path))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("5.1,3.5,1.4", "text/csv", 400, r"row 1: expected 4 comma-separated numbers"),
        ("5.1,3.5,1.4,0.2,0.1", "text/csv", 400, r"numbers .*, got 5 values"),
        ("5.1,3.5,1.4,0.2\n5.1,x,1.4,0.2", "text/csv", 400, r"row 2, SepalWidth: 'x' is not"),
        ("5.1,3.5,inf,0.2", "text/csv", 400, r"PetalLength: 'inf' is not a finite number"),
        ("", "text/csv", 400, "no data rows"),
        ("SepalLength,SepalWidth,PetalLength,PetalWidth\n", "text/csv", 400, "no data rows"),
        ('{"instances": [[5.1, 3.5, 1.4, 0.2]]}', "application/json", 415, "not supported"),
        (ONE_ROW, None, 415, "not supported"),
        (b"\xff\xfe5.1", "text/csv", 400, "not UTF-8"),
        ("\ufffd5.1,3.5,1.4,0.2", "text/csv", 400, "not UTF-8"),
    ],
)
def test_bad_requests_get_a_4xx_response_not_an_exception(
    model_dir: Path, body: str | bytes, content_type: str | None, status: int, message: str
) -> None:
    """An exception would be the container's HTML 500; a refusal answers 4xx JSON."""
    refused = serve(train.model_fn(str(model_dir)), body, content_type)
    assert isinstance(refused, inference.ErrorResponse)
    assert (refused.status, re.search(message, refused.message) is not None) == (status, True)
    # It travels through predict_fn and output_fn unchanged, and answers as a WSGI application.
    assert train.output_fn(train.predict_fn(refused, None), "application/json") is refused  # type: ignore[arg-type]
    started: list[Any] = []
    chunks = refused({}, lambda status_line, headers: started.append((status_line, headers)))
    assert started[0][0].startswith(f"{status} ")
    assert dict(started[0][1])["Content-Type"] == "application/json"
    payload = json.loads(b"".join(chunks))
    assert set(payload) == {"error", "error-message"}
    if status == 415:
        assert payload["error"] == "UnsupportedFormatError"


EXPECTED_ROW = "expected 4 comma-separated numbers (SepalLength,SepalWidth,PetalLength,PetalWidth)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            "hello world", f"row 1: 'hello world' is not numeric; {EXPECTED_ROW}", id="words"
        ),
        pytest.param(
            "5.1;3.5;1.4;0.2",
            f"row 1: wrong delimiter: found values separated by ';' ('5.1;3.5;1.4;0.2'), "
            f"{EXPECTED_ROW}",
            id="semicolon",
        ),
        pytest.param(
            "5.1,3.5,1.4,0.2\n6.1\t2.8\t4.7\t1.2",
            "row 2: wrong delimiter: found values separated by tabs ('6.1\t2.8\t4.7\t1.2'), "
            f"{EXPECTED_ROW}",
            id="tab-second-row",
        ),
        pytest.param(
            "SepalLength;SepalWidth;PetalLength;PetalWidth\n5.1;3.5;1.4;0.2",
            "row 1: wrong delimiter: found values separated by ';' "
            f"('SepalLength;SepalWidth;PetalLength;PetalWidth'), {EXPECTED_ROW}",
            id="semicolon-header",
        ),
        pytest.param(
            "hello, world", f"row 1: 'hello' is not numeric; {EXPECTED_ROW}", id="two-words"
        ),
        pytest.param(
            "5.1,3.5,1.4,abc",
            f"row 1, PetalWidth: 'abc' is not a number; {EXPECTED_ROW}",
            id="one-word",
        ),
        pytest.param("", f"request body has no data rows; {EXPECTED_ROW}", id="empty"),
    ],
)
def test_bad_rows_are_named_precisely(model_dir: Path, body: str, message: str) -> None:
    """Words or a wrong delimiter are named, not reported as "no data rows"."""
    refused = serve(train.model_fn(str(model_dir)), body, "text/csv")
    assert isinstance(refused, inference.ErrorResponse)
    assert (refused.status, refused.error, refused.message) == (400, "ValueError", message)


def test_output_fn_refuses_an_accept_without_json() -> None:
    refused = train.output_fn(np.array([[0.2, 0.3, 0.5]]), "text/csv")
    assert isinstance(refused, inference.ErrorResponse) and refused.status == 406
    assert train.output_fn(np.array([[0.2, 0.3, 0.5]]), "text/csv, application/json") == (
        "[[0.2, 0.3, 0.5]]",
        "application/json",
    )


def test_model_fn_missing_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no xgboost-model\.json"):
        train.model_fn(str(tmp_path))
