"""The run report (ml/report.py + ml/templates/): content, pictures, escaping, edge cases.

Pages are rendered once per module (matplotlib takes seconds per page) from the samples in
tests/helpers/report_samples.py; the browser test (tests/integration/test_report_browser.py) opens
the same pages in Chromium.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest

from ml import report
from tests.helpers import report_samples as samples

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pictures(page: str) -> dict[str, bytes]:
    """Every embedded picture by its alt text, decoded."""
    found = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)"', page)
    return {alt: base64.b64decode(data) for data, alt in found}


def sections(page: str) -> list[str]:
    return re.findall(r'data-section="([^"]+)"', page)


def text_of(page: str) -> str:
    """The page's visible text, tags removed and whitespace collapsed."""
    without_images = re.sub(r'src="data:[^"]+"', "", page)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_images))


@pytest.fixture(scope="module")
def binary_page() -> str:
    evaluation = samples.with_champion(samples.binary_evaluation(), accuracy=0.8912)
    return report.render_success(
        evaluation,
        tuning=samples.trials(0.31, 0.1234, None, 0.2, metric="validation:logloss"),
        gate={**samples.gate(True), "threshold": 0.85},
        run={"name": "s3-customers-42", "data_uri": "s3://bucket/data/raw/customers.csv"},
    )


@pytest.fixture(scope="module")
def gate_failure_page() -> str:
    return report.render_success(
        samples.multiclass_evaluation(),
        tuning=samples.trials(0.4, None, 0.35),
        gate=samples.gate(False),
        run={"name": "s3-shapes-7", "status": "FAILED"},
    )


@pytest.fixture(scope="module")
def evaluation_step_page() -> str:
    """As the evaluation step writes it: evaluation.json alone."""
    return report.render_success(samples.multiclass_evaluation())


# --------------------------------------------------------------------------- success


def test_a_binary_success_has_every_section_and_decodable_pictures(binary_page: str) -> None:
    assert binary_page.startswith("<!DOCTYPE html>")
    assert sections(binary_page) == [
        "overview",
        "metrics",
        "gate",
        "confusion-matrix",
        "curves",
        "feature-importance",
        "class-balance",
        "tuning",
        "per-class",
    ]
    images = pictures(binary_page)
    assert sorted(images) == sorted(
        [
            "Confusion matrix, counts",
            "Confusion matrix, normalized",
            "ROC curve",
            "Precision-recall curve",
            "Feature importance",
            "Class balance per split",
            "Tuning history",
            "Training curve",
        ]
    )
    assert all(data.startswith(PNG_SIGNATURE) and len(data) > 2000 for data in images.values())
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", binary_page)


def test_the_dataset_is_named_by_its_data_and_label(binary_page: str) -> None:
    text = text_of(binary_page)
    assert "<title>customers: churned (s3-customers-42)</title>" in binary_page
    assert "customers: predicting churned" in text
    assert "churned (binary, 2 classes: no, yes)" in text
    assert "3: age, income $, score&lt;1&gt;" in text
    assert "train 171, validation 57, test 57" in text


def test_the_name_comes_from_the_contracts_source_files_without_a_data_uri(
    evaluation_step_page: str,
) -> None:
    assert "shapes: predicting kind" in text_of(evaluation_step_page)


def test_the_champion_stands_beside_the_candidate(binary_page: str) -> None:
    text = text_of(binary_page)
    assert "Metric Candidate Champion Difference" in text
    assert "accuracy 0.9123 0.8912 +0.0211" in text
    assert "f1 0.8589 0.8589 +0.0000" in text
    assert samples.CHAMPION_ARN in text
    assert "matches the champion's (features, their order, classes)" in text


def test_a_champion_with_another_contract_lists_the_differences() -> None:
    differences = ["features: 'width' is now 'breadth'", "classes: 'delta' is new"]
    evaluation = samples.with_champion(samples.multiclass_evaluation(), 0.95, differences)
    text = text_of(report.render_success(evaluation))
    assert "accuracy 0.9000 — —" in text  # a model with another API is not scored
    assert "dataset contract differs from the champion's" in text
    for difference in differences:
        assert report.fmt(difference).replace("'", "&#39;") in text


def test_without_a_champion_the_report_says_so(evaluation_step_page: str) -> None:
    text = text_of(evaluation_step_page)
    assert "there is no champion to compare with" in text
    assert "Champion" not in text


