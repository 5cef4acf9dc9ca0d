"""The demo's HTML run report (harness/report.py): content, pictures, escaping, edge cases."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from harness import report

PNG_TAG = '<img src="data:image/png;base64,'
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/iris-models/3"
CLASSES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]


def evaluation() -> dict[str, Any]:
    # Deliberately asymmetric, so a transposed matrix would show.
    matrix = {
        "Iris-virginica": {"Iris-setosa": 0, "Iris-versicolor": 2, "Iris-virginica": 8},
        "Iris-setosa": {"Iris-setosa": 10, "Iris-versicolor": 0, "Iris-virginica": 0},
        "Iris-versicolor": {"Iris-setosa": 0, "Iris-versicolor": 9, "Iris-virginica": 1},
    }
    return {
        "multiclass_classification_metrics": {
            "accuracy": {"value": 0.9, "standard_deviation": "NaN"},
            "weighted_f1": {"value": 0.8989, "standard_deviation": "NaN"},
            "confusion_matrix": matrix,
        },
        "per_class_metrics": {
            "Iris-setosa": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 10},
            "Iris-versicolor": {"precision": 0.8182, "recall": 0.9, "f1": 0.8571, "support": 10},
            "Iris-virginica": {"precision": 0.8889, "recall": 0.8, "f1": 0.8421, "support": 10},
        },
        "model": {
            "artifact_uri": "s3://bucket/pipelines/p1/tuning/job-2/output/model.tar.gz",
            "training_job_name": "tuning-job-002",
            "hyperparameters": {"max_depth": 7, "eta": 0.2345, "num_round": 117},
        },
        "class_names": CLASSES,
        "row_counts": {"train": 90, "validation": 30, "test": 30},
    }


def summary(**overrides: Any) -> dict[str, Any]:
    return {
        "status": "SUCCEEDED",
        "execution_name": "run-20260101",
        "states_visited": ["ApplyDefaults", "QualityGate", "RegisterModel", "NotifySuccess"],
        "accuracy": 0.9,
        "weighted_f1": 0.8989,
        "accuracy_threshold": 0.85,
        "model_package_arn": PACKAGE_ARN,
        "approval_status": "Approved",
        "endpoint_name": "iris-endpoint",
        "prediction": [[0.0123, 0.9754, 0.0123]],
        **overrides,
    }


def trials(*objectives: float | None) -> list[dict[str, Any]]:
    return [
        {
            "trial": number,
            "training_job_name": f"tuning-job-{number:03d}",
            "params": {"max_depth": str(2 + number), "eta": "0.1"},
            "objective": objective,
            "status": "Completed" if objective is not None else "Failed",
        }
        for number, objective in enumerate(objectives, start=1)
    ]


def write(tmp_path: Path, **kwargs: Any) -> str:
    arguments: dict[str, Any] = {
        "summary": summary(),
        "evaluation": evaluation(),
        "trials": trials(0.31, 0.1234, None, 0.2),
        "history": ["ExecutionStarted", "ExecutionSucceeded"],
        **kwargs,
    }
    path = report.write_report(tmp_path / "out" / "report.html", **arguments)
    assert path == tmp_path / "out" / "report.html"
    return path.read_text(encoding="utf-8")


def pictures(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'data:image/png;base64,([^"]+)"', page)]


def test_report_holds_the_run_numbers_and_two_pictures(tmp_path: Path) -> None:
    page = write(tmp_path)

    assert page.startswith("<!DOCTYPE html>")
    for text in (
        "SUCCEEDED",
        "ApplyDefaults → QualityGate → RegisterModel → NotifySuccess",
        "0.9000",  # accuracy
        "0.8989",  # weighted F1
        "0.8500",  # threshold
        PACKAGE_ARN,
        "Approved",
        "iris-endpoint",
        "0.9754",  # the prediction
        "0.8182",  # a per-class precision
        "tuning-job-002",
        "117",  # best hyperparameters
        "0.2345",
        "0.12340",  # best trial objective
        "4 trials, 1 failed",
        "ExecutionSucceeded",
    ):
        assert text in page, text
    assert page.count(PNG_TAG) == 2
    images = pictures(page)
    assert len(images) == 2
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 2000 for image in images)
    # Self-contained: nothing is fetched from elsewhere.
    assert "http://" not in page and "https://" not in page


def test_values_are_html_escaped(tmp_path: Path) -> None:
    attack = "<script>alert(1)</script>"
    run = trials(0.2)
    run[0]["training_job_name"] = attack
    run[0]["params"] = {"max_depth": attack}

    page = write(
        tmp_path,
        summary=summary(status=attack, endpoint_name='"><img src=x onerror=alert(1)>'),
        trials=run,
        history=[attack],
    )

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert page.count("<img ") == 2


def test_zero_trials_show_a_note_instead_of_the_chart(tmp_path: Path) -> None:
    page = write(tmp_path, trials=[])

    assert page.count(PNG_TAG) == 1
    assert "No tuning trials recorded." in page


def test_failed_trials_are_listed_and_charted(tmp_path: Path) -> None:
    page = write(tmp_path, trials=trials(None, None))

    assert page.count(PNG_TAG) == 2
    assert "2 trials, 2 failed" in page
    assert page.count('<tr class="failed">') == 2
    assert page.count("<td>Failed</td>") == 2


def test_best_trial_row_is_marked(tmp_path: Path) -> None:
    page = write(tmp_path)

    best_row = re.search(r'<tr class="best">(.*?)</tr>', page)
    assert best_row is not None
    assert "tuning-job-002" in best_row.group(1)


def test_a_run_without_evaluation_still_gets_a_report(tmp_path: Path) -> None:
    page = write(
        tmp_path,
        summary={"status": "FAILED", "error": "Pipeline.Failed"},
        evaluation={},
        trials=[],
    )

    assert PNG_TAG not in page
    assert "No evaluation.json" in page
    assert "Pipeline.Failed" in page  # unknown summary keys are shown, not dropped
    assert 'class="status-bad">FAILED' in page


def test_rewrite_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    write(tmp_path, summary=summary(status="RUNNING"))
    page = write(tmp_path)

    assert "RUNNING" not in page
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report.html"]


def test_confusion_matrix_follows_class_names_actual_then_predicted() -> None:
    names, counts = report.confusion_matrix_rows(evaluation())

    assert names == CLASSES
    assert counts == [[10, 0, 0], [0, 9, 1], [0, 2, 8]]


@pytest.mark.parametrize(
    ("objectives", "expected"),
    [
        ([0.3, 0.2, 0.25, 0.1], [0.3, 0.2, 0.2, 0.1]),
        ([None, 0.4, None, 0.5], [None, 0.4, 0.4, 0.4]),
        ([], []),
    ],
)
def test_running_best_minimises(
    objectives: list[float | None], expected: list[float | None]
) -> None:
    assert report.running_best(objectives) == expected


def test_non_numeric_objectives_count_as_failed() -> None:
    assert [report.finite(v) for v in (0.5, "0.25", None, float("nan"), "x", True)] == [
        0.5,
        0.25,
        None,
        None,
        None,
        None,
    ]


def test_the_state_machines_output_as_the_demo_passes_it(tmp_path: Path) -> None:
    # harness/demo.py passes the execution output plus "execution", "states" and "prediction".
    output = {
        "title": "Training run succeeded",
        "status": "SUCCEEDED",
        "execution": "run-42",
        "accuracy": 0.9667,
        "weighted_f1": 0.9666,
        "accuracy_threshold": 0.9,
        "model_package_arn": PACKAGE_ARN,
        "approval_status": "Approved",
        "deployment": {
            "deployed": True,
            "endpoint_name": "iris-ep",
            "model_name": "iris-model-run-42",
            "reason": "deployed the approved package",
        },
        "states": ["ApplyDefaults", "Summary", "NotifySuccess"],
        "prediction": {
            "row": "6.4,3.2,4.5,1.5",
            "probabilities": [0.011111, 0.977777, 0.011112],
            "label": "Iris-versicolor",
        },
    }

    page = write(tmp_path, summary=output)

    assert "<h1>Iris XGBoost pipeline run: run-42</h1>" in page
    assert "<th>Endpoint</th><td>iris-ep</td>" in page
    assert "deployed the approved package" in page
    assert "Iris-versicolor for 6.4,3.2,4.5,1.5 (probabilities [0.0111, 0.9778, 0.0111])" in page
    assert "0.9667" in page and "0.9000" in page
    assert "Training run succeeded" not in page  # the title only repeats the status
