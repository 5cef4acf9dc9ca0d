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

from local import tuning
from ml import train
from ml.train import DataValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_SCRIPT = REPO_ROOT / "ml" / "train.py"
# Small and fast, yet enough for >= 0.9 test accuracy on iris.
FAST_ARGS = ["--max_depth", "3", "--eta", "0.3", "--num_round", "30"]
FAST_ARGS += ["--early_stopping_rounds", "5"]
ONE_ROW = "5.1,3.5,1.4,0.2"


def accuracy_on_test_split(model_dir: Path, split_dir: Path) -> float:
    model = train.model_fn(str(model_dir))
    features, labels = train.read_channel(split_dir / "test", "test")
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
    for name in ("SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION", "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    args, _ = train.parse_args([])
    assert (args.train, args.validation, args.model_dir, args.output_data_dir) == (
        "/opt/ml/input/data/train",
        "/opt/ml/input/data/validation",
        "/opt/ml/model",
        "/opt/ml/output/data",
    )
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/data/t")
    monkeypatch.setenv("SM_MODEL_DIR", "/m")
    args, _ = train.parse_args([])
    assert (args.train, args.model_dir) == ("/data/t", "/m")


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


# --------------------------------------------------------------------------- channels


def test_read_channel_rejects_bad_labels_and_shapes(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("0,5.1,3.5,1.4,0.2\n3,5.1,3.5,1.4,0.2\n")
    with pytest.raises(DataValidationError, match=r"a\.csv line 2, column 1 \(label\)"):
        train.read_channel(tmp_path, "train")
    (tmp_path / "a.csv").write_text("0,5.1,3.5,1.4\n")
    with pytest.raises(DataValidationError, match="expected 5 columns"):
        train.read_channel(tmp_path, "train")
    (tmp_path / "a.csv").write_text("")
    with pytest.raises(DataValidationError, match="has no data rows"):
        train.read_channel(tmp_path, "train")
    with pytest.raises(DataValidationError, match="does not exist"):
        train.read_channel(tmp_path / "missing", "validation")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataValidationError, match=r"no \.csv file in the validation channel"):
        train.read_channel(tmp_path / "empty", "validation")


# --------------------------------------------------------------------------- training


def test_training_reaches_good_test_accuracy(model_dir: Path, split_dir: Path) -> None:
    assert accuracy_on_test_split(model_dir, split_dir) >= 0.9


def test_model_files_and_metadata(model_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "code",
        "metadata.json",
        "xgboost-model.json",
    ]
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["training_job_name"] == "unit-test-job"
    assert metadata["hyperparameters"]["max_depth"] == 3
    assert metadata["hyperparameters"]["eta"] == 0.3
    assert metadata["row_counts"] == {"train": 90, "validation": 30}
    assert metadata["class_names"] == train.CLASS_NAMES
    assert metadata["feature_names"] == train.FEATURE_COLUMNS
    assert set(metadata["validation_metrics"]) == {"mlogloss", "merror"}
    assert 0 <= metadata["best_iteration"] < metadata["rounds_trained"] <= 30
    assert metadata["xgboost_version"] == train.xgb.__version__
    # The saved booster is cut at the best iteration.
    booster = train.model_fn(str(model_dir)).booster
    assert booster.num_boosted_rounds() == metadata["best_iteration"] + 1
    json.loads((model_dir / "xgboost-model.json").read_text())  # booster JSON format


def test_early_stopping_cuts_the_model_at_the_best_round(split_dir: Path) -> None:
    params = train.Hyperparameters(max_depth=3, eta=0.5, num_round=300, early_stopping_rounds=3)
    result = train.train_model(
        params,
        train.read_channel(split_dir / "train", "train"),
        train.read_channel(split_dir / "validation", "validation"),
    )
    history = result.history["validation"]["mlogloss"]
    assert result.rounds_trained == len(history) < 300  # it did stop early
    assert result.best_iteration == int(np.argmin(history))
    assert result.rounds_trained == result.best_iteration + 1 + 3
    assert result.booster.num_boosted_rounds() == result.best_iteration + 1
    assert result.validation_metrics["mlogloss"] == pytest.approx(min(history))


def test_early_stopping_off_keeps_every_round(split_dir: Path) -> None:
    params = train.Hyperparameters(max_depth=2, num_round=7, early_stopping_rounds=0)
    result = train.train_model(
        params,
        train.read_channel(split_dir / "train", "train"),
        train.read_channel(split_dir / "validation", "validation"),
    )
    assert result.best_iteration == 6
    assert result.booster.num_boosted_rounds() == 7
    assert result.validation_metrics["mlogloss"] == pytest.approx(
        result.history["validation"]["mlogloss"][6]
    )


# The regex the tuner applies for this image: the container's built-in table (local/tuning.py,
# from aws/sagemaker-xgboost-container algorithm_mode/metrics.py), never a copy of our own.
OBJECTIVE_REGEX = tuning.XGBOOST_BUILTIN_METRICS["validation:mlogloss"].regex


def service_objective(log: str) -> float | None:
    """The objective as the service reads it: built-in regex on the log as CloudWatch shows it."""
    return tuning.read_metrics({"validation:mlogloss": OBJECTIVE_REGEX}, log).get(
        "validation:mlogloss"
    )


def test_evaluation_line_is_xgboosts_format_and_read_by_the_builtin_regex() -> None:
    history = {
        "train": {"merror": [0.5, 0.01], "mlogloss": [0.9, 0.2]},
        "validation": {"merror": [0.5, 0.03333], "mlogloss": [0.95, 0.0731]},
    }
    line = train.evaluation_line(history, 1)
    assert line == (
        "[1]\ttrain-merror:0.01000\ttrain-mlogloss:0.20000"
        "\tvalidation-merror:0.03333\tvalidation-mlogloss:0.07310"
    )
    assert service_objective(line) == pytest.approx(0.0731)
    # The raw tab never matches: the regex expects the log's "#011".
    assert re.search(OBJECTIVE_REGEX, line) is None


def test_script_subprocess_env_contract(split_dir: Path, tmp_path: Path) -> None:
    """Run train.py as SageMaker does: env channels, CLI hyperparameters, xgboost eval lines."""
    env = {
        **os.environ,
        "SM_CHANNEL_TRAIN": str(split_dir / "train"),
        "SM_CHANNEL_VALIDATION": str(split_dir / "validation"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
        "TRAINING_JOB_NAME": "subprocess-job",
    }
    completed = subprocess.run(
        [sys.executable, str(TRAIN_SCRIPT), *FAST_ARGS, "--unexpected_extra", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
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
    assert accuracy_on_test_split(tmp_path / "model", split_dir) >= 0.9


def test_model_directory_carries_its_code(model_dir: Path) -> None:
    """model.tar.gz serves on its own with SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code."""
    copied = model_dir / train.MODEL_CODE_DIR / "train.py"
    assert copied.read_bytes() == TRAIN_SCRIPT.read_bytes()


def test_script_bad_hyperparameter_fails_with_reason(split_dir: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SM_CHANNEL_TRAIN": str(split_dir / "train"),
        "SM_CHANNEL_VALIDATION": str(split_dir / "validation"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_FAILURE_FILE": str(tmp_path / "failure" / "message"),
    }
    completed = subprocess.run(
        [sys.executable, str(TRAIN_SCRIPT), "--max_depth", "deep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert "ERROR: invalid arguments: argument --max_depth: 'deep' is not a number" in (
        completed.stderr
    )
    assert "--max_depth" in (tmp_path / "failure" / "message").read_text()
    assert not (tmp_path / "model").exists()


# --------------------------------------------------------------------------- serving


def answered(result: tuple[str, str] | train.ErrorResponse) -> tuple[str, str]:
    assert isinstance(result, tuple), result
    return result


def test_inference_round_trip(model_dir: Path) -> None:
    model = train.model_fn(str(model_dir))
    body = "5.1,3.5,1.4,0.2\n6.0,2.9,4.5,1.5\n6.9,3.1,5.4,2.1\n"
    features = train.input_fn(body.encode(), "text/csv")
    assert isinstance(features, np.ndarray) and features.shape == (3, 4)
    probabilities = train.predict_fn(features, model)
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (3, 3)
    body_out, content_type = answered(train.output_fn(probabilities, "application/json"))
    # Issue 9 #9: the (body, content type) tuple the container's transformer turns into a
    # response of that type (a bare string would go out as Flask's default text/html).
    assert content_type == "application/json"
    output = json.loads(body_out)
    assert np.allclose(np.sum(output, axis=1), 1.0, atol=1e-4)
    assert np.argmax(output, axis=1).tolist() == [0, 1, 2]


def test_inference_single_row_header_and_wildcard_accept(model_dir: Path) -> None:
    model = train.model_fn(str(model_dir))
    body = "SepalLength,SepalWidth,PetalLength,PetalWidth\r\n" + ONE_ROW + "\r\n"
    features = train.input_fn(body, "text/csv; charset=utf-8")
    output, content_type = answered(train.output_fn(train.predict_fn(features, model), "*/*"))
    assert content_type == "application/json"
    parsed = json.loads(output)
    assert len(parsed) == 1 and len(parsed[0]) == 3
    assert parsed[0][0] > 0.5  # a setosa flower
    assert json.loads(answered(train.output_fn(train.predict_fn(features, model), None))[0]) == (
        parsed
    )


def test_predictions_match_metadata_free_load(model_dir: Path, tmp_path: Path) -> None:
    """model_fn also works with only xgboost-model.json (default class order)."""
    (tmp_path / "xgboost-model.json").write_bytes((model_dir / "xgboost-model.json").read_bytes())
    model = train.model_fn(str(tmp_path))
    assert model.class_names == train.CLASS_NAMES
    features = train.parse_csv_request(ONE_ROW)
    expected = train.predict_probabilities(features, train.model_fn(str(model_dir)))
    assert np.allclose(train.predict_probabilities(features, model), expected)


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
    body: str | bytes, content_type: str | None, status: int, message: str
) -> None:
    """Issue 9 #9: an exception would be the container's HTML 500; a refusal answers 4xx JSON."""
    refused = train.input_fn(body, content_type)
    assert isinstance(refused, train.ErrorResponse)
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
def test_bad_rows_are_named_precisely(body: str, message: str) -> None:
    """Issue 10 #6: words or a wrong delimiter are named, not reported as "no data rows"."""
    refused = train.input_fn(body, "text/csv")
    assert isinstance(refused, train.ErrorResponse)
    assert (refused.status, refused.error, refused.message) == (400, "ValueError", message)


def test_output_fn_refuses_an_accept_without_json() -> None:
    refused = train.output_fn(np.array([[0.2, 0.3, 0.5]]), "text/csv")
    assert isinstance(refused, train.ErrorResponse) and refused.status == 406
    assert train.output_fn(np.array([[0.2, 0.3, 0.5]]), "text/csv, application/json") == (
        "[[0.2, 0.3, 0.5]]",
        "application/json",
    )


def test_model_fn_missing_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no xgboost-model\.json"):
        train.model_fn(str(tmp_path))


def test_read_channel_round_trip_of_prepare_output(split_dir: Path) -> None:
    features, labels = train.read_channel(split_dir / "train", "train")
    frame = pd.read_csv(split_dir / "train" / "train.csv", header=None)
    assert np.array_equal(features, frame.iloc[:, 1:].to_numpy())
    assert np.array_equal(labels, frame[0].to_numpy())