def test_both_confusion_matrices_follow_the_class_order_actual_then_predicted() -> None:
    names, counts = report.confusion_counts(samples.multiclass_evaluation())
    assert names == samples.MULTI_CLASSES
    assert counts == [[10, 0, 0], [0, 9, 1], [0, 2, 8]]
    assert report.row_normalized([[10, 0], [2, 8], [0, 0]]) == [[1.0, 0.0], [0.2, 0.8], [0, 0]]


def test_binary_curves_are_drawn_only_for_binary_models(gate_failure_page: str) -> None:
    assert "curves" not in sections(gate_failure_page)
    assert "ROC curve" not in pictures(gate_failure_page)
    one_class = samples.binary_evaluation()
    block = one_class["binary_classification_metrics"]
    del block["receiver_operating_characteristic_curve"], block["precision_recall_curve"]
    assert "curves" not in sections(report.render_success(one_class))


def test_feature_importance_lists_the_used_features_by_gain(binary_page: str) -> None:
    text = text_of(binary_page)
    assert "Feature Gain income $ 12.5000 age 3.2500" in text
    assert "1 more feature(s) of the contract are used by no split" in text


def test_class_balance_per_split(binary_page: str) -> None:
    assert "Class train validation test no 128 43 43 yes 43 14 14" in text_of(binary_page)


@pytest.mark.parametrize(
    ("evaluation", "metric"),
    [
        (samples.binary_evaluation(), "validation:logloss"),
        (samples.multiclass_evaluation(), "validation:mlogloss"),
    ],
    ids=["binary", "multiclass"],
)
def test_the_tuning_metric_is_the_contracts(evaluation: dict[str, Any], metric: str) -> None:
    # The trials name another metric on purpose: the contract decides.
    tuning = samples.trials(0.3, metric="validation:other")
    assert report.tuning_metric(evaluation, tuning) == metric
    section = report.tuning_section(evaluation, None)
    assert section["metric"] == metric and section["trials"] is None and section["curve"]


def test_the_tuning_history_marks_the_best_and_the_failed_trials(binary_page: str) -> None:
    text = text_of(binary_page)
    assert "4 trials, 1 failed; best 0.12340 (validation:logloss, lower is better)." in text
    best = re.search(r'<tr class="best">(.*?)</tr>', binary_page, flags=re.S)
    assert best is not None and "xgboost-tuning-002" in best.group(1)
    assert binary_page.count('<tr class="failed">') == 1


def test_all_trials_failed_still_charts_them() -> None:
    page = report.render_success(samples.multiclass_evaluation(), tuning=samples.trials(None, None))
    assert "Tuning history" in pictures(page)
    assert "2 trials, 2 failed; best —" in text_of(page)
    assert page.count('<tr class="failed">') == 2


def test_the_evaluation_steps_page_shows_the_chosen_model_only(evaluation_step_page: str) -> None:
    text = text_of(evaluation_step_page)
    assert "Tuning history" not in pictures(evaluation_step_page)
    assert "Training curve" in pictures(evaluation_step_page)
    assert "The evaluation step sees the chosen model only" in text
    assert "training job xgboost-tuning-002-def" in text
    assert "max_depth 4" in text and "eta 0.2345" in text and "num_round 117" in text


@pytest.mark.parametrize(
    ("running", "best"),
    [
        ([0.3, 0.2, 0.25, 0.1], [0.3, 0.2, 0.2, 0.1]),
        ([None, 0.4, None, 0.5], [None, 0.4, 0.4, 0.4]),
        ([], []),
    ],
)
def test_running_best_minimises(running: list[float | None], best: list[float | None]) -> None:
    assert report.running_best(running) == best


def test_hyperparameters_read_short() -> None:
    assert [report.short(v) for v in ("8", 8.0, "0.29717340", 1e-05, "gbtree", None)] == [
        "8",
        "8",
        "0.2972",
        "1e-05",
        "gbtree",
        "—",
    ]


def test_non_numeric_values_are_no_numbers() -> None:
    assert [report.number(v) for v in (0.5, "0.25", None, float("nan"), "NaN", "x", True)] == [
        0.5,
        0.25,
        None,
        None,
        None,
        None,
        None,
    ]


# --------------------------------------------------------------------------- the gate


def test_a_gate_failure_says_refused_with_threshold_margin_and_cause(
    gate_failure_page: str,
) -> None:
    text = text_of(gate_failure_page)
    assert 'class="verdict refused">Refused by the quality gate' in gate_failure_page
    assert "Verdict refused" in text
    assert "Candidate accuracy 0.9000" in text
    assert "Threshold 0.9500" in text
    assert "Margin (candidate may trail the champion by) 0.0100" in text
    assert "Model accuracy 0.9 is below the threshold 0.95." in text
    assert "Status FAILED" in text


def test_a_passed_gate_and_an_undecided_one(binary_page: str, evaluation_step_page: str) -> None:
    assert 'class="verdict passed">Passed the quality gate' in binary_page
    assert "Threshold 0.8500" in text_of(binary_page)
    assert "the quality gate decides after this report" in evaluation_step_page
    assert "the run's notification carries the verdict" in text_of(evaluation_step_page)


# --------------------------------------------------------------------------- failure


def test_a_failure_report_says_what_failed_where_and_why() -> None:
    page = report.render_failure(samples.failure())
    assert sections(page) == ["failure"]
    assert pictures(page) == {}
    text = text_of(page)
    assert "<title>Run s3-shapes-1234 failed: DataValidationError</title>" in page
    assert "shapes: run s3-shapes-1234 failed" in text
    assert "DataValidationError in DataInvalid / PrepareData" in text
    for row in (
        "Error DataValidationError",
        "State DataInvalid",
        "Pipeline step PrepareData",
        "Cause DataValidationError: shapes.csv line 6 (data row 5), column &#39;width&#39;",
        "Run s3-shapes-1234",
        "Data s3://bucket/data/raw/shapes.csv",
    ):
        assert row in text, row


def test_a_failure_needs_its_error_and_cause() -> None:
    with pytest.raises(report.ReportError, match=r"needs error and cause \(got keys: run\)"):
        report.render_failure({"run": "r"})
    with pytest.raises(report.ReportError, match=r"needs cause"):
        report.render_failure({"error": "PipelineExecutionFailed"})


def test_an_evaluation_without_metrics_is_refused() -> None:
    with pytest.raises(report.ReportError, match="it holds neither"):
        report.render_success({"class_names": ["a", "b"]})


# --------------------------------------------------------------------------- safety


def test_values_from_the_run_are_escaped() -> None:
    attack = "<script>alert(1)</script>"
    evaluation = samples.multiclass_evaluation()
    evaluation["dataset_contract"]["label_column"] = attack
    evaluation["model"]["training_job_name"] = attack
    tuning = samples.trials(0.2)
    tuning[0]["params"] = {"max_depth": attack}
    page = report.render_success(
        evaluation,
        tuning=tuning,
        run={"name": '"><img src=x onerror=alert(1)>', "note": attack},
    )
    failure = report.render_failure({**samples.failure(), "cause": attack, "run": attack})
    for rendered in (page, failure):
        assert "<script>" not in rendered
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
        assert "<img src=x" not in rendered


def test_names_with_a_dollar_sign_are_drawn_literally() -> None:
    """matplotlib reads $...$ as mathtext: a label like 'income $' must not be parsed."""
    evaluation = samples.multiclass_evaluation()
    names = ["cost $5", "$ymbol", "x$y$z"]
    evaluation["class_names"] = names
    block = evaluation["multiclass_classification_metrics"]
    block["confusion_matrix"] = {a: {p: 1 for p in names} for a in names}
    assert "Confusion matrix, counts" in pictures(report.render_success(evaluation))
    assert report.plain("a $b$ c") == r"a \$b\$ c"


def test_write_report_is_atomic_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "run-1" / "report.html"
    report.write_report(target, "<p>first</p>")
    assert report.write_report(target, "<p>second</p>") == target
    assert target.read_text() == "<p>second</p>"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
    assert target.stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- shipping


def test_the_evaluation_bundle_ships_the_renderer_and_every_template() -> None:
    """report.py and its templates travel beside evaluate.py in its code bundle
    (ml/code_bundles.json, which Terraform stages)."""
    from ml import pipeline

    bundled = set(pipeline.code_bundles()["evaluate"])
    assert set(report.bundle_files()) <= bundled
    templates = {f"templates/{p.name}" for p in report.TEMPLATE_DIR.iterdir()}
    assert templates <= bundled
    assert all(fnmatch.fnmatch(name, "templates/*.j2") for name in templates)
